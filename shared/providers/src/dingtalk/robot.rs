//! The DingTalk custom robot client: `robot/send?access_token=` signed with `timestamp` and `sign`
//! when the robot has a secret; 20 messages a minute per robot (callers wait), and after DingTalk
//! says "send too fast" (130101) the robot is left alone for its 10-minute throttle.
use super::errors::{ROBOT_PENALTY, classify_robot};
use super::read_reply;
use crate::error::{failure, held_back};
use crate::http::transport_error;
use crate::time::Time;
use crate::window::{WindowLimiter, WindowQuota};
use chrono::{DateTime, Utc};
use herald_core::domain::dingtalk::{DingtalkRobotAddress, DingtalkRobotCredentials};
use herald_core::domain::limits::dingtalk;
use herald_core::domain::message::{DingtalkMsg, DingtalkRobotMessage};
use herald_core::ports::{SendError, SendFailure, SendReceipt};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use tracing::Instrument;

const PROVIDER: &str = "DingTalk robot";

/// Sends custom robot messages. Build one per process (see `HttpProviders`).
pub struct DingtalkRobotClient {
    base_url: String,
    http: reqwest::Client,
    limiter: WindowLimiter,
    time: Time,
    /// Robots DingTalk throttled (by token fingerprint), and until when.
    throttled: Mutex<HashMap<String, DateTime<Utc>>>,
}

/// `sign` for `timestamp_ms`: base64(HMAC-SHA256(key = secret, message = timestamp + "\n" +
/// secret)), URL-encoded once by the query builder (provider-apis.md §4).
pub fn sign(secret: &str, timestamp_ms: i64) -> String {
    use base64::Engine as _;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

impl DingtalkRobotClient {
    pub(crate) fn new(
        base_url: String,
        http: reqwest::Client,
        quota: WindowQuota,
        time: Time,
        shared: Option<crate::window::SharedWindowsRef>,
    ) -> Self {
        Self {
            base_url,
            http,
            limiter: WindowLimiter::new(quota, time.clone()).shared(shared),
            time,
            throttled: Mutex::default(),
        }
    }

    /// Sends `msg`, waiting for the robot's rate limit; held back while DingTalk throttles it.
    pub async fn send(
        &self,
        msg: &DingtalkRobotMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, SendError> {
        let DingtalkRobotAddress::Given(creds) = &msg.robot else {
            return Err(failure(
                SendFailure::Config,
                None,
                "the robot's token was not read from the secret store before sending",
            ));
        };
        let token = creds.access_token.as_str();
        // The token is a secret: logs and the throttle map carry a short fingerprint of it.
        let robot = hex::encode(&Sha256::digest(format!("dingtalk/{token}").as_bytes())[..8]);
        let span = tracing::info_span!("dingtalk_robot_send", robot, idempotency_key);
        async {
            let mut body = serde_json::to_value(DingtalkMsg::of(&msg.body))
                .map_err(|e| failure(SendFailure::Payload, None, e.to_string()))?;
            // DingTalk posts a `msgUuid` once (D9): a resend after an answer that was cut off
            // (the robot took the message) must not post it to the group again.
            body["msgUuid"] = serde_json::Value::String(hex::encode(
                &Sha256::digest(idempotency_key.as_bytes())[..16],
            ));
            let body = serde_json::to_vec(&body)
                .map_err(|e| failure(SendFailure::Payload, None, e.to_string()))?;
            if body.len() > dingtalk::ROBOT_MAX_BYTES {
                return Err(failure(
                    SendFailure::Payload,
                    None,
                    format!(
                        "the message is {} bytes (a DingTalk robot takes at most 20,000)",
                        body.len()
                    ),
                ));
            }
            self.check_throttle(&robot)?;
            self.limiter.acquire(&robot).await.map_err(|wait| {
                held_back(wait, "held back: the robot's 20 messages a minute are used up")
            })?;
            let response = self
                .http
                .post(self.url(creds)?)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| transport_error(PROVIDER, e))?;
            let reply = read_reply(PROVIDER, response).await?;
            if reply.errcode == 0 {
                tracing::info!("DingTalk robot send ok");
                return Ok(SendReceipt {
                    answer: "ok: 1 message sent".into(),
                    ..SendReceipt::default()
                });
            }
            let error = classify_robot(reply.errcode, &reply.errmsg);
            if matches!(error.failure, SendFailure::RateLimited { .. }) {
                // DingTalk counted more than we did (another sender on the same robot): it now
                // refuses the robot for 10 minutes, and every send in them would extend nothing
                // but the failures.
                let until = self.time.now() + chrono::Duration::from_std(ROBOT_PENALTY).unwrap_or_default();
                self.throttled
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(robot.clone(), until);
                self.limiter.saturate(&robot);
            }
            tracing::warn!(code = ?error.code, class = ?error.failure, "DingTalk robot send failed");
            Err(error)
        }
        .instrument(span)
        .await
    }

    /// Held back while DingTalk throttles the robot.
    fn check_throttle(&self, robot: &str) -> Result<(), SendError> {
        let now = self.time.now();
        let mut throttled = self.throttled.lock().unwrap_or_else(|p| p.into_inner());
        throttled.retain(|_, until| *until > now);
        match throttled.get(robot) {
            Some(until) => Err(held_back(
                (*until - now).to_std().unwrap_or_default(),
                "held back: DingTalk throttles this robot for 10 minutes after more than 20 messages in a minute",
            )),
            None => Ok(()),
        }
    }

    fn url(&self, creds: &DingtalkRobotCredentials) -> Result<reqwest::Url, SendError> {
        let mut url =
            reqwest::Url::parse(&format!("{}/robot/send", self.base_url)).map_err(|_| {
                failure(
                    SendFailure::Config,
                    None,
                    "the DingTalk base URL is invalid",
                )
            })?;
        url.query_pairs_mut()
            .append_pair("access_token", creds.access_token.as_str());
        if let Some(secret) = &creds.secret {
            let timestamp = self.time.now().timestamp_millis();
            url.query_pairs_mut()
                .append_pair("timestamp", &timestamp.to_string())
                .append_pair("sign", &sign(secret.as_str(), timestamp));
        }
        Ok(url)
    }
}

impl std::fmt::Debug for DingtalkRobotClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DingtalkRobotClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_and_secret_in_base64() {
        // Computed apart with Python's hmac: base64(HMAC-SHA256(b"SECtest", b"1700000000000\nSECtest")).
        assert_eq!(
            sign("SECtest", 1_700_000_000_000),
            "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g="
        );
    }
}
