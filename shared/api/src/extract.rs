//! Extractors: the caller's identity, JSON bodies parsed with the path of the bad field, path ids.
use crate::AppState;
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use bytes::Bytes;
use herald_core::domain::auth::Principal;
use herald_core::domain::ids::{ProjectId, TaskId};
use serde::de::DeserializeOwned;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The authenticated caller.
pub struct Caller(pub Principal);

/// A caller the console has already authenticated (its session cookie and, for writes, its CSRF
/// token), attached to the requests the console makes to this Router in process. Extensions never
/// come from the wire, so no outside request can carry one.
#[derive(Debug, Clone)]
pub struct SignedInCaller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(SignedInCaller(who)) = parts.extensions.get::<SignedInCaller>() {
            return Ok(Self(who.clone()));
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthenticated("missing Authorization: Bearer <key>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthenticated("the Authorization header must be 'Bearer <key>'")
            })?;
        Ok(Self(state.keys.authenticate(token).await?))
    }
}

/// A request body, read (up to the size limit) but not yet parsed, so handlers can check permissions
/// before they judge the body.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(MAX_BODY_BYTES)
            } else {
                ApiError::invalid("body", rejection.body_text())
            }
        })?;
        Ok(Self(bytes))
    }
}

impl RawBody {
    fn is_empty(&self) -> bool {
        self.0.iter().all(u8::is_ascii_whitespace)
    }

    /// Parses JSON: unknown fields refused, errors naming the path of the bad field (`schedule.at`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.is_empty() {
            return Err(ApiError::invalid("body", "a JSON body is required"));
        }
        parse_json(&self.0)
    }

    /// Like `json`, but no body at all means the default.
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.is_empty() {
            Ok(T::default())
        } else {
            parse_json(&self.0)
        }
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            // Where a parser stopped in broken JSON is no field of ours.
            return ApiError::invalid("body", format!("is not valid JSON: {inner}"));
        }
        ApiError::invalid(field_of(&path, &inner.to_string()), inner.to_string())
    })?;
    deserializer.end().map_err(|err| {
        ApiError::invalid(
            "body",
            format!("has trailing data after the JSON value: {err}"),
        )
    })?;
    Ok(value)
}

/// Parses a query string, naming the bad parameter.
pub fn parse_query<T: DeserializeOwned>(query: Option<&str>) -> Result<T, ApiError> {
    let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes());
    let deserializer = serde_urlencoded::Deserializer::new(pairs);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = match message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split_once('`'))
        {
            Some((name, _)) => name.to_owned(),
            None => field_of(&path, &message),
        };
        ApiError::invalid(
            if field == "body" {
                "query".to_owned()
            } else {
                field
            },
            message,
        )
    })
}

/// The path of the bad field; serde names a missing field only in its message, so it is appended.
fn field_of(path: &str, message: &str) -> String {
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (path, missing) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (parent, None) => parent.to_owned(),
    }
}

pub fn project_id(raw: &str) -> Result<ProjectId, ApiError> {
    ProjectId::parse(raw).map_err(|m| ApiError::invalid("project", m))
}

/// A task id in a path: anything that is not one names no task.
pub fn task_id(raw: &str) -> Result<TaskId, ApiError> {
    TaskId::parse(raw).map_err(|_| ApiError::not_found("task"))
}
