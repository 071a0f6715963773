use crate::common::*;
use herald_fakes::Endpoint;
use serde_json::{Value, json};
use std::time::Duration;

fn robot_text(content: &str) -> Value {
    json!({"msgtype": "text", "text": {"content": content, "mentioned_list": ["alice"]}})
}

fn robot_markdown(content: &str) -> Value {
    json!({"msgtype": "markdown", "markdown": {"content": content}})
}

#[tokio::test]
async fn robot_key_check_and_success() {
    let w = wecom().await;
    assert_eq!(
        w.robot(ROBOT_KEY, &robot_text("hi")).await,
        json!({"errcode": 0, "errmsg": "ok"})
    );
    assert_wecom_error(
        &w.robot("wrong", &robot_text("hi")).await,
        93000,
        "invalid webhook url",
    );
    let m = &w.fake.delivered()[0];
    assert_eq!(
        (m.endpoint, m.robot_key.as_deref()),
        (Endpoint::WecomRobot, Some(ROBOT_KEY))
    );
    assert_eq!(m.body["text"]["mentioned_list"], json!(["alice"]));
    assert_eq!(w.fake.stats().calls_to(Endpoint::WecomRobot), 2);
}

#[tokio::test]
async fn twenty_first_message_within_a_minute_is_45009() {
    let w = wecom().await;
    for i in 0..20 {
        assert_eq!(
            w.robot(ROBOT_KEY, &robot_text(&format!("m{i}"))).await["errcode"],
            0
        );
    }
    let limited = w.robot(ROBOT_KEY, &robot_text("m20")).await;
    assert_wecom_error(&limited, 45009, "api freq out of limit");
    assert_eq!(w.fake.delivered().len(), 20);
    w.fake.advance(Duration::from_secs(60));
    assert_eq!(
        w.robot(ROBOT_KEY, &robot_text("next minute")).await["errcode"],
        0
    );
}

#[tokio::test]
async fn robot_size_limits_are_40058() {
    let w = wecom().await;
    assert_eq!(
        w.robot(ROBOT_KEY, &robot_markdown(&"m".repeat(4096))).await["errcode"],
        0
    );
    let long = w.robot(ROBOT_KEY, &robot_markdown(&"m".repeat(4097))).await;
    assert_wecom_error(
        &long,
        40058,
        "markdown.content exceed max length 4096. invalid Request Parameter",
    );
    let text = w.robot(ROBOT_KEY, &robot_text(&"t".repeat(2049))).await;
    assert_wecom_error(
        &text,
        40058,
        "text.content exceed max length 2048. invalid Request Parameter",
    );
    assert_eq!(
        w.robot(ROBOT_KEY, &json!({"msgtype": "fax"})).await["errcode"],
        40008
    );
}
