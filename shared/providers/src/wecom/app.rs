//! The WeCom self-built app client: `gettoken` (cached, single-flight) and `message/send`.
use super::block::AppBlocks;
use super::body::{media_body, message_bodies, takes_safe};
use super::errors::{Call, Verdict, classify};
use crate::error::{failure, with_hint};
use crate::http::{HttpClients, status_error, transport_error};
use crate::time::Time;
use crate::token::{CredentialKey, IssuedToken, TokenCache};
use crate::window::{NoSlot, WindowLimiter, WindowQuota};
use herald_core::domain::channels::WecomCredentials;
use herald_core::domain::image::ImageRef;
use herald_core::domain::message::WecomAppMessage;
use herald_core::domain::message::WecomBody;
use herald_core::ports::{SendError, SendFailure, SendReceipt};
use herald_core::services::images::Images;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;
use tracing::Instrument;

/// WeCom's public API.
pub const WECOM_BASE_URL: &str = "https://qyapi.weixin.qq.com";
/// Tokens are refreshed this long before WeCom says they expire.
const REFRESH_EARLY: Duration = Duration::from_secs(300);
const PROVIDER: &str = "WeCom";

/// Sends WeCom app messages. Build one per process (see `HttpProviders`).
pub struct WecomAppClient {
    base_url: String,
    http: HttpClients,
    tokens: TokenCache,
    images: Images,
    /// Apps WeCom answered 45009 for, and until when.
    blocks: AppBlocks,
    /// Messages per member of each app (WeCom drops what exceeds 30 a minute or 1,000 an hour).
    members: WindowLimiter,
}

/// What `media/upload` is given.
#[derive(Debug, Clone, Copy)]
enum MediaKind {
    Image,
    File,
}

/// How long Herald reuses a media id: WeCom keeps one for 3 days.
const MEDIA_ID_REUSE: chrono::Duration = chrono::Duration::hours(60);

/// Every field any WeCom answer may carry. Not `Debug`: it may hold an access token. `errcode` is
/// required: a 200 answer without one (a proxy's or a captive portal's `{}`) is not a success.
#[derive(Deserialize, Default)]
pub(crate) struct Reply {
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
    access_token: Option<String>,
    expires_in: Option<u64>,
    msgid: Option<String>,
    media_id: Option<String>,
    invaliduser: Option<String>,
    invalidparty: Option<String>,
    invalidtag: Option<String>,
    unlicenseduser: Option<String>,
}

impl Reply {
    /// The refused recipients: user ids lower-cased, departments as `party:ID`, tags as `tag:ID`.
    fn invalid_recipients(&self) -> Vec<String> {
        let ids = |field: &Option<String>| -> Vec<String> {
            field
                .as_deref()
                .unwrap_or("")
                .split('|')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let mut out: Vec<String> = ids(&self.invaliduser)
            .into_iter()
            .map(|u| u.to_lowercase())
            .collect();
        out.extend(
            ids(&self.unlicenseduser)
                .into_iter()
                .map(|u| u.to_lowercase()),
        );
        out.extend(
            ids(&self.invalidparty)
                .into_iter()
                .map(|p| format!("party:{p}")),
        );
        out.extend(
            ids(&self.invalidtag)
                .into_iter()
                .map(|t| format!("tag:{t}")),
        );
        out
    }
}

impl WecomAppClient {
    /// `base_url` without a trailing slash (checked by `HttpProviders::new`).
    pub(crate) fn new(
        base_url: String,
        http: HttpClients,
        time: Time,
        images: Images,
        member_quota: WindowQuota,
        shared: Option<crate::window::SharedWindowsRef>,
    ) -> Self {
        Self {
            base_url,
            http,
            tokens: TokenCache::new(REFRESH_EARLY, time.clone()),
            images,
            blocks: AppBlocks::new(time.clone()),
            members: WindowLimiter::new(member_quota, time).shared(shared),
        }
    }

    /// Sends `msg` (split into several messages if its text is too long). All parts go out or the
    /// first failure is returned; a retry resends every part and WeCom's duplicate check (same
    /// body within 30 min) keeps the parts that already went out from being delivered twice.
    pub async fn send(
        &self,
        creds: &WecomCredentials,
        msg: &WecomAppMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, SendError> {
        let settings = &creds.settings;
        let span = tracing::info_span!(
            "wecom_app_send",
            corp_id = %settings.corp_id,
            agent_id = settings.agent_id,
            idempotency_key,
            users = msg.to_users.len(),
            parts = tracing::field::Empty,
        );
        async {
            let mut bodies = message_bodies(msg, settings.agent_id, settings.encrypted)?;
            let client = self.http.for_proxy(
                creds
                    .proxy
                    .as_ref()
                    .map(secrecy::ExposeSecret::expose_secret),
            )?;
            let key = CredentialKey::new(&settings.corp_id, &creds.corp_secret);
            let mut receipt = SendReceipt::default();
            let mut upload_note = None;
            if let WecomBody::File { file } = &msg.body {
                // An attachment is the whole message: an upload WeCom refuses fails it.
                let (media_id, note) = self
                    .media_id(&client, creds, &key, (file, MediaKind::File))
                    .await?;
                let ids = ("file", media_id.as_str());
                bodies.push(media_body(msg, settings.agent_id, settings.encrypted, ids)?);
                upload_note = Some(format!("file {}: {note}, media id {media_id}", file.name));
            }
            if let Some(image) = &msg.image {
                // The picture goes first, so the reader sees it above the figures. A picture WeCom
                // refuses for good (format, size) must not keep the figures from going out.
                match self
                    .media_id(&client, creds, &key, (image, MediaKind::Image))
                    .await
                {
                    Ok((media_id, note)) => {
                        let ids = ("image", media_id.as_str());
                        bodies.insert(
                            0,
                            media_body(msg, settings.agent_id, settings.encrypted, ids)?,
                        );
                        upload_note = Some(format!("snapshot: {note}, media id {media_id}"));
                    }
                    Err(e) if e.failure == SendFailure::Payload => {
                        upload_note = Some(format!("snapshot: not sent: {}", e.message));
                    }
                    Err(e) => return Err(e),
                }
            }
            tracing::Span::current().record("parts", bodies.len());
            // A blocked app (45009) takes no member's slots.
            self.blocks
                .check(&format!("{}/{}", settings.corp_id, settings.agent_id))?;
            let held_back = self.hold_for_members(creds, msg, bodies.len()).await?;
            for (i, body) in bodies.iter().enumerate() {
                let reply = self
                    .send_body(&client, creds, &key, body)
                    .await
                    .map_err(|mut e| {
                        if bodies.len() > 1 {
                            e.message =
                                format!("part {} of {}: {}", i + 1, bodies.len(), e.message);
                        }
                        tracing::warn!(code = ?e.code, class = ?e.failure, "WeCom send failed");
                        e
                    })?;
                receipt
                    .message_ids
                    .extend(reply.msgid.clone().filter(|m| !m.is_empty()));
                for who in reply.invalid_recipients() {
                    if !receipt.invalid_recipients.contains(&who) {
                        receipt.invalid_recipients.push(who);
                    }
                }
            }
            receipt.answer = format!(
                "ok: {} message(s) sent, {} recipient(s) refused",
                bodies.len(),
                receipt.invalid_recipients.len()
            );
            if let Some(note) = upload_note {
                receipt.answer = format!("{}; {note}", receipt.answer);
            }
            if !held_back.is_zero() {
                receipt.answer = format!(
                    "{}; held back {} s for WeCom's per-member limit (30 messages a minute, 1,000 an hour)",
                    receipt.answer,
                    held_back.as_secs_f32().ceil()
                );
            }
            let unprotected = bodies
                .iter()
                .filter_map(|b| b["msgtype"].as_str())
                .find(|t| !takes_safe(t));
            if let Some(msgtype) = unprotected.filter(|_| settings.encrypted) {
                receipt.answer = format!(
                    "{}; not confidential: WeCom has no safe mode for {msgtype} (the text template has one)",
                    receipt.answer
                );
            }
            tracing::info!(refused = receipt.invalid_recipients.len(), "WeCom send ok");
            Ok(receipt)
        }
        .instrument(span)
        .await
    }

    /// Waits until each listed member of the app may get `messages` more (WeCom drops, silently,
    /// what exceeds 30 a minute or 1,000 an hour to one member of one app). A wait beyond the
    /// quota's bound re-queues the delivery for the slot instead (`RateLimited`). Departments, tags
    /// and `@all` cannot be counted here.
    async fn hold_for_members(
        &self,
        creds: &WecomCredentials,
        msg: &WecomAppMessage,
        messages: usize,
    ) -> Result<Duration, SendError> {
        let settings = &creds.settings;
        let mut members: Vec<String> = msg
            .to_users
            .iter()
            .map(|u| u.as_str())
            .filter(|u| *u != "@all")
            .map(|u| {
                format!(
                    "{}/{}/{}",
                    settings.corp_id,
                    settings.agent_id,
                    u.to_lowercase()
                )
            })
            .collect();
        // WeCom ids are case-insensitive: "Alice" and "alice" are one member, counted once.
        members.sort_unstable();
        members.dedup();
        if members.is_empty() {
            return Ok(Duration::ZERO);
        }
        match self.members.acquire_all(&members, messages).await {
            Ok(waited) => Ok(waited),
            Err(NoSlot::TooFar(wait)) => {
                tracing::info!(
                    wait_ms = wait.as_millis(),
                    "WeCom per-member limit: holding back"
                );
                Err(crate::error::held_back(
                    wait,
                    format!(
                        "held back: a member would get more than WeCom's 30 messages a minute or 1,000 an hour from this app (WeCom drops the excess silently); next slot in {} s",
                        wait.as_secs_f32().ceil()
                    ),
                ))
            }
            Err(NoSlot::TooMany { max }) => Err(failure(
                SendFailure::Payload,
                None,
                format!(
                    "the message takes {messages} WeCom messages, more than the {max} WeCom delivers to one member in a minute: shorten it"
                ),
            )),
        }
    }

    /// The media id of `image` (a picture or a file) for this corp: uploaded with `media/upload`
    /// the first time, shared by every batch after (provider-apis.md §8.1). Failures are
    /// classified like a send's.
    async fn media_id(
        &self,
        client: &reqwest::Client,
        creds: &WecomCredentials,
        key: &CredentialKey,
        (image, kind): (&ImageRef, MediaKind),
    ) -> Result<(String, String), SendError> {
        let media_type = match kind {
            MediaKind::Image => "image",
            MediaKind::File => "file",
        };
        let scope = match kind {
            MediaKind::Image => format!("wecom:{}", creds.settings.corp_id),
            MediaKind::File => {
                crate::http::file_scope(&format!("wecom:{}", creds.settings.corp_id), image)
            }
        };
        let upload = |bytes: std::sync::Arc<Vec<u8>>| async move {
            let reply = self
                .call(client, creds, key, |token| {
                    let url = self.url(
                        "/cgi-bin/media/upload",
                        &[("access_token", token), ("type", media_type)],
                    )?;
                    let form = crate::http::media_form(&bytes, image)?;
                    let timeout = crate::http::upload_timeout(bytes.len());
                    Ok(client.post(url).timeout(timeout).multipart(form))
                })
                .await?;
            crate::http::uploaded_media(
                PROVIDER,
                reply.media_id,
                self.images.now() + MEDIA_ID_REUSE,
            )
        };
        self.images
            .upload(&scope, image, upload)
            .await
            .map_err(|mut e| {
                e.message = match kind {
                    MediaKind::Image => format!("uploading the snapshot: {}", e.message),
                    MediaKind::File => format!("uploading the file {}: {}", image.name, e.message),
                };
                tracing::warn!(code = ?e.code, class = ?e.failure, "WeCom upload failed");
                e
            })
    }

    /// `message/send` with the cached token; on a token error the token is dropped, refetched and
    /// the call retried once.
    async fn send_body(
        &self,
        client: &reqwest::Client,
        creds: &WecomCredentials,
        key: &CredentialKey,
        body: &Value,
    ) -> Result<Reply, SendError> {
        self.call(client, creds, key, |token| {
            let url = self.url("/cgi-bin/message/send", &[("access_token", token)])?;
            Ok(client.post(url).json(body))
        })
        .await
    }

    /// A call with the cached token; on a token error the token is dropped, refetched and the
    /// call retried once.
    async fn call(
        &self,
        client: &reqwest::Client,
        creds: &WecomCredentials,
        key: &CredentialKey,
        request: impl Fn(&str) -> Result<reqwest::RequestBuilder, SendError>,
    ) -> Result<Reply, SendError> {
        let app = format!("{}/{}", creds.settings.corp_id, creds.settings.agent_id);
        let mut refetched = false;
        loop {
            self.blocks.check(&app)?;
            let token = self
                .tokens
                .get(key, || self.fetch_token(client, creds))
                .await?;
            let response = request(token.expose_secret())?.send().await;
            let reply = read_reply(response.map_err(|e| transport_error(PROVIDER, e))?).await?;
            if reply.errcode == 0 {
                self.blocks.clear(&app);
                return Ok(reply);
            }
            if reply.errcode == 45009 {
                return Err(self.blocks.hit(&app));
            }
            match classify(Call::Api, reply.errcode, &reply.errmsg) {
                Verdict::TokenInvalid if !refetched => {
                    tracing::info!(
                        code = reply.errcode,
                        "WeCom token refused: fetching a new one"
                    );
                    self.tokens.invalidate(key, &token).await;
                    refetched = true;
                }
                Verdict::TokenInvalid => return Err(token_refused_twice(&reply)),
                Verdict::Fail(error) => return Err(error),
            }
        }
    }

    async fn fetch_token(
        &self,
        client: &reqwest::Client,
        creds: &WecomCredentials,
    ) -> Result<IssuedToken, SendError> {
        let url = self.url(
            "/cgi-bin/gettoken",
            &[
                ("corpid", creds.settings.corp_id.as_str()),
                ("corpsecret", creds.corp_secret.expose_secret()),
            ],
        )?;
        tracing::debug!("fetching a WeCom access token");
        let response = client
            .get(url)
            .send()
            .await
            .map_err(|e| transport_error(PROVIDER, e))?;
        let reply = read_reply(response).await?;
        if reply.errcode != 0 {
            let error = match classify(Call::GetToken, reply.errcode, &reply.errmsg) {
                Verdict::Fail(error) => error,
                Verdict::TokenInvalid => {
                    failure(SendFailure::Transient, Some(reply.errcode), reply.errmsg)
                }
            };
            tracing::warn!(code = ?error.code, class = ?error.failure, "WeCom gettoken failed");
            return Err(error);
        }
        IssuedToken::from_answer(PROVIDER, reply.access_token, reply.expires_in)
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<reqwest::Url, SendError> {
        crate::http::endpoint(PROVIDER, &self.base_url, path, query)
    }
}

impl std::fmt::Debug for WecomAppClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WecomAppClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Reads a WeCom JSON answer; 429, 5xx and unreadable bodies are classified by status.
pub(crate) async fn read_reply(response: reqwest::Response) -> Result<Reply, SendError> {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| transport_error(PROVIDER, e))?;
    reply_of(status, &headers, &bytes)
}

fn reply_of(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    bytes: &[u8],
) -> Result<Reply, SendError> {
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(status_error(PROVIDER, status, headers));
    }
    match serde_json::from_slice::<Reply>(bytes) {
        Ok(reply) => Ok(reply),
        Err(_) if status.is_success() => Err(failure(
            SendFailure::Transient,
            Some(i64::from(status.as_u16())),
            "WeCom answered HTTP 200 without an errcode: a proxy or captive portal may be in the way",
        )),
        Err(_) => Err(status_error(PROVIDER, status, headers)),
    }
}

/// What a message/send answer means, by the same steps a send takes: `Ok(true)` sent,
/// `Ok(false)` the token must be fetched again. For the fuzz targets (`fuzz/`).
#[doc(hidden)]
pub fn judge_send_answer(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    bytes: &[u8],
) -> Result<bool, SendError> {
    let reply = reply_of(status, headers, bytes)?;
    if reply.errcode == 0 {
        return Ok(true);
    }
    match classify(Call::Api, reply.errcode, &reply.errmsg) {
        Verdict::TokenInvalid => Ok(false),
        Verdict::Fail(error) => Err(error),
    }
}

fn token_refused_twice(reply: &Reply) -> SendError {
    let message = format!(
        "WeCom refused a freshly fetched token ({}): {}",
        reply.errcode, reply.errmsg
    );
    if reply.errcode == 40001 {
        with_hint(
            failure(SendFailure::Config, Some(reply.errcode), message),
            "check the app's secret (it may have been reset)",
        )
    } else {
        failure(SendFailure::Transient, Some(reply.errcode), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_recipients_accept_empty_absent_and_mixed_case() {
        let reply: Reply = serde_json::from_str(
            r#"{"errcode":0,"errmsg":"ok","invaliduser":"ZhangSan|lisi","invalidparty":"","unlicenseduser":"u3","invalidtag":"7"}"#,
        )
        .unwrap();
        assert_eq!(
            reply.invalid_recipients(),
            vec!["zhangsan", "lisi", "u3", "tag:7"]
        );
        let reply: Reply =
            serde_json::from_str(r#"{"errcode":0,"errmsg":"ok","msgid":"m"}"#).unwrap();
        assert!(reply.invalid_recipients().is_empty());
    }
}
