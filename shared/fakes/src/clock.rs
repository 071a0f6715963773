//! The fakes' clock: a base clock (the system clock by default) plus an offset tests can move.
use chrono::{DateTime, TimeDelta, Utc};
use herald_core::clock::{Clock, SystemClock};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::lock;

/// Time as the fake servers see it. Token lifetimes, duplicate windows and rate windows all use it.
pub struct FakeClock {
    base: Arc<dyn Clock>,
    offset: Mutex<TimeDelta>,
}

impl FakeClock {
    /// The system clock, movable forward with [`FakeClock::advance`].
    pub fn system() -> Self {
        Self::new(Arc::new(SystemClock))
    }

    /// An injected clock (e.g. herald-core's `ManualClock`), still movable with `advance`.
    pub fn new(base: Arc<dyn Clock>) -> Self {
        Self {
            base,
            offset: Mutex::new(TimeDelta::zero()),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let offset = *lock(&self.offset);
        let base = self.base.now();
        base.checked_add_signed(offset).unwrap_or(base)
    }

    /// Moves this clock forward (the base clock is not touched).
    pub fn advance(&self, by: Duration) {
        let by = TimeDelta::from_std(by).unwrap_or_else(|_| {
            tracing::warn!(?by, "fake clock: advance too large, ignored");
            TimeDelta::zero()
        });
        let mut offset = lock(&self.offset);
        *offset = offset.checked_add(&by).unwrap_or(*offset);
    }
}

impl std::fmt::Debug for FakeClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeClock")
            .field("now", &self.now())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::clock::ManualClock;

    #[test]
    fn advance_moves_an_injected_clock() {
        let start = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let clock = FakeClock::new(Arc::new(ManualClock::new(start)));
        clock.advance(Duration::from_secs(7200));
        assert_eq!(clock.now(), start + TimeDelta::hours(2));
    }
}
