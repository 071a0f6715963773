//! The run ledger: writing a new run with its deliveries (resumably), settling it once its
//! progress counters say every push delivery is final, and reconciling runs whose settle was
//! missed. A run's failure count goes to its task with the settle; a task that reached its
//! failure limit is stopped and its owner told.
use super::notify::Notices;
use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::delivery::{Delivery, DeliveryCause, DeliveryId};
use crate::domain::ids::ProjectId;
use crate::domain::run::{LogLevel, PushRun, RunClaim, RunId, RunKind, RunOutcome, RunProgress};
use crate::domain::task::{PushTask, TaskState};
use crate::ports::{
    DeliveryStore, MAX_DELIVERIES_PER_RUN_WRITE, RunStore, RunWrite, ScheduleGateway, StoreError,
    TaskStore,
};
use crate::services::delivery::DeliveryObserver;
use crate::services::tasks::schedule_of;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// When the reconciler first looks at a run still sending: its settle should have come long before.
pub const FIRST_CHECK_AFTER: Duration = Duration::minutes(5);

/// Waits before each further try to settle a run whose last delivery just finished, after the
/// store was unavailable (the last, 0, is not followed by another try).
const SETTLE_RETRY_MS: [u64; 4] = [100, 400, 1_600, 0];
/// How often it looks again while deliveries are still being retried.
pub const RECHECK_EVERY: Duration = Duration::minutes(5);
/// After this long, a delivery a run names but that was never written never will be: the writer
/// was cut short (a crash, a timeout) and no retry completed it.
pub const ABANDONED_AFTER: Duration = Duration::minutes(15);

/// The task after a scheduled run ended with `outcome`, if it changes: failures count up (and stop
/// the task at its limit), a delivered run resets the count. The second value is true when it stops.
pub fn count_outcome(
    task: &PushTask,
    outcome: &RunOutcome,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<(PushTask, bool)> {
    let mut next = task.clone();
    let mut stopped = false;
    if outcome.counts_as_failure() {
        next.consecutive_failures += 1;
        if next.consecutive_failures >= task.spec.failure_limit.get()
            && task.state == TaskState::Enabled
        {
            next.state = TaskState::Stopped;
            stopped = true;
        }
    } else if matches!(
        outcome,
        RunOutcome::Delivered | RunOutcome::PartiallyDelivered
    ) && task.consecutive_failures > 0
    {
        next.consecutive_failures = 0;
    } else {
        return None;
    }
    next.version += 1;
    next.updated_at = now;
    Some((next, stopped))
}

/// Numbers a run's deliveries: pushes first (counted by the run's progress), then alarms and
/// notices, with ids derived from the run ([`DeliveryId::of_run`]) so a retried write produces
/// the same ones.
fn number(run: &mut PushRun, pushes: Vec<Delivery>, notices: Vec<Delivery>) -> Vec<Delivery> {
    let first = run.progress.pushes + run.notices;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    // Only a new run has pushes (a settle adds notices alone).
    if !pushes.is_empty() {
        run.progress = RunProgress::of(count(pushes.len()));
    }
    run.notices += count(notices.len());
    let tagged = pushes
        .into_iter()
        .map(|d| (d, true))
        .chain(notices.into_iter().map(|d| (d, false)));
    tagged
        .zip(first..)
        .map(|((mut d, push), seq)| {
            d.id = DeliveryId::of_run(&run.id, seq);
            d.cause = DeliveryCause::Run {
                project: run.project.clone(),
                run: run.id,
                push,
            };
            d
        })
        .collect()
}

/// What recording a new run did.
#[derive(Debug)]
pub enum Recorded {
    New,
    /// Its claim is held and its writes are complete: this scheduled time or event was recorded.
    Duplicate,
}

/// Writes a new run and its (numbered) deliveries. Up to [`MAX_DELIVERIES_PER_RUN_WRITE`] go in
/// one atomic write with the claim; more are written in steps — the run with the first chunk, the
/// rest, the claim last — so the claim exists only once everything is written, and a retry of the
/// same claim (same run id) completes what a crash left half-written.
async fn write_new(
    runs: &dyn RunStore,
    run: &PushRun,
    claim: Option<RunClaim>,
    deliveries: &[Delivery],
    task: Option<(&PushTask, u64)>,
) -> Result<Recorded, StoreError> {
    let claim = claim.map(|c| c.stored());
    let in_first = runs
        .deliveries_in_run_write(deliveries)
        .min(MAX_DELIVERIES_PER_RUN_WRITE);
    let (first, rest) = deliveries.split_at(in_first);
    let in_one = rest.is_empty();
    let check_at = Some(run.started_at + FIRST_CHECK_AFTER);
    let mut resumed = false;
    if claim.is_some()
        && !in_one
        && runs
            .get_run(&run.project, &run.id, run.started_at)
            .await?
            .is_some()
    {
        tracing::warn!(run_id = %run.id, "resuming a run whose write was cut short");
        resumed = true;
    }
    if !resumed {
        let write = RunWrite {
            run,
            expected_version: None,
            claim: claim.filter(|_| in_one),
            deliveries: first,
            task: task.filter(|_| in_one),
            check_at,
        };
        match runs.write_run(write).await {
            Ok(()) if in_one => return Ok(Recorded::New),
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                let Some((task_id, at)) = claim else {
                    return Err(StoreError::Conflict);
                };
                if runs.is_claimed(&run.project, &task_id, at).await? {
                    return Ok(Recorded::Duplicate);
                }
                // The run was started by a write that did not finish (or races this one).
                resumed = true;
            }
            Err(other) => return Err(other),
        }
    }
    let remaining = if resumed { deliveries } else { rest };
    for chunk in remaining.chunks(MAX_DELIVERIES_PER_RUN_WRITE) {
        runs.add_deliveries(chunk).await?;
    }
    if let Some((task_id, at)) = claim {
        match runs.claim_run(run, &task_id, at).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(Recorded::Duplicate),
            Err(other) => return Err(other),
        }
    }
    Ok(Recorded::New)
}

#[derive(Clone)]
pub struct RunLedger {
    pub(super) tasks: Arc<dyn TaskStore>,
    pub(super) runs: Arc<dyn RunStore>,
    pub(super) deliveries: Arc<dyn DeliveryStore>,
    pub(super) scheduler: Arc<dyn ScheduleGateway>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) notices: Notices,
}

/// A task change that goes with a run's write: (the task after, its version before, stopped).
type Counted = (PushTask, u64, bool);

impl RunLedger {
    /// The failure count a final scheduled run changes, and the stop notices if it stops the task.
    async fn count(
        &self,
        run: &mut PushRun,
    ) -> Result<(Option<Counted>, Vec<Delivery>), ServiceError> {
        let now = self.clock.now();
        if run.kind != RunKind::Scheduled || !run.outcome.is_final() {
            return Ok((None, Vec::new()));
        }
        let Some(task) = self.tasks.get_task(&run.project, &run.task).await? else {
            return Ok((None, Vec::new()));
        };
        let Some((next, stopped)) = count_outcome(&task, &run.outcome, now) else {
            return Ok((None, Vec::new()));
        };
        let mut notices = Vec::new();
        if stopped {
            run.log(now, LogLevel::Warn, format!(
                "{} scheduled runs failed in a row: the task is stopped until it is enabled or edited",
                next.consecutive_failures
            ));
            notices = self.notices.stopped(&next, run).await;
        }
        Ok((Some((next, task.version, stopped)), notices))
    }

    /// The trigger skips stopped tasks, so a schedule left enabled only records skips.
    async fn stop_schedule(&self, counted: &Option<Counted>) {
        if let Some((task, _, true)) = counted
            && let Err(err) = self.scheduler.put_schedule(&schedule_of(task)).await
        {
            tracing::error!(error = %err, task_id = %task.id, "could not disable the schedule of a stopped task");
        }
    }

    /// Whether the claimed run (a scheduled time, a ticket event) was recorded already.
    pub async fn is_claimed(
        &self,
        project: &ProjectId,
        claim: &RunClaim,
    ) -> Result<bool, ServiceError> {
        let (key, at) = claim.stored();
        Ok(self.runs.is_claimed(project, &key, at).await?)
    }

    /// Records a new run — a task's push or a ticket event alike: its pushes (counted by its progress) and alarms, the failure count if it
    /// is final already, and its claim. A store that refuses the write for good (too large,
    /// invalid) gets a bare failed record instead, so the run is never silently lost.
    pub async fn record_new(
        &self,
        run: &mut PushRun,
        claim: Option<RunClaim>,
        pushes: Vec<Delivery>,
        alarms: Vec<Delivery>,
    ) -> Result<Recorded, ServiceError> {
        let now = self.clock.now();
        if run.outcome == RunOutcome::Sending && pushes.is_empty() {
            run.log(now, LogLevel::Error, "nothing was queued");
            run.outcome = RunOutcome::Failed;
            run.finished_at = Some(now);
        }
        let (counted, stop_notices) = self.count(run).await?;
        let mut notices = alarms;
        notices.extend(stop_notices);
        let deliveries = number(run, pushes, notices);
        let task = counted.as_ref().map(|(t, v, _)| (t, *v));
        let recorded = match write_new(self.runs.as_ref(), run, claim, &deliveries, task).await {
            Err(StoreError::Refused(why)) => {
                tracing::error!(run_id = %run.id, reason = %why, "the run was refused by the store; recording it as failed");
                *run = bare_failure(run, &why, now);
                let (counted, _) = self.count(run).await?;
                let task = counted.as_ref().map(|(t, v, _)| (t, *v));
                let recorded = write_new(self.runs.as_ref(), run, claim, &[], task).await?;
                self.stop_schedule(&counted).await;
                return Ok(recorded);
            }
            other => other?,
        };
        if matches!(recorded, Recorded::New) {
            self.stop_schedule(&counted).await;
            // Deliveries written in an earlier chunk may all be final already.
            if run.outcome == RunOutcome::Sending
                && deliveries.len() > MAX_DELIVERIES_PER_RUN_WRITE
                && let Some(settled) = self.settle(&run.project, &run.id).await?
            {
                *run = settled;
            }
        }
        Ok(recorded)
    }

    /// Settles a run if its progress says every push delivery is final. Safe to call any number
    /// of times, concurrently.
    pub async fn settle(
        &self,
        project: &ProjectId,
        id: &RunId,
    ) -> Result<Option<PushRun>, ServiceError> {
        for _ in 0..5 {
            let now = self.clock.now();
            let Some(run) = self.runs.get_run(project, id, now).await? else {
                return Ok(None);
            };
            if run.outcome.is_final() || !run.progress.is_complete() {
                return Ok(Some(run));
            }
            let progress = run.progress;
            match self.close(run, progress, None).await {
                Ok(settled) => return Ok(Some(settled)),
                Err(ServiceError::Conflict(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(ServiceError::Conflict(
            "the run kept changing while it was being settled".into(),
        ))
    }

    /// Writes a run's outcome from `progress`, with the failure count and any stop notices.
    async fn close(
        &self,
        run: PushRun,
        progress: RunProgress,
        note: Option<String>,
    ) -> Result<PushRun, ServiceError> {
        let now = self.clock.now();
        let mut next = run.clone();
        next.progress = progress;
        next.outcome = progress.outcome();
        next.finished_at = Some(now);
        next.version += 1;
        if let Some(note) = note {
            next.log(now, LogLevel::Warn, note);
        }
        next.log(
            now,
            LogLevel::Info,
            format!(
                "run finished: {} ({} of {} delivered)",
                next.outcome.name(),
                progress.delivered,
                progress.pushes
            ),
        );
        let (counted, notices) = self.count(&mut next).await?;
        let notices = number(&mut next, Vec::new(), notices);
        let write = RunWrite {
            run: &next,
            expected_version: Some(run.version),
            claim: None,
            deliveries: &notices,
            task: counted.as_ref().map(|(t, v, _)| (t, *v)),
            check_at: None,
        };
        self.runs.write_run(write).await?;
        self.stop_schedule(&counted).await;
        Ok(next)
    }

    /// Looks at runs still sending past their check time: settles those whose deliveries are all
    /// final (or were never written and never will be), and looks again later at the others.
    /// Returns how many runs it settled.
    pub async fn reconcile(&self, limit: usize) -> Result<usize, ServiceError> {
        let now = self.clock.now();
        let mut settled = 0;
        for (project, id) in self.runs.runs_to_check(now, limit).await? {
            match self.reconcile_run(&project, &id, now).await {
                Ok(true) => settled += 1,
                Ok(false) => {}
                Err(err) => {
                    tracing::error!(error = %err, run_id = %id, "could not reconcile the run")
                }
            }
        }
        Ok(settled)
    }

    async fn reconcile_run(
        &self,
        project: &ProjectId,
        id: &RunId,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        let Some(run) = self.runs.get_run(project, id, now).await? else {
            return Ok(false);
        };
        if run.outcome.is_final() {
            return Ok(false);
        }
        // Counted again from the deliveries themselves, a page at a time.
        let mut recount = RunProgress::of(run.progress.pushes);
        let (mut pending, mut missing) = (0u32, 0u32);
        let ids: Vec<DeliveryId> = run.push_ids().collect();
        for page in ids.chunks(100) {
            let found = self.deliveries.get_deliveries(page).await?;
            missing += u32::try_from(page.len() - found.len()).unwrap_or(u32::MAX);
            for d in &found {
                match d.tally() {
                    Some((_, _, tally)) => recount.count(tally),
                    None => pending += 1,
                }
            }
        }
        let abandoned = now >= run.started_at + ABANDONED_AFTER;
        if pending > 0 || (missing > 0 && !abandoned) {
            self.runs
                .check_run_at(project, id, now + RECHECK_EVERY)
                .await?;
            return Ok(false);
        }
        let note = if missing > 0 {
            recount.finished += missing;
            format!(
                "settled by the reconciler: {missing} deliveries were never written (the run's write was cut short)"
            )
        } else {
            "settled by the reconciler: its last delivery's settle was missed".to_owned()
        };
        match self.close(run, recount, Some(note)).await {
            Ok(_) => Ok(true),
            Err(ServiceError::Conflict(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }
}

/// A run the store refused (too large), reduced to what any store takes: its charts and log.
fn bare_failure(run: &PushRun, why: &str, now: DateTime<Utc>) -> PushRun {
    let mut bare = run.clone();
    bare.message = None;
    bare.images.clear();
    bare.attachments.clear();
    bare.progress = RunProgress::default();
    bare.notices = 0;
    bare.log.truncate(50);
    bare.log(
        now,
        LogLevel::Error,
        format!("the run could not be recorded as prepared and nothing was sent: {why}"),
    );
    bare.outcome = RunOutcome::Failed;
    bare.finished_at = Some(now);
    bare
}

#[async_trait::async_trait]
impl DeliveryObserver for RunLedger {
    async fn settled(&self, delivery: &Delivery) {
        let Some((project, run_id, _)) = delivery.tally() else {
            return;
        };
        // A throttled or cancelled write is tried again at once, so the record says how the run
        // ended now rather than at the reconciler's check minutes later.
        for wait_ms in SETTLE_RETRY_MS {
            match self.settle(&project, &run_id).await {
                Err(ServiceError::Unavailable { .. }) if wait_ms > 0 => {
                    tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
                }
                Err(err) => {
                    tracing::error!(error = %err, run_id = %run_id, "could not settle the run; the reconciler will");
                    return;
                }
                Ok(_) => return,
            }
        }
    }
}
