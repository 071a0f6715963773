//! The task-api Lambda's Router: the JSON API and the console under `/ui`, over the services
//! `AwsConfig::services` builds once per process.
use herald_aws::AwsConfig;

/// Builds the Router once per process.
pub async fn app(config: &AwsConfig) -> Result<herald_api::Router, herald_aws::WiringError> {
    Ok(herald_console::router(config.services().await?.into()))
}
