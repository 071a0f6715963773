//! The schedule that follows each task.
use super::*;

/// The one schedule that follows a task: what EventBridge Scheduler (or the local timer) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDefinition {
    pub project: ProjectId,
    pub task: TaskId,
    /// `cron(...)`, exactly as EventBridge gets it.
    pub expression: String,
    /// IANA name, e.g. `Asia/Shanghai`.
    pub timezone: String,
    /// The first instant the schedule may fire (the task's start date, 00:00 local).
    pub start: DateTime<Utc>,
    pub enabled: bool,
}

#[derive(Debug, Error)]
pub enum SchedulerError {
    /// The scheduler refused the definition (e.g. an expression it does not accept).
    #[error("the scheduler refused the schedule: {0}")]
    Rejected(String),
    #[error("scheduler unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Creates, changes and deletes the schedule of a task. Both calls are idempotent.
#[async_trait]
pub trait ScheduleGateway: Send + Sync {
    /// Creates the task's schedule or replaces it with `definition`.
    async fn put_schedule(&self, definition: &ScheduleDefinition) -> Result<(), SchedulerError>;
    /// Deletes the task's schedule; deleting one that does not exist is fine.
    async fn delete_schedule(
        &self,
        project: &ProjectId,
        task: &TaskId,
    ) -> Result<(), SchedulerError>;
    /// The schedule as the scheduler holds it, if any.
    async fn get_schedule(
        &self,
        project: &ProjectId,
        task: &TaskId,
    ) -> Result<Option<ScheduleDefinition>, SchedulerError>;
}
