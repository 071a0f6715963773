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
    let clients = herald_hub::ProviderClients::from_env(adapters.images.clone(), Some(windows))?;
    let services = Services::new(adapters, config.engine(), |settings| clients.hub(settings));
    let pushes = Arc::new(services.pushes);
    let config = Arc::new(config);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let (pushes, config) = (pushes.clone(), config.clone());
        async move {
            if trigger::is_upgrade(&event.payload) {
                let upgraded = config.upgrade_items().await?;
                tracing::info!(?upgraded, "items upgraded for this version");
                return Ok(serde_json::to_value(upgraded)?);
            }
            trigger::handle(&pushes, event.payload)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
