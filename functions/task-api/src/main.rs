//! task-api Lambda: API Gateway HTTP API → Herald's REST API.
use lambda_http::{Error, run, tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = herald_aws::AwsConfig::from_env()?;
    run(task_api::app(&config).await?).await
}
