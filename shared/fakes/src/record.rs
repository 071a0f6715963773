//! What the fakes saw: accepted messages, every call with the token it used, and counters.
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::lock;

/// The endpoints the fakes serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `GET /cgi-bin/gettoken`
    WecomGettoken,
    /// `POST /cgi-bin/message/send`
    WecomSend,
    /// `POST /cgi-bin/webhook/send`
    WecomRobot,
    /// `POST /open-apis/auth/v3/tenant_access_token/internal`
    FeishuToken,
    /// `POST /open-apis/contact/v3/users/batch_get_id`
    FeishuBatchGetId,
    /// `POST /open-apis/im/v1/messages`
    FeishuSend,
    /// `POST /cgi-bin/media/upload`
    WecomUpload,
    /// `POST /open-apis/im/v1/images` and `POST /open-apis/im/v1/files`
    FeishuUpload,
    /// DingTalk `GET /gettoken`
    DingtalkGettoken,
    /// DingTalk `POST /topapi/message/corpconversation/asyncsend_v2`
    DingtalkSend,
    /// DingTalk `POST /topapi/message/corpconversation/getsendresult`
    DingtalkSendResult,
    /// DingTalk `POST /media/upload`
    DingtalkUpload,
    /// DingTalk `POST /robot/send`
    DingtalkRobot,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::WecomGettoken => "wecom_gettoken",
            Endpoint::WecomSend => "wecom_send",
            Endpoint::WecomRobot => "wecom_robot",
            Endpoint::FeishuToken => "feishu_token",
            Endpoint::FeishuBatchGetId => "feishu_batch_get_id",
            Endpoint::FeishuSend => "feishu_send",
            Endpoint::WecomUpload => "wecom_upload",
            Endpoint::FeishuUpload => "feishu_upload",
            Endpoint::DingtalkGettoken => "dingtalk_gettoken",
            Endpoint::DingtalkSend => "dingtalk_send",
            Endpoint::DingtalkSendResult => "dingtalk_send_result",
            Endpoint::DingtalkUpload => "dingtalk_upload",
            Endpoint::DingtalkRobot => "dingtalk_robot",
        }
    }
}

/// A message a fake accepted (answered with success).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcceptedMessage {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub endpoint: Endpoint,
    /// WeCom `touser` ids as sent (split on `|`); Feishu: `[receive_id]`; robot: empty.
    pub recipients: Vec<String>,
    /// WeCom `toparty` / `totag` ids as sent.
    pub parties: Vec<String>,
    pub tags: Vec<String>,
    /// Feishu `receive_id_type`.
    pub receive_id_type: Option<String>,
    /// WeCom `msgtype`, Feishu `msg_type`.
    pub msgtype: String,
    /// The whole request JSON.
    pub body: Value,
    /// Feishu: `content` parsed from its JSON string.
    pub content: Option<Value>,
    pub enable_duplicate_check: Option<i64>,
    pub safe: Option<i64>,
    pub uuid: Option<String>,
    /// The access token the call used (robot: none).
    pub token: Option<String>,
    pub robot_key: Option<String>,
    /// WeCom `msgid` or Feishu `message_id` returned.
    pub message_id: String,
    /// Recipients reported invalid (lower-cased WeCom userids).
    pub invalid_users: Vec<String>,
    /// True when the provider accepted it but did not deliver it again (WeCom duplicate check,
    /// Feishu `uuid`).
    pub suppressed_duplicate: bool,
    /// WeCom users the message was accepted for but silently not delivered to: more than 30 a
    /// minute or 1,000 an hour from one app to one member (lower-cased ids).
    pub dropped_for: Vec<String>,
}

impl AcceptedMessage {
    /// An empty record for `endpoint` at `at`; callers fill in the rest.
    pub fn new(at: DateTime<Utc>, endpoint: Endpoint) -> Self {
        Self {
            seq: 0,
            at,
            endpoint,
            recipients: Vec::new(),
            parties: Vec::new(),
            tags: Vec::new(),
            receive_id_type: None,
            msgtype: String::new(),
            body: Value::Null,
            content: None,
            enable_duplicate_check: None,
            safe: None,
            uuid: None,
            token: None,
            robot_key: None,
            message_id: String::new(),
            invalid_users: Vec::new(),
            suppressed_duplicate: false,
            dropped_for: Vec::new(),
        }
    }
}

/// One call to an endpoint, whatever the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub endpoint: Endpoint,
    pub token: Option<String>,
    /// The `errcode` / `code` answered (0 = success); `None` for an injected HTTP fault.
    pub code: Option<i64>,
}

/// Counters served at `GET /_fake/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Calls per endpoint name (see [`Endpoint::as_str`]), failed ones included.
    pub calls: BTreeMap<String, u64>,
    pub delivered: u64,
    pub suppressed_duplicates: u64,
    pub faults_fired: u64,
}

impl Stats {
    pub fn calls_to(&self, endpoint: Endpoint) -> u64 {
        self.calls.get(endpoint.as_str()).copied().unwrap_or(0)
    }
}

#[derive(Default)]
pub struct Recorder {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    seq: u64,
    messages: Vec<AcceptedMessage>,
    calls: Vec<Call>,
    stats: Stats,
}

impl Recorder {
    pub fn call(
        &self,
        at: DateTime<Utc>,
        endpoint: Endpoint,
        token: Option<&str>,
        code: Option<i64>,
    ) {
        let mut inner = lock(&self.inner);
        inner.seq += 1;
        let seq = inner.seq;
        *inner
            .stats
            .calls
            .entry(endpoint.as_str().to_owned())
            .or_default() += 1;
        inner.calls.push(Call {
            seq,
            at,
            endpoint,
            token: token.map(str::to_owned),
            code,
        });
    }

    pub fn fault_fired(&self) {
        lock(&self.inner).stats.faults_fired += 1;
    }

    /// Stores an accepted message; `seq` is assigned here.
    pub fn accept(&self, mut message: AcceptedMessage) {
        let mut inner = lock(&self.inner);
        inner.seq += 1;
        message.seq = inner.seq;
        if message.suppressed_duplicate {
            inner.stats.suppressed_duplicates += 1;
        } else {
            inner.stats.delivered += 1;
        }
        tracing::info!(
            endpoint = message.endpoint.as_str(),
            msgtype = %message.msgtype,
            recipients = message.recipients.len(),
            duplicate = message.suppressed_duplicate,
            "fake provider: message accepted"
        );
        inner.messages.push(message);
    }

    pub fn messages(&self) -> Vec<AcceptedMessage> {
        lock(&self.inner).messages.clone()
    }

    pub fn calls(&self) -> Vec<Call> {
        lock(&self.inner).calls.clone()
    }

    pub fn stats(&self) -> Stats {
        lock(&self.inner).stats.clone()
    }

    pub fn reset(&self) {
        *lock(&self.inner) = Inner::default();
    }
}
