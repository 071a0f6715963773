//! The ticket webhook: signed ticket events from a ticket system (no API key).
use crate::AppState;
use crate::dto::tickets::{TicketAccepted, TicketDuplicate, TicketEventBody};
use crate::error::{ApiError, ErrorBody};
use crate::extract::RawBody;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use herald_core::domain::ids::ContactId;
use herald_core::services::tickets::{Accepted, WebhookError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const TIMESTAMP_HEADER: &str = "x-herald-timestamp";
pub const SIGNATURE_HEADER: &str = "x-herald-signature";

/// One answer for every refused signature, so a caller learns nothing about which check failed.
fn refused() -> ApiError {
    ApiError::unauthenticated(
        "sign the request: X-Herald-Timestamp (unix seconds, within 5 minutes) and \
         X-Herald-Signature: sha256=<hex HMAC-SHA256 of timestamp.body with the source's secret>",
    )
}

/// A ticket's status change: verified, recorded once under the ticket's project, and told to the
/// people who must act on every enabled channel.
#[utoipa::path(post, path = "/v1/webhooks/tickets/{source}", tag = "tickets", security(()),
    params(("source" = String, Path),
        ("X-Herald-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Herald-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256(secret, timestamp + \".\" + body)>")),
    request_body = TicketEventBody,
    responses((status = 202, body = TicketAccepted), (status = 200, body = TicketDuplicate),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn ticket_webhook(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    // A source that cannot exist is refused like an unknown one.
    let source = ContactId::parse(source).map_err(|_| refused())?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match state
        .tickets
        .verify(
            source.as_str(),
            header(TIMESTAMP_HEADER),
            header(SIGNATURE_HEADER),
            &body.0,
        )
        .await
    {
        Ok(()) => {}
        Err(WebhookError::Unauthenticated(why)) => {
            tracing::info!(source = %source, why, "ticket webhook refused");
            return Err(refused());
        }
        Err(WebhookError::Service(err)) => return Err(err.into()),
    }
    let event = body.json::<TicketEventBody>()?.parse()?;
    Ok(match state.tickets.accept(source.as_str(), &event).await? {
        Accepted::Recorded { run, deliveries } => (
            StatusCode::ACCEPTED,
            Json(TicketAccepted {
                record: run.to_string(),
                deliveries,
            }),
        )
            .into_response(),
        Accepted::Duplicate => {
            (StatusCode::OK, Json(TicketDuplicate { duplicate: true })).into_response()
        }
    })
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ticket_webhook))
}
