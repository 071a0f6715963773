//! Access to the moto server that `make test` starts (scripts/with-moto.sh): the SDK is pointed at it
//! the standard way (AWS_ENDPOINT_URL, AWS_REGION, dummy keys), so no code under test has a test branch.
use aws_config::SdkConfig;

/// The SDK configuration from the environment. Panics with instructions when moto is not running, so
/// the DynamoDB and Scheduler suites never pass by being skipped.
pub async fn sdk_config() -> SdkConfig {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok_and(|url| url.starts_with("http://127.0.0.1")),
        "AWS_ENDPOINT_URL must point at a moto server on 127.0.0.1: run these tests with `make test` \
         (or scripts/with-moto.sh cargo test)"
    );
    aws_config::load_from_env().await
}

/// A name no other test uses, so tests share one moto server without seeing each other's data.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// A fresh DynamoDB table laid out as in template.yaml.
pub async fn fresh_table(config: &SdkConfig) -> (aws_sdk_dynamodb::Client, String) {
    let client = aws_sdk_dynamodb::Client::new(config);
    let table = unique("herald");
    herald_aws::DynamoStore::create_table(&client, &table)
        .await
        .expect("create table in moto");
    (client, table)
}

/// A fresh schedule group, and a scheduler adapter whose target is a (fake) trigger function.
pub async fn fresh_scheduler(
    config: &SdkConfig,
) -> (
    aws_sdk_scheduler::Client,
    herald_aws::EventBridgeScheduler,
    String,
) {
    let client = aws_sdk_scheduler::Client::new(config);
    let group = unique("herald");
    client
        .create_schedule_group()
        .name(&group)
        .send()
        .await
        .expect("create schedule group in moto");
    let target = herald_aws::SchedulerTarget {
        group: group.clone(),
        trigger_arn: "arn:aws:lambda:us-east-1:123456789012:function:herald-trigger".into(),
        role_arn: "arn:aws:iam::123456789012:role/herald-scheduler".into(),
        dead_letter_arn: None,
        flexible_window_minutes: 0,
    };
    (
        client.clone(),
        herald_aws::EventBridgeScheduler::new(client, target),
        group,
    )
}
