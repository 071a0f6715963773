//! The records API: filters, cursors, details and logs; bad filters refused.
use super::*;

#[tokio::test]
async fn records_list_with_filters_and_cursor_and_show_details_and_logs() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("Orders", ChartAnswer::Rows(3));
    let a = create(
        &app,
        &task_body(
            &charts,
            &["Orders"],
            control(rule(&["fully"], true, false), no_rule()),
        ),
    )
    .await;
    let mut other = task_body(&charts, &["Orders"], control(no_rule(), no_rule()));
    other["name"] = json!("Weekly refunds");
    let b = create(&app, &other).await;

    // 1. A's scheduled run, whose first attempt WeCom answers "system busy".
    fakes
        .wecom
        .inject(FaultRule::next(1, Fault::SystemBusy).on(Endpoint::WecomSend));
    let delivered = fire(&app, &a, "2026-12-03T02:00:00Z").await;
    assert_eq!(
        delivered["outcome"], "sending",
        "a retry is pending: {delivered:#}"
    );
    app.clock.set(at("2026-12-03T02:10:00Z"));
    drain(&app).await;
    let delivered_id = delivered["id"].as_str().unwrap().to_owned();
    // 2. A's paused run (empty).
    charts.set("Orders", ChartAnswer::Empty);
    let paused = fire(&app, &a, "2026-12-07T02:00:00Z").await;
    assert_eq!(paused["outcome"], "paused");
    charts.set("Orders", ChartAnswer::Rows(3));
    // 3. A manual push of A.
    app.clock.set(at("2026-12-08T05:00:00Z"));
    let manual = app
        .admin(
            Method::POST,
            &format!("{TASKS}/{a}/push"),
            &json!({"confirm": true}),
        )
        .await;
    assert_eq!(manual.status, StatusCode::ACCEPTED);
    drain(&app).await;
    // 4. A test push of B.
    app.clock.set(at("2026-12-09T05:00:00Z"));
    let test = app
        .admin(Method::POST, &format!("{TASKS}/{b}/test"), &Value::Null)
        .await;
    assert_eq!(test.status, StatusCode::OK, "{:#}", test.body);
    // 5. B disabled, its schedule fires: skipped.
    app.admin(
        Method::POST,
        &format!("{TASKS}/{b}/disable"),
        &json!({"confirm": true}),
    )
    .await;
    let skipped = fire(&app, &b, "2026-12-10T02:00:00Z").await;
    assert_eq!(skipped["outcome"], "skipped");
    assert_eq!(skipped["reason"], "the task is disabled");

    let all = items(&list(&app, "").await);
    assert_eq!(all.len(), 5);
    let kinds: Vec<&str> = all.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["scheduled", "test", "manual", "scheduled", "scheduled"],
        "newest first"
    );
    let outcomes: Vec<&str> = all.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        ["skipped", "delivered", "delivered", "paused", "delivered"]
    );

    let count = |q: &'static str| {
        let app = &app;
        async move { items(&list(app, q).await).len() }
    };
    assert_eq!(items(&list(&app, &format!("task={a}")).await).len(), 3);
    assert_eq!(items(&list(&app, &format!("task={b}")).await).len(), 2);
    assert_eq!(count("outcome=paused").await, 1);
    assert_eq!(count("outcome=skipped").await, 1);
    assert_eq!(count("outcome=delivered").await, 3);
    assert_eq!(count("kind=manual").await, 1);
    assert_eq!(count("kind=test").await, 1);
    assert_eq!(count("kind=scheduled").await, 3);
    assert_eq!(
        items(&list(&app, &format!("task={a}&kind=scheduled&outcome=delivered")).await)[0]["id"],
        delivered_id.as_str()
    );
    // Runs started within 7 Dec 00:00Z .. 9 Dec 23:59Z: the paused, manual and test runs.
    let window = items(&list(&app, "from=2026-12-07T00:00:00Z&to=2026-12-09T23:59:59Z").await);
    let kinds: Vec<&str> = window.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["test", "manual", "scheduled"], "{window:#?}");
    assert_eq!(
        count("from=2026-12-10T08:00:00%2B08:00").await,
        1,
        "offsets are understood"
    );

    // Cursor paging: 2 + 2 + 1, newest first, nothing twice.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".to_owned(),
        };
        let reply = list(&app, &q).await;
        let page = items(&reply);
        pages += 1;
        assert!(page.len() <= 2);
        paged.extend(page.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match reply.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 5, "paging ends");
    }
    let ids: Vec<String> = all
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paged, ids);
    assert_eq!(pages, 3);

    // Details of the delivered scheduled run.
    let rec = record(&app, &delivered_id).await;
    assert_eq!(rec["kind"], "scheduled");
    assert_eq!(rec["scheduled_for"], "2026-12-03T02:00:00Z");
    assert_eq!(rec["outcome"], "delivered", "{rec:#}");
    assert!(rec["finished_at"].is_string());
    assert_eq!(rec["charts"][0]["name"], "Orders");
    assert_eq!(rec["charts"][0]["status"], "ok");
    assert_eq!(rec["charts"][0]["rows"], 3);
    assert_eq!(rec["message"]["channel"], "wecom");
    assert_eq!(rec["message"]["template"], "card");
    assert!(
        rec["message"]["body"]
            .to_string()
            .contains("Sales overview"),
        "{rec:#}"
    );
    let d = &rec["deliveries"][0];
    assert_eq!(d["provider"], "wecom_app");
    assert_eq!(d["to"], "zhangsan, lisi");
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["history"][0]["result"], "transient", "{d:#}");
    assert_eq!(d["history"][0]["code"], -1);
    assert_eq!(d["history"][1]["result"], "accepted");
    assert!(!d["history"][1]["answer"].as_str().unwrap().is_empty());

    // Its logs: the run's lines and both attempts, in time order.
    let logs = app
        .admin(
            Method::GET,
            &format!("{RECORDS}/{delivered_id}/logs"),
            &Value::Null,
        )
        .await;
    assert_eq!(logs.status, StatusCode::OK, "{:#}", logs.body);
    let lines = logs.body["items"].as_array().expect("items");
    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    let times: Vec<DateTime<Utc>> = lines
        .iter()
        .map(|l| at(l["at"].as_str().unwrap()))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "time order: {messages:#?}"
    );
    let position = |needle: &str| {
        messages
            .iter()
            .position(|m| m.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}: {messages:#?}"))
    };
    let started = position("scheduled run of 'Daily sales' started");
    // Each chart's line says where it was read from (an address without its query).
    let chart = position("chart 'Orders' from http://127.0.0.1:");
    assert!(messages[chart].contains(": 3 rows"), "{}", messages[chart]);
    let queued = position("queued 1 deliveries");
    let attempt1 = position("wecom_app to zhangsan, lisi, attempt 1: failed (-1)");
    let attempt2 = position("wecom_app to zhangsan, lisi, attempt 2: accepted");
    let finished = position("run finished: delivered");
    assert!(started < chart && chart < queued && queued < attempt1 && attempt1 < attempt2);
    assert!(queued < finished);
    assert_eq!(lines[attempt1]["level"], "warn");
    assert_eq!(lines[started]["level"], "info");

    // Keys: a viewer reads, another project's key gets 404.
    let viewer = key(&app, json!({"project": PROJECT, "role": "viewer"})).await;
    let stranger = key(&app, json!({"project": "other", "role": "viewer"})).await;
    for uri in [
        RECORDS.to_owned(),
        format!("{RECORDS}/{delivered_id}"),
        format!("{RECORDS}/{delivered_id}/logs"),
    ] {
        let r = call(&app.router, Method::GET, &uri, Some(&viewer), &Value::Null).await;
        assert_eq!(r.status, StatusCode::OK, "viewer {uri}: {:#}", r.body);
        let r = call(
            &app.router,
            Method::GET,
            &uri,
            Some(&stranger),
            &Value::Null,
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "stranger {uri}: {:#}",
            r.body
        );
        let r = call(&app.router, Method::GET, &uri, None, &Value::Null).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "anonymous {uri}");
    }
    let unknown = format!("{RECORDS}/{}", uuid_like());
    assert_eq!(
        app.admin(Method::GET, &unknown, &Value::Null).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.admin(Method::GET, &format!("{RECORDS}/not-a-run"), &Value::Null)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

fn uuid_like() -> String {
    "01900000-0000-7000-8000-000000000000".to_owned()
}

#[tokio::test]
async fn bad_record_filters_are_refused_naming_the_field() {
    let fakes = fakes().await;
    let app = app(&fakes).await;
    for (query, field) in [
        ("outcome=great", "outcome"),
        ("kind=weekly", "kind"),
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("task=not-a-task", "task"),
    ] {
        let reply = list(&app, query).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {:#}",
            reply.body
        );
        assert_eq!(reply.code(), Some("invalid_argument"), "{query}");
        assert_eq!(reply.field(), Some(field), "{query}: {:#}", reply.body);
    }
    let reply = list(&app, "color=red").await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "unknown parameter: {:#}",
        reply.body
    );
}
