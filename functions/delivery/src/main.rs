//! delivery Lambda: the table's DynamoDB Stream (new deliveries) and a one-minute sweep → providers.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = herald_aws::AwsConfig::from_env()?;
    delivery::serve(config).await
}
