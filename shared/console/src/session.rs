//! The signed-in caller of a page, from the session cookie; forms checked for their CSRF token.
use crate::Console;
use crate::cookies::cookie;
use crate::i18n::Lang;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use herald_core::ServiceError;
use herald_core::domain::session::SESSION_HOURS;
use herald_core::services::sessions::OpenSession;

pub(crate) const SESSION_COOKIE: &str = "herald_session";
/// The form field every console form carries.
pub(crate) const CSRF_FIELD: &str = "_csrf";
/// The largest form accepted (a task with its charts and recipient lists).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// Whether the browser reached us over HTTPS (API Gateway and proxies say so in
/// `X-Forwarded-Proto`): then cookies are `Secure`.
pub(crate) fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value of a session (or, with `None`, of its removal).
pub(crate) fn session_cookie(value: Option<&str>, secure: bool) -> String {
    let (value, age) = match value {
        Some(v) => (v, SESSION_HOURS * 3600),
        None => ("", 0),
    };
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age={age}{secure}")
}

/// A write must come from our own pages: a browser names the page's origin in `Origin`, which
/// must be this host (SameSite=Strict cookies and the CSRF token are the other two locks).
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// The caller of a page: the session, the page's language, the request path (to come back to).
pub(crate) struct Signed {
    pub open: OpenSession,
    pub lang: Lang,
    pub path: String,
    /// A sandbox inbox is there to show (herald-local with its sandbox on).
    pub sandbox: bool,
}

/// No session: to the sign-in page (and back here after).
pub(crate) enum NotSignedIn {
    SignIn(String),
    Unavailable(String),
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn(back) => {
                let next: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
                Redirect::to(&format!("/ui/sign-in?next={next}")).into_response()
            }
            Self::Unavailable(message) => {
                (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
            }
        }
    }
}

impl FromRequestParts<Console> for Signed {
    type Rejection = NotSignedIn;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Console,
    ) -> Result<Self, Self::Rejection> {
        // The path as the browser asked for it (inside `/ui` the Router sees it without the prefix).
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/ui".into());
        let lang = Lang::of(&parts.headers);
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(NotSignedIn::SignIn(path));
        };
        match console.sessions.resume(value).await {
            Ok(open) => Ok(Self {
                open,
                lang,
                path,
                sandbox: console.inbox.is_some(),
            }),
            Err(ServiceError::Unavailable { what, .. }) => Err(NotSignedIn::Unavailable(format!(
                "{what} is unavailable; try again"
            ))),
            Err(_) => Err(NotSignedIn::SignIn(path)),
        }
    }
}

/// A posted form from a signed-in page: same origin, and its CSRF token is the session's.
pub(crate) struct SignedForm {
    pub signed: Signed,
    pub fields: Vec<(String, String)>,
}

impl SignedForm {
    /// The first value of `name`, trimmed; empty if absent.
    pub fn value(&self, name: &str) -> String {
        form_value(&self.fields, name)
    }
}

pub(crate) fn form_value(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// Reads an urlencoded form body (at most [`MAX_FORM_BYTES`]).
pub(crate) async fn read_form(req: Request) -> Result<Vec<(String, String)>, Response> {
    let bytes = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response())?;
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

impl FromRequest<Console> for SignedForm {
    type Rejection = Response;

    async fn from_request(req: Request, console: &Console) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        if !same_origin(&parts.headers) {
            return Err((
                StatusCode::FORBIDDEN,
                "this form was posted from another site",
            )
                .into_response());
        }
        let signed = Signed::from_request_parts(&mut parts, console)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields = read_form(Request::from_parts(parts, body)).await?;
        if !signed.open.csrf_matches(&form_value(&fields, CSRF_FIELD)) {
            return Err((
                StatusCode::FORBIDDEN,
                "the form's security token is missing or stale: reload the page and try again",
            )
                .into_response());
        }
        Ok(Self { signed, fields })
    }
}
