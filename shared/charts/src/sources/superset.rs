//! Apache Superset: a saved chart's data (`GET /api/v1/chart/{id}/data/?format=json`, rows at
//! `/result/0/data`), signed in with a JWT from `/api/v1/security/login`, refreshed before it
//! expires with the refresh token, and signed in again when Superset refuses it.
use super::session::{Sessions, SignIn, fingerprint, jwt_expiry};
use super::{Answer, address, source_words};
use crate::access::AccessError;
use herald_core::domain::source::{SourceAuth, SourceKind, SourceQuery, SupersetQuery};
use herald_core::ports::SourceAccess;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::time::Instant;

/// A token that says nothing of its expiry is used this long (Superset's default is 15 minutes).
const ASSUMED_LIFETIME: std::time::Duration = std::time::Duration::from_secs(10 * 60);

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
}

fn refused(status: StatusCode, words: &str) -> AccessError {
    AccessError::Source(format!("Superset: {} {words}", status.as_u16()))
}

pub(super) async fn ask(
    client: &reqwest::Client,
    sessions: &Sessions,
    access: &SourceAccess,
    query: &SupersetQuery,
) -> Result<Answer, AccessError> {
    let path = format!("/api/v1/chart/{}/data/?format=json", query.chart);
    let response = signed_get(client, sessions, access, &path).await?;
    Ok(Answer {
        response,
        default_rows: "/result/0/data",
        shape: super::Shape::Json,
    })
}

/// `GET path` signed in (a refused token is replaced once), answered with a success status.
async fn signed_get(
    client: &reqwest::Client,
    sessions: &Sessions,
    access: &SourceAccess,
    path: &str,
) -> Result<reqwest::Response, AccessError> {
    let url = address(&access.source, path)?;
    let secret = access
        .secret
        .as_ref()
        .ok_or_else(|| AccessError::Source("Superset: the source's secret is not set".into()))?;
    // No Content-Type on a GET without a body: Superset answers 400 to one.
    let get = |token: &str| {
        client
            .get(url.clone())
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
    };
    let response = match &access.source.auth {
        SourceAuth::Bearer => get(secret.expose_secret()).await?,
        SourceAuth::Login { username, provider } => {
            let provider = provider.as_deref().unwrap_or("db");
            let sign_in = sessions.of(access.source.name.as_str());
            let token =
                signed_in(client, &sign_in, access, username, provider, secret, None).await?;
            let response = get(token.expose_secret()).await?;
            if response.status() == StatusCode::UNAUTHORIZED {
                // Expired early, revoked, or Superset restarted with a new key: sign in afresh
                // (once for all the charts refused together).
                let words = source_words(response).await;
                tracing::info!(source = %access.source.name, %words, "Superset refused the token: signing in again");
                let token = signed_in(
                    client,
                    &sign_in,
                    access,
                    username,
                    provider,
                    secret,
                    Some(&token),
                )
                .await?;
                get(token.expose_secret()).await?
            } else {
                response
            }
        }
        other => {
            return Err(AccessError::Source(format!(
                "Superset: a source cannot sign in with {}",
                other.type_name()
            )));
        }
    };
    let status = response.status();
    if !status.is_success() {
        return Err(refused(status, &source_words(response).await));
    }
    Ok(response)
}

/// A token good for a while: the one kept, a refreshed one, or a new login. `refused` is a token
/// Superset just refused.
async fn signed_in(
    client: &reqwest::Client,
    sign_in: &tokio::sync::Mutex<SignIn>,
    access: &SourceAccess,
    username: &str,
    provider: &str,
    password: &SecretString,
    refused: Option<&SecretString>,
) -> Result<SecretString, AccessError> {
    let mut state = sign_in.lock().await;
    let now = Instant::now();
    let made_with = fingerprint(&[
        access.source.base_url.as_str(),
        username,
        provider,
        password.expose_secret(),
    ]);
    state.made_with(made_with);
    if let Some(refused) = refused {
        state.forget_if_kept(refused);
    }
    if let Some(token) = state.fresh_token(now) {
        return Ok(token);
    }
    if let Some(words) = state.remembered_failure(now) {
        return Err(AccessError::Source(words));
    }
    if refused.is_none()
        && let Some(refresh) = state.refresh.clone()
    {
        state.refreshes += 1;
        match refreshed(client, access, &refresh).await {
            Ok(token) => {
                let expires = jwt_expiry(&token, now).unwrap_or(now + ASSUMED_LIFETIME);
                let token = SecretString::from(token);
                state.keep(token.clone(), now, expires);
                state.succeeded();
                return Ok(token);
            }
            Err(words) => {
                tracing::info!(source = %access.source.name, %words, "Superset refresh refused: signing in again");
                state.refresh = None;
            }
        }
    }
    let login = address(&access.source, "/api/v1/security/login")?;
    let body = serde_json::json!({
        "username": username,
        "password": password.expose_secret(),
        "provider": provider,
        "refresh": true,
    });
    state.logins += 1;
    let response = match client.post(login).json(&body).send().await {
        Ok(response) => response,
        Err(err) => {
            let err = AccessError::from(err);
            state.failed(format!("Superset login: {err}"), Instant::now());
            return Err(err);
        }
    };
    let status = response.status();
    if !status.is_success() {
        let words = format!(
            "Superset login: {} {}",
            status.as_u16(),
            source_words(response).await
        );
        state.failed(words.clone(), Instant::now());
        return Err(AccessError::Source(words));
    }
    let tokens: Tokens = match response.json().await {
        Ok(tokens) => tokens,
        Err(err) => {
            let words = format!("Superset login answered without tokens: {err}");
            state.failed(words.clone(), Instant::now());
            return Err(AccessError::Source(words));
        }
    };
    let answered = Instant::now();
    let expires = jwt_expiry(&tokens.access_token, answered).unwrap_or(answered + ASSUMED_LIFETIME);
    let token = SecretString::from(tokens.access_token);
    state.keep(token.clone(), answered, expires);
    state.refresh = tokens.refresh_token.map(SecretString::from);
    state.succeeded();
    tracing::info!(source = %access.source.name, "signed in to Superset");
    Ok(token)
}

/// A new access token from the refresh token (Superset answers only `access_token`).
async fn refreshed(
    client: &reqwest::Client,
    access: &SourceAccess,
    refresh: &SecretString,
) -> Result<String, String> {
    let url = address(&access.source, "/api/v1/security/refresh").map_err(|e| e.to_string())?;
    let response = client
        .post(url)
        .bearer_auth(refresh.expose_secret())
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
    response
        .json::<Tokens>()
        .await
        .map(|t| t.access_token)
        .map_err(|e| e.to_string())
}

/// `GET path` answered as JSON, signed in as chart reads are.
pub(super) async fn get_json(
    client: &reqwest::Client,
    sessions: &Sessions,
    access: &SourceAccess,
    path: &str,
) -> Result<serde_json::Value, AccessError> {
    signed_get(client, sessions, access, path)
        .await?
        .json()
        .await
        .map_err(|e| AccessError::Source(format!("Superset: {e}")))
}

/// A rison string (`'…'`, with `!` and `'` escaped by `!`), for Superset's `q` parameter.
fn rison_string(text: &str) -> String {
    format!("'{}'", text.replace('!', "!!").replace('\'', "!'"))
}

/// Saved charts whose names contain `search` (case-insensitive), at most 100.
pub(super) async fn list(
    client: &reqwest::Client,
    sessions: &Sessions,
    access: &SourceAccess,
    search: &str,
) -> Result<Vec<herald_core::ports::SourceChart>, AccessError> {
    let filter = if search.trim().is_empty() {
        String::new()
    } else {
        format!(
            "filters:!((col:slice_name,opr:ct,value:{})),",
            rison_string(search.trim())
        )
    };
    let q = format!(
        "({filter}columns:!(id,slice_name,viz_type),order_column:slice_name,order_direction:asc,page:0,page_size:100)"
    );
    let encoded: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let answer = get_json(
        client,
        sessions,
        access,
        &format!("/api/v1/chart/?q={encoded}"),
    )
    .await?;
    Ok(answer["result"]
        .as_array()
        .map(|charts| {
            charts
                .iter()
                .filter_map(|c| {
                    Some(herald_core::ports::SourceChart {
                        id: c["id"].as_u64()?,
                        name: c["slice_name"].as_str().unwrap_or_default().to_owned(),
                        kind: c["viz_type"].as_str().unwrap_or_default().to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

/// How a Superset chart type is best shown.
pub(super) fn display_of(viz_type: &str) -> herald_core::domain::report::Display {
    use herald_core::domain::report::Display;
    match viz_type {
        "big_number_total" | "big_number" => Display::Kpi,
        "table" | "pivot_table_v2" | "pivot_table" => Display::Table,
        v if v.contains("line")
            || v.contains("area")
            || v.contains("timeseries") && !v.contains("bar") =>
        {
            Display::Line
        }
        v if v.contains("bar") => Display::Bar,
        _ => Display::Auto,
    }
}

/// A dashboard (id or slug) as a draft page: its title, address and charts.
pub(super) async fn import(
    client: &reqwest::Client,
    sessions: &Sessions,
    access: &SourceAccess,
    dashboard: &str,
) -> Result<herald_core::ports::DraftPage, AccessError> {
    let encoded: String = url::form_urlencoded::byte_serialize(dashboard.as_bytes()).collect();
    let board = get_json(
        client,
        sessions,
        access,
        &format!("/api/v1/dashboard/{encoded}"),
    )
    .await?;
    let charts = get_json(
        client,
        sessions,
        access,
        &format!("/api/v1/dashboard/{encoded}/charts"),
    )
    .await?;
    let base = access.source.base_url.as_str().trim_end_matches('/');
    let title = board
        .pointer("/result/dashboard_title")
        .and_then(|t| t.as_str())
        .unwrap_or(dashboard);
    let url = board
        .pointer("/result/url")
        .and_then(|u| u.as_str())
        .unwrap_or("");
    Ok(herald_core::ports::DraftPage {
        title: title.to_owned(),
        share_url: format!("{base}{url}"),
        charts: charts["result"]
            .as_array()
            .map(|charts| {
                charts
                    .iter()
                    .filter_map(|c| {
                        let id = c["id"].as_u64().or_else(|| c["slice_id"].as_u64())?;
                        let viz = c
                            .pointer("/form_data/viz_type")
                            .and_then(|v| v.as_str())
                            .unwrap_or("");
                        Some(herald_core::ports::DraftChart {
                            name: c["slice_name"].as_str().unwrap_or_default().to_owned(),
                            query: SourceQuery::of_saved(SourceKind::Superset, id)?,
                            display: display_of(viz),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}
