//! The task-api Lambda answers real API Gateway HTTP API (payload 2.0) events, through the same
//! adapter `lambda_http::run` uses, over DynamoDB and EventBridge Scheduler on moto.
use herald_core::domain::auth::KeyHash;
use lambda_http::Adapter;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::{Service, ServiceExt};
use serde_json::Value;

async fn task_api_router() -> herald_api::Router {
    let config = herald_tests::moto::sdk_config().await;
    let (_, table) = herald_tests::moto::fresh_table(&config).await;
    let (_, _, group) = herald_tests::moto::fresh_scheduler(&config).await;
    task_api::app(&herald_aws::AwsConfig {
        table,
        target: herald_aws::SchedulerTarget {
            group,
            trigger_arn: "arn:aws:lambda:us-east-1:123456789012:function:herald-trigger".into(),
            role_arn: "arn:aws:iam::123456789012:role/herald-scheduler".into(),
            dead_letter_arn: None,
            flexible_window_minutes: 0,
        },
        admin_token_sha256: KeyHash::of(herald_tests::ADMIN_TOKEN),
        secret_prefix: herald_tests::moto::unique("herald"),
        record_retention_days: 90,
        snapshot_link_days: 7,
    })
    .await
    .expect("provider clients")
}

/// Feeds one fixture event to the function and returns the serialized Lambda response.
async fn invoke(router: herald_api::Router, fixture: &str) -> Value {
    let path = format!("{}/../infra/events/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path)
        .expect("fixture")
        .replace("REPLACE_TOKEN", herald_tests::ADMIN_TOKEN);
    let event: LambdaRequest = serde_json::from_str(&text).expect("an API Gateway v2 event");
    let mut adapter = Adapter::from(router);
    let response = adapter
        .ready()
        .await
        .expect("ready")
        .call(LambdaEvent::new(event, Context::default()))
        .await
        .expect("response");
    serde_json::to_value(response).expect("serializable response")
}

#[tokio::test]
async fn task_api_creates_a_task_from_an_http_api_v2_event() {
    let response = invoke(task_api_router().await, "apigw-v2-create-task.json").await;
    assert_eq!(response["statusCode"], 201, "{response}");
    let body: Value =
        serde_json::from_str(response["body"].as_str().expect("body")).expect("json body");
    assert_eq!(body["project"], "payments");
    assert_eq!(body["state"], "enabled");
    assert_eq!(body["schedule"]["expression"], "cron(0 10 ? * MON,THU *)");
    assert!(
        response["headers"]["content-type"]
            .as_str()
            .is_some_and(|t| t.starts_with("application/json"))
    );
}

#[tokio::test]
async fn task_api_answers_health_from_an_http_api_v2_event() {
    let response = invoke(task_api_router().await, "apigw-v2-get-healthz.json").await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!(response["body"], r#"{"status":"ok"}"#);
}
