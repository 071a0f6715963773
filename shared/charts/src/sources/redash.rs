//! Redash: fresh results of a saved query. `POST /api/queries/{id}/results` with the parameters
//! and `max_age` answers a cached `query_result` or a `job`; the job is polled
//! (`GET /api/jobs/{id}`: 1 queued, 2 started, 6 deferred, 7 scheduled — ask again; 3 finished;
//! 4 failed, 5 cancelled) until it is done or the chart's time is up, and the result is read from
//! `GET /api/query_results/{id}` (rows at `/query_result/data/rows`). Signed with
//! `Authorization: Key <api key>`. Facts and sources: `shared/charts/SOURCES-NOTES.md`.
use super::{Answer, Shape, address, source_words};
use crate::access::AccessError;
use herald_core::domain::source::{RedashQuery, SourceAuth, SourceKind, SourceQuery};
use herald_core::ports::SourceAccess;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::time::Duration;

/// The most of a `POST …/results` answer read to find its result's id (a cached result comes
/// whole in it; the rows are then read again, within the chart budget, by id).
const RUN_ANSWER_MAX: usize = 1024 * 1024;
const FIRST_POLL: Duration = Duration::from_millis(200);
const LONGEST_POLL: Duration = Duration::from_secs(2);

fn words(text: &str) -> AccessError {
    AccessError::Source(format!("Redash: {text}"))
}

/// `response` if Redash answered a success status, else its words (`Redash: 404 Couldn't find…`).
async fn succeeded(response: reqwest::Response) -> Result<reqwest::Response, AccessError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let said = source_words(response).await;
    Err(words(&format!("{} {said}", status.as_u16())))
}

pub(super) async fn ask(
    client: &reqwest::Client,
    access: &SourceAccess,
    query: &RedashQuery,
) -> Result<Answer, AccessError> {
    if access.source.auth != SourceAuth::ApiKey {
        return Err(words(&format!(
            "a source cannot sign in with {}",
            access.source.auth.type_name()
        )));
    }
    let key = access
        .secret
        .as_ref()
        .ok_or_else(|| words("the source's API key is not set"))?;
    let authorization = format!("Key {}", key.expose_secret());
    let run = address(
        &access.source,
        &format!("/api/queries/{}/results", query.query),
    )?;
    let response = client
        .post(run)
        .header(reqwest::header::AUTHORIZATION, &authorization)
        .json(&json!({"parameters": query.parameters, "max_age": query.max_age.unwrap_or(0)}))
        .send()
        .await?;
    let mut response = succeeded(response).await?;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > RUN_ANSWER_MAX {
            return Err(words(
                "the cached result is larger than 1 MiB; set the chart's max_age to 0 to run the query",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let answer: Value = serde_json::from_slice(&body).map_err(AccessError::InvalidJson)?;
    let result_id = match answer.pointer("/query_result/id").and_then(Value::as_u64) {
        Some(id) => id,
        None => {
            let job = answer
                .pointer("/job/id")
                .and_then(Value::as_str)
                .ok_or_else(|| words("answered neither a result nor a job"))?;
            finished_job(client, access, &authorization, job).await?
        }
    };
    let result = address(&access.source, &format!("/api/query_results/{result_id}"))?;
    let response = client
        .get(result)
        .header(reqwest::header::AUTHORIZATION, &authorization)
        .send()
        .await?;
    let response = succeeded(response).await?;
    Ok(Answer {
        response,
        default_rows: "/query_result/data/rows",
        shape: Shape::Json,
    })
}

/// Polls the job until it is finished (its result's id) or failed (Redash's words); the chart's
/// own timeout bounds the wait.
async fn finished_job(
    client: &reqwest::Client,
    access: &SourceAccess,
    authorization: &str,
    job: &str,
) -> Result<u64, AccessError> {
    let url = address(&access.source, &format!("/api/jobs/{job}"))?;
    let mut pause = FIRST_POLL;
    loop {
        let response = client
            .get(url.clone())
            .header(reqwest::header::AUTHORIZATION, authorization)
            .send()
            .await?;
        let response = succeeded(response).await?;
        let answer: Value = response.json().await.map_err(|e| words(&e.to_string()))?;
        match answer.pointer("/job/status").and_then(Value::as_u64) {
            Some(3) => {
                return answer
                    .pointer("/job/query_result_id")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| words("a finished job without its result's id"));
            }
            Some(4) => {
                let said = answer
                    .pointer("/job/error")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                return Err(words(&format!("the query failed: {said}")));
            }
            Some(5) => return Err(words("the query was cancelled")),
            Some(1 | 2 | 6 | 7) => {}
            other => return Err(words(&format!("a job in an unknown state ({other:?})"))),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_POLL);
    }
}

/// `GET path` with the API key, answered as JSON.
async fn get_json(
    client: &reqwest::Client,
    access: &SourceAccess,
    path: &str,
) -> Result<Value, AccessError> {
    let key = access
        .secret
        .as_ref()
        .ok_or_else(|| words("the source's API key is not set"))?;
    let response = client
        .get(address(&access.source, path)?)
        .header(
            reqwest::header::AUTHORIZATION,
            format!("Key {}", key.expose_secret()),
        )
        .send()
        .await?;
    let response = succeeded(response).await?;
    response.json().await.map_err(|e| words(&e.to_string()))
}

/// Saved queries whose names contain `search`, at most 100.
pub(super) async fn list(
    client: &reqwest::Client,
    access: &SourceAccess,
    search: &str,
) -> Result<Vec<herald_core::ports::SourceChart>, AccessError> {
    let q: String = url::form_urlencoded::byte_serialize(search.trim().as_bytes()).collect();
    let answer = get_json(
        client,
        access,
        &format!("/api/queries?q={q}&page=1&page_size=100"),
    )
    .await?;
    Ok(answer["results"]
        .as_array()
        .map(|queries| {
            queries
                .iter()
                .filter_map(|q| {
                    Some(herald_core::ports::SourceChart {
                        id: q["id"].as_u64()?,
                        name: q["name"].as_str().unwrap_or_default().to_owned(),
                        kind: "query".to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

/// A dashboard's widgets' queries as a draft page (by id since Redash 10, by slug before).
pub(super) async fn import(
    client: &reqwest::Client,
    access: &SourceAccess,
    dashboard: &str,
) -> Result<herald_core::ports::DraftPage, AccessError> {
    use herald_core::domain::report::Display;
    let named: String = url::form_urlencoded::byte_serialize(dashboard.trim().as_bytes()).collect();
    let board = get_json(client, access, &format!("/api/dashboards/{named}")).await?;
    let base = access.source.base_url.as_str().trim_end_matches('/');
    let slug = board["slug"].as_str().unwrap_or(dashboard);
    Ok(herald_core::ports::DraftPage {
        title: board["name"].as_str().unwrap_or_default().to_owned(),
        share_url: format!("{base}/dashboards/{slug}"),
        charts: board["widgets"]
            .as_array()
            .map(|widgets| {
                widgets
                    .iter()
                    .filter_map(|w| {
                        let visualization = &w["visualization"];
                        let query = &visualization["query"];
                        Some(herald_core::ports::DraftChart {
                            name: query["name"].as_str()?.to_owned(),
                            query: SourceQuery::of_saved(
                                SourceKind::Redash,
                                query["id"].as_u64()?,
                            )?,
                            display: match visualization["type"].as_str().unwrap_or_default() {
                                "COUNTER" => Display::Kpi,
                                "TABLE" => Display::Table,
                                _ => Display::Auto,
                            },
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}
