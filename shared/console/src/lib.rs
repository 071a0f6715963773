//! Herald's web console: server-rendered pages under `/ui` for the people who click rather than
//! curl. The pages call the JSON API's own Router in process, as the signed-in caller, so roles,
//! 404-not-403, versions, confirmations and field errors have one implementation; the console only
//! turns forms into API bodies and API answers into pages.
//!
//! Sign-in turns an API key into a signed, expiring session cookie (HttpOnly, SameSite=Strict,
//! Secure over HTTPS) that works on stateless Lambdas; every form carries the session's CSRF token.
mod api;
mod assets;
mod cookies;
mod i18n;
mod pages;
mod pictures;
mod session;
mod task_form;
mod view;
mod words;

use axum::response::Redirect;
use axum::routing::get;
use herald_api::AppState;

pub use herald_api::Router;

/// The messages a local sandbox caught (`{"wecom": [...], "feishu": [...], "dingtalk": [...],
/// "email": [...]}`),
/// shown to admins under Settings when herald-local runs with its sandbox on.
#[derive(Clone)]
pub struct SandboxInbox(pub std::sync::Arc<dyn Fn() -> serde_json::Value + Send + Sync>);

/// What the console's handlers reach: the API Router (called in process), the sessions, and the
/// sandbox's inbox when there is one.
#[derive(Clone)]
pub(crate) struct Console {
    api: herald_api::Router,
    sessions: herald_core::services::sessions::SessionService,
    inbox: Option<SandboxInbox>,
    /// The service's clock (a schedule's next runs are counted from its now).
    tasks: herald_core::services::tasks::TaskService,
}

/// The one Router: the JSON API under `/v1` and the console under `/ui`, for Lambda and the local
/// server alike.
pub fn router(state: AppState) -> Router {
    router_with_inbox(state, None)
}

/// [`router`], with the sandbox's inbox in the console's settings.
pub fn router_with_inbox(state: AppState, inbox: Option<SandboxInbox>) -> Router {
    let api = herald_api::router(state.clone());
    let console = Console {
        api: api.clone(),
        sessions: state.sessions.clone(),
        inbox,
        tasks: state.tasks.clone(),
    };
    api.route("/", get(|| async { Redirect::to("/ui") }))
        .nest("/ui", pages::routes(console))
}
