//! The ticket-webhook Lambda's Router (it serves `POST /v1/webhooks/...`; the deliveries it queues
//! are sent by the delivery Lambda), over the services `AwsConfig::services` builds once per process.
use herald_aws::AwsConfig;

/// Builds the Router once per process.
pub async fn app(config: &AwsConfig) -> Result<herald_api::Router, herald_aws::WiringError> {
    Ok(herald_api::router(config.services().await?.into()))
}
