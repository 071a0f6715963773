use crate::common::*;
use chrono::{DateTime, Utc};
use herald_core::clock::ManualClock;
use herald_fakes::{Endpoint, FakeFeishu, FeishuConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn send_text_success_shape_and_record() {
    let f = feishu().await;
    let token = f.token().await;
    let body = feishu_text("ou_alice", "hello");
    let (status, answer) = f.send(&token, "open_id", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["code"].clone(), answer["msg"].clone()),
        (json!(0), json!("success"))
    );
    let data = &answer["data"];
    assert!(
        data["message_id"]
            .as_str()
            .is_some_and(|m| m.starts_with("om_"))
    );
    assert!(
        data["chat_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("oc_"))
    );
    assert_eq!(data["msg_type"], "text");
    assert!(
        data["create_time"]
            .as_str()
            .is_some_and(|t| t.parse::<i64>().is_ok())
    );
    assert_eq!(
        data["sender"],
        json!({"id": APP_ID, "id_type": "app_id", "sender_type": "app", "tenant_key": "fake_tenant"})
    );
    assert_eq!(data["body"]["content"], body["content"]);
    assert_eq!(
        (data["deleted"].clone(), data["updated"].clone()),
        (json!(false), json!(false))
    );

    let m = &f.fake.delivered()[0];
    assert_eq!(
        (m.endpoint, m.recipients.clone()),
        (Endpoint::FeishuSend, vec!["ou_alice".to_owned()])
    );
    assert_eq!(m.receive_id_type.as_deref(), Some("open_id"));
    assert_eq!(m.content, Some(json!({"text": "hello"})));
    assert_eq!(m.token.as_deref(), Some(token.as_str()));
    assert_eq!(Some(m.message_id.as_str()), data["message_id"].as_str());

    assert_eq!(
        f.send(&token, "email", &feishu_text("BOB@x.com", "hi"))
            .await
            .1["code"],
        0
    );
    assert_eq!(
        f.send(&token, "user_id", &feishu_text("u_alice", "hi"))
            .await
            .1["code"],
        0
    );
    assert_eq!(
        f.send(&token, "chat_id", &feishu_text("oc_group", "hi"))
            .await
            .1["code"],
        0
    );
}

#[tokio::test]
async fn receivers_outside_scope_are_230013() {
    let f = feishu().await;
    let token = f.token().await;
    for (id_type, id) in [
        ("open_id", "ou_nobody"),
        ("open_id", "ou_out"),
        ("email", "out@x.com"),
    ] {
        let (status, body) = f.send(&token, id_type, &feishu_text(id, "hi")).await;
        assert_eq!((status, body["code"].clone()), (400, json!(230013)), "{id}");
        assert_eq!(body["msg"], "Bot has NO availability to this user.");
    }
    let (status, chat) = f
        .send(&token, "chat_id", &feishu_text("oc_other", "hi"))
        .await;
    assert_eq!((status, chat["code"].clone()), (400, json!(230002)));
    assert!(f.fake.messages().is_empty());
}

#[tokio::test]
async fn receive_id_type_and_content_are_validated() {
    let f = feishu().await;
    let token = f.token().await;
    let path = "/open-apis/im/v1/messages";
    let (status, missing) = f
        .post_json(Some(&token), path, &feishu_text("ou_alice", "x"))
        .await;
    assert_eq!((status, missing["code"].clone()), (400, json!(99992402)));
    assert_eq!(
        f.send(&token, "mobile", &feishu_text("ou_alice", "x"))
            .await
            .1["code"],
        99992402
    );

    let raw_content =
        json!({"receive_id": "ou_alice", "msg_type": "text", "content": {"text": "x"}});
    assert_eq!(
        f.send(&token, "open_id", &raw_content).await.1["code"],
        99992402,
        "content must be a string"
    );
    let wrong_shape =
        json!({"receive_id": "ou_alice", "msg_type": "post", "content": "{\"text\":\"x\"}"});
    let (status, body) = f.send(&token, "open_id", &wrong_shape).await;
    assert_eq!((status, body["code"].clone()), (400, json!(230001)));
    let post =
        json!({"zh_cn": {"title": "T", "content": [[{"tag": "text", "text": "x"}]]}}).to_string();
    let ok_post = json!({"receive_id": "ou_alice", "msg_type": "post", "content": post});
    assert_eq!(f.send(&token, "open_id", &ok_post).await.1["code"], 0);
    let card = json!({"header": {"title": {"tag": "plain_text", "content": "T"}}, "elements": []})
        .to_string();
    let ok_card = json!({"receive_id": "ou_alice", "msg_type": "interactive", "content": card});
    assert_eq!(f.send(&token, "open_id", &ok_card).await.1["code"], 0);
    let not_json = json!({"receive_id": "ou_alice", "msg_type": "text", "content": "hi"});
    assert_eq!(f.send(&token, "open_id", &not_json).await.1["code"], 230001);
}

#[tokio::test]
async fn size_limits_are_230025() {
    let f = feishu().await;
    let token = f.token().await;
    let big_card =
        json!({"elements": [{"tag": "markdown", "content": "x".repeat(31 * 1024)}]}).to_string();
    let card = json!({"receive_id": "ou_alice", "msg_type": "interactive", "content": big_card});
    let (status, body) = f.send(&token, "open_id", &card).await;
    assert_eq!((status, body["code"].clone()), (400, json!(230025)));
    assert_eq!(
        f.send(
            &token,
            "open_id",
            &feishu_text("ou_alice", &"x".repeat(100 * 1024))
        )
        .await
        .1["code"],
        0
    );
    assert_eq!(
        f.send(
            &token,
            "open_id",
            &feishu_text("ou_alice", &"x".repeat(151 * 1024))
        )
        .await
        .1["code"],
        230025
    );
}

#[tokio::test]
async fn same_uuid_within_an_hour_is_delivered_once() {
    let f = feishu().await;
    let token = f.token().await;
    let mut body = feishu_text("ou_alice", "once");
    body["uuid"] = json!("run-42-alice");
    let (_, first) = f.send(&token, "open_id", &body).await;
    let (_, second) = f.send(&token, "open_id", &body).await;
    assert_eq!(
        (first["code"].clone(), second["code"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(first["data"]["message_id"], second["data"]["message_id"]);
    assert_eq!(f.fake.delivered().len(), 1);
    let all = f.fake.messages();
    assert_eq!((all.len(), all[1].suppressed_duplicate), (2, true));
    assert_eq!(all[0].uuid.as_deref(), Some("run-42-alice"));

    f.fake.advance(Duration::from_secs(3600));
    let token = f.token().await;
    let (_, later) = f.send(&token, "open_id", &body).await;
    assert_ne!(later["data"]["message_id"], first["data"]["message_id"]);
    assert_eq!(f.fake.delivered().len(), 2);
    body["uuid"] = json!("u".repeat(51));
    assert_eq!(f.send(&token, "open_id", &body).await.1["code"], 99992402);
}

#[tokio::test]
async fn enforced_send_rate_limit_is_429_with_headers() {
    let start: DateTime<Utc> = "2025-03-01T08:00:00Z".parse().expect("time");
    let clock = Arc::new(ManualClock::new(start));
    let fake = FakeFeishu::with_clock(
        FeishuConfig {
            enforce_send_rate_limit: true,
            ..feishu_config()
        },
        clock,
    );
    let f = feishu_with(fake).await;
    let token = f.token().await;
    for _ in 0..50 {
        assert_eq!(
            f.send(&token, "open_id", &feishu_text("ou_alice", "x"))
                .await
                .1["code"],
            0
        );
    }
    let path = "/open-apis/im/v1/messages?receive_id_type=open_id";
    let resp = f
        .post(Some(&token), path, &feishu_text("ou_alice", "x"))
        .await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["x-ogw-ratelimit-limit"], "50");
    assert_eq!(resp.headers()["x-ogw-ratelimit-reset"], "1");
    assert_eq!(
        resp.json::<serde_json::Value>().await.expect("json")["code"],
        99991400
    );
    f.fake.advance(Duration::from_secs(1));
    assert_eq!(
        f.send(&token, "open_id", &feishu_text("ou_alice", "x"))
            .await
            .1["code"],
        0
    );
    f.fake.enforce_send_rate_limit(false);
    for _ in 0..60 {
        assert_eq!(
            f.send(&token, "open_id", &feishu_text("ou_alice", "x"))
                .await
                .1["code"],
            0
        );
    }
}
