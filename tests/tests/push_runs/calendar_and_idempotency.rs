//! A task's calendar over a month, and a scheduled time fired twice.
use super::*;

#[tokio::test]
async fn a_weekly_shanghai_task_fires_on_mondays_and_thursdays_at_ten_over_a_month() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;

    // The first tick only records where the timer starts counting.
    assert_eq!(tick(&app.scheduler, &app.pushes, app.clock.now()).await, 0);

    let end = at("2027-01-01T00:00:00Z");
    let mut t = at(NOW);
    let mut fired = Vec::new();
    while t < end {
        t += Duration::minutes(1);
        app.clock.set(t);
        let handled = tick(&app.scheduler, &app.pushes, t).await;
        if handled > 0 {
            fired.push((t, handled));
        }
    }

    let expected: Vec<DateTime<Utc>> = [3, 7, 10, 14, 17, 21, 24, 28, 31]
        .iter()
        .map(|d| at(&format!("2026-12-{d:02}T02:00:00Z")))
        .collect();
    // Fired on the very minute, once each; nothing before the start day (Thu 26 Nov, Mon 30 Nov).
    assert_eq!(
        fired,
        expected.iter().map(|t| (*t, 1)).collect::<Vec<_>>(),
        "the ticks that ran something"
    );

    let listed = items(&list(&app, &format!("task={task}&limit=100")).await);
    let mut scheduled: Vec<DateTime<Utc>> = listed
        .iter()
        .map(|r| {
            assert_eq!(r["kind"], "scheduled");
            at(r["scheduled_for"].as_str().expect("scheduled_for"))
        })
        .collect();
    scheduled.sort();
    assert_eq!(scheduled, expected);
    for r in &listed {
        assert_eq!(
            r["started_at"], r["scheduled_for"],
            "started on time: {r:#}"
        );
    }
    assert_eq!(charts.hits("Orders"), 9, "each run read the chart once");
}

#[tokio::test]
async fn the_same_scheduled_time_fired_twice_gives_one_run() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    let (project, task_id) = ids(&task);

    // Through the push service.
    let when = at("2026-12-03T02:00:00Z");
    app.clock.set(when);
    let first = app
        .pushes
        .run_scheduled(&project, &task_id, when)
        .await
        .expect("first");
    let second = app
        .pushes
        .run_scheduled(&project, &task_id, when)
        .await
        .expect("second");
    assert!(matches!(first, Trigger::Started(_)), "{first:?}");
    assert!(matches!(second, Trigger::Duplicate), "{second:?}");
    drain(&app).await;
    assert_eq!(
        app_messages(&fakes).len(),
        1,
        "one message for one scheduled time"
    );

    // Through the trigger Lambda's handler, as Scheduler's at-least-once delivery would.
    let when = "2026-12-07T02:00:00Z";
    app.clock.set(at(when));
    let event = json!({"project_id": PROJECT, "task_id": task, "scheduled_time": when});
    let first = trigger::handle(&app.pushes, event.clone())
        .await
        .expect("first");
    let second = trigger::handle(&app.pushes, event).await.expect("second");
    assert!(first["run_id"].is_string(), "{first}");
    assert_eq!(first["outcome"], "sending");
    assert_eq!(second, json!({"duplicate": true}));
    drain(&app).await;
    assert_eq!(app_messages(&fakes).len(), 2, "one more message, not two");

    // Two firings at once.
    let when = at("2026-12-10T02:00:00Z");
    app.clock.set(when);
    let (a, b) = tokio::join!(
        app.pushes.run_scheduled(&project, &task_id, when),
        app.pushes.run_scheduled(&project, &task_id, when)
    );
    let started = [a.expect("a"), b.expect("b")]
        .iter()
        .filter(|t| matches!(t, Trigger::Started(_)))
        .count();
    assert_eq!(started, 1, "exactly one concurrent firing runs");
    drain(&app).await;
    assert_eq!(app_messages(&fakes).len(), 3);

    let listed = items(&list(&app, &format!("task={task}")).await);
    assert_eq!(listed.len(), 3, "{listed:#?}");
    assert!(
        listed.iter().all(|r| r["outcome"] == "delivered"),
        "{listed:#?}"
    );
}
