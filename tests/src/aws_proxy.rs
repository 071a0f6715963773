//! A pass-through HTTP proxy in front of the AWS endpoint (moto) that can fail chosen requests with
//! the 500 InternalServerError DynamoDB answers in an outage, so a test sees what a function does
//! when its store fails under it, over the real wire and the SDK's own retries.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    /// Requests whose body contains this fail.
    failing: Arc<Mutex<Option<String>>>,
    failed: Arc<Mutex<usize>>,
    /// Requests seen, by their `x-amz-target` (e.g. `DynamoDB_20120810.Query`).
    seen: Arc<Mutex<std::collections::HashMap<String, usize>>>,
    /// Every request with a target: the target and its JSON body, in order.
    calls: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

pub struct FaultyAws {
    pub url: String,
    proxy: Proxy,
}

impl FaultyAws {
    /// Proxies to `upstream` (e.g. moto's AWS_ENDPOINT_URL).
    pub async fn start(upstream: &str) -> Self {
        let proxy = Proxy {
            upstream: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            failing: Arc::default(),
            failed: Arc::default(),
            seen: Arc::default(),
            calls: Arc::default(),
        };
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(proxy.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind aws proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, proxy }
    }

    /// From now on, every request whose body contains `needle` answers 500.
    pub fn fail_requests_containing(&self, needle: &str) {
        *self.proxy.failing.lock().expect("failing") = Some(needle.to_owned());
    }

    pub fn heal(&self) {
        *self.proxy.failing.lock().expect("failing") = None;
    }

    /// How many requests with this `x-amz-target` went through (failed ones included).
    pub fn requests(&self, target: &str) -> usize {
        let seen = self.proxy.seen.lock().expect("seen");
        seen.get(target).copied().unwrap_or(0)
    }

    /// Every request with an `x-amz-target` so far: the target and its JSON body.
    pub fn calls(&self) -> Vec<(String, serde_json::Value)> {
        self.proxy.calls.lock().expect("calls").clone()
    }

    /// How many requests were failed.
    pub fn failed(&self) -> usize {
        *self.proxy.failed.lock().expect("failed")
    }
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(target) = headers.get("x-amz-target").and_then(|t| t.to_str().ok()) {
        *proxy
            .seen
            .lock()
            .expect("seen")
            .entry(target.to_owned())
            .or_default() += 1;
        let json = serde_json::from_slice(&body).unwrap_or_default();
        proxy
            .calls
            .lock()
            .expect("calls")
            .push((target.to_owned(), json));
    }
    let failing = proxy.failing.lock().expect("failing").clone();
    if let Some(needle) = failing
        && String::from_utf8_lossy(&body).contains(&needle)
    {
        *proxy.failed.lock().expect("failed") += 1;
        let error = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected by the test proxy"}"#;
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "application/x-amz-json-1.0")],
            error,
        )
            .into_response();
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = proxy
        .http
        .request(method, format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let mut out = HeaderMap::new();
            for (name, value) in answer.headers() {
                if name != "content-length" && name != "transfer-encoding" {
                    out.append(name, value.clone());
                }
            }
            let bytes = answer.bytes().await.unwrap_or_default();
            (status, out, bytes).into_response()
        }
        Err(err) => (StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
    }
}
