//! Push task use cases. A task and its schedule never drift: every change to one is undone when the
//! other cannot follow.
pub use super::robot_keys::store_robot_key;
use crate::clock::Clock;
use crate::domain::auth::Principal;
use crate::domain::ids::{ProjectId, TaskId};
use crate::domain::task::{PushTask, TaskSpec, TaskState};
use crate::ports::{Page, ScheduleDefinition, ScheduleGateway, SecretStore, StoreError, TaskStore};
use crate::services::robot_keys::keep_by_name;
use crate::{FieldError, ServiceError};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The most tasks one list page returns.
pub const MAX_PAGE_SIZE: usize = 100;

/// A replacement of a task's spec.
pub struct TaskUpdate {
    /// The version the caller read; a different stored version means someone else wrote in between.
    pub version: u64,
    pub spec: TaskSpec,
    /// The caller sent the write-only robot key back as `"set"`: keep the stored one.
    pub keep_alarm_robot: bool,
    /// Groups sent back with `"set"` for their robot's credentials: kept as stored, by name.
    pub kept_groups: crate::services::robot_keys::KeptGroups,
}

#[derive(Clone)]
pub struct TaskService {
    store: Arc<dyn TaskStore>,
    scheduler: Arc<dyn ScheduleGateway>,
    /// Where alarm robot keys are kept (the task names the secret, never the key).
    secrets: Arc<dyn SecretStore>,
    /// Checks the sources a task's charts name, and keeps the index of who uses each.
    sources: super::sources::SourceDirectory,
    clock: Arc<dyn Clock>,
}

/// What the scheduler should hold for a task.
pub fn schedule_of(task: &PushTask) -> ScheduleDefinition {
    let schedule = &task.spec.schedule;
    ScheduleDefinition {
        project: task.project.clone(),
        task: task.id,
        expression: schedule.expression(),
        timezone: schedule.timezone().name().to_owned(),
        start: schedule.start_instant(),
        enabled: task.state == TaskState::Enabled,
    }
}

impl TaskService {
    pub fn new(
        store: Arc<dyn TaskStore>,
        scheduler: Arc<dyn ScheduleGateway>,
        secrets: Arc<dyn SecretStore>,
        sources: super::sources::SourceDirectory,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            scheduler,
            secrets,
            sources,
            clock,
        }
    }

    /// Moves a robot key given in `spec` into the secret store (see [`store_robot_key`]).
    async fn store_robot_key(&self, spec: &mut TaskSpec) -> Result<(), ServiceError> {
        store_robot_key(self.secrets.as_ref(), spec)
            .await
            .map_err(|e| ServiceError::unavailable("the secret store", e))?;
        Ok(())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The first push may run today (in the task's time zone) or later.
    fn check_start(&self, spec: &TaskSpec) -> Result<(), FieldError> {
        let schedule = &spec.schedule;
        let today = self
            .clock
            .now()
            .with_timezone(&schedule.timezone())
            .date_naive();
        if schedule.start() < today {
            return Err(FieldError::new(
                "schedule.start",
                format!(
                    "is in the past: the first day may be today ({today} in {}) or later",
                    schedule.timezone().name()
                ),
            ));
        }
        Ok(())
    }

    /// A schedule's calendar must exist: `cn-workdays`, or one an admin set days on.
    async fn check_calendar(&self, spec: &TaskSpec) -> Result<(), ServiceError> {
        let Some(name) = spec.schedule.calendar() else {
            return Ok(());
        };
        if crate::domain::calendar::Calendar::is_shipped(name)
            || self
                .sources
                .settings
                .get_settings()
                .await?
                .calendars
                .contains_key(name)
        {
            return Ok(());
        }
        Err(FieldError::new(
            "schedule.calendar",
            format!(
                "no calendar is named '{name}': use cn-workdays, or set a day of your own calendar \
                 first (PUT /v1/calendars/{name}/days/{{date}})"
            ),
        )
        .into())
    }

    #[tracing::instrument(skip_all, fields(project = %project, task_id = tracing::field::Empty))]
    pub async fn create(
        &self,
        who: &Principal,
        project: &ProjectId,
        spec: TaskSpec,
    ) -> Result<PushTask, ServiceError> {
        who.check_write(project)?;
        spec.check_consistent()?;
        self.check_start(&spec)?;
        self.check_calendar(&spec).await?;
        self.sources.check_page(project, &spec.page).await?;
        let mut spec = spec;
        self.store_robot_key(&mut spec).await?;
        let now = self.clock.now();
        let task = PushTask {
            id: TaskId::new(),
            project: project.clone(),
            spec,
            state: TaskState::Enabled,
            version: 1,
            consecutive_failures: 0,
            created_at: now,
            updated_at: now,
        };
        tracing::Span::current().record("task_id", tracing::field::display(task.id));
        let used = super::sources::sources_of(&task.spec.page);
        self.sources.record_use(project, &task.id, &used).await?;
        // Schedule first: if it fails nothing has been written.
        self.scheduler.put_schedule(&schedule_of(&task)).await?;
        if let Err(err) = self.store.insert_task(&task).await {
            self.undo_schedule(project, &task.id).await;
            return Err(err.into());
        }
        if let Err(gone) = self.sources.still_there(&used).await {
            // Deleted while this task was written: the task goes again (the source's deletion
            // may not have seen it).
            match self
                .store
                .delete_task(project, &task.id, task.version)
                .await
            {
                Ok(()) => self.undo_schedule(project, &task.id).await,
                Err(err) => {
                    tracing::error!(error = %err, "could not take back a task whose source was deleted");
                    self.reconcile(project, &task.id).await;
                }
            }
            return Err(gone);
        }
        tracing::info!("task created");
        Ok(task)
    }

    pub async fn get(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &TaskId,
    ) -> Result<PushTask, ServiceError> {
        who.check_read(project)?;
        self.load(project, id).await
    }

    pub async fn list(
        &self,
        who: &Principal,
        project: &ProjectId,
        after: Option<&TaskId>,
        limit: usize,
    ) -> Result<Page<PushTask>, ServiceError> {
        who.check_read(project)?;
        Ok(self
            .store
            .list_tasks(project, after, limit.clamp(1, MAX_PAGE_SIZE))
            .await?)
    }

    /// Replaces a task's spec. Editing a stopped task starts it again.
    #[tracing::instrument(skip_all, fields(project = %project, task_id = %id))]
    pub async fn replace(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &TaskId,
        update: TaskUpdate,
    ) -> Result<PushTask, ServiceError> {
        who.check_write(project)?;
        let current = self.load(project, id).await?;
        check_version(&current, update.version)?;
        let mut spec = update.spec;
        if update.keep_alarm_robot {
            spec.alarm_robot = current.spec.alarm_robot.clone();
        }
        let (stored, kept) = (&current.spec.recipients, &update.kept_groups);
        let recipients = &mut spec.recipients;
        keep_by_name(
            &mut recipients.wecom_robots,
            &stored.wecom_robots,
            &kept.wecom,
            |g| &g.name,
            &|at| format!("recipients.wecom_robots[{at}].webhook_key"),
        )?;
        keep_by_name(
            &mut recipients.dingtalk_robots,
            &stored.dingtalk_robots,
            &kept.dingtalk,
            |g| &g.name,
            &|at| format!("recipients.dingtalk_robots[{at}].access_token"),
        )?;
        spec.check_consistent()?;
        if spec.schedule.start() != current.spec.schedule.start() {
            self.check_start(&spec)?;
        }
        // A calendar whose days were all deleted since stays usable by the tasks that name it.
        if spec.schedule.calendar() != current.spec.schedule.calendar() {
            self.check_calendar(&spec).await?;
        }
        self.sources.check_page(project, &spec.page).await?;
        self.store_robot_key(&mut spec).await?;
        // The use index lists the sources of both versions while the write is under way.
        // Listed before the write; never unlisted after it (`SourceDirectory::record_use`).
        let after = super::sources::sources_of(&spec.page);
        self.sources.record_use(project, id, &after).await?;
        let mut next = current.clone();
        next.spec = spec;
        if next.state == TaskState::Stopped {
            next.state = TaskState::Enabled;
            next.consecutive_failures = 0;
        }
        let written = self.write(current.clone(), next).await?;
        if let Err(gone) = self.sources.still_there(&after).await {
            // Deleted while this task was written: the task's page is put back as it was.
            self.put_back(&written, &current).await;
            return Err(gone);
        }
        Ok(written)
    }

    #[tracing::instrument(skip_all, fields(project = %project, task_id = %id))]
    pub async fn disable(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &TaskId,
        confirm: bool,
    ) -> Result<PushTask, ServiceError> {
        who.check_write(project)?;
        let current = self.load(project, id).await?;
        if !confirm {
            return Err(ServiceError::FailedPrecondition {
                field: Some("confirm".into()),
                message: format!(
                    "disabling '{}' stops its scheduled pushes until it is enabled again; send {{\"confirm\": true}}",
                    current.spec.name
                ),
            });
        }
        if current.state == TaskState::Disabled {
            return Ok(current);
        }
        let mut next = current.clone();
        next.state = TaskState::Disabled;
        self.write(current, next).await
    }

    /// Enables a task and resets its failure count.
    #[tracing::instrument(skip_all, fields(project = %project, task_id = %id))]
    pub async fn enable(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &TaskId,
    ) -> Result<PushTask, ServiceError> {
        who.check_write(project)?;
        let current = self.load(project, id).await?;
        if current.state == TaskState::Enabled && current.consecutive_failures == 0 {
            return Ok(current);
        }
        let mut next = current.clone();
        next.state = TaskState::Enabled;
        next.consecutive_failures = 0;
        self.write(current, next).await
    }

    /// Deletes a task and its schedule. Its run records stay.
    #[tracing::instrument(skip_all, fields(project = %project, task_id = %id))]
    pub async fn delete(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &TaskId,
    ) -> Result<(), ServiceError> {
        who.check_write(project)?;
        let current = self.load(project, id).await?;
        // Schedule first: if that fails the task is untouched and still scheduled.
        self.scheduler.delete_schedule(project, id).await?;
        if let Err(err) = self.store.delete_task(project, id, current.version).await {
            self.reconcile(project, id).await;
            return Err(match err {
                StoreError::NotFound => ServiceError::NotFound("task"),
                other => other.into(),
            });
        }
        self.sources.forget_task(project, id).await?;
        tracing::info!("task deleted");
        Ok(())
    }

    async fn load(&self, project: &ProjectId, id: &TaskId) -> Result<PushTask, ServiceError> {
        self.store
            .get_task(project, id)
            .await?
            .ok_or(ServiceError::NotFound("task"))
    }

    /// Writes `next` over `current`: the schedule follows first, and is put back if the write fails.
    async fn write(&self, current: PushTask, mut next: PushTask) -> Result<PushTask, ServiceError> {
        next.version = current.version + 1;
        next.updated_at = self.clock.now();
        if schedule_of(&current) != schedule_of(&next) {
            self.scheduler.put_schedule(&schedule_of(&next)).await?;
        }
        if let Err(err) = self.store.replace_task(&next, current.version).await {
            self.reconcile(&next.project, &next.id).await;
            return Err(match err {
                StoreError::Conflict => ServiceError::Conflict(format!(
                    "the task was changed after version {} was read; read it again and retry",
                    current.version
                )),
                StoreError::NotFound => ServiceError::NotFound("task"),
                other => other.into(),
            });
        }
        tracing::info!(
            version = next.version,
            state = next.state.as_str(),
            "task written"
        );
        Ok(next)
    }

    /// Puts `before`'s settings back over `written` (whose source was deleted while it was
    /// written), over whatever version a run or a state change gave the task since, unless
    /// another edit replaced `written`'s settings (that edit checked its own sources).
    async fn put_back(&self, written: &PushTask, before: &PushTask) {
        for _ in 0..5 {
            let stored = match self.store.get_task(&written.project, &written.id).await {
                Ok(Some(stored)) if stored.spec == written.spec => stored,
                Ok(_) => return,
                Err(err) => {
                    tracing::error!(error = %err, "could not read back a task to put its page back");
                    return;
                }
            };
            let mut restored = stored.clone();
            restored.spec = before.spec.clone();
            match self.write(stored, restored).await {
                Ok(_) => return,
                Err(ServiceError::Conflict(_)) => continue,
                Err(err) => {
                    tracing::error!(error = %err, "could not put back a task whose source was deleted");
                    return;
                }
            }
        }
        tracing::error!("could not put back a task whose source was deleted: it kept changing");
    }

    /// After a failed write, makes the schedule match whatever the store now holds.
    async fn reconcile(&self, project: &ProjectId, id: &TaskId) {
        let outcome = match self.store.get_task(project, id).await {
            Ok(Some(task)) => self.scheduler.put_schedule(&schedule_of(&task)).await,
            Ok(None) => self.scheduler.delete_schedule(project, id).await,
            Err(err) => {
                tracing::error!(error = %err, "could not read the task back to reconcile its schedule");
                return;
            }
        };
        if let Err(err) = outcome {
            tracing::error!(error = %err, "could not reconcile the schedule with the stored task");
        }
    }

    async fn undo_schedule(&self, project: &ProjectId, id: &TaskId) {
        if let Err(err) = self.scheduler.delete_schedule(project, id).await {
            tracing::error!(error = %err, "could not delete the schedule of a task that was not written");
        }
    }
}

fn check_version(current: &PushTask, expected: u64) -> Result<(), ServiceError> {
    if current.version == expected {
        Ok(())
    } else {
        Err(ServiceError::Conflict(format!(
            "version {expected} is stale: the task is at version {}; read it again and retry",
            current.version
        )))
    }
}
