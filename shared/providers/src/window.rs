//! A keyed sliding-window limiter with one or more windows per key (Feishu: 50 a second *and*
//! 1,000 a minute; a WeCom member: 30 a minute and 1,000 an hour): callers wait, first come first
//! served, for a slot every window allows. Used for the WeCom robot's 20 messages a minute, Feishu's
//! per-app quotas and WeCom's per-member limits.
//!
//! Not governor: its GCRA with a burst of 20 lets a 21st message through 3 s after a burst of 20,
//! which a counter of "20 in the last minute" (WeCom's rule) refuses with 45009.
use crate::time::{Time, delta, until};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use herald_core::ports::{QuotaStore, StoreError};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The [`QuotaStore`] the limiters share, for [`crate::ProvidersConfig`] (which is `Debug`).
#[derive(Clone)]
pub struct SharedWindowsRef(pub Arc<dyn QuotaStore>);

impl std::fmt::Debug for SharedWindowsRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedWindows")
    }
}

/// How often a shared reservation is tried again when other processes keep writing first.
const SHARED_TRIES: u32 = 12;
/// Shared records read or written at once for one reservation (a message to many members).
const SHARED_AT_ONCE: usize = 16;

/// At most `max` sends in any `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub max: usize,
    pub per: Duration,
}

impl Rate {
    pub const fn new(max: usize, per: Duration) -> Self {
        Self { max, per }
    }

    /// The extra gap kept beyond the window for the time a request takes to arrive: a twentieth of
    /// the window, at most 2 s (2 s of a minute; 50 ms of a second).
    pub fn margin(&self) -> Duration {
        (self.per / 20).min(Duration::from_secs(2))
    }
}

/// The windows a key's sends must fit, and how long a caller may wait for a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowQuota {
    pub rates: Vec<Rate>,
    /// A caller whose slot is further away gets `Err(wait)` instead of waiting.
    pub max_wait: Duration,
}

const MINUTE: Duration = Duration::from_secs(60);

impl WindowQuota {
    pub fn new(rates: impl IntoIterator<Item = Rate>, max_wait: Duration) -> Self {
        Self {
            rates: rates.into_iter().collect(),
            max_wait,
        }
    }

    /// WeCom group robots: 20 messages a minute; wait at most 20 s in the attempt (a longer wait
    /// re-queues the delivery for its slot instead of holding its lease).
    pub fn wecom_robot() -> Self {
        Self::new([Rate::new(20, MINUTE)], Duration::from_secs(20))
    }

    /// DingTalk custom robots: 20 messages a minute (beyond, DingTalk throttles the robot for 10
    /// minutes); wait at most 20 s in the attempt.
    pub fn dingtalk_robot() -> Self {
        Self::new([Rate::new(20, MINUTE)], Duration::from_secs(20))
    }

    /// DingTalk work notices to one member from one app: 500 a day (beyond, dropped silently).
    pub fn dingtalk_member() -> Self {
        Self::new(
            [Rate::new(
                herald_core::domain::limits::dingtalk::NOTICES_PER_MEMBER_PER_DAY,
                24 * 60 * MINUTE,
            )],
            Duration::from_secs(20),
        )
    }

    /// A Feishu group chat: 5 messages a second, shared by every bot in it; wait at most 10 s.
    pub fn feishu_chat() -> Self {
        Self::new(
            [Rate::new(5, Duration::from_secs(1))],
            Duration::from_secs(10),
        )
    }

    /// Feishu: 50 calls a second and 1,000 a minute per app and API; wait at most 10 s.
    pub fn feishu_app() -> Self {
        Self::new(
            [
                Rate::new(50, Duration::from_secs(1)),
                Rate::new(1000, MINUTE),
            ],
            Duration::from_secs(10),
        )
    }

    /// WeCom app messages to one member of one app: 30 a minute and 1,000 an hour (beyond, WeCom
    /// drops them silently); wait at most 20 s.
    pub fn wecom_member() -> Self {
        Self::new(
            [Rate::new(30, MINUTE), Rate::new(1000, 60 * MINUTE)],
            Duration::from_secs(20),
        )
    }

    /// The longest window and its margin: sends older than this no longer count.
    fn horizon(&self) -> Duration {
        self.rates
            .iter()
            .map(|r| r.per + r.margin())
            .max()
            .unwrap_or_default()
    }
}

/// Why no slot was reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoSlot {
    /// The slot is this far away, beyond `max_wait`.
    TooFar(Duration),
    /// More sends at once than a window allows at all.
    TooMany { max: usize },
}

/// How often the limiter drops keys whose sends have all left every window.
const SWEEP_EVERY: u32 = 1024;

/// The limiter; keys are e.g. robot keys or member ids (held only in memory, never logged).
pub(crate) struct WindowLimiter {
    quota: WindowQuota,
    time: Time,
    state: Mutex<State>,
    /// Set: reservations go through the shared records (other processes' sends count).
    shared: Option<SharedWindowsRef>,
}

#[derive(Default)]
struct State {
    // Per key: the instants of its sends within the longest window, including reserved slots.
    sent: HashMap<String, VecDeque<DateTime<Utc>>>,
    reservations: u32,
}

impl WindowLimiter {
    pub(crate) fn new(quota: WindowQuota, time: Time) -> Self {
        let rates = quota
            .rates
            .iter()
            .map(|r| Rate::new(r.max.max(1), r.per))
            .collect();
        Self {
            quota: WindowQuota { rates, ..quota },
            time,
            state: Mutex::default(),
            shared: None,
        }
    }

    /// Counts reservations in `shared` as well (several processes, one quota).
    pub(crate) fn shared(mut self, shared: Option<SharedWindowsRef>) -> Self {
        self.shared = shared;
        self
    }

    fn too_many(&self, count: usize) -> Option<usize> {
        self.quota
            .rates
            .iter()
            .map(|r| r.max)
            .filter(|max| count > *max)
            .min()
    }

    /// Reserves `count` sends at one instant for every key in the shared records: read them,
    /// find the slot every key allows, write each back if nobody wrote in between; the keys that
    /// lost a race are read again. If a race moves the slot later, every key takes the new slot
    /// too, and the reservations already written at the old one stay: they only over-count (a
    /// later send waits a little longer), never under-count. If a record cannot be reached, the
    /// process's own count decides (a store outage must not stop the sends).
    async fn reserve_shared(
        &self,
        shared: &dyn QuotaStore,
        keys: &[String],
        count: usize,
    ) -> Result<DateTime<Utc>, NoSlot> {
        if let Some(max) = self.too_many(count) {
            return Err(NoSlot::TooMany { max });
        }
        let stored: Vec<String> = keys
            .iter()
            .map(|key| hex::encode(Sha256::digest(key.as_bytes())))
            .collect();
        let horizon = delta(self.quota.horizon());
        let mut slot = self.time.now();
        let mut pending: Vec<usize> = (0..keys.len()).collect();
        for attempt in 0..SHARED_TRIES {
            let now = self.time.now();
            // Collected first: a `Map` adaptor held across the await makes the future not `Send`
            // for every lifetime (a known rustc limitation with closures in async fns).
            let loads: Vec<_> = pending.iter().map(|i| shared.load(&stored[*i])).collect();
            let loaded = futures::stream::iter(loads)
                .buffered(SHARED_AT_ONCE)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<_>, StoreError>>();
            let loaded = match loaded {
                Ok(loaded) => loaded,
                Err(err) => return self.reserve_alone(keys, count, &err),
            };
            let windows: Vec<(VecDeque<DateTime<Utc>>, u64)> = loaded
                .into_iter()
                .map(|(sent, version)| {
                    let sent = sent.into_iter().filter(|t| *t + horizon > now).collect();
                    (sent, version)
                })
                .collect();
            let candidate = windows
                .iter()
                .map(|(sent, _)| self.earliest(sent, count, now))
                .fold(slot.max(now), DateTime::max);
            let wait = until(now, candidate);
            if wait > self.quota.max_wait {
                return Err(NoSlot::TooFar(wait));
            }
            if candidate > slot && pending.len() < keys.len() {
                // Keys already written hold the old slot: all of them take the new one.
                slot = candidate;
                pending = (0..keys.len()).collect();
                continue;
            }
            slot = candidate;
            let stores: Vec<_> = pending
                .iter()
                .zip(windows)
                .map(|(i, (mut sent, version))| {
                    sent.extend(std::iter::repeat_n(slot, count));
                    let (i, key) = (*i, &stored[*i]);
                    async move {
                        let written = shared
                            .store(key, sent.make_contiguous(), version, slot + horizon)
                            .await;
                        written.map(|written| (i, written))
                    }
                })
                .collect();
            let written = futures::stream::iter(stores)
                .buffered(SHARED_AT_ONCE)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<_>, StoreError>>();
            match written {
                Ok(written) => {
                    pending = written
                        .into_iter()
                        .filter(|(_, written)| !written)
                        .map(|(i, _)| i)
                        .collect();
                }
                Err(err) => return self.reserve_alone(keys, count, &err),
            }
            if pending.is_empty() {
                return Ok(slot);
            }
            // Another process reserved first: back off a little, growing, and read again.
            let pause = Duration::from_millis(5 * u64::from(attempt + 1));
            tokio::time::sleep(pause).await;
        }
        // Too many processes at once: come back in a second rather than exceed the quota.
        Err(NoSlot::TooFar(Duration::from_secs(1)))
    }

    fn reserve_alone(
        &self,
        keys: &[String],
        count: usize,
        err: &StoreError,
    ) -> Result<DateTime<Utc>, NoSlot> {
        tracing::warn!(error = %err, "the shared quota record is unreachable; counting locally");
        self.reserve(keys, count)
    }

    /// The earliest instant at or after `from` when `count` more sends fit every window of `sent`.
    fn earliest(
        &self,
        sent: &VecDeque<DateTime<Utc>>,
        count: usize,
        from: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let mut slot = from.max(sent.back().copied().unwrap_or(from));
        for rate in &self.quota.rates {
            // After the new sends, the window ending at `slot` may hold at most `max`: the send
            // `max - count` places before the end must have left it. The provider counts arrivals,
            // we count departures, hence the margin.
            let keep = rate.max - count;
            if sent.len() > keep {
                let oldest = sent[sent.len() - keep - 1];
                slot = slot.max(oldest + delta(rate.per) + delta(rate.margin()));
            }
        }
        slot
    }

    /// Reserves `count` sends at one instant for every key in `keys`, or says why not.
    pub(crate) fn reserve(&self, keys: &[String], count: usize) -> Result<DateTime<Utc>, NoSlot> {
        if let Some(max) = self.too_many(count) {
            return Err(NoSlot::TooMany { max });
        }
        let now = self.time.now();
        let horizon = delta(self.quota.horizon());
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut slot = now;
        for key in keys {
            let sent = state.sent.entry(key.clone()).or_default();
            while sent.front().is_some_and(|t| *t + horizon <= now) {
                sent.pop_front();
            }
            slot = slot.max(self.earliest(sent, count, now));
        }
        let wait = until(now, slot);
        if wait > self.quota.max_wait {
            return Err(NoSlot::TooFar(wait));
        }
        for key in keys {
            if let Some(sent) = state.sent.get_mut(key) {
                sent.extend(std::iter::repeat_n(slot, count));
            }
        }
        state.reservations = state.reservations.wrapping_add(1);
        if state.reservations.is_multiple_of(SWEEP_EVERY) {
            state
                .sent
                .retain(|_, sent| sent.back().is_some_and(|t| *t + horizon > now));
        }
        Ok(slot)
    }

    /// Waits for `key`'s next slot; `Err(wait)` (without waiting) if it is more than `max_wait` away.
    pub(crate) async fn acquire(&self, key: &str) -> Result<(), Duration> {
        match self.acquire_all(&[key.to_owned()], 1).await {
            Ok(_) => Ok(()),
            Err(NoSlot::TooFar(wait)) => Err(wait),
            Err(NoSlot::TooMany { .. }) => Err(self.quota.horizon()),
        }
    }

    /// Waits until `count` sends to every key fit; returns how long it waited.
    pub(crate) async fn acquire_all(
        &self,
        keys: &[String],
        count: usize,
    ) -> Result<Duration, NoSlot> {
        let slot = match (&self.shared, keys) {
            (Some(shared), [_, ..]) => self.reserve_shared(shared.0.as_ref(), keys, count).await?,
            _ => self.reserve(keys, count)?,
        };
        let wait = until(self.time.now(), slot);
        if !wait.is_zero() {
            tracing::debug!(wait_ms = wait.as_millis(), "waiting for a rate-limit slot");
            self.time.sleeper.sleep_until(slot).await;
        }
        Ok(wait)
    }

    /// Marks `key`'s shortest window as full from now (the provider said so), so later callers
    /// wait. For single-window quotas (the robot's minute); a quota with several windows would
    /// need to know which one the provider meant.
    pub(crate) fn saturate(&self, key: &str) {
        let now = self.time.now();
        let max = self.quota.rates.iter().map(|r| r.max).min().unwrap_or(1);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let sent = state.sent.entry(key.to_owned()).or_default();
        let last = sent.back().copied().unwrap_or(now).max(now);
        while sent.len() < max {
            sent.push_back(last);
        }
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

    fn limiter_with(quota: WindowQuota) -> (Arc<ManualClock>, WindowLimiter) {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        (
            clock.clone(),
            WindowLimiter::new(quota, Time::manual(clock)),
        )
    }

    fn limiter(max: usize, window: u64, max_wait: u64) -> (Arc<ManualClock>, WindowLimiter) {
        limiter_with(WindowQuota::new(
            [Rate::new(max, Duration::from_secs(window))],
            Duration::from_secs(max_wait),
        ))
    }

    fn one(key: &str) -> Vec<String> {
        vec![key.to_owned()]
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
            limiter.reserve(&one("k"), 1).unwrap(); // two now, two at +62 s (window and margin)
        }
        let too_far = NoSlot::TooFar(Duration::from_secs(124));
        assert_eq!(limiter.reserve(&one("k"), 1).unwrap_err(), too_far);
        assert_eq!(limiter.reserve(&one("k"), 1).unwrap_err(), too_far);
    }

    #[tokio::test]
    async fn saturating_makes_callers_wait_a_full_window() {
        let (clock, limiter) = limiter(20, 60, 120);
        limiter.reserve(&one("k"), 1).unwrap();
        limiter.saturate("k");
        let slot = limiter.reserve(&one("k"), 1).unwrap();
        assert_eq!((slot - clock.now()).num_seconds(), 62);
    }

    #[tokio::test]
    async fn every_window_holds_feishu_1500_calls_take_a_minute_and_ten_seconds() {
        let (clock, limiter) = limiter_with(WindowQuota {
            max_wait: Duration::from_secs(120),
            ..WindowQuota::feishu_app()
        });
        let start = clock.now();
        let mut at = Vec::new();
        for _ in 0..1500 {
            limiter.acquire("app").await.unwrap();
            at.push((clock.now() - start).to_std().unwrap());
        }
        // 50 a second for the first 1,000 (19 s plus 19 margins of 50 ms), then the minute window
        // (plus its 2 s margin) lets the rest through at 50 a second again.
        assert!(at[999] < Duration::from_secs(20), "{:?}", at[999]);
        assert!(at[1000] >= Duration::from_secs(62), "{:?}", at[1000]);
        assert!(at[1499] < Duration::from_secs(73), "{:?}", at[1499]);
        for rate in WindowQuota::feishu_app().rates {
            let per = rate.per;
            for (i, t) in at.iter().enumerate() {
                let in_window = at[i..].iter().take_while(|u| **u < *t + per).count();
                assert!(in_window <= rate.max, "{in_window} in {per:?} from {t:?}");
            }
        }
    }

    #[tokio::test]
    async fn several_keys_and_several_sends_reserve_together() {
        let (clock, limiter) = limiter(3, 60, 120);
        let start = clock.now();
        let both = vec!["a".to_owned(), "b".to_owned()];
        limiter.reserve(&one("a"), 2).unwrap();
        // b is free, but a has one send left: two more to both wait for a's window.
        let slot = limiter.reserve(&both, 2).unwrap();
        assert_eq!((slot - start).num_seconds(), 62);
        assert_eq!(
            limiter.reserve(&one("a"), 4).unwrap_err(),
            NoSlot::TooMany { max: 3 }
        );
    }

    type Records = HashMap<String, (Vec<DateTime<Utc>>, u64)>;
    type Race = Box<dyn FnOnce(&mut Records) + Send>;

    /// Shared records in memory; `race` runs once, just before the first store, as another
    /// process writing in between would.
    #[derive(Default)]
    struct MemoryWindows {
        records: Mutex<Records>,
        race: Mutex<Option<Race>>,
    }

    #[async_trait::async_trait]
    impl QuotaStore for MemoryWindows {
        async fn load(&self, key: &str) -> Result<(Vec<DateTime<Utc>>, u64), StoreError> {
            let records = self.records.lock().unwrap();
            Ok(records.get(key).cloned().unwrap_or_default())
        }
        async fn store(
            &self,
            key: &str,
            sent: &[DateTime<Utc>],
            version: u64,
            _keep_until: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            let mut records = self.records.lock().unwrap();
            if let Some(race) = self.race.lock().unwrap().take() {
                race(&mut records);
            }
            let record = records.entry(key.to_owned()).or_default();
            if record.1 != version {
                return Ok(false);
            }
            *record = (sent.to_vec(), version + 1);
            Ok(true)
        }
    }

    fn stored(key: &str) -> String {
        hex::encode(Sha256::digest(key.as_bytes()))
    }

    #[tokio::test]
    async fn a_race_that_moves_the_slot_moves_every_key_and_never_under_counts() {
        let (clock, limiter) = limiter(2, 60, 120);
        let windows = Arc::new(MemoryWindows::default());
        let limiter = limiter.shared(Some(SharedWindowsRef(windows.clone())));
        let start = clock.now();
        // Just before the first write, another process fills b's window with two sends.
        *windows.race.lock().unwrap() = Some(Box::new(move |records: &mut Records| {
            let b = records.entry(stored("b")).or_default();
            *b = (vec![start, start], b.1 + 1);
        }));
        let both = vec!["a".to_owned(), "b".to_owned()];
        let slot = limiter
            .reserve_shared(windows.as_ref(), &both, 1)
            .await
            .unwrap();
        assert_eq!((slot - start).num_seconds(), 62, "after b's window");
        let records = windows.records.lock().unwrap();
        let (a, _) = &records[&stored("a")];
        let (b, _) = &records[&stored("b")];
        // a keeps the reservation it won at the old slot (an over-count) and takes the new one.
        assert_eq!(a, &vec![start, slot]);
        assert_eq!(b, &vec![start, start, slot]);
    }
}
