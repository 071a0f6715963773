//! Sign-ins shared by every chart and run of the process: one login for a page of 12 charts,
//! none for the next run while the token lasts. Fetched single-flight (one lock per source);
//! a failed login is remembered for a pause that doubles (1 s to 30 s), so a wrong password costs
//! one login, not one per chart — the same rule as the providers' access tokens.
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A token is refreshed this long before it expires (a quarter of its life when that is shorter).
pub(crate) const REFRESH_BEFORE: Duration = Duration::from_secs(30);
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(30);

/// A source's sign-in as it stands.
#[derive(Default)]
pub(crate) struct SignIn {
    /// What the sign-in was made with (address, user, secret): a changed source signs in again.
    pub made_with: [u8; 32],
    /// The access token and when to refresh it.
    pub access: Option<(SecretString, Instant)>,
    pub refresh: Option<SecretString>,
    /// The last failure and until when it is answered without asking again.
    pub failed: Option<(String, Instant)>,
    pub failures_in_a_row: u32,
    /// Logins made (for the figures: 12 charts, 1 login), and refreshes.
    pub logins: u64,
    pub refreshes: u64,
}

impl SignIn {
    /// The access token, if it is good for a while yet.
    pub fn fresh_token(&self, now: Instant) -> Option<SecretString> {
        self.access
            .as_ref()
            .filter(|(_, refresh_at)| now < *refresh_at)
            .map(|(token, _)| token.clone())
    }

    /// Forgets the kept token if it is `refused` (the source just refused it); another caller
    /// may already have replaced it, and then the new one stays.
    pub fn forget_if_kept(&mut self, refused: &SecretString) {
        use secrecy::ExposeSecret;
        if self
            .access
            .as_ref()
            .is_some_and(|(kept, _)| kept.expose_secret() == refused.expose_secret())
        {
            self.access = None;
        }
    }

    /// Keeps `token`, which expires at `expires`.
    pub fn keep(&mut self, token: SecretString, now: Instant, expires: Instant) {
        let life = expires.saturating_duration_since(now);
        self.access = Some((token, expires - REFRESH_BEFORE.min(life / 4)));
    }

    pub fn remembered_failure(&self, now: Instant) -> Option<String> {
        self.failed
            .as_ref()
            .filter(|(_, until)| now < *until)
            .map(|(words, _)| words.clone())
    }

    pub fn failed(&mut self, words: String, now: Instant) {
        let pause = FIRST_PAUSE
            .saturating_mul(2u32.saturating_pow(self.failures_in_a_row.min(5)))
            .min(LONGEST_PAUSE);
        self.failures_in_a_row += 1;
        self.failed = Some((words, now + pause));
        self.access = None;
    }

    /// Starts afresh when the source's address or credentials changed (its counts kept).
    pub fn made_with(&mut self, made_with: [u8; 32]) {
        if self.made_with != made_with {
            *self = SignIn {
                made_with,
                logins: self.logins,
                refreshes: self.refreshes,
                ..SignIn::default()
            };
        }
    }

    pub fn succeeded(&mut self) {
        self.failed = None;
        self.failures_in_a_row = 0;
    }
}

/// Every source's sign-in, each behind its own lock (the single flight).
#[derive(Default)]
pub(crate) struct Sessions {
    by_source: Mutex<HashMap<String, Arc<tokio::sync::Mutex<SignIn>>>>,
}

impl Sessions {
    pub fn of(&self, source: &str) -> Arc<tokio::sync::Mutex<SignIn>> {
        let mut all = self.by_source.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(all.entry(source.to_owned()).or_default())
    }

    /// Logins and refreshes made for `source` since the process started.
    pub fn counts(&self, source: &str) -> (u64, u64) {
        let all = self.by_source.lock().unwrap_or_else(|p| p.into_inner());
        all.get(source)
            .and_then(|s| s.try_lock().ok().map(|s| (s.logins, s.refreshes)))
            .unwrap_or((0, 0))
    }
}

/// A fingerprint of what a sign-in is made with (never stored or shown).
pub(crate) fn fingerprint(parts: &[&str]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

/// When a JWT expires (its `exp`), as an instant of this process's clock; `None` if it says not.
pub(crate) fn jwt_expiry(token: &str, now: Instant) -> Option<Instant> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let exp = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()?;
    let left = exp.saturating_sub(chrono::Utc::now().timestamp());
    // A token said to last more than a day is kept a day (then refreshed).
    let left = u64::try_from(left.clamp(0, 24 * 3600)).unwrap_or(0);
    now.checked_add(Duration::from_secs(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_sign_in_is_remembered_for_a_pause_that_doubles() {
        let now = Instant::now();
        let mut sign_in = SignIn::default();
        sign_in.failed("Superset: 401 Not authorized".into(), now);
        assert_eq!(
            sign_in.remembered_failure(now).as_deref(),
            Some("Superset: 401 Not authorized")
        );
        assert!(
            sign_in
                .remembered_failure(now + Duration::from_millis(1001))
                .is_none()
        );
        sign_in.failed("again".into(), now);
        assert!(
            sign_in
                .remembered_failure(now + Duration::from_millis(1500))
                .is_some()
        );
        for _ in 0..10 {
            sign_in.failed("again".into(), now);
        }
        assert!(
            sign_in
                .remembered_failure(now + Duration::from_secs(31))
                .is_none()
        );
        sign_in.succeeded();
        assert!(sign_in.remembered_failure(now).is_none());
    }

    #[test]
    fn a_jwt_says_when_it_expires() {
        use base64::Engine;
        let exp = chrono::Utc::now().timestamp() + 300;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{{\"exp\":{exp},\"sub\":\"1\"}}"));
        let token = format!("e30.{payload}.sig");
        let now = Instant::now();
        let expires = jwt_expiry(&token, now).expect("exp");
        assert!(
            expires > now + Duration::from_secs(290) && expires <= now + Duration::from_secs(300)
        );
        assert!(jwt_expiry("not-a-jwt", now).is_none());
    }
}
