//! Metabase: a saved question's rows (`POST /api/card/{id}/query`, answered 202 with
//! `{"data": {"rows": [[…]], "cols": [{"name": …}]}, "status": "completed"}` — a failed query is a
//! 202 too, with `"status": "failed"` and its `error`). Signed in with an API key (`x-api-key`,
//! Metabase 0.49+) or a session (`POST /api/session` → `X-Metabase-Session`, asked again when
//! refused). Parameters go by their template-tag names with the type and target the card
//! declares (`GET /api/card/{id}`). Facts and sources: `shared/charts/SOURCES-NOTES.md`.
use super::session::{Sessions, SignIn, fingerprint};
use super::{Answer, Shape, address, source_words};
use crate::access::AccessError;
use herald_core::domain::source::{MetabaseQuery, SourceAuth, SourceKind, SourceQuery};
use herald_core::ports::SourceAccess;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// Metabase sessions last 14 days by default; Herald signs in again after a day, or when refused.
const SESSION_KEPT: Duration = Duration::from_secs(24 * 3600);

/// How a request signs in.
#[derive(Clone)]
enum Credential {
    ApiKey(SecretString),
    Session(SecretString),
}

impl Credential {
    fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Self::ApiKey(key) => request.header("x-api-key", key.expose_secret()),
            Self::Session(id) => request.header("X-Metabase-Session", id.expose_secret()),
        }
    }
}

fn refused(status: StatusCode, words: &str) -> AccessError {
    AccessError::Source(format!("Metabase: {} {words}", status.as_u16()))
}

pub(super) async fn ask(
    client: &reqwest::Client,
    sessions: &Sessions,
    access: &SourceAccess,
    query: &MetabaseQuery,
) -> Result<Answer, AccessError> {
    signed(client, sessions, access, |credential| async move {
        read(client, access, query, &credential).await
    })
    .await
}

/// Runs `attempt` signed in: with the API key, or a session made (once more if Metabase refuses
/// the kept one).
async fn signed<T, Fut>(
    client: &reqwest::Client,
    sessions: &Sessions,
    access: &SourceAccess,
    attempt: impl Fn(Credential) -> Fut,
) -> Result<T, AccessError>
where
    Fut: std::future::Future<Output = Result<T, Refused>>,
{
    let secret = access
        .secret
        .as_ref()
        .ok_or_else(|| AccessError::Source("Metabase: the source's secret is not set".into()))?;
    let sign_in = sessions.of(access.source.name.as_str());
    // The session Metabase refused, if it did: a new one is made once.
    let mut refused_session: Option<SecretString> = None;
    loop {
        let credential = match &access.source.auth {
            SourceAuth::ApiKey => Credential::ApiKey(secret.clone()),
            SourceAuth::Login { username, .. } => Credential::Session(
                session(
                    client,
                    &sign_in,
                    access,
                    username,
                    secret,
                    refused_session.as_ref(),
                )
                .await?,
            ),
            other => {
                return Err(AccessError::Source(format!(
                    "Metabase: a source cannot sign in with {}",
                    other.type_name()
                )));
            }
        };
        let used = match &credential {
            Credential::Session(id) => Some(id.clone()),
            Credential::ApiKey(_) => None,
        };
        match attempt(credential).await {
            Err(Refused::Unauthenticated(words)) if used.is_some() && refused_session.is_none() => {
                tracing::info!(source = %access.source.name, %words, "Metabase refused the session: signing in again");
                refused_session = used;
            }
            Err(Refused::Unauthenticated(words)) => {
                return Err(refused(StatusCode::UNAUTHORIZED, &words));
            }
            Err(Refused::Other(err)) => return Err(err),
            Ok(answer) => return Ok(answer),
        }
    }
}

enum Refused {
    Unauthenticated(String),
    Other(AccessError),
}

impl From<AccessError> for Refused {
    fn from(err: AccessError) -> Self {
        Self::Other(err)
    }
}

impl From<reqwest::Error> for Refused {
    fn from(err: reqwest::Error) -> Self {
        Self::Other(err.into())
    }
}

async fn read(
    client: &reqwest::Client,
    access: &SourceAccess,
    query: &MetabaseQuery,
    credential: &Credential,
) -> Result<Answer, Refused> {
    let parameters = if query.parameters.is_empty() {
        Vec::new()
    } else {
        let card = address(&access.source, &format!("/api/card/{}", query.card))?;
        let response = credential
            .apply(
                client
                    .get(card)
                    .header(reqwest::header::ACCEPT, "application/json"),
            )
            .send()
            .await?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Err(Refused::Unauthenticated(source_words(response).await));
        }
        if !status.is_success() {
            return Err(refused(status, &source_words(response).await).into());
        }
        let card: Value = response
            .json()
            .await
            .map_err(|e| AccessError::Source(format!("Metabase: the card: {e}")))?;
        card_parameters(&card, query).map_err(AccessError::Source)?
    };
    let url = address(&access.source, &format!("/api/card/{}/query", query.card))?;
    let response = credential
        .apply(client.post(url))
        .json(&json!({ "parameters": parameters }))
        .send()
        .await?;
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        return Err(Refused::Unauthenticated(source_words(response).await));
    }
    if !status.is_success() {
        return Err(refused(status, &source_words(response).await).into());
    }
    Ok(Answer {
        response,
        default_rows: "",
        shape: Shape::MetabaseDataset,
    })
}

/// The parameters of `query` as Metabase takes them: `{type, target, value}` with the type and
/// target the card declares for each template tag (its `parameters`, else its template tags).
fn card_parameters(card: &Value, query: &MetabaseQuery) -> Result<Vec<Value>, String> {
    let declared = card["parameters"].as_array().cloned().unwrap_or_default();
    let tags = card
        .pointer("/dataset_query/native/template-tags")
        .or_else(|| card.pointer("/dataset_query/stages/0/template-tags"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    query
        .parameters
        .iter()
        .map(|(name, value)| {
            let target = json!(["variable", ["template-tag", name]]);
            let dimension = json!(["dimension", ["template-tag", name]]);
            if let Some(p) = declared.iter().find(|p| {
                p["slug"] == json!(name) || p["target"] == target || p["target"] == dimension
            }) {
                return Ok(json!({"type": p["type"], "target": p["target"], "value": value}));
            }
            let tag = tags.get(name).ok_or_else(|| {
                format!("Metabase: card {} has no parameter '{name}'", query.card)
            })?;
            Ok(match tag["type"].as_str().unwrap_or("text") {
                "dimension" | "temporal-unit" => json!({
                    "type": tag["widget-type"].as_str().unwrap_or("category"),
                    "target": dimension, "value": value}),
                "number" => json!({"type": "number/=", "target": target, "value": value}),
                "date" => json!({"type": "date/single", "target": target, "value": value}),
                _ => json!({"type": "category", "target": target, "value": value}),
            })
        })
        .collect()
}

/// A session id good for a while: the one kept, or a new sign-in.
async fn session(
    client: &reqwest::Client,
    sign_in: &tokio::sync::Mutex<SignIn>,
    access: &SourceAccess,
    username: &str,
    password: &SecretString,
    refused: Option<&SecretString>,
) -> Result<SecretString, AccessError> {
    let mut state = sign_in.lock().await;
    let now = Instant::now();
    let made_with = fingerprint(&[
        access.source.base_url.as_str(),
        username,
        password.expose_secret(),
    ]);
    state.made_with(made_with);
    if let Some(refused) = refused {
        state.forget_if_kept(refused);
    }
    if let Some(id) = state.fresh_token(now) {
        return Ok(id);
    }
    if let Some(words) = state.remembered_failure(now) {
        return Err(AccessError::Source(words));
    }
    state.logins += 1;
    let url = address(&access.source, "/api/session")?;
    let body = json!({"username": username, "password": password.expose_secret()});
    let answer = async {
        let response = client
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!(
                "{} {}",
                status.as_u16(),
                source_words(response).await
            ));
        }
        let session: Value = response.json().await.map_err(|e| e.to_string())?;
        session["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "answered without a session id".to_owned())
    }
    .await;
    match answer {
        Ok(id) => {
            let id = SecretString::from(id);
            let answered = Instant::now();
            state.keep(id.clone(), answered, answered + SESSION_KEPT);
            state.succeeded();
            tracing::info!(source = %access.source.name, "signed in to Metabase");
            Ok(id)
        }
        Err(words) => {
            let words = format!("Metabase login: {words}");
            state.failed(words.clone(), Instant::now());
            Err(AccessError::Source(words))
        }
    }
}

/// `GET path` answered as JSON, signed in as reads are.
async fn get_json(
    client: &reqwest::Client,
    sessions: &Sessions,
    access: &SourceAccess,
    path: &str,
) -> Result<Value, AccessError> {
    let url = address(&access.source, path)?;
    signed(client, sessions, access, |credential| {
        let url = url.clone();
        async move {
            let response = credential.apply(client.get(url)).send().await?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                return Err(Refused::Unauthenticated(source_words(response).await));
            }
            if !status.is_success() {
                return Err(refused(status, &source_words(response).await).into());
            }
            response
                .json()
                .await
                .map_err(|e| AccessError::Source(format!("Metabase: {e}")).into())
        }
    })
    .await
}

/// How a Metabase question's display is best shown.
fn display_of(display: &str) -> herald_core::domain::report::Display {
    use herald_core::domain::report::Display;
    match display {
        "scalar" | "smartscalar" | "progress" | "gauge" => Display::Kpi,
        "table" | "pivot" | "object" => Display::Table,
        "line" | "area" => Display::Line,
        "bar" | "row" | "combo" => Display::Bar,
        _ => Display::Auto,
    }
}

/// Saved questions whose names contain `search`, at most 100.
pub(super) async fn list(
    client: &reqwest::Client,
    sessions: &Sessions,
    access: &SourceAccess,
    search: &str,
) -> Result<Vec<herald_core::ports::SourceChart>, AccessError> {
    let cards = get_json(client, sessions, access, "/api/card").await?;
    let search = search.trim().to_lowercase();
    Ok(cards
        .as_array()
        .map(|cards| {
            cards
                .iter()
                .filter(|c| {
                    c["name"]
                        .as_str()
                        .is_some_and(|n| n.to_lowercase().contains(&search))
                })
                .filter_map(|c| {
                    Some(herald_core::ports::SourceChart {
                        id: c["id"].as_u64()?,
                        name: c["name"].as_str().unwrap_or_default().to_owned(),
                        kind: c["display"].as_str().unwrap_or_default().to_owned(),
                    })
                })
                .take(100)
                .collect()
        })
        .unwrap_or_default())
}

/// A dashboard's cards as a draft page (`dashcards`, `ordered_cards` before Metabase 0.48).
pub(super) async fn import(
    client: &reqwest::Client,
    sessions: &Sessions,
    access: &SourceAccess,
    dashboard: &str,
) -> Result<herald_core::ports::DraftPage, AccessError> {
    let id: u64 = dashboard
        .trim()
        .parse()
        .map_err(|_| AccessError::Source("Metabase: a dashboard is named by its number".into()))?;
    let board = get_json(client, sessions, access, &format!("/api/dashboard/{id}")).await?;
    let cards = board["dashcards"]
        .as_array()
        .or_else(|| board["ordered_cards"].as_array())
        .cloned()
        .unwrap_or_default();
    let base = access.source.base_url.as_str().trim_end_matches('/');
    Ok(herald_core::ports::DraftPage {
        title: board["name"].as_str().unwrap_or_default().to_owned(),
        share_url: format!("{base}/dashboard/{id}"),
        charts: cards
            .iter()
            .filter_map(|dashcard| {
                let card = &dashcard["card"];
                Some(herald_core::ports::DraftChart {
                    name: card["name"].as_str()?.to_owned(),
                    query: SourceQuery::of_saved(SourceKind::Metabase, card["id"].as_u64()?)?,
                    display: display_of(card["display"].as_str().unwrap_or_default()),
                })
            })
            .collect(),
    })
}

/// Metabase's dataset as rows of objects keyed by column name; a failed query in its own words.
pub(crate) fn dataset_rows(body: &[u8]) -> Result<Vec<u8>, AccessError> {
    let answer: Value = serde_json::from_slice(body).map_err(AccessError::InvalidJson)?;
    if answer["status"] != "completed" {
        let words = answer["error"]
            .as_str()
            .unwrap_or("the query did not complete");
        return Err(AccessError::Source(format!("Metabase: {words}")));
    }
    let names: Vec<String> = answer
        .pointer("/data/cols")
        .and_then(Value::as_array)
        .map(|cols| {
            cols.iter()
                .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let rows: Vec<Value> = answer
        .pointer("/data/rows")
        .and_then(Value::as_array)
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let values = row.as_array().cloned().unwrap_or_default();
                    Value::Object(names.iter().cloned().zip(values).collect())
                })
                .collect()
        })
        .unwrap_or_default();
    serde_json::to_vec(&rows).map_err(|e| AccessError::Source(format!("Metabase rows: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn parameters_take_the_type_and_target_the_card_declares() {
        let card = json!({
            "parameters": [{"id": "a1", "type": "date/single", "slug": "day",
                            "target": ["variable", ["template-tag", "day"]]}],
            "dataset_query": {"native": {"template-tags": {
                "day": {"name": "day", "type": "date"},
                "region": {"name": "region", "type": "dimension", "widget-type": "string/="},
                "limit": {"name": "limit", "type": "number"}
            }}}
        });
        let query = MetabaseQuery {
            card: 42,
            parameters: BTreeMap::from([
                ("day".to_owned(), "2026-12-06".to_owned()),
                ("region".to_owned(), "华东".to_owned()),
                ("limit".to_owned(), "10".to_owned()),
            ]),
        };
        let sent = card_parameters(&card, &query).unwrap();
        assert_eq!(
            sent,
            vec![
                json!({"type": "date/single", "target": ["variable", ["template-tag", "day"]], "value": "2026-12-06"}),
                json!({"type": "number/=", "target": ["variable", ["template-tag", "limit"]], "value": "10"}),
                json!({"type": "string/=", "target": ["dimension", ["template-tag", "region"]], "value": "华东"}),
            ]
        );
        let unknown = MetabaseQuery {
            card: 42,
            parameters: BTreeMap::from([("nope".to_owned(), "1".to_owned())]),
        };
        assert!(
            card_parameters(&card, &unknown)
                .unwrap_err()
                .contains("no parameter 'nope'")
        );
    }

    #[test]
    fn a_dataset_becomes_rows_and_a_failed_query_its_error() {
        let body = json!({"status": "completed", "data": {
            "cols": [{"name": "region"}, {"name": "orders"}],
            "rows": [["华东", 12], ["华北", 7]]}});
        let rows: Value =
            serde_json::from_slice(&dataset_rows(body.to_string().as_bytes()).unwrap()).unwrap();
        assert_eq!(
            rows,
            json!([{"region": "华东", "orders": 12}, {"region": "华北", "orders": 7}])
        );
        let failed = json!({"status": "failed", "error": "Table \"ORDERS\" not found"});
        let err = dataset_rows(failed.to_string().as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "Metabase: Table \"ORDERS\" not found");
    }
}
