//! Restart safety: missed times, late timers; contacts resolved through the directory.
use super::*;

#[tokio::test]
async fn a_new_tasks_first_run_is_not_skipped_when_the_timer_first_sees_it_late() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    // The timer's first look at the new schedule comes just after its first firing (Thu 02:00Z).
    let first = at("2026-12-03T02:00:00.400Z");
    app.clock.set(first);
    assert_eq!(
        tick(&app.scheduler, &app.pushes, first).await,
        1,
        "the first run is not lost"
    );
    drain(&app).await;
    assert_eq!(
        tick(&app.scheduler, &app.pushes, first + Duration::seconds(1)).await,
        0
    );
    assert_eq!(charts.hits("Orders"), 1);
}

#[tokio::test]
async fn a_time_missed_beyond_the_grace_period_is_skipped_one_within_it_runs_once() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;

    // Running before Thursday's firing.
    app.clock.set(at("2026-12-03T01:00:00Z"));
    assert_eq!(
        tick(&app.scheduler, &app.pushes, at("2026-12-03T01:00:00Z")).await,
        0
    );

    // Down from 01:00 to 02:30: Thursday 02:00 is 30 minutes late, beyond the 10-minute grace.
    let back = at("2026-12-03T02:30:00Z");
    app.clock.set(back);
    let restarted = app.restarted(fakes.config());
    assert_eq!(tick(&restarted.scheduler, &restarted.pushes, back).await, 1);
    assert_eq!(
        tick(
            &restarted.scheduler,
            &restarted.pushes,
            back + Duration::minutes(1)
        )
        .await,
        0
    );
    let listed = items(&list(&app, &format!("task={task}")).await);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["outcome"], "skipped");
    assert_eq!(listed[0]["scheduled_for"], "2026-12-03T02:00:00Z");
    let reason = listed[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("missed") && reason.contains("not running"),
        "{reason}"
    );
    assert_eq!(charts.total_hits(), 0, "a skipped time reads nothing");

    // Down again over Monday 02:00, back at 02:07: within the grace period, run once.
    let back = at("2026-12-07T02:07:00Z");
    app.clock.set(back);
    let again = restarted.restarted(fakes.config());
    assert_eq!(tick(&again.scheduler, &again.pushes, back).await, 1);
    drain(&again).await;
    for later in 1..=3 {
        let now = back + Duration::minutes(later);
        app.clock.set(now);
        assert_eq!(
            tick(&again.scheduler, &again.pushes, now).await,
            0,
            "ticking again runs nothing"
        );
    }
    // Even a restart that lost the timer's memory does not run it twice: the claim holds.
    let (_, task_id) = ids(&task);
    again
        .scheduler
        .set_last_fired(&task_id, at("2026-12-07T01:00:00Z"))
        .await
        .expect("rewind");
    let third = again.restarted(fakes.config());
    tick(&third.scheduler, &third.pushes, back + Duration::minutes(4)).await;
    drain(&third).await;

    let listed = items(&list(&app, &format!("task={task}")).await);
    assert_eq!(listed.len(), 2, "{listed:#?}");
    assert_eq!(listed[0]["scheduled_for"], "2026-12-07T02:00:00Z");
    assert_eq!(listed[0]["outcome"], "delivered", "{:#}", listed[0]);
    assert_eq!(listed[0]["started_at"], "2026-12-07T02:07:00Z");
    assert_eq!(app_messages(&fakes).len(), 1, "one message for Monday");
}

#[tokio::test]
async fn a_long_outage_records_each_missed_time_once_as_skipped() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    tick(&app.scheduler, &app.pushes, at("2026-12-01T00:00:00Z")).await;
    let back = at("2026-12-15T00:00:00Z");
    app.clock.set(back);
    assert_eq!(
        tick(&app.scheduler, &app.pushes, back).await,
        4,
        "3, 7, 10 and 14 December"
    );
    assert_eq!(
        tick(&app.scheduler, &app.pushes, back + Duration::minutes(1)).await,
        0
    );
    let listed = items(&list(&app, &format!("task={task}")).await);
    let mut times: Vec<&str> = listed
        .iter()
        .map(|r| r["scheduled_for"].as_str().unwrap())
        .collect();
    times.sort();
    assert_eq!(
        times,
        [
            "2026-12-03T02:00:00Z",
            "2026-12-07T02:00:00Z",
            "2026-12-10T02:00:00Z",
            "2026-12-14T02:00:00Z"
        ]
    );
    assert!(listed.iter().all(|r| r["outcome"] == "skipped"));
    assert_eq!(charts.total_hits(), 0);
    assert!(fakes.wecom.delivered().is_empty());
}

#[tokio::test]
async fn contact_recipients_are_resolved_through_the_contacts_directory() {
    let fakes = FakeProviders::start(
        WecomConfig::default()
            .with_users(["zhangsan", "lisi", "wangwu"])
            .with_robot_key(ROBOT_KEY),
        FeishuConfig::default(),
    )
    .await;
    let app = app(&fakes).await;
    let server = ChartServer::start().await;
    // wang is reachable on WeCom; zhao has only an e-mail address; ghost does not exist.
    for (id, body) in [
        ("wang", json!({"name": "Wang Wu", "wecom_user": "wangwu"})),
        (
            "zhao",
            json!({"name": "Zhao Liu", "email": "zhao@example.com"}),
        ),
    ] {
        let reply = app
            .admin(Method::PUT, &format!("/v1/contacts/{id}"), &body)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    }
    let mut body = task_body(&server, &["GMV"], control(no_rule(), no_rule()));
    body["recipients"] =
        json!({"wecom_users": ["zhangsan"], "contacts": ["wang", "zhao", "ghost"]});
    let task = create(&app, &body).await;

    let run = fire(&app, &task, "2026-12-03T02:00:00Z").await;

    assert_eq!(run["outcome"], "delivered", "{run:#}");
    let recipients: Vec<String> = app_messages(&fakes)
        .iter()
        .flat_map(|m| m.recipients.clone())
        .collect();
    assert_eq!(recipients, vec!["zhangsan".to_owned(), "wangwu".to_owned()]);
    let logs = app
        .admin(
            Method::GET,
            &format!("{}/{}/logs", RECORDS, run["id"].as_str().expect("id")),
            &Value::Null,
        )
        .await;
    let lines: Vec<String> = logs.body["items"]
        .as_array()
        .expect("log lines")
        .iter()
        .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l == "contact not reached: zhao: no WeCom identity"),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "contact not reached: ghost: no such contact"),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn an_owner_given_only_as_a_contact_gets_the_alarm() {
    let fakes = FakeProviders::start(
        WecomConfig::default()
            .with_users(["zhangsan", "wangwu"])
            .with_robot_key(ROBOT_KEY),
        FeishuConfig::default(),
    )
    .await;
    let app = app(&fakes).await;
    let charts = ChartServer::start().await;
    let reply = app
        .admin(
            Method::PUT,
            "/v1/contacts/wang",
            &json!({"name": "Wang Wu", "wecom_user": "wangwu"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    charts.set("Refunds", ChartAnswer::Empty);
    let mut body = task_body(
        &charts,
        &["Refunds"],
        control(rule(&["fully"], true, true), no_rule()),
    );
    body["owner"] = json!({"contact": "wang"});
    let task = create(&app, &body).await;

    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;

    assert_eq!(rec["outcome"], "paused", "{rec:#}");
    let owner_alarms: Vec<&Value> = rec["alarms"]
        .as_array()
        .expect("alarms")
        .iter()
        .filter(|a| a["provider"] == "wecom_app")
        .collect();
    assert_eq!(owner_alarms.len(), 1, "{rec:#}");
    assert_eq!(owner_alarms[0]["to"], "wangwu");
    assert_eq!(owner_alarms[0]["status"], "delivered");
    let sent = app_messages(&fakes);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].recipients, vec!["wangwu".to_owned()]);
}
