//! The table's key design, all of it: what each kind of item is keyed by, in the table and in
//! its indexes (GSI1, the records-list indexes, `Due`). Items are written and read through these
//! functions only, here and in the delivery function's stream handler.
use chrono::{DateTime, Utc};
use herald_core::domain::delivery::DeliveryId;
use herald_core::domain::ids::{ContactId, KeyId, ProjectId, TaskId};
use herald_core::domain::image::ImageId;
use herald_core::domain::message::Provider;
use herald_core::domain::run::{PushRun, RunId};
use herald_core::domain::stored_message::ContentId;

pub(crate) fn project_pk(project: &ProjectId) -> String {
    format!("PROJECT#{project}")
}

pub(crate) fn task_sk(id: &TaskId) -> String {
    format!("TASK#{id}")
}

pub(crate) fn key_pk(id: &KeyId) -> String {
    format!("KEY#{id}")
}

/// GSI1's partition listing the API keys.
pub(crate) const KEYS_PK: &str = "KEYS";

pub(crate) fn delivery_pk(id: &DeliveryId) -> String {
    format!("DELIVERY#{id}")
}

/// Fixed-width UTC time, so string order is time order.
pub(crate) fn due_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) const DUE_SHARDS: u32 = 8;

pub(crate) const CHECK_PK: &str = "CHECK#runs";

/// A delivery's partition of the due index: its provider and a shard fixed by its id.
pub(crate) fn delivery_due_pk(provider: Provider, id: &DeliveryId) -> String {
    let shard = id
        .to_string()
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % DUE_SHARDS;
    format!("DUE#{}#{shard}", provider.as_str())
}

pub(crate) fn provider_partitions(provider: Provider) -> impl Iterator<Item = String> {
    (0..DUE_SHARDS).map(move |shard| format!("DUE#{}#{shard}", provider.as_str()))
}

/// Where something due at `at` sorts: by time, then by what it is.
pub(crate) fn due_sk(at: DateTime<Utc>, what: &str) -> String {
    format!("{}#{what}", due_key(at))
}

pub(crate) fn run_sk(id: &RunId) -> String {
    format!("RUN#{id}")
}

/// A manual push's request key (its digest), held for the run it started.
pub(crate) fn request_key_sk(task: &TaskId, key_digest: &str) -> String {
    format!("REQKEY#{task}#{key_digest}")
}

pub(crate) fn claim_sk(task: &TaskId, at: DateTime<Utc>) -> String {
    format!("RUNCLAIM#{task}#{}", due_key(at))
}

pub(crate) fn epoch(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

pub(crate) const PROGRESS_SHARDS: u32 = 8;

pub(crate) fn shard_prefix(run: &RunId) -> String {
    format!("RUNPROGRESS#{run}#")
}

pub(crate) fn shard_sk(run: &RunId, shard: u32) -> String {
    format!("{}{shard}", shard_prefix(run))
}

/// Where a sending run sorts in the reconciler's list.
pub(crate) fn check_sk(at: DateTime<Utc>, project: &ProjectId, run: &RunId) -> String {
    due_sk(at, &format!("{project}#{run}"))
}

/// The indexes a filtered list reads, most selective first: each has the run's `SK` as its range
/// key, so a page is a key range newest first, as on the table.
pub(crate) const LIST_INDEXES: [ListIndex; 3] = [
    ListIndex {
        name: "RunsByTask",
        key: "RunsByTaskPK",
        column: "task_id",
    },
    ListIndex {
        name: "RunsByOutcome",
        key: "RunsByOutcomePK",
        column: "outcome",
    },
    ListIndex {
        name: "RunsByKind",
        key: "RunsByKindPK",
        column: "kind",
    },
];

/// What the list indexes keep besides the keys: what a list filters on.
pub(crate) const LISTED_ATTRIBUTES: [&str; 4] = ["expires_at", "task_id", "outcome", "kind"];

pub(crate) struct ListIndex {
    pub(crate) name: &'static str,
    /// The index's partition key: `PROJECT#{project}#{column}#{value}`.
    pub key: &'static str,
    /// The run's attribute it lists by.
    pub(crate) column: &'static str,
}

impl ListIndex {
    pub(crate) fn partition(&self, project: &ProjectId, value: &str) -> String {
        format!("{}#{}#{value}", project_pk(project), self.column)
    }
}

/// A run's task, outcome and kind, in the order of [`LIST_INDEXES`].
pub(crate) fn listed_by(run: &PushRun) -> [String; 3] {
    [
        run.task.to_string(),
        run.outcome.name().to_owned(),
        run.kind.as_str().to_owned(),
    ]
}

pub(crate) fn content_pk(id: &ContentId) -> String {
    format!("CONTENT#{id}")
}

pub(crate) const CONTACT_SK: &str = "CONTACT";

/// The GSI1 partition that holds every contact.
pub(crate) const LIST_PK: &str = "CONTACTS";

pub(crate) fn contact_pk(id: &ContactId) -> String {
    format!("CONTACT#{id}")
}

pub(crate) fn image_pk(project: &ProjectId, id: &ImageId) -> String {
    format!("IMAGE#{project}#{id}")
}

pub(crate) fn part_sk(part: usize) -> String {
    format!("PART#{part:03}")
}

pub(crate) fn upload_pk(scope: &str, id: &ImageId) -> String {
    format!("UPLOAD#{scope}#{id}")
}

pub(crate) fn quota_pk(key: &str) -> String {
    format!("QUOTA#{key}")
}

pub(crate) const QUOTA_SK: &str = "WINDOW";

/// The delivery a table key names (`DELIVERY#{id}`): how the stream handler reads a record's key.
pub fn delivery_of(pk: &str) -> Option<DeliveryId> {
    DeliveryId::parse(pk.strip_prefix("DELIVERY#")?).ok()
}

/// A sweep's lease (one sweep at a time across the delivery function's instances).
pub(crate) fn lease_pk(name: &str) -> String {
    format!("LEASE#{name}")
}

/// The settings document: one item.
pub(crate) const SETTINGS_PK: &str = "SETTINGS";
pub(crate) const SETTINGS_SK: &str = "CHANNELS";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_key_reads_back_as_its_delivery() {
        let id = DeliveryId::parse("01a20621-ad00-75e1-9707-817400000000").expect("id");
        assert_eq!(delivery_of(&delivery_pk(&id)), Some(id));
        assert_eq!(
            delivery_of("RUN#01a20621-ad00-75e1-9707-817400000000"),
            None
        );
        assert_eq!(delivery_of("DELIVERY#not-an-id"), None);
    }
}
