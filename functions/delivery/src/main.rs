//! delivery Lambda: the table's DynamoDB Stream (new deliveries) and a one-minute sweep → providers.
use herald_core::services::Services;
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = herald_aws::AwsConfig::from_env()?;
    let adapters = config.adapters().await?;
    let hub = Arc::new(herald_hub::ProviderHub::from_env(
        Services::settings_of(&adapters),
        adapters.images.clone(),
    )?);
    // The services' worker settles runs as their deliveries finish.
    let handler = Arc::new(delivery::Handler::new(
        Services::new(adapters, hub, config.engine()).worker,
    ));
    run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        async move { handler.handle(event.payload).await.map_err(Error::from) }
    }))
    .await
}
