//! Pushes on DingTalk: a 6-chart page to two members by work notice (the picture uploaded, then
//! the figures) and to two groups through their signed robots (the figures in markdown, the
//! picture by a signed link that serves without a key until it expires); a removed robot is a
//! dead delivery named by its group with a hint while the others are delivered.
use super::*;
use herald_tests::http::get_bytes_without_key;
use herald_tests::providers::{DINGTALK_ROBOT_SECRET, DINGTALK_ROBOT_TOKEN};

const CHARTS: [&str; 6] = [
    "GMV",
    "Orders",
    "Refunds",
    "Visitors",
    "Conversion",
    "Top SKUs",
];
/// A robot the fake DingTalk does not know (removed from its group: 300001).
const REMOVED_TOKEN: &str = "00ff00ff00ff00ff00ff00ff00ff00ff";

fn dingtalk_task(charts: &ChartServer) -> Value {
    let mut body = task_body(charts, &CHARTS, control(no_rule(), no_rule()));
    body["channel"] = json!("dingtalk");
    body["template"] = json!("markdown");
    body["recipients"] = json!({
        "dingtalk_users": ["manager01", "manager02"],
        "dingtalk_robots": [
            {"name": "华东销售",
             "access_token": format!("https://oapi.dingtalk.com/robot/send?access_token={DINGTALK_ROBOT_TOKEN}"),
             "secret": DINGTALK_ROBOT_SECRET},
            {"name": "旧群", "access_token": REMOVED_TOKEN}
        ]
    });
    body["owner"] = json!({"dingtalk_user": "manager01"});
    body.as_object_mut().map(|b| b.remove("alarm_robot"));
    body
}

#[tokio::test]
async fn a_dingtalk_push_reaches_members_and_signed_groups_with_the_picture() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    for name in CHARTS {
        charts.set(name, ChartAnswer::Rows(4));
    }
    let prefix = app
        .admin(
            Method::PUT,
            "/v1/settings",
            &json!({"url_prefix": "https://herald.example.com"}),
        )
        .await;
    assert_eq!(prefix.status, StatusCode::OK, "{:#}", prefix.body);
    let task = create(&app, &dingtalk_task(&charts)).await;
    let read = get_task(&app, &task).await;
    assert_eq!(
        read["recipients"]["dingtalk_robots"],
        json!([
            {"name": "华东销售", "access_token": "set"},
            {"name": "旧群", "access_token": "set"}
        ])
    );

    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert_eq!(rec["outcome"], "partially_delivered", "{rec:#}");

    // The members: the page picture (uploaded as media) and then the figures, in one notice each.
    let sent = fakes.dingtalk.messages();
    let notices: Vec<_> = sent
        .iter()
        .filter(|m| m.endpoint == Endpoint::DingtalkSend)
        .collect();
    assert_eq!(notices.len(), 2, "{notices:#?}");
    assert_eq!(notices[0].msgtype, "image");
    assert_eq!(notices[1].msgtype, "markdown");
    for notice in &notices {
        assert_eq!(notice.recipients, vec!["manager01", "manager02"]);
        assert!(notice.dropped_for.is_empty() && notice.invalid_users.is_empty());
    }
    let upload = fakes.dingtalk.uploads();
    assert_eq!(upload.len(), 1);
    assert_eq!(herald_fakes::picture_format(&upload[0].bytes), Some("png"));
    let figures = notices[1].body["msg"]["markdown"]["text"]
        .as_str()
        .expect("markdown text");
    for name in CHARTS {
        assert!(figures.contains(name), "{name} in {figures}");
    }

    // The signed robot got one markdown message (the fake checked its timestamp and sign): the
    // picture by its link, then the figures.
    let robot: Vec<_> = sent
        .iter()
        .filter(|m| m.endpoint == Endpoint::DingtalkRobot)
        .collect();
    assert_eq!(robot.len(), 1, "{robot:#?}");
    assert_eq!(robot[0].robot_key.as_deref(), Some(DINGTALK_ROBOT_TOKEN));
    let text = robot[0].body["markdown"]["text"].as_str().expect("text");
    let link = text
        .strip_prefix("![snapshot](https://herald.example.com")
        .and_then(|rest| rest.split_once(')'))
        .map(|(path, _)| path.to_owned())
        .unwrap_or_else(|| panic!("no picture line: {text}"));
    assert!(link.starts_with("/v1/snapshots/payments/"), "{link}");
    assert!(text.contains("GMV") && text.contains("Top SKUs"), "{text}");

    // The link serves the run's PNG without a key; a changed link is refused.
    let (status, content_type, png) = get_bytes_without_key(&app.router, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("image/png"));
    assert_eq!(png, upload[0].bytes, "the same picture the members got");
    let changed = link.replace("sig=", "sig=0");
    assert_eq!(
        get_bytes_without_key(&app.router, &changed).await.0,
        StatusCode::FORBIDDEN
    );

    // The record names the groups, never a token or secret; the removed robot is dead with a hint.
    let deliveries = rec["deliveries"].as_array().expect("deliveries");
    let to = |who: &str| {
        deliveries
            .iter()
            .find(|d| d["to"] == who)
            .unwrap_or_else(|| panic!("{who}: {deliveries:#?}"))
    };
    assert_eq!(to("group 华东销售")["status"], "delivered");
    assert_eq!(to("manager01, manager02")["status"], "delivered");
    let removed = to("group 旧群");
    assert_eq!(removed["status"], "dead", "{removed:#}");
    assert_eq!(removed["attempts"], 1, "never retried: {removed:#}");
    assert!(
        removed["dead_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("300001"),
        "{removed:#}"
    );
    assert!(
        removed["history"][0]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("removed from the group"),
        "{removed:#}"
    );
    let whole = format!("{rec}{read}");
    for secret in [DINGTALK_ROBOT_TOKEN, DINGTALK_ROBOT_SECRET, REMOVED_TOKEN] {
        assert!(!whole.contains(secret), "{secret} leaked");
    }

    // Seven days on (the link's default life), the link no longer serves.
    app.clock.set(at("2026-12-10T02:00:00Z"));
    assert_eq!(
        get_bytes_without_key(&app.router, &link).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn dingtalk_robots_are_write_only_and_bad_ones_are_refused_by_field() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("GMV", ChartAnswer::Rows(2));
    let task = create(&app, &dingtalk_task(&charts)).await;
    let read = get_task(&app, &task).await;
    // Sent back as read with the removed group dropped: the kept group keeps its token and secret.
    let mut body = dingtalk_task(&charts);
    body["version"] = read["version"].clone();
    body["recipients"]["dingtalk_robots"] = json!([{"name": "华东销售", "access_token": "set"}]);
    let reply = app
        .admin(Method::PUT, &format!("{TASKS}/{task}"), &body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert_eq!(rec["outcome"], "delivered", "{rec:#}");

    let version = reply.body["version"].clone();
    for (robots, field) in [
        (
            json!([{"name": "新群", "access_token": "set"}]),
            "recipients.dingtalk_robots[0].access_token",
        ),
        (
            json!([{"name": "a", "access_token": "x y"}]),
            "recipients.dingtalk_robots[0].access_token",
        ),
        (
            json!([{"name": "a", "access_token": "abc", "secret": "nope"}]),
            "recipients.dingtalk_robots[0].secret",
        ),
        (
            json!([{"name": "a", "access_token": "abc"}, {"name": "a", "access_token": "def"}]),
            "recipients.dingtalk_robots[1].name",
        ),
    ] {
        let mut bad = dingtalk_task(&charts);
        bad["version"] = version.clone();
        bad["recipients"]["dingtalk_robots"] = robots;
        let reply = app
            .admin(Method::PUT, &format!("{TASKS}/{task}"), &bad)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:#}", reply.body);
        assert_eq!(reply.body["error"]["field"], field, "{:#}", reply.body);
    }
    // DingTalk groups on a WeCom task are refused.
    let mut wrong_channel = dingtalk_task(&charts);
    wrong_channel["channel"] = json!("wecom");
    let reply = app.admin(Method::POST, TASKS, &wrong_channel).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:#}", reply.body);
    assert_eq!(reply.body["error"]["field"], "recipients.dingtalk_robots");
}

#[tokio::test]
async fn a_contact_with_a_dingtalk_user_id_is_reached_by_work_notice() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("GMV", ChartAnswer::Rows(2));
    let contact = app
        .admin(
            Method::PUT,
            "/v1/contacts/wang",
            &json!({"name": "王五", "dingtalk_user": "manager02"}),
        )
        .await;
    assert_eq!(contact.status, StatusCode::OK, "{:#}", contact.body);
    let mut body = dingtalk_task(&charts);
    body["recipients"] = json!({"contacts": ["wang"]});
    body["owner"] = json!({"contact": "wang"});
    let task = create(&app, &body).await;

    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert_eq!(rec["outcome"], "delivered", "{rec:#}");
    let notices: Vec<_> = fakes
        .dingtalk
        .messages()
        .into_iter()
        .filter(|m| m.endpoint == Endpoint::DingtalkSend)
        .collect();
    assert!(!notices.is_empty());
    assert!(
        notices.iter().all(|m| m.recipients == vec!["manager02"]),
        "{notices:#?}"
    );
}
