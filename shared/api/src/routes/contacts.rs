//! The contacts directory (admin).
use crate::AppState;
use crate::dto::contacts::{ContactBody, ContactList, ContactView};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, RawBody, parse_query};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use herald_core::domain::ids::ContactId;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

fn contact_id(raw: &str) -> Result<ContactId, ApiError> {
    ContactId::parse(raw).map_err(|m| ApiError::invalid("user", m))
}

/// A cursor is the id of the last contact shown: the next page starts after it (any contact id
/// is a cursor, so the OpenAPI document can say exactly which are).
fn parse_cursor(cursor: &str) -> Result<ContactId, ApiError> {
    ContactId::parse(cursor).map_err(|_| ApiError::invalid("cursor", "is not a contact id"))
}

/// Creates or replaces a contact.
#[utoipa::path(put, path = "/v1/contacts/{user}", tag = "contacts", request_body = ContactBody,
    params(("user" = String, Path, description = "the contact id: 1-64 of letters, digits, '-' and '_'")),
    responses((status = 200, body = ContactView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn put_contact(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(user): Path<String>,
    body: RawBody,
) -> Result<Json<ContactView>, ApiError> {
    who.check_admin()?;
    let id = contact_id(&user)?;
    let details = body.json::<ContactBody>()?.parse()?;
    let contact = state.contacts.put(&who, id, details).await?;
    Ok(Json(ContactView::from(&contact)))
}

/// One contact.
#[utoipa::path(get, path = "/v1/contacts/{user}", tag = "contacts", params(("user" = String, Path)),
    responses((status = 200, body = ContactView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_contact(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(user): Path<String>,
) -> Result<Json<ContactView>, ApiError> {
    who.check_admin()?;
    let id = contact_id(&user)?;
    let contact = state.contacts.get(&who, &id).await?;
    Ok(Json(ContactView::from(&contact)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// From a previous page's `next_cursor` (the last contact id shown).
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
    cursor: Option<String>,
    /// 1-100, default 50.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
}

/// Contacts in id order.
#[utoipa::path(get, path = "/v1/contacts", tag = "contacts", params(ListQuery),
    responses((status = 200, body = ContactList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_contacts(
    State(state): State<AppState>,
    Caller(who): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<ContactList>, ApiError> {
    who.check_admin()?;
    let query: ListQuery = parse_query(query.as_deref())?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1-100"));
    }
    let after = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let page = state.contacts.list(&who, after.as_ref(), limit).await?;
    Ok(Json(ContactList {
        items: page.items.iter().map(ContactView::from).collect(),
        next_cursor: page.next_after.map(|id| id.to_string()),
    }))
}

/// Deletes a contact. Tasks and ticket sources that name it no longer reach them.
#[utoipa::path(delete, path = "/v1/contacts/{user}", tag = "contacts", params(("user" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_contact(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(user): Path<String>,
) -> Result<StatusCode, ApiError> {
    who.check_admin()?;
    let id = contact_id(&user)?;
    state.contacts.delete(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_contact, get_contact, delete_contact))
        .routes(routes!(list_contacts))
}
