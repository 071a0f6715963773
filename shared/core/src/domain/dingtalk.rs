//! DingTalk: a corp app's users (work notices) and custom group robots (an access token and, when
//! the robot is signed, its `SEC…` secret; both write-only, kept in the secret store).
use super::robot::{GroupName, RobotSecret};
use super::text::string_newtype;
use serde::{Deserialize, Serialize};

string_newtype!(
    /// A DingTalk member's `userid` in the corp: 1–64 of letters, digits, `_ - .`.
    DingtalkUserId,
    |v| {
        if v.is_empty() || v.len() > 64 {
            return Err("must be 1-64 characters".into());
        }
        if !v.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)) {
            return Err("may contain only letters, digits, '_', '-' and '.'".into());
        }
        Ok(())
    }
);

string_newtype!(
    /// A custom robot's `access_token` (the query parameter of its webhook URL).
    DingtalkRobotToken,
    |v| {
        if v.is_empty() || v.len() > 128 || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("must be the robot's access_token or its full webhook URL".into());
        }
        Ok(())
    }
);

string_newtype!(
    /// A signed robot's secret (`SEC` and hex digits, shown once when signing is turned on).
    DingtalkRobotSigning,
    |v| {
        let rest = v.strip_prefix("SEC").ok_or("must start with 'SEC'")?;
        if rest.is_empty() || v.len() > 128 || !rest.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("must be 'SEC' followed by the letters and digits DingTalk shows".into());
        }
        Ok(())
    }
);

impl DingtalkRobotToken {
    /// Accepts the bare token or the webhook URL users copy (`…/robot/send?access_token=TOKEN`).
    pub fn from_token_or_url(value: &str) -> Result<Self, super::ParseError> {
        let value = value.trim();
        if value.starts_with("http://") || value.starts_with("https://") {
            let url = url::Url::parse(value).map_err(|e| format!("is not a valid URL ({e})"))?;
            let token = url
                .query_pairs()
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.into_owned())
                .ok_or("is a URL without an access_token= parameter")?;
            return Self::parse(token);
        }
        Self::parse(value)
    }
}

/// What a robot is reached with: its token, and its signing secret if signing is on (a robot
/// secured by keywords or IPs has none). Kept whole in one secret, as JSON. Its `Debug` shows
/// neither.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DingtalkRobotCredentials {
    pub access_token: DingtalkRobotToken,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<DingtalkRobotSigning>,
}

impl std::fmt::Debug for DingtalkRobotCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DingtalkRobotCredentials")
            .field("access_token", &"…")
            .field("signed", &self.secret.is_some())
            .finish()
    }
}

impl DingtalkRobotCredentials {
    /// The secret-store name: `robots/` and a digest of the token and the signing secret (and
    /// DingTalk's name, so a WeCom key of the same text is another secret). Both go into the name:
    /// one task giving a robot's token with another (or no) secret must not change what every
    /// other task of that robot signs with.
    pub fn secret_name(&self) -> RobotSecret {
        let secret = self.secret.as_ref().map(|s| s.as_str()).unwrap_or_default();
        RobotSecret::of(&format!(
            "dingtalk/{}\n{secret}",
            self.access_token.as_str()
        ))
    }
}

/// A DingTalk robot as a request gives it, or as a task stores it (the secret holding it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DingtalkRobot {
    Given(DingtalkRobotCredentials),
    Stored { secret: RobotSecret },
}

impl DingtalkRobot {
    pub fn address(&self) -> DingtalkRobotAddress {
        match self {
            Self::Given(creds) => DingtalkRobotAddress::Given(creds.clone()),
            Self::Stored { secret } => DingtalkRobotAddress::Secret(secret.clone()),
        }
    }
}

/// Where a robot message goes: the credentials, or the secret to read them from when sending (so
/// queued deliveries do not carry them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DingtalkRobotAddress {
    Given(DingtalkRobotCredentials),
    Secret(RobotSecret),
}

/// A DingTalk group a task pushes to through the group's custom robot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DingtalkGroup {
    pub name: GroupName,
    pub robot: DingtalkRobot,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_bare_or_in_the_webhook_url_and_secrets_start_with_sec() {
        let token = DingtalkRobotToken::from_token_or_url(
            "https://oapi.dingtalk.com/robot/send?access_token=ab12cd",
        )
        .unwrap();
        assert_eq!(token.as_str(), "ab12cd");
        assert!(DingtalkRobotToken::from_token_or_url("https://x.example/robot/send").is_err());
        assert!(DingtalkRobotToken::parse("a b").is_err());
        assert!(DingtalkRobotSigning::parse("SECabc123").is_ok());
        assert!(DingtalkRobotSigning::parse("abc123").is_err());
        assert!(DingtalkUserId::parse("manager01").is_ok());
        assert!(DingtalkUserId::parse("a b").is_err());
    }

    #[test]
    fn a_robot_is_stored_under_a_digest_apart_from_a_wecom_key_of_the_same_text() {
        let creds = DingtalkRobotCredentials {
            access_token: DingtalkRobotToken::parse("abc").unwrap(),
            secret: None,
        };
        let wecom = super::super::robot::RobotKey::parse("abc").unwrap();
        assert_ne!(creds.secret_name(), wecom.secret_name());
        assert!(creds.secret_name().as_str().starts_with("robots/"));
        assert!(!creds.secret_name().as_str().contains("abc"));
        // The same robot with a signing secret is kept apart: one task's stale or missing secret
        // never replaces another's.
        let signed = DingtalkRobotCredentials {
            secret: Some(DingtalkRobotSigning::parse("SEC123").unwrap()),
            ..creds.clone()
        };
        assert_ne!(signed.secret_name(), creds.secret_name());
        assert!(!format!("{signed:?}").contains("SEC123"));
    }
}
