//! API keys (admin).
use crate::AppState;
use crate::dto::keys::{CreateKeyBody, CreatedKey};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, RawBody, project_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use herald_core::domain::auth::Role;
use herald_core::domain::ids::KeyId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Creates a key; its secret is in this answer only.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = CreateKeyBody,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_key(
    State(state): State<AppState>,
    Caller(who): Caller,
    body: RawBody,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    who.check_admin()?;
    let body: CreateKeyBody = body.json()?;
    let role = Role::parse(&body.role).map_err(|m| ApiError::invalid("role", m))?;
    let project = body.project.as_deref().map(project_id).transpose()?;
    let new = state.keys.create(&who, role, project).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            id: new.key.id.to_string(),
            key: new.token,
            role: new.key.role.as_str().to_owned(),
            project: new.key.project.map(|p| p.to_string()),
            created_at: new.key.created_at,
        }),
    ))
}

/// Revokes a key at once.
#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_key(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    who.check_admin().map_err(ApiError::from)?;
    let id = KeyId::parse(&id).map_err(|_| ApiError::not_found("key"))?;
    state.keys.delete(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key))
        .routes(routes!(delete_key))
}
