//! Why a chart could not be read: the access-error reasons users see in records and alarms.
use crate::policy::Refusal;
use std::time::Duration;
use thiserror::Error;

/// One chart's access error; its text is the `reason` of `ChartState::AccessError`.
#[derive(Debug, Error)]
pub(crate) enum AccessError {
    #[error(transparent)]
    Refused(Refusal),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("timed out after {} s", seconds(*.0))]
    TimedOut(Duration),
    #[error("not read within the overall deadline of {} s", seconds(*.0))]
    Deadline(Duration),
    #[error(
        "not read within {} s, the time a test push or a preview has to answer (a scheduled run waits for each chart's own timeout)",
        seconds(*.0)
    )]
    AnswerDeadline(Duration),
    #[error("response larger than {}", size(*.0))]
    TooLarge(u64),
    #[error("invalid JSON: {0}")]
    InvalidJson(#[source] serde_json::Error),
    #[error("no value at {0}")]
    NoValue(String),
    #[error("value at {0} is not an array")]
    NotArray(String),
    #[error("the document is not an array")]
    DocumentNotArray,
    #[error("too many redirects (more than {0})")]
    TooManyRedirects(usize),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("request failed: {0}")]
    Request(String),
    /// A report source's refusal in its own words ("Superset: 401 Token has expired").
    #[error("{0}")]
    Source(String),
    #[error("the source '{0}' does not exist or this task's project may not use it")]
    NoSource(String),
    #[error("its date parameters: {0}")]
    Parameters(String),
}

impl AccessError {
    /// As a catalog's failure: what did not answer (no connection, a timeout, a 5xx) may answer
    /// if asked again; anything else the source answered.
    pub(crate) fn into_catalog_error(self) -> herald_core::ports::CatalogError {
        use herald_core::ports::CatalogError;
        let unreachable = match &self {
            Self::TimedOut(_)
            | Self::Deadline(_)
            | Self::AnswerDeadline(_)
            | Self::Connect(_)
            | Self::Request(_) => true,
            Self::Status(status) => *status >= 500,
            _ => false,
        };
        if unreachable {
            CatalogError::Unreachable(self.to_string())
        } else {
            CatalogError::Answered(self.to_string())
        }
    }
}

/// Raised by the redirect policy; recognized again in the request error's causes.
#[derive(Debug, Error)]
#[error("too many redirects")]
pub(crate) struct TooManyRedirects(pub usize);

impl From<reqwest::Error> for AccessError {
    fn from(err: reqwest::Error) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        let mut deepest = err.to_string();
        while let Some(e) = cause {
            if let Some(refusal) = e.downcast_ref::<Refusal>() {
                return Self::Refused(refusal.clone());
            }
            if let Some(TooManyRedirects(max)) = e.downcast_ref::<TooManyRedirects>() {
                return Self::TooManyRedirects(*max);
            }
            if let Some(off) = e.downcast_ref::<OffHost>() {
                return Self::Source(off.to_string());
            }
            deepest = e.to_string();
            cause = e.source();
        }
        if err.is_connect() {
            Self::Connect(deepest)
        } else {
            Self::Request(deepest)
        }
    }
}

/// `10`, `0.3`: whole seconds without a fraction.
fn seconds(d: Duration) -> String {
    d.as_secs_f64().to_string()
}

/// `10 MiB`, `64 KiB`, `1000 bytes`.
fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// A redirect to another host: refused, so credentials never leave the source's host.
#[derive(Debug, thiserror::Error)]
#[error(
    "the source redirected to another host or port ({0}); Herald follows redirects only on the source's own scheme, host and port"
)]
pub(crate) struct OffHost(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_as_documented() {
        assert_eq!(AccessError::Status(503).to_string(), "HTTP 503");
        assert_eq!(
            AccessError::TimedOut(Duration::from_secs(10)).to_string(),
            "timed out after 10 s"
        );
        assert_eq!(
            AccessError::TimedOut(Duration::from_millis(300)).to_string(),
            "timed out after 0.3 s"
        );
        assert_eq!(
            AccessError::Deadline(Duration::from_secs(30)).to_string(),
            "not read within the overall deadline of 30 s"
        );
        assert_eq!(
            AccessError::TooLarge(10 * 1024 * 1024).to_string(),
            "response larger than 10 MiB"
        );
        assert_eq!(
            AccessError::TooLarge(64 * 1024).to_string(),
            "response larger than 64 KiB"
        );
        assert_eq!(
            AccessError::TooLarge(1000).to_string(),
            "response larger than 1000 bytes"
        );
        assert_eq!(
            AccessError::NoValue("/data/rows".into()).to_string(),
            "no value at /data/rows"
        );
        assert_eq!(
            AccessError::NotArray("/data/rows".into()).to_string(),
            "value at /data/rows is not an array"
        );
    }
}
