//! Fake SMTP server ("sink") for tests and the local sandbox: plain SMTP on loopback (no TLS,
//! the sandbox uses `security: none`), enough of RFC 5321 / RFC 4954 for lettre — EHLO/HELO,
//! AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT, several messages per connection.
//! Accepted messages are recorded and served at `GET /_fake/messages`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use herald_fakes::{FakeSmtp, SmtpSinkConfig, serve_smtp};
//! let sink = FakeSmtp::new(SmtpSinkConfig {
//!     username: "mailer".into(),
//!     password: "secret".into(),
//! });
//! let (addr, _server) = serve_smtp(sink.clone()).await?;
//! // send to addr without TLS, then inspect sink.messages(), sink.connections(), ...
//! # Ok(()) }
//! ```
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::reply::random_hex;
use crate::{lock, smtp_mime, smtp_session};

/// The name the sink greets with (`220 herald-sandbox ESMTP`).
pub const SMTP_HOSTNAME: &str = "herald-sandbox";
/// Largest message accepted (advertised as `SIZE 10485760`); bigger ones get 552.
pub const SMTP_MAX_MESSAGE_SIZE: usize = 10 * 1024 * 1024;
/// How long a connection may stay silent before the sink answers 421 and closes it.
pub const SMTP_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The credentials the sink accepts (AUTH PLAIN / AUTH LOGIN).
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSinkConfig {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for SmtpSinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSinkConfig")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A message the sink accepted (answered `250 2.0.0 OK queued as <queue_id>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceivedMail {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// `MAIL FROM` reverse path (empty for the null sender `<>`).
    pub from: String,
    /// `RCPT TO` forward paths, in order.
    pub to: Vec<String>,
    /// The raw RFC 5322 message, dot-unstuffed, lines ending in CRLF.
    pub data: String,
    /// The `Subject` header, unfolded and RFC 2047 decoded (UTF-8 / US-ASCII B and Q words).
    pub subject: Option<String>,
    pub queue_id: String,
}

/// Handle on a fake SMTP server; clones share state.
#[derive(Clone)]
pub struct FakeSmtp {
    inner: Arc<Inner>,
}

struct Inner {
    config: SmtpSinkConfig,
    idle_timeout: Duration,
    connections: AtomicU64,
    records: Mutex<Records>,
}

#[derive(Default)]
struct Records {
    seq: u64,
    messages: Vec<ReceivedMail>,
}

impl FakeSmtp {
    pub fn new(config: SmtpSinkConfig) -> Self {
        Self::with_idle_timeout(config, SMTP_IDLE_TIMEOUT)
    }

    /// Uses `idle_timeout` instead of [`SMTP_IDLE_TIMEOUT`] (e.g. a short one in tests).
    pub fn with_idle_timeout(config: SmtpSinkConfig, idle_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                idle_timeout,
                connections: AtomicU64::new(0),
                records: Mutex::new(Records::default()),
            }),
        }
    }

    pub fn config(&self) -> &SmtpSinkConfig {
        &self.inner.config
    }

    pub fn idle_timeout(&self) -> Duration {
        self.inner.idle_timeout
    }

    /// Accepted messages, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.inner.records).messages.clone()
    }

    /// TCP connections accepted since start (or the last [`FakeSmtp::reset_records`]).
    pub fn connections(&self) -> u64 {
        self.inner.connections.load(Ordering::Relaxed)
    }

    /// Forgets the recorded messages and the connection count (open connections stay open).
    pub fn reset_records(&self) {
        *lock(&self.inner.records) = Records::default();
        self.inner.connections.store(0, Ordering::Relaxed);
    }

    pub(crate) fn connection_opened(&self) {
        self.inner.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn credentials_match(&self, username: &[u8], password: &[u8]) -> bool {
        let config = &self.inner.config;
        username == config.username.as_bytes() && password == config.password.as_bytes()
    }

    /// Records an accepted message and returns its queue id.
    pub(crate) fn accept(&self, from: String, to: Vec<String>, data: &[u8]) -> String {
        let data = String::from_utf8_lossy(data).into_owned();
        let subject = smtp_mime::subject(&data);
        let queue_id = random_hex(10).to_ascii_uppercase();
        let mut records = lock(&self.inner.records);
        records.seq += 1;
        let seq = records.seq;
        tracing::info!(
            seq,
            queue_id = %queue_id,
            recipients = to.len(),
            bytes = data.len(),
            "fake smtp: message accepted"
        );
        records.messages.push(ReceivedMail {
            seq,
            at: Utc::now(),
            from,
            to,
            data,
            subject,
            queue_id: queue_id.clone(),
        });
        queue_id
    }
}

/// Binds 127.0.0.1 on a free port and serves SMTP for `sink` there.
/// Returns the address and the server task; aborting it also closes open connections.
pub async fn serve_smtp(sink: FakeSmtp) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        // Owned by this task: aborting the server drops the set, which aborts every session.
        let mut sessions = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        sink.connection_opened();
                        sessions.spawn(smtp_session::run(sink.clone(), stream, peer));
                    }
                    Err(err) => {
                        tracing::warn!(%err, "fake smtp: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            }
        }
    });
    tracing::info!(%addr, "fake smtp server listening");
    Ok((addr, handle))
}

/// `GET /_fake/messages` (accepted mail, newest last) and `GET /_fake/stats`
/// (`{"connections", "messages"}`), for the local sandbox.
pub fn smtp_inspection_router(sink: FakeSmtp) -> Router {
    Router::new()
        .route("/_fake/messages", get(messages))
        .route("/_fake/stats", get(stats))
        .with_state(sink)
}

async fn messages(State(sink): State<FakeSmtp>) -> Json<Vec<ReceivedMail>> {
    Json(sink.messages())
}

#[derive(Serialize)]
struct SmtpStats {
    connections: u64,
    messages: usize,
}

async fn stats(State(sink): State<FakeSmtp>) -> Json<SmtpStats> {
    Json(SmtpStats {
        connections: sink.connections(),
        messages: lock(&sink.inner.records).messages.len(),
    })
}
