//! Herald's HTTP API: one axum Router served by Lambda (`lambda_http::run`) and by the local server.
pub mod dto;
pub mod error;
pub mod extract;
mod openapi;
mod openapi_bodies;
mod routes;

use axum::extract::DefaultBodyLimit;
use herald_core::services::Services;
use herald_core::services::channel_test::ChannelTestService;
use herald_core::services::keys::KeyService;
use herald_core::services::settings::SettingsService;
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
    pub settings: SettingsService,
    pub channel_tests: ChannelTestService,
    pub contacts: herald_core::services::contacts::ContactService,
    pub pushes: herald_core::services::runs::PushService,
    pub tickets: herald_core::services::tickets::TicketService,
    pub sqle: herald_core::services::sqle::SqleService,
    pub sessions: herald_core::services::sessions::SessionService,
    pub sources: herald_core::services::sources::SourceService,
}

impl From<&Services> for AppState {
    fn from(services: &Services) -> Self {
        Self {
            tasks: services.tasks.clone(),
            keys: services.keys.clone(),
            settings: services.settings.clone(),
            channel_tests: services.channel_tests.clone(),
            contacts: services.contacts.clone(),
            pushes: services.pushes.clone(),
            tickets: services.tickets.clone(),
            sqle: services.sqle.clone(),
            sessions: services.sessions.clone(),
            sources: services.sources.clone(),
        }
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
        .merge(routes::contacts::routes())
        .merge(routes::sources::routes())
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
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
