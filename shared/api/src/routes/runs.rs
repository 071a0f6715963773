//! Test and manual pushes, and the push records with their logs.
use crate::AppState;
use crate::dto::runs::{LogList, RecordDetail, RecordList, RecordQuery, RecordSummary, log_lines};
use crate::dto::tasks::ConfirmBody;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, RawBody, parse_query, project_id, task_id};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use herald_core::domain::run::OutcomeName;
use herald_core::domain::run::{RunId, RunKind};
use herald_core::ports::RunFilter;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn run_id(raw: &str) -> Result<RunId, ApiError> {
    RunId::parse(raw).map_err(|_| ApiError::not_found("record"))
}

fn time(field: &str, raw: &Option<String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.as_deref()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|d| d.to_utc())
                .map_err(|_| {
                    ApiError::invalid(
                        field,
                        "must be an RFC 3339 time such as 2026-12-01T00:00:00+08:00",
                    )
                })
        })
        .transpose()
}

/// Pushes the task to its owner only and answers the run with the providers' answers (200); when
/// they take longer than 25 s, answers the run still `sending` (202): poll its record.
#[utoipa::path(post, path = "/v1/projects/{project}/tasks/{task}/test", tag = "runs",
    params(("project" = String, Path), ("task" = String, Path)),
    responses((status = 200, body = RecordDetail), (status = 202, body = RecordDetail, description = "still sending: poll the record"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn test_push(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, task)): Path<(String, String)>,
) -> Result<TestAnswer, ApiError> {
    let project = project_id(&project)?;
    let run = state
        .pushes
        .test_push(&who, &project, &task_id(&task)?)
        .await?;
    test_answer(&state, &who, &project, &run.id).await
}

/// What a test push answers: the record, 200 when final, else 202 with where to poll it.
type TestAnswer = (StatusCode, [(header::HeaderName, String); 1], Response);

/// A record's view as `who` may see it: contact identities replaced by the contacts' names
/// unless `who` may read the contacts directory.
async fn shown(
    state: &AppState,
    who: &herald_core::domain::auth::Principal,
    deliveries: &[herald_core::domain::delivery::Delivery],
    view: impl serde::Serialize,
) -> Result<Response, ApiError> {
    let redaction = state.records.redaction_for(who, deliveries).await?;
    if redaction.is_empty() {
        return Ok(Json(view).into_response());
    }
    let value = crate::dto::runs::redacted(&view, &redaction).map_err(ApiError::internal)?;
    Ok(Json(value).into_response())
}

async fn test_answer(
    state: &AppState,
    who: &herald_core::domain::auth::Principal,
    project: &herald_core::domain::ids::ProjectId,
    run: &RunId,
) -> Result<TestAnswer, ApiError> {
    let (run, deliveries) = state.records.record(who, project, run).await?;
    let status = if run.outcome.is_final() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let location = format!("/v1/projects/{project}/records/{}", run.id);
    let view = shown(
        state,
        who,
        &deliveries,
        RecordDetail::new(&run, &deliveries),
    )
    .await?;
    Ok((status, [(header::LOCATION, location)], view))
}

/// Sends an unsaved task body to its owner now (a form's "Test" before saving), as a test run.
#[utoipa::path(post, path = "/v1/projects/{project}/test", tag = "runs", request_body = crate::dto::tasks::TaskBody,
    params(("project" = String, Path)),
    responses((status = 200, body = RecordDetail), (status = 202, body = RecordDetail, description = "still sending: poll the record"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn test_draft(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(project): Path<String>,
    body: RawBody,
) -> Result<TestAnswer, ApiError> {
    let project = project_id(&project)?;
    who.check_write(&project)?;
    let body: crate::dto::tasks::TaskBody = body.json()?;
    let now = state.tasks.now();
    let parsed = body.parse(move |tz| now.with_timezone(&tz).date_naive())?;
    let run = state.pushes.test_draft(&who, &project, parsed.spec).await?;
    test_answer(&state, &who, &project, &run.id).await
}

/// Pushes now to the task's recipients (bypassing its schedule and state); needs `{"confirm": true}`.
#[utoipa::path(post, path = "/v1/projects/{project}/tasks/{task}/push", tag = "runs", request_body = ConfirmBody,
    params(("project" = String, Path), ("task" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters: the same key again (within a day) answers the same run instead of pushing twice")),
    responses((status = 202, body = RecordDetail), (status = 409, body = ErrorBody, description = "a push with this Idempotency-Key is still being prepared"),
              (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn manual_push(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, task)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: RawBody,
) -> Result<(StatusCode, Response), ApiError> {
    let project = project_id(&project)?;
    who.check_write(&project)?;
    let key = headers
        .get("idempotency-key")
        .map(|value| {
            let text = value.to_str().unwrap_or("\u{0}");
            herald_core::domain::run::RequestKey::parse(text)
                .map_err(|m| ApiError::invalid("Idempotency-Key", m))
        })
        .transpose()?;
    let confirm = body.json_or_default::<ConfirmBody>()?.confirm;
    let run = state
        .pushes
        .manual_push(&who, &project, &task_id(&task)?, confirm, key.as_ref())
        .await?;
    let (run, deliveries) = state.records.record(&who, &project, &run.id).await?;
    let view = shown(
        &state,
        &who,
        &deliveries,
        RecordDetail::new(&run, &deliveries),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, view))
}

/// A project's runs, newest first.
#[utoipa::path(get, path = "/v1/projects/{project}/records", tag = "runs", params(("project" = String, Path), RecordQuery),
    responses((status = 200, body = RecordList), (status = 400, body = ErrorBody)))]
async fn list_records(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<RecordList>, ApiError> {
    let project = project_id(&project)?;
    who.check_read(&project)?;
    let q: RecordQuery = parse_query(query.as_deref())?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1-100"));
    }
    let outcome = q
        .outcome
        .as_deref()
        .map(|o| OutcomeName::parse(o).map_err(|m| ApiError::invalid("outcome", m)))
        .transpose()?;
    let kind = match q.kind.as_deref() {
        None => None,
        Some("scheduled") => Some(RunKind::Scheduled),
        Some("manual") => Some(RunKind::Manual),
        Some("test") => Some(RunKind::Test),
        Some("ticket") => Some(RunKind::Ticket),
        Some(other) => {
            return Err(ApiError::invalid(
                "kind",
                format!("unknown kind '{other}' (use scheduled, manual, test or ticket)"),
            ));
        }
    };
    let task = q
        .task
        .as_deref()
        .map(|t| {
            herald_core::domain::ids::TaskId::parse(t).map_err(|m| ApiError::invalid("task", m))
        })
        .transpose()?;
    let filter = RunFilter {
        task,
        outcome,
        kind,
        from: time("from", &q.from)?,
        to: time("to", &q.to)?,
    };
    let after = q
        .cursor
        .as_deref()
        // The last record shown: the next page starts after it.
        .map(|c| RunId::parse(c).map_err(|_| ApiError::invalid("cursor", "is not a record id")))
        .transpose()?;
    let page = state
        .records
        .list_records(&who, &project, &filter, after.as_ref(), limit)
        .await?;
    Ok(Json(RecordList {
        items: page.items.iter().map(RecordSummary::from).collect(),
        next_cursor: page.next_after.map(|id| id.to_string()),
    }))
}

/// One run in full: charts, message, deliveries with the providers' answers and attempts.
#[utoipa::path(get, path = "/v1/projects/{project}/records/{run}", tag = "runs",
    params(("project" = String, Path), ("run" = String, Path)),
    responses((status = 200, body = RecordDetail), (status = 404, body = ErrorBody)))]
async fn get_record(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, run)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let project = project_id(&project)?;
    let (run, deliveries) = state.records.record(&who, &project, &run_id(&run)?).await?;
    shown(
        &state,
        &who,
        &deliveries,
        RecordDetail::new(&run, &deliveries),
    )
    .await
}

/// The run's log: its own lines and every delivery attempt, in time order.
#[utoipa::path(get, path = "/v1/projects/{project}/records/{run}/logs", tag = "runs",
    params(("project" = String, Path), ("run" = String, Path)),
    responses((status = 200, body = LogList), (status = 404, body = ErrorBody)))]
async fn get_logs(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, run)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let project = project_id(&project)?;
    let (run, deliveries) = state.records.record(&who, &project, &run_id(&run)?).await?;
    shown(&state, &who, &deliveries, log_lines(&run, &deliveries)).await
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(test_push))
        .routes(routes!(test_draft))
        .routes(routes!(manual_push))
        .routes(routes!(list_records))
        .routes(routes!(get_record))
        .routes(routes!(get_logs))
}
