//! Feishu user look-ups by e-mail or mobile, cached with a TTL (found for long, not found briefly).
use crate::time::{Time, delta};
use chrono::{DateTime, Utc};
use herald_core::domain::message::FeishuRecipient;
use herald_core::domain::recipients::FeishuOpenId;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// `batch_get_id` takes at most this many e-mails and this many mobiles per call.
pub const BATCH_MAX: usize = 50;
/// Past this many entries, expired ones are dropped on insert.
const PRUNE_ABOVE: usize = 10_000;

/// How long look-ups are cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupTtl {
    pub found: Duration,
    pub not_found: Duration,
}

impl Default for LookupTtl {
    fn default() -> Self {
        Self {
            found: Duration::from_secs(3600),
            not_found: Duration::from_secs(300),
        }
    }
}

/// A cache key: the app (open ids are per app) and the normalised e-mail or mobile.
type Key = (String, String);
/// A cached answer and until when it holds.
type Entry = (Option<FeishuOpenId>, DateTime<Utc>);

/// The normalised look-up key of a recipient (`None` for an open id, which needs no look-up).
pub(crate) fn lookup_key(who: &FeishuRecipient) -> Option<String> {
    match who {
        FeishuRecipient::OpenId(_) | FeishuRecipient::Chat(_) => None,
        FeishuRecipient::Email(email) => {
            Some(format!("e:{}", email.as_str().trim().to_lowercase()))
        }
        FeishuRecipient::Mobile(mobile) => Some(format!("m:{}", normalise_mobile(mobile))),
    }
}

/// Mainland numbers compare without `+86`, as Feishu answers them either way.
fn normalise_mobile(mobile: &str) -> String {
    let m: String = mobile
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    m.strip_prefix("+86").map(str::to_owned).unwrap_or(m)
}

pub(crate) struct LookupCache {
    ttl: LookupTtl,
    time: Time,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl LookupCache {
    pub(crate) fn new(ttl: LookupTtl, time: Time) -> Self {
        Self {
            ttl,
            time,
            entries: Mutex::default(),
        }
    }

    /// `Some(answer)` if cached and fresh (the answer itself may be "not found").
    pub(crate) fn get(&self, app_id: &str, key: &str) -> Option<Option<FeishuOpenId>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (id, until) = entries.get(&(app_id.to_owned(), key.to_owned()))?;
        (self.time.now() < *until).then(|| id.clone())
    }

    pub(crate) fn put(&self, app_id: &str, key: String, id: Option<FeishuOpenId>) {
        let now = self.time.now();
        let ttl = if id.is_some() {
            self.ttl.found
        } else {
            self.ttl.not_found
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > PRUNE_ABOVE {
            entries.retain(|_, (_, until)| *until > now);
        }
        entries.insert((app_id.to_owned(), key), (id, now + delta(ttl)));
    }
}

/// `data` of a `batch_get_id` answer.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct BatchData {
    #[serde(default)]
    pub user_list: Vec<BatchEntry>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BatchEntry {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
}

impl BatchEntry {
    /// The entry's look-up key and the open id it found (an id that is not an open id counts as none).
    pub(crate) fn found(&self) -> Option<(String, Option<FeishuOpenId>)> {
        let key = match (&self.email, &self.mobile) {
            (Some(email), _) => format!("e:{}", email.trim().to_lowercase()),
            (None, Some(mobile)) => format!("m:{}", normalise_mobile(mobile)),
            (None, None) => return None,
        };
        let id = self
            .user_id
            .as_deref()
            .and_then(|id| match FeishuOpenId::parse(id) {
                Ok(id) => Some(id),
                Err(_) => {
                    tracing::warn!("Feishu batch_get_id answered an id that is not an open id");
                    None
                }
            });
        Some((key, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::clock::ManualClock;
    use herald_core::domain::recipients::EmailAddress;
    use std::sync::Arc;

    #[test]
    fn keys_ignore_case_and_the_mainland_prefix() {
        let email = FeishuRecipient::Email(EmailAddress::parse("Li.Si@Example.com").unwrap());
        assert_eq!(lookup_key(&email).unwrap(), "e:li.si@example.com");
        let mobile = FeishuRecipient::Mobile("+86 138-0000-0000".into());
        assert_eq!(lookup_key(&mobile).unwrap(), "m:13800000000");
        let entry = BatchEntry {
            user_id: Some("ou_1".into()),
            email: None,
            mobile: Some("13800000000".into()),
        };
        assert_eq!(entry.found().unwrap().0, "m:13800000000");
    }

    #[test]
    fn not_found_expires_sooner_than_found() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let cache = LookupCache::new(LookupTtl::default(), Time::manual(clock.clone()));
        cache.put(
            "app",
            "e:a@x.com".into(),
            Some(FeishuOpenId::parse("ou_1").unwrap()),
        );
        cache.put("app", "e:b@x.com".into(), None);
        assert_eq!(cache.get("app", "e:b@x.com"), Some(None));
        assert!(cache.get("other", "e:a@x.com").is_none());
        clock.advance(chrono::TimeDelta::seconds(301));
        assert!(cache.get("app", "e:b@x.com").is_none());
        assert!(cache.get("app", "e:a@x.com").unwrap().is_some());
        clock.advance(chrono::TimeDelta::seconds(3300));
        assert!(cache.get("app", "e:a@x.com").is_none());
    }
}
