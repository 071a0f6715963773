//! Fake WeCom (企业微信): `gettoken`, app `message/send` and the group robot webhook.
//! Errors follow provider-apis.md §1: HTTP 200, `errcode` in the body, errmsg with a hint.
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::any;
use chrono::{DateTime, TimeDelta, Utc};
use herald_core::clock::Clock;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::FakeClock;
use crate::faults::{Fault, FaultRule, Faults};
use crate::record::{AcceptedMessage, Call, Endpoint, Recorder, Stats};
use crate::reply::{Reply, random_alnum, random_hex};
use crate::{inspect, lock};

/// One self-built app: its secret and agent id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WecomApp {
    pub secret: String,
    pub agent_id: i64,
}

/// What the fake WeCom knows.
#[derive(Debug, Clone)]
pub struct WecomConfig {
    pub corp_id: String,
    pub apps: Vec<WecomApp>,
    /// Known userids (matched case-insensitively).
    pub users: Vec<String>,
    /// Sandbox mode: every well-formed user, department, tag and robot key exists.
    pub open_directory: bool,
    pub parties: Vec<String>,
    pub tags: Vec<String>,
    /// Valid group-robot webhook keys.
    pub robot_keys: Vec<String>,
    /// `expires_in` of issued tokens (default 7200 s).
    pub token_lifetime: Duration,
    /// Group-robot messages per key per sliding minute (default 20).
    pub robot_per_minute: usize,
    /// App messages one member gets from one app per sliding minute and hour (30 and 1,000);
    /// beyond, the fake answers ok and delivers nothing to that member, as WeCom does.
    pub member_per_minute: usize,
    pub member_per_hour: usize,
}

impl Default for WecomConfig {
    fn default() -> Self {
        Self::new("ww_fake_corp", "fake-corp-secret", 1_000_002)
    }
}

impl WecomConfig {
    pub fn new(corp_id: &str, secret: &str, agent_id: i64) -> Self {
        Self {
            corp_id: corp_id.to_owned(),
            apps: vec![WecomApp {
                secret: secret.to_owned(),
                agent_id,
            }],
            users: Vec::new(),
            open_directory: false,
            parties: Vec::new(),
            tags: Vec::new(),
            robot_keys: Vec::new(),
            token_lifetime: Duration::from_secs(7200),
            robot_per_minute: 20,
            member_per_minute: 30,
            member_per_hour: 1000,
        }
    }

    pub fn with_app(mut self, secret: &str, agent_id: i64) -> Self {
        self.apps.push(WecomApp {
            secret: secret.to_owned(),
            agent_id,
        });
        self
    }

    /// Accept every recipient and robot key (the local sandbox, where users type their own ids).
    pub fn open_directory(mut self) -> Self {
        self.open_directory = true;
        self
    }

    pub fn with_users<I: IntoIterator<Item = S>, S: Into<String>>(mut self, users: I) -> Self {
        self.users.extend(users.into_iter().map(Into::into));
        self
    }

    pub fn with_robot_key(mut self, key: &str) -> Self {
        self.robot_keys.push(key.to_owned());
        self
    }
}

/// Handle on a fake WeCom server; clones share state.
#[derive(Clone)]
pub struct FakeWecom {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: WecomConfig,
    pub clock: FakeClock,
    pub faults: Faults,
    pub recorder: Recorder,
    pub state: Mutex<WecomState>,
    pub uploads: Mutex<Vec<crate::uploads::Upload>>,
}

#[derive(Default)]
pub(crate) struct WecomState {
    /// token → (agent id, expiry)
    pub tokens: HashMap<String, (i64, DateTime<Utc>)>,
    /// (agent id, canonical request JSON) → (suppress until, msgid, invaliduser)
    pub sent: HashMap<(i64, String), (DateTime<Utc>, String, String)>,
    /// robot key → times of accepted messages in the last minute
    pub robot_window: HashMap<String, VecDeque<DateTime<Utc>>>,
    /// (agent id, lower-cased user) → times of messages delivered to them in the last hour
    pub member_window: HashMap<(i64, String), VecDeque<DateTime<Utc>>>,
}

impl FakeWecom {
    pub fn new(config: WecomConfig) -> Self {
        Self::with_clock_impl(config, FakeClock::system())
    }

    /// Uses an injected clock (still movable with [`FakeWecom::advance`]).
    pub fn with_clock(config: WecomConfig, clock: Arc<dyn Clock>) -> Self {
        Self::with_clock_impl(config, FakeClock::new(clock))
    }

    fn with_clock_impl(config: WecomConfig, clock: FakeClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                clock,
                faults: Faults::default(),
                recorder: Recorder::default(),
                state: Mutex::new(WecomState::default()),
                uploads: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn config(&self) -> &WecomConfig {
        &self.inner.config
    }
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }
    /// Moves the fake's clock forward (expires tokens, duplicate windows, robot minutes).
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
    /// Every accepted message (suppressed duplicates included, flagged), oldest first.
    pub fn messages(&self) -> Vec<AcceptedMessage> {
        self.inner.recorder.messages()
    }
    /// (user, message seq) of every message WeCom accepted but did not deliver to that member
    /// (over the per-member limits).
    pub fn dropped(&self) -> Vec<(String, u64)> {
        self.messages()
            .iter()
            .flat_map(|m| m.dropped_for.iter().map(|u| (u.clone(), m.seq)))
            .collect()
    }

    /// Accepted messages that were actually delivered to someone (no suppressed duplicates, not
    /// dropped for every member it named).
    pub fn delivered(&self) -> Vec<AcceptedMessage> {
        let mut all = self.messages();
        all.retain(|m| {
            let valid: std::collections::HashSet<String> = m
                .recipients
                .iter()
                .map(|r| r.to_lowercase())
                .filter(|r| !m.invalid_users.contains(r))
                .collect();
            let dropped_for_all = !m.dropped_for.is_empty()
                && m.parties.is_empty()
                && m.tags.is_empty()
                && valid.iter().all(|r| m.dropped_for.contains(r));
            !m.suppressed_duplicate && !dropped_for_all
        });
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
    /// Invalidates every issued token now (WeCom may do this at any time).
    pub fn revoke_tokens(&self) {
        self.state().tokens.clear();
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, WecomState> {
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

impl inspect::Inspect for FakeWecom {
    fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }
}

/// Routes at WeCom's real paths plus `GET /_fake/messages` and `GET /_fake/stats`.
pub fn wecom_router(state: FakeWecom) -> Router {
    Router::new()
        .route("/cgi-bin/gettoken", any(gettoken))
        .route("/cgi-bin/message/send", any(crate::wecom_send::send))
        .route(
            "/cgi-bin/media/upload",
            axum::routing::post(crate::uploads::wecom_upload),
        )
        .route("/cgi-bin/webhook/send", any(crate::robot::send))
        .merge(inspect::routes::<FakeWecom>())
        .with_state(state)
}

/// `errmsg` in WeCom's format: `<text>, hint: [<req-id>], from ip: …, more info at …?e=<code>`.
pub(crate) fn errmsg(code: i64, text: &str) -> String {
    let hint = format!(
        "{}_{}_{}",
        Utc::now().timestamp(),
        rand::random_range(1..100u32),
        random_hex(32)
    );
    format!(
        "{text}, hint: [{hint}], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e={code}"
    )
}

/// A WeCom error: HTTP 200, `{"errcode":code,"errmsg":"<text>, hint: …"}`.
pub(crate) fn error(code: i64, text: &str) -> Reply {
    Reply::json(
        StatusCode::OK,
        code,
        json!({"errcode": code, "errmsg": errmsg(code, text)}),
    )
}

fn fault_reply(fault: &Fault) -> Reply {
    match fault {
        Fault::Http { status } => Reply::http_fault(*status),
        Fault::SystemBusy => error(-1, "system busy"),
        Fault::TokenExpired => error(42001, "access_token expired"),
        Fault::TokenInvalid => error(40014, "invalid access_token"),
        Fault::RateLimited { .. } => error(45009, "api freq out of limit"),
        Fault::UntrustedIp => error(60020, "not allow to access from your ip"),
        // Answered by `faults::answer` itself (a delay is a wait, a reset has no answer).
        Fault::Delay { .. } | Fault::Reset => error(-1, "system busy"),
        Fault::EmptyAnswer => Reply::empty_json(),
        Fault::FieldValidation => error(40058, "invalid Request Parameter"),
    }
}

async fn gettoken(
    State(fake): State<FakeWecom>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    fake.answer(Endpoint::WecomGettoken, None, || issue_token(&fake, &query))
        .await
}

fn issue_token(fake: &FakeWecom, query: &HashMap<String, String>) -> Reply {
    let config = &fake.inner.config;
    let corpid = query.get("corpid").map(String::as_str).unwrap_or_default();
    let secret = query
        .get("corpsecret")
        .map(String::as_str)
        .unwrap_or_default();
    if corpid.is_empty() {
        return error(41002, "corpid missing");
    }
    if corpid != config.corp_id {
        return error(40013, "invalid corpid");
    }
    if secret.is_empty() {
        return error(41004, "corpsecret missing");
    }
    let Some(app) = config.apps.iter().find(|app| app.secret == secret) else {
        return error(40001, "invalid credential");
    };
    let token = random_alnum(96);
    let lifetime = TimeDelta::from_std(config.token_lifetime).unwrap_or(TimeDelta::hours(2));
    let expires_at = fake.now() + lifetime;
    fake.state()
        .tokens
        .insert(token.clone(), (app.agent_id, expires_at));
    tracing::debug!(agent_id = app.agent_id, "fake wecom: token issued");
    Reply::json(
        StatusCode::OK,
        0,
        json!({"errcode": 0, "errmsg": "ok", "access_token": token,
               "expires_in": lifetime.num_seconds()}),
    )
}

/// Checks an access token: `Ok(agent id)` or the WeCom error (41001 / 40014 / 42001).
pub(crate) fn check_token(fake: &FakeWecom, token: Option<&str>) -> Result<i64, Reply> {
    let token = token.unwrap_or_default();
    if token.is_empty() {
        return Err(error(41001, "access_token missing"));
    }
    let Some((agent_id, expires_at)) = fake.state().tokens.get(token).copied() else {
        return Err(error(40014, "invalid access_token"));
    };
    if fake.now() >= expires_at {
        return Err(error(42001, "access_token expired"));
    }
    Ok(agent_id)
}
