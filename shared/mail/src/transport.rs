//! A pool of authenticated SMTP connections per distinct credentials, rebuilt when they change.
//!
//! lettre's own `AsyncSmtpTransport` opens its sockets without TCP_NODELAY; lettre writes a
//! message's body and the closing `\r\n.\r\n` in two writes, so Nagle's algorithm and the server's
//! delayed ACK stall every mail by ~40 ms. This pool opens the sockets itself (with TCP_NODELAY)
//! and drives lettre's lower-level [`AsyncSmtpConnection`].
use crate::classify::security_name;
use herald_core::domain::channels::{SmtpCredentials, SmtpSecurity};
use herald_core::ports::{SendError, SendFailure};
use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
#[allow(deprecated)] // lettre's documented way to hand it a socket of our own
use lettre::transport::smtp::client::AsyncNetworkStream;
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub(crate) type Transport = Arc<Pool>;

/// Transports kept at once; the least recently used goes first (credentials rarely change).
const MAX_TRANSPORTS: usize = 4;
/// Idle connections kept per transport, and how long an idle one may wait before it is closed.
const POOL_MAX: usize = 16;
const POOL_IDLE: Duration = Duration::from_secs(50);
/// How long closing a connection (QUIT) may take in the background.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an exchange failed: lettre's SMTP error, or the TCP connect that precedes lettre.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    Smtp(SmtpError),
    Connect(io::Error),
}

impl From<SmtpError> for ExchangeError {
    fn from(e: SmtpError) -> Self {
        Self::Smtp(e)
    }
}

impl ExchangeError {
    /// True when the connection itself failed (reset, closed, garbled), not when the server
    /// answered with an SMTP reply or lettre refused to go on: then a fresh connection may succeed,
    /// and the server did not accept the message on this one.
    fn is_connection_level(&self) -> bool {
        match self {
            Self::Connect(_) => true,
            Self::Smtp(e) => e.status().is_none() && !e.is_client() && !e.is_tls(),
        }
    }
}

/// What identifies a transport: never the password itself, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TransportKey {
    host: String,
    port: u16,
    security: &'static str,
    username: String,
    password_sha256: [u8; 32],
}

impl TransportKey {
    pub(crate) fn new(credentials: &SmtpCredentials) -> Self {
        let s = &credentials.settings;
        Self {
            host: s.host.clone(),
            port: s.port,
            security: security_name(s.security),
            username: s.username.clone(),
            password_sha256: Sha256::digest(credentials.password.expose_secret().as_bytes()).into(),
        }
    }
}

/// How the connection is secured.
enum Security {
    None,
    Starttls(TlsParameters),
    Implicit(TlsParameters),
}

struct Idle {
    conn: AsyncSmtpConnection,
    since: Instant,
}

/// Idle authenticated connections for one set of credentials. The lock is held only to take or
/// return a connection, never across an await: each caller drives its own connection.
pub(crate) struct Pool {
    host: String,
    port: u16,
    security: Security,
    credentials: Credentials,
    hello_name: ClientId,
    connect_timeout: Duration,
    idle: Mutex<Vec<Idle>>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the credentials.
        f.debug_struct("Pool")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// A connection checked out of the pool; `reused` when it came from the idle list.
struct Checkout {
    conn: AsyncSmtpConnection,
    reused: bool,
}

impl Pool {
    /// Sends `email` to `envelope`'s recipients. A reused connection that fails at the connection
    /// level (the server had closed it, …) is dropped and the mail goes once over a fresh one.
    pub(crate) async fn send(
        &self,
        envelope: &Envelope,
        email: &[u8],
    ) -> Result<Response, ExchangeError> {
        let mut checkout = self.checkout().await?;
        loop {
            match checkout.conn.send(envelope, email).await {
                Ok(response) => {
                    self.checkin(checkout.conn);
                    return Ok(response);
                }
                Err(e) => {
                    let err = ExchangeError::Smtp(e);
                    close(checkout.conn);
                    if checkout.reused && err.is_connection_level() {
                        tracing::debug!(host = %self.host, port = self.port, error = ?err, "smtp pooled connection failed, retrying on a fresh one");
                        checkout = self.fresh().await?;
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }

    /// Connects (or reuses a connection), logs in and sends NOOP. The connection stays pooled.
    pub(crate) async fn test_connection(&self) -> Result<bool, ExchangeError> {
        let mut checkout = self.checkout().await?;
        loop {
            if checkout.conn.test_connected().await {
                self.checkin(checkout.conn);
                return Ok(true);
            }
            close(checkout.conn);
            if !checkout.reused {
                return Ok(false);
            }
            checkout = self.fresh().await?;
        }
    }

    /// The most recently returned idle connection, or a fresh one. Idle connections past
    /// [`POOL_IDLE`] are closed on the way.
    async fn checkout(&self) -> Result<Checkout, ExchangeError> {
        let mut stale = Vec::new();
        let reused = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            let mut found = None;
            while let Some(entry) = idle.pop() {
                if entry.since.elapsed() < POOL_IDLE && !entry.conn.has_broken() {
                    found = Some(entry.conn);
                    break;
                }
                stale.push(entry.conn);
            }
            // The rest are older still.
            if found.is_some() {
                let cutoff = idle
                    .iter()
                    .position(|e| e.since.elapsed() < POOL_IDLE)
                    .unwrap_or(idle.len());
                stale.extend(idle.drain(..cutoff).map(|e| e.conn));
            }
            found
        };
        for conn in stale {
            close(conn);
        }
        match reused {
            Some(conn) => Ok(Checkout { conn, reused: true }),
            None => self.fresh().await,
        }
    }

    async fn fresh(&self) -> Result<Checkout, ExchangeError> {
        Ok(Checkout {
            conn: self.connect().await?,
            reused: false,
        })
    }

    /// Returns a healthy connection to the idle list (or closes it when the list is full).
    fn checkin(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            close(conn);
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < POOL_MAX {
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        } else {
            drop(idle);
            close(conn);
        }
    }

    /// Opens a TCP connection with TCP_NODELAY, secures it, says EHLO and logs in.
    async fn connect(&self) -> Result<AsyncSmtpConnection, ExchangeError> {
        let stream = match tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(ExchangeError::Connect(e)),
            Err(_) => {
                return Err(ExchangeError::Connect(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection timed out",
                )));
            }
        };
        stream.set_nodelay(true).map_err(ExchangeError::Connect)?;
        let mut conn = match &self.security {
            Security::Implicit(tls) => {
                #[allow(deprecated)]
                let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(stream));
                stream.upgrade_tls(tls.clone()).await?;
                AsyncSmtpConnection::connect_with_transport(
                    Box::new(TlsStream(stream)),
                    &self.hello_name,
                )
                .await?
            }
            Security::None | Security::Starttls(_) => {
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello_name)
                    .await?
            }
        };
        if let Security::Starttls(tls) = &self.security {
            conn.starttls(tls.clone(), &self.hello_name).await?;
        }
        if let Err(e) = conn
            .auth(&[Mechanism::Plain, Mechanism::Login], &self.credentials)
            .await
        {
            close(conn);
            return Err(e.into());
        }
        tracing::debug!(host = %self.host, port = self.port, "smtp connection opened");
        Ok(conn)
    }

    /// Closes every idle connection (the pool is being dropped from the cache).
    fn close_idle(&self) {
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        for entry in idle {
            close(entry.conn);
        }
    }
}

/// Says QUIT and closes `conn` in the background when a runtime is at hand; otherwise drops it
/// (the socket closes either way).
fn close(mut conn: AsyncSmtpConnection) {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(async move {
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, conn.abort()).await;
        });
    }
}

/// lettre's implicitly-TLS stream, seen as the tokio stream `connect_with_transport` takes.
#[allow(deprecated)]
struct TlsStream(AsyncNetworkStream);

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsStream")
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        match futures::io::AsyncRead::poll_read(Pin::new(&mut self.0), cx, unfilled) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        futures::io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures::io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures::io::AsyncWrite::poll_close(Pin::new(&mut self.0), cx)
    }
}

impl AsyncTokioStream for TlsStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}

struct Entry {
    key: TransportKey,
    transport: Transport,
    used: u64,
}

/// A small LRU of transports. Lock held only to look up or insert, never across an await.
pub(crate) struct TransportCache {
    entries: Mutex<(u64, Vec<Entry>)>,
}

impl TransportCache {
    pub(crate) fn new() -> Self {
        Self {
            entries: Mutex::new((0, Vec::new())),
        }
    }

    /// The cached transport for `key`, or `build()`'s, cached.
    pub(crate) fn get_or_insert(
        &self,
        key: &TransportKey,
        build: impl FnOnce() -> Result<Transport, SendError>,
    ) -> Result<Transport, SendError> {
        let mut guard = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (clock, entries) = &mut *guard;
        *clock += 1;
        if let Some(entry) = entries.iter_mut().find(|e| &e.key == key) {
            entry.used = *clock;
            return Ok(entry.transport.clone());
        }
        let transport = build()?;
        if entries.len() >= MAX_TRANSPORTS
            && let Some(oldest) = entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.used)
                .map(|(i, _)| i)
        {
            entries.swap_remove(oldest).transport.close_idle();
        }
        entries.push(Entry {
            key: key.clone(),
            transport: transport.clone(),
            used: *clock,
        });
        tracing::debug!(host = %key.host, port = key.port, security = key.security, "smtp transport built");
        Ok(transport)
    }
}

/// Builds the transport for `credentials`: TLS mode, AUTH PLAIN/LOGIN, connect timeout, pool.
pub(crate) fn build(
    credentials: &SmtpCredentials,
    roots: &[Certificate],
    connect_timeout: Duration,
) -> Result<Transport, SendError> {
    let s = &credentials.settings;
    let tls = || -> Result<TlsParameters, SendError> {
        let mut params = TlsParameters::builder(s.host.clone());
        for root in roots {
            params = params.add_root_certificate(root.clone());
        }
        params.build_rustls().map_err(|e| SendError {
            failure: SendFailure::Config,
            code: None,
            message: format!("smtp: cannot set up TLS for {}: {e}", s.host),
            hint: Some("the host must be a DNS name or an IP address".to_owned()),
        })
    };
    let security = match s.security {
        SmtpSecurity::Starttls => Security::Starttls(tls()?),
        SmtpSecurity::Tls => Security::Implicit(tls()?),
        SmtpSecurity::None => Security::None,
    };
    Ok(Arc::new(Pool {
        host: s.host.clone(),
        port: s.port,
        security,
        credentials: Credentials::new(
            s.username.clone(),
            credentials.password.expose_secret().to_owned(),
        ),
        hello_name: ClientId::default(),
        connect_timeout,
        idle: Mutex::new(Vec::new()),
    }))
}
