//! An answer plus the provider code it carries (so every call can be recorded with its outcome).
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::Value;

pub(crate) struct Reply {
    /// `errcode` / `code` answered; `None` for an injected plain HTTP failure.
    pub code: Option<i64>,
    /// Boxed so `Result<_, Reply>` stays small.
    pub response: Box<Response>,
}

impl Reply {
    pub fn json(status: StatusCode, code: i64, body: Value) -> Self {
        Self {
            code: Some(code),
            response: Box::new((status, axum::Json(body)).into_response()),
        }
    }

    /// An injected HTTP failure: the status with a plain-text body, like a proxy would answer.
    pub fn http_fault(status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        let text = format!("{status} (injected by herald-fakes)");
        Self {
            code: None,
            response: Box::new(
                (status, [(header::CONTENT_TYPE, "text/plain")], text).into_response(),
            ),
        }
    }

    /// HTTP 200 with `{}`, as a proxy or captive portal might answer: no provider code at all.
    pub fn empty_json() -> Self {
        Self {
            code: None,
            response: Box::new((StatusCode::OK, axum::Json(serde_json::json!({}))).into_response()),
        }
    }

    /// Headers, then a body that fails: hyper cuts the connection, and the caller reads an error
    /// where the answer should be.
    pub fn cut() -> Self {
        let lost = futures::stream::once(async {
            Err::<axum::body::Bytes, _>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection cut by herald-fakes",
            ))
        });
        Self {
            code: None,
            response: Box::new(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    axum::body::Body::from_stream(lost),
                )
                    .into_response(),
            ),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        if let Ok(value) = HeaderValue::from_str(&value) {
            self.response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
        self
    }
}

/// Random `[A-Za-z0-9]` string.
pub(crate) fn random_alnum(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Random lower-case hex string.
pub(crate) fn random_hex(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Reads an integer that may be sent as a JSON number or a numeric string.
pub(crate) fn as_int(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
