//! The DingTalk corp app client: `gettoken` (cached, single-flight), work notices
//! (`asyncsend_v2`, at most 100 users a call) and the picture uploaded once with `media/upload`.
//!
//! DingTalk drops, silently, a notice whose content a member already got that day, and any beyond
//! 500 a day from one app: each run's notice carries its own time (so two runs never read the
//! same), a retry of a notice that did go out is dropped as the duplicate it is, and the 500 are
//! counted per member here.
use super::errors::{Verdict, classify_app};
use super::read_reply;
use crate::error::{failure, held_back, with_hint};
use crate::http::transport_error;
use crate::time::Time;
use crate::token::{CredentialKey, IssuedToken, TokenCache};
use crate::window::{NoSlot, WindowLimiter, WindowQuota};
use herald_core::domain::channels::DingtalkCredentials;
use herald_core::domain::image::ImageRef;
use herald_core::domain::limits::dingtalk;
use herald_core::domain::message::{DingtalkMsg, DingtalkNotice};
use herald_core::ports::{SendError, SendFailure, SendReceipt};
use herald_core::services::images::Images;
use secrecy::ExposeSecret;
use serde_json::json;
use std::time::Duration;
use tracing::Instrument;

const PROVIDER: &str = "DingTalk";
/// Tokens (2 hours) are refreshed this long before they expire.
const REFRESH_EARLY: Duration = Duration::from_secs(300);
/// How long Herald reuses a media id (DingTalk keeps them; a day bounds a changed picture store).
const MEDIA_ID_REUSE: chrono::Duration = chrono::Duration::hours(24);

/// Sends DingTalk work notices. Build one per process (see `HttpProviders`).
pub struct DingtalkAppClient {
    base_url: String,
    http: reqwest::Client,
    tokens: TokenCache,
    images: Images,
    /// Notices per member of each app (DingTalk drops what exceeds 500 a day).
    members: WindowLimiter,
}

impl DingtalkAppClient {
    pub(crate) fn new(
        base_url: String,
        http: reqwest::Client,
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
            members: WindowLimiter::new(member_quota, time).shared(shared),
        }
    }

    /// Sends `msg` to its users: the picture first (if any), then the figures.
    pub async fn send(
        &self,
        creds: &DingtalkCredentials,
        msg: &DingtalkNotice,
        idempotency_key: &str,
    ) -> Result<SendReceipt, SendError> {
        let settings = &creds.settings;
        let span = tracing::info_span!(
            "dingtalk_notice_send",
            app_key = %settings.app_key,
            agent_id = settings.agent_id,
            idempotency_key,
            users = msg.to_users.len(),
        );
        async {
            if msg.to_users.is_empty() || msg.to_users.len() > dingtalk::NOTICE_MAX_USERS {
                return Err(failure(
                    SendFailure::Payload,
                    None,
                    format!(
                        "a work notice goes to 1-{} users (got {})",
                        dingtalk::NOTICE_MAX_USERS,
                        msg.to_users.len()
                    ),
                ));
            }
            let body = serde_json::to_value(DingtalkMsg::of(&msg.body))
                .map_err(|e| failure(SendFailure::Payload, None, e.to_string()))?;
            let size = body.to_string().len();
            if size > dingtalk::NOTICE_MSG_MAX_BYTES {
                return Err(failure(
                    SendFailure::Payload,
                    None,
                    format!("the notice is {size} bytes (DingTalk takes at most 2,048)"),
                ));
            }
            let key = CredentialKey::new(&settings.app_key, &creds.app_secret);
            let mut msgs = vec![body];
            let mut note = None;
            if let Some(image) = &msg.image {
                // A picture DingTalk refuses for good (size, format) must not keep the figures back.
                match self.media_id(creds, &key, image).await {
                    Ok((media_id, how)) => {
                        msgs.insert(
                            0,
                            json!({"msgtype": "image", "image": {"media_id": media_id}}),
                        );
                        note = Some(how);
                    }
                    Err(e) if e.failure == SendFailure::Payload => {
                        note = Some(format!("not sent: {}", e.message));
                    }
                    Err(e) => return Err(e),
                }
            }
            self.hold_for_members(creds, msg, msgs.len()).await?;
            let users = msg
                .to_users
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let mut tasks = Vec::new();
            for (i, one) in msgs.iter().enumerate() {
                let request = json!({
                    "agent_id": settings.agent_id,
                    "userid_list": users,
                    "msg": one,
                });
                let reply = self
                    .call(creds, &key, |token| {
                        Ok(self
                            .http
                            .post(self.url(
                                "/topapi/message/corpconversation/asyncsend_v2",
                                &[("access_token", token)],
                            )?)
                            .json(&request))
                    })
                    .await
                    .map_err(|mut e| {
                        if msgs.len() > 1 {
                            e.message = format!("part {} of {}: {}", i + 1, msgs.len(), e.message);
                        }
                        tracing::warn!(code = ?e.code, class = ?e.failure, "DingTalk send failed");
                        e
                    })?;
                tasks.extend(reply.task_id.map(|t| t.to_string()));
            }
            let mut answer = format!(
                "ok: {} work notice(s) sent, task ids {}",
                msgs.len(),
                tasks.join(", ")
            );
            if let Some(note) = note {
                answer = format!("{answer}; snapshot: {note}");
            }
            // DingTalk answers ok for members it then refuses or drops: its send result names them.
            let mut invalid = Vec::new();
            if let Some(task) = tasks.last() {
                match self.send_result(creds, &key, task).await {
                    Ok(result) => {
                        invalid = result.invalid_user_id_list;
                        let dropped: Vec<String> = result
                            .forbidden_list
                            .iter()
                            .map(|f| format!("{} ({})", f.userid, forbidden_reason(&f.code)))
                            .collect();
                        if !dropped.is_empty() {
                            answer = format!("{answer}; DingTalk did not deliver to {}", dropped.join(", "));
                        }
                    }
                    Err(e) => answer = format!("{answer}; send result not read: {}", e.message),
                }
            }
            if !invalid.is_empty() {
                answer = format!("{answer}; not members of the corp: {}", invalid.join(", "));
            }
            // Like WeCom's 81013: a notice none of whose members exist reached nobody.
            if msg.to_users.iter().all(|u| invalid.iter().any(|i| i == u.as_str())) {
                return Err(with_hint(
                    failure(SendFailure::Recipient, None, answer),
                    "check the user ids: DingTalk knows none of them (a DingTalk userid, not a name or mobile)",
                ));
            }
            tracing::info!(refused = invalid.len(), "DingTalk send ok");
            Ok(SendReceipt {
                message_ids: tasks,
                invalid_recipients: invalid,
                answer,
            })
        }
        .instrument(span)
        .await
    }

    /// What became of work notice `task` per member (`getsendresult`): read once, right after
    /// sending (DingTalk keeps it 24 h; a notice still being sent shows fewer members).
    async fn send_result(
        &self,
        creds: &DingtalkCredentials,
        key: &CredentialKey,
        task: &str,
    ) -> Result<super::SendResult, SendError> {
        let request = json!({
            "agent_id": creds.settings.agent_id,
            "task_id": task.parse::<i64>().unwrap_or_default(),
        });
        let reply = self
            .call(creds, key, |token| {
                Ok(self
                    .http
                    .post(self.url(
                        "/topapi/message/corpconversation/getsendresult",
                        &[("access_token", token)],
                    )?)
                    .json(&request))
            })
            .await?;
        Ok(reply.send_result.unwrap_or_default())
    }

    /// Waits until each member may get `messages` more notices from this app today, or holds the
    /// delivery back for its slot.
    async fn hold_for_members(
        &self,
        creds: &DingtalkCredentials,
        msg: &DingtalkNotice,
        messages: usize,
    ) -> Result<(), SendError> {
        let settings = &creds.settings;
        let mut members: Vec<String> = msg
            .to_users
            .iter()
            .map(|u| {
                format!(
                    "dingtalk/{}/{}/{}",
                    settings.app_key,
                    settings.agent_id,
                    u.as_str()
                )
            })
            .collect();
        members.sort_unstable();
        members.dedup();
        match self.members.acquire_all(&members, messages).await {
            Ok(_) => Ok(()),
            Err(NoSlot::TooFar(wait)) => Err(held_back(
                wait,
                format!(
                    "held back: a member would get more than DingTalk's {} notices a day from this app (DingTalk drops the excess silently)",
                    dingtalk::NOTICES_PER_MEMBER_PER_DAY
                ),
            )),
            Err(NoSlot::TooMany { max }) => Err(failure(
                SendFailure::Payload,
                None,
                format!(
                    "the message takes {messages} notices, more than the {max} a member may get"
                ),
            )),
        }
    }

    /// The media id of `image` for this app, uploaded the first time and shared by every batch.
    async fn media_id(
        &self,
        creds: &DingtalkCredentials,
        key: &CredentialKey,
        image: &ImageRef,
    ) -> Result<(String, String), SendError> {
        let scope = format!("dingtalk:{}", creds.settings.app_key);
        let upload = |bytes: std::sync::Arc<Vec<u8>>| async move {
            if bytes.len() > dingtalk::IMAGE_MAX_BYTES {
                return Err(failure(
                    SendFailure::Payload,
                    None,
                    format!(
                        "the picture is {} bytes (DingTalk takes at most 1 MB)",
                        bytes.len()
                    ),
                ));
            }
            let reply = self
                .call(creds, key, |token| {
                    let url = self.url(
                        "/media/upload",
                        &[("access_token", token), ("type", "image")],
                    )?;
                    let form = crate::http::media_form(&bytes, image)?;
                    Ok(self.http.post(url).multipart(form))
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
                e.message = format!("uploading the snapshot: {}", e.message);
                e
            })
    }

    /// A call with the cached token; on a token error the token is dropped, refetched and the
    /// call retried once.
    async fn call(
        &self,
        creds: &DingtalkCredentials,
        key: &CredentialKey,
        request: impl Fn(&str) -> Result<reqwest::RequestBuilder, SendError>,
    ) -> Result<super::Reply, SendError> {
        let mut refetched = false;
        loop {
            let token = self.tokens.get(key, || self.fetch_token(creds)).await?;
            let response = request(token.expose_secret())?.send().await;
            let reply = read_reply(
                PROVIDER,
                response.map_err(|e| transport_error(PROVIDER, e))?,
            )
            .await?;
            if reply.errcode == 0 {
                return Ok(reply);
            }
            match classify_app(reply.errcode, reply.sub_code.as_deref(), &reply.errmsg) {
                Verdict::TokenInvalid if !refetched => {
                    tracing::info!(
                        code = reply.errcode,
                        "DingTalk token refused: fetching a new one"
                    );
                    self.tokens.invalidate(key, &token).await;
                    refetched = true;
                }
                Verdict::TokenInvalid => {
                    return Err(with_hint(
                        failure(
                            SendFailure::Config,
                            Some(reply.errcode),
                            format!("DingTalk refused a freshly fetched token: {}", reply.errmsg),
                        ),
                        "check the app's AppKey and AppSecret",
                    ));
                }
                Verdict::Fail(error) => return Err(error),
            }
        }
    }

    async fn fetch_token(&self, creds: &DingtalkCredentials) -> Result<IssuedToken, SendError> {
        let url = self.url(
            "/gettoken",
            &[
                ("appkey", creds.settings.app_key.as_str()),
                ("appsecret", creds.app_secret.expose_secret()),
            ],
        )?;
        tracing::debug!("fetching a DingTalk access token");
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| transport_error(PROVIDER, e))?;
        let reply = read_reply(PROVIDER, response).await?;
        if reply.errcode != 0 {
            let error = match classify_app(reply.errcode, reply.sub_code.as_deref(), &reply.errmsg)
            {
                Verdict::Fail(error) => error,
                Verdict::TokenInvalid => {
                    failure(SendFailure::Config, Some(reply.errcode), reply.errmsg)
                }
            };
            tracing::warn!(code = ?error.code, class = ?error.failure, "DingTalk gettoken failed");
            return Err(error);
        }
        IssuedToken::from_answer(PROVIDER, reply.access_token, reply.expires_in)
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<reqwest::Url, SendError> {
        crate::http::endpoint(PROVIDER, &self.base_url, path, query)
    }
}

/// Why DingTalk did not deliver a notice to a member (D3's `forbidden_list` codes).
fn forbidden_reason(code: &str) -> &'static str {
    match code {
        "143105" => "the app's 500 notices a day to this member are used up",
        "143106" => "the same content already reached this member today",
        _ => "refused by DingTalk",
    }
}

impl std::fmt::Debug for DingtalkAppClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DingtalkAppClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}
