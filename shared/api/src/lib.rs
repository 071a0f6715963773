//! Herald's HTTP API: one axum Router served by Lambda (`lambda_http::run`) and by the local server.
pub mod dto;
pub mod error;
pub mod extract;
mod openapi;
mod openapi_bodies;
mod routes;

use axum::extract::DefaultBodyLimit;
use herald_core::services::Services;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use axum::Router;
pub use error::ApiError;

/// What every handler can reach: the services, created once per process and shared.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl From<Services> for AppState {
    fn from(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl From<&Services> for AppState {
    fn from(services: &Services) -> Self {
        Self::from(services.clone())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Herald", description = "Scheduled report pushes and ticket notifications on WeCom, Feishu and e-mail."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route, registered together with its OpenAPI operation.
fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::routes())
        .merge(routes::tasks::routes())
        .merge(routes::keys::routes())
        .merge(routes::settings::routes())
        .merge(routes::runs::routes())
        .merge(routes::preview::routes())
        .merge(routes::snapshot_links::routes())
        .merge(routes::contacts::routes())
        .merge(routes::sources::routes())
        .merge(routes::calendars::routes())
        .merge(routes::tickets::routes())
        .merge(routes::sqle::routes())
}

/// The OpenAPI document, generated from the same registrations the Router serves, so they cannot drift.
pub fn openapi() -> &'static serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = api_routes().split_for_parts().1;
        openapi::add_common_parts(&mut document);
        // utoipa's types serialize to JSON (a failure would be a bug in them: an empty document).
        let mut document = serde_json::to_value(document).unwrap_or_default();
        openapi_bodies::add(&mut document);
        document
    })
}

/// The one Router, for Lambda and the local server.
pub fn router(state: AppState) -> Router {
    let (router, _) = api_routes().split_for_parts();
    router
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        // The path only: a query may carry a credential (a snapshot link's signature).
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |request: &axum::http::Request<axum::body::Body>| {
                    tracing::debug_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path()
                    )
                },
            ),
        )
        .with_state(state)
}
