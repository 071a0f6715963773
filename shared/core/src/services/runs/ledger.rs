//! Settling runs: once every delivery of a run is final, its outcome is written together with the
//! task's failure count, and a task that reached its failure limit is stopped and its owner told.
use super::notify::Notices;
use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::delivery::{Delivery, DeliveryCause, DeliveryStatus};
use crate::domain::ids::ProjectId;
use crate::domain::run::{LogLevel, PushRun, RunId, RunKind, RunOutcome};
use crate::domain::task::{PushTask, TaskState};
use crate::ports::{DeliveryStore, RunStore, RunWrite, ScheduleGateway, TaskStore};
use crate::services::delivery::DeliveryObserver;
use crate::services::tasks::schedule_of;
use std::sync::Arc;

/// The outcome of a run whose deliveries are all final.
pub fn outcome_of(deliveries: &[Delivery]) -> RunOutcome {
    let delivered = deliveries
        .iter()
        .filter(|d| d.status == DeliveryStatus::Delivered)
        .count();
    let refused_someone = deliveries.iter().any(|d| {
        matches!(d.last_attempt().map(|a| &a.result), Some(crate::domain::delivery::AttemptResult::Accepted { receipt }) if !receipt.invalid_recipients.is_empty())
    });
    match delivered {
        0 => RunOutcome::Failed,
        n if n == deliveries.len() && !refused_someone => RunOutcome::Delivered,
        _ => RunOutcome::PartiallyDelivered,
    }
}

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

#[derive(Clone)]
pub struct RunLedger {
    pub(super) tasks: Arc<dyn TaskStore>,
    pub(super) runs: Arc<dyn RunStore>,
    pub(super) deliveries: Arc<dyn DeliveryStore>,
    pub(super) scheduler: Arc<dyn ScheduleGateway>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) notices: Notices,
}

impl RunLedger {
    /// Writes a run (new or settled) with its deliveries and the task counters it changes; stops the
    /// task's schedule after the write when the failure limit was reached.
    pub(super) async fn write(
        &self,
        run: &mut PushRun,
        expected_version: Option<u64>,
        claim: Option<(crate::domain::ids::TaskId, chrono::DateTime<chrono::Utc>)>,
        mut deliveries: Vec<Delivery>,
    ) -> Result<(), ServiceError> {
        let now = self.clock.now();
        let mut counted = None;
        let task = match run.kind == RunKind::Scheduled && run.outcome.is_final() {
            true => self.tasks.get_task(&run.project, &run.task).await?,
            false => None,
        };
        if let Some((task, (next, stopped))) = task
            .and_then(|task| count_outcome(&task, &run.outcome, now).map(|change| (task, change)))
        {
            if stopped {
                run.log(now, LogLevel::Warn, format!(
                    "{} scheduled runs failed in a row: the task is stopped until it is enabled or edited",
                    next.consecutive_failures
                ));
                let notices = self.notices.stopped(&next, run).await;
                run.alarms.extend(notices.iter().map(|d| d.id));
                deliveries.extend(notices);
            }
            counted = Some((next, task.version, stopped));
        }
        let write = RunWrite {
            run,
            expected_version,
            claim,
            deliveries: &deliveries,
            task: counted.as_ref().map(|(t, v, _)| (t, *v)),
        };
        self.runs.write_run(write).await?;
        // The trigger skips stopped tasks, so a schedule left enabled only records skips.
        if let Some((task, _, true)) = &counted
            && let Err(err) = self.scheduler.put_schedule(&schedule_of(task)).await
        {
            tracing::error!(error = %err, task_id = %task.id, "could not disable the schedule of a stopped task");
        }
        Ok(())
    }

    /// Settles a run if all its deliveries are final. Safe to call any number of times, concurrently.
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
            if run.outcome.is_final() {
                return Ok(Some(run));
            }
            let mut deliveries = Vec::with_capacity(run.deliveries.len());
            for delivery_id in &run.deliveries {
                match self.deliveries.get_delivery(delivery_id).await? {
                    Some(d) if d.status.is_final() => deliveries.push(d),
                    _ => return Ok(Some(run)),
                }
            }
            let mut next = run.clone();
            next.outcome = outcome_of(&deliveries);
            next.finished_at = Some(now);
            next.version += 1;
            next.log(
                now,
                LogLevel::Info,
                format!("run finished: {}", next.outcome.name()),
            );
            match self
                .write(&mut next, Some(run.version), None, Vec::new())
                .await
            {
                Ok(()) => return Ok(Some(next)),
                Err(ServiceError::Conflict(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(ServiceError::Conflict(
            "the run kept changing while it was being settled".into(),
        ))
    }
}

#[async_trait::async_trait]
impl DeliveryObserver for RunLedger {
    async fn settled(&self, delivery: &Delivery) {
        let DeliveryCause::Run { project, run } = &delivery.cause else {
            return;
        };
        let Ok(run_id) = RunId::parse(run) else {
            return;
        };
        if let Err(err) = self.settle(project, &run_id).await {
            tracing::error!(error = %err, run_id = %run_id, "could not settle the run");
        }
    }
}
