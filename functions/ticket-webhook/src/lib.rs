//! The ticket-webhook Lambda's wiring: the AWS adapters, the provider hub and the one Router (it
//! serves `POST /v1/webhooks/...`; the deliveries it queues are sent by the delivery Lambda).
use herald_api::AppState;
use herald_aws::AwsConfig;
use herald_core::services::Services;
use herald_hub::ProviderClients;

/// Builds the Router once per process.
pub async fn app(
    config: &AwsConfig,
) -> Result<herald_api::Router, Box<dyn std::error::Error + Send + Sync>> {
    let (adapters, windows) = config.wiring().await?;
    let clients = ProviderClients::from_env(adapters.images.clone(), Some(windows))?;
    let services = Services::new(adapters, config.engine(), |settings| clients.hub(settings));
    Ok(herald_api::router(AppState::from(&services)))
}
