//! Test pushes and manual pushes; the SSRF guard on a chart address.
use super::*;

#[tokio::test]
async fn a_test_push_reaches_only_the_owner_and_returns_the_run_with_the_providers_answer() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    // Exception control does not apply to test pushes.
    charts.set("Refunds", ChartAnswer::Empty);
    let task = create(
        &app,
        &task_body(
            &charts,
            &["Orders", "Refunds"],
            control(rule(&["partially"], true, true), no_rule()),
        ),
    )
    .await;

    let reply = app
        .admin(Method::POST, &format!("{TASKS}/{task}/test"), &Value::Null)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    let run = &reply.body;
    assert_eq!(run["kind"], "test");
    assert_eq!(run["outcome"], "delivered", "{run:#}");
    assert!(run["scheduled_for"].is_null());
    let deliveries = run["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 1, "{run:#}");
    assert_eq!(deliveries[0]["to"], "lisi");
    assert_eq!(deliveries[0]["provider"], "wecom_app");
    assert_eq!(deliveries[0]["status"], "delivered");
    assert_eq!(deliveries[0]["history"][0]["result"], "accepted");
    assert!(
        !deliveries[0]["history"][0]["answer"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "the provider's answer: {run:#}"
    );
    assert_eq!(run["alarms"], json!([]));

    let sent = app_messages(&fakes);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].recipients,
        vec!["lisi".to_owned()],
        "the owner only"
    );
    assert!(robot_messages(&fakes).is_empty());
}

#[tokio::test]
async fn a_test_push_answers_in_time_with_the_run_still_sending_when_the_provider_is_slow() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = PushApp::answering_within(NOW, fakes.config(), std::time::Duration::from_secs(2));
    app.configure_all(&fakes).await;
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    // WeCom takes 8 s to answer: longer than the request may wait.
    fakes.wecom.inject(
        FaultRule::next(
            1,
            Fault::Delay {
                delay: std::time::Duration::from_secs(8),
            },
        )
        .on(Endpoint::WecomSend),
    );
    let started = std::time::Instant::now();
    let reply = app
        .admin(Method::POST, &format!("{TASKS}/{task}/test"), &Value::Null)
        .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:#}", reply.body);
    assert_eq!(reply.body["outcome"], "sending", "{:#}", reply.body);
    let record = format!(
        "/v1/projects/payments/records/{}",
        reply.body["id"].as_str().expect("id")
    );

    // The send goes on without the caller; the record ends delivered.
    let mut outcome = Value::Null;
    for _ in 0..200 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        outcome = app.admin(Method::GET, &record, &Value::Null).await.body["outcome"].clone();
        if outcome == "delivered" {
            break;
        }
    }
    assert_eq!(outcome, "delivered");
    assert_eq!(app_messages(&fakes).len(), 1, "sent once");
}

#[tokio::test]
async fn a_test_push_whose_charts_are_too_slow_answers_in_time_with_the_charts_unread() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = PushApp::answering_within(NOW, fakes.config(), std::time::Duration::from_secs(2));
    app.configure_all(&fakes).await;
    charts.set(
        "Orders",
        ChartAnswer::Slow(std::time::Duration::from_secs(8), 3),
    );
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    let started = std::time::Instant::now();
    let reply = app
        .admin(Method::POST, &format!("{TASKS}/{task}/test"), &Value::Null)
        .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(reply.status.is_success(), "{:#}", reply.body);
    let chart = &reply.body["charts"][0];
    assert_eq!(chart["status"], "access_error", "{:#}", reply.body);
    assert!(
        chart["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("not read within 1.4 s"),
        "{chart:#}"
    );
}

#[tokio::test]
async fn two_test_pushes_in_the_same_minute_both_arrive_past_wecoms_duplicate_check() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    for _ in 0..2 {
        let reply = app
            .admin(Method::POST, &format!("{TASKS}/{task}/test"), &Value::Null)
            .await;
        assert_eq!(reply.body["outcome"], "delivered", "{:#}", reply.body);
        app.clock.advance(chrono::TimeDelta::seconds(5));
    }
    // WeCom swallows an identical request within 30 minutes: the second test push must differ.
    assert_eq!(fakes.wecom.stats().suppressed_duplicates, 0);
    assert_eq!(app_messages(&fakes).len(), 2);
    assert_eq!(pictures(&fakes, Endpoint::WecomSend).len(), 2);
}

#[tokio::test]
async fn a_manual_push_needs_confirm_and_then_reaches_the_recipients_even_when_disabled() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    let push = format!("{TASKS}/{task}/push");

    for body in [Value::Null, json!({}), json!({"confirm": false})] {
        let reply = app.admin(Method::POST, &push, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:#}",
            reply.body
        );
        assert_eq!(reply.code(), Some("failed_precondition"));
        assert_eq!(reply.field(), Some("confirm"));
        let message = reply.body["error"]["message"].as_str().expect("message");
        assert!(message.contains("2 WeCom users"), "says to whom: {message}");
        assert!(message.contains("Daily sales"), "{message}");
    }
    assert_eq!(charts.total_hits(), 0, "nothing was read");
    assert!(
        items(&list(&app, "").await).is_empty(),
        "nothing was recorded"
    );

    let disabled = app
        .admin(
            Method::POST,
            &format!("{TASKS}/{task}/disable"),
            &json!({"confirm": true}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{:#}", disabled.body);
    assert_eq!(disabled.body["state"], "disabled");

    let reply = app
        .admin(Method::POST, &push, &json!({"confirm": true}))
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:#}", reply.body);
    assert_eq!(reply.body["kind"], "manual");
    assert_eq!(reply.body["deliveries"][0]["to"], "zhangsan, lisi");
    drain(&app).await;

    let sent = app_messages(&fakes);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].recipients, vec!["zhangsan", "lisi"]);
    let rec = record(&app, reply.body["id"].as_str().unwrap()).await;
    assert_eq!(rec["outcome"], "delivered", "{rec:#}");
    assert_eq!(rec["kind"], "manual");
}

/// A manual push retried with its `Idempotency-Key` (a caller whose gateway timed out) answers
/// the same run and pushes once; another key pushes again; a bad key is named.
#[tokio::test]
async fn a_manual_push_retried_with_its_idempotency_key_pushes_once() {
    use herald_tests::http::call_with_headers;
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    let push = format!("{TASKS}/{task}/push");
    let confirm = json!({"confirm": true});
    let send = |key: &'static str| {
        let (router, push, confirm) = (app.router.clone(), push.clone(), confirm.clone());
        async move {
            call_with_headers(
                &router,
                Method::POST,
                &push,
                Some(herald_tests::ADMIN_TOKEN),
                &[("Idempotency-Key", key)],
                &confirm,
            )
            .await
        }
    };
    let first = send("push-2026-12-07-a1").await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{:#}", first.body);
    let again = send("push-2026-12-07-a1").await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{:#}", again.body);
    assert_eq!(again.body["id"], first.body["id"], "the same run");
    drain(&app).await;
    assert_eq!(app_messages(&fakes).len(), 1, "pushed once");
    assert_eq!(items(&list(&app, "").await).len(), 1, "one record");
    let other = send("push-2026-12-07-b2").await;
    assert_ne!(
        other.body["id"], first.body["id"],
        "another key, another push"
    );
    drain(&app).await;
    assert_eq!(app_messages(&fakes).len(), 2);
    let bad = send("has spaces in it").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{:#}", bad.body);
    assert_eq!(bad.field(), Some("Idempotency-Key"));
}

#[tokio::test]
async fn a_viewer_cannot_test_or_push_and_another_projects_key_sees_no_task() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    let viewer = key(&app, json!({"project": PROJECT, "role": "viewer"})).await;
    let stranger = key(&app, json!({"project": "other", "role": "editor"})).await;
    for path in ["test", "push"] {
        let uri = format!("{TASKS}/{task}/{path}");
        let r = call(
            &app.router,
            Method::POST,
            &uri,
            Some(&viewer),
            &json!({"confirm": true}),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "viewer {path}: {:#}",
            r.body
        );
        let r = call(
            &app.router,
            Method::POST,
            &uri,
            Some(&stranger),
            &json!({"confirm": true}),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "stranger {path}: {:#}",
            r.body
        );
    }
    assert!(fakes.wecom.delivered().is_empty());
}

#[tokio::test]
async fn a_chart_at_the_metadata_address_is_refused_by_the_ssrf_guard_without_connecting() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    // The production default: no allowlist, so loopback is refused too.
    let app = PushApp::build(
        NOW,
        fakes.config(),
        ChartLimits::default(),
        SsrfPolicy::default(),
    );
    app.configure_all(&fakes).await;
    let mut body = task_body(
        &charts,
        &["Loopback"],
        control(no_rule(), rule(&["fully", "partially"], true, false)),
    );
    body["page"]["charts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "Metadata", "data_url": "http://169.254.169.254/latest/meta-data", "rows": "/data/rows"}));
    let task = create(&app, &body).await;

    let begun = std::time::Instant::now();
    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert!(
        begun.elapsed() < std::time::Duration::from_secs(2),
        "refused, not timed out"
    );

    assert_eq!(rec["outcome"], "paused", "{rec:#}");
    assert_eq!(rec["reason"], "access_error");
    for c in rec["charts"].as_array().unwrap() {
        assert_eq!(c["status"], "access_error", "{c:#}");
        let reason = c["reason"].as_str().unwrap();
        assert!(reason.contains("SSRF guard"), "{reason}");
    }
    let meta = rec["charts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Metadata")
        .unwrap();
    assert!(
        meta["reason"].as_str().unwrap().contains("169.254.169.254"),
        "{meta:#}"
    );
    assert!(meta["elapsed_ms"].as_u64().unwrap() < 1000, "{meta:#}");
    assert_eq!(
        charts.total_hits(),
        0,
        "no connection was made to the refused loopback chart"
    );
}
