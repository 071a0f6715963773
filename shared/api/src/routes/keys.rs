//! API keys (admin).
use crate::AppState;
use crate::dto::keys::{CreateKeyBody, CreatedKey, KeyList, KeyView};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, RawBody, parse_query, project_id};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
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

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// From a previous page's `next_cursor` (the last key id shown).
    #[param(pattern = "^[0-9a-f]{16}$")]
    cursor: Option<String>,
    /// 1-100, default 50.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
}

/// Lists the keys (never the keys themselves), in id order.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", params(ListQuery),
    responses((status = 200, body = KeyList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_keys(
    State(state): State<AppState>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<KeyList>, ApiError> {
    who.check_admin()?;
    let query: ListQuery = parse_query(query.as_deref())?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1-100"));
    }
    let after = query
        .cursor
        .as_deref()
        .map(|c| KeyId::parse(c).map_err(|_| ApiError::invalid("cursor", "is not a key id")))
        .transpose()?;
    let page = state.keys.list(&who, after.as_ref(), limit).await?;
    Ok(Json(KeyList {
        items: page.items.iter().map(KeyView::from).collect(),
        next_cursor: page.next_after.map(|id| id.to_string()),
    }))
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
        .routes(routes!(create_key, list_keys))
        .routes(routes!(delete_key))
}
