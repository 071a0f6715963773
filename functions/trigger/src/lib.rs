//! The trigger Lambda's handler. EventBridge Scheduler invokes it with the schedule's input, in which
//! it has replaced `<aws.scheduler.scheduled-time>`; it delivers at least once, and the run's claim
//! per (task, scheduled time) makes a second delivery a no-op.
use chrono::{DateTime, Utc};
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::services::runs::{PushService, Trigger};
use serde::Deserialize;
use serde_json::{Value, json};

/// The schedule's input (see the EventBridge Scheduler adapter's `target_input`).
#[derive(Debug, Deserialize)]
pub struct ScheduledEvent {
    pub project_id: String,
    pub task_id: String,
    pub scheduled_time: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The store or another dependency failed: the error makes Lambda retry the asynchronous
    /// invocation (twice, per the template's EventInvokeConfig), then send it to the missed-runs
    /// queue. (Scheduler's own retry policy covers only handing the event to Lambda.)
    #[error(transparent)]
    Service(#[from] herald_core::ServiceError),
}

/// `{"upgrade": true}`, sent by hand once after a stack update (infra/DEPLOY.md): move items an
/// earlier version wrote to where this one reads them.
pub fn is_upgrade(event: &Value) -> bool {
    event.get("upgrade") == Some(&Value::Bool(true))
}

/// Runs the task for its scheduled time. Malformed events are logged and dropped (a retry cannot
/// fix them); failures of the store are returned so Lambda retries the invocation.
pub async fn handle(pushes: &PushService, event: Value) -> Result<Value, TriggerError> {
    let event: ScheduledEvent = match serde_json::from_value(event) {
        Ok(event) => event,
        Err(err) => {
            tracing::error!(error = %err, "not a Herald schedule event; dropped");
            return Ok(json!({ "ignored": err.to_string() }));
        }
    };
    let (Ok(project), Ok(task)) = (
        ProjectId::parse(event.project_id.clone()),
        TaskId::parse(&event.task_id),
    ) else {
        tracing::error!(project = %event.project_id, task = %event.task_id, "schedule event with invalid ids; dropped");
        return Ok(json!({ "ignored": "invalid project or task id" }));
    };
    Ok(
        match pushes
            .run_scheduled(&project, &task, event.scheduled_time)
            .await?
        {
            Trigger::Started(run) => {
                json!({ "run_id": run.id.to_string(), "outcome": run.outcome.name() })
            }
            Trigger::Duplicate => json!({ "duplicate": true }),
            Trigger::TaskGone => json!({ "task_gone": true }),
        },
    )
}

/// Serves the Lambda Runtime API with the services built once: scheduled events run their task,
/// `{"upgrade": true}` upgrades the table's items.
pub async fn serve(config: herald_aws::AwsConfig) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{Error, LambdaEvent, service_fn};
    use std::sync::Arc;
    let pushes = Arc::new(config.services().await?.pushes);
    let config = Arc::new(config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (pushes, config) = (pushes.clone(), config.clone());
        async move {
            if is_upgrade(&event.payload) {
                let upgraded = config.upgrade_items().await?;
                tracing::info!(?upgraded, "items upgraded for this version");
                return Ok(serde_json::to_value(upgraded)?);
            }
            handle(&pushes, event.payload).await.map_err(Error::from)
        }
    }))
    .await
}
