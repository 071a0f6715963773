//! Wires the embedded adapters into the same services, Router and delivery engine the Lambdas use,
//! plus the sandbox when it is on.
use crate::config::Config;
use crate::sandbox::{self, Sandbox};
use herald_api::AppState;
use herald_charts::{ChartLimits, HttpChartSource};
use herald_core::clock::SystemClock;
use herald_core::domain::auth::KeyHash;
use herald_core::services::{Adapters, EngineConfig, Services};
use herald_embedded::{Db, FileSecretStore, LocalScheduler, SqliteStore};
use herald_hub::ProviderClients;
use herald_providers::ProvidersConfig;
use std::net::SocketAddr;
use std::sync::Arc;

pub const DB_FILE: &str = "herald.db";
pub const SECRETS_FILE: &str = "secrets.json";

pub struct LocalApp {
    pub router: herald_api::Router,
    pub services: Services,
    pub scheduler: LocalScheduler,
    pub store: Arc<SqliteStore>,
    pub sandbox: Option<Sandbox>,
}

/// `serving` is false for one-off commands (`trigger`): they must not start or reconfigure the
/// sandbox the running server uses.
pub async fn build(
    config: &Config,
    admin_token: &str,
    addr: SocketAddr,
    serving: bool,
) -> Result<LocalApp, Box<dyn std::error::Error>> {
    let db = Db::open(&config.data_dir.join(DB_FILE))?;
    let store = Arc::new(SqliteStore::new(db.clone()));
    let scheduler = LocalScheduler::new(db, Arc::new(SystemClock));
    let adapters = Adapters {
        tasks: store.clone(),
        keys: store.clone(),
        deliveries: store.clone(),
        runs: store.clone(),
        settings: store.clone(),
        contacts: store.clone(),
        images: store.clone(),
        pictures: Arc::new(herald_pictures::Pictures::new()),
        sheets: Arc::new(herald_sheets::Sheets),
        secrets: Arc::new(FileSecretStore::new(config.data_dir.join(SECRETS_FILE))),
        scheduler: Arc::new(scheduler.clone()),
        charts: Arc::new(HttpChartSource::new(
            ChartLimits::default(),
            config.chart_allow.clone(),
        )?),
        clock: Arc::new(SystemClock),
        admin: KeyHash::of(admin_token),
    };
    let record = herald_core::ports::SettingsStore::get_settings(store.as_ref()).await?;
    let sandbox_on = serving
        && config
            .sandbox
            .unwrap_or_else(|| !sandbox::has_real_channel(&record));

    let mut providers = ProvidersConfig::default();
    let sandbox = if sandbox_on {
        let sandbox = Sandbox::start().await?;
        (
            providers.wecom_base_url,
            providers.feishu_base_url,
            providers.dingtalk_base_url,
        ) = Sandbox::base_urls(addr);
        Some(sandbox)
    } else {
        None
    };
    if let Some(url) = &config.wecom_base_url {
        providers.wecom_base_url = url.clone();
    }
    if let Some(url) = &config.feishu_base_url {
        providers.feishu_base_url = url.clone();
    }
    if let Some(url) = &config.dingtalk_base_url {
        providers.dingtalk_base_url = url.clone();
    }
    let clients = ProviderClients::with_config(providers, adapters.images.clone())?;
    let engine = EngineConfig {
        snapshot_link_lifetime: chrono::Duration::days(i64::from(config.snapshot_link_days)),
        ..EngineConfig::default()
    };
    let services = Services::new(adapters, engine, |settings| clients.hub(settings));
    if let Some(sandbox) = &sandbox {
        sandbox.configure_channels(&services.settings).await?;
    }
    let inbox = sandbox.as_ref().map(Sandbox::inbox);
    let mut router = herald_console::router_with_inbox(AppState::from(&services), inbox);
    if let Some(sandbox) = &sandbox {
        let inbox = sandbox::InboxGuard {
            loopback: addr.ip().is_loopback(),
            addr,
            admin: KeyHash::of(admin_token),
        };
        router = router.merge(sandbox.router(inbox));
    }
    Ok(LocalApp {
        router,
        services,
        scheduler,
        store,
        sandbox,
    })
}
