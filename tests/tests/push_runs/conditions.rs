//! Conditions (alerts): a scheduled run pushes only when they hold, else it is recorded skipped
//! with the reason; test pushes and previews show them; a rule that could never be judged is a 400.
use super::*;

const GMV_98: &str = r#"{"data": {"rows": [{"day": "12-02", "gmv": 980000, "prev": 1000000}]}}"#;
const GMV_120: &str = r#"{"data": {"rows": [{"day": "12-06", "gmv": 1200000, "prev": 980000}]}}"#;

/// A task with a KPI `GMV` (yuan, against `prev`) and a table `Errors`, and `conditions`.
fn alert_task(server: &ChartServer, conditions: Value) -> Value {
    let mut body = task_body(server, &["GMV", "Errors"], control(no_rule(), no_rule()));
    body["page"]["charts"][0]["display"] = json!("kpi");
    body["page"]["charts"][0]["fields"] = json!({"values": ["gmv"], "compare": "prev"});
    body["content"]["language"] = json!("zh");
    body["conditions"] = conditions;
    body
}

/// The record's log, every line's message.
async fn log_of(app: &PushApp, rec: &Value) -> String {
    let id = rec["id"].as_str().expect("record id");
    let reply = app
        .admin(Method::GET, &format!("{RECORDS}/{id}/logs"), &Value::Null)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "logs: {:#}", reply.body);
    reply.body["items"].to_string()
}

#[tokio::test]
async fn a_gmv_below_rule_pushes_on_the_day_gmv_is_98_wan_and_skips_the_day_it_is_120_wan() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("GMV", ChartAnswer::Json(GMV_98));
    let rule = json!({"when": "any", "rules": [
        {"chart": "GMV", "field": "gmv", "op": "<", "value": 1000000}
    ]});
    let task = create(&app, &alert_task(&charts, rule.clone())).await;
    assert_eq!(
        get_task(&app, &task).await["conditions"],
        rule,
        "read back as written"
    );

    let pushed = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert_eq!(pushed["outcome"], "delivered", "{pushed:#}");
    assert!(
        log_of(&app, &pushed)
            .await
            .contains("conditions met (any): GMV 98万 is below 100万"),
        "{pushed:#}"
    );
    let sent = app_messages(&fakes).len();
    assert_eq!(sent, 1, "the push to the recipients");

    charts.set("GMV", ChartAnswer::Json(GMV_120));
    let skipped = fire(&app, &task, "2026-12-07T02:00:00Z").await;
    assert_eq!(skipped["outcome"], "skipped", "{skipped:#}");
    assert_eq!(
        skipped["reason"],
        "conditions not met (any): GMV 120万 is not below 100万"
    );
    assert_eq!(skipped["deliveries"], json!([]), "{skipped:#}");
    assert_eq!(app_messages(&fakes).len(), sent, "nothing more sent");
    assert_eq!(
        pictures(&fakes, Endpoint::WecomSend).len(),
        1,
        "no picture either"
    );
    assert_eq!(
        get_task(&app, &task).await["consecutive_failures"],
        0,
        "a skipped run is no failure"
    );

    // The preview says whether they hold now; a test push sends anyway and says so.
    let preview = app
        .admin(
            Method::POST,
            &format!("{TASKS}/{task}/preview"),
            &Value::Null,
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{:#}", preview.body);
    assert_eq!(
        preview.body["conditions"]["holds"], false,
        "{:#}",
        preview.body
    );
    assert_eq!(
        preview.body["conditions"]["findings"][0]["said"],
        "GMV 120万 is not below 100万"
    );
    let test = app
        .admin(Method::POST, &format!("{TASKS}/{task}/test"), &Value::Null)
        .await;
    assert_eq!(test.body["outcome"], "delivered", "{:#}", test.body);
    assert!(
        log_of(&app, &test.body)
            .await
            .contains("GMV 120万 is not below 100万 — sent anyway: a test push"),
        "{:#}",
        test.body
    );
}

#[tokio::test]
async fn change_rows_and_all_rules_read_the_kpis_change_and_an_empty_charts_zero_rows() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    // GMV fell 2% against its previous value; Errors has no rows.
    charts.set("GMV", ChartAnswer::Json(GMV_98));
    charts.set("Errors", ChartAnswer::Empty);
    let task = create(
        &app,
        &alert_task(
            &charts,
            json!({"when": "all", "rules": [
                {"chart": "GMV", "change": "<", "percent": -1},
                {"chart": "Errors", "rows": ">", "value": 0}
            ]}),
        ),
    )
    .await;
    let skipped = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert_eq!(skipped["outcome"], "skipped", "{skipped:#}");
    assert_eq!(
        skipped["reason"],
        "conditions not met (all): Errors has 0 rows, not above 0"
    );
    charts.set("Errors", ChartAnswer::Rows(3));
    let pushed = fire(&app, &task, "2026-12-07T02:00:00Z").await;
    assert_eq!(pushed["outcome"], "delivered", "{pushed:#}");
    assert!(
        log_of(&app, &pushed)
            .await
            .contains("GMV changed -2.0%, below -1%; Errors has 3 rows, above 0"),
        "{pushed:#}"
    );
}

#[tokio::test]
async fn changed_since_last_push_skips_a_page_that_shows_what_the_last_push_showed() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("GMV", ChartAnswer::Json(GMV_98));
    let task = create(
        &app,
        &alert_task(
            &charts,
            json!({"rules": [{"changed_since_last_push": true}]}),
        ),
    )
    .await;
    let first = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert_eq!(
        first["outcome"], "delivered",
        "nothing pushed before: {first:#}"
    );
    let same = fire(&app, &task, "2026-12-07T02:00:00Z").await;
    assert_eq!(same["outcome"], "skipped", "{same:#}");
    assert_eq!(
        same["reason"],
        "conditions not met (any): the page is as the last push showed it"
    );
    charts.set("GMV", ChartAnswer::Json(GMV_120));
    let changed = fire(&app, &task, "2026-12-10T02:00:00Z").await;
    assert_eq!(changed["outcome"], "delivered", "{changed:#}");
    // Compared with the last push (GMV 120万), however many runs were skipped since.
    for hour in 0..24 {
        let same = fire(&app, &task, &format!("2026-12-14T{hour:02}:00:00Z")).await;
        assert_eq!(same["outcome"], "skipped", "{same:#}");
    }
    assert_eq!(app_messages(&fakes).len(), 2);
    // Back to what an earlier push showed is still a change from the last one.
    charts.set("GMV", ChartAnswer::Json(GMV_98));
    let back = fire(&app, &task, "2026-12-17T02:00:00Z").await;
    assert_eq!(back["outcome"], "delivered", "{back:#}");
    assert_eq!(app_messages(&fakes).len(), 3);
}

#[tokio::test]
async fn rules_that_could_never_be_judged_are_refused_naming_their_field() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let cases = [
        (
            json!({"rules": [{"chart": "Revenue", "field": "gmv", "op": "<", "value": 1}]}),
            "conditions.rules[0].chart",
            "no chart of the page is named 'Revenue'",
        ),
        (
            json!({"rules": [{"chart": "GMV", "field": "cost", "op": "<", "value": 1}]}),
            "conditions.rules[0].field",
            "reads only its fields (gmv, prev)",
        ),
        (
            json!({"rules": [{"chart": "Errors", "change": "<", "percent": 1}]}),
            "conditions.rules[0].change",
            "has no fields.compare",
        ),
        (
            json!({"rules": [{"chart": "GMV", "field": "gmv", "op": "≈", "value": 1}]}),
            "conditions.rules[0].op",
            "must be one of < <= > >= == !=",
        ),
        (
            json!({"rules": [{"chart": "GMV", "field": "gmv", "rows": ">", "value": 1}]}),
            "conditions.rules[0]",
            "only one of field, change, rows",
        ),
        (
            json!({"rules": [{"chart": "GMV", "rows": ">", "value": 1, "op": ">"}]}),
            "conditions.rules[0].op",
            "does not belong in a rows rule",
        ),
        (
            json!({"rules": [{"chart": "GMV", "field": "gmv", "op": "<"}]}),
            "conditions.rules[0].value",
            "is required in a field rule",
        ),
        (json!({"rules": []}), "conditions.rules", "1 to 10 rules"),
        (
            json!({"when": "most", "rules": [{"changed_since_last_push": true}]}),
            "conditions.when",
            "any or all",
        ),
    ];
    for (conditions, field, words) in cases {
        let reply = app
            .admin(
                Method::POST,
                TASKS,
                &alert_task(&charts, conditions.clone()),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{conditions}: {:#}",
            reply.body
        );
        assert_eq!(
            reply.body["error"]["field"], field,
            "{conditions}: {:#}",
            reply.body
        );
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{conditions}: {message}");
    }
}
