//! trigger Lambda: EventBridge Scheduler → one push run.
#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = herald_aws::AwsConfig::from_env()?;
    trigger::serve(config).await
}
