//! Calls to the JSON API's Router in process, as the signed-in caller.
use crate::Console;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use herald_api::extract::SignedInCaller;
use herald_core::domain::auth::Principal;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The largest API answer a page reads (a record's details with its deliveries).
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// An API answer: its status and JSON body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub json: Value,
}

/// An API error answer, as the API's error body gives it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Failure {
    #[serde(skip)]
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
}

impl Answer {
    /// The body if the call succeeded, else the API's error.
    pub fn ok(self) -> Result<Value, Failure> {
        if self.status.is_success() {
            return Ok(self.json);
        }
        let error = &self.json["error"];
        Err(Failure {
            status: self.status,
            code: error["code"].as_str().unwrap_or("unavailable").to_owned(),
            message: error["message"]
                .as_str()
                .unwrap_or("the service did not answer")
                .to_owned(),
            field: error["field"].as_str().map(str::to_owned),
        })
    }
}

impl Console {
    /// The service's now (its clock, which tests set).
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.tasks.now()
    }

    fn request(who: &Principal, method: Method, path: &str, body: Option<&Value>) -> Request<Body> {
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_default();
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap_or_default();
        request.extensions_mut().insert(SignedInCaller(who.clone()));
        request
    }

    /// Calls `path` of the API (`/v1/...`) as `who`.
    pub(crate) async fn call(
        &self,
        who: &Principal,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let response = self.raw(who, method, path, body).await;
        let status = response.status();
        let bytes = match http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(err) => {
                tracing::warn!(error = %err, path, "an API answer could not be read");
                return unavailable();
            }
        };
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Answer { status, json }
    }

    /// The API's response as it is (pictures are passed through to the browser).
    pub(crate) async fn raw(
        &self,
        who: &Principal,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let request = Self::request(who, method, path, body);
        match self.api.clone().oneshot(request).await {
            Ok(response) => response.into_response(),
            Err(never) => match never {},
        }
    }

    pub(crate) async fn get(&self, who: &Principal, path: &str) -> Result<Value, Failure> {
        self.call(who, Method::GET, path, None).await.ok()
    }

    /// One page (`limit` items, from `cursor`) of an API listing such as `/v1/keys`.
    pub(crate) async fn get_page(
        &self,
        who: &Principal,
        api: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Value, Failure> {
        let mut path = format!("{api}?limit={limit}");
        if let Some(cursor) = cursor {
            path.push_str("&cursor=");
            path.extend(url::form_urlencoded::byte_serialize(cursor.as_bytes()));
        }
        self.get(who, &path).await
    }

    pub(crate) async fn post(
        &self,
        who: &Principal,
        path: &str,
        body: &Value,
    ) -> Result<Value, Failure> {
        self.call(who, Method::POST, path, Some(body)).await.ok()
    }
}

fn unavailable() -> Answer {
    Answer {
        status: StatusCode::SERVICE_UNAVAILABLE,
        json: serde_json::json!({"error": {"code": "unavailable", "message": "the service did not answer"}}),
    }
}
