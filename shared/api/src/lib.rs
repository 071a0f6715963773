//! Herald's HTTP API: one axum Router served by Lambda (`lambda_http::run`) and by the local server.
pub mod dto;
pub mod error;
pub mod extract;
mod routes;

use axum::extract::DefaultBodyLimit;
use herald_core::services::keys::KeyService;
use herald_core::services::tasks::TaskService;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use axum::Router;
pub use error::ApiError;

/// What every handler can reach: the services, each created once per process.
#[derive(Clone)]
pub struct AppState {
    pub tasks: TaskService,
    pub keys: KeyService,
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

/// The routes and the OpenAPI document generated from the same registrations, so they cannot drift.
pub fn router_and_openapi(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::routes())
        .merge(routes::tasks::routes())
        .merge(routes::keys::routes())
        .split_for_parts();
    let document = openapi.clone();
    let router = router
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move { axum::Json(document) }
            }),
        )
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    (router, openapi)
}

/// The Router alone.
pub fn router(state: AppState) -> Router {
    router_and_openapi(state).0
}
