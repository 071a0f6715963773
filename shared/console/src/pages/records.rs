//! Push records: the filtered list, one record's details and logs, and its pictures.
use super::{failure, seg};
use crate::Console;
use crate::session::Signed;
use crate::view;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::response::Response;
use serde_json::json;

/// The filters the list passes on to the API (which checks them and names a bad one).
const FILTERS: [&str; 6] = ["task", "outcome", "kind", "from", "to", "cursor"];

/// A time from a `datetime-local` input (`2026-12-01T09:00`, which has no zone) as RFC 3339:
/// the page's script sends the viewer's offset; without it, the time is taken as UTC.
fn with_offset(raw: &str) -> String {
    let raw = raw.trim();
    match chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
    {
        Ok(naive) => naive.and_utc().to_rfc3339(),
        Err(_) => raw.to_owned(),
    }
}

pub(crate) async fn list(
    State(console): State<Console>,
    signed: Signed,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .filter(|(k, v)| FILTERS.contains(&k.as_str()) && !v.trim().is_empty())
            .map(|(k, v)| match k.as_str() {
                "from" | "to" => (k, with_offset(&v)),
                _ => (k, v),
            })
            .collect();
    // (The serializer is not `Send`: it must be gone before the await.)
    let api_query = {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", "50");
        for (key, value) in &pairs {
            query.append_pair(key, value.trim());
        }
        query.finish()
    };
    let path = format!("/v1/projects/{}/records?{api_query}", seg(&project));
    let filters: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .filter(|(k, _)| k != "cursor")
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    let (page, error) = match console.get(&signed.open.principal, &path).await {
        Ok(page) => (page, None),
        // A bad filter shows at its field, with the list empty.
        Err(err) if err.field.is_some() => (serde_json::json!({"items": []}), Some(err)),
        Err(err) => return failure(&signed, err),
    };
    let mut next = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in &filters {
        next.append_pair(key, value.as_str().unwrap_or_default());
    }
    view::page(
        &signed,
        "records.html",
        json!({
            "project": project,
            "items": page["items"],
            "next_cursor": page["next_cursor"].as_str(),
            "next_query": next.finish(),
            "filters": filters,
            "error": error,
        }),
    )
}

#[derive(serde::Deserialize)]
pub(crate) struct DetailQuery {
    flash: Option<String>,
}

pub(crate) async fn detail(
    State(console): State<Console>,
    signed: Signed,
    Path((project, run)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<DetailQuery>,
) -> Response {
    let who = &signed.open.principal;
    let path = format!("/v1/projects/{}/records/{}", seg(&project), seg(&run));
    let logs_path = format!("{path}/logs");
    let (record, logs) = futures::join!(console.get(who, &path), console.get(who, &logs_path));
    let mut record = match record {
        Ok(record) => record,
        Err(err) => return failure(&signed, err),
    };
    let mut images = record["images"].take();
    crate::pictures::show(&project, &mut images, vec![&mut record["message"]["body"]]);
    record["images"] = images;
    let mut attachments = record["attachments"].take();
    crate::pictures::show(&project, &mut attachments, Vec::new());
    record["attachments"] = attachments;
    let message = record["message"]["body"].clone();
    view::page(
        &signed,
        "record.html",
        json!({
            "project": project,
            "record": record,
            "message_json": serde_json::to_string_pretty(&message).unwrap_or_default(),
            "logs": logs.map(|l| l["items"].clone()).unwrap_or_default(),
            "flash": q.flash,
        }),
    )
}

/// A record's or a preview's picture, read from the API as the signed-in caller.
pub(crate) async fn file(
    State(console): State<Console>,
    signed: Signed,
    Path((project, rest)): Path<(String, String)>,
) -> Response {
    let rest: Vec<String> = rest.split('/').map(seg).collect();
    let path = format!("/v1/projects/{}/{}", seg(&project), rest.join("/"));
    console
        .raw(&signed.open.principal, Method::GET, &path, None)
        .await
}
