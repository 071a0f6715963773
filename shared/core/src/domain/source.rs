//! Report sources: where a chart's data lives when it sits behind a login (a BI tool or a team's
//! own API). An admin keeps the address and how to sign in once; charts name the source and what
//! to read from it. Credentials live in the secret store, never here.
use super::ParseError;
use super::ids::ProjectId;
use super::text::{HttpUrl, string_newtype};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn check_source_name(value: &str) -> Result<(), ParseError> {
    let ok = (1..=40).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err("must be 1–40 of a-z, 0-9 and -".into())
    }
}

string_newtype!(
    /// A source's name, as charts and the API name it.
    SourceName,
    check_source_name
);

/// What a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Any HTTP API answering JSON or CSV.
    Http,
    /// Apache Superset: a saved chart's data.
    Superset,
    /// Metabase: a saved question's rows.
    Metabase,
    /// Redash: a saved query's fresh results.
    Redash,
}

impl SourceKind {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        match value {
            "http" => Ok(Self::Http),
            "superset" => Ok(Self::Superset),
            "metabase" => Ok(Self::Metabase),
            "redash" => Ok(Self::Redash),
            _ => Err("must be http, superset, metabase or redash".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Superset => "superset",
            Self::Metabase => "metabase",
            Self::Redash => "redash",
        }
    }

    /// The products' own names, for messages ("Superset: 401 Token has expired").
    pub fn label(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Superset => "Superset",
            Self::Metabase => "Metabase",
            Self::Redash => "Redash",
        }
    }
}

/// How Herald signs in to a source. The secret each way needs (token, password, key, header or
/// parameter value) is in the secret store under [`Source::secret_name`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceAuth {
    None,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `<name>: <value>`.
    Header {
        name: String,
    },
    /// HTTP basic authentication.
    Basic {
        username: String,
    },
    /// `?<name>=<value>` on every request.
    Query {
        name: String,
    },
    /// A user signing in (Superset: a JWT from `/api/v1/security/login`; Metabase: a session).
    Login {
        username: String,
        /// Superset's auth provider (`db` or `ldap`; default `db`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<String>,
    },
    /// An API key (Metabase `x-api-key`, Redash `Authorization: Key …`).
    ApiKey,
}

impl SourceAuth {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Bearer => "bearer",
            Self::Header { .. } => "header",
            Self::Basic { .. } => "basic",
            Self::Query { .. } => "query",
            Self::Login { .. } => "login",
            Self::ApiKey => "api_key",
        }
    }

    /// The write-only field this way of signing in needs, as the API names it.
    pub fn secret_field(&self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Bearer => Some("token"),
            Self::Header { .. } | Self::Query { .. } => Some("value"),
            Self::Basic { .. } | Self::Login { .. } => Some("password"),
            Self::ApiKey => Some("key"),
        }
    }

    /// Whether `kind` signs in this way (API.md, "Report sources").
    pub fn suits(&self, kind: SourceKind) -> bool {
        matches!(
            (kind, self),
            (
                SourceKind::Http,
                Self::None
                    | Self::Bearer
                    | Self::Header { .. }
                    | Self::Basic { .. }
                    | Self::Query { .. }
            ) | (SourceKind::Superset, Self::Login { .. } | Self::Bearer)
                | (SourceKind::Metabase, Self::ApiKey | Self::Login { .. })
                | (SourceKind::Redash, Self::ApiKey)
        )
    }
}

/// The projects whose tasks may use a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Vec<String>", try_from = "Vec<String>")]
pub enum SourceProjects {
    All,
    Only(Vec<ProjectId>),
}

impl SourceProjects {
    pub fn allows(&self, project: &ProjectId) -> bool {
        match self {
            Self::All => true,
            Self::Only(projects) => projects.contains(project),
        }
    }
}

impl TryFrom<Vec<String>> for SourceProjects {
    type Error = ParseError;
    fn try_from(value: Vec<String>) -> Result<Self, Self::Error> {
        if value.iter().any(|p| p == "*") {
            return Ok(Self::All);
        }
        value
            .into_iter()
            .map(ProjectId::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self::Only)
    }
}

impl From<SourceProjects> for Vec<String> {
    fn from(value: SourceProjects) -> Self {
        match value {
            SourceProjects::All => vec!["*".into()],
            SourceProjects::Only(projects) => projects.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A report source as stored (its secret is not here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub name: SourceName,
    pub kind: SourceKind,
    pub base_url: HttpUrl,
    pub auth: SourceAuth,
    pub projects: SourceProjects,
    /// The source's own host may be a private address (a BI server inside the network).
    #[serde(default)]
    pub private_network: bool,
}

impl Source {
    /// Where this source's secret is kept in the secret store.
    pub fn secret_name(name: &SourceName) -> String {
        format!("sources/{name}/secret")
    }
}

/// What a chart reads from a Superset source: a saved chart's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupersetQuery {
    pub chart: u64,
}

/// What a chart reads from a Metabase source: a saved question's rows, with its parameters by
/// their template-tag names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetabaseQuery {
    pub card: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

/// What a chart reads from a Redash source: a saved query's fresh results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedashQuery {
    pub query: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Results at most this old are taken as they are (seconds; 0: always run the query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Get,
    Post,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    #[default]
    Json,
    Csv,
}

/// What a chart reads from an `http` source: a path under its address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpQuery {
    #[serde(default, skip_serializing_if = "is_default")]
    pub method: HttpMethod,
    /// A path under the source's address (`/reports/stock`), no scheme or host.
    pub path: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// The JSON body of a POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub format: DataFormat,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// What a chart reads from its source; its shape is the source kind's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SourceQuery {
    Superset(SupersetQuery),
    Metabase(MetabaseQuery),
    Redash(RedashQuery),
    Http(HttpQuery),
}

impl SourceQuery {
    /// What a chart reads to show the BI's saved chart, question or query `id` as it is (no
    /// parameters; Redash runs it afresh); `None` for an http source, which keeps no catalog.
    pub fn of_saved(kind: SourceKind, id: u64) -> Option<Self> {
        Some(match kind {
            SourceKind::Superset => Self::Superset(SupersetQuery { chart: id }),
            SourceKind::Metabase => Self::Metabase(MetabaseQuery {
                card: id,
                parameters: BTreeMap::new(),
            }),
            SourceKind::Redash => Self::Redash(RedashQuery {
                query: id,
                parameters: BTreeMap::new(),
                max_age: Some(0),
            }),
            SourceKind::Http => return None,
        })
    }

    /// A query as a chart gives it: its shape says what it reads (`chart`: Superset, `card`:
    /// Metabase, `query`: Redash, `path`: http); whether it suits the named source is checked
    /// against the source ([`SourceQuery::suits`]).
    pub fn parse(value: &serde_json::Value) -> Result<Self, ParseError> {
        let query: Self = serde_json::from_value(value.clone()).map_err(|_| {
            "must be one of {\"chart\": <id>} (Superset), {\"card\": <id>, \"parameters\": {…}} (Metabase), {\"query\": <id>, \"parameters\": {…}, \"max_age\": <s>} (Redash) or {\"path\": \"/…\", \"method\", \"params\", \"body\", \"format\"} (http)".to_owned()
        })?;
        if let Self::Http(http) = &query {
            if !http.path.starts_with('/')
                || http.path.starts_with("//")
                || http.path.contains("://")
            {
                return Err(
                    "path must be a path under the source's address, starting with /".into(),
                );
            }
            if http.body.is_some() && http.method == HttpMethod::Get {
                return Err("a body needs \"method\": \"POST\"".into());
            }
        }
        query.check_parameters()?;
        Ok(query)
    }

    /// The kind of source this query reads.
    pub fn kind(&self) -> SourceKind {
        match self {
            Self::Superset(_) => SourceKind::Superset,
            Self::Metabase(_) => SourceKind::Metabase,
            Self::Redash(_) => SourceKind::Redash,
            Self::Http(_) => SourceKind::Http,
        }
    }

    /// Whether a `kind` source answers this query; the error says what it reads instead.
    pub fn suits(&self, kind: SourceKind) -> Result<(), ParseError> {
        if self.kind() == kind {
            return Ok(());
        }
        Err(match kind {
            SourceKind::Superset => "a Superset source reads {\"chart\": <id>}",
            SourceKind::Metabase => "a Metabase source reads {\"card\": <id>, \"parameters\": {…}}",
            SourceKind::Redash => "a Redash source reads {\"query\": <id>, \"parameters\": {…}}",
            SourceKind::Http => "an http source reads {\"path\": \"/…\"}",
        }
        .into())
    }

    /// Every text a run fills with date parameters.
    fn texts(&self) -> Vec<&str> {
        match self {
            Self::Superset(_) => Vec::new(),
            Self::Metabase(q) => q.parameters.values().map(String::as_str).collect(),
            Self::Redash(q) => q.parameters.values().map(String::as_str).collect(),
            Self::Http(q) => std::iter::once(q.path.as_str())
                .chain(q.params.values().map(String::as_str))
                .collect(),
        }
    }

    fn check_parameters(&self) -> Result<(), ParseError> {
        for text in self.texts() {
            super::parameters::check(text)?;
        }
        if let Self::Http(HttpQuery {
            body: Some(body), ..
        }) = self
        {
            super::parameters::fill_json(body, check_time()).map(drop)?;
        }
        Ok(())
    }

    /// This query with its date parameters filled for a run at `at`.
    pub fn filled(&self, at: chrono::DateTime<chrono_tz::Tz>) -> Result<Self, ParseError> {
        let fill =
            |map: &BTreeMap<String, String>| -> Result<BTreeMap<String, String>, ParseError> {
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), super::parameters::fill(v, at)?)))
                    .collect()
            };
        Ok(match self {
            Self::Superset(q) => Self::Superset(q.clone()),
            Self::Metabase(q) => Self::Metabase(MetabaseQuery {
                card: q.card,
                parameters: fill(&q.parameters)?,
            }),
            Self::Redash(q) => Self::Redash(RedashQuery {
                query: q.query,
                parameters: fill(&q.parameters)?,
                max_age: q.max_age,
            }),
            Self::Http(q) => Self::Http(HttpQuery {
                method: q.method,
                path: super::parameters::fill(&q.path, at)?,
                params: fill(&q.params)?,
                body: q
                    .body
                    .as_ref()
                    .map(|b| super::parameters::fill_json(b, at))
                    .transpose()?,
                format: q.format,
            }),
        })
    }

    /// What a record says was read (no credentials are ever part of a query).
    pub fn describe(&self) -> String {
        match self {
            Self::Superset(q) => format!("chart {}", q.chart),
            Self::Metabase(q) => format!("card {}", q.card),
            Self::Redash(q) => format!("query {}", q.query),
            Self::Http(q) => format!(
                "{} {}",
                match q.method {
                    HttpMethod::Get => "GET",
                    HttpMethod::Post => "POST",
                },
                q.path
            ),
        }
    }
}

fn check_time() -> chrono::DateTime<chrono_tz::Tz> {
    use chrono::TimeZone;
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .unwrap_or_else(|| chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_query_says_what_it_reads_and_must_suit_its_source() {
        let superset = SourceQuery::parse(&json!({"chart": 17})).unwrap();
        assert_eq!(superset, SourceQuery::Superset(SupersetQuery { chart: 17 }));
        assert!(superset.suits(SourceKind::Superset).is_ok());
        assert!(
            superset
                .suits(SourceKind::Metabase)
                .unwrap_err()
                .contains("card")
        );
        assert!(SourceQuery::parse(&json!({"chart": 17, "extra": 1})).is_err());
        let metabase =
            SourceQuery::parse(&json!({"card": 42, "parameters": {"day": "{{ yesterday }}"}}))
                .unwrap();
        assert_eq!(metabase.describe(), "card 42");
        assert!(
            SourceQuery::parse(&json!({"card": 42, "parameters": {"day": "{{ tomorrow }}"}}))
                .unwrap_err()
                .contains("unknown parameter")
        );
        assert_eq!(
            SourceQuery::parse(&json!({"query": 7, "max_age": 0}))
                .unwrap()
                .kind(),
            SourceKind::Redash
        );
        assert!(SourceQuery::parse(&json!({"path": "https://evil.example/x"})).is_err());
        assert!(SourceQuery::parse(&json!({"path": "/x", "body": {}})).is_err());
        let http = SourceQuery::parse(
            &json!({"method": "POST", "path": "/reports/stock", "params": {"date": "{{ today }}"}, "body": {"day": "{{ yesterday }}"}}),
        )
        .unwrap();
        use chrono::TimeZone;
        let at = chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 12, 7, 9, 0, 0)
            .unwrap();
        let SourceQuery::Http(filled) = http.filled(at).unwrap() else {
            panic!("http")
        };
        assert_eq!(filled.params["date"], "2026-12-07");
        assert_eq!(filled.body, Some(json!({"day": "2026-12-06"})));
    }

    #[test]
    fn each_kind_signs_in_its_own_ways() {
        let login = SourceAuth::Login {
            username: "bot".into(),
            provider: None,
        };
        assert!(login.suits(SourceKind::Superset) && login.suits(SourceKind::Metabase));
        assert!(!login.suits(SourceKind::Redash) && !login.suits(SourceKind::Http));
        assert!(SourceAuth::ApiKey.suits(SourceKind::Redash));
        assert!(!SourceAuth::None.suits(SourceKind::Superset));
        let projects: SourceProjects = vec!["payments".to_owned()].try_into().unwrap();
        assert!(projects.allows(&ProjectId::parse("payments").unwrap()));
        assert!(!projects.allows(&ProjectId::parse("hr").unwrap()));
        let all: SourceProjects = vec!["*".to_owned()].try_into().unwrap();
        assert!(all.allows(&ProjectId::parse("hr").unwrap()));
        assert!(SourceName::parse("superset-prod").is_ok());
        assert!(SourceName::parse("Superset").is_err());
    }
}
