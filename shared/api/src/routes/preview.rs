//! Previews (editor) and the pictures of previews and records (reader).
use crate::AppState;
use crate::dto::preview::{PreviewBody, PreviewView};
use crate::dto::tasks::TaskBody;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, RawBody, project_id, task_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use herald_core::domain::image::ImageId;
use herald_core::domain::run::RunId;
use herald_core::domain::task::Channel;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn png(bytes: Vec<u8>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        bytes,
    )
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An attachment as a download under its own name (RFC 6266 `filename*`, so Chinese names
/// survive); `None` for a name that is no attachment's.
fn download(name: &str, bytes: Vec<u8>) -> Option<impl IntoResponse + use<>> {
    let content_type = if name.ends_with(".xlsx") {
        XLSX
    } else if name.ends_with(".csv") {
        "text/csv; charset=utf-8"
    } else {
        return None;
    };
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    Some((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename*=UTF-8''{encoded}"),
            ),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        bytes,
    ))
}

/// Reads the task's charts now and answers what its channel (or `channel`) would send, with
/// the page snapshot; sends nothing.
#[utoipa::path(post, path = "/v1/projects/{project}/tasks/{task}/preview", tag = "runs", request_body = PreviewBody,
    params(("project" = String, Path), ("task" = String, Path)),
    responses((status = 200, body = PreviewView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn preview_task(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, task)): Path<(String, String)>,
    body: RawBody,
) -> Result<Json<PreviewView>, ApiError> {
    let project = project_id(&project)?;
    who.check_write(&project)?;
    let task = task_id(&task)?;
    let body = body.json_or_default::<PreviewBody>()?;
    let channel = body
        .channel
        .as_deref()
        .map(|c| Channel::parse(c).map_err(|m| ApiError::invalid("channel", m)))
        .transpose()?;
    let preview = state
        .pushes
        .preview_task(&who, &project, &task, channel)
        .await?;
    Ok(Json(PreviewView::new(preview)))
}

/// The same for an unsaved task body (a form previews before saving).
#[utoipa::path(post, path = "/v1/projects/{project}/preview", tag = "runs", request_body = TaskBody,
    params(("project" = String, Path)),
    responses((status = 200, body = PreviewView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn preview_body(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(project): Path<String>,
    body: RawBody,
) -> Result<Json<PreviewView>, ApiError> {
    let project = project_id(&project)?;
    who.check_write(&project)?;
    let body: TaskBody = body.json()?;
    let now = state.tasks.now();
    let parsed = body.parse(move |tz| now.with_timezone(&tz).date_naive())?;
    let preview = state
        .pushes
        .preview(&who, &project, &parsed.spec, None)
        .await?;
    Ok(Json(PreviewView::new(preview)))
}

/// A preview's picture or attachment (kept an hour).
#[utoipa::path(get, path = "/v1/projects/{project}/preview/{image}/{name}", tag = "runs",
    params(("project" = String, Path), ("image" = String, Path), ("name" = String, Path, description = "snapshot.png, or an attachment's file name")),
    responses((status = 200, content((Vec<u8> = "image/png"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (Vec<u8> = "text/csv"))), (status = 404, body = ErrorBody)))]
async fn preview_image(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, image, name)): Path<(String, String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let project = project_id(&project)?;
    let id = ImageId::parse(image).map_err(|_| ApiError::not_found("image"))?;
    let bytes = state.pushes.image(&who, &project, &id).await?;
    if name == "snapshot.png" {
        return Ok(png(bytes).into_response());
    }
    download(&name, bytes)
        .map(IntoResponse::into_response)
        .ok_or_else(|| ApiError::not_found("image"))
}

/// A file a run attached, while its record lives.
#[utoipa::path(get, path = "/v1/projects/{project}/records/{run}/attachments/{name}", tag = "runs",
    params(("project" = String, Path), ("run" = String, Path), ("name" = String, Path, description = "the attachment's file name")),
    responses((status = 200, content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (Vec<u8> = "text/csv"))), (status = 404, body = ErrorBody)))]
async fn record_attachment(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, run, name)): Path<(String, String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let project = project_id(&project)?;
    let run = RunId::parse(&run).map_err(|_| ApiError::not_found("record"))?;
    let file = state
        .records
        .attachment(&who, &project, &run, &name)
        .await?;
    let bytes = state.pushes.image(&who, &project, &file.id).await?;
    download(&file.name, bytes)
        .map(IntoResponse::into_response)
        .ok_or_else(|| ApiError::not_found("attachment"))
}

/// The page snapshot a run sent, while its record lives.
#[utoipa::path(get, path = "/v1/projects/{project}/records/{run}/snapshot.png", tag = "runs",
    params(("project" = String, Path), ("run" = String, Path)),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 404, body = ErrorBody)))]
async fn record_snapshot(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, run)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let project = project_id(&project)?;
    let run = RunId::parse(&run).map_err(|_| ApiError::not_found("record"))?;
    let (image, _) = state.records.snapshot(&who, &project, &run).await?;
    Ok(png(state.pushes.image(&who, &project, &image.id).await?))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preview_task))
        .routes(routes!(preview_body))
        .routes(routes!(preview_image))
        .routes(routes!(record_snapshot))
        .routes(routes!(record_attachment))
}
