//! trigger Lambda: EventBridge Scheduler → one push run.
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
    let hub = Arc::new(herald_hub::ProviderHub::from_env(
        Services::settings_of(&adapters),
        adapters.images.clone(),
        Some(windows),
    )?);
    let pushes = Arc::new(Services::new(adapters, hub, config.engine()).pushes);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let pushes = pushes.clone();
        async move {
            trigger::handle(&pushes, event.payload)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
