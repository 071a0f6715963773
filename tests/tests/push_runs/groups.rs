//! Pushes to WeCom group chats through their robots: the picture and the figures reach each group,
//! a removed robot is a dead delivery named by its group with a hint while the others are
//! delivered, and a robot's key is write-only like the alarm robot's.
use super::*;

/// The page every group test pushes: six charts.
const PAGE: [&str; 6] = [
    "Orders",
    "GMV",
    "Refunds",
    "Visitors",
    "Conversion",
    "Top SKUs",
];

fn serve_page(charts: &ChartServer) {
    for name in PAGE {
        charts.set(name, ChartAnswer::Rows(3));
    }
}

/// A second group's robot, one the fake WeCom does not know (removed from its group: 93000).
const REMOVED_KEY: &str = "0a1b2c3d-removed-robot-key";

fn group_task(charts: &ChartServer) -> Value {
    let mut body = task_body(charts, &PAGE, control(no_rule(), no_rule()));
    body["recipients"]["wecom_robots"] = json!([
        {"name": "销售群", "webhook_key": format!("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}")},
        {"name": "华东销售", "webhook_key": REMOVED_KEY}
    ]);
    body
}

#[tokio::test]
async fn a_push_reaches_each_group_with_the_picture_and_the_figures_and_a_removed_robot_is_named() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    serve_page(&charts);
    let task = create(&app, &group_task(&charts)).await;

    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;

    // The people get their message; the known group its picture and its figures.
    assert_eq!(rec["outcome"], "partially_delivered", "{rec:#}");
    let robot = robot_messages(&fakes);
    assert_eq!(robot.len(), 1, "the figures once: {robot:#?}");
    assert_eq!(robot[0].robot_key.as_deref(), Some(ROBOT_KEY));
    assert_eq!(robot[0].msgtype, "markdown", "a text card becomes markdown");
    assert!(
        text_of(&robot[0]).contains("Orders"),
        "{}",
        text_of(&robot[0])
    );
    // The fake checks the picture's MD5 against its bytes (301019 otherwise).
    let group_pictures = pictures(&fakes, Endpoint::WecomRobot);
    assert_eq!(group_pictures.len(), 1, "the page picture once");
    assert_eq!(group_pictures[0].robot_key.as_deref(), Some(ROBOT_KEY));
    assert_eq!(app_messages(&fakes).len(), 1, "the people's message");

    // The record names each group, never its key; the removed robot is dead with a hint.
    let deliveries = rec["deliveries"].as_array().expect("deliveries");
    let to_group = |name: &str| -> Vec<&Value> {
        deliveries
            .iter()
            .filter(|d| d["to"] == format!("group {name}"))
            .collect()
    };
    let sales = to_group("销售群");
    assert_eq!(sales.len(), 2, "picture and figures: {deliveries:#?}");
    assert!(sales.iter().all(|d| d["status"] == "delivered"));
    let removed = to_group("华东销售");
    assert_eq!(removed.len(), 2, "{deliveries:#?}");
    for d in &removed {
        assert_eq!(d["status"], "dead", "{d:#}");
        assert_eq!(d["attempts"], 1, "a config error is never retried: {d:#}");
        let reason = d["dead_reason"].as_str().unwrap_or_default();
        assert!(reason.contains("93000"), "{reason}");
        let hint = d["history"][0]["hint"].as_str().unwrap_or_default();
        assert!(hint.contains("removed from its group"), "{d:#}");
    }
    let text = rec.to_string();
    assert!(
        !text.contains(ROBOT_KEY) && !text.contains(REMOVED_KEY),
        "{text}"
    );
}

#[tokio::test]
async fn group_robot_keys_are_write_only_and_set_keeps_them_by_name() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    serve_page(&charts);
    let task = create(&app, &group_task(&charts)).await;

    let read = get_task(&app, &task).await;
    assert_eq!(
        read["recipients"]["wecom_robots"],
        json!([
            {"name": "销售群", "webhook_key": "set"},
            {"name": "华东销售", "webhook_key": "set"}
        ])
    );
    assert!(!read.to_string().contains(ROBOT_KEY));

    // Sent back as read, with the removed group dropped and a new one first: the kept group
    // still reaches its robot.
    let mut body = group_task(&charts);
    body["version"] = read["version"].clone();
    body["recipients"]["wecom_robots"] = json!([
        {"name": "新群", "webhook_key": ROBOT_KEY},
        {"name": "销售群", "webhook_key": "set"}
    ]);
    let reply = app
        .admin(Method::PUT, &format!("{TASKS}/{task}"), &body)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_eq!(
        reply.body["recipients"]["wecom_robots"],
        json!([
            {"name": "新群", "webhook_key": "set"},
            {"name": "销售群", "webhook_key": "set"}
        ])
    );
    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    assert_eq!(rec["outcome"], "delivered", "{rec:#}");
    assert_eq!(
        robot_messages(&fakes).len(),
        2,
        "both groups got the figures"
    );

    // "set" for a group the task does not have, a group twice, a group on e-mail: 400s naming
    // the field; nothing is written.
    let version = reply.body["version"].clone();
    body["version"] = version.clone();
    let cases = [
        (
            json!([{"name": "未知群", "webhook_key": "set"}]),
            "recipients.wecom_robots[0].webhook_key",
        ),
        (
            json!([{"name": "销售群", "webhook_key": "set"}, {"name": "销售群", "webhook_key": ROBOT_KEY}]),
            "recipients.wecom_robots[1].name",
        ),
        (
            json!([{"name": "", "webhook_key": ROBOT_KEY}]),
            "recipients.wecom_robots[0].name",
        ),
        (
            json!([{"name": "坏", "webhook_key": "https://example.com/hook"}]),
            "recipients.wecom_robots[0].webhook_key",
        ),
    ];
    for (groups, field) in cases {
        let mut bad = body.clone();
        bad["recipients"]["wecom_robots"] = groups;
        let refused = app
            .admin(Method::PUT, &format!("{TASKS}/{task}"), &bad)
            .await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{:#}",
            refused.body
        );
        assert_eq!(refused.body["error"]["field"], field, "{:#}", refused.body);
    }
    let mut on_email = body.clone();
    on_email["channel"] = json!("email");
    on_email["recipients"]["emails"] = json!(["a@example.com"]);
    on_email["owner"] = json!({"email": "a@example.com"});
    let refused = app
        .admin(Method::PUT, &format!("{TASKS}/{task}"), &on_email)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:#}",
        refused.body
    );
    assert_eq!(refused.body["error"]["field"], "recipients.wecom_robots");
    assert_eq!(
        get_task(&app, &task).await["version"],
        version,
        "nothing written"
    );

    // A new task cannot say "set".
    let mut new = group_task(&charts);
    new["recipients"]["wecom_robots"] = json!([{"name": "销售群", "webhook_key": "set"}]);
    let refused = app.admin(Method::POST, TASKS, &new).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:#}",
        refused.body
    );
    assert_eq!(
        refused.body["error"]["field"],
        "recipients.wecom_robots[0].webhook_key"
    );
}

/// A Feishu task reaches its chats with the same card as its people (`receive_id_type=chat_id`):
/// a chat the bot left and a dissolved chat are dead deliveries with hints, never retried, while
/// the others are delivered.
#[tokio::test]
async fn a_feishu_push_reaches_its_chats_and_names_the_ones_it_cannot() {
    const OPEN_ID: &str = "ou_7d8a6e6df7621556ce0d21922b676706ccs";
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["lisi"]),
        FeishuConfig::default()
            .with_user(herald_fakes::FeishuUser::new(OPEN_ID))
            .with_chat("oc_sales")
            .with_dissolved_chat("oc_old"),
    )
    .await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    serve_page(&charts);
    let mut body = task_body(&charts, &PAGE, control(no_rule(), no_rule()));
    body["channel"] = json!("feishu");
    body["recipients"] = json!({
        "feishu_users": [OPEN_ID],
        "feishu_chats": ["oc_sales", "oc_botleft", "oc_old"]
    });
    body["owner"] = json!({"feishu_user": OPEN_ID});
    body.as_object_mut().map(|b| b.remove("alarm_robot"));
    let task = create(&app, &body).await;
    assert_eq!(
        get_task(&app, &task).await["recipients"]["feishu_chats"],
        json!(["oc_sales", "oc_botleft", "oc_old"])
    );

    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;

    assert_eq!(rec["outcome"], "partially_delivered", "{rec:#}");
    let sent = fakes.feishu.delivered();
    let to_chat: Vec<_> = sent
        .iter()
        .filter(|m| m.receive_id_type.as_deref() == Some("chat_id"))
        .collect();
    assert_eq!(to_chat.len(), 1, "{sent:#?}");
    assert_eq!(to_chat[0].recipients, vec!["oc_sales".to_owned()]);
    let to_user: Vec<_> = sent
        .iter()
        .filter(|m| m.receive_id_type.as_deref() == Some("open_id"))
        .collect();
    assert_eq!(to_user.len(), 1);
    assert_eq!(to_chat[0].msgtype, to_user[0].msgtype, "the same card");
    assert_eq!(to_chat[0].content, to_user[0].content, "the same content");

    let deliveries = rec["deliveries"].as_array().expect("deliveries");
    let to = |id: &str| {
        deliveries
            .iter()
            .find(|d| d["to"] == format!("chat {id}"))
            .unwrap_or_else(|| panic!("chat {id}: {deliveries:#?}"))
    };
    assert_eq!(to("oc_sales")["status"], "delivered");
    for (chat, code, hint) in [
        ("oc_botleft", "230002", "add the bot to the group"),
        ("oc_old", "232009", "dissolved"),
    ] {
        let d = to(chat);
        assert_eq!(d["status"], "dead", "{d:#}");
        assert_eq!(d["attempts"], 1, "never retried: {d:#}");
        assert!(
            d["dead_reason"].as_str().unwrap_or_default().contains(code),
            "{d:#}"
        );
        assert!(
            d["history"][0]["hint"]
                .as_str()
                .unwrap_or_default()
                .contains(hint),
            "{d:#}"
        );
    }
}
