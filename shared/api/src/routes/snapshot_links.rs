//! Signed, expiring links to a run's page snapshot: minted by a reader of the project, opened by
//! anyone who holds the link until it expires (no API key), for places that can show a picture
//! only by its URL.
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, project_id};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use herald_core::domain::run::RunId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A link to a run's snapshot.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotLinkView {
    /// Path and query under the API's base URL:
    /// `/v1/snapshots/{project}/{image}.png?expires=…&sig=…`.
    pub path: String,
    /// When it stops serving the picture (RFC 3339).
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The link's expiry and signature.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LinkQuery {
    /// Unix seconds.
    #[serde(default)]
    expires: String,
    /// Hex HMAC-SHA256.
    #[serde(default)]
    sig: String,
}

/// A signed link to the page snapshot a run sent, valid for the configured lifetime (7 days by
/// default) and never past the record's own life.
#[utoipa::path(get, path = "/v1/projects/{project}/records/{run}/snapshot-link", tag = "runs",
    params(("project" = String, Path), ("run" = String, Path)),
    responses((status = 200, body = SnapshotLinkView), (status = 404, body = ErrorBody)))]
async fn snapshot_link(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path((project, run)): Path<(String, String)>,
) -> Result<Json<SnapshotLinkView>, ApiError> {
    let project = project_id(&project)?;
    let run = RunId::parse(&run).map_err(|_| ApiError::not_found("record"))?;
    let (image, record_expires_at) = state.records.snapshot(&who, &project, &run).await?;
    let (path, expires_at) = state
        .snapshot_links
        .link(&who, &project, &image.id, record_expires_at)
        .await?;
    Ok(Json(SnapshotLinkView { path, expires_at }))
}

/// The picture a signed link names, without an API key while the link is valid; a changed,
/// forged or expired link is refused (403).
#[utoipa::path(get, path = "/v1/snapshots/{project}/{file}", tag = "runs", security(()),
    params(("project" = String, Path), ("file" = String, Path, description = "{image}.png"), LinkQuery),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn open_snapshot_link(
    State(state): State<AppState>,
    Path((project, file)): Path<(String, String)>,
    Query(link): Query<LinkQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (png, seconds_left) = state
        .snapshot_links
        .open(&project, &file, &link.expires, &link.sig)
        .await?;
    // A cache keeps it an hour at most, and never past the link's expiry.
    let cache = format!("public, max-age={}", seconds_left.clamp(0, 3600));
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_owned()),
            (header::CACHE_CONTROL, cache),
        ],
        png,
    ))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(snapshot_link))
        .routes(routes!(open_snapshot_link))
}
