//! Fake DingTalk (`oapi`): a corp app's `gettoken`, `media/upload`, work notices (`asyncsend_v2`,
//! `getsendresult`) and custom group robots (`robot/send`, in `dingtalk_robot.rs`). Every answer is
//! HTTP 200 with `errcode` in the body; a bad token is errcode 88 with a string `sub_code`
//! (shared/providers/NOTES.md, "DingTalk"). Notices DingTalk drops silently (the same content to a
//! member twice a day, more than 500 a day) are accepted and listed only in `getsendresult`.
use axum::Router;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{any, post};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use herald_core::clock::Clock;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::FakeClock;
use crate::faults::{Fault, FaultRule, Faults};
use crate::record::{AcceptedMessage, Call, Endpoint, Recorder, Stats};
use crate::reply::{Reply, random_alnum};
use crate::uploads::{Form, Upload, picture_format, read_form};
use crate::{inspect, lock};

/// A custom robot: its token, its signing secret (when signing is on), its keywords (when the
/// keyword rule is on: a message must contain one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DingtalkRobot {
    pub token: String,
    pub secret: Option<String>,
    pub keywords: Vec<String>,
}

/// What the fake DingTalk knows.
#[derive(Debug, Clone)]
pub struct DingtalkConfig {
    pub app_key: String,
    pub app_secret: String,
    pub agent_id: i64,
    /// Known user ids; others are listed as invalid in the send result.
    pub users: Vec<String>,
    pub robots: Vec<DingtalkRobot>,
    /// Sandbox mode: every user id and robot token exists (robots unsigned, no keywords).
    pub open_directory: bool,
    pub token_lifetime: Duration,
    /// Robot messages per sliding minute (20); one more throttles the robot for `robot_penalty`.
    pub robot_per_minute: usize,
    pub robot_penalty: Duration,
    /// Notices one member gets from the app a day (500); beyond, dropped (143105).
    pub member_per_day: usize,
}

impl Default for DingtalkConfig {
    fn default() -> Self {
        Self {
            app_key: "dingfakeappkey".into(),
            app_secret: "fake-app-secret".into(),
            agent_id: 3_000_001,
            users: Vec::new(),
            robots: Vec::new(),
            open_directory: false,
            token_lifetime: Duration::from_secs(7200),
            robot_per_minute: 20,
            robot_penalty: Duration::from_secs(600),
            member_per_day: 500,
        }
    }
}

impl DingtalkConfig {
    pub fn with_users<I: IntoIterator<Item = S>, S: Into<String>>(mut self, users: I) -> Self {
        self.users.extend(users.into_iter().map(Into::into));
        self
    }

    /// A robot signed with `secret` (`SEC…`).
    pub fn with_signed_robot(mut self, token: &str, secret: &str) -> Self {
        self.robots.push(DingtalkRobot {
            token: token.into(),
            secret: Some(secret.into()),
            keywords: Vec::new(),
        });
        self
    }

    /// A robot whose security rule is keywords.
    pub fn with_keyword_robot(mut self, token: &str, keywords: &[&str]) -> Self {
        self.robots.push(DingtalkRobot {
            token: token.into(),
            secret: None,
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
        });
        self
    }

    pub fn open_directory(mut self) -> Self {
        self.open_directory = true;
        self
    }
}

/// Handle on a fake DingTalk server; clones share state.
#[derive(Clone)]
pub struct FakeDingtalk {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: DingtalkConfig,
    pub clock: FakeClock,
    pub faults: Faults,
    pub recorder: Recorder,
    pub state: Mutex<DingtalkState>,
}

/// What one work notice did to each member (`getsendresult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendResult {
    pub invalid: Vec<String>,
    /// (member, "143105" daily cap | "143106" duplicate content)
    pub forbidden: Vec<(String, String)>,
    pub delivered: Vec<String>,
}

#[derive(Default)]
pub(crate) struct DingtalkState {
    pub tokens: HashMap<String, DateTime<Utc>>,
    pub uploads: Vec<Upload>,
    /// (member, day, msg JSON) of every notice delivered: the same again that day is dropped.
    pub seen: HashSet<(String, NaiveDate, String)>,
    pub per_day: HashMap<(String, NaiveDate), usize>,
    pub results: HashMap<i64, SendResult>,
    pub next_task: i64,
    /// Robot token → times of accepted messages in the last minute.
    pub robot_window: HashMap<String, VecDeque<DateTime<Utc>>>,
    pub throttled_until: HashMap<String, DateTime<Utc>>,
    /// Robots removed from their group (300001 from now on).
    pub removed: HashSet<String>,
    /// (robot token, `msgUuid`) of every message posted: the same again is not posted twice.
    pub robot_uuids: HashSet<(String, String)>,
}

impl FakeDingtalk {
    pub fn new(config: DingtalkConfig) -> Self {
        Self::with_fake_clock(config, FakeClock::system())
    }

    /// Uses an injected clock (still movable with [`FakeDingtalk::advance`]).
    pub fn with_clock(config: DingtalkConfig, clock: Arc<dyn Clock>) -> Self {
        Self::with_fake_clock(config, FakeClock::new(clock))
    }

    fn with_fake_clock(config: DingtalkConfig, clock: FakeClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                clock,
                faults: Faults::default(),
                recorder: Recorder::default(),
                state: Mutex::default(),
            }),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }
    pub fn advance(&self, by: Duration) {
        self.inner.clock.advance(by);
    }
    pub fn inject(&self, rule: FaultRule) {
        self.inner.faults.inject(rule);
    }
    /// Every accepted message (work notices and robot messages), oldest first.
    pub fn messages(&self) -> Vec<AcceptedMessage> {
        self.inner.recorder.messages()
    }
    pub fn calls(&self) -> Vec<Call> {
        self.inner.recorder.calls()
    }
    pub fn stats(&self) -> Stats {
        self.inner.recorder.stats()
    }
    /// Every picture uploaded with `media/upload`, oldest first.
    pub fn uploads(&self) -> Vec<Upload> {
        self.state().uploads.clone()
    }
    /// What a work notice did to each member (as `getsendresult` answers).
    pub fn send_result(&self, task_id: i64) -> Option<SendResult> {
        self.state().results.get(&task_id).cloned()
    }
    /// The robot's group removed it: every later message is refused with 300001.
    pub fn remove_robot(&self, token: &str) {
        self.state().removed.insert(token.to_owned());
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, DingtalkState> {
        lock(&self.inner.state)
    }

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

impl inspect::Inspect for FakeDingtalk {
    fn recorder(&self) -> &Recorder {
        &self.inner.recorder
    }
}

/// Routes at DingTalk's real paths plus `GET /_fake/messages` and `GET /_fake/stats`.
pub fn dingtalk_router(state: FakeDingtalk) -> Router {
    Router::new()
        .route("/gettoken", any(gettoken))
        .route("/media/upload", post(upload))
        .route(
            "/topapi/message/corpconversation/asyncsend_v2",
            post(asyncsend),
        )
        .route(
            "/topapi/message/corpconversation/getsendresult",
            post(getsendresult),
        )
        .route("/robot/send", any(crate::dingtalk_robot::send))
        .merge(inspect::routes::<FakeDingtalk>())
        .with_state(state)
}

/// A DingTalk error: HTTP 200, `{"errcode":code,"errmsg":text,"request_id":…}`.
pub(crate) fn error(code: i64, text: &str) -> Reply {
    Reply::json(
        StatusCode::OK,
        code,
        json!({"errcode": code, "errmsg": text, "request_id": random_alnum(12)}),
    )
}

/// A refused token as topapi answers it: errcode 88 with the real code as a string `sub_code`.
fn token_error(sub_code: &str, text: &str) -> Reply {
    Reply::json(
        StatusCode::OK,
        88,
        json!({"errcode": 88, "sub_code": sub_code, "sub_msg": text,
               "errmsg": format!("ding talk error[subcode={sub_code},submsg={text}]"),
               "request_id": random_alnum(12)}),
    )
}

fn fault_reply(fault: &Fault) -> Reply {
    match fault {
        Fault::Http { status } => Reply::http_fault(*status),
        Fault::TokenExpired => token_error("42001", "access_token超时"),
        Fault::TokenInvalid => token_error("40014", "不合法的access_token"),
        Fault::RateLimited { .. } => error(90018, "当前应用调用该接口的QPS超过限制"),
        Fault::UntrustedIp => error(60020, "访问ip不在白名单之中"),
        Fault::EmptyAnswer => Reply::empty_json(),
        Fault::FieldValidation => error(40035, "不合法的参数"),
        Fault::SystemBusy | Fault::Delay { .. } | Fault::Reset => error(-1, "系统繁忙"),
    }
}

async fn gettoken(
    State(fake): State<FakeDingtalk>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    fake.answer(Endpoint::DingtalkGettoken, None, || {
        let config = &fake.inner.config;
        let (key, secret) = (query.get("appkey"), query.get("appsecret"));
        if key.is_none_or(String::is_empty) {
            return error(40035, "缺少参数 corpid or appkey");
        }
        if key != Some(&config.app_key) || secret != Some(&config.app_secret) {
            return error(40096, "不合法的appKey或appSecret");
        }
        let token = random_alnum(32);
        let lifetime = TimeDelta::from_std(config.token_lifetime).unwrap_or(TimeDelta::hours(2));
        fake.state()
            .tokens
            .insert(token.clone(), fake.now() + lifetime);
        Reply::json(
            StatusCode::OK,
            0,
            json!({"errcode": 0, "errmsg": "ok", "access_token": token,
                   "expires_in": lifetime.num_seconds()}),
        )
    })
    .await
}

/// A topapi call's token: missing (41001), unknown (88/40014) or expired (88/42001).
pub(crate) fn check_app_token(fake: &FakeDingtalk, token: Option<&str>) -> Result<(), Reply> {
    let token = token.unwrap_or_default();
    if token.is_empty() {
        return Err(error(41001, "缺少参数access_token"));
    }
    match fake.state().tokens.get(token) {
        None => Err(token_error("40014", "不合法的access_token")),
        Some(expires) if fake.now() >= *expires => Err(token_error("42001", "access_token超时")),
        Some(_) => Ok(()),
    }
}

async fn upload(
    State(fake): State<FakeDingtalk>,
    Query(query): Query<HashMap<String, String>>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let token = query.get("access_token").cloned();
    let form = match multipart {
        Ok(m) => read_form(m).await,
        Err(e) => Err(e.to_string()),
    };
    fake.answer(Endpoint::DingtalkUpload, token.as_deref(), || {
        handle_upload(&fake, token.as_deref(), &query, form).unwrap_or_else(|r| r)
    })
    .await
}

fn handle_upload(
    fake: &FakeDingtalk,
    token: Option<&str>,
    query: &HashMap<String, String>,
    form: Result<Form, String>,
) -> Result<Reply, Reply> {
    check_app_token(fake, token)?;
    let kind = query.get("type").map(String::as_str).unwrap_or_default();
    if kind != "image" {
        return Err(error(40004, "不合法的媒体文件类型"));
    }
    let form = form.map_err(|_| error(40035, "缺少参数 media"))?;
    let Some((file_name, content_type, bytes)) = form.get("media").cloned() else {
        return Err(error(40035, "缺少参数 media"));
    };
    if !matches!(picture_format(&bytes), Some("png" | "jpg" | "gif" | "bmp")) {
        return Err(error(40005, "不合法的文件类型"));
    }
    if bytes.is_empty() || bytes.len() > herald_core::domain::limits::dingtalk::IMAGE_MAX_BYTES {
        return Err(error(40006, "不合法的文件大小"));
    }
    let now = fake.now();
    let media_id = format!("@lADP{}", random_alnum(24));
    fake.state().uploads.push(Upload {
        key: media_id.clone(),
        bytes,
        file_name,
        content_type,
        at: now,
        expires_at: None,
    });
    Ok(Reply::json(
        StatusCode::OK,
        0,
        json!({"errcode": 0, "errmsg": "ok", "media_id": media_id, "type": "image",
               "created_at": now.timestamp_millis()}),
    ))
}

async fn asyncsend(
    State(fake): State<FakeDingtalk>,
    Query(query): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Response {
    let token = query.get("access_token").cloned();
    fake.answer(Endpoint::DingtalkSend, token.as_deref(), || {
        crate::dingtalk_notice::handle(&fake, token.as_deref(), &body).unwrap_or_else(|r| r)
    })
    .await
}

async fn getsendresult(
    State(fake): State<FakeDingtalk>,
    Query(query): Query<HashMap<String, String>>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let token = query.get("access_token").cloned();
    fake.answer(Endpoint::DingtalkSendResult, token.as_deref(), || {
        if let Err(reply) = check_app_token(&fake, token.as_deref()) {
            return reply;
        }
        let task = body["task_id"].as_i64().unwrap_or_default();
        let Some(result) = fake.send_result(task) else {
            return error(40035, "不合法的参数 task_id");
        };
        let forbidden: Vec<Value> = result
            .forbidden
            .iter()
            .map(|(user, code)| json!({"code": code, "count": 1, "userid": user}))
            .collect();
        Reply::json(
            StatusCode::OK,
            0,
            json!({"errcode": 0, "request_id": random_alnum(12), "send_result": {
                "invalid_user_id_list": result.invalid,
                "forbidden_list": forbidden,
                "failed_user_id_list": [],
                "read_user_id_list": [],
                "unread_user_id_list": result.delivered,
                "invalid_dept_id_list": [],
            }}),
        )
    })
    .await
}
