//! WeCom group-robot client against the fake: the 20-a-minute limit is waited out, never hit.
mod common;

use common::{manual_clock, wecom_with};
use herald_core::domain::message::{RobotBody, RobotMessage};
use herald_core::domain::task::RobotKey;
use herald_core::ports::SendFailure;
use herald_fakes::{Endpoint, FakeWecom, WecomConfig};
use herald_providers::{Time, WindowQuota};
use std::time::Duration;

const KEY: &str = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa";

fn text(content: &str) -> RobotMessage {
    RobotMessage {
        key: RobotKey::parse(KEY).unwrap().into(),
        body: RobotBody::Text {
            content: content.into(),
            mentioned_list: vec!["@all".into()],
        },
        group: None,
    }
}

#[tokio::test]
async fn twenty_five_messages_send_twenty_now_and_five_in_the_next_minute() {
    // One manual clock for the client and the fake: waiting moves it, so the test takes no time.
    let clock = manual_clock();
    let fake = FakeWecom::with_clock(WecomConfig::default().with_robot_key(KEY), clock.clone());
    // The delivery engine lets an attempt wait 20 s (longer waits re-queue the delivery); a client
    // allowed to wait the whole minute sends the rest at the window's end.
    let w = wecom_with(fake, Time::manual(clock.clone()), |mut c| {
        c.robot_quota = WindowQuota {
            max_wait: Duration::from_secs(120),
            ..WindowQuota::wecom_robot()
        };
        c
    })
    .await;
    let start = w.fake.now();
    let real_start = std::time::Instant::now();
    for i in 0..25 {
        w.providers
            .robot
            .send(&text(&format!("alarm {i}")), &format!("k{i}"))
            .await
            .unwrap();
    }
    assert!(real_start.elapsed() < Duration::from_secs(5));
    let sent_at: Vec<i64> = w
        .fake
        .delivered()
        .iter()
        .map(|m| (m.at - start).num_seconds())
        .collect();
    assert_eq!(sent_at.len(), 25);
    assert!(sent_at[..20].iter().all(|s| *s == 0), "{sent_at:?}");
    // The next minute plus the arrival margin (2 s), so the provider's own count never sees 21.
    assert!(sent_at[20..].iter().all(|s| *s == 62), "{sent_at:?}");
    assert!(
        w.fake.calls().iter().all(|c| c.code == Some(0)),
        "the fake never answered 45009"
    );
}

#[tokio::test]
async fn a_wait_beyond_the_bound_is_rate_limited_without_a_call() {
    let clock = manual_clock();
    let fake = FakeWecom::with_clock(WecomConfig::default().with_robot_key(KEY), clock.clone());
    let w = wecom_with(fake, Time::manual(clock), |mut c| {
        c.robot_quota = WindowQuota {
            max_wait: Duration::from_secs(30),
            ..WindowQuota::wecom_robot()
        };
        c
    })
    .await;
    for i in 0..20 {
        w.providers
            .robot
            .send(&text(&format!("alarm {i}")), "k")
            .await
            .unwrap();
    }
    let err = w
        .providers
        .robot
        .send(&text("one too many"), "k")
        .await
        .unwrap_err();
    // Held back by Herald: nothing was sent, so the engine does not count an attempt.
    assert_eq!(
        err.failure,
        SendFailure::HeldBack {
            retry_after_ms: 62_000
        }
    );
    assert_eq!(w.fake.stats().calls_to(Endpoint::WecomRobot), 20);
}

#[tokio::test]
async fn long_text_is_split_and_an_unknown_key_is_a_config_error() {
    let clock = manual_clock();
    let fake = FakeWecom::with_clock(WecomConfig::default().with_robot_key(KEY), clock.clone());
    let w = wecom_with(fake, Time::manual(clock), |c| c).await;
    let receipt = w
        .providers
        .robot
        .send(&text(&"磁盘告警\n".repeat(300)), "k")
        .await
        .unwrap();
    assert_eq!(receipt.answer, "ok: 2 message(s) sent");
    let delivered = w.fake.delivered();
    assert!(
        delivered
            .iter()
            .all(|m| m.body["text"]["content"].as_str().unwrap().len() <= 2048)
    );
    let markdown = RobotMessage {
        key: RobotKey::parse(KEY).unwrap().into(),
        body: RobotBody::Markdown {
            content: "**CPU** 告警\n".repeat(400),
        },
        group: None,
    };
    w.providers.robot.send(&markdown, "k").await.unwrap();
    assert_eq!(w.fake.delivered().len(), 4);
    let unknown = RobotMessage {
        key: RobotKey::parse("00000000-0000-0000-0000-000000000000")
            .unwrap()
            .into(),
        ..text("x")
    };
    let err = w.providers.robot.send(&unknown, "k").await.unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Config, Some(93000)));
}
