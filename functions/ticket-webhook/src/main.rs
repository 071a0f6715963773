//! ticket-webhook Lambda: API Gateway HTTP API → verified ticket events.
use lambda_http::{Error, run, tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = herald_aws::AwsConfig::from_env()?;
    run(ticket_webhook::app(&config).await?).await
}
