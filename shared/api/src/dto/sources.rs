//! Report sources as the API takes and shows them; credentials are write-only.
use super::at;
use super::tasks::SECRET_SET;
use herald_core::FieldError;
use herald_core::domain::source::{Source, SourceAuth, SourceKind, SourceName, SourceProjects};
use herald_core::services::settings::SecretChange;
use herald_core::services::sources::SourceView as Viewed;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How Herald signs in: `type` and its fields. Secret fields (`token`, `password`, `key`, `value`
/// of header and query) are write-only: reads show `"set"`, and omitted or `"set"` keeps them.
#[derive(Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthBody {
    /// `none`, `bearer`, `header`, `basic`, `query` (http); `login`, `bearer` (superset); `api_key`,
    /// `login` (metabase); `api_key` (redash).
    #[serde(rename = "type")]
    pub kind: String,
    /// The header's or query parameter's name (`header`, `query`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Superset's auth provider (`db` by default, or `ldap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A report source.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    /// `http`, `superset`, `metabase` or `redash`.
    pub kind: String,
    /// The source's address (its own path, if any, prefixes every request).
    pub base_url: String,
    pub auth: AuthBody,
    /// The projects whose tasks may use it; `["*"]`: every project.
    pub projects: Vec<String>,
    /// Lets this source's own host be a private address (a BI server inside the network).
    #[serde(default)]
    pub private_network: bool,
}

/// A source as read back: its name and what was put (secrets as "set"; a member sees only the
/// way of signing in).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceView {
    pub name: String,
    pub kind: String,
    pub base_url: String,
    pub auth: AuthBody,
    pub projects: Vec<String>,
    pub private_network: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceList {
    pub items: Vec<SourceView>,
}

/// Never shows a secret field, should a body ever be logged.
impl std::fmt::Debug for AuthBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "…");
        f.debug_struct("AuthBody")
            .field("type", &self.kind)
            .field("name", &self.name)
            .field("username", &self.username)
            .field("provider", &self.provider)
            .field("token", &hidden(&self.token))
            .field("password", &hidden(&self.password))
            .field("key", &hidden(&self.key))
            .field("value", &hidden(&self.value))
            .finish()
    }
}

fn required(field: &str, value: &Option<String>) -> Result<String, FieldError> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| FieldError::new(field, "is required for this way of signing in"))
}

/// A header name as HTTP allows (and no name Herald sets itself).
fn header_name(value: String) -> Result<String, FieldError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok
        || ["host", "content-length", "content-type"].contains(&value.to_ascii_lowercase().as_str())
    {
        return Err(FieldError::new(
            "auth.name",
            "must be a header name like X-Api-Key",
        ));
    }
    Ok(value)
}

impl SourceBody {
    /// The source named `name`, and what to do with its secret.
    pub fn parse(&self, name: SourceName) -> Result<(Source, SecretChange), FieldError> {
        let kind = at("kind", SourceKind::parse(&self.kind))?;
        let base_url = at("base_url", super::formats::http_url(&self.base_url))?;
        // Credentials go in `auth`, never in an address everyone who may use the source sees.
        let parsed = url::Url::parse(base_url.as_str())
            .map_err(|e| FieldError::new("base_url", e.to_string()))?;
        if !parsed.username().is_empty()
            || parsed.password().is_some()
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(FieldError::new(
                "base_url",
                "must be an address without user, password, query or fragment: credentials go in auth",
            ));
        }
        let a = &self.auth;
        let auth = match a.kind.as_str() {
            "none" => SourceAuth::None,
            "bearer" => SourceAuth::Bearer,
            "header" => SourceAuth::Header {
                name: header_name(required("auth.name", &a.name)?)?,
            },
            "query" => SourceAuth::Query {
                name: required("auth.name", &a.name)?,
            },
            "basic" => SourceAuth::Basic {
                username: required("auth.username", &a.username)?,
            },
            "login" => SourceAuth::Login {
                username: required("auth.username", &a.username)?,
                provider: a.provider.clone().filter(|p| !p.trim().is_empty()),
            },
            "api_key" => SourceAuth::ApiKey,
            _ => {
                return Err(FieldError::new(
                    "auth.type",
                    "must be none, bearer, header, basic, query, login or api_key",
                ));
            }
        };
        if !auth.suits(kind) {
            return Err(FieldError::new(
                "auth.type",
                format!(
                    "a {} source does not sign in with {}",
                    kind.as_str(),
                    auth.type_name()
                ),
            ));
        }
        let given = match auth.secret_field() {
            Some("token") => &a.token,
            Some("password") => &a.password,
            Some("key") => &a.key,
            Some("value") => &a.value,
            _ => &None,
        };
        let secret = match given.as_deref() {
            None | Some(SECRET_SET) => SecretChange::Keep,
            Some(value) => SecretChange::Set(SecretString::from(value.to_owned())),
        };
        if self.projects.is_empty() {
            return Err(FieldError::new(
                "projects",
                "must name the projects that may use it, or [\"*\"] for all",
            ));
        }
        let projects = at("projects", SourceProjects::try_from(self.projects.clone()))?;
        Ok((
            Source {
                name,
                kind,
                base_url,
                auth,
                projects,
                private_network: self.private_network,
            },
            secret,
        ))
    }
}

impl SourceView {
    /// `viewed` as an admin sees it (secrets as "set"), or a member (no sign-in details).
    pub fn of(viewed: &Viewed, admin: bool) -> Self {
        let s = &viewed.source;
        let set = viewed.secret_set.then(|| SECRET_SET.to_owned());
        let mut auth = AuthBody {
            kind: s.auth.type_name().to_owned(),
            ..AuthBody::default()
        };
        if admin {
            match &s.auth {
                SourceAuth::Header { name } | SourceAuth::Query { name } => {
                    auth.name = Some(name.clone());
                    auth.value = set;
                }
                SourceAuth::Basic { username } => {
                    auth.username = Some(username.clone());
                    auth.password = set;
                }
                SourceAuth::Login { username, provider } => {
                    auth.username = Some(username.clone());
                    auth.provider = provider.clone();
                    auth.password = set;
                }
                SourceAuth::Bearer => auth.token = set,
                SourceAuth::ApiKey => auth.key = set,
                SourceAuth::None => {}
            }
        }
        Self {
            name: s.name.to_string(),
            kind: s.kind.as_str().to_owned(),
            base_url: s.base_url.to_string(),
            auth,
            // A member is not told which other projects a source serves.
            projects: if admin {
                s.projects.clone().into()
            } else {
                Vec::new()
            },
            private_network: s.private_network,
        }
    }
}
