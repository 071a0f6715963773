//! The AWS path run as AWS runs it: the four Lambda binaries, each polling a Runtime API with the
//! environment template.yaml gives it, against moto (DynamoDB with its Stream, Scheduler, Secrets
//! Manager), the fake providers and a chart server on loopback. A task is created through task-api
//! with API Gateway events; the trigger gets exactly the Input of the schedule moto holds; the
//! delivery function gets the table's stream records that pass the template's filter, in its batch
//! size; the record and its logs are read back through task-api.
use herald_fakes::{Endpoint, Fault, FaultRule, FeishuConfig, WecomConfig};
use herald_tests::aws_proxy::FaultyAws;
use herald_tests::lambda_runtime::{LambdaFunction, workspace_binary};
use herald_tests::providers::FakeProviders;
use herald_tests::push::{ChartAnswer, ChartServer};
use herald_tests::streams::StreamReader;
use herald_tests::table_access::{self, Access, KeySchema};
use herald_tests::template::{Stack, Template, log_line_matches, matches};
use herald_tests::{ADMIN_TOKEN, moto, sample_task};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Digest;

const PROJECT: &str = "payments";
const TICKET_SECRET: &str = "ticket-signing-secret-1";
const TICKET_FIXTURE: &str = include_str!("../../infra/events/apigw-v2-ticket-webhook.json");

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
    ticket_webhook: LambdaFunction,
    delivery_store: FaultyAws,
    /// ticket-webhook's and the trigger's ways to the table: they record the calls, to check them
    /// against the functions' policies.
    webhook_store: FaultyAws,
    trigger_store: FaultyAws,
    dynamo: aws_sdk_dynamodb::Client,
    stack: Stack,
    table: String,
}

impl System {
    async fn start() -> Self {
        let sdk = moto::sdk_config().await;
        let (dynamo, table) = moto::fresh_table(&sdk).await;
        let charts = ChartServer::start().await;
        let fakes = FakeProviders::start(
            WecomConfig::default().with_users(["zhangsan", "lisi", "wang", "admin", "t1"]),
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
            attributes: [
                (
                    "SchedulerInvokeRole.Arn".into(),
                    format!("arn:aws:iam::123456789012:role/{name}-SchedulerInvokeRole"),
                ),
                (
                    "HeraldTable.Arn".into(),
                    format!("arn:aws:dynamodb:us-east-1:123456789012:table/{table}"),
                ),
                (
                    "MissedRunsQueue.Arn".into(),
                    format!("arn:aws:sqs:us-east-1:123456789012:{name}-MissedRunsQueue"),
                ),
            ]
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
        // The delivery function reaches moto through a proxy that can fail its requests.
        let moto_url = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
        let delivery_store = FaultyAws::start(&moto_url).await;
        let webhook_store = FaultyAws::start(&moto_url).await;
        let trigger_store = FaultyAws::start(&moto_url).await;
        let start = |resource: &'static str, binary: &'static str| {
            let mut env = template.environment(resource, &stack);
            env.extend(
                aws.iter()
                    .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_owned(), v))),
            );
            let proxy = match resource {
                "DeliveryFunction" => Some(&delivery_store),
                "TicketWebhookFunction" => Some(&webhook_store),
                "TriggerFunction" => Some(&trigger_store),
                _ => None,
            };
            if let Some(proxy) = proxy {
                env.retain(|(k, _)| k != "AWS_ENDPOINT_URL");
                env.push(("AWS_ENDPOINT_URL".into(), proxy.url.clone()));
            }
            env.push(("HERALD_WECOM_BASE_URL".into(), fakes.wecom_url.clone()));
            env.push(("HERALD_FEISHU_BASE_URL".into(), fakes.feishu_url.clone()));
            env.push((
                "HERALD_DINGTALK_BASE_URL".into(),
                fakes.dingtalk_url.clone(),
            ));
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
        let ticket_webhook = start("TicketWebhookFunction", "ticket-webhook").await;
        let trigger_arn = template
            .environment("TriggerFunction", &stack)
            .into_iter()
            .find(|(k, _)| k == "HERALD_TRIGGER_ARN")
            .expect("HERALD_TRIGGER_ARN")
            .1;
        let stream = StreamReader::open(&dynamo, &table).await;
        let table = table.clone();
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
            ticket_webhook,
            delivery_store,
            webhook_store,
            trigger_store,
            dynamo,
            stack,
            table,
        }
    }

    /// Calls task-api as API Gateway's HTTP API (payload 2.0) does, with the admin key; answers
    /// (status, body).
    async fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let auth = [("authorization", format!("Bearer {ADMIN_TOKEN}"))];
        let event = http_api_event(
            method,
            path,
            "ANY /v1/{proxy+}",
            &auth,
            body.map(Value::to_string),
        );
        answer_of(self.task_api.invoke_ok(event).await)
    }

    /// The table calls `function` made through `store`, read as IAM reads them, after checking
    /// that its grants in the template allow each one (moto authorises nothing; IAM would);
    /// answers the calls and the grants.
    fn table_calls_within_grants(
        &self,
        function: &str,
        store: &FaultyAws,
    ) -> (Vec<Access>, Vec<table_access::Grant>) {
        let schema = KeySchema::of(&self.template, &self.stack.attributes["HeraldTable.Arn"]);
        let grants = table_access::grants(&self.template, function, &self.stack);
        let asked: Vec<Access> = store
            .calls()
            .iter()
            .filter(|(target, _)| target.starts_with("DynamoDB_"))
            .flat_map(|(target, body)| schema.accesses(target, body))
            .collect();
        let refused: Vec<&Access> = asked
            .iter()
            .filter(|access| !grants.iter().any(|g| g.allows(access)))
            .collect();
        assert!(
            refused.is_empty(),
            "IAM would refuse {function} {refused:#?}"
        );
        (asked, grants)
    }

    /// GETs `path` through task-api and expects 200; answers the body.
    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.api("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {body:#}");
        body
    }

    /// The configuration of an engine a user would set up first: WeCom on, and the task's chart.
    async fn configure_wecom(&self) {
        let settings = self.fakes.wecom_settings();
        let (status, body) = self
            .api("PUT", "/v1/settings/channels/wecom", Some(&settings))
            .await;
        assert_eq!(status, 200, "{body:#}");
    }

    /// Creates a task through task-api (the sample task, its chart on the chart server, starting
    /// today); answers its id.
    async fn create_task(&self, edit: impl FnOnce(&mut Value)) -> String {
        let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
        let mut task = sample_task(&today.format("%Y-%m-%d").to_string());
        task["page"]["charts"] = json!([{"name": "GMV by region", "data_url": self.charts.url("gmv"), "rows": "/data/rows"}]);
        task.as_object_mut().expect("task").remove("alarm_robot");
        edit(&mut task);
        let (status, created) = self
            .api(
                "POST",
                &format!("/v1/projects/{PROJECT}/tasks"),
                Some(&task),
            )
            .await;
        assert_eq!(status, 201, "{created:#}");
        created["id"].as_str().expect("id").to_owned()
    }

    async fn schedule(
        &self,
        task: &str,
    ) -> aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput {
        self.scheduler
            .get_schedule()
            .group_name(&self.group)
            .name(task)
            .send()
            .await
            .expect("the task's schedule")
    }

    /// Fires the task's schedule as Scheduler does: the trigger gets the schedule's Input with the
    /// scheduled time substituted.
    async fn fire(&self, task: &str, at: chrono::DateTime<chrono::Utc>) -> Value {
        let schedule = self.schedule(task).await;
        let input = schedule.target().and_then(|t| t.input()).expect("input");
        let at = at.format("%Y-%m-%dT%H:%M:00Z").to_string();
        let event = serde_json::from_str(&input.replace("<aws.scheduler.scheduled-time>", &at));
        self.trigger.invoke_ok(event.expect("Input is JSON")).await
    }

    /// Messages the fake WeCom app API accepted.
    fn wecom_sent(&self) -> Vec<herald_fakes::AcceptedMessage> {
        let sent = self.fakes.wecom.delivered().into_iter();
        sent.filter(|m| m.endpoint == Endpoint::WecomSend).collect()
    }

    /// The stream records written since the last look that the template's filter lets through to
    /// the delivery function, in batches of its BatchSize.
    async fn stream_batches(&mut self) -> Vec<Vec<Value>> {
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
        records.chunks(batch_size).map(<[Value]>::to_vec).collect()
    }

    /// Feeds the stream's new batches to the delivery function; answers each batch's response.
    async fn pump_stream(&mut self) -> Vec<Value> {
        let mut responses = Vec::new();
        for batch in self.stream_batches().await {
            responses.push(self.delivery.invoke_ok(json!({ "Records": batch })).await);
        }
        responses
    }
}

#[tokio::test]
async fn a_scheduled_task_runs_through_the_four_functions_as_deployed() {
    let mut system = System::start().await;
    system.charts.set("gmv", ChartAnswer::Rows(5));

    system.configure_wecom().await;
    let task_id = system.create_task(|_| {}).await;

    // The schedule moto holds is the one the stack's trigger and role are for.
    let schedule = system.schedule(&task_id).await;
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
    // A firing Scheduler cannot hand to the trigger goes to the stack's missed-runs queue.
    let dead_letters = target.dead_letter_config().and_then(|d| d.arn());
    assert!(
        dead_letters.is_some_and(|arn| arn.ends_with("-MissedRunsQueue")),
        "{target:?}"
    );
    let retry = target.retry_policy().expect("retry policy");
    assert_eq!(retry.maximum_event_age_in_seconds(), Some(3600));

    // Scheduler fires, and delivers at least once: the same invocation twice is one run.
    let now = chrono::Utc::now();
    let first = system.fire(&task_id, now).await;
    assert_eq!(first["outcome"], "sending", "{first}");
    let run_id = first["run_id"].as_str().expect("run_id").to_owned();
    let again = system.fire(&task_id, now).await;
    assert_eq!(again, json!({"duplicate": true}));

    // The stream carries the run's deliveries to the delivery function.
    let responses = system.pump_stream().await;
    assert_eq!(responses.len(), 1, "one batch: {responses:?}");
    assert_eq!(
        responses[0]["batchItemFailures"],
        json!([]),
        "{responses:?}"
    );
    let sent = system.wecom_sent();
    assert_eq!(sent.len(), 2, "the page snapshot, then the card: {sent:#?}");
    assert_eq!(sent[1].recipients, vec!["zhangsan", "lisi"]);
    // The delivery's own writes (sending, delivered) do not pass the filter.
    assert!(system.pump_stream().await.is_empty());

    // The record and its logs through task-api.
    let record = system
        .get(&format!("/v1/projects/{PROJECT}/records/{run_id}"))
        .await;
    assert_eq!(record["kind"], "scheduled");
    assert_eq!(record["outcome"], "delivered", "{record:#}");
    assert_eq!(record["charts"][0]["rows"], 5);
    let logs = system
        .get(&format!("/v1/projects/{PROJECT}/records/{run_id}/logs"))
        .await;
    assert!(
        logs["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty()),
        "{logs:#}"
    );
    let listed = system
        .get(&format!("/v1/projects/{PROJECT}/records?task={task_id}"))
        .await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed:#}"
    );

    // Each function's init (process start to its first request for work), for the record.
    for function in [
        &system.task_api,
        &system.trigger,
        &system.delivery,
        &system.ticket_webhook,
    ] {
        let init = function.init_time().expect("the function asked for work");
        eprintln!("init of {}: {} ms", function.name, init.as_millis());
    }

    // The template asks for JSON logs: every line every function wrote is a JSON object.
    for function in [&system.task_api, &system.trigger, &system.delivery] {
        let logs = function.logs();
        assert!(!logs.is_empty(), "{} logged", function.name);
        for line in logs {
            let parsed: Result<Value, _> = serde_json::from_str(&line);
            assert!(
                parsed.is_ok_and(|v| v.is_object()),
                "{}: {line}",
                function.name
            );
        }
    }
}

#[tokio::test]
async fn a_provider_failure_is_retried_at_its_backoff_or_by_the_sweep_and_three_failed_runs_disable_the_schedule()
 {
    let mut system = System::start().await;
    system.configure_wecom().await;
    system.charts.set("gmv", ChartAnswer::Rows(3));
    let task_id = system
        .create_task(|task| {
            task["exception_control"]["access_error"] =
                json!({"range": ["fully"], "pause": true, "alarm": false});
        })
        .await;

    // WeCom answers 502 once: the stream's attempt re-queues the delivery (no batch failure: the
    // outcome was recorded). The re-queued write comes back on the stream, and that invocation
    // waits for the retry's time: the retry goes out at its backoff, not at the next sweep.
    system
        .fakes
        .wecom
        .inject(FaultRule::next(1, Fault::Http { status: 502 }).on(Endpoint::WecomSend));
    let now = chrono::Utc::now();
    let run = system
        .fire(&task_id, now - chrono::Duration::minutes(3))
        .await;
    let run_id = run["run_id"].as_str().expect("run_id").to_owned();
    let responses = system.pump_stream().await;
    assert_eq!(responses.len(), 1, "{responses:?}");
    assert_eq!(
        responses[0]["batchItemFailures"],
        json!([]),
        "{responses:?}"
    );
    assert!(system.wecom_sent().is_empty(), "the first attempt failed");
    let retried = system.pump_stream().await;
    assert_eq!(retried[0]["batchItemFailures"], json!([]), "{retried:?}");
    assert_eq!(
        system.wecom_sent().len(),
        2,
        "the retry went out from the stream: {}",
        system.delivery.logs().join("\n")
    );

    // A re-queued delivery whose stream record is gone (the event source gave up on it) is sent
    // by the sweep, invoked with the template's own Input.
    system
        .fakes
        .wecom
        .inject(FaultRule::next(1, Fault::Http { status: 502 }).on(Endpoint::WecomSend));
    system.charts.set("gmv", ChartAnswer::Rows(4));
    let second = system
        .fire(&task_id, now - chrono::Duration::minutes(4))
        .await;
    assert_eq!(second["outcome"], "sending", "{second}");
    system.pump_stream().await;
    let lost = system.stream_batches().await;
    assert_eq!(
        lost.len(),
        1,
        "the re-queued write, not fed to the function"
    );
    let sweep: Value = serde_json::from_str(
        system.template.event("DeliveryFunction", "Sweep")["Input"]
            .as_str()
            .expect("the sweep's Input"),
    )
    .expect("Input is JSON");
    let mut delivered = false;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        system.delivery.invoke_ok(sweep.clone()).await;
        if system.wecom_sent().len() == 4 {
            delivered = true;
            break;
        }
    }
    assert!(
        delivered,
        "the sweep sent the re-queued delivery: {:#?}",
        system.wecom_sent()
    );
    let record = system
        .get(&format!("/v1/projects/{PROJECT}/records/{run_id}"))
        .await;
    assert_eq!(record["outcome"], "delivered", "{record:#}");

    // The chart fails three times in a row: the third failed run stops the task, and the trigger
    // disables its schedule in Scheduler.
    system.charts.set("gmv", ChartAnswer::Status(500));
    for minutes in [2, 1, 0] {
        let run = system
            .fire(&task_id, now - chrono::Duration::minutes(minutes))
            .await;
        assert_eq!(run["outcome"], "paused", "{run}");
    }
    let schedule = system.schedule(&task_id).await;
    assert_eq!(schedule.state().map(|s| s.as_str()), Some("DISABLED"));
    let task = system
        .get(&format!("/v1/projects/{PROJECT}/tasks/{task_id}"))
        .await;
    assert_eq!(task["state"], "stopped", "{task:#}");
}

/// DynamoDB throttles and cancels transactions (TransactionConflict) on 5% of the table's calls
/// (scripts/moto_limits.py) while ten scheduled runs go through the trigger, the stream and the
/// sweep with Lambda's own retries (an asynchronous invocation twice more, a stream batch from its
/// failed record on): every run is delivered, and each message went out once.
#[tokio::test]
async fn store_faults_on_five_percent_of_calls_lose_nothing_and_send_nothing_twice() {
    const RUNS: usize = 10;
    let mut system = System::start().await;
    system.configure_wecom().await;
    let mut tasks = Vec::new();
    for i in 0..RUNS {
        let chart = format!("region{i}");
        system.charts.set(&chart, ChartAnswer::Rows(2 + i));
        let url = system.charts.url(&chart);
        tasks.push(
            system
                .create_task(|task| {
                    task["page"]["title"] = json!(format!("Sales of region {i}"));
                    task["page"]["charts"][0]["data_url"] = json!(url);
                })
                .await,
        );
    }
    let moto = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let faults = |body: Value| {
        let url = format!("{moto}/herald-limits/faults");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .expect("faults set");
        }
    };
    faults(json!({"table": system.table, "throttle": 0.05, "cancel": 0.05, "seed": 7})).await;

    let now = chrono::Utc::now();
    let mut runs = Vec::new();
    for task in &tasks {
        let schedule = system.schedule(task).await;
        let input = schedule.target().and_then(|t| t.input()).expect("input");
        let at = now.format("%Y-%m-%dT%H:%M:00Z").to_string();
        let event: Value =
            serde_json::from_str(&input.replace("<aws.scheduler.scheduled-time>", &at))
                .expect("json");
        // Lambda invokes an asynchronous event up to three times (EventInvokeConfig).
        let mut answer = None;
        for _ in 0..3 {
            if let Ok(done) = system.trigger.invoke(event.clone()).await {
                answer = Some(done);
                break;
            }
        }
        let answer = answer.expect("the run was written within Lambda's three tries");
        runs.push(answer["run_id"].as_str().expect("run id").to_owned());
    }

    // The stream: a batch with failed records is given again from its first failed record on.
    for _ in 0..10 {
        let mut failed_again = false;
        for batch in system.stream_batches().await {
            let mut pending = batch;
            for _ in 0..10 {
                let response = system
                    .delivery
                    .invoke_ok(json!({ "Records": pending }))
                    .await;
                let failures = response["batchItemFailures"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let Some(first) = failures.first() else { break };
                let from = pending
                    .iter()
                    .position(|r| r["dynamodb"]["SequenceNumber"] == first["itemIdentifier"])
                    .expect("a failed record of the batch");
                pending = pending[from..].to_vec();
                failed_again = true;
            }
        }
        if !failed_again && system.stream_batches().await.is_empty() {
            break;
        }
    }
    // What is left (leases of attempts whose outcome could not be written, retries) is the sweep's.
    let mut outcomes = Vec::new();
    for _ in 0..40 {
        outcomes.clear();
        for run in &runs {
            let (status, record) = system
                .api(
                    "GET",
                    &format!("/v1/projects/{PROJECT}/records/{run}"),
                    None,
                )
                .await;
            outcomes.push(if status == 200 {
                record["outcome"].clone()
            } else {
                json!(status)
            });
        }
        if outcomes.iter().all(|o| o == "delivered") {
            break;
        }
        let _ = system.delivery.invoke(json!({"sweep": true})).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    faults(json!({"table": system.table})).await;
    assert!(
        outcomes.iter().all(|o| o == "delivered"),
        "{outcomes:?}; delivery logs:\n{}",
        system.delivery.logs().join("\n")
    );
    // Each run's picture and card, once: WeCom's calls, its suppressed duplicates included.
    let sent: Vec<_> = system
        .fakes
        .wecom
        .messages()
        .into_iter()
        .filter(|m| m.endpoint == Endpoint::WecomSend)
        .collect();
    assert_eq!(sent.len(), 2 * RUNS, "{sent:#?}");
    assert!(sent.iter().all(|m| !m.suppressed_duplicate), "{sent:#?}");
    let stats: Value = reqwest::get(format!("{moto}/herald-limits/stats"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    eprintln!("faults injected so far on this moto: {stats}");
}

#[tokio::test]
async fn a_store_fault_fails_exactly_its_record_of_the_batch_and_the_retry_delivers_it() {
    let mut system = System::start().await;
    system.configure_wecom().await;
    let now = chrono::Utc::now();
    // Two pages with their own figures (WeCom drops a message identical to one sent before).
    for (i, chart) in ["north", "south"].into_iter().enumerate() {
        system.charts.set(chart, ChartAnswer::Rows(2 + i));
        let url = system.charts.url(chart);
        let task = system
            .create_task(|task| {
                task["page"]["title"] = json!(format!("Sales {chart}"));
                task["page"]["charts"][0]["data_url"] = json!(url);
            })
            .await;
        let run = system.fire(&task, now).await;
        assert_eq!(run["outcome"], "sending", "{run}");
    }
    let batches = system.stream_batches().await;
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];
    assert_eq!(batch.len(), 2, "one delivery per run: {batch:#?}");
    // DynamoDB fails every request about the first delivery (after the SDK's own retries).
    let key = batch[0]["dynamodb"]["Keys"]["PK"]["S"]
        .as_str()
        .expect("PK");
    let id = key.trim_start_matches("DELIVERY#");
    system.delivery_store.fail_requests_containing(id);
    let response = system.delivery.invoke_ok(json!({ "Records": batch })).await;
    let sequence = &batch[0]["dynamodb"]["SequenceNumber"];
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": sequence}]}),
        "exactly the failed record is reported"
    );
    assert!(system.delivery_store.failed() > 0);
    assert_eq!(
        system.wecom_sent().len(),
        2,
        "the other run's image and card went out"
    );

    // A sweep while the store still fails for that delivery fails the invocation (the function's
    // Errors metric and alarm see it), after trying what it could.
    let sweep = system.delivery.invoke(json!({"sweep": true})).await;
    assert!(
        sweep.is_err(),
        "the sweep reports what it could not record: {sweep:?}"
    );

    // Lambda retries from the failed record; the store is back.
    system.delivery_store.heal();
    let retried = system
        .delivery
        .invoke_ok(json!({ "Records": [batch[0].clone()] }))
        .await;
    assert_eq!(retried, json!({"batchItemFailures": []}));
    assert_eq!(
        system.wecom_sent().len(),
        4,
        "both runs delivered, each once: {}",
        system.delivery.logs().join("\n")
    );
}

#[tokio::test]
async fn a_delivery_that_fails_for_good_is_counted_by_the_templates_metric_filter() {
    let mut system = System::start().await;
    system.configure_wecom().await;
    system.charts.set("gmv", ChartAnswer::Rows(1));
    let task = system.create_task(|_| {}).await;
    // WeCom refuses the message as invalid (40058): permanent, no retry.
    system
        .fakes
        .wecom
        .inject(FaultRule::always(Fault::FieldValidation).on(Endpoint::WecomSend));
    let run = system.fire(&task, chrono::Utc::now()).await;
    let run_id = run["run_id"].as_str().expect("run_id").to_owned();
    let responses = system.pump_stream().await;
    assert_eq!(
        responses[0]["batchItemFailures"],
        json!([]),
        "{responses:?}"
    );
    let record = system
        .get(&format!("/v1/projects/{PROJECT}/records/{run_id}"))
        .await;
    assert_eq!(record["outcome"], "failed", "{record:#}");

    let filter =
        system.template.resource("DeliveryFailedForGoodMetric")["Properties"]["FilterPattern"]
            .as_str()
            .expect("FilterPattern")
            .to_owned();
    let counted = system
        .delivery
        .logs()
        .iter()
        .filter(|line| log_line_matches(&filter, line))
        .count();
    assert_eq!(
        counted,
        1,
        "one delivery failed for good: {:#?}",
        system.delivery.logs()
    );
}

#[tokio::test]
async fn a_signed_ticket_event_through_ticket_webhook_reaches_the_reviewer() {
    let mut system = System::start().await;
    system.configure_wecom().await;
    let (status, body) = system
        .api(
            "PUT",
            "/v1/settings/webhook-sources/sqle",
            Some(&json!({"secret": TICKET_SECRET})),
        )
        .await;
    assert_eq!(status, 204, "{body:#}");
    for id in ["wang", "admin", "t1"] {
        let contact = json!({"name": format!("{id} name"), "email": format!("{id}@example.com"), "wecom_user": id});
        let (status, body) = system
            .api("PUT", &format!("/v1/contacts/{id}"), Some(&contact))
            .await;
        assert_eq!(status, 200, "{body:#}");
    }

    let fixture: Value = serde_json::from_str(TICKET_FIXTURE).expect("fixture");
    let body = fixture["body"].as_str().expect("body").to_owned();
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(TICKET_SECRET.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let event = http_api_event(
        "POST",
        fixture["rawPath"].as_str().expect("rawPath"),
        "POST /v1/webhooks/{proxy+}",
        &[
            ("x-herald-timestamp", timestamp),
            ("x-herald-signature", signature),
        ],
        Some(body),
    );
    let (status, accepted) = answer_of(system.ticket_webhook.invoke_ok(event.clone()).await);
    assert_eq!(status, 202, "{accepted:#}");
    assert!(accepted["deliveries"].as_u64() > Some(0), "{accepted:#}");
    // The sender retries: the same event is a duplicate, answered 200.
    let (status, again) = answer_of(system.ticket_webhook.invoke_ok(event).await);
    assert_eq!((status, again), (200, json!({"duplicate": true})));

    let responses = system.pump_stream().await;
    assert!(
        responses
            .iter()
            .all(|r| r["batchItemFailures"] == json!([])),
        "{responses:?}"
    );
    let told: std::collections::BTreeSet<String> = system
        .wecom_sent()
        .into_iter()
        .flat_map(|m| m.recipients)
        .collect();
    assert!(told.contains("t1"), "the reviewer is told: {told:?}");
    let records = system
        .get(&format!("/v1/projects/{PROJECT}/records?kind=ticket"))
        .await;
    assert_eq!(records["items"][0]["id"], accepted["record"], "{records:#}");

    // The function behind the internet-facing webhook may touch only the partitions a ticket event
    // needs (LeadingKeys), and each table call it made is one IAM would allow under its policy.
    let (asked, grants) =
        system.table_calls_within_grants("TicketWebhookFunction", &system.webhook_store);
    assert!(asked.len() > 3, "the webhook wrote its ticket: {asked:#?}");
    assert!(
        !grants.is_empty() && grants.iter().all(|g| g.leading_keys.is_some()),
        "every table grant of the webhook names its partitions: {grants:#?}"
    );
}

/// The one-off upgrade after a stack update (infra/DEPLOY.md) runs through the trigger function
/// as an operator invokes it, completes what an earlier version left out, and asks IAM only for
/// what the trigger's policy grants (its Scan included).
#[tokio::test]
async fn the_upgrade_runs_through_the_trigger_within_its_grants() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let system = System::start().await;
    let (status, created) = system
        .api("POST", "/v1/keys", Some(&json!({"role": "admin"})))
        .await;
    assert_eq!(status, 201, "{created:#}");
    let id = created["id"].as_str().expect("id");
    // As a version before GSI1 listed keys wrote it.
    system
        .dynamo
        .update_item()
        .table_name(&system.table)
        .key("PK", AttributeValue::S(format!("KEY#{id}")))
        .key("SK", AttributeValue::S("KEY".into()))
        .update_expression("REMOVE GSI1PK, GSI1SK")
        .send()
        .await
        .expect("an earlier version's key");
    let listed = || async {
        let keys = system.get("/v1/keys").await;
        keys["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|k| k["id"] == id)
    };
    assert!(!listed().await, "not listed before the upgrade");

    let answer = system.trigger.invoke_ok(json!({"upgrade": true})).await;
    assert_eq!(answer["backfilled"]["api_keys"], 1, "{answer:#}");
    assert_eq!(answer["moved"]["deliveries"], 0, "{answer:#}");
    assert!(listed().await, "listed after it");
    let again = system.trigger.invoke_ok(json!({"upgrade": true})).await;
    assert_eq!(again["backfilled"]["api_keys"], 0, "{again:#}");

    let (asked, _) = system.table_calls_within_grants("TriggerFunction", &system.trigger_store);
    assert!(
        asked.iter().any(|a| a.action == "dynamodb:Scan"),
        "{asked:#?}"
    );
}

/// An API Gateway HTTP API (payload 2.0) event, as the service sends it to a function.
fn http_api_event(
    method: &str,
    path: &str,
    route: &str,
    headers: &[(&str, String)],
    body: Option<String>,
) -> Value {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut all = json!({
        "accept": "application/json",
        "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "x-forwarded-proto": "https",
    });
    for (name, value) in headers {
        all[*name] = json!(value);
    }
    if body.is_some() {
        all["content-type"] = json!("application/json");
    }
    // "ANY /v1/{proxy+}" → the part of the path after "/v1/".
    let route_path = route.split_once(' ').map_or(route, |(_, p)| p);
    let proxy = path
        .strip_prefix(route_path.trim_end_matches("{proxy+}"))
        .unwrap_or(path);
    json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": query,
        "headers": all,
        "requestContext": {
            "accountId": "123456789012", "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "domainPrefix": "a1b2c3d4e5",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "herald-tests"},
            "requestId": uuid::Uuid::now_v7().to_string(), "routeKey": route, "stage": "$default",
            "time": "01/Dec/2026:09:00:00 +0000", "timeEpoch": 1_796_115_600_000_u64
        },
        "pathParameters": {"proxy": proxy},
        "body": body,
        "isBase64Encoded": false
    })
}

/// (status, JSON body) of an API Gateway response.
fn answer_of(response: Value) -> (u16, Value) {
    let status = response["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok());
    let text = response["body"].as_str().unwrap_or_default();
    (
        status.expect("statusCode"),
        serde_json::from_str(text).unwrap_or(Value::Null),
    )
}
