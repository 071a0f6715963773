//! WeCom errcodes (provider-apis.md §1.3, §2) mapped onto the failure classes.
use crate::error::{failure, rate_limited, with_hint};
use chrono::{DateTime, Timelike, Utc};
use herald_core::ports::{SendError, SendFailure};
use std::time::Duration;

/// What to do with a non-zero errcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The token is bad: drop it, fetch another, retry the call once.
    TokenInvalid,
    Fail(SendError),
}

/// The trusted-IP hint for 60020.
pub const TRUSTED_IP_HINT: &str =
    "add this server's egress IP to the app's trusted IPs (企业可信IP), or set a proxy";

/// Which call answered: gettoken treats 40001 as a wrong secret, other calls as a stale token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    GetToken,
    Api,
}

/// Classifies a WeCom app errcode (`errcode != 0`).
pub(crate) fn classify(call: Call, code: i64, errmsg: &str) -> Verdict {
    let msg = format!("WeCom error {code}: {}", short(errmsg));
    let fail = |class: SendFailure| Verdict::Fail(failure(class, Some(code), msg.clone()));
    let config = |hint: &str| {
        Verdict::Fail(with_hint(
            failure(SendFailure::Config, Some(code), msg.clone()),
            hint,
        ))
    };
    match code {
        40014 | 42001 | 41001 if call == Call::Api => Verdict::TokenInvalid,
        40001 if call == Call::Api => Verdict::TokenInvalid,
        -1 | 45033 => fail(SendFailure::Transient),
        45009 => Verdict::Fail(rate_limited(
            Duration::from_secs(60),
            Some(code),
            msg.clone(),
        )),
        60020 => config(TRUSTED_IP_HINT),
        40001 | 40091 => {
            config("check the app's secret (it may have been reset) and that the app is enabled")
        }
        40013 => config("check the corp id"),
        41002 | 41004 => config("set the corp id and the app's secret"),
        48002 => config("this secret may not send app messages: use the secret of the app itself"),
        50003 => config("the app is disabled: enable it in the WeCom admin console"),
        301002 => config(
            "the secret belongs to another app than the agent id: set the agent id and the secret of the same app",
        ),
        40014 | 42001 | 41001 => fail(SendFailure::Transient),
        40008 | 40032 | 40056 | 40058 | 40063 | 44004 | 41033 | 45002 | 45008 | 82001 | 82002
        | 82003 => fail(SendFailure::Payload),
        // Uploads: bad media type, file type or size, missing data, unknown media id.
        40004 | 40005 | 40006 | 40007 | 40009 | 41005 | 41006 => fail(SendFailure::Payload),
        40003 | 60111 | 40031 | 60011 => fail(SendFailure::Recipient),
        81013 => Verdict::Fail(with_hint(
            failure(SendFailure::Recipient, Some(code), msg.clone()),
            "no recipient is inside the app's visible range: check the user ids and the app's visibility",
        )),
        // Unknown codes: retried with backoff by the engine, a bounded number of times.
        _ => fail(SendFailure::Transient),
    }
}

/// Classifies a group-robot errcode; `now` places a 45009 wait at the next minute.
pub(crate) fn classify_robot(code: i64, errmsg: &str, now: DateTime<Utc>) -> SendError {
    let msg = format!("WeCom robot error {code}: {}", short(errmsg));
    match code {
        45009 => rate_limited(to_next_minute(now), Some(code), msg),
        93000 => with_hint(
            failure(SendFailure::Config, Some(code), msg),
            "the robot's webhook key is invalid or the robot was removed from its group",
        ),
        93004 => with_hint(
            failure(SendFailure::Config, Some(code), msg),
            "the robot is disabled",
        ),
        93008 => with_hint(
            failure(SendFailure::Config, Some(code), msg),
            "the robot is not in the group",
        ),
        40058 | 40008 | 44004 | 45002 => failure(SendFailure::Payload, Some(code), msg),
        // A picture: wrong MD5, file type or size.
        301019 | 40005 | 40009 => failure(SendFailure::Payload, Some(code), msg),
        _ => failure(SendFailure::Transient, Some(code), msg),
    }
}

/// The time to the start of the next minute (at least one second).
pub(crate) fn to_next_minute(now: DateTime<Utc>) -> Duration {
    let into = Duration::from_secs(u64::from(now.second()))
        + Duration::from_nanos(u64::from(now.nanosecond() % 1_000_000_000));
    Duration::from_secs(60)
        .saturating_sub(into)
        .max(Duration::from_secs(1))
}

/// The errmsg without its `, more info at …` tail (kept short for records; the hint id stays).
fn short(errmsg: &str) -> &str {
    errmsg
        .split(", more info at")
        .next()
        .unwrap_or(errmsg)
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(call: Call, code: i64) -> Option<SendFailure> {
        match classify(call, code, "x") {
            Verdict::TokenInvalid => None,
            Verdict::Fail(e) => Some(e.failure),
        }
    }

    #[test]
    fn the_error_table_is_followed() {
        use SendFailure::*;
        for code in [40014, 42001, 40001, 41001] {
            assert_eq!(class(Call::Api, code), None, "{code}");
        }
        assert_eq!(class(Call::GetToken, 40001), Some(Config));
        for code in [-1, 45033] {
            assert_eq!(class(Call::Api, code), Some(Transient));
        }
        assert_eq!(
            class(Call::Api, 45009),
            Some(RateLimited {
                retry_after_ms: 60_000
            })
        );
        for code in [60020, 40013, 40091, 48002, 50003, 301002] {
            assert_eq!(class(Call::Api, code), Some(Config), "{code}");
        }
        for code in [40056, 40058, 44004, 41033, 45002] {
            assert_eq!(class(Call::Api, code), Some(Payload), "{code}");
        }
        for code in [40003, 60111, 40031, 81013] {
            assert_eq!(class(Call::Api, code), Some(Recipient), "{code}");
        }
    }

    #[test]
    fn untrusted_ip_carries_the_hint_and_the_code() {
        let errmsg =
            "not allow to access from your ip, hint: [1], from ip: 1.2.3.4, more info at https://x";
        let Verdict::Fail(err) = classify(Call::GetToken, 60020, errmsg) else {
            panic!("60020 is not a token error");
        };
        assert_eq!(err.code, Some(60020));
        assert_eq!(err.hint.as_deref(), Some(TRUSTED_IP_HINT));
        assert!(err.message.contains("from ip: 1.2.3.4") && !err.message.contains("more info"));
    }

    #[test]
    fn robot_codes_and_the_next_minute() {
        let now = DateTime::parse_from_rfc3339("2025-01-01T10:00:45Z")
            .unwrap()
            .with_timezone(&Utc);
        let err = classify_robot(45009, "api freq out of limit", now);
        assert_eq!(
            err.failure,
            SendFailure::RateLimited {
                retry_after_ms: 15_000
            }
        );
        for code in [93000, 93004, 93008] {
            assert_eq!(classify_robot(code, "", now).failure, SendFailure::Config);
        }
        assert_eq!(classify_robot(40058, "", now).failure, SendFailure::Payload);
        assert_eq!(classify_robot(-1, "", now).failure, SendFailure::Transient);
    }
}
