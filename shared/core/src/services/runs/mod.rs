//! Push runs: a task's schedule fires (or a user pushes by hand or tests), its charts are checked,
//! exception control decides, the message is rendered and queued for delivery — all recorded in one
//! run, written once together with its deliveries and its scheduled-time claim.

/// How long a manual push's `Idempotency-Key` answers with its run (a day, as is usual).
const REQUEST_KEY_LIFETIME: chrono::Duration = chrono::Duration::hours(24);
pub mod compose;
pub mod ledger;
mod notify;
pub mod preview;
pub mod report;

use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::auth::Principal;
use crate::domain::delivery::{Delivery, DeliveryCause};
use crate::domain::ids::{ContactId, ProjectId, TaskId};
use crate::domain::image::ImageRef;
use crate::domain::redaction::Redaction;
use crate::domain::run::{
    ChartState, LogLevel, MessageRecord, PauseReason, PushRun, RunId, RunKind, RunOutcome,
};
use crate::domain::task::{Channel, PushTask, TaskState};
use crate::ports::{
    ChartSource, ContactStore, DeliveryStore, ImageStore, PictureRenderer, RunFilter, RunPage,
    RunStore, ScheduleGateway, TaskStore,
};
use crate::services::delivery::DeliveryWorker;
use crate::services::exception::{charts_for, decide};
use crate::services::settings::SettingsService;
use chrono::{DateTime, Utc};
use compose::Audience;
pub use ledger::{Recorded, RunLedger};
use notify::Notices;
use report::{PageRead, Reporter, RunStamp};
use std::sync::Arc;
use std::time::Duration;

/// What firing a schedule did.
#[derive(Debug)]
pub enum Trigger {
    Started(Box<PushRun>),
    /// This scheduled time was already run (Scheduler delivers at least once).
    Duplicate,
    /// The task no longer exists (its schedule is being deleted).
    TaskGone,
}

/// How many push deliveries a record shows (a run to 10,000 addresses has as many).
pub const RECORD_PUSHES_SHOWN: usize = 100;

/// A prepared run: the record, its push deliveries and its alarms.
struct Prepared {
    run: PushRun,
    pushes: Vec<Delivery>,
    alarms: Vec<Delivery>,
}

impl Prepared {
    fn nothing(run: PushRun) -> Self {
        Self {
            run,
            pushes: Vec::new(),
            alarms: Vec::new(),
        }
    }
}

/// The ports a push run needs.
pub struct RunPorts {
    pub tasks: Arc<dyn TaskStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub runs: Arc<dyn RunStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub scheduler: Arc<dyn ScheduleGateway>,
    pub charts: Arc<dyn ChartSource>,
    pub sources: crate::services::sources::SourceDirectory,
    pub pictures: Arc<dyn PictureRenderer>,
    pub images: Arc<dyn ImageStore>,
    pub clock: Arc<dyn Clock>,
}

#[derive(Clone)]
pub struct PushService {
    ledger: RunLedger,
    contacts: Arc<dyn ContactStore>,
    reporter: Reporter,
    worker: DeliveryWorker,
    retention: chrono::Duration,
    answer_within: Duration,
}

impl PushService {
    /// The service, and the ledger the delivery worker reports to (`DeliveryWorker::with_observer`).
    pub fn ledger(ports: &RunPorts, settings: SettingsService) -> RunLedger {
        RunLedger {
            tasks: ports.tasks.clone(),
            runs: ports.runs.clone(),
            deliveries: ports.deliveries.clone(),
            scheduler: ports.scheduler.clone(),
            clock: ports.clock.clone(),
            notices: Notices {
                settings,
                contacts: ports.contacts.clone(),
            },
        }
    }

    pub fn new(
        ledger: RunLedger,
        ports: &RunPorts,
        worker: DeliveryWorker,
        retention: chrono::Duration,
        answer_within: Duration,
    ) -> Self {
        Self {
            ledger,
            contacts: ports.contacts.clone(),
            reporter: Reporter {
                charts: ports.charts.clone(),
                sources: ports.sources.clone(),
                pictures: ports.pictures.clone(),
                images: ports.images.clone(),
            },
            worker,
            retention,
            answer_within,
        }
    }

    /// How long a request that must answer in time (a test push, a preview) gives the charts:
    /// most of [`Self::answer_within`]; the rest is for the snapshot, the writes and a send.
    fn charts_within(&self) -> Duration {
        self.answer_within.mul_f64(0.7)
    }

    /// Who a run reaches on the task's channel: the listed ids plus the contacts resolved through
    /// the contacts directory. Also the contacts it cannot reach, and why, for the run log.
    async fn audience(
        &self,
        task: &PushTask,
        owner_only: bool,
    ) -> Result<(Audience, Vec<String>), ServiceError> {
        let (spec, channel) = (&task.spec, task.spec.channel);
        let (mut audience, contacts) = if owner_only {
            (
                Audience::owner(channel, &spec.owner),
                spec.owner.contact.iter().cloned().collect::<Vec<_>>(),
            )
        } else {
            (
                Audience::of(channel, &spec.recipients),
                spec.recipients.contacts.clone(),
            )
        };
        let unreachable = audience
            .add_contacts(channel, &contacts, self.contacts.as_ref())
            .await?;
        Ok((audience, unreachable))
    }

    fn now(&self) -> DateTime<Utc> {
        self.ledger.clock.now()
    }

    /// A new run. A scheduled run's id comes from its claim, so a retried firing resumes it.
    fn new_run(
        &self,
        task: &PushTask,
        kind: RunKind,
        scheduled_for: Option<DateTime<Utc>>,
    ) -> PushRun {
        let now = self.now();
        let id = match scheduled_for {
            Some(at) if kind == RunKind::Scheduled => {
                RunId::for_claim(&task.project, &task.id, at, at)
            }
            _ => RunId::at(now),
        };
        let mut run = PushRun {
            id,
            project: task.project.clone(),
            task: task.id,
            task_name: task.spec.name.to_string(),
            kind,
            scheduled_for,
            started_at: now,
            finished_at: None,
            charts: Vec::new(),
            message: None,
            progress: Default::default(),
            notices: 0,
            outcome: RunOutcome::Sending,
            log: Vec::new(),
            version: 1,
            expires_at: now + self.retention,
            ticket: None,
            images: Vec::new(),
        };
        let when = scheduled_for
            .map(|t| format!(" for {t}"))
            .unwrap_or_default();
        run.log(
            now,
            LogLevel::Info,
            format!(
                "{} run of '{}' started{when}",
                kind.as_str(),
                task.spec.name
            ),
        );
        run
    }

    fn finish(&self, run: &mut PushRun, outcome: RunOutcome, why: &str) {
        let now = self.now();
        run.log(
            now,
            LogLevel::Info,
            format!("run finished: {} ({why})", outcome.name()),
        );
        run.outcome = outcome;
        run.finished_at = Some(now);
    }

    /// Checks the charts, applies exception control (scheduled runs only), renders and queues the
    /// push to `audience`, and queues alarms. Returns the run, its pushes and its alarms.
    async fn prepare(
        &self,
        task: &PushTask,
        mut run: PushRun,
        (audience, unreachable): &(Audience, Vec<String>),
        charts_within: Option<Duration>,
    ) -> Prepared {
        let spec = &task.spec;
        for contact in unreachable {
            run.log(
                self.now(),
                LogLevel::Warn,
                format!("contact not reached: {contact}"),
            );
        }
        let read = self
            .reporter
            .read(
                &task.project,
                spec,
                run.scheduled_for.unwrap_or(run.started_at),
                charts_within,
            )
            .await;
        run.charts = read.checks.clone();
        let now = self.now();
        for ((check, figure), chart) in read.checks.iter().zip(&read.figures).zip(&spec.page.charts)
        {
            let (level, what) = match &check.state {
                ChartState::Ok { rows } => (
                    LogLevel::Info,
                    match figure {
                        Some(f) => format!("{rows} rows, shown as {}", f.kind()),
                        None => format!("{rows} rows"),
                    },
                ),
                ChartState::Empty => (LogLevel::Warn, "empty".to_owned()),
                ChartState::AccessError { reason } => {
                    (LogLevel::Error, format!("could not be read: {reason}"))
                }
                ChartState::ShapeError { field, reason } => (
                    LogLevel::Error,
                    format!("could not be shown: {field}: {reason}"),
                ),
            };
            run.log(
                now,
                level,
                format!(
                    "chart '{}' from {}: {what} ({} ms)",
                    check.name,
                    chart.origin_description(),
                    check.elapsed_ms
                ),
            );
        }
        let decision = if run.kind == RunKind::Scheduled {
            decide(&spec.exception_control, &run.charts)
        } else {
            Default::default()
        };
        let cause = DeliveryCause::Run {
            project: run.project.clone(),
            run: run.id.to_string(),
            push: true,
        };
        let at = run.scheduled_for.unwrap_or(now);
        let mut pushes = Vec::new();
        if let Some(reason) = decision.pause {
            run.log(
                now,
                LogLevel::Warn,
                format!("exception control paused this push ({reason:?} charts)"),
            );
            self.finish(
                &mut run,
                RunOutcome::Paused { reason },
                "paused by exception control",
            );
        } else if audience.is_empty() {
            run.log(
                now,
                LogLevel::Error,
                format!("nobody to send to on {}", spec.channel.as_str()),
            );
            self.finish(&mut run, RunOutcome::Failed, "no reachable recipient");
        } else {
            let reference = run.id.short();
            let stamp = RunStamp {
                kind: run.kind,
                at,
                reference: Some(&reference),
            };
            let rendered = self
                .reporter
                .render(
                    &run.project,
                    spec,
                    (spec.channel, spec.template),
                    &read,
                    stamp,
                    run.expires_at,
                )
                .await;
            if let Some(problem) = &rendered.snapshot_problem {
                run.log(
                    now,
                    LogLevel::Warn,
                    format!("sent without the page snapshot: {problem}"),
                );
            }
            if let Some(image) = &rendered.snapshot {
                run.log(
                    now,
                    LogLevel::Info,
                    format!(
                        "page snapshot drawn: {}×{} px, {} bytes",
                        image.width, image.height, image.size
                    ),
                );
                run.images.push(image.clone());
            }
            match rendered.message {
                Ok(message) => {
                    let wecom_image = rendered
                        .snapshot
                        .as_ref()
                        .filter(|_| spec.channel == Channel::Wecom);
                    pushes = compose::deliveries_with(&message, wecom_image, audience, &cause, now);
                    run.message = pushes.first().map(|d| MessageRecord {
                        channel: spec.channel,
                        template: spec.template,
                        body: serde_json::to_value(&d.message).unwrap_or_default(),
                    });
                    run.log(
                        now,
                        LogLevel::Info,
                        format!(
                            "queued {} deliveries to {}",
                            pushes.len(),
                            audience.describe()
                        ),
                    );
                }
                Err(err) => {
                    run.log(
                        now,
                        LogLevel::Error,
                        format!("the message did not render: {err}"),
                    );
                    self.finish(&mut run, RunOutcome::Failed, "render error");
                }
            }
        }
        let alarm_snapshot = self
            .alarm_snapshot(task, &mut run, &read, &decision, at)
            .await;
        let mut alarms = Vec::new();
        for reason in &decision.alarms {
            let concerned = charts_for(*reason, &run.charts);
            alarms.extend(
                self.ledger
                    .notices
                    .alarm(
                        task,
                        &run,
                        (*reason, decision.pause.is_some()),
                        &concerned,
                        alarm_snapshot.as_ref(),
                    )
                    .await,
            );
        }
        if !alarms.is_empty() {
            run.log(
                now,
                LogLevel::Info,
                format!("queued {} alarm messages", alarms.len()),
            );
        }
        Prepared {
            run,
            pushes,
            alarms,
        }
    }

    /// The snapshot an empty-data alarm to the robot shows: the push's own, or drawn for the alarm
    /// (a paused push draws none).
    async fn alarm_snapshot(
        &self,
        task: &PushTask,
        run: &mut PushRun,
        read: &PageRead,
        decision: &crate::services::exception::Decision,
        at: DateTime<Utc>,
    ) -> Option<ImageRef> {
        if task.spec.alarm_robot.is_none() || !decision.alarms.contains(&PauseReason::Empty) {
            return None;
        }
        if let Some(image) = run.images.first() {
            return Some(image.clone());
        }
        let reference = run.id.short();
        let stamp = RunStamp {
            kind: run.kind,
            at,
            reference: Some(&reference),
        };
        match self
            .reporter
            .snapshot(&run.project, &task.spec, read, stamp, run.expires_at)
            .await
        {
            Ok(image) => {
                run.images.push(image.clone());
                Some(image)
            }
            Err(problem) => {
                let now = self.now();
                run.log(
                    now,
                    LogLevel::Warn,
                    format!("alarm sent without the snapshot: {problem}"),
                );
                None
            }
        }
    }

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
        if self
            .ledger
            .runs
            .is_claimed(project, task_id, scheduled_for)
            .await?
        {
            tracing::info!("this scheduled time was already run");
            return Ok(Trigger::Duplicate);
        }
        let mut run = self.new_run(&task, RunKind::Scheduled, Some(scheduled_for));
        let prepared = if task.state == TaskState::Enabled {
            let audience = self.audience(&task, false).await?;
            self.prepare(&task, run, &audience, None).await
        } else {
            let why = format!("the task is {}", task.state.as_str());
            self.finish(
                &mut run,
                RunOutcome::Skipped {
                    reason: why.clone(),
                },
                &why,
            );
            Prepared::nothing(run)
        };
        self.commit(prepared, Some((task.id, scheduled_for))).await
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
        self.commit(Prepared::nothing(run), Some((task.id, scheduled_for)))
            .await
    }

    async fn commit(
        &self,
        prepared: Prepared,
        claim: Option<(TaskId, DateTime<Utc>)>,
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

    async fn load_task(&self, project: &ProjectId, id: &TaskId) -> Result<PushTask, ServiceError> {
        self.ledger
            .tasks
            .get_task(project, id)
            .await?
            .ok_or(ServiceError::NotFound("task"))
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
    async fn test_push_of(
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

    pub async fn list_records(
        &self,
        who: &Principal,
        project: &ProjectId,
        filter: &RunFilter,
        after: Option<&RunId>,
        limit: usize,
    ) -> Result<RunPage, ServiceError> {
        who.check_read(project)?;
        Ok(self
            .ledger
            .runs
            .list_runs(project, filter, after, limit.clamp(1, 100), self.now())
            .await?)
    }

    /// What a record must not show `who`: an admin may read the contacts directory and sees every
    /// identity; anyone else sees each contact a delivery reached as "Name (contact id)".
    pub async fn redaction_for(
        &self,
        who: &Principal,
        deliveries: &[Delivery],
    ) -> Result<Redaction, ServiceError> {
        if *who == Principal::Admin {
            return Ok(Redaction::default());
        }
        let mut ids: Vec<ContactId> = deliveries
            .iter()
            .flat_map(|d| d.contacts.iter().map(|reach| reach.contact.clone()))
            .collect();
        if ids.is_empty() {
            return Ok(Redaction::default());
        }
        ids.sort();
        ids.dedup();
        let mut found = Vec::new();
        for page in ids.chunks(100) {
            found.extend(self.contacts.get_contacts(page).await?);
        }
        let label = |id: &ContactId| match found.iter().find(|c| c.id() == id) {
            Some(contact) => format!("{} (contact {id})", contact.name()),
            None => format!("contact {id}"),
        };
        Ok(Redaction::new(deliveries.iter().flat_map(|d| {
            d.contacts
                .iter()
                .map(|reach| (reach.identity.clone(), label(&reach.contact)))
        })))
    }

    /// A run with its deliveries: the first [`RECORD_PUSHES_SHOWN`] pushes, then its alarms and
    /// notices (the progress counts them all).
    pub async fn record(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &RunId,
    ) -> Result<(PushRun, Vec<Delivery>), ServiceError> {
        who.check_read(project)?;
        let run = self
            .ledger
            .runs
            .get_run(project, id, self.now())
            .await?
            .ok_or(ServiceError::NotFound("record"))?;
        let ids: Vec<_> = run
            .push_ids()
            .take(RECORD_PUSHES_SHOWN)
            .chain(run.notice_ids())
            .collect();
        let mut deliveries = Vec::with_capacity(ids.len());
        for page in ids.chunks(100) {
            deliveries.extend(self.ledger.deliveries.get_deliveries(page).await?);
        }
        Ok((run, deliveries))
    }
}
