//! Reading charts from report sources: one small adapter per kind over the same guarded HTTP
//! clients, and the sign-ins (Superset's JWT) shared by every chart and run of the process.
//!
//! Every request goes through the chart-address guard (resolved addresses pinned); a source with
//! `private_network` gets a client that lets its own host (and port) be private, nothing else.
//! Redirects stay on the source's host, so no credential is ever sent to another host.
mod csv_rows;
mod http;
mod metabase;
mod redash;
mod session;
mod superset;

use crate::access::AccessError;
use crate::policy::SsrfPolicy;
use crate::resolver::GuardedResolver;
use herald_core::domain::source::{Source, SourceKind, SourceQuery};
use herald_core::ports::SourceAccess;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use url::Url;

pub(crate) use session::Sessions;

/// Redirects followed on a source's host.
const MAX_SOURCE_REDIRECTS: usize = 5;

/// What a source answered: the body, how it holds its rows, and where (a JSON Pointer).
pub(crate) struct Answer {
    pub response: reqwest::Response,
    /// The rows' JSON Pointer when the chart gives none (Superset: `/result/0/data`).
    pub default_rows: &'static str,
    pub shape: Shape,
}

/// How an answer holds its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// JSON with the rows (objects or arrays) at a pointer.
    Json,
    /// CSV with a header line.
    Csv,
    /// Metabase's dataset: `data.rows` as arrays, their names in `data.cols[].name`.
    MetabaseDataset,
}

/// An answer's body as JSON rows the row reader takes.
pub(crate) fn json_rows(shape: Shape, body: Vec<u8>) -> Result<Vec<u8>, AccessError> {
    match shape {
        Shape::Json => Ok(body),
        Shape::Csv => csv_rows::to_json_rows(&body),
        Shape::MetabaseDataset => metabase::dataset_rows(&body),
    }
}

/// The HTTP clients of the sources: one for sources on public addresses, one per private source.
pub(crate) struct SourceClients {
    policy: Arc<SsrfPolicy>,
    public: reqwest::Client,
    private: Mutex<HashMap<String, reqwest::Client>>,
    pub(crate) sessions: Sessions,
}

impl SourceClients {
    pub(crate) fn new(policy: Arc<SsrfPolicy>) -> Result<Self, reqwest::Error> {
        Ok(Self {
            public: client(Arc::clone(&policy))?,
            policy,
            private: Mutex::default(),
            sessions: Sessions::default(),
        })
    }

    /// The client for `source`: the shared one, or its own when its host may be private. The
    /// source's address is checked first (an IP address never reaches the resolver's check);
    /// every request of a source is on that host and port, redirects included.
    fn client_for(&self, source: &Source) -> Result<reqwest::Client, AccessError> {
        let url = Url::parse(source.base_url.as_str())
            .map_err(|e| AccessError::Request(format!("the source's address: {e}")))?;
        if !source.private_network {
            self.policy.check_url(&url).map_err(AccessError::Refused)?;
            return Ok(self.public.clone());
        }
        let host = url.host_str().unwrap_or_default();
        let entry = match url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let mut clients = self.private.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&entry) {
            return Ok(client.clone());
        }
        let mut policy = (*self.policy).clone();
        policy.allow_hosts.push(entry.clone());
        policy.check_url(&url).map_err(AccessError::Refused)?;
        let made = client(Arc::new(policy)).map_err(|e| {
            AccessError::Request(format!("could not build the source's client: {e}"))
        })?;
        clients.insert(entry, made.clone());
        Ok(made)
    }

    /// Sends `query` to `access`'s source and answers what it said (a success status).
    pub(crate) async fn ask(
        &self,
        access: &SourceAccess,
        query: &SourceQuery,
    ) -> Result<Answer, AccessError> {
        let client = self.client_for(&access.source)?;
        let answer = match query {
            SourceQuery::Http(q) => http::ask(&client, access, q).await,
            SourceQuery::Superset(q) => superset::ask(&client, &self.sessions, access, q).await,
            SourceQuery::Metabase(q) => metabase::ask(&client, &self.sessions, access, q).await,
            SourceQuery::Redash(q) => redash::ask(&client, access, q).await,
        };
        answer.map_err(|err| without_secret(err, access))
    }
}

impl SourceClients {
    /// What `access`'s BI holds, by name.
    pub(crate) async fn list(
        &self,
        access: &SourceAccess,
        search: &str,
    ) -> Result<Vec<herald_core::ports::SourceChart>, AccessError> {
        let client = self.client_for(&access.source)?;
        let listed = match access.source.kind {
            SourceKind::Superset => superset::list(&client, &self.sessions, access, search).await,
            SourceKind::Metabase => metabase::list(&client, &self.sessions, access, search).await,
            SourceKind::Redash => redash::list(&client, access, search).await,
            SourceKind::Http => Err(AccessError::Source(
                "an http source has no list of charts".into(),
            )),
        };
        listed.map_err(|err| without_secret(err, access))
    }

    /// A BI dashboard as a draft page.
    pub(crate) async fn import(
        &self,
        access: &SourceAccess,
        dashboard: &str,
    ) -> Result<herald_core::ports::DraftPage, AccessError> {
        let client = self.client_for(&access.source)?;
        let imported = match access.source.kind {
            SourceKind::Superset => {
                superset::import(&client, &self.sessions, access, dashboard).await
            }
            SourceKind::Metabase => {
                metabase::import(&client, &self.sessions, access, dashboard).await
            }
            SourceKind::Redash => redash::import(&client, access, dashboard).await,
            SourceKind::Http => Err(AccessError::Source(
                "an http source has no dashboards".into(),
            )),
        };
        imported.map_err(|err| without_secret(err, access))
    }
}

/// A source's words with its own secret taken out, should it echo what it was sent, then cut to
/// 200 characters.
fn without_secret(err: AccessError, access: &SourceAccess) -> AccessError {
    match err {
        AccessError::Source(words) => {
            AccessError::Source(blanked(words, access).chars().take(200).collect())
        }
        err => err,
    }
}

/// `text` without `access`'s secret, as sent or URL-encoded.
fn blanked(text: String, access: &SourceAccess) -> String {
    use secrecy::ExposeSecret;
    match access.secret.as_ref().map(|s| s.expose_secret()) {
        Some(secret) if !secret.is_empty() => {
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            text.replace(secret, "•••").replace(&encoded, "•••")
        }
        _ => text,
    }
}

/// A source's rows with its own secret taken out of every key and text, should it answer with
/// what it was sent (an API echoing its request): a push never carries it to a reader.
pub(crate) fn rows_without_secret(
    rows: &mut herald_core::domain::report::ChartRows,
    access: &SourceAccess,
) {
    use herald_core::domain::report::Cell;
    if access.secret.is_none() {
        return;
    }
    for key in &mut rows.keys {
        *key = blanked(std::mem::take(key), access);
    }
    let kept = rows.head.iter_mut().chain(rows.sample.iter_mut());
    for row in kept.chain(rows.whole.iter_mut()) {
        for cell in row.iter_mut().flatten() {
            if let Cell::Text(text) = cell {
                *text = blanked(std::mem::take(text), access);
            }
        }
    }
}

/// A client whose every address is checked by `policy`, redirects kept on the first host.
fn client(policy: Arc<SsrfPolicy>) -> Result<reqwest::Client, reqwest::Error> {
    let guard = Arc::clone(&policy);
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        let origin = |u: &Url| {
            (
                u.scheme().to_owned(),
                u.host_str().map(str::to_owned),
                u.port_or_known_default(),
            )
        };
        let first = attempt.previous().first().map(origin);
        if attempt.previous().len() > MAX_SOURCE_REDIRECTS {
            return attempt.error(crate::access::TooManyRedirects(MAX_SOURCE_REDIRECTS));
        }
        // Same scheme, host and port: a header or a login body never goes anywhere else.
        if first != Some(origin(attempt.url())) {
            let elsewhere = attempt.url().origin().ascii_serialization();
            return attempt.error(crate::access::OffHost(elsewhere));
        }
        match guard.check_url(attempt.url()) {
            Ok(_) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    });
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(GuardedResolver::new(policy))
        .redirect(redirects)
        .user_agent(concat!("herald-sources/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The address of `path` under the source's address (its own path kept as a prefix).
pub(crate) fn address(source: &Source, path: &str) -> Result<Url, AccessError> {
    let base = source.base_url.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}{path}"))
        .map_err(|e| AccessError::Request(format!("invalid address for {path}: {e}")))
}

/// A source's own words for a refusal: the `message`, `msg`, `error` or `errors` of a JSON body,
/// else its first line of text (at most 1,000 characters here; cut to 200 once the source's
/// secret is taken out, so no part of it survives the cut).
pub(crate) async fn source_words(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    let from_json = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            ["message", "msg", "error", "errors"]
                .iter()
                .find_map(|k| v.get(*k))
                // Redash wraps a refused run in its job: {"job": {"status": 4, "error": "…"}}.
                .or_else(|| v.pointer("/job/error"))
                .map(|m| match m {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
        });
    let words = from_json.unwrap_or_else(|| text.lines().next().unwrap_or_default().to_owned());
    words.chars().take(1000).collect()
}
