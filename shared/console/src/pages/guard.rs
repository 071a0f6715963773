//! Role checks made before a page or form does anything. The API refuses what a role may not do
//! anyway; checked here first, a caller who may not act gets no form, no confirmation and no field
//! error, just the same refusal the API would give (another project: not found; a viewer: not
//! allowed).
use super::failure;
use crate::Console;
use crate::api::Failure;
use crate::session::Signed;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use herald_core::ServiceError;
use herald_core::domain::auth::Principal;
use herald_core::domain::ids::ProjectId;

/// For the admin's pages and forms (the settings): anyone else is refused before the handler.
pub(crate) async fn admin_only(
    State(console): State<Console>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let signed = match Signed::from_request_parts(&mut parts, &console).await {
        Ok(signed) => signed,
        Err(not_signed_in) => return not_signed_in.into_response(),
    };
    if let Err(err) = signed.open.principal.check_admin() {
        return refusal(&signed, err);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The refusal to answer if the caller may not read `project`.
pub(crate) fn read_refused(signed: &Signed, project: &str) -> Option<Response> {
    refused_unless(signed, project, Principal::check_read)
}

/// The refusal to answer if the caller may not change `project`.
pub(crate) fn write_refused(signed: &Signed, project: &str) -> Option<Response> {
    refused_unless(signed, project, Principal::check_write)
}

fn refused_unless(
    signed: &Signed,
    project: &str,
    check: fn(&Principal, &ProjectId) -> Result<(), ServiceError>,
) -> Option<Response> {
    ProjectId::parse(project)
        .map_err(|_| ServiceError::NotFound("project"))
        .and_then(|project| check(&signed.open.principal, &project))
        .err()
        .map(|err| refusal(signed, err))
}

fn refusal(signed: &Signed, err: ServiceError) -> Response {
    let (status, code) = match &err {
        ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        _ => (StatusCode::FORBIDDEN, "permission_denied"),
    };
    let message = match err {
        ServiceError::PermissionDenied(message) => message,
        other => other.to_string(),
    };
    failure(
        signed,
        Failure {
            status,
            code: code.to_owned(),
            message,
            field: None,
        },
    )
}
