//! The trigger Lambda's handler over the DynamoDB store and EventBridge Scheduler on moto, with the
//! provider clients pointed at a fake WeCom and the task's chart on a loopback chart server: the
//! EventBridge Scheduler invocation fixture runs the task once, a redelivery is a duplicate, and
//! garbage is dropped without an error (a retry could not fix it).
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use herald_aws::DynamoStore;
use herald_core::clock::ManualClock;
use herald_core::services::delivery::DeliveryWorker;
use herald_core::services::runs::PushService;
use herald_fakes::{Endpoint, FeishuConfig, WecomConfig};
use herald_tests::http::call;
use herald_tests::providers::{FakeProviders, configure};
use herald_tests::push::{ChartAnswer, ChartServer, services_with};
use herald_tests::{ADMIN_TOKEN, adapters_over, moto, sample_task};
use serde_json::{Value, json};
use std::sync::Arc;

const FIXTURE: &str = include_str!("../../infra/events/scheduler-trigger.json");
const ROBOT_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

struct Rig {
    fakes: FakeProviders,
    charts: ChartServer,
    router: herald_api::Router,
    pushes: PushService,
    worker: DeliveryWorker,
    clock: Arc<ManualClock>,
}

fn at(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).expect("time").to_utc()
}

async fn rig() -> Rig {
    let config = moto::sdk_config().await;
    let (client, table) = moto::fresh_table(&config).await;
    let store = Arc::new(DynamoStore::new(client, table));
    let scheduler = moto::fresh_scheduler(&config).await.1;
    let clock = Arc::new(ManualClock::new(at("2026-11-25T01:00:00Z")));
    let fakes = FakeProviders::start(
        WecomConfig::default()
            .with_users(["zhangsan", "lisi"])
            .with_robot_key(ROBOT_KEY),
        FeishuConfig::default(),
    )
    .await;
    let services = services_with(
        adapters_over(store, Arc::new(scheduler), clock.clone()),
        fakes.config(),
    );
    let router = herald_api::router(herald_api::AppState::from(&services));
    configure(&router, "wecom", &fakes.wecom_settings()).await;
    Rig {
        fakes,
        charts: ChartServer::start().await,
        router,
        pushes: services.pushes,
        worker: services.worker,
        clock,
    }
}

impl Rig {
    async fn create_task(&self) -> String {
        let mut body = sample_task("2026-12-01");
        body["page"]["charts"] = json!([
            {"name": "GMV by region", "data_url": self.charts.url("gmv"), "rows": "/data/rows"}
        ]);
        let reply = call(
            &self.router,
            Method::POST,
            "/v1/projects/payments/tasks",
            Some(ADMIN_TOKEN),
            &body,
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:#}", reply.body);
        // Scheduler invokes the trigger a few seconds after the fixture's scheduled time.
        self.clock.set(at("2026-12-03T02:00:05Z"));
        reply.body["id"].as_str().expect("id").to_owned()
    }

    async fn get(&self, uri: &str) -> Value {
        let reply = call(
            &self.router,
            Method::GET,
            uri,
            Some(ADMIN_TOKEN),
            &Value::Null,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {:#}", reply.body);
        reply.body
    }
}

fn fixture_for(task: &str) -> Value {
    serde_json::from_str(&FIXTURE.replace("REPLACE_TASK_ID", task)).expect("fixture is JSON")
}

#[tokio::test]
async fn the_scheduler_invocation_fixture_runs_the_task_once_over_dynamodb() {
    let rig = rig().await;
    rig.charts.set("gmv", ChartAnswer::Rows(5));
    let task = rig.create_task().await;
    let event = fixture_for(&task);

    let answer = trigger::handle(&rig.pushes, event.clone())
        .await
        .expect("handled");
    let run_id = answer["run_id"].as_str().expect("run_id").to_owned();
    assert_eq!(answer["outcome"], "sending", "{answer}");
    assert_eq!(answer.as_object().unwrap().len(), 2, "{answer}");

    // Scheduler delivers at least once: the same invocation again is a no-op.
    let again = trigger::handle(&rig.pushes, event).await.expect("handled");
    assert_eq!(again, json!({"duplicate": true}));

    assert_eq!(rig.worker.run_due(100).await.expect("send"), 1);
    let sent: Vec<_> = rig
        .fakes
        .wecom
        .delivered()
        .into_iter()
        .filter(|m| m.endpoint == Endpoint::WecomSend)
        .collect();
    // The page snapshot (stored in DynamoDB, uploaded once) as an image message, then the card.
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(sent[0].msgtype, "image");
    assert_eq!(rig.fakes.wecom.uploads().len(), 1);
    assert_eq!(sent[1].recipients, vec!["zhangsan", "lisi"]);
    // The claim is taken when the run is written, after its charts are read: a redelivery reads
    // them again (extra load on the BI backend) but sends and records nothing.
    assert!(
        (1..=2).contains(&rig.charts.hits("gmv")),
        "the run read its chart"
    );

    let rec = rig
        .get(&format!("/v1/projects/payments/records/{run_id}"))
        .await;
    assert_eq!(rec["kind"], "scheduled");
    assert_eq!(rec["scheduled_for"], "2026-12-03T02:00:00Z");
    assert_eq!(rec["outcome"], "delivered", "{rec:#}");
    assert_eq!(rec["charts"][0]["status"], "ok");
    assert_eq!(rec["charts"][0]["rows"], 5);
    let listed = rig
        .get(&format!("/v1/projects/payments/records?task={task}"))
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn garbage_and_stale_scheduler_events_are_dropped_without_an_error() {
    let rig = rig().await;
    let task = rig.create_task().await;
    for event in [
        json!({"hello": "world"}),
        json!(null),
        json!("2026-12-03T02:00:00Z"),
        json!({"project_id": "payments", "task_id": task, "scheduled_time": "yesterday"}),
        json!({"project_id": "payments", "task_id": "not-a-task", "scheduled_time": "2026-12-03T02:00:00Z"}),
        json!({"project_id": "Bad Project!", "task_id": task, "scheduled_time": "2026-12-03T02:00:00Z"}),
    ] {
        let answer = trigger::handle(&rig.pushes, event.clone())
            .await
            .unwrap_or_else(|err| panic!("{event}: {err}"));
        assert!(answer["ignored"].is_string(), "{event}: {answer}");
    }
    // A task deleted after its schedule fired.
    let gone = fixture_for("01900000-0000-7000-8000-000000000000");
    let answer = trigger::handle(&rig.pushes, gone).await.expect("handled");
    assert_eq!(answer, json!({"task_gone": true}));

    assert_eq!(rig.worker.run_due(100).await.expect("send"), 0);
    assert!(rig.fakes.wecom.delivered().is_empty());
    assert_eq!(rig.charts.total_hits(), 0);
    let listed = rig.get("/v1/projects/payments/records").await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn a_disabled_task_fired_by_the_scheduler_is_recorded_as_skipped_and_sends_nothing() {
    let rig = rig().await;
    let task = rig.create_task().await;
    let disabled = call(
        &rig.router,
        Method::POST,
        &format!("/v1/projects/payments/tasks/{task}/disable"),
        Some(ADMIN_TOKEN),
        &json!({"confirm": true}),
    )
    .await;
    assert_eq!(disabled.status, StatusCode::OK, "{:#}", disabled.body);

    let answer = trigger::handle(&rig.pushes, fixture_for(&task))
        .await
        .expect("handled");
    assert_eq!(answer["outcome"], "skipped", "{answer}");
    let rec = rig
        .get(&format!(
            "/v1/projects/payments/records/{}",
            answer["run_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(rec["reason"], "the task is disabled");
    assert_eq!(rig.worker.run_due(100).await.expect("send"), 0);
    assert!(rig.fakes.wecom.delivered().is_empty());
    assert_eq!(rig.charts.total_hits(), 0);
}
