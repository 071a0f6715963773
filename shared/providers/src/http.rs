//! The shared HTTP clients (one per process, plus one per distinct forward proxy) and the mapping of
//! transport failures, HTTP statuses and rate-limit headers onto `SendError`.
use crate::error::{BuildError, failure, rate_limited, with_hint};
use herald_core::ports::{SendError, SendFailure};
use reqwest::header::HeaderMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Timeouts for every provider call.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// The whole request, connect to last body byte.
    pub request: Duration,
    pub connect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            request: Duration::from_secs(15),
            connect: Duration::from_secs(5),
        }
    }
}

/// One `reqwest::Client` for direct calls and one per distinct proxy URL, shared by all clients.
#[derive(Clone)]
pub struct HttpClients {
    direct: reqwest::Client,
    timeouts: Timeouts,
    // Keyed by the proxy URL; a std mutex is fine: it is never held across an await.
    proxied: Arc<Mutex<HashMap<String, reqwest::Client>>>,
}

impl HttpClients {
    pub fn new(timeouts: Timeouts) -> Result<Self, BuildError> {
        Ok(Self {
            direct: builder(timeouts).build().map_err(BuildError::Http)?,
            timeouts,
            proxied: Arc::default(),
        })
    }

    /// The direct client.
    pub fn direct(&self) -> reqwest::Client {
        self.direct.clone()
    }

    /// The client for `proxy` (built once per distinct URL), or the direct one.
    pub fn for_proxy(&self, proxy: Option<&str>) -> Result<reqwest::Client, SendError> {
        let Some(url) = proxy.map(str::trim).filter(|p| !p.is_empty()) else {
            return Ok(self.direct());
        };
        let mut proxied = self
            .proxied
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = proxied.get(url) {
            return Ok(client.clone());
        }
        // The proxy URL may carry a password: it is never part of a message or a log line.
        let bad_proxy = |_| {
            with_hint(
                failure(
                    SendFailure::Config,
                    None,
                    "the configured proxy is not a valid proxy URL",
                ),
                "set the proxy as http://host:port or https://host:port",
            )
        };
        let proxy = reqwest::Proxy::all(url).map_err(bad_proxy)?;
        let client = builder(self.timeouts)
            .proxy(proxy)
            .build()
            .map_err(bad_proxy)?;
        proxied.insert(url.to_owned(), client.clone());
        Ok(client)
    }

    #[cfg(test)]
    pub(crate) fn proxied_count(&self) -> usize {
        self.proxied.lock().map(|p| p.len()).unwrap_or(0)
    }
}

impl std::fmt::Debug for HttpClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClients")
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

fn builder(timeouts: Timeouts) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeouts.request)
        .connect_timeout(timeouts.connect)
        .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
}

/// A request that got no HTTP answer (connect error, timeout, reset): transient. The URL is
/// stripped because it may carry a secret (`corpsecret`, `access_token`, robot `key`).
pub(crate) fn transport_error(provider: &str, error: reqwest::Error) -> SendError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    let error = error.without_url();
    tracing::warn!(provider, error = %error, "provider call {kind}");
    let error = failure(
        SendFailure::Transient,
        None,
        format!("{provider} call {kind}: {error}"),
    );
    with_hint(
        error,
        "check the network path to the provider (proxy, DNS, firewall)",
    )
}

/// Seconds from `Retry-After` (delta-seconds form only).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_seconds(headers, "retry-after")
}

/// The longest wait a header may ask for; larger values (a misbehaving proxy) are capped.
pub const MAX_HEADER_WAIT: Duration = Duration::from_secs(3600);

/// Whole seconds from a numeric header, at most [`MAX_HEADER_WAIT`].
pub(crate) fn header_seconds(headers: &HeaderMap, name: &str) -> Option<Duration> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    value
        .parse::<u64>()
        .ok()
        .map(|secs| Duration::from_secs(secs).min(MAX_HEADER_WAIT))
}

/// How an HTTP status with no usable JSON body is classified.
pub(crate) fn status_error(
    provider: &str,
    status: reqwest::StatusCode,
    headers: &HeaderMap,
) -> SendError {
    let code = Some(i64::from(status.as_u16()));
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let wait = retry_after(headers).unwrap_or(Duration::from_secs(60));
        return rate_limited(wait, code, format!("{provider} answered HTTP 429"));
    }
    if status.is_server_error() {
        return failure(
            SendFailure::Transient,
            code,
            format!("{provider} answered HTTP {status}"),
        );
    }
    let error = failure(
        SendFailure::Config,
        code,
        format!("{provider} answered HTTP {status} without a readable body"),
    );
    with_hint(error, "check the provider's base URL and the proxy")
}

/// `base` + `path` with `query` appended (encoded once); a base URL that does not parse is a
/// settings error naming the provider.
pub(crate) fn endpoint(
    provider: &str,
    base: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Result<reqwest::Url, SendError> {
    let mut url = reqwest::Url::parse(&format!("{base}{path}")).map_err(|_| {
        crate::error::failure(
            SendFailure::Config,
            None,
            format!("the {provider} base URL is invalid"),
        )
    })?;
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Ok(url)
}

/// A picture as `media/upload` takes it (WeCom and DingTalk alike): a multipart form with the file
/// in the part `media`.
pub(crate) fn media_form(
    bytes: &[u8],
    image: &herald_core::domain::image::ImageRef,
) -> Result<reqwest::multipart::Form, SendError> {
    let part = reqwest::multipart::Part::bytes(bytes.to_vec())
        .file_name(upload_name(image))
        .mime_str(&image.content_type)
        .map_err(|e| failure(SendFailure::Payload, None, e.to_string()))?;
    // The name as written (UTF-8, as browsers send it): WeCom shows it to the reader as is.
    Ok(reqwest::multipart::Form::new()
        .percent_encode_noop()
        .part("media", part))
}

/// Where an attachment's upload is kept: the provider shows the name sent with the upload, so
/// the same bytes under another name (tomorrow's file, another chart's, another project's) are
/// another upload.
pub(crate) fn file_scope(app: &str, file: &herald_core::domain::image::ImageRef) -> String {
    use sha2::{Digest, Sha256};
    let name = hex::encode(Sha256::digest(file.name.as_bytes()));
    format!("{app}:file:{}:{}", file.project, &name[..16])
}

/// How long an upload of `bytes` may take: the client's 15 s, and a second for each 512 KiB
/// (a 30 MB file over a 4 Mbit/s link), at most 90 s (a delivery attempt has 120).
pub(crate) fn upload_timeout(bytes: usize) -> std::time::Duration {
    let seconds = 15 + (bytes / (512 * 1024)) as u64;
    std::time::Duration::from_secs(seconds.min(90))
}

/// The file name an upload carries: a picture's name with `.png`, an attachment's own.
pub(crate) fn upload_name(image: &herald_core::domain::image::ImageRef) -> String {
    if image.content_type == "image/png" {
        format!("{}.png", image.name)
    } else {
        image.name.clone()
    }
}

/// The upload a `media/upload` answer names, reused until `expires_at`; an answer without a
/// media id is a fault that may pass.
pub(crate) fn uploaded_media(
    provider: &str,
    media_id: Option<String>,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> Result<herald_core::services::images::Uploaded, SendError> {
    match media_id.filter(|m| !m.is_empty()) {
        Some(key) => Ok(herald_core::services::images::Uploaded { key, expires_at }),
        None => Err(failure(
            SendFailure::Transient,
            None,
            format!("{provider} media/upload answered without a media_id"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn one_client_per_distinct_proxy() {
        let clients = HttpClients::new(Timeouts::default()).unwrap();
        clients.for_proxy(Some("http://10.0.0.1:3128")).unwrap();
        clients.for_proxy(Some("http://10.0.0.1:3128")).unwrap();
        clients.for_proxy(Some("http://10.0.0.2:3128")).unwrap();
        clients.for_proxy(None).unwrap();
        clients.for_proxy(Some("  ")).unwrap();
        assert_eq!(clients.proxied_count(), 2);
    }

    #[test]
    fn a_bad_proxy_url_is_a_config_error_that_does_not_echo_it() {
        let clients = HttpClients::new(Timeouts::default()).unwrap();
        let err = clients.for_proxy(Some("::not a url:secretpw")).unwrap_err();
        assert_eq!(err.failure, SendFailure::Config);
        assert!(!err.message.contains("secretpw"));
    }

    #[test]
    fn statuses_map_to_failure_classes() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        let err = status_error("x", reqwest::StatusCode::TOO_MANY_REQUESTS, &headers);
        assert_eq!(
            err.failure,
            SendFailure::RateLimited {
                retry_after_ms: 7000
            }
        );
        // A proxy's absurd Retry-After is capped at an hour, never an overflow.
        headers.insert("retry-after", HeaderValue::from_static("10000000000000"));
        let err = status_error("x", reqwest::StatusCode::TOO_MANY_REQUESTS, &headers);
        assert_eq!(
            err.failure,
            SendFailure::RateLimited {
                retry_after_ms: 3_600_000
            }
        );
        assert_eq!(
            crate::time::delta(std::time::Duration::MAX),
            chrono::TimeDelta::days(1)
        );
        let err = status_error("x", reqwest::StatusCode::BAD_GATEWAY, &HeaderMap::new());
        assert_eq!(err.failure, SendFailure::Transient);
        let err = status_error("x", reqwest::StatusCode::NOT_FOUND, &HeaderMap::new());
        assert_eq!(err.failure, SendFailure::Config);
    }
}
