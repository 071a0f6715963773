//! Push tasks through the API over the AWS adapters (DynamoDB and EventBridge Scheduler on moto):
//! the schedule follows the task, and a failure on either side leaves nothing half written.
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::{Method, StatusCode};
use herald_aws::DynamoStore;
use herald_core::clock::SystemClock;
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::domain::task::PushTask;
use herald_core::ports::{Page, ScheduleGateway, StoreError, TaskStore};
use herald_tests::http::call;
use herald_tests::{
    ADMIN_TOKEN, adapters_over, app_over, app_with, moto, sample_task, unreachable_providers,
};
use serde_json::Value;
use std::sync::Arc;

const TASKS: &str = "/v1/projects/payments/tasks";

async fn schedule_state(
    client: &aws_sdk_scheduler::Client,
    group: &str,
    task: &str,
) -> Option<String> {
    match client
        .get_schedule()
        .name(task)
        .group_name(group)
        .send()
        .await
    {
        Ok(out) => out.state().map(|s| s.as_str().to_owned()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(err) => panic!("get_schedule: {err:?}"),
    }
}

#[tokio::test]
async fn the_schedule_follows_the_task_from_create_to_delete() {
    let config = moto::sdk_config().await;
    let (dynamo, table) = moto::fresh_table(&config).await;
    let (client, scheduler, group) = moto::fresh_scheduler(&config).await;
    let router = app_over(
        Arc::new(DynamoStore::new(dynamo, table)),
        Arc::new(scheduler),
        Arc::new(SystemClock),
    );

    let created = call(
        &router,
        Method::POST,
        TASKS,
        Some(ADMIN_TOKEN),
        &sample_task("2030-01-01"),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let schedule = client
        .get_schedule()
        .name(&id)
        .group_name(&group)
        .send()
        .await
        .expect("schedule");
    assert_eq!(
        schedule.schedule_expression(),
        Some("cron(0 10 ? * MON,THU *)")
    );
    assert_eq!(
        schedule_state(&client, &group, &id).await.as_deref(),
        Some("ENABLED")
    );

    let task_uri = format!("{TASKS}/{id}");
    let disabled = call(
        &router,
        Method::POST,
        &format!("{task_uri}/disable"),
        Some(ADMIN_TOKEN),
        &serde_json::json!({"confirm": true}),
    )
    .await;
    assert_eq!(disabled.status, StatusCode::OK, "{:?}", disabled.body);
    assert_eq!(disabled.body["state"], "disabled");
    assert_eq!(
        schedule_state(&client, &group, &id).await.as_deref(),
        Some("DISABLED")
    );

    let enabled = call(
        &router,
        Method::POST,
        &format!("{task_uri}/enable"),
        Some(ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    assert_eq!(enabled.status, StatusCode::OK);
    assert_eq!(
        schedule_state(&client, &group, &id).await.as_deref(),
        Some("ENABLED")
    );

    let mut body = sample_task("2030-01-01");
    body["schedule"] = serde_json::json!({"every": "day", "at": "08:30", "timezone": "Europe/Berlin", "start": "2030-01-01"});
    body["version"] = enabled.body["version"].clone();
    let replaced = call(&router, Method::PUT, &task_uri, Some(ADMIN_TOKEN), &body).await;
    assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.body);
    let schedule = client
        .get_schedule()
        .name(&id)
        .group_name(&group)
        .send()
        .await
        .expect("schedule");
    assert_eq!(schedule.schedule_expression(), Some("cron(30 8 * * ? *)"));
    assert_eq!(
        schedule.schedule_expression_timezone(),
        Some("Europe/Berlin")
    );

    let deleted = call(
        &router,
        Method::DELETE,
        &task_uri,
        Some(ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(schedule_state(&client, &group, &id).await, None);
    let gone = call(
        &router,
        Method::GET,
        &task_uri,
        Some(ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failed_schedule_call_writes_no_task() {
    let config = moto::sdk_config().await;
    let (dynamo, table) = moto::fresh_table(&config).await;
    // A schedule group that does not exist: every schedule call fails.
    let scheduler = herald_aws::EventBridgeScheduler::new(
        aws_sdk_scheduler::Client::new(&config),
        herald_aws::SchedulerTarget {
            group: moto::unique("missing"),
            trigger_arn: "arn:aws:lambda:us-east-1:123456789012:function:herald-trigger".into(),
            role_arn: "arn:aws:iam::123456789012:role/herald-scheduler".into(),
            dead_letter_arn: None,
            flexible_window_minutes: 0,
        },
    );
    let router = app_over(
        Arc::new(DynamoStore::new(dynamo, table)),
        Arc::new(scheduler),
        Arc::new(SystemClock),
    );

    let created = call(
        &router,
        Method::POST,
        TASKS,
        Some(ADMIN_TOKEN),
        &sample_task("2030-01-01"),
    )
    .await;
    assert!(created.status.is_server_error(), "{:?}", created.body);
    assert_eq!(created.code(), Some("unavailable"));

    let listed = call(&router, Method::GET, TASKS, Some(ADMIN_TOKEN), &Value::Null).await;
    assert_eq!(listed.body["items"], serde_json::json!([]));
}

/// A DynamoDB store whose task writes fail (as when DynamoDB throttles), everything else real.
struct FailingWrites(DynamoStore);

#[async_trait]
impl TaskStore for FailingWrites {
    async fn insert_task(&self, _task: &PushTask) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("throttled".into()))
    }
    async fn get_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
    ) -> Result<Option<PushTask>, StoreError> {
        self.0.get_task(project, id).await
    }
    async fn list_tasks(
        &self,
        project: &ProjectId,
        after: Option<&TaskId>,
        limit: usize,
    ) -> Result<Page<PushTask>, StoreError> {
        self.0.list_tasks(project, after, limit).await
    }
    async fn replace_task(
        &self,
        _task: &PushTask,
        _expected_version: u64,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable("throttled".into()))
    }
    async fn delete_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.0.delete_task(project, id, expected_version).await
    }
}

#[tokio::test]
async fn a_failed_task_write_removes_the_schedule_it_created() {
    let config = moto::sdk_config().await;
    let (dynamo, table) = moto::fresh_table(&config).await;
    let (client, scheduler, group) = moto::fresh_scheduler(&config).await;
    let mut adapters = adapters_over(
        Arc::new(DynamoStore::new(dynamo.clone(), table.clone())),
        Arc::new(scheduler),
        Arc::new(SystemClock),
    );
    adapters.tasks = Arc::new(FailingWrites(DynamoStore::new(dynamo, table)));
    let router = app_with(adapters, unreachable_providers()).0;

    let created = call(
        &router,
        Method::POST,
        TASKS,
        Some(ADMIN_TOKEN),
        &sample_task("2030-01-01"),
    )
    .await;
    assert_eq!(
        created.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        created.body
    );

    let schedules = client
        .list_schedules()
        .group_name(&group)
        .send()
        .await
        .expect("list schedules");
    assert!(
        schedules.schedules().is_empty(),
        "no schedule may outlive a task that was not written"
    );
}

#[tokio::test]
async fn a_failed_task_update_puts_the_schedule_back() {
    let config = moto::sdk_config().await;
    let (dynamo, table) = moto::fresh_table(&config).await;
    let (client, scheduler, group) = moto::fresh_scheduler(&config).await;
    let scheduler: Arc<dyn ScheduleGateway> = Arc::new(scheduler);
    let healthy = app_over(
        Arc::new(DynamoStore::new(dynamo.clone(), table.clone())),
        scheduler.clone(),
        Arc::new(SystemClock),
    );
    let created = call(
        &healthy,
        Method::POST,
        TASKS,
        Some(ADMIN_TOKEN),
        &sample_task("2030-01-01"),
    )
    .await;
    let id = created.body["id"].as_str().expect("id").to_owned();

    let mut adapters = adapters_over(
        Arc::new(DynamoStore::new(dynamo.clone(), table.clone())),
        scheduler,
        Arc::new(SystemClock),
    );
    adapters.tasks = Arc::new(FailingWrites(DynamoStore::new(dynamo, table)));
    let failing = app_with(adapters, unreachable_providers()).0;
    let disabled = call(
        &failing,
        Method::POST,
        &format!("{TASKS}/{id}/disable"),
        Some(ADMIN_TOKEN),
        &serde_json::json!({"confirm": true}),
    )
    .await;
    assert_eq!(
        disabled.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{:?}",
        disabled.body
    );

    assert_eq!(
        schedule_state(&client, &group, &id).await.as_deref(),
        Some("ENABLED"),
        "schedule back in step with the task"
    );
    let task = call(
        &healthy,
        Method::GET,
        &format!("{TASKS}/{id}"),
        Some(ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    assert_eq!(task.body["state"], "enabled");
    assert_eq!(task.body["version"], 1);
}

/// An e-mail push of a large page (12 tables of 50 long rows: each mail near its size cap) to
/// 1,000 addresses, on DynamoDB's real limits (scripts/moto_limits.py), delivers every mail: the
/// body is stored once for the run (a delivery's item holds its address and the body's id), so
/// the run's items and transactions stay small whatever the number of recipients (each delivery
/// carried its own ~130 KB body, 90 to a transaction: DynamoDB refused 9 MB and no mail went out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_push_of_a_large_page_to_a_thousand_addresses_delivers_every_mail() {
    use herald_fakes::{FeishuConfig, WecomConfig};
    use herald_tests::providers::{FakeProviders, configure};
    use herald_tests::push::{ChartAnswer, ChartServer};
    let config = moto::sdk_config().await;
    let (dynamo, table) = moto::fresh_table(&config).await;
    let (_client, scheduler, _group) = moto::fresh_scheduler(&config).await;
    let fakes = FakeProviders::start(WecomConfig::default(), FeishuConfig::default()).await;
    let charts = ChartServer::start().await;
    let adapters = adapters_over(
        Arc::new(DynamoStore::new(dynamo.clone(), table.clone())),
        Arc::new(scheduler),
        Arc::new(SystemClock),
    );
    let (router, worker) = app_with(adapters, fakes.config());
    configure(&router, "smtp", &fakes.smtp_settings()).await;
    let mut body = sample_task("2030-01-01");
    body["channel"] = serde_json::json!("email");
    body["owner"] = serde_json::json!({"email": "owner@example.com"});
    // 1,000 in `make bench`'s figures; moto answers each call in time growing with the table,
    // so the suite sends fewer (more than a transaction's and a page's worth).
    let readers: usize = std::env::var("HERALD_TEST_READERS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let emails: Vec<String> = (0..readers)
        .map(|i| format!("reader{i}@example.com"))
        .collect();
    body["recipients"] = serde_json::json!({"emails": emails});
    // 50 rows of four long text cells: each table fills the mail's share of its size cap.
    let rows: Vec<Value> = (0..50)
        .map(|i| {
            serde_json::json!({"region": format!("华东大区第{i}分部（上海、杭州、南京、苏州、宁波、合肥）"),
                               "channel": format!("线上旗舰店与线下门店渠道编号{i:04}"),
                               "manager": format!("区域负责人张三李四王五{i}号"),
                               "note": "本周环比增长主要来自会员复购与新客转化，详情见看板",
                               "gmv": 1_000_000 + i})
        })
        .collect();
    let doc: &'static str = Box::leak(
        serde_json::json!({"data": {"rows": rows}})
            .to_string()
            .into_boxed_str(),
    );
    body["page"]["charts"] = (0..12)
        .map(|i| {
            let name = format!("table{i}");
            charts.set(&name, ChartAnswer::Json(doc));
            serde_json::json!({"name": format!("Orders by region {i}"), "data_url": charts.url(&name),
                               "rows": "/data/rows", "display": "table", "max_rows": 50})
        })
        .collect();
    let created = call(&router, Method::POST, TASKS, Some(ADMIN_TOKEN), &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let id = created.body["id"].as_str().expect("id");
    let started = std::time::Instant::now();
    let pushed = call(
        &router,
        Method::POST,
        &format!("{TASKS}/{id}/push"),
        Some(ADMIN_TOKEN),
        &serde_json::json!({"confirm": true}),
    )
    .await;
    assert_eq!(pushed.status, StatusCode::ACCEPTED, "{:#}", pushed.body);
    assert_eq!(
        pushed.body["delivery_count"], readers,
        "every mail is queued"
    );
    // moto answers one call at a time, slower as the table grows: ~0.7 s a mail at 1,000.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1_800);
    while fakes.smtp.messages().len() < readers && tokio::time::Instant::now() < deadline {
        eprintln!(
            "{:?}: {} mails",
            started.elapsed(),
            fakes.smtp.messages().len()
        );
        let swept = worker.sweep(500, 32, deadline).await.expect("sweep");
        if swept.tried == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
    let mails = fakes.smtp.messages();
    if mails.len() < readers {
        let run =
            herald_core::domain::run::RunId::parse(pushed.body["id"].as_str().expect("run id"))
                .expect("run id");
        let ids: Vec<_> = (0..readers as u32)
            .map(|seq| herald_core::domain::delivery::DeliveryId::of_run(&run, seq))
            .collect();
        let store = DynamoStore::new(dynamo.clone(), table.clone());
        let mut states = std::collections::BTreeMap::new();
        for d in herald_core::ports::DeliveryStore::get_deliveries(&store, &ids)
            .await
            .expect("deliveries")
        {
            *states
                .entry(format!("{:?} after {} attempts", d.status, d.attempts))
                .or_insert(0) += 1;
        }
        println!("undelivered: {states:#?}");
    }
    assert_eq!(mails.len(), readers, "every mail is delivered");
    let largest = mails.iter().map(|m| m.data.len()).max().unwrap_or(0);
    assert!(largest > 60_000, "the mails are large: {largest} bytes");
    let stats: Value = reqwest::get(format!(
        "{}/herald-limits/stats?table={table}",
        std::env::var("AWS_ENDPOINT_URL").expect("moto")
    ))
    .await
    .expect("limits stats")
    .json()
    .await
    .expect("stats");
    let run = pushed.body["id"].as_str().expect("run id");
    let run = herald_core::domain::run::RunId::parse(run).expect("run id");
    let delivery = herald_core::domain::delivery::DeliveryId::of_run(&run, 0);
    let item = dynamo
        .get_item()
        .table_name(&table)
        .key("PK", AttributeValue::S(format!("DELIVERY#{delivery}")))
        .key("SK", AttributeValue::S("DELIVERY".into()))
        .send()
        .await
        .expect("delivery item")
        .item
        .expect("delivery item");
    let delivery_bytes: usize = item
        .iter()
        .map(|(name, value)| name.len() + value.as_s().map_or(8, String::len))
        .sum();
    println!(
        "{readers} mails of up to {largest} bytes; a delivery's item {delivery_bytes} bytes; \
         this table's largest writes: {stats}"
    );
    let (item, transaction) = (
        stats["largest_item"].as_u64().expect("item"),
        stats["largest_transaction"].as_u64().expect("transaction"),
    );
    // The body is kept once: a delivery holds its address, not a 130 KB copy.
    assert!(
        delivery_bytes < 4096,
        "a delivery's item: {delivery_bytes} bytes"
    );
    // The largest item is a picture's part (350 KB), under DynamoDB's 400 KB.
    assert!(item <= 400 * 1024, "largest item {item} bytes");
    assert!(
        transaction < 1024 * 1024,
        "largest transaction {transaction} bytes"
    );
}
