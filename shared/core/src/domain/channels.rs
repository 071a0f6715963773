//! Channel settings (admin): SMTP, WeCom app, Feishu app, DingTalk app. Each is enabled and configured on its own.
//! Secrets are not part of these types: they live in the secret store and join only as credentials.
use super::recipients::EmailAddress;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// How SMTP connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS (local relays only).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    pub from: EmailAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WecomSettings {
    pub enabled: bool,
    pub corp_id: String,
    pub agent_id: i64,
    /// Send with `safe=1` (no sharing, watermark) where WeCom supports it.
    pub encrypted: bool,
    /// A proxy stored here before proxies moved to the secret store (they may hold a password):
    /// still used, and moved there by the next write of these settings. New writes leave it `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeishuSettings {
    pub enabled: bool,
    pub app_id: String,
}

/// A DingTalk corp app (企业内部应用): its AppKey and the AgentId work notices are sent as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DingtalkSettings {
    pub enabled: bool,
    pub app_key: String,
    pub agent_id: i64,
}

/// DingTalk app settings with the AppSecret.
#[derive(Debug, Clone)]
pub struct DingtalkCredentials {
    pub settings: DingtalkSettings,
    pub app_secret: SecretString,
}

/// SMTP settings with the authorization code, as a provider client needs them.
#[derive(Debug, Clone)]
pub struct SmtpCredentials {
    pub settings: SmtpSettings,
    pub password: SecretString,
}

/// WeCom app settings with the corp secret.
#[derive(Debug, Clone)]
pub struct WecomCredentials {
    pub settings: WecomSettings,
    pub corp_secret: SecretString,
    /// An HTTP(S) forward proxy for every WeCom call (a fixed egress IP for WeCom's trusted-IP
    /// rule); it may carry a password, so it lives in the secret store.
    pub proxy: Option<SecretString>,
}

/// Feishu app settings with the app secret.
#[derive(Debug, Clone)]
pub struct FeishuCredentials {
    pub settings: FeishuSettings,
    pub app_secret: SecretString,
}
