//! Identifiers: projects, tasks, API keys, contacts, runs.
use super::text::string_newtype;
use serde::{Deserialize, Serialize};

fn check_slug(value: &str, max: usize) -> Result<(), super::ParseError> {
    if value.is_empty() || value.len() > max {
        return Err(format!("must be 1-{max} characters"));
    }
    let first_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(
            "may contain only letters, digits, '-' and '_', starting with a letter or digit".into(),
        );
    }
    Ok(())
}

string_newtype!(
    /// A project: the unit of access control. 1–64 of `[A-Za-z0-9_-]`.
    ProjectId,
    |v| check_slug(v, 64)
);
string_newtype!(
    /// A contact (person) id for ticket and task recipients. 1–64 of `[A-Za-z0-9_-]`.
    ContactId,
    |v| check_slug(v, 64)
);

/// A push task id: a UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(uuid::Uuid);

impl TaskId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        uuid::Uuid::parse_str(value)
            .map(Self)
            .map_err(|_| "is not a task id".to_owned())
    }

    /// The id under which every event of one ticket is recorded, so the records filter `task=`
    /// finds them all: a UUIDv8 from the SHA-256 of the source and the ticket id.
    pub fn for_ticket(source: &str, ticket: &str) -> Self {
        Self::derived("ticket", source, ticket)
    }

    /// The id that claims one ticket event (source, event id): see `services::tickets`.
    pub fn for_ticket_event(source: &str, event_id: &str) -> Self {
        Self::derived("ticket-event", source, event_id)
    }

    /// A deterministic UUIDv8; the parts are length-prefixed so no two inputs hash alike.
    fn derived(kind: &str, source: &str, id: &str) -> Self {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for part in [kind, source, id] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }
}

impl Default for TaskId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.as_hyphenated().fmt(f)
    }
}

/// An API key's public id (the part of the key that is not secret).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    /// 16 lowercase hex characters.
    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        if value.len() == 16
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(value.to_owned()))
        } else {
            Err("is not a key id".into())
        }
    }

    pub fn random() -> Self {
        Self(hex::encode(rand::random::<[u8; 8]>()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A run id: a UUIDv7, so ids sort by start time (records list newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(uuid::Uuid);

impl RunId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// A new id for a run started at `at` (the service's clock), so time ranges select by start.
    pub fn at(at: chrono::DateTime<chrono::Utc>) -> Self {
        let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
        let timestamp =
            uuid::Timestamp::from_unix(uuid::NoContext, seconds, at.timestamp_subsec_nanos());
        Self(uuid::Uuid::new_v7(timestamp))
    }

    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        uuid::Uuid::parse_str(value)
            .map(Self)
            .map_err(|_| "is not a run id".to_owned())
    }

    /// The run of a claim (a task's scheduled time, a ticket event): the same id every time the
    /// claim is tried, so a retry after a crash resumes the run's write instead of starting a
    /// second run.
    /// `sorts_at` gives the id's time part (the scheduled time, the ticket event's time).
    pub fn for_claim(
        project: &ProjectId,
        task: &TaskId,
        at: chrono::DateTime<chrono::Utc>,
        sorts_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(project.as_str())
            .chain_update([0])
            .chain_update(task.to_string())
            .chain_update([0])
            .chain_update(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .finalize();
        let mut random = [0u8; 10];
        random.copy_from_slice(&digest[..10]);
        Self(uuid::Builder::from_unix_timestamp_millis(millis(sorts_at), &random).into_uuid())
    }

    pub fn as_u128(&self) -> u128 {
        self.0.as_u128()
    }

    /// Six hex digits of the id's random part (above the bits delivery ids reuse): enough to tell
    /// runs apart in a message and to find the record.
    pub fn short(&self) -> String {
        format!("{:06x}", (self.0.as_u128() >> 32) & 0xff_ffff)
    }

    /// The smallest id a run started at `at` can have (for time-range queries).
    pub fn lowest_at(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(uuid::Uuid::from_u128(u128::from(millis(at)) << 80))
    }

    /// The largest id a run started at `at` can have.
    pub fn highest_at(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(uuid::Uuid::from_u128(
            (u128::from(millis(at)) << 80) | ((1u128 << 80) - 1),
        ))
    }
}

fn millis(at: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::try_from(at.timestamp_millis())
        .unwrap_or(0)
        .min((1 << 48) - 1)
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.as_hyphenated().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_sort_by_creation() {
        let a = TaskId::new();
        let b = TaskId::new();
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert_eq!(TaskId::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn ticket_ids_are_derived_deterministically_and_apart() {
        let a = TaskId::for_ticket("sqle", "1042");
        assert_eq!(a, TaskId::for_ticket("sqle", "1042"));
        assert_ne!(a, TaskId::for_ticket("sqle", "1043"));
        assert_ne!(a, TaskId::for_ticket("other", "1042"));
        assert_ne!(a, TaskId::for_ticket_event("sqle", "1042"));
        assert_ne!(TaskId::for_ticket("a", "bc"), TaskId::for_ticket("ab", "c"));
        assert_eq!(TaskId::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn project_ids_are_slugs() {
        assert!(ProjectId::parse("payments").is_ok());
        assert!(ProjectId::parse("team_a-1").is_ok());
        assert!(ProjectId::parse("").is_err());
        assert!(ProjectId::parse("-x").is_err());
        assert!(ProjectId::parse("a/b").is_err());
        assert!(ProjectId::parse("x".repeat(65)).is_err());
    }
}
