//! What starts a run (a schedule firing, a manual push, a test) and writes it; the reconciler.
use super::*;
use crate::domain::calendar::Workday;

impl PushService {
    /// Runs a task for one scheduled time, once however often the schedule fires for it.
    #[tracing::instrument(skip_all, fields(project = %project, task_id = %task_id, scheduled_for = %scheduled_for))]
    pub async fn run_scheduled(
        &self,
        project: &ProjectId,
        task_id: &TaskId,
        scheduled_for: DateTime<Utc>,
    ) -> Result<Trigger, ServiceError> {
        let Some(task) = self.ledger.tasks.get_task(project, task_id).await? else {
            tracing::warn!("schedule fired for a task that does not exist");
            return Ok(Trigger::TaskGone);
        };
        // Scheduler delivers at least once: skip the chart reads of a time already run. The claim
        // written with the run still decides when two firings race.
        let claim = RunClaim::firing(*task_id, scheduled_for);
        if self.ledger.is_claimed(project, &claim).await? {
            tracing::info!("this scheduled time was already run");
            return Ok(Trigger::Duplicate);
        }
        let mut run = self.new_run(&task, RunKind::Scheduled, Some(scheduled_for));
        // Why this time is skipped: a task not enabled, or a day its calendar has off.
        let skipped = if task.state == TaskState::Enabled {
            self.day_off(&task, scheduled_for).await?
        } else {
            Some(format!("the task is {}", task.state.as_str()))
        };
        let prepared = match skipped {
            Some(why) => {
                self.finish(
                    &mut run,
                    RunOutcome::Skipped {
                        reason: why.clone(),
                    },
                    &why,
                );
                Prepared::nothing(run)
            }
            None => {
                let audience = self.audience(&task, false).await?;
                self.prepare(&task, run, &audience, None).await
            }
        };
        self.commit(prepared, Some(claim)).await
    }

    /// Why the day a scheduled time falls on is not worked by the task's calendar, if it has one
    /// and it is not (a calendar whose days were all deleted keeps its weekends off).
    async fn day_off(
        &self,
        task: &PushTask,
        scheduled_for: DateTime<Utc>,
    ) -> Result<Option<String>, ServiceError> {
        let schedule = &task.spec.schedule;
        let Some(name) = schedule.calendar() else {
            return Ok(None);
        };
        let calendar = self
            .ledger
            .notices
            .settings
            .calendars()
            .await?
            .for_schedule(name);
        Ok(match schedule.workday(scheduled_for, &calendar) {
            Workday::Working => None,
            Workday::Off { reason } => Some(format!("{reason} ({name})")),
        })
    }

    /// Records a scheduled time that was missed (the local server was down too long) as skipped.
    pub async fn record_missed(
        &self,
        project: &ProjectId,
        task_id: &TaskId,
        scheduled_for: DateTime<Utc>,
        why: &str,
    ) -> Result<Trigger, ServiceError> {
        let Some(task) = self.ledger.tasks.get_task(project, task_id).await? else {
            return Ok(Trigger::TaskGone);
        };
        let mut run = self.new_run(&task, RunKind::Scheduled, Some(scheduled_for));
        self.finish(
            &mut run,
            RunOutcome::Skipped {
                reason: why.to_owned(),
            },
            why,
        );
        let claim = RunClaim::firing(task.id, scheduled_for);
        self.commit(Prepared::nothing(run), Some(claim)).await
    }

    pub(super) async fn commit(
        &self,
        prepared: Prepared,
        claim: Option<RunClaim>,
    ) -> Result<Trigger, ServiceError> {
        let Prepared {
            mut run,
            pushes,
            alarms,
        } = prepared;
        match self
            .ledger
            .record_new(&mut run, claim, pushes, alarms)
            .await?
        {
            Recorded::New => {
                tracing::info!(run_id = %run.id, outcome = run.outcome.name(), "run recorded");
                Ok(Trigger::Started(Box::new(run)))
            }
            Recorded::Duplicate => {
                tracing::info!("this scheduled time was already run");
                Ok(Trigger::Duplicate)
            }
        }
    }

    /// Sends the push to its owner only and waits for the providers' answers, for at most
    /// `answer_within` from the call: the run, final if the answers came in time (else it is
    /// still `sending`, and the deliveries go on without the caller).
    pub async fn test_push(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &TaskId,
    ) -> Result<PushRun, ServiceError> {
        let until = tokio::time::Instant::now() + self.answer_within;
        who.check_write(project)?;
        let task = self.load_task(project, id).await?;
        self.test_push_of(task, until).await
    }

    /// A test push of a task before it is saved (a form's "Test"): to its owner, recorded as a
    /// test run of a draft, whose task id names no stored task (test runs count no failures).
    pub async fn test_draft(
        &self,
        who: &Principal,
        project: &ProjectId,
        spec: crate::domain::task::TaskSpec,
    ) -> Result<PushRun, ServiceError> {
        let until = tokio::time::Instant::now() + self.answer_within;
        who.check_write(project)?;
        let now = self.now();
        let draft = PushTask {
            id: TaskId::new(),
            project: project.clone(),
            spec,
            state: crate::domain::task::TaskState::Disabled,
            version: 0,
            consecutive_failures: 0,
            created_at: now,
            updated_at: now,
        };
        self.test_push_of(draft, until).await
    }

    /// Sends `task` to its owner now and waits for the answers until `until`.
    pub(super) async fn test_push_of(
        &self,
        task: PushTask,
        until: tokio::time::Instant,
    ) -> Result<PushRun, ServiceError> {
        let project = &task.project.clone();
        let audience = self.audience(&task, true).await?;
        let run = self.new_run(&task, RunKind::Test, None);
        let prepared = self
            .prepare(&task, run, &audience, Some(self.charts_within()))
            .await;
        let Trigger::Started(run) = self.commit(prepared, None).await? else {
            return Err(ServiceError::Conflict(
                "the test run could not be recorded".into(),
            ));
        };
        // The charts may have used most of the time: the sends get what is left (at least a
        // moment to claim and start; an unfinished one is sent by the delivery loop or sweep).
        let left = until
            .saturating_duration_since(tokio::time::Instant::now())
            .max(Duration::from_millis(500));
        let ids: Vec<_> = run.push_ids().collect();
        let waits = ids.iter().map(|d| self.worker.execute_and_wait(d, left));
        for result in futures::future::join_all(waits).await {
            result?;
        }
        Ok(self.ledger.settle(project, &run.id).await?.unwrap_or(*run))
    }

    /// Pushes now to the task's recipients, whatever its schedule or state; needs `confirm`.
    pub async fn manual_push(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &TaskId,
        confirm: bool,
        key: Option<&crate::domain::run::RequestKey>,
    ) -> Result<PushRun, ServiceError> {
        who.check_write(project)?;
        let task = self.load_task(project, id).await?;
        let audience = self.audience(&task, false).await?;
        if !confirm {
            return Err(ServiceError::FailedPrecondition {
                field: Some("confirm".into()),
                message: format!(
                    "a manual push of '{}' sends its {} message to {} now; send {{\"confirm\": true}}",
                    task.spec.name,
                    task.spec.channel.as_str(),
                    audience.0.describe()
                ),
            });
        }
        let run = self.new_run(&task, RunKind::Manual, None);
        if let Some(key) = key {
            let now = self.now();
            let held = self
                .ledger
                .runs
                .hold_request_key(
                    project,
                    id,
                    &key.digest(),
                    &run.id,
                    now,
                    now + REQUEST_KEY_LIFETIME,
                )
                .await?;
            if let Some(held) = held {
                // The same request again (a retry after a timeout): its run, not a second push.
                tracing::info!(run_id = %held, "a manual push retried with its Idempotency-Key");
                return match self.ledger.runs.get_run(project, &held, now).await? {
                    Some(existing) => Ok(existing),
                    None => Err(ServiceError::Conflict(format!(
                        "a push with this Idempotency-Key is under way (record {held}): read that record in a moment"
                    ))),
                };
            }
        }
        // Read within the request's time, as a test push is: a slow chart is its access error, not
        // a gateway timeout that the caller retries into a second push.
        let prepared = self
            .prepare(&task, run, &audience, Some(self.charts_within()))
            .await;
        match self.commit(prepared, None).await? {
            Trigger::Started(run) => Ok(*run),
            _ => Err(ServiceError::Conflict(
                "the manual run could not be recorded".into(),
            )),
        }
    }

    /// Settles runs left sending past their check time (see [`RunLedger::reconcile`]).
    pub async fn reconcile(&self, limit: usize) -> Result<usize, ServiceError> {
        self.ledger.reconcile(limit).await
    }
}
