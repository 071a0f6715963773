//! Report sources: admin writes, members read what their project may use, tests read once.
use crate::AppState;
use crate::dto::sources::{SourceBody, SourceList, SourceView};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, RawBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use herald_core::domain::auth::Principal;
use herald_core::domain::run::ChartState;
use herald_core::domain::source::{SourceName, SourceQuery};
use herald_core::domain::text::RowsPointer;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The name of a source to create: a bad one is named as the field at fault.
fn new_source_name(raw: &str) -> Result<SourceName, ApiError> {
    SourceName::parse(raw).map_err(|m| ApiError::invalid("source", m))
}

/// The name of a source to read, test or delete: one that cannot be a name names no source.
fn source_name(raw: &str) -> Result<SourceName, ApiError> {
    SourceName::parse(raw).map_err(|_| ApiError::not_found("source"))
}

/// Creates or replaces a source (admin).
#[utoipa::path(put, path = "/v1/sources/{source}", tag = "sources", request_body = SourceBody,
    params(("source" = String, Path, description = "1-40 of a-z, 0-9 and -")),
    responses((status = 200, body = SourceView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_source(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(source): Path<String>,
    body: RawBody,
) -> Result<Json<SourceView>, ApiError> {
    who.check_admin()?;
    let name = new_source_name(&source)?;
    let (source, secret) = body.json::<SourceBody>()?.parse(name)?;
    let viewed = state.sources.put(&who, source, secret).await?;
    Ok(Json(SourceView::of(&viewed, true)))
}

/// One source: an admin sees how it signs in (secrets as "set"); a member only what it is.
#[utoipa::path(get, path = "/v1/sources/{source}", tag = "sources", params(("source" = String, Path)),
    responses((status = 200, body = SourceView), (status = 404, body = ErrorBody)))]
async fn get_source(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(source): Path<String>,
) -> Result<Json<SourceView>, ApiError> {
    let name = source_name(&source)?;
    let viewed = state.sources.get(&who, &name).await?;
    Ok(Json(SourceView::of(&viewed, who == Principal::Admin)))
}

/// The sources the caller may see.
#[utoipa::path(get, path = "/v1/sources", tag = "sources",
    responses((status = 200, body = SourceList), (status = 401, body = ErrorBody)))]
async fn list_sources(
    State(state): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<SourceList>, ApiError> {
    let admin = who == Principal::Admin;
    let items = state
        .sources
        .list(&who)
        .await?
        .iter()
        .map(|v| SourceView::of(v, admin))
        .collect();
    Ok(Json(SourceList { items }))
}

/// Deletes a source no task uses (409 naming the tasks that do).
#[utoipa::path(delete, path = "/v1/sources/{source}", tag = "sources", params(("source" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_source(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(source): Path<String>,
) -> Result<StatusCode, ApiError> {
    who.check_admin()?;
    let name = source_name(&source)?;
    state.sources.delete(&who, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What to read in a test.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TestBody {
    /// As a chart's `query`.
    #[schema(value_type = Object)]
    query: serde_json::Value,
    /// A JSON Pointer to the rows (default: where the source keeps them).
    #[serde(default)]
    rows: String,
}

/// What a test read found.
#[derive(Debug, Serialize, ToSchema)]
struct TestAnswer {
    ok: bool,
    /// `ok`, `empty` or `access_error`.
    status: &'static str,
    took_ms: u64,
    /// The first rows (up to 5) as objects.
    #[schema(value_type = Vec<Object>)]
    rows: Vec<serde_json::Value>,
    row_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Reads once from the source now and shows the first rows (an admin, or an editor whose project
/// may use the source).
#[utoipa::path(post, path = "/v1/sources/{source}/test", tag = "sources", request_body = TestBody,
    params(("source" = String, Path)),
    responses((status = 200, body = TestAnswer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn test_source(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(source): Path<String>,
    body: RawBody,
) -> Result<Json<TestAnswer>, ApiError> {
    let name = source_name(&source)?;
    state.sources.authorize_use(&who, &name).await?;
    let body: TestBody = body.json()?;
    let query = SourceQuery::parse(&body.query).map_err(|m| ApiError::invalid("query", m))?;
    let rows = RowsPointer::parse(body.rows).map_err(|m| ApiError::invalid("rows", m))?;
    let tested = state.sources.test(&who, &name, query, rows).await?;
    let reading = tested.reading;
    let (status, error, row_count) = match &reading.check.state {
        ChartState::Ok { rows } => ("ok", None, *rows),
        ChartState::Empty => ("empty", None, 0),
        ChartState::AccessError { reason } => ("access_error", Some(reason.clone()), 0),
        ChartState::ShapeError { field, reason } => {
            ("access_error", Some(format!("{field}: {reason}")), 0)
        }
    };
    let rows = reading
        .rows
        .map(|read| {
            read.head
                .iter()
                .take(5)
                .map(|row| {
                    let object: serde_json::Map<String, serde_json::Value> = read
                        .keys
                        .iter()
                        .zip(row)
                        .map(|(k, cell)| {
                            (k.clone(), serde_json::to_value(cell).unwrap_or_default())
                        })
                        .collect();
                    serde_json::Value::Object(object)
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(TestAnswer {
        ok: error.is_none(),
        status,
        took_ms: reading.check.elapsed_ms,
        rows,
        row_count,
        error,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ChartsQuery {
    /// Part of a name (case-insensitive); empty: all.
    #[serde(default)]
    search: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct SourceChartView {
    id: u64,
    name: String,
    /// The BI's own kind of chart.
    kind: String,
    /// What a task's chart gives as its `query` to read this one.
    #[schema(value_type = Object)]
    query: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
struct SourceChartList {
    items: Vec<SourceChartView>,
}

/// What the BI holds that a chart can read: Superset charts, Metabase questions, Redash queries
/// (an admin, or an editor whose project may use the source).
#[utoipa::path(get, path = "/v1/sources/{source}/charts", tag = "sources",
    params(("source" = String, Path), ChartsQuery),
    responses((status = 200, body = SourceChartList), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 502, body = ErrorBody, description = "the source did not answer (its words): try again"), (status = 503, body = ErrorBody)))]
async fn list_source_charts(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(source): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<SourceChartList>, ApiError> {
    let name = source_name(&source)?;
    state.sources.authorize_use(&who, &name).await?;
    let query: ChartsQuery = crate::extract::parse_query(query.as_deref())?;
    let items = state
        .sources
        .list_charts(&who, &name, &query.search)
        .await?
        .into_iter()
        .map(|c| SourceChartView {
            id: c.chart.id,
            name: c.chart.name,
            kind: c.chart.kind,
            query: serde_json::to_value(&c.query).unwrap_or_default(),
        })
        .collect();
    Ok(Json(SourceChartList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    /// The dashboard's id (or Superset's and old Redash's slug).
    dashboard: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct ImportAnswer {
    /// A draft `page` for a task body: title, share link, a chart per BI chart.
    #[schema(value_type = Object)]
    page: serde_json::Value,
}

/// A BI dashboard's charts as a draft page to paste into a task.
#[utoipa::path(post, path = "/v1/sources/{source}/import", tag = "sources", request_body = ImportBody,
    params(("source" = String, Path)),
    responses((status = 200, body = ImportAnswer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "the source refused: its words, at `dashboard` or `source`"),
              (status = 502, body = ErrorBody, description = "the source did not answer (its words): try again"), (status = 503, body = ErrorBody)))]
async fn import_dashboard(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(source): Path<String>,
    body: RawBody,
) -> Result<Json<ImportAnswer>, ApiError> {
    let name = source_name(&source)?;
    state.sources.authorize_use(&who, &name).await?;
    let body: ImportBody = body.json()?;
    if body.dashboard.trim().is_empty() {
        return Err(ApiError::invalid(
            "dashboard",
            "is required: the dashboard's id",
        ));
    }
    let page = state.sources.import(&who, &name, &body.dashboard).await?;
    let charts: Vec<serde_json::Value> = page
        .charts
        .iter()
        .map(|c| {
            serde_json::json!({"name": c.name, "source": name.as_str(),
                               "query": serde_json::to_value(&c.query).unwrap_or_default(),
                               "display": c.display.as_str()})
        })
        .collect();
    Ok(Json(ImportAnswer {
        page: serde_json::json!({"title": page.title, "share_url": page.share_url, "charts": charts}),
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_source, get_source, delete_source))
        .routes(routes!(list_sources))
        .routes(routes!(test_source))
        .routes(routes!(list_source_charts))
        .routes(routes!(import_dashboard))
}
