//! Fake Feishu / Lark open platform: tenant token, `batch_get_id` and `im/v1/messages`
//! (provider-apis.md §3). Errors: HTTP 400 (429 for rate limits) with `code` in the body.
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use chrono::{DateTime, TimeDelta, Utc};
use herald_core::clock::Clock;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::FakeClock;
use crate::faults::{Fault, FaultRule, Faults};
pub use crate::feishu_config::{FeishuConfig, FeishuUser};
use crate::record::{AcceptedMessage, Call, Endpoint, Recorder, Stats};
use crate::reply::{Reply, random_alnum, random_hex};
use crate::{inspect, lock};

/// A token is re-issued when less than this is left.
const REISSUE_BELOW: TimeDelta = TimeDelta::minutes(30);
/// Answered in `x-ogw-ratelimit-limit` (the per-app send limit).
pub(crate) const RATE_LIMIT_PER_SECOND: usize = 50;

/// Handle on a fake Feishu server; clones share state.
#[derive(Clone)]
pub struct FakeFeishu {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: FeishuConfig,
    pub clock: FakeClock,
    pub faults: Faults,
    pub recorder: Recorder,
    pub state: Mutex<FeishuState>,
    pub uploads: Mutex<Vec<crate::uploads::Upload>>,
}

/// A successful send kept for `uuid` de-duplication.
#[derive(Clone)]
pub(crate) struct SentByUuid {
    pub until: DateTime<Utc>,
    pub data: Value,
}

#[derive(Default)]
pub(crate) struct FeishuState {
    /// Most recently issued token.
    pub current: Option<(String, DateTime<Utc>)>,
    /// Every issued token → expiry.
    pub tokens: HashMap<String, DateTime<Utc>>,
    pub uuids: HashMap<String, SentByUuid>,
    /// Receiver → p2p chat id.
    pub p2p_chats: HashMap<String, String>,
    pub send_window: VecDeque<DateTime<Utc>>,
    /// Each group chat's sends in the last second.
    pub chat_windows: HashMap<String, VecDeque<DateTime<Utc>>>,
    pub enforce_send_rate_limit: bool,
}

impl FakeFeishu {
    pub fn new(config: FeishuConfig) -> Self {
        Self::build(config, FakeClock::system())
    }

    /// Uses an injected clock (still movable with [`FakeFeishu::advance`]).
    pub fn with_clock(config: FeishuConfig, clock: Arc<dyn Clock>) -> Self {
        Self::build(config, FakeClock::new(clock))
    }

    fn build(config: FeishuConfig, clock: FakeClock) -> Self {
        let state = FeishuState {
            enforce_send_rate_limit: config.enforce_send_rate_limit,
            ..FeishuState::default()
        };
        Self {
            inner: Arc::new(Inner {
                config,
                clock,
                faults: Faults::default(),
                recorder: Recorder::default(),
                state: Mutex::new(state),
                uploads: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn config(&self) -> &FeishuConfig {
        &self.inner.config
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }
    /// Moves the fake's clock forward (expires tokens and uuid windows).
    pub fn advance(&self, by: Duration) {
        self.inner.clock.advance(by);
    }
    pub fn inject(&self, rule: FaultRule) {
        self.inner.faults.inject(rule);
    }
    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }
    /// Re-seeds the RNG behind `When::Probability` rules.
    pub fn seed_faults(&self, seed: u64) {
        self.inner.faults.seed(seed);
    }
    /// The armed fault rules (`NextCalls` rules disappear once used up).
    pub fn fault_rules(&self) -> Vec<FaultRule> {
        self.inner.faults.rules()
    }
    /// Switches the 50/s per-app send limit on or off at run time.
    pub fn enforce_send_rate_limit(&self, on: bool) {
        self.state().enforce_send_rate_limit = on;
    }
    /// Every accepted message (uuid duplicates included, flagged), oldest first.
    pub fn messages(&self) -> Vec<AcceptedMessage> {
        self.inner.recorder.messages()
    }
    /// Accepted messages that were actually delivered (no uuid duplicates).
    pub fn delivered(&self) -> Vec<AcceptedMessage> {
        let mut all = self.messages();
        all.retain(|m| !m.suppressed_duplicate);
        all
    }
    pub fn calls(&self) -> Vec<Call> {
        self.inner.recorder.calls()
    }
    pub fn stats(&self) -> Stats {
        self.inner.recorder.stats()
    }
    /// Forgets messages, calls and counters (tokens and faults stay).
    pub fn reset_records(&self) {
        self.inner.recorder.reset();
    }
    /// Invalidates every issued token now.
    pub fn revoke_tokens(&self) {
        let mut state = self.state();
        state.tokens.clear();
        state.current = None;
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, FeishuState> {
        lock(&self.inner.state)
    }

    /// Runs the fault switches for `endpoint`, then `handle`, and records the call.
    pub(crate) async fn answer(
        &self,
        endpoint: Endpoint,
        token: Option<&str>,
        handle: impl FnOnce() -> Reply,
    ) -> Response {
        let call = crate::faults::CallOf {
            endpoint,
            token,
            now: &|| self.now(),
        };
        crate::faults::answer(
            &self.inner.faults,
            &self.inner.recorder,
            call,
            handle,
            fault_reply,
        )
        .await
    }
}

impl inspect::Inspect for FakeFeishu {
    fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }
}

/// Routes at Feishu's real paths plus `GET /_fake/messages` and `GET /_fake/stats`.
pub fn feishu_router(state: FakeFeishu) -> Router {
    Router::new()
        .route(
            "/open-apis/auth/v3/tenant_access_token/internal",
            post(tenant_access_token),
        )
        .route(
            "/open-apis/contact/v3/users/batch_get_id",
            post(crate::feishu_users::batch_get_id),
        )
        .route("/open-apis/im/v1/messages", post(crate::feishu_send::send))
        .route(
            "/open-apis/im/v1/images",
            post(crate::uploads::feishu_upload),
        )
        .route("/open-apis/im/v1/files", post(crate::feishu_files::upload))
        .merge(inspect::routes::<FakeFeishu>())
        .with_state(state)
}

/// A Feishu error: `{"code","msg","error":{"log_id"}}` plus the `x-tt-logid` header.
pub(crate) fn error(status: StatusCode, code: i64, msg: &str) -> Reply {
    let log_id = format!("{}{}", Utc::now().format("%Y%m%d%H%M%S"), random_hex(18));
    Reply::json(
        status,
        code,
        json!({"code": code, "msg": msg, "error": {"log_id": log_id}}),
    )
    .with_header("x-tt-logid", log_id)
}

/// HTTP 400, code 99992402, naming the field (the fake's code for every request-validation error).
pub(crate) fn field_error(field: &str, description: &str) -> Reply {
    let log_id = random_hex(32);
    Reply::json(
        StatusCode::BAD_REQUEST,
        99992402,
        json!({"code": 99992402, "msg": "field validation failed",
               "error": {"log_id": log_id,
                         "field_violations": [{"field": field, "description": description}]}}),
    )
}

/// HTTP 429, code 99991400, with the `x-ogw-ratelimit-*` headers.
pub(crate) fn rate_limited(reset_secs: u64) -> Reply {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        99991400,
        "request trigger frequency limit",
    )
    .with_header("x-ogw-ratelimit-limit", RATE_LIMIT_PER_SECOND.to_string())
    .with_header("x-ogw-ratelimit-reset", reset_secs.to_string())
}

fn invalid_token() -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        99991663,
        "Invalid access token for authorization. Please make a request with token attached.",
    )
}

fn fault_reply(fault: &Fault) -> Reply {
    match fault {
        Fault::Http { status } => Reply::http_fault(*status),
        Fault::TokenExpired | Fault::TokenInvalid => invalid_token(),
        Fault::RateLimited { reset_secs } => rate_limited(*reset_secs),
        Fault::EmptyAnswer => Reply::empty_json(),
        Fault::FieldValidation => field_error("receive_id", "receive_id is invalid"),
        // WeCom-only faults never reach Feishu endpoints (see `Fault::applies_to`); a delay is a
        // wait and a reset has no answer, both handled by `faults::answer` itself.
        Fault::SystemBusy | Fault::UntrustedIp | Fault::Delay { .. } | Fault::Reset => {
            error(StatusCode::INTERNAL_SERVER_ERROR, 1, "internal error")
        }
    }
}

/// The bearer token of a request, unchecked (for call records).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Checks the Authorization header: 99991661 when missing, 99991671 when not `Bearer …`,
/// 99991663 when unknown or expired.
pub(crate) fn check_bearer(fake: &FakeFeishu, headers: &HeaderMap) -> Result<(), Reply> {
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if raw.trim().is_empty() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            99991661,
            "Missing access token for authorization. Please make a request with token attached.",
        ));
    }
    let Some(token) = bearer(headers) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            99991671,
            "Invalid access token format. Please check the Authorization header.",
        ));
    };
    match fake.state().tokens.get(token) {
        Some(expiry) if fake.now() < *expiry => Ok(()),
        _ => Err(invalid_token()),
    }
}

async fn tenant_access_token(State(fake): State<FakeFeishu>, body: Bytes) -> Response {
    fake.answer(Endpoint::FeishuToken, None, || issue_token(&fake, &body))
        .await
}

fn issue_token(fake: &FakeFeishu, raw: &[u8]) -> Reply {
    let config = &fake.inner.config;
    let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default();
    let (app_id, secret) = (field("app_id"), field("app_secret"));
    if app_id.is_empty() || secret.is_empty() || app_id != config.app_id {
        return error(StatusCode::BAD_REQUEST, 10003, "invalid param");
    }
    if secret != config.app_secret {
        return error(StatusCode::BAD_REQUEST, 10014, "app secret invalid");
    }
    let now = fake.now();
    let mut state = fake.state();
    let (token, expiry) = match &state.current {
        Some((token, expiry)) if *expiry - now >= REISSUE_BELOW => (token.clone(), *expiry),
        _ => {
            let lifetime =
                TimeDelta::from_std(config.token_lifetime).unwrap_or(TimeDelta::hours(2));
            let fresh = (format!("t-{}", random_alnum(40)), now + lifetime);
            state.tokens.insert(fresh.0.clone(), fresh.1);
            state.current = Some(fresh.clone());
            tracing::debug!("fake feishu: tenant token issued");
            fresh
        }
    };
    Reply::json(
        StatusCode::OK,
        0,
        json!({"code": 0, "msg": "ok", "tenant_access_token": token,
               "expire": (expiry - now).num_seconds()}),
    )
}
