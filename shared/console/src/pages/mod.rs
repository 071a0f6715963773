//! The console's routes and what they share.
mod admin;
mod auth;
mod guard;
mod records;
mod settings;
mod sources;
mod task_schedule;
mod task_sources;
mod tasks;

use crate::Console;
use crate::api::Failure;
use crate::session::Signed;
use crate::view;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use herald_core::domain::auth::Principal;

pub(crate) fn routes(console: Console) -> Router {
    // The settings are the admin's: everyone else is refused before a handler runs.
    let admin_pages = Router::new()
        .route("/settings", get(settings::page))
        .route("/settings/channels/{channel}", post(settings::save))
        .route("/settings/channels/{channel}/test", post(settings::test))
        .route("/settings/keys", get(admin::keys).post(admin::create_key))
        .route("/settings/keys/{id}/revoke", post(admin::revoke_key))
        .route(
            "/settings/contacts",
            get(admin::contacts).post(admin::save_contact),
        )
        .route(
            "/settings/contacts/{id}/delete",
            post(admin::delete_contact),
        )
        .route("/settings/sources", get(sources::page).post(sources::save))
        .route("/settings/sources/{name}/test", post(sources::test))
        .route("/settings/sources/{name}/delete", post(sources::delete))
        .route("/settings/general", get(admin::general))
        .route("/settings/sandbox", get(admin::sandbox))
        .route("/settings/general/url-prefix", post(admin::save_url_prefix))
        .route(
            "/settings/general/webhook-sources",
            post(admin::save_webhook_source),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            console.clone(),
            guard::admin_only,
        ));
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route("/sign-out-everywhere", post(auth::sign_out_everywhere))
        .route("/lang/{lang}", get(auth::set_lang))
        .route("/assets/{hash}/{name}", get(crate::assets::serve))
        .route("/projects", get(tasks::projects))
        .route(
            "/projects/{project}/tasks",
            get(tasks::list).post(tasks::create),
        )
        .route("/projects/{project}/tasks/new", get(tasks::new_form))
        .route("/projects/{project}/tasks/preview", post(tasks::preview))
        .route("/projects/{project}/tasks/test", post(tasks::test_draft))
        .route(
            "/projects/{project}/tasks/charts",
            post(task_sources::find_charts),
        )
        .route(
            "/projects/{project}/tasks/import",
            post(task_sources::import),
        )
        .route(
            "/projects/{project}/sources/{source}/charts",
            get(task_sources::charts),
        )
        .route(
            "/projects/{project}/schedule/next",
            get(task_schedule::schedule_next),
        )
        .route("/projects/{project}/tasks/{task}", post(tasks::replace))
        .route(
            "/projects/{project}/tasks/{task}/edit",
            get(tasks::edit_form),
        )
        .route(
            "/projects/{project}/tasks/{task}/{action}",
            post(tasks::act),
        )
        .route("/projects/{project}/records", get(records::list))
        .route("/projects/{project}/records/{run}", get(records::detail))
        .route("/projects/{project}/files/{*rest}", get(records::file))
        .merge(admin_pages)
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(console)
}

/// Scripts and styles only from the console itself (inline styles for the mail previews), no
/// framing by other sites, forms only to this origin; pages with a session's data are not stored.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
    script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn security_headers(mut response: Response) -> Response {
    use axum::http::{HeaderValue, header};
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Where a caller starts: its project's tasks (an admin picks a project first).
async fn home(signed: Signed) -> Response {
    match &signed.open.principal {
        Principal::Admin => Redirect::to("/ui/projects").into_response(),
        Principal::Member { project, .. } => {
            Redirect::to(&format!("/ui/projects/{}/tasks", seg(project.as_str()))).into_response()
        }
    }
}

async fn not_found(signed: Signed) -> Response {
    let title = signed.lang.text("not_found").unwrap_or("Not found");
    view::message(&signed, StatusCode::NOT_FOUND, title, "")
}

/// A path segment, percent-encoded (ids are checked by the API; this keeps a stray `/` or `?`
/// in one from changing the path).
pub(crate) fn seg(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// An API failure as a page: no session any more → sign in; else the API's own message.
pub(crate) fn failure(signed: &Signed, failure: Failure) -> Response {
    if failure.status == StatusCode::UNAUTHORIZED {
        return crate::session::NotSignedIn::SignIn(signed.path.clone()).into_response();
    }
    let title = match failure.status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::FORBIDDEN => "not_allowed",
        StatusCode::CONFLICT => "conflict",
        _ => "failed",
    };
    let title = signed.lang.text(title).unwrap_or("Failed");
    view::message(signed, failure.status, title, &failure.message)
}
