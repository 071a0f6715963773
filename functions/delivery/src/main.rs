//! delivery Lambda: the table's DynamoDB Stream (new deliveries) and a one-minute sweep → providers.
use herald_core::services::delivery::{DeliveryWorker, RetryPolicy};
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let adapters = herald_aws::AwsConfig::from_env()?.adapters().await;
    let settings = herald_api::settings_service(&adapters);
    let hub = Arc::new(herald_hub::ProviderHub::from_env(settings)?);
    let worker = DeliveryWorker::new(
        adapters.deliveries,
        hub,
        adapters.clock,
        RetryPolicy::default(),
    );
    let handler = Arc::new(delivery::Handler::new(worker));
    run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        async move { handler.handle(event.payload).await.map_err(Error::from) }
    }))
    .await
}
