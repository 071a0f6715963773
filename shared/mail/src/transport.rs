//! One pooled lettre transport per distinct credentials, rebuilt when the credentials change.
use crate::classify::security_name;
use herald_core::domain::channels::{SmtpCredentials, SmtpSecurity};
use herald_core::ports::{SendError, SendFailure};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

pub(crate) type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// Transports kept at once; the least recently used goes first (credentials rarely change).
const MAX_TRANSPORTS: usize = 4;
/// Pooled connections per transport, and how long an idle one is kept.
const POOL_MAX: u32 = 16;
const POOL_IDLE: Duration = Duration::from_secs(50);

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

    /// The cached transport for `key`, or `build()`'s, cached. Must run inside a tokio runtime.
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
            entries.swap_remove(oldest);
        }
        entries.push(Entry {
            key: key.clone(),
            transport: transport.clone(),
            used: *clock,
        });
        tracing::debug!(host = %key.host, port = key.port, security = key.security, "smtp transport built");
        Ok(transport)
    }

    /// Drops the transport for `key` (its idle connections close), e.g. after a send was cut off.
    pub(crate) fn remove(&self, key: &TransportKey) {
        let mut guard = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        guard.1.retain(|e| &e.key != key);
    }
}

impl Drop for TransportCache {
    fn drop(&mut self) {
        // lettre's pool spawns its shutdown on the tokio runtime; outside one that would panic, so
        // the transports are leaked instead (this happens only when the process ends).
        if tokio::runtime::Handle::try_current().is_err() {
            let entries = std::mem::take(
                &mut self
                    .entries
                    .get_mut()
                    .unwrap_or_else(PoisonError::into_inner)
                    .1,
            );
            for entry in entries {
                std::mem::forget(entry.transport);
            }
        }
    }
}

/// Builds the transport for `credentials`: TLS mode, AUTH PLAIN/LOGIN, connect timeout, pool.
pub(crate) fn build(
    credentials: &SmtpCredentials,
    roots: &[Certificate],
    connect_timeout: Duration,
) -> Result<Transport, SendError> {
    let s = &credentials.settings;
    let tls = |wrap: fn(TlsParameters) -> Tls| -> Result<Tls, SendError> {
        let mut params = TlsParameters::builder(s.host.clone());
        for root in roots {
            params = params.add_root_certificate(root.clone());
        }
        params.build_rustls().map(wrap).map_err(|e| SendError {
            failure: SendFailure::Config,
            code: None,
            message: format!("smtp: cannot set up TLS for {}: {e}", s.host),
            hint: Some("the host must be a DNS name or an IP address".to_owned()),
        })
    };
    let tls = match s.security {
        SmtpSecurity::Starttls => tls(Tls::Required)?,
        SmtpSecurity::Tls => tls(Tls::Wrapper)?,
        SmtpSecurity::None => Tls::None,
    };
    let credentials = Credentials::new(
        s.username.clone(),
        credentials.password.expose_secret().to_owned(),
    );
    Ok(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.as_str())
            .port(s.port)
            .tls(tls)
            .credentials(credentials)
            .authentication(vec![Mechanism::Plain, Mechanism::Login])
            .timeout(Some(connect_timeout))
            .pool_config(PoolConfig::new().max_size(POOL_MAX).idle_timeout(POOL_IDLE))
            .build(),
    )
}
