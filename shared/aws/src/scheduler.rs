//! One EventBridge Scheduler schedule per task, in group `herald`, named by the task id.
use async_trait::async_trait;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_scheduler::primitives::DateTime as AwsDateTime;
use aws_sdk_scheduler::types::{
    DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, ScheduleState,
    Target,
};
use chrono::{DateTime, Utc};
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::ports::{ScheduleDefinition, ScheduleGateway, SchedulerError};

/// Where schedules deliver: the trigger function, invoked with the Scheduler role.
#[derive(Debug, Clone)]
pub struct SchedulerTarget {
    pub group: String,
    pub trigger_arn: String,
    pub role_arn: String,
    /// Where Scheduler puts a firing it could not deliver to the trigger (an SQS queue's ARN), so
    /// a missed run is seen instead of dropped.
    pub dead_letter_arn: Option<String>,
    /// Scheduler may fire up to this many minutes after the scheduled time (0: on the minute), so
    /// a stack whose tasks all say 09:00 does not start them all in one second.
    pub flexible_window_minutes: u32,
}

/// The EventBridge Scheduler adapter. Holds one SDK client, created once per process.
#[derive(Clone)]
pub struct EventBridgeScheduler {
    client: Client,
    target: SchedulerTarget,
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(err: E) -> SchedulerError {
    SchedulerError::Unavailable(Box::new(err))
}

/// Maps an SDK error: a validation error is the scheduler refusing our input, anything else is an outage.
fn map_error<E, R>(err: SdkError<E, R>) -> SchedulerError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err.as_service_error() {
        Some(service) if service.code() == Some("ValidationException") => {
            SchedulerError::Rejected(service.message().unwrap_or("validation failed").to_owned())
        }
        _ => unavailable(err),
    }
}

fn is_not_found<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ResourceNotFoundException")
}

/// The JSON the trigger receives; Scheduler fills in the scheduled time of each firing.
pub fn target_input(project: &ProjectId, task: &TaskId) -> String {
    serde_json::json!({
        "project_id": project.as_str(),
        "task_id": task.to_string(),
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    })
    .to_string()
}

impl EventBridgeScheduler {
    pub fn new(client: Client, target: SchedulerTarget) -> Self {
        Self { client, target }
    }

    fn target_for(&self, definition: &ScheduleDefinition) -> Result<Target, SchedulerError> {
        Target::builder()
            .arn(&self.target.trigger_arn)
            .role_arn(&self.target.role_arn)
            .input(target_input(&definition.project, &definition.task))
            .set_dead_letter_config(
                self.target
                    .dead_letter_arn
                    .as_ref()
                    .map(|arn| DeadLetterConfig::builder().arn(arn).build()),
            )
            // A report that arrives hours late is worse than none: give up after an hour.
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_event_age_in_seconds(3600)
                    .maximum_retry_attempts(10)
                    .build(),
            )
            .build()
            .map_err(unavailable)
    }
}

fn window(minutes: u32) -> Result<FlexibleTimeWindow, SchedulerError> {
    let window = match minutes {
        0 => FlexibleTimeWindow::builder().mode(FlexibleTimeWindowMode::Off),
        minutes => FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Flexible)
            .maximum_window_in_minutes(i32::try_from(minutes).unwrap_or(1440)),
    };
    window.build().map_err(unavailable)
}

fn state_of(enabled: bool) -> ScheduleState {
    if enabled {
        ScheduleState::Enabled
    } else {
        ScheduleState::Disabled
    }
}

#[async_trait]
impl ScheduleGateway for EventBridgeScheduler {
    #[tracing::instrument(skip_all, fields(task_id = %definition.task, expression = %definition.expression))]
    async fn put_schedule(&self, definition: &ScheduleDefinition) -> Result<(), SchedulerError> {
        let name = definition.task.to_string();
        let start = AwsDateTime::from_secs(definition.start.timestamp());
        // A start date in the past means "already started": Scheduler is given none.
        let start = (definition.start > Utc::now()).then_some(start);
        let updated = self
            .client
            .update_schedule()
            .name(&name)
            .group_name(&self.target.group)
            .schedule_expression(&definition.expression)
            .schedule_expression_timezone(&definition.timezone)
            .set_start_date(start)
            .state(state_of(definition.enabled))
            .flexible_time_window(window(self.target.flexible_window_minutes)?)
            .target(self.target_for(definition)?)
            .send()
            .await;
        match updated {
            Ok(_) => return Ok(()),
            Err(err) if is_not_found(&err) => {}
            Err(err) => return Err(map_error(err)),
        }
        let created = self
            .client
            .create_schedule()
            .name(&name)
            .group_name(&self.target.group)
            .schedule_expression(&definition.expression)
            .schedule_expression_timezone(&definition.timezone)
            .set_start_date(start)
            .state(state_of(definition.enabled))
            .flexible_time_window(window(self.target.flexible_window_minutes)?)
            .target(self.target_for(definition)?)
            .description(format!(
                "Herald push task {} in project {}",
                definition.task, definition.project
            ))
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // Someone created it between our two calls: the next update wins.
            Err(err)
                if err.as_service_error().and_then(|e| e.code()) == Some("ConflictException") =>
            {
                Box::pin(self.put_schedule(definition)).await
            }
            Err(err) => Err(map_error(err)),
        }
    }

    #[tracing::instrument(skip_all, fields(task_id = %task))]
    async fn delete_schedule(
        &self,
        _project: &ProjectId,
        task: &TaskId,
    ) -> Result<(), SchedulerError> {
        let deleted = self
            .client
            .delete_schedule()
            .name(task.to_string())
            .group_name(&self.target.group)
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(err) if is_not_found(&err) => Ok(()),
            Err(err) => Err(map_error(err)),
        }
    }

    async fn get_schedule(
        &self,
        project: &ProjectId,
        task: &TaskId,
    ) -> Result<Option<ScheduleDefinition>, SchedulerError> {
        let got = self
            .client
            .get_schedule()
            .name(task.to_string())
            .group_name(&self.target.group)
            .send()
            .await;
        let out = match got {
            Ok(out) => out,
            Err(err) if is_not_found(&err) => return Ok(None),
            Err(err) => return Err(map_error(err)),
        };
        let start = out
            .start_date()
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.secs(), 0))
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        Ok(Some(ScheduleDefinition {
            project: project.clone(),
            task: *task,
            expression: out.schedule_expression().unwrap_or_default().to_owned(),
            timezone: out
                .schedule_expression_timezone()
                .unwrap_or("UTC")
                .to_owned(),
            start,
            enabled: out.state() == Some(&ScheduleState::Enabled),
        }))
    }
}
