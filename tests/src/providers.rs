//! Fake WeCom, Feishu and SMTP served on loopback, and an engine over SQLite wired to them exactly as
//! the binaries wire the real providers (settings through the API, secrets in a private file).
use crate::http::call;
use crate::{ADMIN_TOKEN, adapters_over};
use axum::http::{Method, StatusCode};
use herald_core::clock::{Clock, ManualClock};
use herald_core::domain::delivery::{Delivery, DeliveryCause, DeliveryId};
use herald_core::domain::message::OutboundMessage;
use herald_core::ports::DeliveryStore;
use herald_core::services::EngineConfig;
use herald_core::services::delivery::DeliveryWorker;
use herald_embedded::{Db, LocalScheduler, SqliteStore};
use herald_fakes::{
    FakeFeishu, FakeSmtp, FakeWecom, FeishuConfig, SmtpSinkConfig, WecomConfig, feishu_router,
    serve, serve_smtp, wecom_router,
};
use herald_providers::{ProvidersConfig, Timeouts};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::task::JoinHandle;

pub const CORP_ID: &str = "ww_fake_corp";
pub const CORP_SECRET: &str = "fake-corp-secret";
pub const AGENT_ID: i64 = 1_000_002;
pub const APP_ID: &str = "cli_fake_app";
pub const APP_SECRET: &str = "fake-app-secret";
pub const SMTP_USER: &str = "mailer";
pub const SMTP_PASSWORD: &str = "smtp-auth-code";
pub const MAIL_FROM: &str = "herald@example.com";
/// The fake DingTalk's signed group robot, and the members its app may notify.
pub const DINGTALK_ROBOT_TOKEN: &str = "b1f0c2d3e4a5968778695a4b3c2d1e0f";
pub const DINGTALK_ROBOT_SECRET: &str = "SEC3f1e2d3c4b5a69788796a5b4c3d2e1f0";
pub const DINGTALK_USERS: [&str; 2] = ["manager01", "manager02"];

/// The three fakes, served on 127.0.0.1; the servers stop when this is dropped.
pub struct FakeProviders {
    pub wecom: FakeWecom,
    pub feishu: FakeFeishu,
    pub smtp: FakeSmtp,
    pub dingtalk: herald_fakes::FakeDingtalk,
    pub wecom_url: String,
    pub feishu_url: String,
    pub dingtalk_url: String,
    pub smtp_addr: SocketAddr,
    servers: Vec<JoinHandle<()>>,
}

impl FakeProviders {
    /// WeCom and Feishu with the default app credentials and the given directories.
    pub async fn start(wecom: WecomConfig, feishu: FeishuConfig) -> Self {
        Self::start_with(FakeWecom::new(wecom), FakeFeishu::new(feishu)).await
    }

    pub async fn start_with(wecom: FakeWecom, feishu: FakeFeishu) -> Self {
        let smtp = FakeSmtp::new(SmtpSinkConfig {
            username: SMTP_USER.into(),
            password: SMTP_PASSWORD.into(),
        });
        let (wecom_url, w) = serve(wecom_router(wecom.clone()))
            .await
            .expect("serve wecom");
        let (feishu_url, f) = serve(feishu_router(feishu.clone()))
            .await
            .expect("serve feishu");
        let (smtp_addr, s) = serve_smtp(smtp.clone()).await.expect("serve smtp");
        let dingtalk = herald_fakes::FakeDingtalk::new(
            herald_fakes::DingtalkConfig::default()
                .with_users(DINGTALK_USERS)
                .with_signed_robot(DINGTALK_ROBOT_TOKEN, DINGTALK_ROBOT_SECRET),
        );
        let (dingtalk_url, d) = serve(herald_fakes::dingtalk_router(dingtalk.clone()))
            .await
            .expect("serve dingtalk");
        Self {
            wecom,
            feishu,
            smtp,
            dingtalk,
            wecom_url,
            feishu_url,
            dingtalk_url,
            smtp_addr,
            servers: vec![w, f, s, d],
        }
    }

    /// Provider clients pointed at the fakes (production limits and timeouts).
    pub fn config(&self) -> ProvidersConfig {
        ProvidersConfig {
            dingtalk_base_url: self.dingtalk_url.clone(),
            ..ProvidersConfig::new(&self.wecom_url, &self.feishu_url, Timeouts::default())
        }
    }

    pub fn dingtalk_settings(&self) -> Value {
        let fake = herald_fakes::DingtalkConfig::default();
        json!({"enabled": true, "app_key": fake.app_key, "app_secret": fake.app_secret,
               "agent_id": fake.agent_id})
    }

    pub fn wecom_settings(&self) -> Value {
        json!({"enabled": true, "corp_id": CORP_ID, "corp_secret": CORP_SECRET, "agent_id": AGENT_ID})
    }

    pub fn feishu_settings(&self) -> Value {
        json!({"enabled": true, "app_id": APP_ID, "app_secret": APP_SECRET})
    }

    /// SMTP to the sink without TLS, at `addr` (the sink's own address unless a test puts a proxy
    /// in between).
    pub fn smtp_settings_at(&self, addr: SocketAddr) -> Value {
        json!({
            "enabled": true, "host": addr.ip().to_string(), "port": addr.port(), "security": "none",
            "username": SMTP_USER, "password": SMTP_PASSWORD, "from": MAIL_FROM
        })
    }

    pub fn smtp_settings(&self) -> Value {
        self.smtp_settings_at(self.smtp_addr)
    }
}

impl Drop for FakeProviders {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

/// PUTs one channel's settings as the admin, asserting 200.
pub async fn configure(router: &herald_api::Router, channel: &str, body: &Value) {
    let reply = call(
        router,
        Method::PUT,
        &format!("/v1/settings/channels/{channel}"),
        Some(ADMIN_TOKEN),
        body,
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "configure {channel}: {:#}",
        reply.body
    );
}

/// The API and the delivery engine over in-memory SQLite, with a manual clock for the worker and
/// the provider clients pointed at `providers`.
pub struct Engine {
    pub router: herald_api::Router,
    pub worker: DeliveryWorker,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<ManualClock>,
    pub adapters: herald_core::services::Adapters,
}

impl Engine {
    pub fn new(now: &str, providers: ProvidersConfig) -> Self {
        Self::build(now, providers, false, EngineConfig::default())
    }

    /// Like `new`, with requests that send (test pushes, channel tests, previews) answering
    /// within `answer_within`.
    pub fn answering_within(
        now: &str,
        providers: ProvidersConfig,
        answer_within: std::time::Duration,
    ) -> Self {
        let config = EngineConfig {
            answer_within,
            ..EngineConfig::default()
        };
        Self::build(now, providers, false, config)
    }

    /// Like `new`, but the provider clients tell time by the same manual clock as the worker (token
    /// lifetimes, remembered token failures, inline rate-limit waits), so moving it moves both.
    pub fn in_manual_time(now: &str, providers: ProvidersConfig) -> Self {
        Self::build(now, providers, true, EngineConfig::default())
    }

    fn build(
        now: &str,
        mut providers: ProvidersConfig,
        shared_time: bool,
        config: EngineConfig,
    ) -> Self {
        let now = chrono::DateTime::parse_from_rfc3339(now)
            .expect("test time")
            .to_utc();
        let clock = Arc::new(ManualClock::new(now));
        if shared_time {
            providers.time = herald_providers::Time::manual(clock.clone());
        }
        let db = Db::in_memory().expect("in-memory sqlite");
        let store = Arc::new(SqliteStore::new(db.clone()));
        let scheduler = Arc::new(LocalScheduler::new(db, clock.clone()));
        let adapters = adapters_over(store.clone(), scheduler, clock.clone());
        let (router, worker) = crate::app_configured(adapters.clone(), providers, config);
        Self {
            router,
            worker,
            store,
            clock,
            adapters,
        }
    }

    /// Another worker over the same store and settings, with its own provider clients (as a second
    /// process would have).
    pub fn another_worker(&self, providers: ProvidersConfig) -> DeliveryWorker {
        // A second process has its own settings service (and its own second of cached settings).
        let settings = herald_core::services::settings::SettingsService::new(
            self.adapters.settings.clone(),
            self.adapters.secrets.clone(),
        );
        let hub = herald_hub::ProviderClients::with_config(providers, self.adapters.images.clone())
            .expect("provider clients")
            .hub(settings);
        DeliveryWorker::new(
            self.store.clone(),
            hub,
            self.clock.clone(),
            herald_core::services::delivery::RetryPolicy::default(),
        )
    }

    /// Configures all three channels against the fakes.
    pub async fn configure_all(&self, fakes: &FakeProviders) {
        configure(&self.router, "wecom", &fakes.wecom_settings()).await;
        configure(&self.router, "feishu", &fakes.feishu_settings()).await;
        configure(&self.router, "smtp", &fakes.smtp_settings()).await;
        configure(&self.router, "dingtalk", &fakes.dingtalk_settings()).await;
    }

    /// Queues messages (one delivery each) due now; answers their ids in order.
    pub async fn enqueue(&self, messages: Vec<OutboundMessage>) -> Vec<DeliveryId> {
        let now = self.clock.now();
        let deliveries: Vec<Delivery> = messages
            .into_iter()
            .map(|m| {
                Delivery::queued(
                    DeliveryCause::ChannelTest {
                        channel: m.provider().as_str().to_owned(),
                    },
                    m,
                    now,
                )
            })
            .collect();
        self.store.enqueue(&deliveries).await.expect("enqueue");
        deliveries.into_iter().map(|d| d.id).collect()
    }

    pub async fn get(&self, id: &DeliveryId) -> Delivery {
        self.store
            .get_delivery(id)
            .await
            .expect("get delivery")
            .expect("delivery exists")
    }
}

/// A TCP proxy in front of an SMTP server that refuses a share of new connections with
/// `421 4.3.2 Service not available` (seeded, so every run sees the same sequence) and pipes the
/// others through. Answers its address, how many connections it refused, and the server task.
pub async fn flaky_smtp_proxy(
    target: SocketAddr,
    refuse: f64,
    seed: u64,
) -> (
    SocketAddr,
    Arc<std::sync::atomic::AtomicU64>,
    JoinHandle<()>,
) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let addr = listener.local_addr().expect("proxy addr");
    let refused = Arc::new(AtomicU64::new(0));
    let counter = refused.clone();
    let handle = tokio::spawn(async move {
        let mut state = seed | 1;
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                continue;
            };
            // xorshift64*: a small seeded generator is all this needs.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let draw =
                (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
            if draw < refuse {
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let _ = client
                        .write_all(b"421 4.3.2 Service not available, closing channel\r\n")
                        .await;
                    let _ = client.shutdown().await;
                });
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (addr, refused, handle)
}
