//! The public sender: `send` one e-mail, `test_connection` for the channel test.
use crate::classify::{self, Target};
use crate::compose;
use crate::transport::{self, ExchangeError, Transport, TransportCache, TransportKey};
use herald_core::domain::channels::SmtpCredentials;
use herald_core::domain::message::EmailMessage;
use herald_core::ports::{SendError, SendFailure, SendReceipt};
use herald_core::services::images::Images;
use lettre::transport::smtp::client::Certificate;
use lettre::transport::smtp::response::Response;
use std::future::Future;
use std::time::Duration;
use thiserror::Error;

/// Applies only to opening the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole SMTP exchange of one call (TLS, greeting, AUTH, MAIL … final reply) must finish within this.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest server answer kept in a receipt.
const MAX_ANSWER: usize = 300;

/// The PEM given to [`SmtpSender::with_root_certificates`] holds no usable certificate.
#[derive(Debug, Error)]
#[error("no usable certificate in the PEM: {0}")]
pub struct CertificateError(String);

/// Sends e-mail over SMTP. Create one per process: it keeps one pooled transport per distinct
/// credentials (keyed by host, port, security, username and the password's SHA-256).
pub struct SmtpSender {
    transports: TransportCache,
    roots: Vec<Certificate>,
    connect_timeout: Duration,
    exchange_timeout: Duration,
    /// Where inline pictures are read from.
    images: Option<Images>,
}

impl Default for SmtpSender {
    fn default() -> Self {
        Self::new()
    }
}

impl SmtpSender {
    /// A sender that trusts the webpki (Mozilla) roots.
    pub fn new() -> Self {
        Self {
            transports: TransportCache::new(),
            roots: Vec::new(),
            connect_timeout: CONNECT_TIMEOUT,
            exchange_timeout: EXCHANGE_TIMEOUT,
            images: None,
        }
    }

    /// Reads the pictures mails show inline (`multipart/related`) from `images`.
    pub fn with_images(mut self, images: Images) -> Self {
        self.images = Some(images);
        self
    }

    /// A sender that also trusts the CA certificate(s) in `pem` (tests, private relays).
    pub fn with_root_certificates(pem: &[u8]) -> Result<Self, CertificateError> {
        let marker: &[u8] = b"-----BEGIN CERTIFICATE-----";
        if !pem.windows(marker.len()).any(|w| w == marker) {
            return Err(CertificateError("no BEGIN CERTIFICATE block".to_owned()));
        }
        let cert = Certificate::from_pem(pem).map_err(|e| CertificateError(e.to_string()))?;
        let mut sender = Self::new();
        sender.roots.push(cert);
        Ok(sender)
    }

    /// Replaces the TCP connect timeout (10 s) and the deadline of one SMTP exchange (60 s).
    pub fn with_timeouts(mut self, connect: Duration, exchange: Duration) -> Self {
        self.connect_timeout = connect;
        self.exchange_timeout = exchange;
        self
    }

    /// Sends `message` to its one recipient. `idempotency_key` becomes the Message-ID, so a retry
    /// of the same delivery carries the same id. The receipt's `answer` is the server's final reply.
    pub async fn send(
        &self,
        credentials: &SmtpCredentials,
        message: &EmailMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, SendError> {
        let from = credentials.settings.from.as_str();
        let message_id = compose::message_id(idempotency_key, from);
        let mut inline = Vec::with_capacity(message.images.len());
        let mut attached = Vec::with_capacity(message.attachments.len());
        let stored = message.images.iter().map(|i| (i, true));
        for (file, shown) in stored.chain(message.attachments.iter().map(|f| (f, false))) {
            let images = self.images.as_ref().ok_or_else(|| SendError {
                failure: SendFailure::Payload,
                code: None,
                message: "this sender was built without an image store".into(),
                hint: None,
            })?;
            let bytes = images.bytes(file).await?;
            if shown {
                inline.push((file, bytes));
            } else {
                attached.push((file, bytes));
            }
        }
        let email = compose::compose(from, message, (&inline, &attached), message_id.clone())?;
        let envelope = email.envelope().clone();
        let raw = email.formatted();
        let response = self
            .exchange(
                credentials,
                |t| async move { t.send(&envelope, &raw).await },
            )
            .await?;
        let answer = answer(&response);
        let mut message_ids = vec![message_id];
        if let Some(queue_id) = queue_id(&response) {
            message_ids.push(queue_id);
        }
        tracing::info!(
            host = %credentials.settings.host,
            message_id = %message_ids[0],
            answer = %answer,
            "smtp message accepted"
        );
        Ok(SendReceipt {
            message_ids,
            invalid_recipients: Vec::new(),
            answer,
        })
    }

    /// Connects, secures, logs in and sends NOOP: the channel test. The connection stays pooled.
    pub async fn test_connection(&self, credentials: &SmtpCredentials) -> Result<(), SendError> {
        let alive = self
            .exchange(credentials, |t| async move { t.test_connection().await })
            .await?;
        if alive {
            Ok(())
        } else {
            Err(SendError {
                failure: SendFailure::Transient,
                code: None,
                message: "smtp: the server did not answer NOOP".to_owned(),
                hint: None,
            })
        }
    }

    /// Runs `call` on the transport for `credentials` within the exchange deadline, classifying errors.
    async fn exchange<T, F, Fut>(
        &self,
        credentials: &SmtpCredentials,
        call: F,
    ) -> Result<T, SendError>
    where
        F: FnOnce(Transport) -> Fut,
        Fut: Future<Output = Result<T, ExchangeError>>,
    {
        let s = &credentials.settings;
        let target = Target {
            host: &s.host,
            port: s.port,
            security: s.security,
        };
        let key = TransportKey::new(credentials);
        let transport = self.transports.get_or_insert(&key, || {
            transport::build(credentials, &self.roots, self.connect_timeout)
        })?;
        let result = match tokio::time::timeout(self.exchange_timeout, call(transport)).await {
            Ok(result) => result,
            Err(_) => {
                // The connection cut off mid-command was dropped with the exchange, never pooled.
                let err = classify::deadline(&target, self.exchange_timeout.as_secs());
                tracing::warn!(host = %s.host, port = s.port, error = %err.message, "smtp exchange timed out");
                return Err(err);
            }
        };
        result.map_err(|e| {
            let err = match &e {
                ExchangeError::Smtp(e) => classify::classify(e, &target),
                ExchangeError::Connect(e) => classify::connect(e),
            };
            tracing::warn!(
                host = %s.host,
                port = s.port,
                failure = ?err.failure,
                code = ?err.code,
                error = %err.message,
                "smtp exchange failed"
            );
            err
        })
    }
}

/// The server's final reply, e.g. `250 2.0.0 OK queued as 1A2B`.
fn answer(response: &Response) -> String {
    let mut answer = format!(
        "{} {}",
        response.code(),
        response.message().collect::<Vec<_>>().join(" ")
    );
    if answer.len() > MAX_ANSWER {
        let mut cut = MAX_ANSWER;
        while !answer.is_char_boundary(cut) {
            cut -= 1;
        }
        answer.truncate(cut);
    }
    answer.trim_end().to_owned()
}

/// The queue id a server names in `… queued as ID` (Postfix, QQ, aiosmtpd style), if any.
fn queue_id(response: &Response) -> Option<String> {
    response.message().find_map(|line| {
        let lower = line.to_ascii_lowercase();
        let at = lower.find("queued as ")? + "queued as ".len();
        let id: String = line[at..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        (!id.is_empty()).then_some(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::transport::smtp::response::{Category, Code, Detail, Severity};

    fn ok(lines: &[&str]) -> Response {
        let code = Code::new(
            Severity::PositiveCompletion,
            Category::MailSystem,
            Detail::Zero,
        );
        Response::new(code, lines.iter().map(|l| (*l).to_owned()).collect())
    }

    #[test]
    fn answer_and_queue_id_come_from_the_final_reply() {
        let r = ok(&["2.0.0 Ok: queued as 4Xy7Z1 "]);
        assert_eq!(answer(&r), "250 2.0.0 Ok: queued as 4Xy7Z1");
        assert_eq!(queue_id(&r).as_deref(), Some("4Xy7Z1"));
        assert_eq!(queue_id(&ok(&["Mail OK"])), None);
    }

    #[test]
    fn bad_pem_is_refused() {
        assert!(SmtpSender::with_root_certificates(b"not a pem").is_err());
    }
}
