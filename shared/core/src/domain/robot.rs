//! WeCom group robots: a robot's key (write-only), the secret-store name it is kept under, where a
//! robot message goes (the key, or the secret to read it from when sending), and a task's groups.
use super::text::{check_text, string_newtype};
use serde::{Deserialize, Serialize};

string_newtype!(
    /// A WeCom group robot key (the `key=` of its webhook URL). Write-only: never shown again.
    RobotKey,
    |v| {
        if v.is_empty() || v.len() > 64 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("must be the robot's key or its full webhook URL".into());
        }
        Ok(())
    }
);

impl RobotKey {
    /// Accepts the bare key or the full webhook URL users copy from WeCom (`…/webhook/send?key=KEY`).
    pub fn from_key_or_url(value: &str) -> Result<Self, super::ParseError> {
        let value = value.trim();
        if value.starts_with("http://") || value.starts_with("https://") {
            let url = url::Url::parse(value).map_err(|e| format!("is not a valid URL ({e})"))?;
            let key = url
                .query_pairs()
                .find(|(k, _)| k == "key")
                .map(|(_, v)| v.into_owned())
                .ok_or("is a URL without a key= parameter")?;
            return Self::parse(key);
        }
        Self::parse(value)
    }
}

impl RobotKey {
    /// The name the secret store keeps this key under: `robots/` and a digest of the key, so
    /// tasks sharing a robot share one secret and the name gives nothing of the key away.
    pub fn secret_name(&self) -> RobotSecret {
        RobotSecret::of(self.as_str())
    }
}

/// The secret-store name of a robot key (see [`RobotKey::secret_name`]): `robots/` and 32 hex
/// digits, checked when read, so a stored document can never name another secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RobotSecret(String);

impl RobotSecret {
    /// The name for a robot credential `text`: `robots/` and the first 16 bytes of its SHA-256.
    pub(crate) fn of(text: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(text.as_bytes());
        Self(format!("robots/{}", hex::encode(&digest[..16])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RobotSecret {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let digest = value.strip_prefix("robots/").unwrap_or_default();
        if digest.len() == 32 && digest.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(value))
        } else {
            Err("must be robots/ and 32 hex digits".into())
        }
    }
}

impl From<RobotSecret> for String {
    fn from(secret: RobotSecret) -> Self {
        secret.0
    }
}

/// A robot's key, or the secret it is read from when the message is sent (so queued deliveries
/// do not carry it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RobotAddress {
    Key(RobotKey),
    Secret(RobotSecret),
}

impl RobotAddress {
    /// The key, once resolved.
    pub fn key(&self) -> Option<&RobotKey> {
        match self {
            Self::Key(key) => Some(key),
            Self::Secret(_) => None,
        }
    }
}

impl From<RobotKey> for RobotAddress {
    fn from(key: RobotKey) -> Self {
        Self::Key(key)
    }
}

/// A group robot's webhook (a task's alarm robot, or a group it pushes to): its key as a request
/// gives it, or, as a task is stored, the secret that holds the key (like every other secret,
/// never in the task document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RobotWebhook {
    /// As given (and in tasks stored before keys moved to the secret store).
    Key { webhook_key: RobotKey },
    /// As stored.
    Stored { secret: RobotSecret },
}

impl RobotWebhook {
    /// Where a robot message goes: the key, or the secret to read it from when sending.
    pub fn address(&self) -> RobotAddress {
        match self {
            Self::Key { webhook_key } => RobotAddress::Key(webhook_key.clone()),
            Self::Stored { secret } => RobotAddress::Secret(secret.clone()),
        }
    }
}

string_newtype!(
    /// What people call a group chat (`销售群`): how records and the console name a group target,
    /// never by its key. 1–64 characters.
    GroupName,
    |v| check_text(v, 64, false)
);

/// A WeCom group a task pushes to through the group's robot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WecomGroup {
    pub name: GroupName,
    #[serde(flatten)]
    pub robot: RobotWebhook,
}
