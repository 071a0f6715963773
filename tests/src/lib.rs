//! Test support shared by Herald's end-to-end and contract tests: apps over real adapters, moto access,
//! and a small HTTP client for the Router.
pub mod aws_proxy;
pub mod console;
pub mod contract;
pub mod http;
pub mod lambda_runtime;
pub mod ledger;
pub mod local_server;
pub mod moto;
pub mod providers;
pub mod push;
pub mod quota_contract;
pub mod streams;
pub mod superset;
pub mod table_access;
pub mod template;

use herald_api::AppState;
use herald_core::clock::{Clock, ManualClock};
use herald_core::domain::auth::KeyHash;
use herald_core::ports::ScheduleGateway;
use herald_core::services::Adapters;
use herald_core::services::delivery::DeliveryWorker;
use herald_embedded::{Db, FileSecretStore, LocalScheduler, SqliteStore};
use herald_providers::ProvidersConfig;
use std::sync::Arc;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The API over an in-memory SQLite store and the local scheduler, with a clock the test controls.
pub struct LocalApp {
    pub router: herald_api::Router,
    pub clock: Arc<ManualClock>,
    pub scheduler: Arc<LocalScheduler>,
    pub store: Arc<SqliteStore>,
    pub secrets: Arc<dyn herald_core::ports::SecretStore>,
}

impl LocalApp {
    pub fn new(now: &str) -> Self {
        let now = chrono::DateTime::parse_from_rfc3339(now)
            .expect("test time")
            .to_utc();
        let clock = Arc::new(ManualClock::new(now));
        let db = Db::in_memory().expect("in-memory sqlite");
        let store = Arc::new(SqliteStore::new(db.clone()));
        let scheduler = Arc::new(LocalScheduler::new(db, clock.clone()));
        let adapters = adapters_over(store.clone(), scheduler.clone(), clock.clone());
        let secrets = adapters.secrets.clone();
        let router = app_with(adapters, unreachable_providers()).0;
        Self {
            router,
            clock,
            scheduler,
            store,
            secrets,
        }
    }
}

/// Every store port in one type (SQLite and DynamoDB both are).
pub trait AllStores:
    herald_core::ports::TaskStore
    + herald_core::ports::RunStore
    + herald_core::ports::KeyStore
    + herald_core::ports::DeliveryStore
    + herald_core::ports::SettingsStore
    + herald_core::ports::ContactStore
    + herald_core::ports::ImageStore
    + 'static
{
}

impl<S> AllStores for S where
    S: herald_core::ports::TaskStore
        + herald_core::ports::RunStore
        + herald_core::ports::KeyStore
        + herald_core::ports::DeliveryStore
        + herald_core::ports::SettingsStore
        + herald_core::ports::ContactStore
        + herald_core::ports::ImageStore
        + 'static
{
}

/// The picture renderer, built once for the test process (it holds the parsed font).
pub fn pictures() -> Arc<dyn herald_core::ports::PictureRenderer> {
    static PICTURES: std::sync::LazyLock<Arc<herald_pictures::Pictures>> =
        std::sync::LazyLock::new(|| Arc::new(herald_pictures::Pictures::new()));
    PICTURES.clone()
}

/// A directory for the files tests write, under the workspace's `target/` so that `cargo clean`
/// removes them (thousands of test runs left thousands of files in /tmp).
pub fn scratch_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tmp/herald-tests");
    // A failure here shows up as the test's own failure to write the file.
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The adapters over one store, a scheduler and a clock, with secrets in a fresh private file.
pub fn adapters_over<S: AllStores>(
    store: Arc<S>,
    scheduler: Arc<dyn ScheduleGateway>,
    clock: Arc<dyn Clock>,
) -> Adapters {
    let secrets = scratch_dir().join(format!("secrets-{}.json", uuid::Uuid::now_v7().simple()));
    Adapters {
        tasks: store.clone(),
        keys: store.clone(),
        deliveries: store.clone(),
        runs: store.clone(),
        contacts: store.clone(),
        images: store.clone(),
        settings: store,
        pictures: pictures(),
        sheets: Arc::new(herald_sheets::Sheets),
        secrets: Arc::new(FileSecretStore::new(secrets)),
        scheduler,
        charts: Arc::new(
            herald_charts::HttpChartSource::new(
                herald_charts::ChartLimits::default(),
                herald_charts::SsrfPolicy::allowing(["127.0.0.1"]),
            )
            .expect("chart reader"),
        ),
        clock,
        admin: KeyHash::of(ADMIN_TOKEN),
    }
}

/// Wires the services over the adapters exactly as the binaries do, with the provider clients
/// configured by `providers` (pointed at fakes), and returns the Router and the delivery worker.
pub fn app_with(
    adapters: Adapters,
    providers: ProvidersConfig,
) -> (herald_api::Router, DeliveryWorker) {
    app_configured(
        adapters,
        providers,
        herald_core::services::EngineConfig::default(),
    )
}

/// Like [`app_with`], with the engine configured.
pub fn app_configured(
    adapters: Adapters,
    providers: ProvidersConfig,
    config: herald_core::services::EngineConfig,
) -> (herald_api::Router, DeliveryWorker) {
    let services = push::services_configured(adapters, providers, config);
    (
        herald_console::router(AppState::from(&services)),
        services.worker,
    )
}

/// Provider clients pointed at a closed port, for tests that never send.
pub fn unreachable_providers() -> ProvidersConfig {
    ProvidersConfig {
        dingtalk_base_url: "http://127.0.0.1:9".into(),
        ..ProvidersConfig::new(
            "http://127.0.0.1:9",
            "http://127.0.0.1:9",
            herald_providers::Timeouts::default(),
        )
    }
}

/// The Router over the given adapters; providers are unreachable (tests that send use `app_with`).
pub fn app_over<S: AllStores>(
    store: Arc<S>,
    scheduler: Arc<dyn ScheduleGateway>,
    clock: Arc<dyn Clock>,
) -> herald_api::Router {
    app_with(
        adapters_over(store, scheduler, clock),
        unreachable_providers(),
    )
    .0
}

/// A valid task body (API.md's example) that starts on `start`.
pub fn sample_task(start: &str) -> serde_json::Value {
    serde_json::json!({
        "name": "Daily sales",
        "page": {
            "title": "Sales overview",
            "share_url": "https://bi.example.com/share/abc",
            "charts": [
                {"name": "GMV by region", "data_url": "https://bi.example.com/api/charts/17/data", "rows": "/data/rows"}
            ]
        },
        "channel": "wecom",
        "template": "card",
        "recipients": {"wecom_users": ["zhangsan", "lisi"], "wecom_parties": [], "wecom_tags": [], "contacts": []},
        "owner": {"wecom_user": "lisi"},
        "schedule": {"every": "week", "days": ["mon", "thu"], "at": "10:00", "timezone": "Asia/Shanghai", "start": start},
        "content": {"beginning": "Good morning", "ending": "Questions: #bi-help", "share_link": true},
        "exception_control": {
            "empty": {"range": ["fully", "partially"], "pause": true, "alarm": true},
            "access_error": {"range": ["fully"], "pause": false, "alarm": true}
        },
        "alarm_robot": {"webhook_key": "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"},
        "failure_limit": 3
    })
}
