//! API keys on the wire.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyBody {
    /// The project of an editor or viewer key; omitted for admin keys.
    #[serde(default)]
    pub project: Option<String>,
    /// `admin`, `editor` or `viewer`.
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    pub id: String,
    /// The key itself: shown this once, stored only as a hash.
    pub key: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A key as listed: who it is for, never the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<&herald_core::domain::auth::ApiKey> for KeyView {
    fn from(key: &herald_core::domain::auth::ApiKey) -> Self {
        Self {
            id: key.id.to_string(),
            role: key.role.as_str().to_owned(),
            project: key.project.as_ref().map(ToString::to_string),
            created_at: key.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyView>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
