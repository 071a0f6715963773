//! The task-api Lambda's wiring: the AWS adapters, the provider hub and the Router.
use herald_api::AppState;
use herald_aws::AwsConfig;
use herald_core::services::delivery::RetryPolicy;
use herald_hub::ProviderHub;
use std::sync::Arc;

/// Builds the Router once per process.
pub async fn app(config: &AwsConfig) -> Result<herald_api::Router, herald_hub::BuildError> {
    let adapters = config.adapters().await;
    let settings = herald_api::settings_service(&adapters);
    let hub = Arc::new(ProviderHub::from_env(settings.clone())?);
    let (state, _worker) = AppState::new(adapters, settings, hub, RetryPolicy::default());
    Ok(herald_api::router(state))
}
