//! WeCom's 45009 ("api freq out of limit") on an app: the block lasts as long as the limit's period
//! (a minute, an hour, the rest of the natural day in China; provider-apis.md §8), and the answer
//! does not say which. Herald waits a minute first; a 45009 soon after that wait means the hourly
//! limit, and one after the hour the daily cap (on `message/send` the most common). While an app is
//! blocked its sends wait here without calling WeCom, so a push does not hammer a blocked app.
use crate::error::{failure, rate_limited, with_hint};
use crate::time::{Time, delta, until};
use chrono::{DateTime, Days, FixedOffset, NaiveTime, TimeDelta, Utc};
use herald_core::ports::{SendError, SendFailure};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// A 45009 this soon after a block ended is the same limit again, one period longer.
const SAME_LIMIT_WITHIN: TimeDelta = TimeDelta::minutes(10);

/// What one 45009 means, by how many came back to back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Period {
    Minute,
    Hour,
    Day,
}

#[derive(Debug, Clone, Copy)]
struct Block {
    period: Period,
    until: DateTime<Utc>,
}

/// Blocks per app (corp id and agent id).
pub(crate) struct AppBlocks {
    time: Time,
    blocks: Mutex<HashMap<String, Block>>,
}

impl AppBlocks {
    pub(crate) fn new(time: Time) -> Self {
        Self {
            time,
            blocks: Mutex::default(),
        }
    }

    /// The error for a call to `app` while it is blocked, without calling WeCom.
    pub(crate) fn check(&self, app: &str) -> Result<(), SendError> {
        let now = self.time.now();
        let blocks = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        match blocks.get(app) {
            Some(block) if now < block.until => Err(blocked(block, now, "still blocked")),
            _ => Ok(()),
        }
    }

    /// Records a 45009 from `app` and says what to do: wait the minute, the hour, or give up for
    /// the day.
    pub(crate) fn hit(&self, app: &str) -> SendError {
        let now = self.time.now();
        let mut blocks = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        let period = match blocks.get(app) {
            // Sends that were in flight when the block began answer 45009 too: the same block.
            Some(b) if now < b.until => {
                return blocked(b, now, "WeCom error 45009: api freq out of limit");
            }
            // 45009 again soon after the block ended: the limit of the next longer period.
            Some(b) if now <= b.until + SAME_LIMIT_WITHIN => match b.period {
                Period::Minute => Period::Hour,
                Period::Hour | Period::Day => Period::Day,
            },
            _ => Period::Minute,
        };
        let until = match period {
            Period::Minute => now + TimeDelta::minutes(1),
            Period::Hour => now + TimeDelta::hours(1),
            Period::Day => next_china_midnight(now),
        };
        let block = Block { period, until };
        blocks.insert(app.to_owned(), block);
        tracing::warn!(?period, until = %until, "WeCom 45009: the app is blocked");
        blocked(&block, now, "WeCom error 45009: api freq out of limit")
    }

    /// A successful call: the app is not blocked.
    pub(crate) fn clear(&self, app: &str) {
        let mut blocks = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        blocks.remove(app);
    }
}

fn blocked(block: &Block, now: DateTime<Utc>, what: &str) -> SendError {
    let wait = until(now, block.until);
    match block.period {
        Period::Minute => rate_limited(
            wait,
            Some(45009),
            format!("{what}; WeCom blocks the app for a minute"),
        ),
        Period::Hour => rate_limited(
            wait,
            Some(45009),
            format!(
                "{what} again after a minute's wait: WeCom's hourly limit, blocked for an hour"
            ),
        ),
        Period::Day => with_hint(
            failure(
                SendFailure::Config,
                Some(45009),
                format!(
                    "{what} again after an hour's wait: the app's daily cap is used up until {} (Beijing time)",
                    block.until.with_timezone(&china()).format("%Y-%m-%d %H:%M")
                ),
            ),
            "WeCom allows each app about 200 messages per licensed account a day (one message to 1,000 people counts 1,000): send to fewer people, merge pushes, or raise the account cap",
        ),
    }
}

/// China Standard Time (no daylight saving): WeCom's day.
const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

fn china() -> FixedOffset {
    CHINA
}

/// The next midnight in China after `now`.
fn next_china_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let local = now.with_timezone(&china()).date_naive();
    local
        .checked_add_days(Days::new(1))
        .and_then(|day| {
            day.and_time(NaiveTime::MIN)
                .and_local_timezone(china())
                .single()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now + delta(Duration::from_secs(86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::clock::ManualClock;
    use std::sync::Arc;

    #[test]
    fn a_minute_then_an_hour_then_the_day() {
        // 10:00 in Beijing.
        let start = DateTime::parse_from_rfc3339("2026-12-01T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Arc::new(ManualClock::new(start));
        let blocks = AppBlocks::new(Time::manual(clock.clone()));
        let wait = |e: &SendError| match e.failure {
            SendFailure::RateLimited { retry_after_ms } => retry_after_ms / 1000,
            _ => 0,
        };
        let first = blocks.hit("corp/1");
        assert_eq!(wait(&first), 60);
        // Sends in flight when the block began answer 45009 too: still the minute.
        clock.advance(TimeDelta::seconds(1));
        for _ in 0..5 {
            assert_eq!(wait(&blocks.hit("corp/1")), 59);
        }
        assert_eq!(wait(&blocks.check("corp/1").unwrap_err()), 59);
        assert!(blocks.check("corp/2").is_ok(), "another app is not blocked");
        clock.advance(TimeDelta::seconds(60));
        assert!(blocks.check("corp/1").is_ok());
        let second = blocks.hit("corp/1");
        assert_eq!(wait(&second), 3600, "{second:?}");
        clock.advance(TimeDelta::seconds(3601));
        let third = blocks.hit("corp/1");
        assert_eq!(third.failure, SendFailure::Config);
        assert!(
            third.message.contains("2026-12-02 00:00"),
            "{}",
            third.message
        );
        assert!(third.hint.is_some());
        assert_eq!(
            blocks.check("corp/1").unwrap_err().failure,
            SendFailure::Config
        );
        // After the day, and after a success, it starts again at a minute.
        blocks.clear("corp/1");
        assert_eq!(wait(&blocks.hit("corp/1")), 60);
        clock.advance(TimeDelta::hours(2));
        assert_eq!(
            wait(&blocks.hit("corp/1")),
            60,
            "long after: a new minute limit"
        );
    }
}
