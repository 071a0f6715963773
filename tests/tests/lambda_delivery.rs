//! The delivery Lambda's handler over the DynamoDB store on moto, with the provider clients pointed
//! at a fake WeCom: stream records of queued deliveries are sent, other records are ignored, and
//! an event without `Records` is a sweep.
use herald_aws::DynamoStore;
use herald_core::clock::{Clock, SystemClock};
use herald_core::domain::delivery::{Delivery, DeliveryCause, DeliveryId, DeliveryStatus};
use herald_core::domain::message::{OutboundMessage, WecomAppMessage, WecomBody};
use herald_core::domain::recipients::WecomUserId;
use herald_core::ports::DeliveryStore;
use herald_fakes::{FeishuConfig, WecomConfig};
use herald_tests::providers::{FakeProviders, configure};
use herald_tests::push::services_with;
use herald_tests::{adapters_over, moto};
use serde_json::{Value, json};
use std::sync::Arc;

const FIXTURE: &str = include_str!("../../infra/events/dynamodb-stream-delivery-insert.json");
const FIXTURE_ID: &str = "0193a6e4-5f3c-7d6a-9b1e-2c4d5e6f7a8b";

struct Rig {
    fakes: FakeProviders,
    store: Arc<DynamoStore>,
    handler: delivery::Handler,
}

/// An invocation deadline a sweep has time before (lambda's default timeout is longer).
fn in_a_minute() -> tokio::time::Instant {
    tokio::time::Instant::now() + std::time::Duration::from_secs(180)
}

async fn rig() -> Rig {
    let config = moto::sdk_config().await;
    let (client, table) = moto::fresh_table(&config).await;
    let store = Arc::new(DynamoStore::new(client, table));
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["zhangsan"]),
        FeishuConfig::default(),
    )
    .await;
    let scheduler = moto::fresh_scheduler(&config).await.1;
    let services = services_with(
        adapters_over(store.clone(), Arc::new(scheduler), Arc::new(SystemClock)),
        fakes.config(),
    );
    let router = herald_api::router(herald_api::AppState::from(&services));
    configure(&router, "wecom", &fakes.wecom_settings()).await;
    Rig {
        fakes,
        store,
        handler: delivery::Handler::new(services.worker, services.pushes),
    }
}

impl Rig {
    async fn enqueue(&self, text: &str) -> Delivery {
        let d = Delivery::queued(
            DeliveryCause::ChannelTest {
                channel: "wecom".into(),
            },
            OutboundMessage::WecomApp(WecomAppMessage {
                to_users: vec![WecomUserId::parse("zhangsan").expect("user")],
                to_parties: vec![],
                to_tags: vec![],
                body: WecomBody::Text {
                    content: text.to_owned(),
                },
                image: None,
            }),
            SystemClock.now(),
        );
        self.store
            .enqueue(std::slice::from_ref(&d))
            .await
            .expect("enqueue");
        d
    }

    async fn status(&self, id: &DeliveryId) -> DeliveryStatus {
        self.store
            .get_delivery(id)
            .await
            .expect("get")
            .expect("present")
            .status
    }
}

/// The fixture with its delivery id replaced by `id`.
fn stream_event(id: &DeliveryId) -> Value {
    serde_json::from_str(&FIXTURE.replace(FIXTURE_ID, &id.to_string())).expect("fixture json")
}

#[tokio::test]
async fn a_queued_delivery_from_the_stream_is_sent() {
    let rig = rig().await;
    let d = rig.enqueue("from the stream").await;

    let answer = rig
        .handler
        .handle(stream_event(&d.id), in_a_minute())
        .await
        .expect("handle");

    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(rig.status(&d.id).await, DeliveryStatus::Delivered);
    let delivered = rig.fakes.wecom.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].recipients, ["zhangsan"]);

    // The same record again (the stream delivers at least once): nothing is sent twice.
    let again = rig
        .handler
        .handle(stream_event(&d.id), in_a_minute())
        .await
        .expect("handle");
    assert_eq!(again, json!({"batchItemFailures": []}));
    assert_eq!(
        rig.fakes
            .wecom
            .stats()
            .calls_to(herald_fakes::Endpoint::WecomSend),
        1
    );
}

#[tokio::test]
async fn records_that_are_not_queued_deliveries_are_ignored() {
    let rig = rig().await;
    let d = rig.enqueue("left alone").await;
    let mut event = stream_event(&d.id);
    let record = event["Records"][0].clone();

    let mut sending = record.clone();
    sending["dynamodb"]["NewImage"]["status"] = json!({"S": "delivered"});
    let mut removed = record.clone();
    removed["eventName"] = json!("REMOVE");
    let mut task = record.clone();
    task["dynamodb"]["NewImage"]["PK"] = json!({"S": "PROJECT#payments"});
    task["dynamodb"]["Keys"]["PK"] = json!({"S": "PROJECT#payments"});
    let mut no_status = record.clone();
    no_status["dynamodb"]["NewImage"]
        .as_object_mut()
        .expect("image")
        .remove("status");
    event["Records"] = json!([sending, removed, task, no_status]);

    let answer = rig
        .handler
        .handle(event, in_a_minute())
        .await
        .expect("handle");

    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(rig.status(&d.id).await, DeliveryStatus::Queued);
    assert_eq!(rig.fakes.wecom.stats().calls.values().sum::<u64>(), 0);
}

#[tokio::test]
async fn an_event_without_records_sweeps_the_due_deliveries() {
    let rig = rig().await;
    let first = rig.enqueue("swept 1").await;
    let second = rig.enqueue("swept 2").await;

    let answer = rig
        .handler
        .handle(
            json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
            in_a_minute(),
        )
        .await
        .expect("handle");

    assert_eq!(answer, json!({"swept": true, "tried": 2, "settled": 0}));
    assert_eq!(rig.status(&first.id).await, DeliveryStatus::Delivered);
    // The sweep gave its lease back: the next minute's is not turned away.
    assert!(
        rig.store
            .take_lease("sweep", "next", SystemClock.now(), SystemClock.now())
            .await
            .expect("lease")
    );
    assert_eq!(rig.status(&second.id).await, DeliveryStatus::Delivered);
    assert_eq!(rig.fakes.wecom.delivered().len(), 2);
}

/// The schedule fires every minute and a sweep may run for five: a sweep that finds another at
/// work (its lease not ended) leaves, sending nothing, and the one at work goes on.
#[tokio::test]
async fn a_sweep_leaves_while_another_is_at_work() {
    let rig = rig().await;
    let queued = rig.enqueue("for the sweep at work").await;
    let now = SystemClock.now();
    assert!(
        rig.store
            .take_lease(
                "sweep",
                "the sweep at work",
                now,
                now + chrono::Duration::minutes(4)
            )
            .await
            .expect("lease")
    );
    let answer = rig
        .handler
        .handle(json!({"sweep": true}), in_a_minute())
        .await
        .expect("handle");
    assert_eq!(answer, json!({"swept": false, "another_sweep": true}));
    assert_eq!(rig.status(&queued.id).await, DeliveryStatus::Queued);
    assert!(rig.fakes.wecom.delivered().is_empty());
}
