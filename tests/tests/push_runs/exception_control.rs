//! Exception control: empty and unreadable charts, pause and alarm, every case through the stack.
use super::*;

#[tokio::test]
async fn partially_empty_charts_with_pause_and_alarm_pause_the_push_and_alarm_robot_and_owner() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("Orders", ChartAnswer::Rows(4));
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

    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;

    assert_eq!(rec["outcome"], "paused", "{rec:#}");
    assert_eq!(rec["reason"], "empty");
    assert_eq!(
        rec["deliveries"],
        json!([]),
        "nothing queued for recipients"
    );
    assert_eq!(rec["charts_ok"], 1);
    assert_eq!(rec["charts_empty"], 1);
    let alarms = rec["alarms"].as_array().expect("alarms");
    assert_eq!(
        alarms.len(),
        3,
        "robot alarm, the snapshot to the robot, owner: {rec:#}"
    );
    for a in alarms {
        assert_eq!(a["status"], "delivered", "{a:#}");
    }
    // A paused push draws no message, but the empty-data alarm shows the group the page.
    let picture = pictures(&fakes, Endpoint::WecomRobot);
    assert_eq!(picture.len(), 1, "the snapshot to the robot");
    assert!(picture[0].body["image"]["md5"].is_string());
    assert!(
        pictures(&fakes, Endpoint::WecomSend).is_empty(),
        "nothing to the recipients"
    );

    let robot = robot_messages(&fakes);
    assert_eq!(robot.len(), 1, "one robot alarm");
    assert_eq!(robot[0].robot_key.as_deref(), Some(ROBOT_KEY));
    let text = text_of(&robot[0]);
    assert!(text.contains("Daily sales"), "names the task: {text}");
    assert!(text.contains("Refunds"), "names the empty chart: {text}");
    assert!(
        !text.contains("Orders"),
        "only the concerned charts: {text}"
    );

    let sent = app_messages(&fakes);
    assert_eq!(sent.len(), 1, "only the owner's note: {sent:#?}");
    assert_eq!(
        sent[0].recipients,
        vec!["lisi".to_owned()],
        "the owner only"
    );
    let note = text_of(&sent[0]);
    assert!(note.contains("Herald alarm: Daily sales"), "{note}");
    assert!(
        !sent
            .iter()
            .any(|m| m.recipients.contains(&"zhangsan".to_owned()))
    );
}

/// One row of the matrix: what the charts answer, the rules, and what must follow.
struct Case {
    name: &'static str,
    answers: [ChartAnswer; 2],
    control: Value,
    outcome: &'static str,
    reason: Option<&'static str>,
    pushed: bool,
    robot_alarms: usize,
}

#[tokio::test]
async fn the_empty_and_access_error_matrix_behaves_as_specified_through_the_stack() {
    use ChartAnswer::*;
    let cases = [
        Case {
            name: "fully unreadable, access alarm only: pushed anyway and alarmed",
            answers: [Status(503), Status(503)],
            control: control(no_rule(), rule(&["fully"], false, true)),
            outcome: "delivered",
            reason: None,
            pushed: true,
            robot_alarms: 1,
        },
        Case {
            name: "nothing ticked: pushed anyway, no alarm",
            answers: [Empty, Status(503)],
            control: control(no_rule(), no_rule()),
            outcome: "delivered",
            reason: None,
            pushed: true,
            robot_alarms: 0,
        },
        Case {
            name: "partially unreadable with pause: paused for access errors",
            answers: [Rows(2), Status(503)],
            control: control(no_rule(), rule(&["partially"], true, false)),
            outcome: "paused",
            reason: Some("access_error"),
            pushed: false,
            robot_alarms: 0,
        },
        Case {
            name: "fully unreadable with pause and alarm: paused and alarmed",
            answers: [InvalidJson, Status(500)],
            control: control(no_rule(), rule(&["fully"], true, true)),
            outcome: "paused",
            reason: Some("access_error"),
            pushed: false,
            robot_alarms: 1,
        },
        Case {
            name: "fully empty but only 'partially' ticked: out of range, pushed",
            answers: [Empty, Empty],
            control: control(rule(&["partially"], true, true), no_rule()),
            outcome: "delivered",
            reason: None,
            pushed: true,
            robot_alarms: 0,
        },
        Case {
            name: "fully empty with pause only: paused for empty, no alarm",
            answers: [Empty, Empty],
            control: control(rule(&["fully"], true, false), no_rule()),
            outcome: "paused",
            reason: Some("empty"),
            pushed: false,
            robot_alarms: 0,
        },
        Case {
            name: "partially empty, alarm only: pushed and alarmed",
            answers: [Rows(1), Empty],
            control: control(rule(&["partially"], false, true), no_rule()),
            outcome: "delivered",
            reason: None,
            pushed: true,
            robot_alarms: 1,
        },
        Case {
            name: "one empty and one unreadable, both paused: access errors win, both alarm",
            answers: [Empty, Status(503)],
            control: control(
                rule(&["partially"], true, true),
                rule(&["partially"], true, true),
            ),
            outcome: "paused",
            reason: Some("access_error"),
            pushed: false,
            robot_alarms: 2,
        },
        Case {
            name: "all charts fine: rules do not fire",
            answers: [Rows(1), Rows(2)],
            control: control(
                rule(&["fully", "partially"], true, true),
                rule(&["fully", "partially"], true, true),
            ),
            outcome: "delivered",
            reason: None,
            pushed: true,
            robot_alarms: 0,
        },
    ];
    for case in cases {
        let fakes = fakes().await;
        let charts = ChartServer::start().await;
        let app = app(&fakes).await;
        let [a, b] = case.answers.clone();
        charts.set("A", a);
        charts.set("B", b);
        let task = create(&app, &task_body(&charts, &["A", "B"], case.control.clone())).await;
        let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;
        let name = case.name;
        assert_eq!(rec["outcome"], case.outcome, "{name}: {rec:#}");
        assert_eq!(rec["reason"].as_str(), case.reason, "{name}: {rec:#}");
        let pushes: Vec<_> = app_messages(&fakes)
            .into_iter()
            .filter(|m| m.recipients.contains(&"zhangsan".to_owned()))
            .collect();
        assert_eq!(pushes.len(), usize::from(case.pushed), "{name}: pushes");
        if case.pushed {
            assert_eq!(pushes[0].recipients, vec!["zhangsan", "lisi"], "{name}");
        }
        assert_eq!(
            robot_messages(&fakes).len(),
            case.robot_alarms,
            "{name}: robot alarms"
        );
        // Each alarm also notes the owner.
        let owner_notes = app_messages(&fakes)
            .into_iter()
            .filter(|m| m.recipients == vec!["lisi".to_owned()])
            .count();
        assert_eq!(owner_notes, case.robot_alarms, "{name}: owner notes");
        // An empty-data alarm also shows the robot the snapshot.
        let robot_pictures = pictures(&fakes, Endpoint::WecomRobot).len();
        assert!(robot_pictures <= 1, "{name}: one snapshot at most");
        assert_eq!(
            rec["alarms"].as_array().expect("alarms").len(),
            2 * case.robot_alarms + robot_pictures,
            "{name}"
        );
    }
}

#[tokio::test]
async fn chart_checks_classify_rows_empty_status_invalid_json_missing_pointer_and_timeouts() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let limits = ChartLimits {
        per_chart_timeout: std::time::Duration::from_millis(500),
        ..ChartLimits::default()
    };
    let app = PushApp::build(
        NOW,
        fakes.config(),
        limits,
        SsrfPolicy::allowing(["127.0.0.1"]),
    );
    app.configure_all(&fakes).await;
    charts.set("rows", ChartAnswer::Rows(7));
    charts.set("empty", ChartAnswer::Empty);
    charts.set("down", ChartAnswer::Status(503));
    charts.set("garbled", ChartAnswer::InvalidJson);
    charts.set("nopointer", ChartAnswer::NoRows);
    charts.set(
        "slow",
        ChartAnswer::Slow(std::time::Duration::from_secs(3), 1),
    );
    let names = ["rows", "empty", "down", "garbled", "nopointer", "slow"];
    let task = create(
        &app,
        &task_body(&charts, &names, control(no_rule(), no_rule())),
    )
    .await;

    let begun = std::time::Instant::now();
    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert!(
        begun.elapsed() < std::time::Duration::from_secs(3),
        "the slow chart was cut off"
    );

    let by_name = |n: &str| {
        rec["charts"]
            .as_array()
            .expect("charts")
            .iter()
            .find(|c| c["name"] == n)
            .unwrap_or_else(|| panic!("chart {n}: {rec:#}"))
            .clone()
    };
    assert_eq!(by_name("rows")["status"], "ok");
    assert_eq!(by_name("rows")["rows"], 7);
    assert_eq!(by_name("empty")["status"], "empty");
    for (n, hint) in [
        ("down", "503"),
        ("garbled", ""),
        ("nopointer", ""),
        ("slow", ""),
    ] {
        let c = by_name(n);
        assert_eq!(c["status"], "access_error", "{n}: {c:#}");
        let reason = c["reason"].as_str().expect("reason");
        assert!(!reason.is_empty() && reason.contains(hint), "{n}: {reason}");
    }
    assert!(
        by_name("slow")["reason"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("time"),
        "a timeout says so: {:#}",
        by_name("slow")
    );
    assert_eq!(rec["charts_ok"], 1);
    assert_eq!(rec["charts_empty"], 1);
    assert_eq!(rec["charts_unreadable"], 4);
    assert_eq!(rec["outcome"], "delivered", "nothing ticked: pushed anyway");
}
