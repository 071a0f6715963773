//! Fake Metabase and Redash servers, for the report-source tests. Neither can be installed from
//! the registries these machines reach, so these follow their documented APIs (facts and sources
//! in `shared/charts/SOURCES-NOTES.md`): Metabase's `x-api-key` and `X-Metabase-Session` headers,
//! `POST /api/session`, `GET /api/card/{id}` with its parameters and template tags, `POST
//! /api/card/{id}/query` answering 202 (`"status": "completed"` or `"failed"`) and a plain-text
//! `Unauthenticated` 401; Redash's `Authorization: Key …`, the run answering a job, jobs polled
//! through statuses 1 (queued), 2 (started) and 3 (finished) or 4 (failed), the results by id, a
//! 404 for a bad key and a 400 job error for a missing parameter.
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Metabase card 42: orders by region for one day (`{{day}}`, a date template tag).
pub const METABASE_CARD: u64 = 42;
/// Redash query 7: refunds by channel for one day (`{{ day }}`).
pub const REDASH_QUERY: u64 = 7;

#[derive(Default)]
struct MetabaseState {
    sessions: Vec<String>,
    logins: u64,
    /// The `day` each query was asked for.
    days: Vec<String>,
}

/// A fake Metabase: an API key, a user, and card 42.
#[derive(Clone)]
pub struct FakeMetabase {
    pub api_key: String,
    pub username: String,
    pub password: String,
    state: Arc<Mutex<MetabaseState>>,
}

impl FakeMetabase {
    pub fn new(api_key: &str, username: &str, password: &str) -> Self {
        Self {
            api_key: api_key.into(),
            username: username.into(),
            password: password.into(),
            state: Arc::default(),
        }
    }

    /// The days card 42 was queried for, in order.
    pub fn days(&self) -> Vec<String> {
        crate::lock(&self.state).days.clone()
    }

    pub fn logins(&self) -> u64 {
        crate::lock(&self.state).logins
    }

    /// Ends every session (as a restart or an expiry would).
    pub fn expire_sessions(&self) {
        crate::lock(&self.state).sessions.clear();
    }

    fn signed_in(&self, headers: &HeaderMap) -> bool {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        header("x-api-key") == Some(self.api_key.as_str())
            || header("x-metabase-session")
                .is_some_and(|id| crate::lock(&self.state).sessions.iter().any(|s| s == id))
    }
}

fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [("content-type", "text/plain")],
        "Unauthenticated",
    )
        .into_response()
}

fn card() -> Value {
    json!({
        "id": METABASE_CARD, "name": "Orders by region", "display": "bar",
        "parameters": [{"id": "5f1c", "type": "date/single", "slug": "day", "name": "Day",
                        "target": ["variable", ["template-tag", "day"]], "required": true}],
        "dataset_query": {"type": "native", "native": {
            "query": "SELECT region, count(*) AS orders FROM orders WHERE day = {{day}} GROUP BY region",
            "template-tags": {"day": {"id": "5f1c", "name": "day", "display-name": "Day", "type": "date", "required": true}}
        }}
    })
}

pub fn metabase_router(fake: FakeMetabase) -> axum::Router {
    async fn session(State(fake): State<FakeMetabase>, Json(body): Json<Value>) -> Response {
        if body["username"] != json!(fake.username) || body["password"] != json!(fake.password) {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"errors": {"password": "did not match stored password"}})),
            )
                .into_response();
        }
        let id = format!("{:032x}", rand::random::<u128>());
        let mut state = crate::lock(&fake.state);
        state.logins += 1;
        state.sessions.push(id.clone());
        Json(json!({"id": id})).into_response()
    }
    async fn get_card(
        State(fake): State<FakeMetabase>,
        headers: HeaderMap,
        Path(id): Path<u64>,
    ) -> Response {
        if !fake.signed_in(&headers) {
            return unauthenticated();
        }
        if id != METABASE_CARD {
            return (StatusCode::NOT_FOUND, "Not found.").into_response();
        }
        Json(card()).into_response()
    }
    async fn query(
        State(fake): State<FakeMetabase>,
        headers: HeaderMap,
        Path(id): Path<u64>,
        Json(body): Json<Value>,
    ) -> Response {
        if !fake.signed_in(&headers) {
            return unauthenticated();
        }
        if id != METABASE_CARD {
            return (StatusCode::NOT_FOUND, "Not found.").into_response();
        }
        let day = body["parameters"].as_array().and_then(|ps| {
            ps.iter().find(|p| {
                p["target"] == json!(["variable", ["template-tag", "day"]])
                    && p["type"] == "date/single"
            })
        });
        let Some(day) = day.and_then(|p| p["value"].as_str()) else {
            return (
                StatusCode::ACCEPTED,
                Json(json!({"status": "failed", "error_type": "missing-required-parameter",
                            "error": "You'll need to pick a value for 'Day' before this query can run."})),
            )
                .into_response();
        };
        crate::lock(&fake.state).days.push(day.to_owned());
        (
            StatusCode::ACCEPTED,
            Json(json!({
                "status": "completed", "row_count": 3,
                "data": {
                    "cols": [{"name": "region", "display_name": "Region", "base_type": "type/Text"},
                             {"name": "orders", "display_name": "Orders", "base_type": "type/BigInteger"}],
                    "rows": [["华东", 1200], ["华北", 800], ["华南", 450]]
                }
            })),
        )
            .into_response()
    }
    async fn cards(State(fake): State<FakeMetabase>, headers: HeaderMap) -> Response {
        if !fake.signed_in(&headers) {
            return unauthenticated();
        }
        Json(json!([card(), {"id": 43, "name": "Refund rate", "display": "scalar"}]))
            .into_response()
    }
    async fn dashboard(
        State(fake): State<FakeMetabase>,
        headers: HeaderMap,
        Path(id): Path<u64>,
    ) -> Response {
        if !fake.signed_in(&headers) {
            return unauthenticated();
        }
        if id != 3 {
            return (StatusCode::NOT_FOUND, "Not found.").into_response();
        }
        Json(json!({"id": 3, "name": "Daily operations", "dashcards": [
            {"id": 11, "card_id": METABASE_CARD, "card": card()},
            {"id": 12, "card_id": 43, "card": {"id": 43, "name": "Refund rate", "display": "scalar"}}
        ]}))
        .into_response()
    }
    axum::Router::new()
        .route("/api/session", post(session))
        .route("/api/card", get(cards))
        .route("/api/dashboard/{id}", get(dashboard))
        .route("/api/card/{id}", get(get_card))
        .route("/api/card/{id}/query", post(query))
        .with_state(fake)
}

#[derive(Default)]
struct RedashState {
    /// Each job's polls so far and its parameters' day.
    jobs: HashMap<String, (u32, String)>,
    results: HashMap<u64, String>,
    polls: u64,
}

/// A fake Redash: an API key, query 7, and jobs that finish after `polls_to_finish` polls.
#[derive(Clone)]
pub struct FakeRedash {
    pub api_key: String,
    pub polls_to_finish: u32,
    state: Arc<Mutex<RedashState>>,
}

impl FakeRedash {
    pub fn new(api_key: &str, polls_to_finish: u32) -> Self {
        Self {
            api_key: api_key.into(),
            polls_to_finish,
            state: Arc::default(),
        }
    }

    /// Job polls answered so far.
    pub fn polls(&self) -> u64 {
        crate::lock(&self.state).polls
    }

    fn keyed(&self, headers: &HeaderMap) -> bool {
        headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Key "))
            == Some(self.api_key.as_str())
    }
}

fn not_logged_in() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"message": "Couldn't find resource. Please login and try again."})),
    )
        .into_response()
}

pub fn redash_router(fake: FakeRedash) -> axum::Router {
    async fn run(
        State(fake): State<FakeRedash>,
        headers: HeaderMap,
        Path(id): Path<u64>,
        Json(body): Json<Value>,
    ) -> Response {
        if !fake.keyed(&headers) {
            return not_logged_in();
        }
        if id != REDASH_QUERY {
            return not_logged_in();
        }
        let Some(day) = body.pointer("/parameters/day").and_then(Value::as_str) else {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"job": {"status": 4, "error": "Missing parameter value for: day"}})),
            )
                .into_response();
        };
        let job = format!("{:016x}", rand::random::<u64>());
        crate::lock(&fake.state)
            .jobs
            .insert(job.clone(), (0, day.to_owned()));
        Json(json!({"job": {"id": job, "status": 1, "error": "", "query_result_id": null, "updated_at": 0}}))
            .into_response()
    }
    async fn job(
        State(fake): State<FakeRedash>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        if !fake.keyed(&headers) {
            return not_logged_in();
        }
        let mut state = crate::lock(&fake.state);
        state.polls += 1;
        let Some((polls, day)) = state.jobs.get_mut(&id).map(|(p, d)| {
            *p += 1;
            (*p, d.clone())
        }) else {
            return not_logged_in();
        };
        if polls < fake.polls_to_finish {
            let status = if polls == 1 { 1 } else { 2 };
            return Json(json!({"job": {"id": id, "status": status, "error": "", "query_result_id": null, "updated_at": 0}}))
                .into_response();
        }
        let result = 1000 + state.results.len() as u64;
        state.results.insert(result, day);
        Json(json!({"job": {"id": id, "status": 3, "error": "", "query_result_id": result, "updated_at": 0}}))
            .into_response()
    }
    async fn result(
        State(fake): State<FakeRedash>,
        headers: HeaderMap,
        Path(id): Path<u64>,
    ) -> Response {
        if !fake.keyed(&headers) {
            return not_logged_in();
        }
        let Some(day) = crate::lock(&fake.state).results.get(&id).cloned() else {
            return not_logged_in();
        };
        Json(json!({"query_result": {
            "id": id, "query": "SELECT channel, sum(amount) AS refunds FROM refunds WHERE day = '{{ day }}' GROUP BY 1",
            "data": {
                "columns": [{"name": "channel", "friendly_name": "Channel", "type": "string"},
                            {"name": "refunds", "friendly_name": "Refunds", "type": "integer"},
                            {"name": "day", "friendly_name": "Day", "type": "string"}],
                "rows": [{"channel": "app", "refunds": 37, "day": day},
                         {"channel": "web", "refunds": 12, "day": day}]
            },
            "runtime": 0.02
        }}))
        .into_response()
    }
    async fn queries(State(fake): State<FakeRedash>, headers: HeaderMap) -> Response {
        if !fake.keyed(&headers) {
            return not_logged_in();
        }
        Json(json!({"count": 1, "page": 1, "page_size": 100, "results": [
            {"id": REDASH_QUERY, "name": "Refunds by channel", "query": "SELECT …"}
        ]}))
        .into_response()
    }
    async fn dashboard(
        State(fake): State<FakeRedash>,
        headers: HeaderMap,
        Path(id): Path<String>,
    ) -> Response {
        if !fake.keyed(&headers) || id != "5" {
            return not_logged_in();
        }
        Json(
            json!({"id": 5, "slug": "refunds", "name": "Refunds", "widgets": [
                {"id": 21, "visualization": {"type": "TABLE", "name": "Table",
                    "query": {"id": REDASH_QUERY, "name": "Refunds by channel"}}},
                {"id": 22, "text": "a text box, no query"}
            ]}),
        )
        .into_response()
    }
    axum::Router::new()
        .route("/api/queries", get(queries))
        .route("/api/dashboards/{id}", get(dashboard))
        .route("/api/queries/{id}/results", post(run))
        .route("/api/jobs/{id}", get(job))
        .route("/api/query_results/{id}", get(result))
        .with_state(fake)
}
