//! What a provider answered a send: accepted (its receipt) or refused (how, in the classes a
//! retry policy needs). Deliveries record both; the `Sender` port returns them.
use thiserror::Error;

/// What a provider said when a message was accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendReceipt {
    /// The provider's message id(s) (WeCom `msgid`, Feishu `message_id`, SMTP queue id).
    pub message_ids: Vec<String>,
    /// Recipients the provider refused while delivering to the others (WeCom `invaliduser` …).
    pub invalid_recipients: Vec<String>,
    /// A short summary of the provider's answer for the record (never a secret).
    pub answer: String,
}

/// How a send failed, in the classes a retry policy needs (see provider-apis.md §0).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum SendFailure {
    /// Wait at least `retry_after_ms`, then try again.
    RateLimited { retry_after_ms: u64 },
    /// Herald's own rate limiter held the message back (a provider quota, WeCom's per-member
    /// limit): nothing was sent. Try again in `retry_after_ms`; it is not counted as an attempt.
    HeldBack { retry_after_ms: u64 },
    /// A fault that may pass (5xx, timeout, connection reset, busy): retry with backoff.
    Transient,
    /// Settings are wrong (secret, trusted IP, scope, disabled app or channel): no retry until fixed.
    Config,
    /// Every recipient was refused: no retry.
    Recipient,
    /// The message itself was refused (too long, invalid): no retry.
    Payload,
}

impl SendFailure {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::HeldBack { .. } | Self::Transient
        )
    }
}

/// A failed send with the provider's own code and words, and a hint for the person who can fix it.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[error("{message}")]
pub struct SendError {
    pub failure: SendFailure,
    /// The provider's error code (WeCom errcode, Feishu code, SMTP reply code, HTTP status).
    pub code: Option<i64>,
    pub message: String,
    /// What to do about it, e.g. "add this server's egress IP to the app's trusted IPs" for 60020.
    pub hint: Option<String>,
}
