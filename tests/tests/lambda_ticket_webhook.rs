//! The ticket-webhook Lambda answers a real API Gateway HTTP API (payload 2.0) event, through the
//! same adapter `lambda_http::run` uses, over DynamoDB and Secrets Manager on moto. The fixture's
//! timestamp and signature are placeholders: the signature depends on the time of the run.
use axum::http::{Method, StatusCode};
use herald_core::domain::auth::KeyHash;
use hmac::{KeyInit, Mac};
use lambda_http::Adapter;
use lambda_http::lambda_runtime::{Context, LambdaEvent};
use lambda_http::request::LambdaRequest;
use lambda_http::tower::{Service, ServiceExt};
use serde_json::{Value, json};

const SECRET: &str = "ticket-signing-secret-1";

async fn ticket_webhook_router() -> herald_api::Router {
    let config = herald_tests::moto::sdk_config().await;
    let (_, table) = herald_tests::moto::fresh_table(&config).await;
    let (_, _, group) = herald_tests::moto::fresh_scheduler(&config).await;
    ticket_webhook::app(&herald_aws::AwsConfig {
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

/// The fixture, signed now with `SECRET`.
fn signed_fixture() -> LambdaRequest {
    let path = format!(
        "{}/../infra/events/apigw-v2-ticket-webhook.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
    let body = event["body"].as_str().expect("body").to_owned();
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let headers = &mut event["headers"];
    headers["x-herald-timestamp"] = json!(timestamp);
    headers["x-herald-signature"] = json!(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ));
    serde_json::from_value(event).expect("an API Gateway v2 event")
}

async fn invoke(router: herald_api::Router, event: LambdaRequest) -> Value {
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

fn body_of(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("body")).expect("json body")
}

#[tokio::test]
async fn ticket_webhook_records_a_signed_event_from_an_http_api_v2_event_once() {
    let router = ticket_webhook_router().await;
    let reply = herald_tests::http::call(
        &router,
        Method::PUT,
        "/v1/settings/webhook-sources/sqle",
        Some(herald_tests::ADMIN_TOKEN),
        &json!({"secret": SECRET}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:#}", reply.body);

    let first = invoke(router.clone(), signed_fixture()).await;
    let again = invoke(router.clone(), signed_fixture()).await;

    assert_eq!(first["statusCode"], 202, "{first}");
    let accepted = body_of(&first);
    assert!(accepted["record"].is_string(), "{accepted}");
    // No channel is configured: the event is recorded, nothing is queued.
    assert_eq!(accepted["deliveries"], 0);
    assert_eq!(again["statusCode"], 200, "{again}");
    assert_eq!(body_of(&again), json!({"duplicate": true}));
    let records = herald_tests::http::call(
        &router,
        Method::GET,
        "/v1/projects/payments/records?kind=ticket",
        Some(herald_tests::ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    assert_eq!(records.body["items"][0]["id"], accepted["record"]);
}

#[tokio::test]
async fn ticket_webhook_refuses_the_fixture_with_its_placeholder_signature() {
    let path = format!(
        "{}/../infra/events/apigw-v2-ticket-webhook.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event: LambdaRequest =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("event");
    let response = invoke(ticket_webhook_router().await, event).await;
    assert_eq!(response["statusCode"], 401, "{response}");
}
