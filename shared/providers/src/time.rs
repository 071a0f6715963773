//! Time for the clients: a clock that tells it and a sleeper that waits, both swappable in tests.
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use herald_core::clock::{Clock, ManualClock, SystemClock};
use std::sync::Arc;
use std::time::Duration;

/// Waits until an instant of the paired clock.
#[async_trait]
pub trait Sleeper: Send + Sync {
    async fn sleep_until(&self, deadline: DateTime<Utc>);
}

/// Real waiting on the tokio timer, against the system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        if let Ok(wait) = (deadline - Utc::now()).to_std() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// For tests: "waiting" moves a [`ManualClock`] forward to the deadline at once.
#[derive(Debug, Clone)]
pub struct ManualSleeper(pub Arc<ManualClock>);

#[async_trait]
impl Sleeper for ManualSleeper {
    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        if self.0.now() < deadline {
            self.0.set(deadline);
        }
        tokio::task::yield_now().await;
    }
}

/// A clock and the sleeper that goes with it.
#[derive(Clone)]
pub struct Time {
    pub clock: Arc<dyn Clock>,
    pub sleeper: Arc<dyn Sleeper>,
}

impl Time {
    /// The system clock and the tokio timer.
    pub fn system() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
        }
    }

    /// A manual clock whose sleeps advance it instantly (tests).
    pub fn manual(clock: Arc<ManualClock>) -> Self {
        Self {
            clock: clock.clone(),
            sleeper: Arc::new(ManualSleeper(clock)),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub async fn sleep(&self, wait: Duration) {
        let deadline = self.now() + delta(wait);
        self.sleeper.sleep_until(deadline).await;
    }
}

impl std::fmt::Debug for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Time").field("now", &self.now()).finish()
    }
}

/// A std duration as a chrono delta, at most a day: durations here are seconds to an hour, and a
/// larger one added to a time must not overflow it.
pub(crate) fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d.min(Duration::from_secs(86_400))).unwrap_or(TimeDelta::days(1))
}

/// The time from `now` to `later`, zero if it is already past.
pub(crate) fn until(now: DateTime<Utc>, later: DateTime<Utc>) -> Duration {
    (later - now).to_std().unwrap_or(Duration::ZERO)
}
