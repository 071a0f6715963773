//! Push runs end to end: a chart server on loopback whose answers a test switches per chart, and the
//! whole stack (API, push service, delivery worker, local scheduler) over in-memory SQLite with a
//! manual clock.
use crate::providers::configure;
use crate::{ADMIN_TOKEN, adapters_over, http::call};
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use herald_charts::{ChartLimits, HttpChartSource, SsrfPolicy};
use herald_core::clock::ManualClock;
use herald_core::services::delivery::DeliveryWorker;
use herald_core::services::runs::PushService;
use herald_core::services::{Adapters, EngineConfig, Services};
use herald_embedded::{Db, LocalScheduler, SqliteStore};
use herald_hub::ProviderClients;
use herald_providers::ProvidersConfig;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How the chart server answers for one chart.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartAnswer {
    /// `{"data": {"rows": [n rows]}}`.
    Rows(usize),
    /// `{"data": {"rows": []}}`.
    Empty,
    /// This HTTP status with a plain-text body.
    Status(u16),
    /// Waits, then answers rows.
    Slow(Duration, usize),
    /// A body that is not JSON.
    InvalidJson,
    /// JSON without the `/data/rows` pointer.
    NoRows,
    /// This JSON text as it is (keys in the order written, as BI tools answer).
    Json(&'static str),
}

#[derive(Default)]
struct ChartState {
    answers: HashMap<String, ChartAnswer>,
    hits: HashMap<String, usize>,
}

/// Charts served at `{base}/charts/{name}`; unknown charts answer three rows.
pub struct ChartServer {
    pub base: String,
    state: Arc<Mutex<ChartState>>,
    handle: JoinHandle<()>,
}

async fn chart(State(state): State<Arc<Mutex<ChartState>>>, Path(name): Path<String>) -> Response {
    let answer = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        *s.hits.entry(name.clone()).or_default() += 1;
        s.answers
            .get(&name)
            .cloned()
            .unwrap_or(ChartAnswer::Rows(3))
    };
    let rows = |n: usize| {
        let rows: Vec<Value> = (0..n)
            .map(|i| json!({"region": format!("r{i}"), "gmv": i}))
            .collect();
        axum::Json(json!({"data": {"rows": rows}})).into_response()
    };
    match answer {
        ChartAnswer::Rows(n) => rows(n),
        ChartAnswer::Empty => rows(0),
        ChartAnswer::Status(code) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "chart backend unavailable",
        )
            .into_response(),
        ChartAnswer::Slow(wait, n) => {
            tokio::time::sleep(wait).await;
            rows(n)
        }
        ChartAnswer::InvalidJson => (
            [("content-type", "application/json")],
            "{\"data\": {\"rows\": [1, 2,",
        )
            .into_response(),
        ChartAnswer::NoRows => axum::Json(json!({"data": {"items": [1, 2]}})).into_response(),
        ChartAnswer::Json(doc) => ([("content-type", "application/json")], doc).into_response(),
    }
}

impl ChartServer {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(ChartState::default()));
        let router = axum::Router::new()
            .route("/charts/{name}", axum::routing::get(chart))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind chart server");
        let addr = listener.local_addr().expect("chart server addr");
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base: format!("http://{addr}"),
            state,
            handle,
        }
    }

    /// The data URL of a chart.
    pub fn url(&self, chart: &str) -> String {
        format!("{}/charts/{chart}", self.base)
    }

    /// Switches a chart's answer.
    pub fn set(&self, chart: &str, answer: ChartAnswer) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .answers
            .insert(chart.to_owned(), answer);
    }

    /// How many requests a chart got.
    pub fn hits(&self, chart: &str) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .hits
            .get(chart)
            .copied()
            .unwrap_or(0)
    }

    /// Requests over all charts.
    pub fn total_hits(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .hits
            .values()
            .sum()
    }
}

impl Drop for ChartServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Every service over the adapters, wired as the binaries do, with provider clients from `providers`.
pub fn services_with(adapters: Adapters, providers: ProvidersConfig) -> Services {
    services_configured(adapters, providers, EngineConfig::default())
}

/// Like [`services_with`], with the engine configured.
pub fn services_configured(
    adapters: Adapters,
    providers: ProvidersConfig,
    config: EngineConfig,
) -> Services {
    let clients =
        ProviderClients::with_config(providers, adapters.images.clone()).expect("provider clients");
    Services::new(adapters, config, |settings| clients.hub(settings))
}

/// The adapters of `adapters_over` with a chart reader under the given limits and SSRF policy.
pub fn adapters_with_charts<S: crate::AllStores>(
    store: Arc<S>,
    scheduler: Arc<dyn herald_core::ports::ScheduleGateway>,
    clock: Arc<dyn herald_core::clock::Clock>,
    limits: ChartLimits,
    policy: SsrfPolicy,
) -> Adapters {
    let mut adapters = adapters_over(store, scheduler, clock);
    adapters.charts =
        Arc::new(herald_charts::HttpChartSource::new(limits, policy).expect("chart reader"));
    adapters
}

/// The API, the push service, the delivery worker and the local scheduler over one in-memory
/// SQLite database, with a manual clock.
pub struct PushApp {
    pub router: herald_api::Router,
    pub pushes: PushService,
    pub worker: DeliveryWorker,
    pub scheduler: Arc<LocalScheduler>,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<ManualClock>,
    pub db: Db,
    pub adapters: Adapters,
    /// The chart reader (its report sources' sign-ins can be counted).
    pub charts: Arc<herald_charts::HttpChartSource>,
}

impl PushApp {
    /// Charts on 127.0.0.1 are allowed (as in `adapters_over`).
    pub fn new(now: &str, providers: ProvidersConfig) -> Self {
        Self::build(
            now,
            providers,
            ChartLimits::default(),
            SsrfPolicy::allowing(["127.0.0.1"]),
        )
    }

    /// Like `new`, with requests that send (test pushes, previews) answering within
    /// `answer_within`.
    pub fn answering_within(
        now: &str,
        providers: ProvidersConfig,
        answer_within: std::time::Duration,
    ) -> Self {
        let config = EngineConfig {
            answer_within,
            ..EngineConfig::default()
        };
        let policy = SsrfPolicy::allowing(["127.0.0.1"]);
        Self::build_with(now, providers, ChartLimits::default(), policy, config)
    }

    pub fn build(
        now: &str,
        providers: ProvidersConfig,
        limits: ChartLimits,
        policy: SsrfPolicy,
    ) -> Self {
        Self::build_with(now, providers, limits, policy, EngineConfig::default())
    }

    fn build_with(
        now: &str,
        providers: ProvidersConfig,
        limits: ChartLimits,
        policy: SsrfPolicy,
        config: EngineConfig,
    ) -> Self {
        let now = chrono::DateTime::parse_from_rfc3339(now)
            .expect("test time")
            .to_utc();
        let clock = Arc::new(ManualClock::new(now));
        let db = Db::in_memory().expect("in-memory sqlite");
        let store = Arc::new(SqliteStore::new(db.clone()));
        let scheduler = Arc::new(LocalScheduler::new(db.clone(), clock.clone()));
        let charts = Arc::new(HttpChartSource::new(limits, policy).expect("chart reader"));
        let mut adapters = adapters_over(store.clone(), scheduler.clone(), clock.clone());
        adapters.charts = charts.clone();
        let services = services_configured(adapters.clone(), providers, config);
        let router = herald_console::router(herald_api::AppState::from(&services));
        Self {
            router,
            pushes: services.pushes,
            worker: services.worker,
            scheduler,
            store,
            clock,
            db,
            adapters,
            charts,
        }
    }

    /// A second process over the same database and secrets (a restart of herald-local): services
    /// built anew over the same adapters.
    pub fn restarted(&self, providers: ProvidersConfig) -> Self {
        let services = services_with(self.adapters.clone(), providers);
        let router = herald_console::router(herald_api::AppState::from(&services));
        Self {
            router,
            pushes: services.pushes,
            worker: services.worker,
            scheduler: Arc::new(LocalScheduler::new(self.db.clone(), self.clock.clone())),
            store: Arc::new(SqliteStore::new(self.db.clone())),
            clock: self.clock.clone(),
            db: self.db.clone(),
            adapters: self.adapters.clone(),
            charts: self.charts.clone(),
        }
    }

    /// Configures WeCom (and the others) against the fakes.
    pub async fn configure_all(&self, fakes: &crate::providers::FakeProviders) {
        configure(&self.router, "wecom", &fakes.wecom_settings()).await;
        configure(&self.router, "feishu", &fakes.feishu_settings()).await;
        configure(&self.router, "smtp", &fakes.smtp_settings()).await;
        configure(&self.router, "dingtalk", &fakes.dingtalk_settings()).await;
    }

    /// Calls the API as the admin.
    pub async fn admin(&self, method: Method, uri: &str, body: &Value) -> crate::http::Reply {
        call(&self.router, method, uri, Some(ADMIN_TOKEN), body).await
    }
}
