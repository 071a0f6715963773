//! Report sources: charts read where reports live, behind a login. A real Apache Superset (from
//! PyPI, on 127.0.0.1): Herald signs in once per process, reads a saved chart, pushes the SQL's
//! figures, keeps reading after the access token expires, and a wrong password is each chart's
//! access error in Superset's words after one login attempt. An `http` source with a bearer token
//! and CSV, parameters taken at the scheduled time, and the admin API's rules.
use axum::http::{Method, StatusCode};
use herald_fakes::{FeishuConfig, WecomConfig};
use herald_tests::providers::FakeProviders;
use herald_tests::push::PushApp;
use herald_tests::sample_task;
use herald_tests::superset::{ADMIN_PASSWORD, ADMIN_USER, SALES, Superset};
use serde_json::{Value, json};

const NOW: &str = "2026-12-07T01:00:00Z";
const TASKS: &str = "/v1/projects/payments/tasks";

async fn app() -> (FakeProviders, PushApp) {
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["zhangsan", "lisi"]),
        FeishuConfig::default(),
    )
    .await;
    let app = PushApp::new(NOW, fakes.config());
    app.configure_all(&fakes).await;
    (fakes, app)
}

fn superset_source(base: &str, password: &str) -> Value {
    json!({"kind": "superset", "base_url": base,
           "auth": {"type": "login", "username": ADMIN_USER, "password": password},
           "projects": ["payments"], "private_network": true})
}

/// A WeCom text task whose `n` charts all read `query` from `source`.
fn task_on(source: &str, query: Value, n: usize) -> Value {
    let mut body = sample_task("2026-12-08");
    body["template"] = json!("text");
    body["page"]["charts"] = (0..n)
        .map(|i| {
            json!({"name": format!("GMV by region {i}"), "source": source, "query": query,
                   "display": "bar", "fields": {"label": "region", "values": ["gmv"]}})
        })
        .collect();
    body
}

async fn test_push(app: &PushApp, body: &Value) -> Value {
    let created = app.admin(Method::POST, TASKS, body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let id = created.body["id"].as_str().expect("id");
    let reply = app
        .admin(Method::POST, &format!("{TASKS}/{id}/test"), &Value::Null)
        .await;
    assert!(reply.status.is_success(), "{:#}", reply.body);
    reply.body
}

fn statuses(run: &Value) -> Vec<String> {
    run["charts"]
        .as_array()
        .expect("charts")
        .iter()
        .map(|c| format!("{} {}", c["status"], c["reason"]))
        .collect()
}

#[tokio::test]
async fn superset_charts_are_read_with_one_login_per_process_and_push_the_sqls_figures() {
    let superset = Superset::start(6).await;
    let (fakes, app) = app().await;
    let put = app
        .admin(
            Method::PUT,
            "/v1/sources/superset-prod",
            &superset_source(&superset.base, ADMIN_PASSWORD),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
    assert_eq!(put.body["auth"]["password"], "set", "{:#}", put.body);
    assert!(!put.body.to_string().contains(ADMIN_PASSWORD));

    // The test button: the first rows, as Superset's SQL gives them.
    let tested = app
        .admin(
            Method::POST,
            "/v1/sources/superset-prod/test",
            &json!({"query": {"chart": superset.chart_id}}),
        )
        .await;
    assert_eq!(tested.status, StatusCode::OK, "{:#}", tested.body);
    assert_eq!(tested.body["ok"], true, "{:#}", tested.body);
    assert_eq!(tested.body["row_count"], SALES.len(), "{:#}", tested.body);
    assert_eq!(
        tested.body["rows"][0]["region"], SALES[0].0,
        "{:#}",
        tested.body
    );
    assert_eq!(
        tested.body["rows"][0]["gmv"], SALES[0].1,
        "{:#}",
        tested.body
    );

    // 12 charts from one Superset in one run: one login (the test above already signed in).
    let run = test_push(
        &app,
        &task_on("superset-prod", json!({"chart": superset.chart_id}), 12),
    )
    .await;
    assert_eq!(run["outcome"], "delivered", "{:#}", run);
    assert!(
        statuses(&run).iter().all(|s| s.starts_with("\"ok\"")),
        "{:?}",
        statuses(&run)
    );
    assert_eq!(app.charts.source_logins("superset-prod"), 1);
    assert_eq!(app.charts.source_refreshes("superset-prod"), 0);
    let text = fakes
        .wecom
        .delivered()
        .last()
        .and_then(|m| m.body["text"]["content"].as_str().map(str::to_owned))
        .expect("a text message");
    // The SQL's rows in its order (ORDER BY gmv DESC), formatted for the reader.
    let rows = "  华东: 72.96M\n  华北: 51.23M\n  华南: 38.45M\n  西南: 12M";
    assert!(text.contains(rows), "the SQL's figures: {text}");

    // The access token (6 s) expires: the next run reads on, refreshed, without a new login.
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let run = test_push(
        &app,
        &task_on("superset-prod", json!({"chart": superset.chart_id}), 12),
    )
    .await;
    assert!(
        statuses(&run).iter().all(|s| s.starts_with("\"ok\"")),
        "{:?}",
        statuses(&run)
    );
    assert_eq!(
        app.charts.source_logins("superset-prod"),
        1,
        "refreshed, not signed in again"
    );
    assert_eq!(
        app.charts.source_refreshes("superset-prod"),
        1,
        "once for the 12 charts"
    );

    // A wrong password: every chart is an access error in Superset's words, after one attempt.
    let bad = app
        .admin(
            Method::PUT,
            "/v1/sources/superset-bad",
            &superset_source(&superset.base, "not-the-password"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::OK, "{:#}", bad.body);
    let run = test_push(
        &app,
        &task_on("superset-bad", json!({"chart": superset.chart_id}), 12),
    )
    .await;
    for status in statuses(&run) {
        assert!(
            status.starts_with("\"access_error\"") && status.contains("Superset login: 401"),
            "{status}"
        );
    }
    assert_eq!(app.charts.source_logins("superset-bad"), 1);
}
