//! DingTalk: a corp app's work notices and custom group robots.
pub mod app;
pub mod errors;
pub mod robot;

/// DingTalk's server API (`oapi`).
pub const DINGTALK_BASE_URL: &str = "https://oapi.dingtalk.com";

/// Every field a DingTalk `oapi` answer may carry. Not `Debug`: it may hold an access token.
/// `errcode` is required: a 200 answer without one (a proxy's `{}`) is not a success.
#[derive(serde::Deserialize, Default)]
pub(crate) struct Reply {
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
    /// The real code of an errcode 88 (`鉴权异常`), as a string: `"40014"` for a bad token.
    #[serde(default)]
    pub sub_code: Option<String>,
    pub access_token: Option<String>,
    pub expires_in: Option<u64>,
    pub media_id: Option<String>,
    pub task_id: Option<i64>,
    /// `getsendresult`'s answer.
    pub send_result: Option<SendResult>,
}

/// What became of a work notice per member (`getsendresult`, D3): every list may be absent.
#[derive(serde::Deserialize, Default)]
pub(crate) struct SendResult {
    #[serde(default)]
    pub invalid_user_id_list: Vec<String>,
    #[serde(default)]
    pub forbidden_list: Vec<Forbidden>,
}

/// A member DingTalk did not deliver to: `code` "143105" (500 a day reached) or "143106" (the
/// same content already that day).
#[derive(serde::Deserialize)]
pub(crate) struct Forbidden {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub userid: String,
}

/// Reads a DingTalk JSON answer; 429, 5xx and unreadable bodies are classified by status.
pub(crate) async fn read_reply(
    provider: &str,
    response: reqwest::Response,
) -> Result<Reply, herald_core::ports::SendError> {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| crate::http::transport_error(provider, e))?;
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(crate::http::status_error(provider, status, &headers));
    }
    match serde_json::from_slice::<Reply>(&bytes) {
        Ok(reply) => Ok(reply),
        Err(_) if status.is_success() => Err(crate::error::failure(
            herald_core::ports::SendFailure::Transient,
            Some(i64::from(status.as_u16())),
            format!("{provider} answered HTTP 200 without an errcode: a proxy may be in the way"),
        )),
        Err(_) => Err(crate::http::status_error(provider, status, &headers)),
    }
}
