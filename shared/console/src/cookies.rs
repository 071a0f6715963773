//! Reading the request's cookies (the session's and the language's); both the session and the
//! language choice read them, so they live apart from either.
use axum::http::{HeaderMap, header};

pub(crate) const LANG_COOKIE: &str = "herald_lang";

/// A cookie's value from the request's `Cookie` headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}
