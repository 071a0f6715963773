//! template.yaml and the code agree: the variables the template sets are the ones the code reads,
//! the table the code creates (tests, `make run` on AWS endpoints) is the table the template
//! declares, every route of the Router is reachable through the template's API routes, and each
//! function's timeout fits the work the code gives it.
use axum::http::{Method, StatusCode};
use herald_tests::template::Template;
use herald_tests::{LocalApp, moto};
use serde_json::Value;
use std::collections::BTreeSet;

const FUNCTIONS: [&str; 4] = [
    "TaskApiFunction",
    "TriggerFunction",
    "DeliveryFunction",
    "TicketWebhookFunction",
];

/// `HERALD_*` names that appear as string literals in the files that read the environment.
fn variables_the_code_reads() -> BTreeSet<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut names = BTreeSet::new();
    for file in [
        "shared/aws/src/wiring.rs",
        "shared/charts/src/policy.rs",
        "shared/hub/src/lib.rs",
    ] {
        let text = std::fs::read_to_string(format!("{root}/{file}")).expect("source");
        for piece in text.split('"').skip(1).step_by(2) {
            if piece.starts_with("HERALD_")
                && piece
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                names.insert(piece.to_owned());
            }
        }
    }
    names
}

#[test]
fn every_variable_the_template_sets_is_read_and_every_required_one_is_set() {
    let template = Template::load();
    let read = variables_the_code_reads();
    // The provider base URLs are for a proxy or the sandbox: optional, not in the template.
    let optional = [
        "HERALD_WECOM_BASE_URL",
        "HERALD_FEISHU_BASE_URL",
        "HERALD_DINGTALK_BASE_URL",
    ];
    let stack = herald_tests::template::Stack {
        name: "herald".into(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        parameters: [("AdminTokenSha256".into(), "0".repeat(64))].into(),
        resources: [
            ("HeraldTable".into(), "table".into()),
            ("HeraldScheduleGroup".into(), "herald".into()),
        ]
        .into(),
        attributes: [
            (
                "SchedulerInvokeRole.Arn".into(),
                "arn:aws:iam::1:role/r".into(),
            ),
            (
                "MissedRunsQueue.Arn".into(),
                "arn:aws:sqs:us-east-1:1:q".into(),
            ),
        ]
        .into(),
    };
    for function in FUNCTIONS {
        let set: BTreeSet<String> = template
            .environment(function, &stack)
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| name.starts_with("HERALD_"))
            .collect();
        let unread: Vec<_> = set.difference(&read).collect();
        assert!(
            unread.is_empty(),
            "{function} sets variables no code reads: {unread:?}"
        );
        let unset: Vec<_> = read
            .iter()
            .filter(|name| !set.contains(*name) && !optional.contains(&name.as_str()))
            .collect();
        assert!(unset.is_empty(), "{function} lacks {unset:?}");
    }
}

/// (AttributeName, `second`) of each entry of a declared KeySchema or AttributeDefinitions.
fn declared_pairs(entries: &serde_yaml_ng::Value, second: &str) -> Vec<(String, String)> {
    let entries = entries.as_sequence().expect("a list of attributes");
    entries
        .iter()
        .map(|e| {
            let name = e["AttributeName"].as_str().expect("AttributeName");
            let value = e[second].as_str().expect("the attribute's type");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// (attribute, key type) of a key schema DynamoDB describes.
fn created_keys(schema: &[aws_sdk_dynamodb::types::KeySchemaElement]) -> Vec<(String, String)> {
    schema
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_table_the_code_creates_is_the_table_the_template_declares() {
    let template = Template::load();
    let declared = &template.resource("HeraldTable")["Properties"];
    let sdk = moto::sdk_config().await;
    let (client, table) = moto::fresh_table(&sdk).await;
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("DescribeTable");
    let created = described.table().expect("table");

    let created_attributes: BTreeSet<(String, String)> = created
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        created_keys(created.key_schema()),
        declared_pairs(&declared["KeySchema"], "KeyType")
    );
    assert_eq!(
        created_attributes,
        declared_pairs(&declared["AttributeDefinitions"], "AttributeType")
            .into_iter()
            .collect()
    );

    let declared_indexes = declared["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("GlobalSecondaryIndexes");
    let created_indexes = created.global_secondary_indexes();
    assert_eq!(created_indexes.len(), declared_indexes.len());
    for (made, meant) in created_indexes.iter().zip(declared_indexes) {
        assert_eq!(made.index_name(), meant["IndexName"].as_str());
        assert_eq!(
            created_keys(made.key_schema()),
            declared_pairs(&meant["KeySchema"], "KeyType")
        );
        assert_eq!(
            made.projection()
                .and_then(|p| p.projection_type())
                .map(|p| p.as_str()),
            meant["Projection"]["ProjectionType"].as_str()
        );
        let made_included: Vec<&str> = made
            .projection()
            .map(|p| p.non_key_attributes().iter().map(String::as_str).collect())
            .unwrap_or_default();
        let meant_included: Vec<&str> = meant["Projection"]["NonKeyAttributes"]
            .as_sequence()
            .map(|names| names.iter().filter_map(|n| n.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(made_included, meant_included, "{:?}", made.index_name());
    }
    let stream = created.stream_specification().expect("stream");
    assert!(stream.stream_enabled());
    assert_eq!(
        stream.stream_view_type().map(|v| v.as_str()),
        declared["StreamSpecification"]["StreamViewType"].as_str()
    );
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("DescribeTimeToLive");
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|t| t.attribute_name()),
        declared["TimeToLiveSpecification"]["AttributeName"].as_str()
    );
}

/// The template's HTTP API routes: (function, method, path).
fn api_routes(template: &Template) -> Vec<(String, String, String)> {
    let mut routes = Vec::new();
    for function in FUNCTIONS {
        let events = &template.resource(function)["Properties"]["Events"];
        for (_, event) in events.as_mapping().into_iter().flatten() {
            if event["Type"].as_str() == Some("HttpApi") {
                let p = &event["Properties"];
                assert_eq!(
                    p["PayloadFormatVersion"].as_str(),
                    Some("2.0"),
                    "{function}"
                );
                routes.push((
                    function.to_owned(),
                    p["Method"].as_str().expect("Method").to_owned(),
                    p["Path"].as_str().expect("Path").to_owned(),
                ));
            }
        }
    }
    routes
}

/// Which function API Gateway gives `method path` to: the most specific matching route.
fn routed_to(routes: &[(String, String, String)], method: &str, path: &str) -> Option<String> {
    routes
        .iter()
        .filter(|(_, m, _)| m == "ANY" || m.eq_ignore_ascii_case(method))
        .filter(|(_, _, p)| match p.strip_suffix("{proxy+}") {
            Some(prefix) => path.starts_with(prefix) && path.len() > prefix.len(),
            None => p == path,
        })
        .max_by_key(|(_, m, p)| (p.len(), m != "ANY"))
        .map(|(f, _, _)| f.clone())
}

#[tokio::test]
async fn every_route_reaches_the_function_that_serves_it() {
    let template = Template::load();
    let routes = api_routes(&template);
    let app = LocalApp::new("2026-12-01T09:00:00Z");
    let reply = herald_tests::http::call(
        &app.router,
        Method::GET,
        "/v1/openapi.json",
        None,
        &Value::Null,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let paths = reply.body["paths"].as_object().expect("paths");
    assert!(paths.len() > 20, "the document lists the routes");
    for (path, operations) in paths {
        for method in operations.as_object().expect("operations").keys() {
            let function = routed_to(&routes, method, path);
            // Webhooks are served by their own function; everything else by task-api.
            let expected = if path.starts_with("/v1/webhooks/") {
                "TicketWebhookFunction"
            } else {
                "TaskApiFunction"
            };
            assert_eq!(
                function.as_deref(),
                Some(expected),
                "{method} {path} must reach {expected}"
            );
        }
    }
}

#[test]
fn the_console_reaches_task_api() {
    let routes = api_routes(&Template::load());
    for (method, path) in [
        ("GET", "/ui"),
        ("GET", "/ui/sign-in"),
        ("POST", "/ui/sign-in"),
        ("GET", "/ui/projects/sales/tasks"),
        (
            "POST",
            "/ui/projects/sales/tasks/01a2338f-a2a3-719f-b02c-3e162a200ada/push",
        ),
        ("GET", "/ui/assets/0123456789ab/console.css"),
    ] {
        assert_eq!(
            routed_to(&routes, method, path).as_deref(),
            Some("TaskApiFunction"),
            "{method} {path}"
        );
    }
}

#[test]
fn each_function_has_time_for_its_work() {
    let template = Template::load();
    let policy = herald_core::services::delivery::RetryPolicy::default();
    let attempt = policy.attempt_limit.to_std().expect("attempt limit");
    // A sweep starts a send only with an attempt's time left (and a margin): it needs more.
    assert!(template.timeout("DeliveryFunction") >= attempt * 2);
    // The lease outlasts an attempt and the outcome's write, so nobody else sends it meanwhile.
    assert!(policy.lease > policy.attempt_limit);
    // Requests that send answer within 25 s; API Gateway cuts them off at 30 s.
    let api = template.timeout("TaskApiFunction");
    let answer = herald_core::services::ANSWER_WITHIN;
    assert!(api > answer + std::time::Duration::from_secs(3), "{api:?}");
    // Under the gateway's 30 s: the function answers before the gateway's bare 503.
    for function in ["TaskApiFunction", "TicketWebhookFunction"] {
        let timeout = template.timeout(function);
        assert!(
            timeout < std::time::Duration::from_secs(30),
            "{function}: {timeout:?}"
        );
    }
    // The trigger reads a page's charts (bounded by the page deadline), renders and writes the run.
    let page = herald_charts::ChartLimits::default().overall_deadline;
    assert!(template.timeout("TriggerFunction") > page * 2);
}

/// Operations hear when an alarm clears as well as when it fires, the table cannot be deleted by
/// a stray call, and the log level the stack is given reaches Lambda's own filter.
#[test]
fn alarms_say_when_they_clear_the_table_is_protected_and_the_log_level_reaches_lambda() {
    let template = Template::load();
    let alarms = template.resources_of("AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 10, "{} alarms", alarms.len());
    for (name, alarm) in &alarms {
        let properties = &alarm["Properties"];
        assert!(
            !properties["AlarmActions"].is_null(),
            "{name} tells someone"
        );
        assert_eq!(
            properties["OKActions"], properties["AlarmActions"],
            "{name} also says when it is OK again"
        );
    }
    // A queue's alarm counts arrivals: it clears, and fires again for the next missed run.
    for (name, alarm) in &alarms {
        if alarm["Properties"]["Namespace"].as_str() == Some("AWS/SQS") {
            assert_eq!(
                alarm["Properties"]["MetricName"].as_str(),
                Some("NumberOfMessagesSent"),
                "{name}"
            );
        }
    }
    let throttles: Vec<&str> = alarms
        .iter()
        .filter(|(_, a)| a["Properties"]["Namespace"].as_str() == Some("AWS/DynamoDB"))
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(
        throttles.len() >= 2,
        "the table's and the due index's throttles: {throttles:?}"
    );
    let api = &template.resource("HeraldApi")["Properties"]["AccessLogSettings"];
    assert!(
        !api["DestinationArn"].is_null(),
        "the API logs each request"
    );
    // Stream records given up on leave a trace; a failed sweep is not retried into the next.
    let outbox = template.event("DeliveryFunction", "Outbox");
    assert!(outbox["MaximumRecordAgeInSeconds"].as_u64().is_some());
    assert!(!outbox["DestinationConfig"]["OnFailure"]["Destination"].is_null());
    let sweep = &template.resource("DeliveryFunction")["Properties"]["EventInvokeConfig"];
    assert_eq!(sweep["MaximumRetryAttempts"].as_u64(), Some(0));
    let table = &template.resource("HeraldTable")["Properties"];
    assert_eq!(table["DeletionProtectionEnabled"].as_bool(), Some(true));
    for function in FUNCTIONS {
        let logging = &template.resource(function)["Properties"]["LoggingConfig"];
        assert!(
            !logging["ApplicationLogLevel"].is_null(),
            "{function}: with JSON logs, Lambda drops lines below its ApplicationLogLevel"
        );
    }
}

/// Subnets without security groups are refused before anything is made, naming the parameter
/// (Lambda would refuse the VPC config halfway through the stack).
#[test]
fn a_vpc_needs_subnets_and_security_groups_together() {
    let template = Template::load();
    let rule = template.rule("SubnetsNeedSecurityGroups");
    let text = serde_yaml_ng::to_string(rule).expect("yaml");
    assert!(
        text.contains("SubnetIds") && text.contains("SecurityGroupIds"),
        "{text}"
    );
}

/// A 09:00 burst of scheduled runs can be capped (the trigger's reserved concurrency) and spread
/// (Scheduler's flexible window), both off unless the stack asks; the throttle alarm watches the
/// index every due write goes to.
#[test]
fn the_nine_oclock_burst_can_be_capped_and_spread_and_the_due_index_is_watched() {
    let template = Template::load();
    let trigger = &template.resource("TriggerFunction")["Properties"];
    let reserved =
        serde_yaml_ng::to_string(&trigger["ReservedConcurrentExecutions"]).expect("yaml");
    assert!(
        reserved.contains("HasTriggerReservation")
            && reserved.contains("TriggerReservedConcurrency"),
        "{reserved}"
    );
    let globals = serde_yaml_ng::to_string(&template.0["Globals"]).expect("yaml");
    assert!(
        globals.contains("HERALD_SCHEDULE_WINDOW_MINUTES")
            && globals.contains("ScheduleWindowMinutes"),
        "{globals}"
    );
    let alarm = serde_yaml_ng::to_string(
        &template.resource("DueIndexThrottledAlarm")["Properties"]["Dimensions"],
    )
    .expect("yaml");
    assert!(alarm.contains("Value: Due"), "{alarm}");
}

#[test]
fn cfn_lint_finds_nothing_in_the_template() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let lint = format!("{root}/.venv/bin/cfn-lint");
    let out = std::process::Command::new(&lint)
        .arg(format!("{root}/template.yaml"))
        .output()
        .unwrap_or_else(|e| panic!("{lint}: {e} (scripts/test-deps.sh installs it)"));
    assert!(
        out.status.success(),
        "cfn-lint template.yaml:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sam_validates_the_template_with_its_linter() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let sam = format!("{root}/.venv-sam/bin/sam");
    let out = std::process::Command::new(&sam)
        .args(["validate", "--lint", "--region", "us-east-1", "-t"])
        .arg(format!("{root}/template.yaml"))
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .unwrap_or_else(|e| panic!("{sam}: {e} (scripts/test-deps.sh installs it)"));
    assert!(
        out.status.success(),
        "sam validate --lint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
