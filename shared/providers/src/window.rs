//! A keyed sliding-window limiter: at most `max` sends in any `window` per key, callers wait
//! (first come, first served) for their slot. Used for the WeCom robot's 20 messages a minute.
//!
//! Not governor: its GCRA with a burst of 20 lets a 21st message through 3 s after a burst of 20,
//! which a counter of "20 in the last minute" (WeCom's rule) refuses with 45009.
use crate::time::{Time, delta, until};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// How many sends a window allows, and how long a caller may wait for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowQuota {
    pub max: usize,
    pub window: Duration,
    /// A caller whose slot is further away gets `Err(wait)` instead of waiting.
    pub max_wait: Duration,
}

impl WindowQuota {
    /// WeCom group robots: 20 messages a minute; wait at most 20 s in the attempt (a longer wait
    /// re-queues the delivery for its slot instead of holding its lease).
    pub const WECOM_ROBOT: Self = Self {
        max: 20,
        window: Duration::from_secs(60),
        max_wait: Duration::from_secs(20),
    };

    /// Feishu: 50 calls a second per app and API; wait at most 10 s.
    pub const FEISHU_APP: Self = Self {
        max: 50,
        window: Duration::from_secs(1),
        max_wait: Duration::from_secs(10),
    };

    /// The extra gap kept beyond the window for the time a request takes to arrive: a twentieth of
    /// the window, at most 2 s (3 s of a robot's minute; 50 ms of Feishu's second).
    pub fn margin(&self) -> Duration {
        (self.window / 20).min(Duration::from_secs(2))
    }
}

/// The limiter; keys are e.g. robot keys (held only in memory, never logged).
pub(crate) struct WindowLimiter {
    quota: WindowQuota,
    time: Time,
    // Per key: the instants of sends in the current window, including reserved future slots.
    slots: Mutex<HashMap<String, VecDeque<DateTime<Utc>>>>,
}

impl WindowLimiter {
    pub(crate) fn new(quota: WindowQuota, time: Time) -> Self {
        Self {
            quota: WindowQuota {
                max: quota.max.max(1),
                ..quota
            },
            time,
            slots: Mutex::default(),
        }
    }

    /// Reserves the next slot for `key`, or says how long it would be if that exceeds `max_wait`.
    fn reserve(&self, key: &str) -> Result<DateTime<Utc>, Duration> {
        let now = self.time.now();
        let window = delta(self.quota.window);
        let mut all = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let sent = all.entry(key.to_owned()).or_default();
        while sent.front().is_some_and(|t| *t + window <= now) {
            sent.pop_front();
        }
        let mut slot = now.max(sent.back().copied().unwrap_or(now));
        if sent.len() >= self.quota.max
            && let Some(oldest_in_window) = sent.get(sent.len() - self.quota.max)
        {
            // The provider counts arrivals, we count departures: a send that arrives a little later
            // than the one `max` before it must not fall into the same window, hence the margin.
            slot = slot.max(*oldest_in_window + window + delta(self.quota.margin()));
        }
        let wait = until(now, slot);
        if wait > self.quota.max_wait {
            return Err(wait);
        }
        sent.push_back(slot);
        Ok(slot)
    }

    /// Waits for `key`'s next slot; `Err(wait)` (without waiting) if it is more than `max_wait` away.
    pub(crate) async fn acquire(&self, key: &str) -> Result<(), Duration> {
        let slot = self.reserve(key)?;
        if self.time.now() < slot {
            tracing::debug!(
                wait_ms = until(self.time.now(), slot).as_millis(),
                "waiting for a rate-limit slot"
            );
            self.time.sleeper.sleep_until(slot).await;
        }
        Ok(())
    }

    /// Marks `key`'s window as full from now (the provider said so), so later callers wait.
    pub(crate) fn saturate(&self, key: &str) {
        let now = self.time.now();
        let mut all = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let sent = all.entry(key.to_owned()).or_default();
        let last = sent.back().copied().unwrap_or(now).max(now);
        while sent.len() < self.quota.max {
            sent.push_back(last);
        }
        let max = self.quota.max;
        sent.iter_mut()
            .rev()
            .take(max)
            .for_each(|t| *t = (*t).max(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::clock::{Clock, ManualClock};
    use std::sync::Arc;

    fn limiter(max: usize, window: u64, max_wait: u64) -> (Arc<ManualClock>, WindowLimiter) {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let quota = WindowQuota {
            max,
            window: Duration::from_secs(window),
            max_wait: Duration::from_secs(max_wait),
        };
        (
            clock.clone(),
            WindowLimiter::new(quota, Time::manual(clock)),
        )
    }

    #[tokio::test]
    async fn twenty_go_at_once_and_the_rest_wait_for_the_next_window() {
        let (clock, limiter) = limiter(20, 60, 120);
        let start = clock.now();
        let mut at = Vec::new();
        for _ in 0..25 {
            limiter.acquire("k").await.unwrap();
            at.push((clock.now() - start).num_seconds());
        }
        assert!(at[..20].iter().all(|s| *s == 0), "{at:?}");
        // A full window plus the arrival margin (a twentieth of it, at most 2 s).
        assert!(at[20..].iter().all(|s| *s == 62), "{at:?}");
        // Another key has its own window.
        limiter.acquire("other").await.unwrap();
        assert_eq!((clock.now() - start).num_seconds(), 62);
    }

    #[tokio::test]
    async fn a_wait_beyond_the_bound_is_refused_without_reserving() {
        let (_, limiter) = limiter(2, 60, 90);
        for _ in 0..4 {
            limiter.reserve("k").unwrap(); // two now, two at +62 s (window and margin)
        }
        let wait = limiter.reserve("k").unwrap_err();
        assert_eq!(wait, Duration::from_secs(124));
        assert_eq!(limiter.reserve("k").unwrap_err(), Duration::from_secs(124));
    }

    #[tokio::test]
    async fn saturating_makes_callers_wait_a_full_window() {
        let (clock, limiter) = limiter(20, 60, 120);
        limiter.reserve("k").unwrap();
        limiter.saturate("k");
        let slot = limiter.reserve("k").unwrap();
        assert_eq!((slot - clock.now()).num_seconds(), 62);
    }
}
