//! Test support shared by Herald's end-to-end and contract tests: apps over real adapters, moto access,
//! and a small HTTP client for the Router.
pub mod contract;
pub mod http;
pub mod moto;

use herald_core::clock::{Clock, ManualClock};
use herald_core::domain::auth::KeyHash;
use herald_core::ports::ScheduleGateway;
use herald_core::services::keys::KeyService;
use herald_core::services::tasks::TaskService;
use herald_embedded::{Db, LocalScheduler, SqliteStore};
use std::sync::Arc;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The API over an in-memory SQLite store and the local scheduler, with a clock the test controls.
pub struct LocalApp {
    pub router: herald_api::Router,
    pub clock: Arc<ManualClock>,
    pub scheduler: Arc<LocalScheduler>,
    pub store: Arc<SqliteStore>,
}

impl LocalApp {
    pub fn new(now: &str) -> Self {
        let now = chrono::DateTime::parse_from_rfc3339(now)
            .expect("test time")
            .to_utc();
        let clock = Arc::new(ManualClock::new(now));
        let db = Db::in_memory().expect("in-memory sqlite");
        let store = Arc::new(SqliteStore::new(db.clone()));
        let scheduler = Arc::new(LocalScheduler::new(db));
        let router = app_over(store.clone(), scheduler.clone(), clock.clone());
        Self {
            router,
            clock,
            scheduler,
            store,
        }
    }
}

/// Wires the services over the given adapters, exactly as the binaries do.
pub fn app_over<S>(
    store: Arc<S>,
    scheduler: Arc<dyn ScheduleGateway>,
    clock: Arc<dyn Clock>,
) -> herald_api::Router
where
    S: herald_core::ports::TaskStore + herald_core::ports::KeyStore + 'static,
{
    herald_api::router(herald_api::AppState {
        tasks: TaskService::new(store.clone(), scheduler, clock.clone()),
        keys: KeyService::new(store, KeyHash::of(ADMIN_TOKEN), clock),
    })
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
