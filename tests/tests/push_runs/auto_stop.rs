//! Stopping a task after repeated failures, the notices it sends, and starting it again.
use super::*;

const FIRINGS: [&str; 5] = [
    "2026-12-03T02:00:00Z",
    "2026-12-07T02:00:00Z",
    "2026-12-10T02:00:00Z",
    "2026-12-14T02:00:00Z",
    "2026-12-17T02:00:00Z",
];

#[tokio::test]
async fn three_access_error_pauses_stop_the_task_tell_owner_and_robot_and_enable_resets_it() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("Orders", ChartAnswer::Status(503));
    let task = create(
        &app,
        &task_body(
            &charts,
            &["Orders"],
            control(
                rule(&["fully", "partially"], true, false),
                rule(&["fully", "partially"], true, false),
            ),
        ),
    )
    .await;
    // The local timer has seen the schedule.
    tick(&app.scheduler, &app.pushes, app.clock.now()).await;
    assert!(schedule_enabled(&app, &task).await);

    for (i, when) in FIRINGS[..2].iter().enumerate() {
        let rec = fire(&app, &task, when).await;
        assert_eq!(rec["outcome"], "paused");
        assert_eq!(rec["reason"], "access_error");
        let t = get_task(&app, &task).await;
        assert_eq!(t["consecutive_failures"], i as u64 + 1, "{t:#}");
        assert_eq!(t["state"], "enabled");
    }
    assert!(
        robot_messages(&fakes).is_empty(),
        "no alarm configured, nothing yet"
    );

    let rec = fire(&app, &task, FIRINGS[2]).await;
    assert_eq!(rec["outcome"], "paused");
    let t = get_task(&app, &task).await;
    assert_eq!(t["state"], "stopped", "{t:#}");
    assert_eq!(t["consecutive_failures"], 3);
    assert!(
        !schedule_enabled(&app, &task).await,
        "the schedule is disabled"
    );

    let robot = robot_messages(&fakes);
    assert_eq!(robot.len(), 1, "the robot is told: {robot:#?}");
    let text = text_of(&robot[0]);
    assert!(
        text.contains("Daily sales") && text.contains("stopped after 3 failed"),
        "{text}"
    );
    let owner: Vec<_> = app_messages(&fakes)
        .into_iter()
        .filter(|m| m.recipients == vec!["lisi".to_owned()])
        .collect();
    assert_eq!(owner.len(), 1, "the owner is told");
    assert!(
        text_of(&owner[0]).contains("stopped after 3 failed"),
        "{}",
        text_of(&owner[0])
    );
    let logs = app
        .admin(
            Method::GET,
            &format!("{RECORDS}/{}/logs", rec["id"].as_str().unwrap()),
            &Value::Null,
        )
        .await;
    assert!(
        logs.body.to_string().contains("the task is stopped"),
        "the run that stopped it says so: {:#}",
        logs.body
    );

    // A stopped task's firing (if the schedule still fired) is only recorded as skipped.
    let hits = charts.hits("Orders");
    let rec = fire(&app, &task, FIRINGS[3]).await;
    assert_eq!(rec["outcome"], "skipped");
    assert!(
        rec["reason"].as_str().unwrap().contains("stopped"),
        "{rec:#}"
    );
    assert_eq!(charts.hits("Orders"), hits, "a skipped run reads nothing");

    // enable starts it again and resets the count.
    let enabled = app
        .admin(
            Method::POST,
            &format!("{TASKS}/{task}/enable"),
            &Value::Null,
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{:#}", enabled.body);
    assert_eq!(enabled.body["state"], "enabled");
    assert_eq!(enabled.body["consecutive_failures"], 0);
    assert!(schedule_enabled(&app, &task).await);
}

#[tokio::test]
async fn the_run_that_stops_a_task_lists_the_stop_notices_it_sent() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("Orders", ChartAnswer::Status(503));
    let task = create(
        &app,
        &task_body(
            &charts,
            &["Orders"],
            control(no_rule(), rule(&["fully"], true, false)),
        ),
    )
    .await;
    let mut last = Value::Null;
    for when in &FIRINGS[..3] {
        last = fire(&app, &task, when).await;
    }
    assert_eq!(get_task(&app, &task).await["state"], "stopped");
    assert_eq!(robot_messages(&fakes).len(), 1, "the notice was sent");
    // BUG (shared/core/src/services/runs/ledger.rs, RunLedger::write): the stop notices are queued
    // with the run's write but never added to `run.alarms`, so the record and its logs omit them
    // and their provider answers. The record must show every delivery the run caused.
    let alarms = last["alarms"].as_array().expect("alarms");
    assert_eq!(
        alarms.len(),
        2,
        "the stop notices are part of the record: {last:#}"
    );
}

#[tokio::test]
async fn editing_a_stopped_task_starts_it_again_and_resets_the_count() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("Orders", ChartAnswer::Status(503));
    let body = task_body(
        &charts,
        &["Orders"],
        control(no_rule(), rule(&["fully"], true, false)),
    );
    let task = create(&app, &body).await;
    for when in &FIRINGS[..3] {
        fire(&app, &task, when).await;
    }
    let t = get_task(&app, &task).await;
    assert_eq!(t["state"], "stopped");
    assert!(!schedule_enabled(&app, &task).await);
    let mut edited = body.clone();
    edited["name"] = json!("Daily sales v2");
    edited["version"] = t["version"].clone();
    edited["schedule"]["start"] = json!("2026-12-15");
    let reply = app
        .admin(Method::PUT, &format!("{TASKS}/{task}"), &edited)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_eq!(reply.body["state"], "enabled");
    assert_eq!(reply.body["consecutive_failures"], 0);
    assert!(schedule_enabled(&app, &task).await);
}

#[tokio::test]
async fn an_alarm_links_to_the_runs_record_when_a_url_prefix_is_set() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let reply = app
        .admin(
            Method::PUT,
            "/v1/settings",
            &json!({"url_prefix": "https://herald.example.com"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    charts.set("Orders", ChartAnswer::Empty);
    let task = create(
        &app,
        &task_body(
            &charts,
            &["Orders"],
            control(rule(&["fully"], true, true), no_rule()),
        ),
    )
    .await;
    let rec = fire(&app, &task, FIRINGS[0]).await;
    let link = format!(
        "https://herald.example.com/projects/payments/records/{}",
        rec["id"].as_str().unwrap()
    );
    let robot = robot_messages(&fakes);
    assert_eq!(robot.len(), 1);
    assert!(
        text_of(&robot[0]).contains(&link),
        "{} lacks {link}",
        text_of(&robot[0])
    );
}

#[tokio::test]
async fn empty_data_pauses_do_not_count_toward_the_failure_limit_and_a_delivery_resets_it() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let task = create(
        &app,
        &task_body(
            &charts,
            &["Orders"],
            control(rule(&["fully"], true, false), rule(&["fully"], true, false)),
        ),
    )
    .await;

    charts.set("Orders", ChartAnswer::Status(503));
    fire(&app, &task, FIRINGS[0]).await;
    assert_eq!(get_task(&app, &task).await["consecutive_failures"], 1);

    charts.set("Orders", ChartAnswer::Empty);
    for when in &FIRINGS[1..4] {
        let rec = fire(&app, &task, when).await;
        assert_eq!(rec["outcome"], "paused");
        assert_eq!(rec["reason"], "empty");
    }
    let t = get_task(&app, &task).await;
    assert_eq!(
        t["consecutive_failures"], 1,
        "three empty pauses count nothing: {t:#}"
    );
    assert_eq!(t["state"], "enabled");

    charts.set("Orders", ChartAnswer::Rows(2));
    let rec = fire(&app, &task, FIRINGS[4]).await;
    assert_eq!(rec["outcome"], "delivered");
    let t = get_task(&app, &task).await;
    assert_eq!(
        t["consecutive_failures"], 0,
        "a delivered run resets the count: {t:#}"
    );
}

#[tokio::test]
async fn three_runs_whose_deliveries_wecom_refuses_fail_and_stop_the_task() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    // WeCom refuses every app message for a configuration reason (60020, untrusted IP): permanent.
    fakes
        .wecom
        .inject(FaultRule::always(Fault::UntrustedIp).on(Endpoint::WecomSend));

    for (i, when) in FIRINGS[..3].iter().enumerate() {
        let rec = fire(&app, &task, when).await;
        assert_eq!(rec["outcome"], "failed", "run {i}: {rec:#}");
        let d = &rec["deliveries"][0];
        assert_eq!(d["status"], "dead", "{d:#}");
        assert_eq!(
            d["history"][0]["code"], 60020,
            "the provider's answer is kept: {d:#}"
        );
    }
    let t = get_task(&app, &task).await;
    assert_eq!(t["state"], "stopped", "{t:#}");
    assert_eq!(t["consecutive_failures"], 3);
    assert!(!schedule_enabled(&app, &task).await);
    let robot = robot_messages(&fakes);
    assert_eq!(
        robot.len(),
        1,
        "the robot (not affected by the WeCom app fault) is told"
    );
    assert!(
        text_of(&robot[0]).contains("stopped after 3 failed"),
        "{}",
        text_of(&robot[0])
    );

    // enable resets it.
    let enabled = app
        .admin(
            Method::POST,
            &format!("{TASKS}/{task}/enable"),
            &Value::Null,
        )
        .await;
    assert_eq!(enabled.body["state"], "enabled", "{:#}", enabled.body);
    assert_eq!(enabled.body["consecutive_failures"], 0);
}
