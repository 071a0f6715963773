//! The delivery Lambda's handler: new or re-queued deliveries arrive through the table's DynamoDB
//! Stream and are sent at once; a one-minute schedule sweeps deliveries whose retry time or lease
//! came due. Failures to record an outcome are reported per record, so one bad record never replays
//! the good ones.
use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use herald_core::domain::delivery::DeliveryId;
use herald_core::services::delivery::DeliveryWorker;
use herald_core::services::runs::PushService;
use serde::Deserialize;
use serde_json::Value;

/// How many due deliveries (per provider) one sweep looks at, and how many it sends at once.
pub const SWEEP_LIMIT: usize = 500;
pub const SWEEP_CONCURRENCY: usize = 32;
/// How many runs still sending one sweep reconciles.
pub const RECONCILE_LIMIT: usize = 50;

/// The attributes of a stream image this handler looks at.
#[derive(Deserialize)]
struct Image {
    #[serde(rename = "PK")]
    pk: String,
    status: Option<String>,
}

/// The delivery a stream record asks to send now, if any: a queued delivery (new, or re-queued
/// for a retry; the claim rejects it if it is not due yet, and the sweep picks it up later).
fn queued_delivery(record: &EventRecord) -> Option<DeliveryId> {
    if record.event_name == "REMOVE" {
        return None;
    }
    let image: Image = serde_dynamo::from_item(record.change.new_image.clone()).ok()?;
    let id = image.pk.strip_prefix("DELIVERY#")?;
    (image.status.as_deref() == Some("queued"))
        .then(|| DeliveryId::parse(id).ok())
        .flatten()
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
    ) -> Result<Value, serde_json::Error> {
        if event.get("Records").is_none() {
            match self
                .worker
                .sweep(SWEEP_LIMIT, SWEEP_CONCURRENCY, deadline)
                .await
            {
                Ok(tried) => tracing::info!(tried, "sweep done"),
                Err(err) => tracing::error!(error = %err, "sweep failed"),
            }
            // Runs whose settle was missed (a crash, a timeout, a store error) are settled here.
            match self.pushes.reconcile(RECONCILE_LIMIT).await {
                Ok(settled) => tracing::info!(settled, "runs reconciled"),
                Err(err) => tracing::error!(error = %err, "reconciling runs failed"),
            }
            return Ok(serde_json::json!({ "swept": true }));
        }
        let batch: Event = serde_json::from_value(event)?;
        serde_json::to_value(self.handle_stream(&batch).await)
    }

    async fn handle_stream(&self, batch: &Event) -> DynamoDbEventResponse {
        let tries = batch.records.iter().filter_map(|record| {
            let id = queued_delivery(record)?;
            Some(async move { (record, self.worker.try_execute(&id).await) })
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
}
