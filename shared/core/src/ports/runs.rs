//! Run records.
use super::*;

/// Everything one run write changes, applied all or nothing.
pub struct RunWrite<'a> {
    pub run: &'a crate::domain::run::PushRun,
    /// `None` inserts a new run; `Some(v)` replaces the run stored at version `v`.
    pub expected_version: Option<u64>,
    /// For scheduled runs: the (task, scheduled time) claim; `Conflict` if it is taken.
    pub claim: Option<(crate::domain::ids::TaskId, DateTime<Utc>)>,
    /// Deliveries caused by this run (the push, alarms, notices), at most
    /// [`MAX_DELIVERIES_PER_RUN_WRITE`]; each must not exist yet.
    pub deliveries: &'a [crate::domain::delivery::Delivery],
    /// A change to the task (failure count, stop) if its stored version is the one given.
    pub task: Option<(&'a PushTask, u64)>,
    /// When the reconciler first looks at the run if it is still sending then; ignored (and
    /// cleared) once the run is final.
    pub check_at: Option<DateTime<Utc>>,
}

/// Filters for listing runs.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub task: Option<TaskId>,
    pub outcome: Option<crate::domain::run::OutcomeName>,
    pub kind: Option<crate::domain::run::RunKind>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Run records, kept until their `expires_at`. A new run's record holds its progress
/// (`run.progress.pushes` to count); each push delivery's final write counts itself there
/// ([`DeliveryStore::finish`]). Runs still sending are listed for the reconciler from their
/// `check_at` on.
#[async_trait]
pub trait RunStore: Send + Sync {
    /// One atomic write. A new run (`expected_version: None`) whose id exists is `Conflict`.
    async fn write_run(&self, write: RunWrite<'_>) -> Result<(), StoreError>;
    /// How many of `deliveries`, from the first, fit in one run write beside the run, its task
    /// and its claim, by the store's own limits (DynamoDB: 4 MB a transaction); the ledger writes
    /// the others after it.
    fn deliveries_in_run_write(&self, deliveries: &[crate::domain::delivery::Delivery]) -> usize {
        deliveries.len().min(MAX_DELIVERIES_PER_RUN_WRITE)
    }
    /// Writes those of a run's deliveries that are not stored yet (a retried write passes them
    /// all again); the ones stored are left as they are.
    async fn add_deliveries(
        &self,
        deliveries: &[crate::domain::delivery::Delivery],
    ) -> Result<(), StoreError>;
    /// Claims a scheduled time for `run`, the last step of a run written in several writes.
    /// Claiming again for the same run succeeds; `Conflict` if another run holds it.
    async fn claim_run(
        &self,
        run: &crate::domain::run::PushRun,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Runs still sending whose `check_at` has come, oldest first: their settle may have been
    /// missed (a crash, a store error, a Lambda timeout).
    async fn runs_to_check(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(ProjectId, crate::domain::run::RunId)>, StoreError>;
    /// Moves a sending run's next check to `at`.
    async fn check_run_at(
        &self,
        project: &ProjectId,
        id: &crate::domain::run::RunId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Holds a request key (the digest of a manual push's `Idempotency-Key`) of `task` for
    /// `run` until `expires_at`: `None` when it was free at `now` (it is held now), else the run
    /// that holds it (nothing written).
    async fn hold_request_key(
        &self,
        project: &ProjectId,
        task: &TaskId,
        key_digest: &str,
        run: &crate::domain::run::RunId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<crate::domain::run::RunId>, StoreError>;
    /// Whether a scheduled time of a task has been claimed (a cheap check before the work; the
    /// claim in `write_run` is what guarantees a single run).
    async fn is_claimed(
        &self,
        project: &ProjectId,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// A run that has not expired at `now`.
    async fn get_run(
        &self,
        project: &ProjectId,
        id: &crate::domain::run::RunId,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::domain::run::PushRun>, StoreError>;
    async fn list_runs(
        &self,
        project: &ProjectId,
        filter: &RunFilter,
        after: Option<&crate::domain::run::RunId>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<RunPage, StoreError>;
}
