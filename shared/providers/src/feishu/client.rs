//! The Feishu client: tenant token (cached, single-flight), `batch_get_id` look-ups (cached) and
//! `im/v1/messages` with a per-app rate limit that callers wait on.
use super::body::Body;
use super::content::message_body;
use super::directory::{BATCH_MAX, BatchData, LookupCache, lookup_key};
use super::errors::{RATE_LIMITED, Verdict, classify, rate_limit_error};
pub use super::limits::FeishuLimits;
use crate::error::failure;
use crate::http::{header_seconds, retry_after, status_error, transport_error};
use crate::time::Time;
use crate::token::{CredentialKey, IssuedToken, TokenCache};
use crate::window::{WindowLimiter, WindowQuota};
use herald_core::domain::channels::FeishuCredentials;
use herald_core::domain::image::ImageRef;
use herald_core::domain::message::{FeishuBody, FeishuMessage, FeishuRecipient};
use herald_core::domain::recipients::{EmailAddress, FeishuOpenId};
use herald_core::ports::{SendError, SendFailure, SendReceipt};
use herald_core::services::images::{Images, Uploaded};
use reqwest::header::CONTENT_TYPE;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tracing::Instrument;

/// Feishu's public API (Lark: `https://open.larksuite.com`).
pub const FEISHU_BASE_URL: &str = "https://open.feishu.cn";
/// Tenant tokens are refreshed when less than this is left (Feishu then issues a new one).
const REFRESH_EARLY: Duration = Duration::from_secs(30 * 60);
/// How many rate-limit answers one call waits out before giving up with `RateLimited`.
const RATE_LIMIT_RETRIES: u32 = 3;
const PROVIDER: &str = "Feishu";
const JSON_UTF8: &str = "application/json; charset=utf-8";

/// Sends Feishu messages. Build one per process (see `HttpProviders`).
pub struct FeishuClient {
    base_url: String,
    http: reqwest::Client,
    tokens: TokenCache,
    lookups: LookupCache,
    limiter: WindowLimiter,
    /// Each group chat's 5 messages a second, shared by every bot in it.
    chats: WindowLimiter,
    limits: FeishuLimits,
    time: Time,
    images: Images,
}

/// How long Herald reuses an image key (Feishu keeps message images; a month is well within).
const IMAGE_KEY_REUSE: chrono::Duration = chrono::Duration::days(30);

/// Every field a Feishu answer may carry. Not `Debug`: it may hold a token. `code` is required: a
/// 200 answer without one (a proxy's or a captive portal's `{}`) is not a success.
#[derive(Deserialize, Default)]
struct Reply {
    code: i64,
    #[serde(default)]
    msg: String,
    tenant_access_token: Option<String>,
    expire: Option<u64>,
    #[serde(default)]
    data: Value,
    /// `{"log_id", "field_violations": [{"field", "description"}]}` on errors.
    #[serde(default)]
    error: Value,
}

impl Reply {
    /// `msg`, with the fields Feishu's validation names (99992402).
    fn message(&self) -> String {
        let violations: Vec<String> = self.error["field_violations"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|v| {
                let field = v["field"].as_str().unwrap_or("?");
                match v["description"].as_str() {
                    Some(why) => format!("{field}: {why}"),
                    None => field.to_owned(),
                }
            })
            .collect();
        match violations.is_empty() {
            true => self.msg.clone(),
            false => format!("{} ({})", self.msg, violations.join("; ")),
        }
    }
}

/// A Feishu answer: data, or a code to act on.
enum Answer {
    Data(Value),
    Code {
        code: i64,
        msg: String,
        reset: Option<Duration>,
    },
}

/// The APIs, each with its own rate limit.
#[derive(Debug, Clone, Copy)]
enum Api {
    BatchGetId,
    Send,
    UploadImage,
    UploadFile,
}

impl FeishuClient {
    pub(crate) fn new(
        base_url: String,
        http: reqwest::Client,
        limits: FeishuLimits,
        time: Time,
        images: Images,
        shared: Option<crate::window::SharedWindowsRef>,
    ) -> Self {
        Self {
            base_url,
            http,
            tokens: TokenCache::new(REFRESH_EARLY, time.clone()),
            lookups: LookupCache::new(limits.lookup_ttl, time.clone()),
            limiter: WindowLimiter::new(limits.quota.clone(), time.clone()).shared(shared.clone()),
            chats: WindowLimiter::new(WindowQuota::feishu_chat(), time.clone()).shared(shared),
            limits,
            time,
            images,
        }
    }

    /// The key of `upload` for this app: a picture's `image_key` (`im/v1/images`), a file's
    /// `file_key` (`im/v1/files`); uploaded the first time, shared by every message after
    /// (provider-apis.md §8.1).
    async fn upload_key(
        &self,
        creds: &FeishuCredentials,
        key: &CredentialKey,
        (upload, is_file): (&ImageRef, bool),
    ) -> Result<(String, String), SendError> {
        let (scope, api, path, answer) = if is_file {
            let scope =
                crate::http::file_scope(&format!("feishu:{}", creds.settings.app_id), upload);
            (scope, Api::UploadFile, "/open-apis/im/v1/files", "file_key")
        } else {
            let scope = format!("feishu:{}", creds.settings.app_id);
            (
                scope,
                Api::UploadImage,
                "/open-apis/im/v1/images",
                "image_key",
            )
        };
        let send = |bytes: std::sync::Arc<Vec<u8>>| async move {
            let name = crate::http::upload_name(upload);
            let body = if is_file {
                Body::File(bytes, name)
            } else {
                Body::Image(bytes, name)
            };
            let data = self.call(creds, key, api, path, body).await?;
            match data
                .get(answer)
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
            {
                Some(uploaded) => Ok(Uploaded {
                    key: uploaded.to_owned(),
                    expires_at: self.time.now() + IMAGE_KEY_REUSE,
                }),
                None => Err(failure(
                    SendFailure::Transient,
                    None,
                    format!("Feishu {path} answered without an {answer}"),
                )),
            }
        };
        self.images
            .upload(&scope, upload, send)
            .await
            .map_err(|mut e| {
                e.message = if is_file {
                    format!("uploading the file {}: {}", upload.name, e.message)
                } else {
                    format!("uploading the snapshot: {}", e.message)
                };
                tracing::warn!(code = ?e.code, class = ?e.failure, "Feishu upload failed");
                e
            })
    }

    /// The open id of each e-mail and mobile (`None`: no such user in the app's scope), from the
    /// cache or `batch_get_id` in chunks of 50 per list (120 e-mails take 3 calls).
    pub async fn resolve(
        &self,
        creds: &FeishuCredentials,
        emails: &[EmailAddress],
        mobiles: &[String],
    ) -> Result<HashMap<FeishuRecipient, Option<FeishuOpenId>>, SendError> {
        let app_id = creds.settings.app_id.as_str();
        let wanted: Vec<FeishuRecipient> = emails
            .iter()
            .cloned()
            .map(FeishuRecipient::Email)
            .chain(mobiles.iter().cloned().map(FeishuRecipient::Mobile))
            .collect();
        let mut known: HashMap<String, Option<FeishuOpenId>> = HashMap::new();
        let mut missing_emails: Vec<EmailAddress> = Vec::new();
        let mut missing_mobiles: Vec<String> = Vec::new();
        for who in &wanted {
            let Some(key) = lookup_key(who) else { continue };
            if known.contains_key(&key) {
                continue;
            }
            if let Some(cached) = self.lookups.get(app_id, &key) {
                known.insert(key, cached);
                continue;
            }
            match who {
                FeishuRecipient::Email(e) => missing_emails.push(e.clone()),
                FeishuRecipient::Mobile(m) => missing_mobiles.push(m.clone()),
                FeishuRecipient::OpenId(_) | FeishuRecipient::Chat(_) => {}
            }
            known.insert(key, None); // placeholder: a key not answered counts as not found
        }
        let (email_chunks, mobile_chunks): (Vec<_>, Vec<_>) = (
            missing_emails.chunks(BATCH_MAX).collect(),
            missing_mobiles.chunks(BATCH_MAX).collect(),
        );
        let calls = email_chunks.len().max(mobile_chunks.len());
        if calls > 0 {
            tracing::debug!(
                app_id,
                calls,
                emails = missing_emails.len(),
                mobiles = missing_mobiles.len(),
                "Feishu look-up"
            );
        }
        let key = CredentialKey::new(app_id, &creds.app_secret);
        for i in 0..calls {
            let chunk_emails = email_chunks.get(i).copied().unwrap_or_default();
            let chunk_mobiles = mobile_chunks.get(i).copied().unwrap_or_default();
            let mut body = json!({ "include_resigned": false });
            if !chunk_emails.is_empty() {
                body["emails"] = json!(chunk_emails);
            }
            if !chunk_mobiles.is_empty() {
                body["mobiles"] = json!(chunk_mobiles);
            }
            let body = serde_json::to_vec(&body).map_err(|e| {
                failure(
                    SendFailure::Payload,
                    None,
                    format!("look-up cannot be encoded: {e}"),
                )
            })?;
            let path = "/open-apis/contact/v3/users/batch_get_id?user_id_type=open_id";
            let data = self
                .call(creds, &key, Api::BatchGetId, path, Body::Json(body))
                .await?;
            let data: BatchData = serde_json::from_value(data).unwrap_or_default();
            let found: HashMap<String, Option<FeishuOpenId>> = data
                .user_list
                .iter()
                .filter_map(|entry| entry.found())
                .collect();
            let queried = chunk_emails
                .iter()
                .cloned()
                .map(FeishuRecipient::Email)
                .chain(chunk_mobiles.iter().cloned().map(FeishuRecipient::Mobile));
            for who in queried {
                if let Some(key) = lookup_key(&who) {
                    let id = found.get(&key).cloned().flatten();
                    self.lookups.put(app_id, key.clone(), id.clone());
                    known.insert(key, id);
                }
            }
        }
        Ok(wanted
            .into_iter()
            .filter_map(|who| {
                let id = known.get(&lookup_key(&who)?).cloned().flatten();
                Some((who, id))
            })
            .collect())
    }

    /// Sends one message to one user, resolving an e-mail or mobile first (cached). The uuid is
    /// derived from `idempotency_key`, so Feishu delivers a retried send once (within an hour).
    pub async fn send(
        &self,
        creds: &FeishuCredentials,
        msg: &FeishuMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, SendError> {
        let span =
            tracing::info_span!("feishu_send", app_id = %creds.settings.app_id, idempotency_key);
        async {
            let (id_type, receive_id) = self.receiver(creds, &msg.to).await?;
            if id_type == "chat_id" {
                self.chats.acquire(&receive_id).await.map_err(|wait| {
                    crate::error::held_back(
                        wait,
                        "held back: the chat's 5 messages a second are in use",
                    )
                })?;
            }
            let key = CredentialKey::new(&creds.settings.app_id, &creds.app_secret);
            let image = match &msg.body {
                FeishuBody::Post { image, .. } | FeishuBody::Interactive { image, .. } => {
                    image.as_ref()
                }
                FeishuBody::Text { .. } | FeishuBody::File { .. } => None,
            };
            // A picture Feishu refuses for good must not keep the figures from going out.
            let (mut upload_key, mut upload_note) = match image {
                Some(image) => match self.upload_key(creds, &key, (image, false)).await {
                    Ok((image_key, note)) => (
                        Some(image_key.clone()),
                        Some(format!("; snapshot: {note}, image key {image_key}")),
                    ),
                    Err(e) if e.failure == SendFailure::Payload => {
                        (None, Some(format!("; snapshot: not sent: {}", e.message)))
                    }
                    Err(e) => return Err(e),
                },
                None => (None, None),
            };
            if let FeishuBody::File { file } = &msg.body {
                // An attachment is the whole message: an upload Feishu refuses fails it.
                let (file_key, note) = self.upload_key(creds, &key, (file, true)).await?;
                upload_note = Some(format!("; file {}: {note}, file key {file_key}", file.name));
                upload_key = Some(file_key);
            }
            let body = message_body(
                &receive_id,
                &msg.body,
                upload_key.as_deref(),
                idempotency_key,
            )?;
            let path = format!("/open-apis/im/v1/messages?receive_id_type={id_type}");
            let data = self
                .call(creds, &key, Api::Send, &path, Body::Json(body))
                .await
                .inspect_err(|e| {
                    tracing::warn!(code = ?e.code, class = ?e.failure, "Feishu send failed");
                })?;
            let message_id = data
                .get("message_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            tracing::info!(message_id, "Feishu send ok");
            let snapshot = upload_note.unwrap_or_default();
            Ok(SendReceipt {
                answer: format!("ok: message {message_id}{snapshot}"),
                message_ids: vec![message_id]
                    .into_iter()
                    .filter(|m| !m.is_empty())
                    .collect(),
                invalid_recipients: Vec::new(),
            })
        }
        .instrument(span)
        .await
    }

    /// Where a message goes: (`receive_id_type`, `receive_id`). A group chat by its id; a user by
    /// open id, an e-mail or mobile resolved to it first.
    async fn receiver(
        &self,
        creds: &FeishuCredentials,
        to: &FeishuRecipient,
    ) -> Result<(&'static str, String), SendError> {
        let (emails, mobiles, what) = match to {
            FeishuRecipient::Chat(chat) => return Ok(("chat_id", chat.to_string())),
            FeishuRecipient::OpenId(id) => return Ok(("open_id", id.to_string())),
            FeishuRecipient::Email(e) => (vec![e.clone()], vec![], format!("e-mail {e}")),
            FeishuRecipient::Mobile(m) => (vec![], vec![m.clone()], format!("mobile {m}")),
        };
        let found = self.resolve(creds, &emails, &mobiles).await?;
        let open_id = found.get(to).cloned().flatten().ok_or_else(|| {
            let error = failure(
                SendFailure::Recipient,
                None,
                format!("no Feishu user has the {what}"),
            );
            crate::error::with_hint(
                error,
                "the user may not exist, have resigned, or be outside the app's contact scope",
            )
        })?;
        Ok(("open_id", open_id.to_string()))
    }

    /// One API call with the cached token: a token error refetches once; a short rate limit is
    /// waited out (up to 3 times).
    async fn call(
        &self,
        creds: &FeishuCredentials,
        key: &CredentialKey,
        api: Api,
        path: &str,
        body: Body,
    ) -> Result<Value, SendError> {
        let url = self.url(path)?;
        let (mut refetched, mut waits) = (false, 0);
        loop {
            self.permit(&creds.settings.app_id, api).await?;
            let token = self.tokens.get(key, || self.fetch_token(creds)).await?;
            let request = self
                .http
                .post(url.clone())
                .bearer_auth(token.expose_secret());
            let request = match body.form()? {
                None => request.header(CONTENT_TYPE, JSON_UTF8).body(body.json()),
                Some(form) => request
                    .timeout(crate::http::upload_timeout(body.upload_len()))
                    .multipart(form),
            };
            let response = request
                .send()
                .await
                .map_err(|e| transport_error(PROVIDER, e))?;
            let (code, msg, reset) = match read(response).await? {
                (Answer::Data(data), _) => return Ok(data),
                (Answer::Code { code, msg, reset }, _) => (code, msg, reset),
            };
            match classify(code, &msg, reset) {
                Verdict::TokenInvalid if !refetched => {
                    tracing::info!(code, "Feishu token refused: fetching a new one");
                    self.tokens.invalidate(key, &token).await;
                    refetched = true;
                }
                Verdict::TokenInvalid => {
                    return Err(failure(
                        SendFailure::Transient,
                        Some(code),
                        format!("Feishu refused a freshly fetched token: {msg}"),
                    ));
                }
                Verdict::RateLimited(wait)
                    if waits < RATE_LIMIT_RETRIES && wait <= self.limits.max_inline_wait =>
                {
                    tracing::info!(
                        code,
                        wait_ms = wait.as_millis(),
                        ?api,
                        "Feishu rate limit: waiting"
                    );
                    waits += 1;
                    self.time.sleep(wait).await;
                }
                Verdict::RateLimited(wait) => return Err(rate_limit_error(Some(code), wait)),
                Verdict::Fail(error) => return Err(error),
            }
        }
    }

    async fn fetch_token(&self, creds: &FeishuCredentials) -> Result<IssuedToken, SendError> {
        let url = self.url("/open-apis/auth/v3/tenant_access_token/internal")?;
        let body = json!({
            "app_id": creds.settings.app_id,
            "app_secret": creds.app_secret.expose_secret(),
        });
        tracing::debug!("fetching a Feishu tenant token");
        let response = self
            .http
            .post(url)
            .header(CONTENT_TYPE, JSON_UTF8)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| transport_error(PROVIDER, e))?;
        match read(response).await? {
            (Answer::Data(_), reply) => match reply.tenant_access_token.filter(|t| !t.is_empty()) {
                Some(token) => Ok(IssuedToken {
                    token: SecretString::from(token),
                    lifetime: Duration::from_secs(reply.expire.unwrap_or(7200)),
                }),
                None => Err(failure(
                    SendFailure::Transient,
                    None,
                    "Feishu answered without a tenant token",
                )),
            },
            (Answer::Code { code, msg, reset }, _) => {
                let error = match classify(code, &msg, reset) {
                    Verdict::Fail(error) => error,
                    Verdict::RateLimited(wait) => rate_limit_error(Some(code), wait),
                    Verdict::TokenInvalid => failure(SendFailure::Transient, Some(code), msg),
                };
                tracing::warn!(code = ?error.code, class = ?error.failure, "Feishu tenant token failed");
                Err(error)
            }
        }
    }

    /// Waits for a slot of the app's rate limit for `api`; `RateLimited` if none is near.
    async fn permit(&self, app_id: &str, api: Api) -> Result<(), SendError> {
        let key = format!("{app_id} {api:?}");
        self.limiter.acquire(&key).await.map_err(|wait| {
            crate::error::held_back(
                wait,
                "held back: Feishu's quota (50 calls a second and 1,000 a minute per app) is in use",
            )
        })
    }

    fn url(&self, path_and_query: &str) -> Result<reqwest::Url, SendError> {
        reqwest::Url::parse(&format!("{}{path_and_query}", self.base_url))
            .map_err(|_| failure(SendFailure::Config, None, "the Feishu base URL is invalid"))
    }
}

impl std::fmt::Debug for FeishuClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeishuClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Reads a Feishu answer: the body `code` decides; HTTP 429 without a code is a rate limit.
async fn read(response: reqwest::Response) -> Result<(Answer, Reply), SendError> {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| transport_error(PROVIDER, e))?;
    answer_of(status, &headers, &bytes)
}

/// What a message answer means, by the same steps a send takes: `Ok(true)` sent, `Ok(false)` the
/// token must be fetched again, a rate limit as the error a send gives up with. For the fuzz
/// targets (`fuzz/`).
#[doc(hidden)]
pub fn judge_send_answer(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    bytes: &[u8],
) -> Result<bool, SendError> {
    match answer_of(status, headers, bytes)?.0 {
        Answer::Data(_) => Ok(true),
        Answer::Code { code, msg, reset } => match classify(code, &msg, reset) {
            Verdict::TokenInvalid => Ok(false),
            Verdict::RateLimited(wait) => Err(rate_limit_error(Some(code), wait)),
            Verdict::Fail(error) => Err(error),
        },
    }
}

fn answer_of(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    bytes: &[u8],
) -> Result<(Answer, Reply), SendError> {
    let reset = header_seconds(headers, "x-ogw-ratelimit-reset").or_else(|| retry_after(headers));
    let parsed = serde_json::from_slice::<Reply>(bytes).ok();
    match parsed {
        Some(reply) if reply.code != 0 => {
            let answer = Answer::Code {
                code: reply.code,
                msg: reply.message(),
                reset,
            };
            Ok((answer, reply))
        }
        Some(reply) if status.is_success() => Ok((Answer::Data(reply.data.clone()), reply)),
        _ if status == reqwest::StatusCode::TOO_MANY_REQUESTS => {
            let answer = Answer::Code {
                code: RATE_LIMITED,
                msg: "HTTP 429".into(),
                reset,
            };
            Ok((answer, Reply::default()))
        }
        None if status.is_success() => Err(failure(
            SendFailure::Transient,
            Some(i64::from(status.as_u16())),
            "Feishu answered without a code: a proxy or captive portal may be in the way",
        )),
        _ => Err(status_error(PROVIDER, status, headers)),
    }
}
