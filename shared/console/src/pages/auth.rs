//! Sign in with an API key, sign out, and the page language.
use crate::Console;
use crate::cookies::LANG_COOKIE;
use crate::i18n::Lang;
use crate::session::{self, SignedForm};
use crate::view;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use herald_core::ServiceError;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub(crate) struct Next {
    next: Option<String>,
}

/// Only a path of the console may be where sign-in leads (never another site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/ui") && !n.starts_with("//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/ui".to_owned(),
    }
}

fn sign_in_form(lang: Lang, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    view::render(
        "sign_in.html",
        minijinja::Value::from(minijinja::value::Serde(
            json!({ "lang": lang.as_str(), "next": next, "error": error }),
        )),
        status,
    )
}

pub(crate) async fn sign_in_page(headers: HeaderMap, Query(q): Query<Next>) -> Response {
    sign_in_form(
        Lang::of(&headers),
        &safe_next(q.next.as_deref()),
        None,
        StatusCode::OK,
    )
}

pub(crate) async fn sign_in(State(console): State<Console>, req: Request) -> Response {
    let headers = req.headers().clone();
    let lang = Lang::of(&headers);
    if !session::same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "this form was posted from another site",
        )
            .into_response();
    }
    let fields = match session::read_form(req).await {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let next = safe_next(Some(&session::form_value(&fields, "next")));
    let key = session::form_value(&fields, "key");
    match console.sessions.sign_in(&key).await {
        Ok(open) => (
            [(
                header::SET_COOKIE,
                session::session_cookie(Some(&open.cookie), session::over_https(&headers)),
            )],
            Redirect::to(&next),
        )
            .into_response(),
        Err(ServiceError::Unavailable { what, .. }) => {
            let message = format!("{what} is unavailable; try again");
            sign_in_form(lang, &next, Some(&message), StatusCode::SERVICE_UNAVAILABLE)
        }
        Err(_) => {
            let message = lang
                .text("sign_in_refused")
                .unwrap_or("That key was not accepted.");
            sign_in_form(lang, &next, Some(message), StatusCode::UNAUTHORIZED)
        }
    }
}

pub(crate) async fn sign_out(
    State(console): State<Console>,
    headers: HeaderMap,
    form: SignedForm,
) -> Response {
    ended(console.sessions.sign_out(&form.signed.open).await, &headers)
}

/// Ends every session of the caller's key, on every browser.
pub(crate) async fn sign_out_everywhere(
    State(console): State<Console>,
    headers: HeaderMap,
    form: SignedForm,
) -> Response {
    ended(
        console
            .sessions
            .sign_out_everywhere(&form.signed.open)
            .await,
        &headers,
    )
}

fn ended(result: Result<(), ServiceError>, headers: &HeaderMap) -> Response {
    if let Err(err) = result {
        // The cookie is not cleared: the session still works on the server, so say so.
        tracing::warn!(error = %err, "a sign-out was not recorded");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "signing out did not reach the store; try again",
        )
            .into_response();
    }
    (
        [(
            header::SET_COOKIE,
            session::session_cookie(None, session::over_https(headers)),
        )],
        Redirect::to("/ui/sign-in"),
    )
        .into_response()
}

/// Remembers the chosen language for a year, and goes back.
pub(crate) async fn set_lang(
    headers: HeaderMap,
    Path(lang): Path<String>,
    Query(q): Query<Next>,
) -> Response {
    let lang = Lang::parse(&lang);
    let secure = if session::over_https(&headers) {
        "; Secure"
    } else {
        ""
    };
    (
        [(
            header::SET_COOKIE,
            format!(
                "{LANG_COOKIE}={}; Path=/ui; SameSite=Lax; Max-Age=31536000{secure}",
                lang.as_str()
            ),
        )],
        Redirect::to(&safe_next(q.next.as_deref())),
    )
        .into_response()
}
