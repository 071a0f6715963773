//! The task form's report sources, so nobody types ids or JSON: the sources a project may use
//! (offered as each chart's source), what a source holds (offered as a chart's query: as JSON for
//! the script when a source is chosen, and in the form itself when it asks without the script), and
//! a BI dashboard imported as the form's page.
use super::seg;
use super::tasks::{Form, form_page, refused};
use crate::Console;
use crate::api::Failure;
use crate::session::{Signed, SignedForm};
use crate::task_form::task_body;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald_core::domain::auth::Principal;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// What `source` holds whose name has `search` in it, as the form offers it: `[{name, kind,
/// query}]`, the query as the JSON text a chart's query field takes.
async fn catalog_of(
    console: &Console,
    who: &Principal,
    source: &str,
    search: &str,
) -> Result<Vec<Value>, Failure> {
    let search: String = url::form_urlencoded::byte_serialize(search.as_bytes()).collect();
    let path = format!("/v1/sources/{}/charts?search={search}", seg(source));
    let listed = console.get(who, &path).await?;
    Ok(listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|chart| {
            json!({"name": chart["name"], "kind": chart["kind"], "query": chart["query"].to_string()})
        })
        .collect())
}

/// What the form holds as a task body, and the task's id when it edits one.
fn typed(form: &SignedForm) -> (Value, Option<String>) {
    let id = Some(form.value("id")).filter(|id| !id.is_empty());
    (task_body(&form.fields), id)
}

/// A failure about something the form names, shown at `field` (a source that does not exist is
/// the form's mistake there, not a page that is missing).
fn at_field(mut err: Failure, field: String) -> Failure {
    if err.status == StatusCode::NOT_FOUND {
        err.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    err.field = Some(field);
    err
}

#[derive(Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    search: String,
}

/// For the script: what a source holds, `{"items": [{name, kind, query}]}` or `{"error": {…}}`.
pub(crate) async fn charts(
    State(console): State<Console>,
    signed: Signed,
    Path((project, source)): Path<(String, String)>,
    Query(q): Query<SearchQuery>,
) -> Response {
    if let Some(refused) = super::guard::write_refused(&signed, &project) {
        return refused;
    }
    match catalog_of(&console, &signed.open.principal, &source, &q.search).await {
        Ok(items) => Json(json!({"items": items})).into_response(),
        Err(err) => (
            err.status,
            Json(json!({"error": {"message": err.message, "field": err.field}})),
        )
            .into_response(),
    }
}

/// Without the script: the form again, each source its charts name offering what it holds.
pub(crate) async fn find_charts(
    State(console): State<Console>,
    Path(project): Path<String>,
    form: SignedForm,
) -> Response {
    if let Some(refused) = super::guard::write_refused(&form.signed, &project) {
        return refused;
    }
    let (body, id) = typed(&form);
    let who = &form.signed.open.principal;
    let mut catalog = Map::new();
    let mut problem = None;
    let charts = body["page"]["charts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, chart) in charts.iter().enumerate() {
        let Some(source) = chart["source"].as_str().filter(|s| !s.is_empty()) else {
            continue;
        };
        if catalog.contains_key(source) {
            continue;
        }
        match catalog_of(&console, who, source, "").await {
            Ok(items) => {
                catalog.insert(source.to_owned(), Value::Array(items));
            }
            Err(err) => {
                problem.get_or_insert(at_field(err, format!("page.charts[{i}].source")));
            }
        }
    }
    let shown = Form {
        catalog: Value::Object(catalog),
        ..Form::new(&project, id.as_deref(), body)
    };
    match problem {
        Some(err) => refused(&console, &form.signed, shown, err).await,
        None => form_page(&console, &form.signed, shown, StatusCode::OK).await,
    }
}

/// "Import dashboard": the dashboard's charts join the form's page (its title and link where the
/// form has none); nothing is saved until the form is.
pub(crate) async fn import(
    State(console): State<Console>,
    Path(project): Path<String>,
    form: SignedForm,
) -> Response {
    if let Some(refused) = super::guard::write_refused(&form.signed, &project) {
        return refused;
    }
    let (mut body, id) = typed(&form);
    let who = &form.signed.open.principal;
    let source = form.value("import.source").trim().to_owned();
    let dashboard = form.value("import.dashboard").trim().to_owned();
    let answer = if source.is_empty() {
        Err(Failure {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_argument".into(),
            message: "choose the source the dashboard is in".into(),
            field: None,
        })
    } else {
        let path = format!("/v1/sources/{}/import", seg(&source));
        console
            .post(who, &path, &json!({"dashboard": dashboard}))
            .await
    };
    let draft = match answer {
        Ok(answer) => answer["page"].clone(),
        Err(err) => {
            let field = match err.field.as_deref() {
                Some("dashboard") => "import.dashboard",
                _ => "import.source",
            };
            let err = at_field(err, field.to_owned());
            let shown = Form::new(&project, id.as_deref(), body);
            return refused(&console, &form.signed, shown, err).await;
        }
    };
    let imported = add_draft(&mut body["page"], &draft);
    let catalog = match catalog_of(&console, who, &source, "").await {
        Ok(items) => json!({ source.clone(): items }),
        Err(_) => Value::Null,
    };
    let shown = Form {
        catalog,
        note: Some(json!({"imported": imported, "dashboard": dashboard, "source": source})),
        ..Form::new(&project, id.as_deref(), body)
    };
    form_page(&console, &form.signed, shown, StatusCode::OK).await
}

/// Adds a draft page's charts after the form's own (the empty ones dropped), and its title and
/// link where the form has none; answers how many charts it added.
fn add_draft(page: &mut Value, draft: &Value) -> usize {
    for key in ["title", "share_url"] {
        let empty = page[key].as_str().is_none_or(|v| v.trim().is_empty());
        if empty && draft[key].is_string() {
            page[key] = draft[key].clone();
        }
    }
    let added = draft["charts"].as_array().cloned().unwrap_or_default();
    let count = added.len();
    let mut charts: Vec<Value> = page["charts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|chart| chart.as_object().is_some_and(|c| !c.is_empty()))
        .collect();
    charts.extend(added);
    page["charts"] = Value::Array(charts);
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_fills_what_the_form_lacks_and_adds_its_charts_after_the_forms() {
        let mut page =
            json!({"title": "", "share_url": "https://bi/mine", "charts": [{"name": "kept"}]});
        let draft = json!({"title": "Sales", "share_url": "https://bi/d/3",
                           "charts": [{"name": "GMV", "source": "bi", "query": {"card": 42}}]});
        assert_eq!(add_draft(&mut page, &draft), 1);
        assert_eq!(page["title"], "Sales");
        assert_eq!(page["share_url"], "https://bi/mine");
        let names: Vec<&str> = page["charts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["kept", "GMV"]);
    }
}
