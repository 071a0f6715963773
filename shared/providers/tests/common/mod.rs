//! Shared set-up: fake servers on 127.0.0.1 and clients pointed at them.
#![allow(dead_code)]
use chrono::Utc;
use herald_core::clock::ManualClock;
use herald_core::domain::channels::{
    FeishuCredentials, FeishuSettings, WecomCredentials, WecomSettings,
};
use herald_core::domain::message::{WecomAppMessage, WecomBody};
use herald_core::domain::recipients::WecomUserId;
use herald_fakes::{
    FakeFeishu, FakeWecom, FeishuConfig, WecomConfig, feishu_router, serve, wecom_router,
};
use herald_providers::{HttpProviders, ProvidersConfig, Time, Timeouts};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

pub struct Wecom {
    pub fake: FakeWecom,
    pub url: String,
    pub providers: Arc<HttpProviders>,
    /// Where the clients read pictures.
    pub images: Arc<herald_embedded::SqliteStore>,
    _server: Server,
}

pub struct Feishu {
    pub fake: FakeFeishu,
    pub providers: Arc<HttpProviders>,
    pub images: Arc<herald_embedded::SqliteStore>,
    _server: Server,
}

/// Stops the fake server when the test ends.
pub struct Server(tokio::task::JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn config(wecom_url: &str, feishu_url: &str, time: Time) -> ProvidersConfig {
    let timeouts = Timeouts {
        request: Duration::from_secs(5),
        connect: Duration::from_secs(2),
    };
    ProvidersConfig {
        time,
        ..ProvidersConfig::new(wecom_url, feishu_url, timeouts)
    }
}

pub async fn wecom(config_fake: WecomConfig) -> Wecom {
    wecom_with(FakeWecom::new(config_fake), Time::system(), |c| c).await
}

/// A fake WeCom and clients built from `adjust(config)`.
pub async fn wecom_with(
    fake: FakeWecom,
    time: Time,
    adjust: impl FnOnce(ProvidersConfig) -> ProvidersConfig,
) -> Wecom {
    let (url, server) = serve(wecom_router(fake.clone()))
        .await
        .expect("fake WeCom starts");
    let images = image_store();
    let providers = HttpProviders::new(
        adjust(config(&url, "http://127.0.0.1:9", time)),
        images.clone(),
    )
    .expect("clients build");
    Wecom {
        fake,
        url,
        providers: Arc::new(providers),
        images,
        _server: Server(server),
    }
}

pub fn wecom_creds(fake: &FakeWecom) -> WecomCredentials {
    let config = fake.config();
    WecomCredentials {
        settings: WecomSettings {
            enabled: true,
            corp_id: config.corp_id.clone(),
            agent_id: config.apps[0].agent_id,
            encrypted: false,
            proxy: None,
        },
        corp_secret: SecretString::from(config.apps[0].secret.clone()),
        proxy: None,
    }
}

pub async fn feishu(config_fake: FeishuConfig, time: Time) -> Feishu {
    feishu_with(FakeFeishu::new(config_fake), time, |c| c).await
}

/// A fake Feishu and clients built from `adjust(config)`.
pub async fn feishu_with(
    fake: FakeFeishu,
    time: Time,
    adjust: impl FnOnce(ProvidersConfig) -> ProvidersConfig,
) -> Feishu {
    let (url, server) = serve(feishu_router(fake.clone()))
        .await
        .expect("fake Feishu starts");
    let images = image_store();
    let providers = HttpProviders::new(
        adjust(config("http://127.0.0.1:9", &url, time)),
        images.clone(),
    )
    .expect("clients build");
    Feishu {
        fake,
        providers: Arc::new(providers),
        images,
        _server: Server(server),
    }
}

pub fn feishu_creds(fake: &FakeFeishu) -> FeishuCredentials {
    let config = fake.config();
    FeishuCredentials {
        settings: FeishuSettings {
            enabled: true,
            app_id: config.app_id.clone(),
        },
        app_secret: SecretString::from(config.app_secret.clone()),
    }
}

pub struct Dingtalk {
    pub fake: herald_fakes::FakeDingtalk,
    pub providers: Arc<HttpProviders>,
    pub images: Arc<herald_embedded::SqliteStore>,
    _server: Server,
}

/// A fake DingTalk and clients built from `adjust(config)`.
pub async fn dingtalk_with(
    fake: herald_fakes::FakeDingtalk,
    time: Time,
    adjust: impl FnOnce(ProvidersConfig) -> ProvidersConfig,
) -> Dingtalk {
    let (url, server) = serve(herald_fakes::dingtalk_router(fake.clone()))
        .await
        .expect("fake DingTalk starts");
    let images = image_store();
    let config = ProvidersConfig {
        dingtalk_base_url: url,
        ..config("http://127.0.0.1:9", "http://127.0.0.1:9", time)
    };
    let providers = HttpProviders::new(adjust(config), images.clone()).expect("clients build");
    Dingtalk {
        fake,
        providers: Arc::new(providers),
        images,
        _server: Server(server),
    }
}

pub fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Utc::now()))
}

/// Where the clients read pictures from: an in-memory SQLite store.
pub fn image_store() -> std::sync::Arc<herald_embedded::SqliteStore> {
    let db = herald_embedded::Db::in_memory().expect("in-memory database");
    std::sync::Arc::new(herald_embedded::SqliteStore::new(db))
}

pub fn users(ids: &[String]) -> Vec<WecomUserId> {
    ids.iter()
        .map(|u| WecomUserId::parse(u.as_str()).unwrap())
        .collect()
}

pub fn text_to(ids: &[&str], content: &str) -> WecomAppMessage {
    WecomAppMessage {
        to_users: users(&ids.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        to_parties: vec![],
        to_tags: vec![],
        body: WecomBody::Text {
            content: content.into(),
        },
        image: None,
    }
}
