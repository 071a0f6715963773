//! The cn-workdays calendar through the stack: a daily 09:00 task over the whole of 2026 on the
//! local scheduler runs on the 248 working days (make-up weekends included) and records the
//! others skipped with the reason; its next run and the console's next five agree; admins correct
//! the calendar.
use super::*;
use chrono::Datelike;
use herald_tests::console::ConsoleClient;

const START: &str = "2026-01-01T00:00:00Z";

fn shanghai(date: chrono::NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    use chrono::TimeZone;
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&date.and_hms_opt(h, m, 0).expect("time"))
        .single()
        .expect("one time")
        .to_utc()
}

fn workday_task(server: &ChartServer) -> Value {
    let mut body = task_body(server, &["Orders"], control(no_rule(), no_rule()));
    body["schedule"] = json!({"every": "day", "at": "09:00", "timezone": "Asia/Shanghai",
        "start": "2026-01-01", "calendar": "cn-workdays"});
    // Nothing to draw: this is about the days.
    body["content"]["snapshot"] = json!(false);
    body
}

/// Every record of `task`, by the day (in Shanghai) it was scheduled for.
async fn records_by_day(app: &PushApp, task: &str) -> std::collections::BTreeMap<String, Value> {
    let mut all = std::collections::BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("task={task}&limit=100&cursor={c}"),
            None => format!("task={task}&limit=100"),
        };
        let reply = list(app, &q).await;
        for r in items(&reply) {
            let at = at(r["scheduled_for"].as_str().expect("scheduled_for"));
            let day = at
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .format("%Y-%m-%d");
            all.insert(day.to_string(), r);
        }
        match reply.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return all,
        }
    }
}

#[tokio::test]
async fn a_daily_cn_workdays_task_runs_on_2026s_working_days_and_make_up_weekends_only() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = PushApp::new(START, fakes.config());
    app.configure_all(&fakes).await;
    let task = create(&app, &workday_task(&charts)).await;
    let view = get_task(&app, &task).await;
    // Monday to Friday widened to every day: the trigger skips the days off.
    assert_eq!(view["schedule"]["expression"], "cron(0 9 * * ? *)");
    assert_eq!(view["schedule"]["calendar"], "cn-workdays");
    // 1–3 January are New Year's Day; 4 January, a Sunday, is worked.
    assert_eq!(view["next_run_at"], "2026-01-04T01:00:00Z", "{view:#}");

    // The local scheduler around 09:00 each day of the year (nothing else is due).
    // Records are read each month, before the retention ends them.
    let mut runs = std::collections::BTreeMap::new();
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("day");
    while day.year() == 2026 {
        for t in [shanghai(day, 8, 59), shanghai(day, 9, 1)] {
            app.clock.set(t);
            tick(&app.scheduler, &app.pushes, t).await;
        }
        day = day.succ_opt().expect("next day");
        if day.day() == 1 || day.year() > 2026 {
            runs.extend(records_by_day(&app, &task).await);
        }
    }

    assert_eq!(runs.len(), 365, "one record a day");
    let pushed: Vec<&String> = runs
        .iter()
        .filter(|(_, r)| r["outcome"] != "skipped")
        .map(|(day, _)| day)
        .collect();
    // PyPI chinesecalendar 1.11.0 counts 248 working days in 2026 (checked independently).
    assert_eq!(pushed.len(), 248);
    for make_up in ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"] {
        let r = &runs[&format!("2026-{make_up}")];
        assert_ne!(r["outcome"], "skipped", "make-up day {make_up}: {r:#}");
    }
    let national_day = &runs["2026-10-01"];
    assert_eq!(national_day["outcome"], "skipped");
    assert_eq!(
        national_day["reason"],
        "national holiday: 国庆节 (cn-workdays)"
    );
    assert_eq!(
        runs["2026-12-05"]["reason"],
        "weekend (Saturday) (cn-workdays)"
    );
    assert_eq!(charts.hits("Orders"), 248, "days off read nothing");
    assert_eq!(
        get_task(&app, &task).await["consecutive_failures"],
        0,
        "a day off is no failure"
    );
}

#[tokio::test]
async fn a_monday_to_friday_task_on_cn_workdays_also_runs_on_make_up_saturdays() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = PushApp::new(START, fakes.config());
    app.configure_all(&fakes).await;
    let mut body = workday_task(&charts);
    body["schedule"] = json!({"every": "week", "days": ["mon", "tue", "wed", "thu", "fri"],
        "at": "09:00", "timezone": "Asia/Shanghai", "start": "2026-01-01", "calendar": "cn-workdays"});
    let task = create(&app, &body).await;
    // EventBridge gets every day: a Monday-to-Friday cron never fires on a make-up Saturday.
    assert_eq!(
        get_task(&app, &task).await["schedule"]["expression"],
        "cron(0 9 ? * * *)"
    );
    let mut runs = std::collections::BTreeMap::new();
    let mut day = chrono::NaiveDate::from_ymd_opt(2026, 2, 9).expect("day");
    while day < chrono::NaiveDate::from_ymd_opt(2026, 3, 9).expect("day") {
        for t in [shanghai(day, 8, 59), shanghai(day, 9, 1)] {
            app.clock.set(t);
            tick(&app.scheduler, &app.pushes, t).await;
        }
        day = day.succ_opt().expect("next day");
    }
    runs.extend(records_by_day(&app, &task).await);
    let outcome = |day: &str| runs[day]["outcome"].as_str().unwrap_or_default().to_owned();
    // Saturdays 14 and 28 February are make-up working days; the Festival is 15–23 February.
    assert_ne!(outcome("2026-02-14"), "skipped");
    assert_ne!(outcome("2026-02-28"), "skipped");
    assert_eq!(
        runs["2026-02-16"]["reason"],
        "national holiday: 春节 (cn-workdays)"
    );
    assert_eq!(
        runs["2026-03-07"]["reason"],
        "weekend (Saturday) (cn-workdays)"
    );
    let pushed = runs.values().filter(|r| r["outcome"] != "skipped").count();
    // 9 Feb – 8 Mar: 20 weekdays, 6 of them in the Festival, and 2 make-up Saturdays.
    assert_eq!(pushed, 20 - 6 + 2, "{:?}", runs.keys().collect::<Vec<_>>());
}

#[tokio::test]
async fn the_next_run_and_the_consoles_next_five_follow_the_calendar_and_admins_correct_it() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = PushApp::new(START, fakes.config());
    app.configure_all(&fakes).await;
    let task = create(&app, &workday_task(&charts)).await;
    // Friday 18 September after 09:00: Sat 19 is off, Sun 20 is a make-up working day.
    app.clock.set(at("2026-09-18T02:00:00Z"));
    assert_eq!(
        get_task(&app, &task).await["next_run_at"],
        "2026-09-20T01:00:00Z"
    );
    let mut console = ConsoleClient::new(&app.router);
    console.sign_in(herald_tests::ADMIN_TOKEN).await;
    let next = console
        .get(
            "/ui/projects/payments/schedule/next?schedule.every=day&schedule.at=09:00\
             &schedule.timezone=Asia/Shanghai&schedule.start=2026-09-18&schedule.calendar=cn-workdays",
        )
        .await;
    let answer: Value = serde_json::from_str(&next.html).expect("json");
    let days: Vec<&str> = answer["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|t| &t.as_str().expect("time")[..10])
        .collect();
    // Shanghai 09:00 is 01:00 UTC the same day; 25–27 is the Mid-Autumn Festival.
    assert_eq!(
        days,
        [
            "2026-09-20",
            "2026-09-21",
            "2026-09-22",
            "2026-09-23",
            "2026-09-24"
        ]
    );

    // An admin gives Monday 21 September off: the next runs skip it, the trigger records why.
    let off = app
        .admin(
            Method::PUT,
            "/v1/calendars/cn-workdays/days/2026-09-21",
            &json!({"kind": "off", "name": "公司年会"}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{:#}", off.body);
    assert_eq!(
        off.body,
        json!({"date": "2026-09-21", "kind": "off", "name": "公司年会", "set": true})
    );
    let rec = fire(&app, &task, "2026-09-21T01:00:00Z").await;
    assert_eq!(rec["reason"], "day off: 公司年会 (cn-workdays)", "{rec:#}");
    app.clock.set(at("2026-09-20T02:00:00Z"));
    assert_eq!(
        get_task(&app, &task).await["next_run_at"],
        "2026-09-22T01:00:00Z"
    );
    let listed = app
        .admin(
            Method::GET,
            "/v1/calendars/cn-workdays?year=2026",
            &Value::Null,
        )
        .await;
    let days = listed.body["days"].as_array().expect("days");
    assert_eq!(days.len(), 33 + 6 + 1, "shipped 2026 days and the one set");
    assert_eq!(listed.body["days_set"], 1);

    // Deleting it brings the shipped calendar back; a second delete finds nothing.
    let path = "/v1/calendars/cn-workdays/days/2026-09-21";
    assert_eq!(
        app.admin(Method::DELETE, path, &Value::Null).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.admin(Method::DELETE, path, &Value::Null).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn calendars_refuse_bad_days_unknown_names_and_non_admins() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = PushApp::new(START, fakes.config());
    app.configure_all(&fakes).await;
    for (path, body, field) in [
        (
            "/v1/calendars/cn-workdays/days/2026-02-30",
            json!({"kind": "off"}),
            "date",
        ),
        (
            "/v1/calendars/Team_A/days/2026-02-03",
            json!({"kind": "off"}),
            "calendar",
        ),
        (
            "/v1/calendars/team-a/days/2026-02-03",
            json!({"kind": "holiday"}),
            "kind",
        ),
    ] {
        let reply = app.admin(Method::PUT, path, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {:#}",
            reply.body
        );
        assert_eq!(reply.body["error"]["field"], field, "{:#}", reply.body);
    }
    // A task may name only a calendar there is.
    let mut body = workday_task(&charts);
    body["schedule"]["calendar"] = json!("team-a");
    let refused = app.admin(Method::POST, TASKS, &body).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:#}",
        refused.body
    );
    assert_eq!(refused.body["error"]["field"], "schedule.calendar");
    // One day set makes the calendar; then tasks may use it.
    let made = app
        .admin(
            Method::PUT,
            "/v1/calendars/team-a/days/2026-02-03",
            &json!({"kind": "off", "name": "offsite"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{:#}", made.body);
    create(&app, &body).await;
    let names: Vec<Value> = app
        .admin(Method::GET, "/v1/calendars", &Value::Null)
        .await
        .body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, [json!("cn-workdays"), json!("team-a")]);
    // An editor reads calendars but does not change them.
    let editor = key(&app, json!({"role": "editor", "project": PROJECT})).await;
    let reply = call(
        &app.router,
        Method::PUT,
        "/v1/calendars/team-a/days/2026-02-04",
        Some(&editor),
        &json!({"kind": "off"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let read = call(
        &app.router,
        Method::GET,
        "/v1/calendars/team-a",
        Some(&editor),
        &Value::Null,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
}
