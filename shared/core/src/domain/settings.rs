//! The settings document: channels, webhook and report sources, ended sessions (no secrets:
//! those are in the secret store), versioned for optimistic writes.

/// The channel settings document (no secrets), versioned for optimistic writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SettingsRecord {
    pub url_prefix: Option<super::text::HttpUrl>,
    pub smtp: Option<super::channels::SmtpSettings>,
    pub wecom: Option<super::channels::WecomSettings>,
    pub feishu: Option<super::channels::FeishuSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dingtalk: Option<super::channels::DingtalkSettings>,
    /// Webhook sources: those with a signing secret set, and SQLE sources with their routing rules.
    #[serde(default)]
    pub webhook_sources: Vec<WebhookSource>,
    /// Report sources (admin-managed; their secrets are in the secret store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<super::source::Source>,
    /// Which tasks (`project/task`) read from each source (see `SourceDirectory::record_use`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub source_users:
        std::collections::BTreeMap<super::source::SourceName, std::collections::BTreeSet<String>>,
    /// Console sessions ended before they expire (sign-out), pruned as they expire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ended_sessions: Vec<super::session::EndedSession>,
    /// Each key's console session epoch: sessions opened under an older one have ended (sign out
    /// everywhere). One small entry per key that ever signed out everywhere.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub session_epochs: std::collections::BTreeMap<super::auth::KeyHash, u64>,
    /// The days admins set on calendars (`cn-workdays`'s corrections, their own calendars); at
    /// most `calendar::MAX_SET_DAYS` in all.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub calendars:
        std::collections::BTreeMap<super::calendar::CalendarName, super::calendar::CalendarDays>,
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
    pub sqle: Option<super::sqle::SqleSource>,
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
        sqle: Option<super::sqle::SqleSource>,
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
