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
    // Errcode 88 ("鉴权异常") carries the real code as `sub_code`: classify by that.
    if code == 88
        && let Some(sub) = sub_code.and_then(|s| s.parse::<i64>().ok())
        && sub != 88
        && !token_codes.contains(&sub_code.unwrap_or_default())
    {
        match classify_app(sub, None, errmsg) {
            Verdict::TokenInvalid => return Verdict::TokenInvalid,
            // A sub code of its own class (a rate limit, a bad argument); an unknown one is read
            // as the credentials or permissions 88 stands for.
            Verdict::Fail(mut error) if error.failure != SendFailure::Transient => {
                error.code = Some(code);
                return Verdict::Fail(error);
            }
            Verdict::Fail(_) => {}
        }
    }
    match code {
        88 if sub_code.is_some_and(|s| token_codes.contains(&s)) => Verdict::TokenInvalid,
        40001 | 40014 | 42001 | 41001 => Verdict::TokenInvalid,
        40089 | 40096 => {
            config("check the app's AppKey and AppSecret (the secret may have been reset)")
        }
        40056 => {
            config("check the agent id: it must be the AgentId of the app whose AppKey is set")
        }
        90020 => config(
            "the organisation's monthly API calls are used up: wait for next month or raise the quota",
        ),
        60020 => config(
            "add this server's egress IP to the app's allowed IPs in the DingTalk developer console",
        ),
        88 => config(
            "DingTalk refused the app's credentials: check the AppKey, AppSecret and the app's permissions (企业内机器人发送消息权限)",
        ),
        // Per second: again in a second (D7); per minute: in a minute.
        90018 | 90002 => Verdict::Fail(rate_limited(
            Duration::from_secs(1),
            Some(code),
            msg.clone(),
        )),
        90005 | 90006 | 41047 | 41048 | 143103 | 143104 => Verdict::Fail(rate_limited(
            Duration::from_secs(60),
            Some(code),
            msg.clone(),
        )),
        -1 | 1430003 => fail(SendFailure::Transient),
        33012 | 40003 | 1430000 => fail(SendFailure::Recipient),
        // Bad message JSON or type; uploads: bad media type, file type or size, media id.
        34014 | 40008 | 40004 | 40005 | 40006 | 40007 | 40035 | 41 | 1430002 => {
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
    let lower = errmsg.to_lowercase();
    match code {
        130101 | 410100 | 660026 => rate_limited(ROBOT_PENALTY, Some(code), msg.clone()),
        // Newer answers are `description:…;solution:…`: look for the cause's own words.
        310000 if lower.contains("keyword") || errmsg.contains("关键词") => config(
            "the robot's keyword rule refused the message: add a keyword the message contains (e.g. Herald) or use signing",
        ),
        310000 if lower.contains("sign") || errmsg.contains("签名") => {
            config("the robot's signing secret is wrong: give the group's secret (SEC…) again")
        }
        310000 if lower.contains("timestamp") || errmsg.contains("时间戳") => {
            config("DingTalk refused the timestamp: this server's clock is more than an hour off")
        }
        310000
            if lower.contains("whitelist")
                || errmsg.contains("白名单")
                || lower.starts_with("ip ") =>
        {
            config(
                "the robot allows only some IP addresses: add this server's egress IP in the robot's security settings",
            )
        }
        310000 => config(
            "the robot's security settings refused the message (keywords, signing or IP addresses): check them in the group's robot settings",
        ),
        300001 | 300005 | 400101 => config(
            "the robot does not exist: it was removed from the group, or the access token is wrong",
        ),
        400102 => config("the robot is disabled: turn it on again in the group's settings"),
        460101 | 40035 | 43004 | 400105 | 430101..=430104 => {
            failure(SendFailure::Payload, Some(code), msg)
        }
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
        let keywords = classify_robot(
            310000,
            "description:关键词不匹配;solution:请联系群管理员查看此机器人的关键词，并在发送的信息中包含此关键词;",
        );
        assert!(keywords.hint.unwrap().contains("keyword"));
        let ip = classify_robot(310000, "ip 1.2.3.4 not in whitelist");
        assert!(ip.hint.unwrap().contains("IP"));
        let Verdict::Fail(limited) = classify_app(90018, None, "qps") else {
            panic!("90018 is a rate limit");
        };
        assert_eq!(
            limited.failure,
            SendFailure::RateLimited {
                retry_after_ms: 1000
            }
        );
        let Verdict::Fail(wrapped) = classify_app(88, Some("90018"), "ding talk error") else {
            panic!("88/90018 is a rate limit");
        };
        assert_eq!(
            wrapped.failure,
            SendFailure::RateLimited {
                retry_after_ms: 1000
            }
        );
        let err = classify_robot(300001, "token is not exist");
        assert_eq!(err.failure, SendFailure::Config);
        assert!(err.hint.unwrap().contains("removed from the group"));
    }
}
