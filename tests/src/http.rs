//! Calls the Router in process (no socket), the way API Gateway and the local server both reach it.
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The answer to one call: status and the JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The `field` of an error body.
    pub fn field(&self) -> Option<&str> {
        self.body["error"]["field"].as_str()
    }

    pub fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

/// One request through the Router: the status, the content type and the body's bytes.
async fn exchange(
    router: &herald_api::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Option<String>, Vec<u8>) {
    exchange_with(router, method, uri, token, &[], body).await
}

/// The same, with more request headers.
async fn exchange_with(
    router: &herald_api::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (StatusCode, Option<String>, Vec<u8>) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::from(body)).expect("request");
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("router is infallible");
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, kind, bytes.to_vec())
}

/// Sends a JSON request with more headers (an `Idempotency-Key`).
pub async fn call_with_headers(
    router: &herald_api::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &Value,
) -> Reply {
    let bytes = serde_json::to_vec(body).expect("json");
    let (status, _, bytes) = exchange_with(router, method, uri, token, headers, bytes).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Reply { status, body }
}

/// Sends a request with an optional bearer token and raw body.
pub async fn call_raw(
    router: &herald_api::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let (status, _, bytes) = exchange(router, method, uri, token, body).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply { status, body }
}

/// Sends JSON (or nothing for `Value::Null`).
pub async fn call(
    router: &herald_api::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: &Value,
) -> Reply {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(body).expect("json")
    };
    call_raw(router, method, uri, token, bytes).await
}

/// The admin's call, which must succeed: its answer's body.
pub async fn admin_ok(
    router: &herald_api::Router,
    method: Method,
    uri: &str,
    body: Value,
) -> Value {
    let reply = call(router, method, uri, Some(crate::ADMIN_TOKEN), &body).await;
    assert!(reply.status.is_success(), "{uri}: {:#}", reply.body);
    reply.body
}

/// A new API key with `role` in `project`, made by the admin: its id and the key.
pub async fn new_key(router: &herald_api::Router, role: &str, project: &str) -> (String, String) {
    let body = serde_json::json!({"role": role, "project": project});
    let reply = call(
        router,
        Method::POST,
        "/v1/keys",
        Some(crate::ADMIN_TOKEN),
        &body,
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let text = |name: &str| reply.body[name].as_str().expect(name).to_owned();
    (text("id"), text("key"))
}

/// GETs raw bytes (pictures): the status, the content type and the body.
pub async fn get_bytes(
    router: &herald_api::Router,
    uri: &str,
    token: &str,
) -> (StatusCode, Option<String>, Vec<u8>) {
    exchange(router, Method::GET, uri, Some(token), Vec::new()).await
}

/// GETs raw bytes with no key at all (what a chat client fetching a signed link does).
pub async fn get_bytes_without_key(
    router: &herald_api::Router,
    uri: &str,
) -> (StatusCode, Option<String>, Vec<u8>) {
    exchange(router, Method::GET, uri, None, Vec::new()).await
}
