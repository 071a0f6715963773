//! DingTalk clients against the fake: robots signed and kept to their 20 messages a minute (never
//! throttled), DingTalk's 10-minute throttle honoured when another sender used the minute, the
//! robot's refusals classified; work notices with a cached token refreshed once, 100 users a call,
//! the picture uploaded once for every batch.
mod common;

use base64::Engine as _;
use chrono::Utc;
use common::{dingtalk_with, manual_clock};
use herald_core::domain::channels::{DingtalkCredentials, DingtalkSettings};
use herald_core::domain::dingtalk::{
    DingtalkRobotAddress, DingtalkRobotCredentials, DingtalkRobotSigning, DingtalkRobotToken,
    DingtalkUserId,
};
use herald_core::domain::ids::ProjectId;
use herald_core::domain::image::Image;
use herald_core::domain::message::{DingtalkBody, DingtalkNotice, DingtalkRobotMessage};
use herald_core::domain::robot::GroupName;
use herald_core::ports::{ImageStore, SendFailure};
use herald_fakes::{DingtalkConfig, Endpoint, FakeDingtalk, Fault, FaultRule};
use herald_providers::Time;

const TOKEN: &str = "b1f0c2d3e4a5968778695a4b3c2d1e0f";
const SECRET: &str = "SEC3f1e2d3c4b5a69788796a5b4c3d2e1f0";
/// A 1×1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn robot_message(secret: &str, text: &str) -> DingtalkRobotMessage {
    DingtalkRobotMessage {
        robot: DingtalkRobotAddress::Given(DingtalkRobotCredentials {
            access_token: DingtalkRobotToken::parse(TOKEN).unwrap(),
            secret: Some(DingtalkRobotSigning::parse(secret).unwrap()),
        }),
        body: DingtalkBody::Markdown {
            title: "日报".into(),
            text: text.into(),
        },
        group: GroupName::parse("华东销售").unwrap(),
    }
}

fn creds(fake: &DingtalkConfig) -> DingtalkCredentials {
    DingtalkCredentials {
        settings: DingtalkSettings {
            enabled: true,
            app_key: fake.app_key.clone(),
            agent_id: fake.agent_id,
        },
        app_secret: secrecy::SecretString::from(fake.app_secret.clone()),
    }
}

#[tokio::test]
async fn thirty_robot_messages_in_a_minute_send_twenty_hold_ten_back_and_are_never_refused() {
    let clock = manual_clock();
    let fake = FakeDingtalk::with_clock(
        DingtalkConfig::default().with_signed_robot(TOKEN, SECRET),
        clock.clone(),
    );
    let d = dingtalk_with(fake, Time::manual(clock.clone()), |c| c).await;
    let (mut sent, mut held) = (0, 0);
    for i in 0..30 {
        match d
            .providers
            .dingtalk_robot
            .send(
                &robot_message(SECRET, &format!("GMV {i}")),
                &format!("first-{i}"),
            )
            .await
        {
            Ok(_) => sent += 1,
            Err(e) => {
                // Held back by Herald (nothing sent): the delivery comes back in the next minute.
                assert!(
                    matches!(e.failure, SendFailure::HeldBack { retry_after_ms } if retry_after_ms > 20_000),
                    "{e:?}"
                );
                held += 1;
            }
        }
    }
    assert_eq!((sent, held), (20, 10));
    let calls = d.fake.calls();
    assert!(
        calls.iter().all(|c| c.code == Some(0)),
        "none refused: {calls:?}"
    );
    // The held ten go out in the next minute, signed with the time they are sent.
    clock.advance(chrono::Duration::seconds(62));
    for i in 0..10 {
        d.providers
            .dingtalk_robot
            .send(
                &robot_message(SECRET, &format!("later {i}")),
                &format!("later-{i}"),
            )
            .await
            .unwrap();
    }
    assert_eq!(d.fake.messages().len(), 30);
    assert!(d.fake.calls().iter().all(|c| c.code == Some(0)));
}

#[tokio::test]
async fn a_throttled_robot_is_left_alone_for_ten_minutes_and_refusals_name_their_cause() {
    let clock = manual_clock();
    // Another sender used most of the robot's minute: the fake throttles at the 5th message.
    let config = DingtalkConfig {
        robot_per_minute: 4,
        ..DingtalkConfig::default().with_signed_robot(TOKEN, SECRET)
    };
    let fake = FakeDingtalk::with_clock(config, clock.clone());
    let d = dingtalk_with(fake, Time::manual(clock.clone()), |c| c).await;
    let robot = &d.providers.dingtalk_robot;
    for i in 0..4 {
        robot
            .send(&robot_message(SECRET, &format!("{i}")), &format!("d{i}"))
            .await
            .unwrap();
    }
    let err = robot
        .send(&robot_message(SECRET, "5th"), "d5")
        .await
        .unwrap_err();
    assert_eq!(err.code, Some(130101));
    assert_eq!(
        err.failure,
        SendFailure::RateLimited {
            retry_after_ms: 600_000
        }
    );
    // Within the ten minutes nothing more is sent to it.
    clock.advance(chrono::Duration::minutes(5));
    let err = robot
        .send(&robot_message(SECRET, "6th"), "d6")
        .await
        .unwrap_err();
    assert!(
        matches!(err.failure, SendFailure::HeldBack { .. }),
        "{err:?}"
    );
    assert_eq!(d.fake.stats().calls_to(Endpoint::DingtalkRobot), 5);
    clock.advance(chrono::Duration::minutes(6));
    robot
        .send(&robot_message(SECRET, "after"), "d7")
        .await
        .unwrap();

    // A wrong secret: DingTalk's 310000 "sign not match", a settings error with a hint.
    let err = robot
        .send(&robot_message("SECwrong0000", "x"), "d8")
        .await
        .unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Config, Some(310000)));
    assert!(err.hint.unwrap().contains("signing secret"));
    // The group removed its robot: 300001.
    d.fake.remove_robot(TOKEN);
    let err = robot
        .send(&robot_message(SECRET, "x"), "d9")
        .await
        .unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Config, Some(300001)));
    assert!(err.hint.unwrap().contains("removed from the group"));
}

#[tokio::test]
async fn work_notices_go_a_hundred_users_a_call_with_the_picture_uploaded_once() {
    let clock = manual_clock();
    let users: Vec<String> = (0..150).map(|i| format!("user{i}")).collect();
    let config = DingtalkConfig::default().with_users(users.clone());
    let fake = FakeDingtalk::with_clock(config.clone(), clock.clone());
    let d = dingtalk_with(fake, Time::manual(clock), |c| c).await;
    let png = base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap();
    let image = Image::png(png, 1, 1);
    let project = ProjectId::parse("sales").unwrap();
    d.images
        .put_image(&project, &image, Utc::now() + chrono::Duration::days(1))
        .await
        .unwrap();
    let picture = image.reference(&project, "snapshot");
    let creds = creds(&config);
    let notice = |batch: &[String]| DingtalkNotice {
        to_users: batch
            .iter()
            .map(|u| DingtalkUserId::parse(u.as_str()).unwrap())
            .collect(),
        body: DingtalkBody::Markdown {
            title: "销售日报".into(),
            text: "#### 销售日报\n\nGMV: **1.2亿**".into(),
        },
        image: Some(picture.clone()),
    };
    // The first call's token is refused (88 / 40014): fetched again once, and the call repeated.
    d.fake
        .inject(FaultRule::next(1, Fault::TokenInvalid).on(Endpoint::DingtalkUpload));
    for batch in users.chunks(100) {
        let receipt = d
            .providers
            .dingtalk
            .send(&creds, &notice(batch), "k")
            .await
            .unwrap();
        assert!(
            receipt.answer.starts_with("ok: 2 work notice(s)"),
            "{}",
            receipt.answer
        );
    }
    assert_eq!(d.fake.uploads().len(), 1, "one upload for both batches");
    assert_eq!(d.fake.stats().calls_to(Endpoint::DingtalkGettoken), 2);
    let sent = d.fake.messages();
    assert_eq!(sent.len(), 4, "picture and figures, per batch");
    assert_eq!(sent[0].msgtype, "image");
    assert_eq!(sent[1].msgtype, "markdown");
    assert!(
        sent.iter()
            .all(|m| m.dropped_for.is_empty() && m.invalid_users.is_empty())
    );
    // DingTalk would drop the same notice to the same member again that day: a retry of a notice
    // that went out is no second message.
    d.providers
        .dingtalk
        .send(&creds, &notice(&users[..1]), "k")
        .await
        .unwrap();
    let retried = d.fake.messages();
    assert!(
        retried[4..].iter().all(|m| m.suppressed_duplicate),
        "{:?}",
        &retried[4..]
    );
    // More than 100 users in one notice is refused before any call.
    let err = d
        .providers
        .dingtalk
        .send(&creds, &notice(&users), "k")
        .await
        .unwrap_err();
    assert_eq!(err.failure, SendFailure::Payload);
    // A wrong AppSecret: 40096, a settings error.
    let wrong = DingtalkCredentials {
        app_secret: secrecy::SecretString::from("nope"),
        ..creds.clone()
    };
    let err = d
        .providers
        .dingtalk
        .send(&wrong, &notice(&users[..1]), "k")
        .await
        .unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Config, Some(40096)));
}

#[tokio::test]
async fn a_robot_resend_with_the_same_key_is_posted_once_and_a_keyword_refusal_says_so() {
    let clock = manual_clock();
    let config = DingtalkConfig::default()
        .with_signed_robot(TOKEN, SECRET)
        .with_keyword_robot("keywordrobot0001", &["日报"]);
    let fake = FakeDingtalk::with_clock(config, clock.clone());
    let d = dingtalk_with(fake, Time::manual(clock), |c| c).await;
    let robot = &d.providers.dingtalk_robot;
    // The answer to the first send was lost (the robot took it): the delivery sends again with
    // its own key, and DingTalk posts it once.
    robot
        .send(&robot_message(SECRET, "GMV 1.2亿"), "delivery-1")
        .await
        .unwrap();
    robot
        .send(&robot_message(SECRET, "GMV 1.2亿"), "delivery-1")
        .await
        .unwrap();
    let posted: Vec<_> = d
        .fake
        .messages()
        .into_iter()
        .filter(|m| !m.suppressed_duplicate)
        .collect();
    assert_eq!(posted.len(), 1, "{posted:#?}");
    // Another delivery with the same words is another message.
    robot
        .send(&robot_message(SECRET, "GMV 1.2亿"), "delivery-2")
        .await
        .unwrap();
    assert_eq!(
        d.fake
            .messages()
            .iter()
            .filter(|m| !m.suppressed_duplicate)
            .count(),
        2
    );

    // A keyword robot refuses a message without its keyword: a settings error saying so.
    let keyword = |text: &str| DingtalkRobotMessage {
        robot: DingtalkRobotAddress::Given(DingtalkRobotCredentials {
            access_token: DingtalkRobotToken::parse("keywordrobot0001").unwrap(),
            secret: None,
        }),
        body: DingtalkBody::Markdown {
            title: "周报".into(),
            text: text.into(),
        },
        group: GroupName::parse("运营群").unwrap(),
    };
    let err = robot.send(&keyword("GMV 1.2亿"), "k3").await.unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Config, Some(310000)));
    assert!(
        err.hint.unwrap().contains("keyword"),
        "the keyword rule is named"
    );
    robot
        .send(&keyword("销售日报: GMV 1.2亿"), "k4")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_member_at_the_apps_daily_cap_is_held_back_not_dropped() {
    let clock = manual_clock();
    // The fake drops what exceeds 3 notices a member a day, as DingTalk drops beyond 500.
    let config = DingtalkConfig {
        member_per_day: 3,
        ..DingtalkConfig::default().with_users(["manager01"])
    };
    let fake = FakeDingtalk::with_clock(config.clone(), clock.clone());
    let d = dingtalk_with(fake, Time::manual(clock.clone()), |c| {
        let mut c = c;
        c.dingtalk_member_quota = herald_providers::WindowQuota::new(
            [herald_providers::Rate::new(
                3,
                std::time::Duration::from_secs(86_400),
            )],
            std::time::Duration::from_secs(20),
        );
        c
    })
    .await;
    let creds = creds(&config);
    let notice = |i: usize| DingtalkNotice {
        to_users: vec![DingtalkUserId::parse("manager01").unwrap()],
        body: DingtalkBody::Text {
            content: format!("ticket {i} needs review"),
        },
        image: None,
    };
    for i in 0..3 {
        d.providers
            .dingtalk
            .send(&creds, &notice(i), "k")
            .await
            .unwrap();
    }
    let err = d
        .providers
        .dingtalk
        .send(&creds, &notice(3), "k")
        .await
        .unwrap_err();
    assert!(
        matches!(err.failure, SendFailure::HeldBack { .. }),
        "{err:?}"
    );
    assert!(
        d.fake.messages().iter().all(|m| m.dropped_for.is_empty()),
        "nothing dropped"
    );
    assert_eq!(d.fake.stats().calls_to(Endpoint::DingtalkSend), 3);
}
