//! SQLE's own workflow webhook (token-authenticated, no API key) and its sources' settings (admin).
use crate::AppState;
use crate::dto::sqle::{SqleAccepted, SqleSourceBody, SqleSourceResponse, SqleWebhookBody};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, RawBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use herald_core::domain::ids::ContactId;
use herald_core::services::sqle::SqleAccepted as Outcome;
use herald_core::services::tickets::{Accepted, WebhookError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// One answer for an unknown source, a missing header and a wrong token alike.
fn refused() -> ApiError {
    ApiError::unauthenticated(
        "send the source's token: Authorization: Bearer <token> (SQLE: the webhook's token)",
    )
}

/// An SQLE workflow event, exactly as SQLE posts it. Routed by its project onto the people the
/// source's rules name, then recorded and told like a native ticket event. Every accepted event
/// (recorded, duplicate, or for a project without a rule) answers 200, which SQLE counts as
/// delivered; a project without a rule is logged, and nothing is recorded or sent.
#[utoipa::path(post, path = "/v1/webhooks/sqle/{source}", tag = "tickets", security(()),
    params(("source" = String, Path),
        ("Authorization" = String, Header, description = "Bearer <the source's token>")),
    request_body = SqleWebhookBody,
    responses((status = 200, body = SqleAccepted),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn sqle_webhook(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Json<SqleAccepted>, ApiError> {
    let source = ContactId::parse(source).map_err(|_| refused())?;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.sqle.verify(source.as_str(), authorization).await {
        Ok(()) => {}
        Err(WebhookError::Unauthenticated(why)) => {
            tracing::info!(source = %source, why, "SQLE webhook refused");
            return Err(refused());
        }
        Err(WebhookError::Service(err)) => return Err(err.into()),
    }
    let event = body.json::<SqleWebhookBody>()?.parse()?;
    let answer = match state.sqle.accept(source.as_str(), &event).await? {
        Outcome::Unrouted => SqleAccepted {
            routed: false,
            duplicate: false,
            record: None,
            deliveries: 0,
        },
        Outcome::Ticket(Accepted::Duplicate) => SqleAccepted {
            routed: true,
            duplicate: true,
            record: None,
            deliveries: 0,
        },
        Outcome::Ticket(Accepted::Recorded { run, deliveries }) => SqleAccepted {
            routed: true,
            duplicate: false,
            record: Some(run.to_string()),
            deliveries,
        },
    };
    Ok(Json(answer))
}

fn source_of(source: String) -> Result<ContactId, ApiError> {
    ContactId::parse(source).map_err(|m| ApiError::invalid("source", m))
}

/// Sets an SQLE source: its token (write-only; required the first time) and its routing rules,
/// which replace the previous ones.
#[utoipa::path(put, path = "/v1/settings/webhook-sources/{source}/sqle", tag = "settings",
    params(("source" = String, Path)), request_body = SqleSourceBody,
    responses((status = 200, body = SqleSourceResponse), (status = 400, body = ErrorBody)))]
async fn put_sqle_source(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(source): Path<String>,
    body: RawBody,
) -> Result<Json<SqleSourceResponse>, ApiError> {
    who.check_admin()?;
    let source = source_of(source)?;
    let (token, rules, kept) = body.json::<SqleSourceBody>()?.parse()?;
    state
        .settings
        .put_sqle_source(&who, source.as_str(), token, rules, kept)
        .await?;
    let view = state
        .settings
        .sqle_source_view(&who, source.as_str())
        .await?;
    Ok(Json(view.into()))
}

/// An SQLE source's routing rules (its token masked).
#[utoipa::path(get, path = "/v1/settings/webhook-sources/{source}/sqle", tag = "settings",
    params(("source" = String, Path)),
    responses((status = 200, body = SqleSourceResponse), (status = 404, body = ErrorBody)))]
async fn get_sqle_source(
    State(state): State<AppState>,
    Caller(who): Caller,
    Path(source): Path<String>,
) -> Result<Json<SqleSourceResponse>, ApiError> {
    who.check_admin()?;
    let source = source_of(source)?;
    let view = state
        .settings
        .sqle_source_view(&who, source.as_str())
        .await?;
    Ok(Json(view.into()))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sqle_webhook))
        .routes(routes!(get_sqle_source, put_sqle_source))
}
