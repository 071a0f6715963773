//! The one error type of the HTTP layer, mapped once to API.md's error body.
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald_core::ServiceError;
use serde::Serialize;

/// `{"error": {"code", "message", "field"}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `invalid_argument`, `unauthenticated`, `permission_denied`, `not_found`, `conflict`, `too_large`,
    /// `failed_precondition`, `rate_limited`, `unavailable`, `internal`.
    pub code: &'static str,
    pub message: String,
    /// The request field that is wrong, as a path (`schedule.at`, `page.charts[2].data_url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            source: None,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut err = Self::new(StatusCode::BAD_REQUEST, "invalid_argument", message);
        err.field = Some(field.into());
        err
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than {} KiB", limit / 1024),
        )
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_argument",
            "this method is not allowed on this path",
        )
    }

    /// A fault of Herald's own (a view that would not serialize): nothing the caller can mend.
    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        let mut err = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Herald could not build this answer",
        );
        err.source = Some(Box::new(source));
        err
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<herald_core::FieldError> for ApiError {
    fn from(err: herald_core::FieldError) -> Self {
        Self::invalid(err.field, err.message)
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(field) => field.into(),
            ServiceError::Unauthenticated => {
                Self::unauthenticated("a valid API key is required: Authorization: Bearer <key>")
            }
            ServiceError::PermissionDenied(message) => {
                Self::new(StatusCode::FORBIDDEN, "permission_denied", message)
            }
            ServiceError::NotFound(what) => Self::not_found(what),
            ServiceError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            ServiceError::FailedPrecondition { field, message } => {
                let mut err = Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "failed_precondition",
                    message,
                );
                err.field = field;
                err
            }
            ServiceError::Upstream { what, message } => Self::new(
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                format!("{what} did not answer: {message}; try again"),
            ),
            ServiceError::Unavailable { what, source } => {
                let mut err = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    format!("{what} is unavailable; nothing was changed, try again"),
                );
                err.source = Some(source);
                err
            }
        }
    }
}

/// The causes of an error, outermost first, for one log field.
fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        next = cause.source();
    }
    chain
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            let cause = self
                .source
                .as_deref()
                .map(|e| cause_chain(e))
                .unwrap_or_default();
            tracing::error!(code = self.code, error.cause_chain = %cause, "{}", self.message);
        } else {
            tracing::info!(
                code = self.code,
                field = self.field.as_deref(),
                "{}",
                self.message
            );
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
