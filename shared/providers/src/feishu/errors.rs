//! Feishu codes (provider-apis.md §3.2–3.4) mapped onto the failure classes.
use crate::error::{failure, rate_limited, with_hint};
use herald_core::ports::{SendError, SendFailure};
use std::time::Duration;

/// What to do with a non-zero code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Drop the token, fetch another, retry once.
    TokenInvalid,
    /// Wait this long (from `x-ogw-ratelimit-reset`, else a guess), then retry.
    RateLimited(Duration),
    Fail(SendError),
}

pub(crate) const RATE_LIMITED: i64 = 99991400;

/// Classifies a Feishu `code != 0`; `reset` is the `x-ogw-ratelimit-reset` header if present.
pub(crate) fn classify(code: i64, msg: &str, reset: Option<Duration>) -> Verdict {
    let text = format!("Feishu error {code}: {msg}");
    let fail = |class: SendFailure| Verdict::Fail(failure(class, Some(code), text.clone()));
    let hinted = |class: SendFailure, hint: &str| {
        Verdict::Fail(with_hint(failure(class, Some(code), text.clone()), hint))
    };
    match code {
        99991661 | 99991663 | 99991664 | 99991671 => Verdict::TokenInvalid,
        RATE_LIMITED => Verdict::RateLimited(reset.unwrap_or(Duration::from_secs(1))),
        // 5 QPS per target user.
        230020 => Verdict::RateLimited(reset.unwrap_or(Duration::from_secs(1))),
        230013 => hinted(
            SendFailure::Recipient,
            "the user is outside the app's availability scope: add them to it and publish a version",
        ),
        230001 if msg.contains("receive_id") => fail(SendFailure::Recipient),
        232009 => hinted(
            SendFailure::Recipient,
            "the chat was dissolved: take it off the task",
        ),
        230002 => hinted(
            SendFailure::Config,
            "the app's bot is not in the chat (or was removed from it): add the bot to the group",
        ),
        230001 | 230022 | 230025 | 230028 => fail(SendFailure::Payload),
        // im/v1/images: invalid param, too large, empty, unknown format; a card that cannot be built.
        234001 | 234006 | 234010 | 234011 | 230099 => fail(SendFailure::Payload),
        // Field validation failed (`error.field_violations`): the request itself is wrong.
        99992402 => fail(SendFailure::Payload),
        230006 => hinted(
            SendFailure::Config,
            "enable the app's bot capability and publish a version of the app",
        ),
        99991672 => hinted(
            SendFailure::Config,
            "grant the app the scope named in the message (im:message:send_as_bot, contact:user.id:readonly) and publish a version",
        ),
        10014 | 10003 => hinted(SendFailure::Config, "check the app id and the app secret"),
        230018 | 230035 | 230038 | 99991403 => fail(SendFailure::Config),
        // Unknown codes: retried with backoff by the engine, a bounded number of times.
        _ => fail(SendFailure::Transient),
    }
}

/// A rate limit that will not be waited out here.
pub(crate) fn rate_limit_error(code: Option<i64>, wait: Duration) -> SendError {
    rate_limited(
        wait,
        code,
        "Feishu rate limit (request trigger frequency limit)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(code: i64) -> Verdict {
        classify(code, "m", None)
    }

    #[test]
    fn the_code_table_is_followed() {
        for code in [99991663, 99991664, 99991671] {
            assert_eq!(class(code), Verdict::TokenInvalid);
        }
        assert_eq!(
            classify(99991400, "limit", Some(Duration::from_secs(3))),
            Verdict::RateLimited(Duration::from_secs(3))
        );
        let failure_of = |code| match class(code) {
            Verdict::Fail(e) => e.failure,
            other => panic!("{code}: {other:?}"),
        };
        assert_eq!(failure_of(230013), SendFailure::Recipient);
        assert_eq!(failure_of(230025), SendFailure::Payload);
        assert_eq!(failure_of(99992402), SendFailure::Payload);
        assert_eq!(failure_of(230099), SendFailure::Payload);
        assert_eq!(failure_of(230006), SendFailure::Config);
        assert_eq!(failure_of(99991672), SendFailure::Config);
        assert_eq!(failure_of(123), SendFailure::Transient);
        let Verdict::Fail(e) = classify(230001, "invalid param, ext=invalid receive_id", None)
        else {
            panic!()
        };
        assert_eq!(e.failure, SendFailure::Recipient);
    }
}
