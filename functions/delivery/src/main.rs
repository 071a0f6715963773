//! delivery Lambda: the table's DynamoDB Stream (new deliveries) and a one-minute sweep → providers.
use herald_core::services::Services;
use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = herald_aws::AwsConfig::from_env()?;
    // The table also counts the providers' quotas across this function's instances.
    let (adapters, windows) = config.wiring().await?;
    let clients = herald_hub::ProviderClients::from_env(adapters.images.clone(), Some(windows))?;
    // The services' worker settles runs as their deliveries finish.
    let services = Services::new(adapters, config.engine(), |settings| clients.hub(settings));
    let handler = Arc::new(delivery::Handler::new(services.worker, services.pushes));
    run(service_fn(move |event: LambdaEvent<Value>| {
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
