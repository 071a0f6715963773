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

impl IssuedToken {
    /// The token a `gettoken` answer carries (`expires_in` seconds, 7,200 when absent); a success
    /// without one is a fault that may pass.
    pub(crate) fn from_answer(
        provider: &str,
        token: Option<String>,
        expires_in: Option<u64>,
    ) -> Result<Self, SendError> {
        match token.filter(|t| !t.is_empty()) {
            Some(token) => Ok(Self {
                token: SecretString::from(token),
                lifetime: Duration::from_secs(expires_in.unwrap_or(7200)),
            }),
            None => Err(crate::error::failure(
                SendFailure::Transient,
                None,
                format!("{provider} gettoken answered without a token"),
            )),
        }
    }
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
        /// Failed fetches in a row, this one included: a fault that may pass is fetched again
        /// soon after the first, later after each one more.
        in_a_row: u32,
    },
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

/// How long a fetch may take: a token is a few bytes that the provider answers at once, and while
/// a fetch lasts every sender with that credential waits for it.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause after a first failed fetch that may pass (a 5xx, a timeout, busy); it doubles with
/// each failure in a row up to [`MAX_TRANSIENT_PAUSE`]. Short, because no sender can send while
/// it lasts: a pause of seconds after every blip held back most sends of a busy provider.
const FIRST_TRANSIENT_PAUSE: Duration = Duration::from_millis(100);
const MAX_TRANSIENT_PAUSE: Duration = Duration::from_secs(30);
/// A sender that finds a pause at most this long waits it out and fetches (or uses the token
/// another sender fetched meanwhile) instead of being held back: a hold gives up the delivery's
/// place in the queue and costs two store writes.
const WAIT_IN_PLACE: Duration = Duration::from_secs(1);

/// How long a failed fetch is remembered, the `in_a_row`-th failure in a row.
fn failure_ttl(error: &SendError, in_a_row: u32) -> Duration {
    match error.failure {
        SendFailure::RateLimited { retry_after_ms } | SendFailure::HeldBack { retry_after_ms } => {
            Duration::from_millis(retry_after_ms)
        }
        SendFailure::Config | SendFailure::Recipient | SendFailure::Payload => {
            Duration::from_secs(30)
        }
        SendFailure::Transient => FIRST_TRANSIENT_PAUSE
            .saturating_mul(1_u32 << in_a_row.saturating_sub(1).min(16))
            .min(MAX_TRANSIENT_PAUSE),
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
        // The pause this caller waited out, if any: once it has passed, the caller fetches.
        let mut waited_for = None;
        let in_a_row = loop {
            let now = self.time.now();
            match cached.as_ref() {
                Some(Cached::Token { token, refresh_at }) if now < *refresh_at => {
                    return Ok(token.clone());
                }
                // A timer may wake a hair early: the pause waited out counts as over.
                Some(Cached::Failed {
                    until, in_a_row, ..
                }) if waited_for == Some(*until) => {
                    break *in_a_row;
                }
                Some(Cached::Failed { error, until, .. }) if now < *until => {
                    let left = *until - now;
                    let short = left.to_std().is_ok_and(|left| left <= WAIT_IN_PLACE);
                    if waited_for.is_some() || !short || !error.failure.is_retryable() {
                        return Err(answered_from_cache(error, left));
                    }
                    waited_for = Some(*until);
                    // Unlocked while waiting, so a sender that comes after the pause can fetch.
                    drop(cached);
                    self.time.sleep(left.to_std().unwrap_or_default()).await;
                    cached = slot.lock().await;
                }
                // Failures in a row end when the provider has been left alone for a while: a blip
                // hours after an outage pauses 100 ms, not 30 s.
                Some(Cached::Failed {
                    until, in_a_row, ..
                }) if now - *until < delta(MAX_TRANSIENT_PAUSE) => {
                    break *in_a_row;
                }
                _ => break 0,
            }
        };
        let fetched = tokio::time::timeout(FETCH_TIMEOUT, fetch())
            .await
            .unwrap_or_else(|_| {
                Err(crate::error::failure(
                    SendFailure::Transient,
                    None,
                    format!(
                        "the token fetch took longer than {} s",
                        FETCH_TIMEOUT.as_secs()
                    ),
                ))
            });
        match fetched {
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
                let in_a_row = in_a_row.saturating_add(1);
                let until = self.time.now() + delta(failure_ttl(&error, in_a_row));
                *cached = Some(Cached::Failed {
                    error: error.clone(),
                    until,
                    in_a_row,
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
    use herald_core::clock::{Clock, ManualClock};
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

    fn bad_gateway() -> SendError {
        crate::error::failure(SendFailure::Transient, Some(502), "HTTP 502")
    }

    #[tokio::test]
    async fn a_passing_fault_is_fetched_again_soon_and_later_after_each_failure_in_a_row() {
        let (clock, time) = manual();
        let cache = TokenCache::new(Duration::from_secs(300), time);
        let key = CredentialKey::new("corp", &SecretString::from("s"));
        let fetches = AtomicUsize::new(0);
        let failing = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            Err(bad_gateway())
        };
        // The caller whose fetch failed is told what happened (its attempt reached the provider).
        let started = clock.now();
        assert_eq!(
            cache.get(&key, failing).await.unwrap_err().failure,
            SendFailure::Transient
        );
        // The pauses after 1-4 failures in a row (100, 200, 400, 800 ms) are short: the next
        // caller waits each out and fetches again itself.
        for _ in 0..4 {
            let err = cache.get(&key, failing).await.unwrap_err();
            assert_eq!(err.failure, SendFailure::Transient);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 5);
        assert_eq!(
            clock.now() - started,
            chrono::TimeDelta::milliseconds(1_500)
        );
        // After the fifth the pause is 1.6 s: a caller is held back for it (no attempt used)
        // and nothing is fetched.
        let held = cache.get(&key, failing).await.unwrap_err();
        assert_eq!(
            held.failure,
            SendFailure::HeldBack {
                retry_after_ms: 1_600
            }
        );
        assert!(held.message.contains("HTTP 502"), "{}", held.message);
        assert_eq!(fetches.load(Ordering::SeqCst), 5);
        // A success ends the run of failures: the next failure pauses 100 ms again.
        clock.advance(chrono::TimeDelta::milliseconds(1_600));
        let t = cache.get(&key, || async { Ok(issued("t1", 7200)) }).await;
        assert_eq!(t.unwrap().expose_secret(), "t1");
        cache.invalidate(&key, &SecretString::from("t1")).await;
        assert!(cache.get(&key, failing).await.is_err());
        let before = clock.now();
        let t = cache.get(&key, || async { Ok(issued("t2", 7200)) }).await;
        assert_eq!(t.unwrap().expose_secret(), "t2");
        assert_eq!(clock.now() - before, chrono::TimeDelta::milliseconds(100));
    }

    #[tokio::test]
    async fn failures_in_a_row_end_once_the_provider_was_left_alone() {
        let (clock, time) = manual();
        let cache = TokenCache::new(Duration::from_secs(300), time);
        let key = CredentialKey::new("corp", &SecretString::from("s"));
        let failing = || async { Err(bad_gateway()) };
        for _ in 0..5 {
            assert!(cache.get(&key, failing).await.is_err());
        }
        // An outage's pauses (1.6 s by now) are forgotten a while after the last one ended.
        clock.advance(chrono::TimeDelta::seconds(60));
        assert!(cache.get(&key, failing).await.is_err());
        let before = clock.now();
        let t = cache.get(&key, || async { Ok(issued("t1", 7200)) }).await;
        assert_eq!(t.unwrap().expose_secret(), "t1");
        assert_eq!(clock.now() - before, chrono::TimeDelta::milliseconds(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_that_does_not_answer_is_given_up_after_five_seconds() {
        let cache = TokenCache::new(Duration::from_secs(300), Time::system());
        let key = CredentialKey::new("corp", &SecretString::from("s"));
        let started = tokio::time::Instant::now();
        let err = cache
            .get(&key, std::future::pending::<Result<IssuedToken, SendError>>)
            .await
            .unwrap_err();
        assert_eq!(err.failure, SendFailure::Transient);
        assert!(err.message.contains("longer than 5 s"), "{}", err.message);
        assert_eq!(started.elapsed(), FETCH_TIMEOUT);
    }

    #[tokio::test]
    async fn senders_behind_a_failed_fetch_use_the_token_fetched_after_the_pause() {
        let (_, time) = manual();
        let cache = Arc::new(TokenCache::new(Duration::from_secs(300), time));
        let key = CredentialKey::new("corp", &SecretString::from("s"));
        assert!(
            cache
                .get(&key, || async { Err(bad_gateway()) })
                .await
                .is_err()
        );
        assert_eq!(fetches_for(&cache, &key, 20, Duration::ZERO).await, 1);
    }

    /// `callers` concurrent gets, each with a fetch of "t1" taking `takes`: all get "t1"; how many
    /// fetches ran.
    async fn fetches_for(
        cache: &Arc<TokenCache>,
        key: &CredentialKey,
        callers: usize,
        takes: Duration,
    ) -> usize {
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..callers {
            let (cache, key, fetches) = (cache.clone(), key.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(&key, || async move {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(takes).await;
                        Ok(issued("t1", 7200))
                    })
                    .await
                    .map(|t| t.expose_secret().to_owned())
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), "t1");
        }
        fetches.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let (_, time) = manual();
        let cache = Arc::new(TokenCache::new(Duration::from_secs(300), time));
        let key = CredentialKey::new("corp", &SecretString::from("s"));
        let fetches = fetches_for(&cache, &key, 50, Duration::from_millis(20)).await;
        assert_eq!(fetches, 1);
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
        // Told at once, not after a wait: settings that are wrong do not pass.
        let before = clock.now();
        assert_eq!(cache.get(&key, unused).await.unwrap_err().code, Some(60020));
        assert_eq!(clock.now(), before);
        clock.advance(chrono::TimeDelta::seconds(31));
        let t = cache
            .get(&key, || async { Ok(issued("t1", 7200)) })
            .await
            .unwrap();
        assert_eq!(t.expose_secret(), "t1");
    }
}
