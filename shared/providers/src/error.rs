//! Building `SendError`s, and the errors of building the clients themselves.
use herald_core::ports::{SendError, SendFailure};
use std::time::Duration;
use thiserror::Error;

/// Why the provider clients could not be built (at start-up, never per message).
#[derive(Debug, Error)]
pub enum BuildError {
    #[error("invalid {name} base URL")]
    BaseUrl {
        name: &'static str,
        #[source]
        source: url::ParseError,
    },
    #[error("the HTTP client could not be built")]
    Http(#[source] reqwest::Error),
}

pub(crate) fn failure(
    failure: SendFailure,
    code: Option<i64>,
    message: impl Into<String>,
) -> SendError {
    SendError {
        failure,
        code,
        message: message.into(),
        hint: None,
    }
}

pub(crate) fn rate_limited(
    wait: Duration,
    code: Option<i64>,
    message: impl Into<String>,
) -> SendError {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    failure(
        SendFailure::RateLimited { retry_after_ms: ms },
        code,
        message,
    )
}

/// Herald's own limiter kept the message back for `wait`: nothing was sent.
pub(crate) fn held_back(wait: Duration, message: impl Into<String>) -> SendError {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1);
    failure(SendFailure::HeldBack { retry_after_ms: ms }, None, message)
}

pub(crate) fn with_hint(mut error: SendError, hint: impl Into<String>) -> SendError {
    error.hint = Some(hint.into());
    error
}
