//! Access tokens cached per credential (id + SHA-256 of the secret), refreshed early, fetched
//! single-flight: concurrent senders with the same credential wait for one fetch.
use crate::time::{Time, delta};
use chrono::{DateTime, Utc};
use herald_core::ports::{SendError, SendFailure};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which credential a token belongs to. The secret is kept only as its hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CredentialKey {
    id: String,
    secret_sha256: [u8; 32],
}

impl CredentialKey {
    pub(crate) fn new(id: &str, secret: &SecretString) -> Self {
        Self {
            id: id.to_owned(),
            secret_sha256: Sha256::digest(secret.expose_secret().as_bytes()).into(),
        }
    }
}

/// A token as the provider issued it.
pub(crate) struct IssuedToken {
    pub token: SecretString,
    pub lifetime: Duration,
}

enum Cached {
    Token {
        token: SecretString,
        refresh_at: DateTime<Utc>,
    },
    /// A failed fetch, answered to every caller until `until`: a wrong secret or an untrusted IP
    /// must not become one gettoken per waiting sender (WeCom bans an IP for an hour for that).
    Failed {
        error: SendError,
        until: DateTime<Utc>,
    },
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// How long a failed fetch is remembered.
fn failure_ttl(error: &SendError) -> Duration {
    match error.failure {
        SendFailure::RateLimited { retry_after_ms } | SendFailure::HeldBack { retry_after_ms } => {
            Duration::from_millis(retry_after_ms)
        }
        SendFailure::Config | SendFailure::Recipient | SendFailure::Payload => {
            Duration::from_secs(30)
        }
        SendFailure::Transient => Duration::from_secs(2),
    }
}

/// What a caller gets from a remembered failed fetch. A fault that may pass (a 5xx, a timeout, a
/// rate limit) is "held back" for the rest of the wait: this caller sent nothing, so the failure
/// must not cost its delivery an attempt (under a provider's bad minute, one failed fetch would
/// otherwise burn an attempt of every send waiting on it). Settings that are wrong stay errors.
fn answered_from_cache(error: &SendError, left: chrono::TimeDelta) -> SendError {
    if !error.failure.is_retryable() {
        return error.clone();
    }
    let wait = left.to_std().unwrap_or_default();
    let mut held = crate::error::held_back(
        wait,
        format!(
            "held back: the token could not be fetched ({})",
            error.message
        ),
    );
    held.code = error.code;
    held
}

/// The token cache of one provider.
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<CredentialKey, Slot>>,
    /// How long before expiry a token is refreshed (at most half its lifetime).
    refresh_early: Duration,
    time: Time,
}

impl TokenCache {
    pub(crate) fn new(refresh_early: Duration, time: Time) -> Self {
        Self {
            slots: Mutex::default(),
            refresh_early,
            time,
        }
    }

    fn slot(&self, key: &CredentialKey) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(key.clone()).or_default().clone()
    }

    /// The cached token, or a fresh one from `fetch`. Only one fetch per key runs at a time; the
    /// others wait for it and then use its token (double-checked under the per-key lock).
    pub(crate) async fn get<F, Fut>(
        &self,
        key: &CredentialKey,
        fetch: F,
    ) -> Result<SecretString, SendError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<IssuedToken, SendError>>,
    {
        let slot = self.slot(key);
        let mut cached = slot.lock().await;
        let now = self.time.now();
        match cached.as_ref() {
            Some(Cached::Token { token, refresh_at }) if now < *refresh_at => {
                return Ok(token.clone());
            }
            Some(Cached::Failed { error, until }) if now < *until => {
                return Err(answered_from_cache(error, *until - now));
            }
            _ => {}
        }
        match fetch().await {
            Ok(issued) => {
                let early = self.refresh_early.min(issued.lifetime / 2);
                let refresh_at = self.time.now() + delta(issued.lifetime.saturating_sub(early));
                *cached = Some(Cached::Token {
                    token: issued.token.clone(),
                    refresh_at,
                });
                Ok(issued.token)
            }
            Err(error) => {
                let until = self.time.now() + delta(failure_ttl(&error));
                *cached = Some(Cached::Failed {
                    error: error.clone(),
                    until,
                });
                Err(error)
            }
        }
    }

    /// Drops `failed` if it is still the cached token, so that the senders that all saw it fail
    /// cause one refetch, not one each.
    pub(crate) async fn invalidate(&self, key: &CredentialKey, failed: &SecretString) {
        let slot = self.slot(key);
        let mut cached = slot.lock().await;
        if let Some(Cached::Token { token, .. }) = cached.as_ref()
            && token.expose_secret() == failed.expose_secret()
        {
            *cached = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn issued(token: &str, secs: u64) -> IssuedToken {
        IssuedToken {
            token: SecretString::from(token),
            lifetime: Duration::from_secs(secs),
        }
    }

    fn manual() -> (Arc<ManualClock>, Time) {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        (clock.clone(), Time::manual(clock))
    }

    #[tokio::test]
    async fn a_failed_fetch_costs_only_its_own_caller_an_attempt() {
        let (clock, time) = manual();
        let cache = TokenCache::new(Duration::from_secs(300), time);
        let key = CredentialKey::new("corp", &SecretString::from("s"));
        let bad_gateway = || async {
            Err(crate::error::failure(
                SendFailure::Transient,
                Some(502),
                "HTTP 502",
            ))
        };
        let first = cache.get(&key, bad_gateway).await.err().unwrap();
        assert_eq!(first.failure, SendFailure::Transient);
        clock.advance(chrono::TimeDelta::milliseconds(500));
        let waiting = cache.get(&key, bad_gateway).await.err().unwrap();
        assert_eq!(
            waiting.failure,
            SendFailure::HeldBack {
                retry_after_ms: 1_500
            }
        );
        assert!(waiting.message.contains("HTTP 502"), "{}", waiting.message);
        // A wrong secret is no passing fault: everyone is told so.
        let wrong = || async {
            Err(crate::error::failure(
                SendFailure::Config,
                Some(40001),
                "invalid secret",
            ))
        };
        clock.advance(chrono::TimeDelta::seconds(2));
        assert_eq!(
            cache.get(&key, wrong).await.err().unwrap().failure,
            SendFailure::Config
        );
        assert_eq!(
            cache.get(&key, wrong).await.err().unwrap().failure,
            SendFailure::Config
        );
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let (_, time) = manual();
        let cache = Arc::new(TokenCache::new(Duration::from_secs(300), time));
        let key = CredentialKey::new("corp", &SecretString::from("s"));
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, key, fetches) = (cache.clone(), key.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(&key, || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(issued("t1", 7200))
                    })
                    .await
                    .map(|t| t.expose_secret().to_owned())
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), "t1");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_token_is_refreshed_early_and_keys_include_the_secret() {
        let (clock, time) = manual();
        let cache = TokenCache::new(Duration::from_secs(300), time);
        let key = CredentialKey::new("corp", &SecretString::from("s"));
        let t = cache
            .get(&key, || async { Ok(issued("t1", 7200)) })
            .await
            .unwrap();
        assert_eq!(t.expose_secret(), "t1");
        clock.advance(chrono::TimeDelta::seconds(7200 - 301));
        let t = cache
            .get(&key, || async { Ok(issued("t2", 7200)) })
            .await
            .unwrap();
        assert_eq!(t.expose_secret(), "t1");
        clock.advance(chrono::TimeDelta::seconds(2));
        let t = cache
            .get(&key, || async { Ok(issued("t2", 7200)) })
            .await
            .unwrap();
        assert_eq!(t.expose_secret(), "t2");
        // A reset secret is another credential: its own token.
        let other = CredentialKey::new("corp", &SecretString::from("s2"));
        let t = cache
            .get(&other, || async { Ok(issued("t3", 7200)) })
            .await
            .unwrap();
        assert_eq!(t.expose_secret(), "t3");
    }

    #[tokio::test]
    async fn invalidating_a_stale_token_keeps_the_newer_one() {
        let (_, time) = manual();
        let cache = TokenCache::new(Duration::from_secs(300), time);
        let key = CredentialKey::new("corp", &SecretString::from("s"));
        cache
            .get(&key, || async { Ok(issued("t1", 7200)) })
            .await
            .unwrap();
        cache.invalidate(&key, &SecretString::from("t1")).await;
        cache
            .get(&key, || async { Ok(issued("t2", 7200)) })
            .await
            .unwrap();
        cache.invalidate(&key, &SecretString::from("t1")).await;
        let t = cache
            .get(&key, || async { Ok(issued("t3", 7200)) })
            .await
            .unwrap();
        assert_eq!(t.expose_secret(), "t2");
    }

    #[tokio::test]
    async fn a_config_failure_is_answered_from_the_cache_for_a_while() {
        let (clock, time) = manual();
        let cache = TokenCache::new(Duration::from_secs(300), time);
        let key = CredentialKey::new("corp", &SecretString::from("s"));
        let bad = || async {
            Err(crate::error::failure(
                SendFailure::Config,
                Some(60020),
                "ip",
            ))
        };
        assert_eq!(cache.get(&key, bad).await.unwrap_err().code, Some(60020));
        let unused = || async { Ok(issued("t1", 7200)) };
        assert_eq!(cache.get(&key, unused).await.unwrap_err().code, Some(60020));
        clock.advance(chrono::TimeDelta::seconds(31));
        let t = cache
            .get(&key, || async { Ok(issued("t1", 7200)) })
            .await
            .unwrap();
        assert_eq!(t.expose_secret(), "t1");
    }
}
