//! Secrets and the settings document.
use super::*;

#[derive(Debug, Error)]
pub enum SecretError {
    #[error("secret store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Write-only secrets (corp secrets, app secrets, SMTP authorization codes, webhook signing keys),
/// by name such as `channels/wecom/corp_secret`. Values never leave as anything but `SecretString`.
#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn get_secret(&self, name: &str) -> Result<Option<secrecy::SecretString>, SecretError>;
    async fn put_secret(
        &self,
        name: &str,
        value: &secrecy::SecretString,
    ) -> Result<(), SecretError>;
}

/// The channel settings document (no secrets), versioned for optimistic writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SettingsRecord {
    pub url_prefix: Option<crate::domain::text::HttpUrl>,
    pub smtp: Option<crate::domain::channels::SmtpSettings>,
    pub wecom: Option<crate::domain::channels::WecomSettings>,
    pub feishu: Option<crate::domain::channels::FeishuSettings>,
    /// Webhook sources: those with a signing secret set, and SQLE sources with their routing rules.
    #[serde(default)]
    pub webhook_sources: Vec<WebhookSource>,
    /// Report sources (admin-managed; their secrets are in the secret store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<crate::domain::source::Source>,
    /// Which tasks (`project/task`) read from each source (see `SourceDirectory::record_use`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub source_users: std::collections::BTreeMap<
        crate::domain::source::SourceName,
        std::collections::BTreeSet<String>,
    >,
    /// Console sessions ended before they expire (sign-out), pruned as they expire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ended_sessions: Vec<crate::domain::session::EndedSession>,
    /// Each key's console session epoch: sessions opened under an older one have ended (sign out
    /// everywhere). One small entry per key that ever signed out everywhere.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub session_epochs: std::collections::BTreeMap<crate::domain::auth::KeyHash, u64>,
    /// 0 until first written.
    pub version: u64,
}

/// A webhook source named in the settings. Its secrets (the HMAC signing secret of the native
/// ticket format, SQLE's bearer token) live in the secret store; this says which are set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "WebhookSourceWire")]
pub struct WebhookSource {
    pub name: String,
    /// An HMAC signing secret is set: the source posts the native ticket format.
    pub signed: bool,
    /// Set for an SQLE source (its token is set): who hears about each SQLE project's workflows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqle: Option<crate::domain::sqle::SqleSource>,
}

/// A source as stored: documents written before SQLE sources existed list bare names, each one
/// with a signing secret set.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum WebhookSourceWire {
    Name(String),
    Source {
        name: String,
        #[serde(default)]
        signed: bool,
        #[serde(default)]
        sqle: Option<crate::domain::sqle::SqleSource>,
    },
}

impl From<WebhookSourceWire> for WebhookSource {
    fn from(wire: WebhookSourceWire) -> Self {
        match wire {
            WebhookSourceWire::Name(name) => name.as_str().into(),
            WebhookSourceWire::Source { name, signed, sqle } => Self { name, signed, sqle },
        }
    }
}

impl From<&str> for WebhookSource {
    /// A source with a signing secret set.
    fn from(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            signed: true,
            sqle: None,
        }
    }
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The settings, or the default (version 0) if never written.
    async fn get_settings(&self) -> Result<SettingsRecord, StoreError>;
    /// Writes `record` (with its version already incremented) if the stored version is `expected_version`.
    async fn put_settings(
        &self,
        record: &SettingsRecord,
        expected_version: u64,
    ) -> Result<(), StoreError>;
}
