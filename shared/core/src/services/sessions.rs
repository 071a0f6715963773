//! Console sign-in: an API key becomes a signed session cookie, and a cookie becomes the caller
//! again on each request (with its CSRF token for the page's forms).
use super::keys::KeyService;
use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::auth::Principal;
use crate::domain::session::{EndedSession, Session, SigningKey};
use crate::ports::{SecretStore, SettingsStore};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Where the signing key lives in the secret store (created on first sign-in).
pub const SIGNING_KEY_SECRET: &str = "console/session-key";

/// The most ended sessions kept for one key: past it they fold into a new session epoch for the
/// key (every session of it ends), so signing in and out in a loop cannot grow the settings
/// document (400 KB on DynamoDB) beyond keys × this.
pub const ENDED_PER_KEY: usize = 20;

/// Records `ended` in `record`: forgets entries past their expiry, and folds a key's entries into
/// a new epoch when there are more than [`ENDED_PER_KEY`].
fn record_ended(record: &mut crate::ports::SettingsRecord, ended: EndedSession, now: i64) {
    record.ended_sessions.retain(|e| e.until > now);
    let key = ended.key_hash.clone();
    record.ended_sessions.push(ended);
    if record
        .ended_sessions
        .iter()
        .filter(|e| e.key_hash == key)
        .count()
        > ENDED_PER_KEY
    {
        record.ended_sessions.retain(|e| e.key_hash != key);
        *record.session_epochs.entry(key).or_default() += 1;
    }
}

/// A session that opened: who it is, the cookie that carries it and its CSRF token.
#[derive(Debug, Clone)]
pub struct OpenSession {
    pub principal: Principal,
    pub session: Session,
    /// The cookie's value (set on sign-in; the browser sends it back).
    pub cookie: String,
    pub csrf: String,
}

impl OpenSession {
    /// Whether a form's token is this session's (compared in constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let presented = presented.trim();
        !presented.is_empty() && bool::from(self.csrf.as_bytes().ct_eq(presented.as_bytes()))
    }
}

#[derive(Clone)]
pub struct SessionService {
    keys: KeyService,
    secrets: Arc<dyn SecretStore>,
    /// Where ended sessions are kept (the settings document: read by every instance).
    settings: Arc<dyn SettingsStore>,
    clock: Arc<dyn Clock>,
    signing: Arc<OnceCell<SigningKey>>,
}

impl SessionService {
    pub fn new(
        keys: KeyService,
        secrets: Arc<dyn SecretStore>,
        settings: Arc<dyn SettingsStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keys,
            secrets,
            settings,
            clock,
            signing: Arc::new(OnceCell::new()),
        }
    }

    /// Opens a session for a presented API key (refused as the API refuses the key).
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(&self, token: &str) -> Result<OpenSession, ServiceError> {
        let principal = self.keys.authenticate(token.trim()).await?;
        let mut session = Session::open_for(token.trim(), self.clock.now());
        session.epoch = self
            .settings
            .get_settings()
            .await?
            .session_epochs
            .get(&session.key_hash)
            .copied()
            .unwrap_or_default();
        let key = self.signing_key().await?;
        tracing::info!(key_id = ?session.key_id.as_ref().map(ToString::to_string), "console session opened");
        Ok(OpenSession {
            principal,
            cookie: key.seal(&session),
            csrf: key.csrf_token(&session),
            session,
        })
    }

    /// The session a cookie carries, if it is valid and its key still is.
    pub async fn resume(&self, cookie: &str) -> Result<OpenSession, ServiceError> {
        let key = self.signing_key().await?;
        let session = key
            .open(cookie, self.clock.now())
            .ok_or(ServiceError::Unauthenticated)?;
        let principal = self.keys.authenticate_session(&session).await?;
        let record = self.settings.get_settings().await?;
        let epoch = record.session_epochs.get(&session.key_hash).copied();
        if epoch.is_some_and(|epoch| session.epoch < epoch)
            || record.ended_sessions.iter().any(|e| e.ends(&session))
        {
            return Err(ServiceError::Unauthenticated);
        }
        Ok(OpenSession {
            principal,
            cookie: cookie.to_owned(),
            csrf: key.csrf_token(&session),
            session,
        })
    }

    /// Ends this session on the server: a copy of its cookie opens nothing any more.
    pub async fn sign_out(&self, open: &OpenSession) -> Result<(), ServiceError> {
        let ended = EndedSession::of(&open.session);
        let now = self.clock.now().timestamp();
        self.change(|record| record_ended(record, ended.clone(), now))
            .await
    }

    /// Ends every session of this session's key, on every browser (the key's epoch moves on).
    pub async fn sign_out_everywhere(&self, open: &OpenSession) -> Result<(), ServiceError> {
        let key = open.session.key_hash.clone();
        let epoch = open.session.epoch;
        self.change(|record| {
            let current = record.session_epochs.entry(key.clone()).or_default();
            *current = (*current).max(epoch) + 1;
            record.ended_sessions.retain(|e| e.key_hash != key);
        })
        .await
    }

    /// Applies `change` to the settings document, retrying a lost race with another write.
    async fn change(
        &self,
        change: impl Fn(&mut crate::ports::SettingsRecord),
    ) -> Result<(), ServiceError> {
        super::settings::change_settings(self.settings.as_ref(), 5, "the sign-out", |record| {
            change(record);
            Ok(true)
        })
        .await?;
        tracing::info!("console session ended");
        Ok(())
    }

    /// The key that signs cookies: read once per process; made and stored by the first sign-in
    /// anywhere. Two instances making one at the same moment each read back what was stored last,
    /// so at worst a session signed a moment earlier has to sign in again.
    async fn signing_key(&self) -> Result<SigningKey, ServiceError> {
        self.signing
            .get_or_try_init(|| async {
                if let Some(key) = self.stored_key().await? {
                    return Ok(key);
                }
                let fresh = SigningKey::generate();
                self.secrets
                    .put_secret(SIGNING_KEY_SECRET, &SecretString::from(fresh.to_stored()))
                    .await
                    .map_err(|e| ServiceError::unavailable("the secret store", e))?;
                Ok(self.stored_key().await?.unwrap_or(fresh))
            })
            .await
            .cloned()
    }

    async fn stored_key(&self) -> Result<Option<SigningKey>, ServiceError> {
        let stored = self
            .secrets
            .get_secret(SIGNING_KEY_SECRET)
            .await
            .map_err(|e| ServiceError::unavailable("the secret store", e))?;
        match stored {
            None => Ok(None),
            Some(text) => SigningKey::parse(text.expose_secret())
                .map(Some)
                .map_err(|m| ServiceError::unavailable("the console's signing key", m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::session::Session;
    use chrono::TimeZone;

    #[test]
    fn many_sign_outs_of_one_key_fold_into_a_new_epoch() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap();
        let mut record = crate::ports::SettingsRecord::default();
        let other = EndedSession::of(&Session::open_for("hk_other_key", now));
        record_ended(&mut record, other.clone(), now.timestamp());
        let looping = Session::open_for("hk_looping_key", now);
        for _ in 0..=ENDED_PER_KEY {
            let ended = EndedSession::of(&Session::open_for("hk_looping_key", now));
            record_ended(&mut record, ended, now.timestamp());
        }
        assert_eq!(
            record.ended_sessions,
            [other],
            "the looping key's entries folded"
        );
        assert_eq!(record.session_epochs.get(&looping.key_hash), Some(&1));
        // Entries past their expiry are forgotten at the next sign-out.
        let later = now + chrono::Duration::hours(13);
        let fresh = EndedSession::of(&Session::open_for("hk_third_key", later));
        record_ended(&mut record, fresh.clone(), later.timestamp());
        assert_eq!(record.ended_sessions, [fresh]);
    }
}
