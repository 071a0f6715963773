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

pub use crate::domain::settings::{SettingsRecord, WebhookSource};

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
