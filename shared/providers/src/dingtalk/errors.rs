//! DingTalk errcodes (provider-apis.md §4, shared/providers/NOTES.md) mapped onto the failure
//! classes. Every error comes with HTTP 200; the body's `errcode` decides.
use crate::error::{failure, rate_limited, with_hint};
use herald_core::ports::{SendError, SendFailure};
use std::time::Duration;

/// What to do with a non-zero errcode of the corp app's calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The token is bad or expired: drop it, fetch another, retry the call once.
    TokenInvalid,
    Fail(SendError),
}

/// How long a robot stays throttled after more than 20 messages in a minute.
pub const ROBOT_PENALTY: Duration = Duration::from_secs(600);

fn short(errmsg: &str) -> &str {
    let end = errmsg
        .char_indices()
        .nth(200)
        .map(|(i, _)| i)
        .unwrap_or(errmsg.len());
    &errmsg[..end]
}

/// Classifies an errcode of `gettoken`, `asyncsend_v2` or `media/upload`. A bad token comes back
/// as errcode 88 with `sub_code` "40014" (or as 40014, 42001, 40001 itself).
pub(crate) fn classify_app(code: i64, sub_code: Option<&str>, errmsg: &str) -> Verdict {
    let msg = format!("DingTalk error {code}: {}", short(errmsg));
    let fail = |class: SendFailure| Verdict::Fail(failure(class, Some(code), msg.clone()));
    let config = |hint: &str| {
        Verdict::Fail(with_hint(
            failure(SendFailure::Config, Some(code), msg.clone()),
            hint,
        ))
    };
    let token_codes = ["40001", "40014", "42001", "41001"];
    match code {
        88 if sub_code.is_some_and(|s| token_codes.contains(&s)) => Verdict::TokenInvalid,
        40001 | 40014 | 42001 | 41001 => Verdict::TokenInvalid,
        40089 | 40096 => {
            config("check the app's AppKey and AppSecret (the secret may have been reset)")
        }
        40056 | 41 => {
            config("check the agent id: it must be the AgentId of the app whose AppKey is set")
        }
        60020 => config(
            "add this server's egress IP to the app's allowed IPs in the DingTalk developer console",
        ),
        88 => config(
            "DingTalk refused the app's credentials: check the AppKey, AppSecret and the app's permissions (企业内机器人发送消息权限)",
        ),
        90018 | 90002 | 90005 | 90006 | 41047 | 41048 | 143103 | 143104 => Verdict::Fail(
            rate_limited(Duration::from_secs(1), Some(code), msg.clone()),
        ),
        -1 | 1430003 => fail(SendFailure::Transient),
        33012 | 40003 => fail(SendFailure::Recipient),
        // Bad message JSON or type; uploads: bad media type, file type or size, media id.
        34014 | 40008 | 40004 | 40005 | 40006 | 40007 | 40035 | 1430002 => {
            fail(SendFailure::Payload)
        }
        _ => fail(SendFailure::Transient),
    }
}

/// Classifies a custom robot's errcode.
pub(crate) fn classify_robot(code: i64, errmsg: &str) -> SendError {
    let msg = format!("DingTalk robot error {code}: {}", short(errmsg));
    let config =
        |hint: &str| with_hint(failure(SendFailure::Config, Some(code), msg.clone()), hint);
    match code {
        130101 | 410100 | 660026 => rate_limited(ROBOT_PENALTY, Some(code), msg.clone()),
        310000 if errmsg.contains("sign") || errmsg.contains("签名") => {
            config("the robot's signing secret is wrong: give the group's secret (SEC…) again")
        }
        310000 if errmsg.contains("timestamp") => {
            config("DingTalk refused the timestamp: this server's clock is more than an hour off")
        }
        310000 if errmsg.contains("ip") => config(
            "the robot allows only some IP addresses: add this server's egress IP in the robot's security settings",
        ),
        310000 => config(
            "the robot's keyword rule refused the message: add a keyword the message contains (e.g. Herald) or use signing",
        ),
        300001 | 300005 | 400101 => config(
            "the robot does not exist: it was removed from the group, or the access token is wrong",
        ),
        400102 => config("the robot is disabled: turn it on again in the group's settings"),
        460101 | 40035 | 43004 | 400105 => failure(SendFailure::Payload, Some(code), msg),
        _ => failure(SendFailure::Transient, Some(code), msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_token_comes_as_88_with_a_sub_code_and_a_robot_throttle_waits_ten_minutes() {
        assert_eq!(
            classify_app(88, Some("40014"), "不合法的access_token"),
            Verdict::TokenInvalid
        );
        let Verdict::Fail(err) = classify_app(40096, None, "不合法的appKey或appSecret") else {
            panic!("40096 is no token error");
        };
        assert_eq!(err.failure, SendFailure::Config);
        let err = classify_robot(130101, "send too fast, exceed 20 times per minute");
        assert_eq!(
            err.failure,
            SendFailure::RateLimited {
                retry_after_ms: 600_000
            }
        );
        let err = classify_robot(310000, "sign not match");
        assert!(err.hint.unwrap().contains("signing secret"));
        let err = classify_robot(300001, "token is not exist");
        assert_eq!(err.failure, SendFailure::Config);
        assert!(err.hint.unwrap().contains("removed from the group"));
    }
}
