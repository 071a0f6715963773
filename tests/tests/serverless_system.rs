//! The AWS path run as AWS runs it: the four Lambda binaries, each polling a Runtime API with the
//! environment template.yaml gives it, against moto (DynamoDB with its Stream, Scheduler, Secrets
//! Manager), the fake providers and a chart server on loopback. A task is created through task-api
//! with API Gateway events; the trigger gets exactly the Input of the schedule moto holds; the
//! delivery function gets the table's stream records that pass the template's filter, in its batch
//! size; the record and its logs are read back through task-api.
use herald_fakes::{Endpoint, FeishuConfig, WecomConfig};
use herald_tests::lambda_runtime::{LambdaFunction, workspace_binary};
use herald_tests::providers::FakeProviders;
use herald_tests::push::{ChartAnswer, ChartServer};
use herald_tests::streams::StreamReader;
use herald_tests::template::{Stack, Template, matches};
use herald_tests::{ADMIN_TOKEN, moto, sample_task};
use serde_json::{Value, json};
use sha2::Digest;

const PROJECT: &str = "payments";

struct System {
    template: Template,
    fakes: FakeProviders,
    charts: ChartServer,
    scheduler: aws_sdk_scheduler::Client,
    stream: StreamReader,
    group: String,
    trigger_arn: String,
    task_api: LambdaFunction,
    trigger: LambdaFunction,
    delivery: LambdaFunction,
}

impl System {
    async fn start() -> Self {
        let sdk = moto::sdk_config().await;
        let (dynamo, table) = moto::fresh_table(&sdk).await;
        let charts = ChartServer::start().await;
        let fakes = FakeProviders::start(
            WecomConfig::default().with_users(["zhangsan", "lisi"]),
            FeishuConfig::default(),
        )
        .await;
        let template = Template::load();
        let name = moto::unique("herald");
        let chart_host = charts
            .url("x")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .expect("host")
            .to_owned();
        let mut stack = Stack {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            parameters: [
                (
                    "AdminTokenSha256".into(),
                    hex::encode(sha2::Sha256::digest(ADMIN_TOKEN)),
                ),
                ("ChartAllowHosts".into(), chart_host),
            ]
            .into(),
            resources: [("HeraldTable".into(), table.clone())].into(),
            attributes: [(
                "SchedulerInvokeRole.Arn".into(),
                format!("arn:aws:iam::123456789012:role/{name}-SchedulerInvokeRole"),
            )]
            .into(),
            name,
        };
        // The schedule group is the stack's: created as CloudFormation would, with its name.
        let group = template.resolve(
            &template.resource("HeraldScheduleGroup")["Properties"]["Name"],
            &stack,
        );
        stack
            .resources
            .insert("HeraldScheduleGroup".into(), group.clone());
        let scheduler = aws_sdk_scheduler::Client::new(&sdk);
        scheduler
            .create_schedule_group()
            .name(&group)
            .send()
            .await
            .expect("create the stack's schedule group");

        // What the Lambda service adds: credentials and region (here moto's), and the fakes'
        // addresses in place of the providers'.
        let aws = [
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_EC2_METADATA_DISABLED",
        ];
        let start = |resource: &'static str, binary: &'static str| {
            let mut env = template.environment(resource, &stack);
            env.extend(
                aws.iter()
                    .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v))),
            );
            env.push(("HERALD_WECOM_BASE_URL".into(), fakes.wecom_url.clone()));
            env.push(("HERALD_FEISHU_BASE_URL".into(), fakes.feishu_url.clone()));
            let (memory, timeout) = (template.memory_mb(resource), template.timeout(resource));
            let function = format!("{}-{binary}", stack.name);
            async move {
                LambdaFunction::start(&function, &workspace_binary(binary), &env, memory, timeout)
                    .await
            }
        };
        let task_api = start("TaskApiFunction", "task-api").await;
        let trigger = start("TriggerFunction", "trigger").await;
        let delivery = start("DeliveryFunction", "delivery").await;
        let trigger_arn = template
            .environment("TriggerFunction", &stack)
            .into_iter()
            .find(|(k, _)| k == "HERALD_TRIGGER_ARN")
            .expect("HERALD_TRIGGER_ARN")
            .1;
        let stream = StreamReader::open(&dynamo, &table).await;
        Self {
            template,
            fakes,
            charts,
            scheduler,
            stream,
            group,
            trigger_arn,
            task_api,
            trigger,
            delivery,
        }
    }

    /// Calls task-api as API Gateway's HTTP API (payload 2.0) does; answers (status, body).
    async fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut headers = json!({
            "accept": "application/json",
            "authorization": format!("Bearer {ADMIN_TOKEN}"),
            "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "x-forwarded-proto": "https",
        });
        if body.is_some() {
            headers["content-type"] = json!("application/json");
        }
        let event = json!({
            "version": "2.0",
            "routeKey": "ANY /v1/{proxy+}",
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "a1b2c3d4e5",
                "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "domainPrefix": "a1b2c3d4e5",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "herald-tests"},
                "requestId": uuid::Uuid::now_v7().to_string(), "routeKey": "ANY /v1/{proxy+}", "stage": "$default",
                "time": "01/Dec/2026:09:00:00 +0000", "timeEpoch": 1_796_115_600_000_u64
            },
            "pathParameters": {"proxy": path.trim_start_matches("/v1/")},
            "body": body.map(Value::to_string),
            "isBase64Encoded": false
        });
        let answer = self.task_api.invoke_ok(event).await;
        let status =
            u16::try_from(answer["statusCode"].as_u64().expect("statusCode")).expect("u16");
        let text = answer["body"].as_str().unwrap_or_default();
        (status, serde_json::from_str(text).unwrap_or(Value::Null))
    }

    /// The stream records written since the last look that the template's filter lets through to
    /// the delivery function, in batches of its BatchSize; answers each batch's response.
    async fn pump_stream(&mut self) -> Vec<Value> {
        let patterns = self.template.filter_patterns("DeliveryFunction", "Outbox");
        let batch_size = self.template.event("DeliveryFunction", "Outbox")["BatchSize"]
            .as_u64()
            .expect("BatchSize") as usize;
        let records: Vec<Value> = self
            .stream
            .read()
            .await
            .into_iter()
            .filter(|r| patterns.iter().any(|p| matches(p, r)))
            .collect();
        let mut responses = Vec::new();
        for batch in records.chunks(batch_size) {
            responses.push(self.delivery.invoke_ok(json!({ "Records": batch })).await);
        }
        responses
    }
}

#[tokio::test]
async fn a_scheduled_task_runs_through_the_four_functions_as_deployed() {
    let mut system = System::start().await;
    system.charts.set("gmv", ChartAnswer::Rows(5));

    // Configure WeCom and create a task through task-api.
    let (status, body) = system
        .api(
            "PUT",
            "/v1/settings/channels/wecom",
            Some(&system.fakes.wecom_settings()),
        )
        .await;
    assert_eq!(status, 200, "{body:#}");
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let mut task = sample_task(&today.format("%Y-%m-%d").to_string());
    task["page"]["charts"] = json!([{"name": "GMV by region", "data_url": system.charts.url("gmv"), "rows": "/data/rows"}]);
    task.as_object_mut().expect("task").remove("alarm_robot");
    let (status, created) = system
        .api(
            "POST",
            &format!("/v1/projects/{PROJECT}/tasks"),
            Some(&task),
        )
        .await;
    assert_eq!(status, 201, "{created:#}");
    let task_id = created["id"].as_str().expect("id").to_owned();

    // The schedule moto holds is the one the stack's trigger and role are for.
    let schedule = system
        .scheduler
        .get_schedule()
        .group_name(&system.group)
        .name(&task_id)
        .send()
        .await
        .expect("the task's schedule");
    assert_eq!(
        schedule.schedule_expression_timezone(),
        Some("Asia/Shanghai")
    );
    let target = schedule.target().expect("target");
    assert_eq!(target.arn(), system.trigger_arn);
    assert!(
        target.role_arn().ends_with("-SchedulerInvokeRole"),
        "{target:?}"
    );
    let input = target.input().expect("input");
    assert!(input.contains("<aws.scheduler.scheduled-time>"), "{input}");

    // Scheduler fires: the trigger gets the Input with the time substituted, twice (at least once).
    let fired = chrono::Utc::now().format("%Y-%m-%dT%H:%M:00Z").to_string();
    let event: Value =
        serde_json::from_str(&input.replace("<aws.scheduler.scheduled-time>", &fired))
            .expect("Input");
    let first = system.trigger.invoke_ok(event.clone()).await;
    assert_eq!(first["outcome"], "sending", "{first}");
    let run_id = first["run_id"].as_str().expect("run_id").to_owned();
    let again = system.trigger.invoke_ok(event).await;
    assert_eq!(again, json!({"duplicate": true}));

    // The stream carries the run's deliveries to the delivery function.
    let responses = system.pump_stream().await;
    assert_eq!(responses.len(), 1, "one batch: {responses:?}");
    assert_eq!(
        responses[0]["batchItemFailures"],
        json!([]),
        "{responses:?}"
    );
    let sent: Vec<_> = system
        .fakes
        .wecom
        .delivered()
        .into_iter()
        .filter(|m| m.endpoint == Endpoint::WecomSend)
        .collect();
    assert_eq!(sent.len(), 2, "the page snapshot, then the card: {sent:#?}");
    assert_eq!(sent[1].recipients, vec!["zhangsan", "lisi"]);
    // The delivery's own writes (sending, delivered) do not pass the filter.
    assert!(system.pump_stream().await.is_empty());

    // The record and its logs through task-api.
    let (status, record) = system
        .api(
            "GET",
            &format!("/v1/projects/{PROJECT}/records/{run_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{record:#}");
    assert_eq!(record["kind"], "scheduled");
    assert_eq!(record["outcome"], "delivered", "{record:#}");
    assert_eq!(record["charts"][0]["rows"], 5);
    let (status, logs) = system
        .api(
            "GET",
            &format!("/v1/projects/{PROJECT}/records/{run_id}/logs"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{logs:#}");
    assert!(
        logs["items"].as_array().is_some_and(|items| !items.is_empty()),
        "{logs:#}"
    );
    let (status, listed) = system
        .api(
            "GET",
            &format!("/v1/projects/{PROJECT}/records?task={task_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed:#}"
    );
}
