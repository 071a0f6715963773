//! The WeCom group-robot client: `webhook/send?key=KEY`, 20 messages a minute per robot (callers wait).
use super::app::read_reply;
use super::errors::{classify_robot, to_next_minute};
use crate::error::failure;
use crate::http::transport_error;
use crate::split::split_utf8;
use crate::time::Time;
use crate::window::{WindowLimiter, WindowQuota};
use herald_core::domain::limits::wecom_robot;
use herald_core::domain::message::{RobotBody, RobotMessage};
use herald_core::ports::{SendError, SendFailure, SendReceipt};
use herald_core::services::images::Images;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::Instrument;

const PROVIDER: &str = "WeCom robot";

/// Sends group-robot messages. Build one per process (see `HttpProviders`).
pub struct WecomRobotClient {
    base_url: String,
    http: reqwest::Client,
    limiter: WindowLimiter,
    time: Time,
    images: Images,
}

impl WecomRobotClient {
    pub(crate) fn new(
        base_url: String,
        http: reqwest::Client,
        quota: WindowQuota,
        time: Time,
        images: Images,
        shared: Option<crate::window::SharedWindowsRef>,
    ) -> Self {
        Self {
            base_url,
            http,
            limiter: WindowLimiter::new(quota, time.clone()).shared(shared),
            time,
            images,
        }
    }

    /// `{"msgtype":"image","image":{"base64","md5"}}` with the picture's bytes.
    async fn image_body(
        &self,
        image: &herald_core::domain::image::ImageRef,
    ) -> Result<Value, SendError> {
        use base64::Engine as _;
        use md5::Digest as _;
        let bytes = self.images.bytes(image).await?;
        if bytes.len() > wecom_robot::IMAGE_MAX_BYTES {
            return Err(failure(
                SendFailure::Payload,
                None,
                format!(
                    "the picture is {} bytes (a robot takes at most 2 MB)",
                    bytes.len()
                ),
            ));
        }
        Ok(json!({
            "msgtype": "image",
            "image": {
                "base64": base64::engine::general_purpose::STANDARD.encode(bytes.as_slice()),
                "md5": hex::encode(md5::Md5::digest(bytes.as_slice())),
            },
        }))
    }

    /// Sends `msg` (split into several messages if too long), waiting for the robot's rate limit;
    /// `RateLimited` if that wait would be longer than the quota's `max_wait`.
    pub async fn send(
        &self,
        msg: &RobotMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, SendError> {
        let Some(key) = msg.key.key().map(|k| k.as_str()) else {
            return Err(failure(
                SendFailure::Config,
                None,
                "the robot key was not read from the secret store before sending",
            ));
        };
        // The key is a secret: logs carry a short fingerprint of it.
        let robot = hex::encode(&Sha256::digest(key.as_bytes())[..4]);
        let span = tracing::info_span!(
            "wecom_robot_send",
            robot,
            idempotency_key,
            parts = tracing::field::Empty
        );
        async {
            let bodies = match &msg.body {
                RobotBody::Image { image } => vec![self.image_body(image).await?],
                other => robot_bodies(other)?,
            };
            tracing::Span::current().record("parts", bodies.len());
            for (i, body) in bodies.iter().enumerate() {
                self.send_one(key, body).await.map_err(|mut e| {
                    if bodies.len() > 1 {
                        e.message = format!("part {} of {}: {}", i + 1, bodies.len(), e.message);
                    }
                    tracing::warn!(code = ?e.code, class = ?e.failure, "WeCom robot send failed");
                    e
                })?;
            }
            tracing::info!("WeCom robot send ok");
            Ok(SendReceipt {
                message_ids: Vec::new(),
                invalid_recipients: Vec::new(),
                answer: format!("ok: {} message(s) sent", bodies.len()),
            })
        }
        .instrument(span)
        .await
    }

    async fn send_one(&self, key: &str, body: &Value) -> Result<(), SendError> {
        self.limiter.acquire(key).await.map_err(|wait| {
            crate::error::held_back(
                wait,
                "held back: the robot's 20 messages a minute are used up",
            )
        })?;
        let mut url = reqwest::Url::parse(&format!("{}/cgi-bin/webhook/send", self.base_url))
            .map_err(|_| failure(SendFailure::Config, None, "the WeCom base URL is invalid"))?;
        url.query_pairs_mut().append_pair("key", key);
        let response = self.http.post(url).json(body).send().await;
        let reply = read_reply(response.map_err(|e| transport_error(PROVIDER, e))?).await?;
        if reply.errcode == 0 {
            return Ok(());
        }
        let now = self.time.now();
        if reply.errcode == 45009 {
            // WeCom counted more than we did (another sender on the same robot): hold off everyone.
            self.limiter.saturate(key);
            tracing::warn!(
                wait_ms = to_next_minute(now).as_millis(),
                "WeCom robot rate limit hit"
            );
        }
        Err(classify_robot(reply.errcode, &reply.errmsg, now))
    }
}

impl std::fmt::Debug for WecomRobotClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WecomRobotClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The request bodies: text ≤ 2048 bytes (mentions on the first part only), markdown ≤ 4096 bytes.
pub fn robot_bodies(body: &RobotBody) -> Result<Vec<Value>, SendError> {
    let empty = || failure(SendFailure::Payload, None, "empty robot message");
    match body {
        RobotBody::Image { .. } => Err(failure(
            SendFailure::Payload,
            None,
            "a robot picture is sent with its bytes (WecomRobotClient::send)",
        )),
        RobotBody::Text {
            content,
            mentioned_list,
        } => {
            let parts = split_utf8(content, wecom_robot::TEXT_MAX_BYTES);
            if content.trim().is_empty() {
                return Err(empty());
            }
            Ok(parts
                .into_iter()
                .enumerate()
                .map(|(i, part)| {
                    let mut text = json!({ "content": part });
                    if i == 0 && !mentioned_list.is_empty() {
                        text["mentioned_list"] = json!(mentioned_list);
                    }
                    json!({ "msgtype": "text", "text": text })
                })
                .collect())
        }
        RobotBody::Markdown { content } => {
            if content.trim().is_empty() {
                return Err(empty());
            }
            Ok(split_utf8(content, wecom_robot::MARKDOWN_MAX_BYTES)
                .into_iter()
                .map(|part| json!({ "msgtype": "markdown", "markdown": { "content": part } }))
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_mentions_ride_on_the_first_part_and_markdown_splits_at_4096() {
        let body = RobotBody::Text {
            content: "警".repeat(1000), // 3000 bytes
            mentioned_list: vec!["@all".into()],
        };
        let bodies = robot_bodies(&body).unwrap();
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0]["text"]["mentioned_list"], json!(["@all"]));
        assert!(bodies[1]["text"].get("mentioned_list").is_none());
        let md = RobotBody::Markdown {
            content: "x".repeat(5000),
        };
        let bodies = robot_bodies(&md).unwrap();
        assert_eq!(
            bodies[0]["markdown"]["content"].as_str().unwrap().len(),
            4096
        );
        assert!(robot_bodies(&RobotBody::Markdown { content: "".into() }).is_err());
    }
}
