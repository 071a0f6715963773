//! Push tasks: CRUD, enable and disable.
use crate::AppState;
use crate::dto::task_view::{TaskList, TaskView};
use crate::dto::tasks::{ConfirmBody, TaskBody};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, RawBody, parse_query, project_id, task_id};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use chrono::NaiveDate;
use herald_core::domain::ids::TaskId;
use herald_core::services::settings::calendars::Calendars;
use herald_core::services::tasks::TaskUpdate;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn today(state: &AppState) -> impl Fn(chrono_tz::Tz) -> NaiveDate {
    let now = state.tasks.now();
    move |tz| now.with_timezone(&tz).date_naive()
}

/// The task as answered, its next run on its calendar's working days (with weekends off only
/// when the calendars cannot be read: a written task is answered whatever happens).
async fn view_of(
    state: &AppState,
    task: &herald_core::domain::task::PushTask,
) -> Result<TaskView, ApiError> {
    Ok(TaskView::new(
        task,
        state.tasks.now(),
        &calendars(state).await,
    ))
}

async fn calendars(state: &AppState) -> Calendars {
    state.settings.calendars().await.unwrap_or_else(|err| {
        tracing::warn!(error = %err, "next runs counted without the calendars' own days");
        Calendars::default()
    })
}

/// A cursor is the id of the last task shown: the next page starts after it (any task id is a
/// cursor, so the OpenAPI document can say exactly which are).
fn parse_cursor(cursor: &str) -> Result<TaskId, ApiError> {
    TaskId::parse(cursor).map_err(|_| ApiError::invalid("cursor", "is not a task id"))
}

/// Creates a task and its schedule.
#[utoipa::path(post, path = "/v1/projects/{project}/tasks", tag = "tasks", request_body = TaskBody,
    params(("project" = String, Path)),
    responses((status = 201, body = TaskView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn create_task(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(project): Path<String>,
    body: RawBody,
) -> Result<(StatusCode, Json<TaskView>), ApiError> {
    let project = project_id(&project)?;
    who.check_write(&project)?;
    let body: TaskBody = body.json()?;
    if body.version.is_some() {
        return Err(ApiError::invalid(
            "version",
            "is only used when replacing a task",
        ));
    }
    let parsed = body.parse(today(&state))?;
    if parsed.keep_alarm_robot {
        return Err(ApiError::invalid(
            "alarm_robot.webhook_key",
            "give the robot's key or webhook URL",
        ));
    }
    if let Some((field, what)) = parsed.kept_groups.first_field() {
        return Err(ApiError::invalid(format!("recipients.{field}"), what));
    }
    let task = state.tasks.create(&who, &project, parsed.spec).await?;
    Ok((StatusCode::CREATED, Json(view_of(&state, &task).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// From a previous page's `next_cursor` (the last task id shown).
    #[param(format = Uuid)]
    cursor: Option<String>,
    /// 1-100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
}

/// Lists a project's tasks, newest first.
#[utoipa::path(get, path = "/v1/projects/{project}/tasks", tag = "tasks", params(("project" = String, Path), ListQuery),
    responses((status = 200, body = TaskList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_tasks(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<TaskList>, ApiError> {
    let project = project_id(&project)?;
    who.check_read(&project)?;
    let query: ListQuery = parse_query(query.as_deref())?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1-100"));
    }
    let after = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let page = state
        .tasks
        .list(&who, &project, after.as_ref(), limit)
        .await?;
    let now = state.tasks.now();
    let calendars = calendars(&state).await;
    Ok(Json(TaskList {
        items: page
            .items
            .iter()
            .map(|t| TaskView::new(t, now, &calendars))
            .collect(),
        next_cursor: page.next_after.as_ref().map(ToString::to_string),
    }))
}

/// One task, with its state, next run and failure count.
#[utoipa::path(get, path = "/v1/projects/{project}/tasks/{task}", tag = "tasks",
    params(("project" = String, Path), ("task" = String, Path)),
    responses((status = 200, body = TaskView), (status = 404, body = ErrorBody)))]
async fn get_task(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, task)): Path<(String, String)>,
) -> Result<Json<TaskView>, ApiError> {
    let project = project_id(&project)?;
    who.check_read(&project)?;
    let task = state.tasks.get(&who, &project, &task_id(&task)?).await?;
    Ok(Json(view_of(&state, &task).await?))
}

/// Replaces a task; `version` must be the one read. Editing a stopped task starts it again.
#[utoipa::path(put, path = "/v1/projects/{project}/tasks/{task}", tag = "tasks", request_body = TaskBody,
    params(("project" = String, Path), ("task" = String, Path)),
    responses((status = 200, body = TaskView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
async fn replace_task(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, task)): Path<(String, String)>,
    body: RawBody,
) -> Result<Json<TaskView>, ApiError> {
    let project = project_id(&project)?;
    who.check_write(&project)?;
    let id = task_id(&task)?;
    let body: TaskBody = body.json()?;
    let version = body.version.ok_or_else(|| {
        ApiError::invalid("version", "is required: the version of the task you read")
    })?;
    let parsed = body.parse(today(&state))?;
    let update = TaskUpdate {
        version,
        spec: parsed.spec,
        keep_alarm_robot: parsed.keep_alarm_robot,
        kept_groups: parsed.kept_groups,
    };
    let task = state.tasks.replace(&who, &project, &id, update).await?;
    Ok(Json(view_of(&state, &task).await?))
}

/// Deletes a task and its schedule; its records stay.
#[utoipa::path(delete, path = "/v1/projects/{project}/tasks/{task}", tag = "tasks",
    params(("project" = String, Path), ("task" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_task(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, task)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let project = project_id(&project)?;
    who.check_write(&project)?;
    state.tasks.delete(&who, &project, &task_id(&task)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disables a task and its schedule; needs `{"confirm": true}`.
#[utoipa::path(post, path = "/v1/projects/{project}/tasks/{task}/disable", tag = "tasks", request_body = ConfirmBody,
    params(("project" = String, Path), ("task" = String, Path)),
    responses((status = 200, body = TaskView), (status = 422, body = ErrorBody)))]
async fn disable_task(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, task)): Path<(String, String)>,
    body: RawBody,
) -> Result<Json<TaskView>, ApiError> {
    let project = project_id(&project)?;
    who.check_write(&project)?;
    // No body at all is a missing confirmation, answered with what disabling would do.
    let confirm = body.json_or_default::<ConfirmBody>()?.confirm;
    let task = state
        .tasks
        .disable(&who, &project, &task_id(&task)?, confirm)
        .await?;
    Ok(Json(view_of(&state, &task).await?))
}

/// Enables a task and its schedule, and resets its failure count.
#[utoipa::path(post, path = "/v1/projects/{project}/tasks/{task}/enable", tag = "tasks",
    params(("project" = String, Path), ("task" = String, Path)),
    responses((status = 200, body = TaskView), (status = 404, body = ErrorBody)))]
async fn enable_task(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, task)): Path<(String, String)>,
) -> Result<Json<TaskView>, ApiError> {
    let project = project_id(&project)?;
    who.check_write(&project)?;
    let task = state.tasks.enable(&who, &project, &task_id(&task)?).await?;
    Ok(Json(view_of(&state, &task).await?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_task, list_tasks))
        .routes(routes!(get_task, replace_task, delete_task))
        .routes(routes!(disable_task))
        .routes(routes!(enable_task))
}
