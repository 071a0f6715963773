//! Push runs end to end: the real API, push service, delivery worker, local scheduler and chart
//! reader over in-memory SQLite with a manual clock, against a chart server whose answers each test
//! switches per chart and fake WeCom (app messages and group robot).
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use herald_charts::{ChartLimits, SsrfPolicy};
use herald_core::clock::Clock;
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::domain::run::PushRun;
use herald_core::services::runs::Trigger;
use herald_embedded::schedule_loop::tick;
use herald_fakes::{AcceptedMessage, Endpoint, Fault, FaultRule, FeishuConfig, WecomConfig};
use herald_tests::http::{Reply, call};
use herald_tests::providers::FakeProviders;
use herald_tests::push::{ChartAnswer, ChartServer, PushApp};
use herald_tests::sample_task;
use serde_json::{Value, json};

const NOW: &str = "2026-11-25T01:00:00Z";
const PROJECT: &str = "payments";
const TASKS: &str = "/v1/projects/payments/tasks";
const RECORDS: &str = "/v1/projects/payments/records";
const ROBOT_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

fn at(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t).expect("time").to_utc()
}

async fn fakes() -> FakeProviders {
    FakeProviders::start(
        WecomConfig::default()
            .with_users(["zhangsan", "lisi"])
            .with_robot_key(ROBOT_KEY),
        FeishuConfig::default(),
    )
    .await
}

async fn app(fakes: &FakeProviders) -> PushApp {
    let app = PushApp::new(NOW, fakes.config());
    app.configure_all(fakes).await;
    app
}

/// The sample task (Mon/Thu 10:00 Asia/Shanghai from 2026-12-01) reading `charts` from the chart
/// server, with the given exception control.
fn task_body(server: &ChartServer, charts: &[&str], exception_control: Value) -> Value {
    let mut body = sample_task("2026-12-01");
    body["page"]["charts"] = charts
        .iter()
        .map(|name| json!({"name": name, "data_url": server.url(name), "rows": "/data/rows"}))
        .collect();
    body["exception_control"] = exception_control;
    body
}

fn rule(range: &[&str], pause: bool, alarm: bool) -> Value {
    json!({"range": range, "pause": pause, "alarm": alarm})
}

fn control(empty: Value, access_error: Value) -> Value {
    json!({"empty": empty, "access_error": access_error})
}

fn no_rule() -> Value {
    rule(&["fully", "partially"], false, false)
}

async fn create(app: &PushApp, body: &Value) -> String {
    let reply = app.admin(Method::POST, TASKS, body).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "create: {:#}",
        reply.body
    );
    reply.body["id"].as_str().expect("id").to_owned()
}

fn ids(task: &str) -> (ProjectId, TaskId) {
    (
        ProjectId::parse(PROJECT.to_owned()).expect("project"),
        TaskId::parse(task).expect("task id"),
    )
}

fn started(trigger: Trigger) -> PushRun {
    match trigger {
        Trigger::Started(run) => *run,
        other => panic!("expected a started run, got {other:?}"),
    }
}

/// Sends every due delivery (the worker settles runs as they finish).
async fn drain(app: &PushApp) {
    for _ in 0..10 {
        if app.worker.run_due(500).await.expect("run due") == 0 {
            return;
        }
    }
}

/// Fires one scheduled time through the push service, sends what it queued, answers the record.
async fn fire(app: &PushApp, task: &str, when: &str) -> Value {
    let (project, task_id) = ids(task);
    app.clock.set(at(when));
    let run = started(
        app.pushes
            .run_scheduled(&project, &task_id, at(when))
            .await
            .expect("run scheduled"),
    );
    drain(app).await;
    record(app, &run.id.to_string()).await
}

async fn record(app: &PushApp, run: &str) -> Value {
    let reply = app
        .admin(Method::GET, &format!("{RECORDS}/{run}"), &Value::Null)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "record: {:#}", reply.body);
    reply.body
}

async fn get_task(app: &PushApp, task: &str) -> Value {
    let reply = app
        .admin(Method::GET, &format!("{TASKS}/{task}"), &Value::Null)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "task: {:#}", reply.body);
    reply.body
}

async fn list(app: &PushApp, query: &str) -> Reply {
    app.admin(Method::GET, &format!("{RECORDS}?{query}"), &Value::Null)
        .await
}

fn items(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, StatusCode::OK, "list: {:#}", reply.body);
    reply.body["items"].as_array().expect("items").clone()
}

/// The WeCom app messages with words (each push also sends the page snapshot as an image
/// message first; those are checked in report_content.rs and counted by `pictures`).
fn app_messages(fakes: &FakeProviders) -> Vec<AcceptedMessage> {
    sent_at(fakes, Endpoint::WecomSend, false)
}

/// The robot's alarms with words (an empty-data alarm also sends the snapshot as a picture).
fn robot_messages(fakes: &FakeProviders) -> Vec<AcceptedMessage> {
    sent_at(fakes, Endpoint::WecomRobot, false)
}

/// The image messages sent to `endpoint`.
fn pictures(fakes: &FakeProviders, endpoint: Endpoint) -> Vec<AcceptedMessage> {
    sent_at(fakes, endpoint, true)
}

fn sent_at(fakes: &FakeProviders, endpoint: Endpoint, images: bool) -> Vec<AcceptedMessage> {
    fakes
        .wecom
        .delivered()
        .into_iter()
        .filter(|m| m.endpoint == endpoint && (m.msgtype == "image") == images)
        .collect()
}

fn text_of(m: &AcceptedMessage) -> String {
    m.body.to_string()
}

async fn schedule_enabled(app: &PushApp, task: &str) -> bool {
    app.scheduler
        .all()
        .await
        .expect("schedules")
        .into_iter()
        .find(|(d, _)| d.task.to_string() == task)
        .expect("schedule exists")
        .0
        .enabled
}

async fn key(app: &PushApp, body: Value) -> String {
    let reply = app.admin(Method::POST, "/v1/keys", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:#}", reply.body);
    reply.body["key"].as_str().expect("key").to_owned()
}

mod attachments;
mod auto_stop;
mod calendar_and_idempotency;
mod conditions;
mod dingtalk;
mod exception_control;
mod groups;
mod records;
mod restarts;
mod snapshot_links;
mod test_and_manual;
mod variables;
mod workdays;
