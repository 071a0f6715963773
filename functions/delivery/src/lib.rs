//! The delivery Lambda's handler: new or re-queued deliveries arrive through the table's DynamoDB
//! Stream and are sent at once; a one-minute schedule sweeps deliveries whose retry time or lease
//! came due. Failures to record an outcome are reported per record, so one bad record never replays
//! the good ones.
use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Utc};
use herald_core::domain::delivery::DeliveryId;
use herald_core::services::delivery::DeliveryWorker;
use herald_core::services::runs::PushService;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// How many due deliveries (per provider) one sweep looks at, and how many it sends at once.
pub const SWEEP_LIMIT: usize = 500;
pub const SWEEP_CONCURRENCY: usize = 32;
/// How many runs still sending one sweep reconciles.
pub const RECONCILE_LIMIT: usize = 50;

/// A re-queued delivery due within this long is waited for in the invocation (a retry at its
/// backoff time, not at the next sweep a minute later); later ones are the sweep's.
pub const WAIT_FOR_RETRY: Duration = Duration::from_secs(30);

/// The attributes of a stream image this handler looks at.
#[derive(Deserialize)]
struct Image {
    #[serde(rename = "PK")]
    pk: String,
    status: Option<String>,
    next_due: Option<String>,
}

/// The delivery a stream record asks to send, if any, and when it is due: a queued delivery (new,
/// or re-queued for a retry).
fn queued_delivery(record: &EventRecord) -> Option<(DeliveryId, Option<DateTime<Utc>>)> {
    if record.event_name == "REMOVE" {
        return None;
    }
    let image: Image = serde_dynamo::from_item(record.change.new_image.clone()).ok()?;
    let id = herald_aws::keys::delivery_of(&image.pk)?;
    if image.status.as_deref() != Some("queued") {
        return None;
    }
    let due = image
        .next_due
        .and_then(|d| DateTime::parse_from_rfc3339(&d).ok())
        .map(|d| d.to_utc());
    Some((id, due))
}

pub struct Handler {
    worker: DeliveryWorker,
    pushes: PushService,
}

impl Handler {
    pub fn new(worker: DeliveryWorker, pushes: PushService) -> Self {
        Self { worker, pushes }
    }

    /// Handles a DynamoDB Stream batch or a scheduled sweep (any event without `Records`); the
    /// sweep starts no send it could not finish before `deadline` (the invocation's).
    pub async fn handle(
        &self,
        event: Value,
        deadline: tokio::time::Instant,
    ) -> Result<Value, HandlerError> {
        if event.get("Records").is_none() {
            return self.sweep(deadline).await;
        }
        let batch: Event = serde_json::from_value(event)?;
        Ok(serde_json::to_value(
            self.handle_stream(&batch, deadline).await,
        )?)
    }

    /// The scheduled sweep: due deliveries, then runs whose settle was missed (a crash, a
    /// timeout, a store error). A failure of either fails the invocation, so the function's
    /// Errors metric (and its alarm) sees it; the next sweep starts over.
    async fn sweep(&self, deadline: tokio::time::Instant) -> Result<Value, HandlerError> {
        let swept = match self
            .worker
            .sweep_alone(SWEEP_LIMIT, SWEEP_CONCURRENCY, deadline)
            .await
        {
            // Another sweep is at work: it sends and reconciles.
            Ok(None) => return Ok(serde_json::json!({ "swept": false, "another_sweep": true })),
            Ok(Some(swept)) => Ok(swept),
            Err(err) => Err(err),
        };
        let reconciled = self.pushes.reconcile(RECONCILE_LIMIT).await;
        let (tried, failed) = match swept {
            Ok(swept) => (swept.tried, swept.unrecorded),
            Err(err) => {
                tracing::error!(error = %err, "sweep failed");
                return Err(HandlerError::Sweep(err));
            }
        };
        let settled = reconciled.map_err(|err| {
            tracing::error!(error = %err, "reconciling runs failed");
            HandlerError::Reconcile(err)
        })?;
        tracing::info!(tried, failed, settled, "sweep done");
        if failed > 0 {
            return Err(HandlerError::Unrecorded { failed, tried });
        }
        Ok(serde_json::json!({ "swept": true, "tried": tried, "settled": settled }))
    }

    async fn handle_stream(
        &self,
        batch: &Event,
        deadline: tokio::time::Instant,
    ) -> DynamoDbEventResponse {
        let tries = batch.records.iter().filter_map(|record| {
            let (id, due) = queued_delivery(record)?;
            Some(async move {
                self.wait_until_due(due, deadline).await;
                (record, self.worker.try_execute(&id).await)
            })
        });
        let mut response = DynamoDbEventResponse::default();
        for (record, result) in futures::future::join_all(tries).await {
            if let Err(err) = result {
                tracing::error!(error = %err, event_id = %record.event_id, "delivery could not be recorded; the record will be retried");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    /// Waits for a re-queued delivery whose retry is due soon (within [`WAIT_FOR_RETRY`], and
    /// early enough that its attempt still fits before `deadline`); returns at once otherwise (the
    /// claim then refuses a delivery not yet due, and the sweep sends it later).
    async fn wait_until_due(&self, due: Option<DateTime<Utc>>, deadline: tokio::time::Instant) {
        let Some(wait) = due.and_then(|due| (due - Utc::now()).to_std().ok()) else {
            return;
        };
        let attempt = self.worker.attempt_limit() + Duration::from_secs(5);
        if wait <= WAIT_FOR_RETRY && tokio::time::Instant::now() + wait + attempt < deadline {
            tokio::time::sleep(wait).await;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("the event is not a DynamoDB Stream batch: {0}")]
    Event(#[from] serde_json::Error),
    #[error("the sweep failed: {0}")]
    Sweep(#[source] herald_core::ServiceError),
    #[error("the sweep failed: reconciling runs: {0}")]
    Reconcile(#[source] herald_core::ServiceError),
    /// Sends whose outcome could not be written: they are retried, and the invocation fails so
    /// the Errors metric (and its alarm) sees it.
    #[error("the sweep failed: {failed} of {tried} attempts could not be recorded")]
    Unrecorded { failed: usize, tried: usize },
}

/// Serves the Lambda Runtime API with the services built once: each invocation is handled before
/// its deadline.
pub async fn serve(config: herald_aws::AwsConfig) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{Error, LambdaEvent, service_fn};
    // The services' worker settles runs as their deliveries finish.
    let services = config.services().await?;
    let handler = std::sync::Arc::new(Handler::new(services.worker, services.pushes));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        // The invocation's deadline (epoch ms) as an instant of this process's clock.
        let left = event
            .context
            .deadline()
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + left;
        async move {
            handler
                .handle(event.payload, deadline)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
