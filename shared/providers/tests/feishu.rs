//! Feishu client against the fake Feishu: tokens, look-ups, rate limits, idempotency.
mod common;

use common::{feishu, feishu_creds, feishu_with, manual_clock};
use herald_core::domain::message::{FeishuBody, FeishuMessage, FeishuRecipient, PostRun};
use herald_core::domain::recipients::{EmailAddress, FeishuOpenId};
use herald_core::ports::SendFailure;
use herald_fakes::{Endpoint, FakeFeishu, Fault, FaultRule, FeishuConfig, FeishuUser};
use herald_providers::Time;
use serde_json::json;
use std::time::{Duration, Instant};

fn with_users(n: usize) -> FeishuConfig {
    (0..n).fold(FeishuConfig::default(), |c, i| {
        c.with_user(FeishuUser::new(&format!("ou_user{i}")).email(&format!("user{i}@example.com")))
    })
}

fn to(open_id: &str, text: &str) -> FeishuMessage {
    FeishuMessage {
        to: FeishuRecipient::OpenId(FeishuOpenId::parse(open_id).unwrap()),
        body: FeishuBody::Text { text: text.into() },
    }
}

fn email(i: usize) -> EmailAddress {
    EmailAddress::parse(format!("user{i}@example.com")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_token_serves_100_concurrent_sends() {
    let f = feishu(with_users(1), Time::system()).await;
    let creds = feishu_creds(&f.fake);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (providers, creds) = (f.providers.clone(), creds.clone());
            tokio::spawn(async move {
                providers
                    .feishu
                    .send(&creds, &to("ou_user0", "hi"), &format!("k{i}"))
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().message_ids.len(), 1);
    }
    let stats = f.fake.stats();
    assert_eq!(stats.calls_to(Endpoint::FeishuToken), 1);
    assert_eq!(stats.calls_to(Endpoint::FeishuSend), 100);
    assert_eq!(f.fake.delivered().len(), 100);
}

#[tokio::test]
async fn a_hundred_and_twenty_emails_take_three_lookups_and_then_none() {
    let f = feishu(with_users(100), Time::system()).await;
    let creds = feishu_creds(&f.fake);
    let emails: Vec<EmailAddress> = (0..120).map(email).collect();
    let found = f
        .providers
        .feishu
        .resolve(&creds, &emails, &[])
        .await
        .unwrap();
    assert_eq!(found.len(), 120);
    assert_eq!(found.values().filter(|id| id.is_some()).count(), 100);
    assert_eq!(
        found[&FeishuRecipient::Email(email(7))]
            .as_ref()
            .map(|id| id.as_str()),
        Some("ou_user7")
    );
    assert_eq!(f.fake.stats().calls_to(Endpoint::FeishuBatchGetId), 3);
    let again = f
        .providers
        .feishu
        .resolve(&creds, &emails, &[])
        .await
        .unwrap();
    assert_eq!(again, found);
    assert_eq!(
        f.fake.stats().calls_to(Endpoint::FeishuBatchGetId),
        3,
        "second resolve: no call"
    );
}

#[tokio::test]
async fn not_found_is_cached_briefly_and_named_in_the_send_error() {
    let clock = manual_clock();
    let f = feishu(with_users(1), Time::manual(clock.clone())).await;
    let creds = feishu_creds(&f.fake);
    let stranger = EmailAddress::parse("nobody@example.com").unwrap();
    let msg = FeishuMessage {
        to: FeishuRecipient::Email(stranger.clone()),
        body: FeishuBody::Text { text: "hi".into() },
    };
    let err = f
        .providers
        .feishu
        .send(&creds, &msg, "k")
        .await
        .unwrap_err();
    assert_eq!(err.failure, SendFailure::Recipient);
    assert!(
        err.message.contains("nobody@example.com"),
        "{}",
        err.message
    );
    f.providers
        .feishu
        .send(&creds, &msg, "k")
        .await
        .unwrap_err();
    assert_eq!(f.fake.stats().calls_to(Endpoint::FeishuBatchGetId), 1);
    clock.advance(chrono::TimeDelta::minutes(6));
    f.providers
        .feishu
        .resolve(&creds, &[stranger], &[])
        .await
        .unwrap();
    assert_eq!(f.fake.stats().calls_to(Endpoint::FeishuBatchGetId), 2);
    assert_eq!(f.fake.stats().calls_to(Endpoint::FeishuSend), 0);
}

#[tokio::test]
async fn a_send_by_email_or_mobile_goes_to_the_open_id() {
    let config = with_users(1).with_user(FeishuUser::new("ou_m1").mobile("13800000000"));
    let f = feishu(config, Time::system()).await;
    let creds = feishu_creds(&f.fake);
    let by_email = FeishuMessage {
        to: FeishuRecipient::Email(email(0)),
        body: FeishuBody::Text { text: "hi".into() },
    };
    f.providers
        .feishu
        .send(&creds, &by_email, "k1")
        .await
        .unwrap();
    let by_mobile = FeishuMessage {
        to: FeishuRecipient::Mobile("+8613800000000".into()),
        ..by_email.clone()
    };
    f.providers
        .feishu
        .send(&creds, &by_mobile, "k2")
        .await
        .unwrap();
    let to: Vec<_> = f
        .fake
        .delivered()
        .iter()
        .map(|m| m.recipients.clone())
        .collect();
    assert_eq!(
        to,
        vec![vec!["ou_user0".to_owned()], vec!["ou_m1".to_owned()]]
    );
    assert!(
        f.fake
            .delivered()
            .iter()
            .all(|m| m.receive_id_type.as_deref() == Some("open_id"))
    );
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_and_the_message_delivered() {
    let f = feishu(with_users(1), Time::system()).await;
    let creds = feishu_creds(&f.fake);
    f.fake
        .inject(FaultRule::next(1, Fault::RateLimited { reset_secs: 1 }).on(Endpoint::FeishuSend));
    let started = Instant::now();
    f.providers
        .feishu
        .send(&creds, &to("ou_user0", "hi"), "k")
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the reset header was honoured"
    );
    assert_eq!(f.fake.stats().calls_to(Endpoint::FeishuSend), 2);
    assert_eq!(f.fake.delivered().len(), 1);
}

#[tokio::test]
async fn a_long_rate_limit_is_returned_not_waited() {
    let f = feishu(with_users(1), Time::system()).await;
    let creds = feishu_creds(&f.fake);
    f.fake
        .inject(FaultRule::next(1, Fault::RateLimited { reset_secs: 50 }).on(Endpoint::FeishuSend));
    let err = f
        .providers
        .feishu
        .send(&creds, &to("ou_user0", "hi"), "k")
        .await
        .unwrap_err();
    assert_eq!(
        err.failure,
        SendFailure::RateLimited {
            retry_after_ms: 50_000
        }
    );
    assert_eq!(err.code, Some(99991400));
}

#[tokio::test]
async fn the_same_idempotency_key_is_delivered_once() {
    let f = feishu(with_users(1), Time::system()).await;
    let creds = feishu_creds(&f.fake);
    let first = f
        .providers
        .feishu
        .send(&creds, &to("ou_user0", "hi"), "delivery-42")
        .await
        .unwrap();
    let second = f
        .providers
        .feishu
        .send(&creds, &to("ou_user0", "hi"), "delivery-42")
        .await
        .unwrap();
    assert_eq!(first.message_ids, second.message_ids);
    assert_eq!(f.fake.delivered().len(), 1);
    assert_eq!(f.fake.messages().len(), 2);
}

#[tokio::test]
async fn an_invalid_token_is_refetched_once_then_the_send_succeeds() {
    let f = feishu(with_users(1), Time::system()).await;
    let creds = feishu_creds(&f.fake);
    f.providers
        .feishu
        .send(&creds, &to("ou_user0", "one"), "k1")
        .await
        .unwrap();
    f.fake.revoke_tokens();
    f.providers
        .feishu
        .send(&creds, &to("ou_user0", "two"), "k2")
        .await
        .unwrap();
    let stats = f.fake.stats();
    assert_eq!(stats.calls_to(Endpoint::FeishuToken), 2);
    assert_eq!(stats.calls_to(Endpoint::FeishuSend), 3);
    let codes: Vec<_> = f
        .fake
        .calls()
        .iter()
        .filter(|c| c.endpoint == Endpoint::FeishuSend)
        .map(|c| c.code)
        .collect();
    assert_eq!(codes, vec![Some(0), Some(99991663), Some(0)]);
}

#[tokio::test]
async fn post_content_has_the_im_v1_shape_and_a_big_card_is_refused() {
    let f = feishu(
        with_users(1).with_user(FeishuUser::new("ou_out").unavailable()),
        Time::system(),
    )
    .await;
    let creds = feishu_creds(&f.fake);
    let post = FeishuMessage {
        body: FeishuBody::Post {
            title: "日报".into(),
            paragraphs: vec![vec![
                PostRun {
                    text: "详见 ".into(),
                    href: None,
                },
                PostRun {
                    text: "报表".into(),
                    href: Some("https://bi.example.com/r/1".into()),
                },
            ]],
            image: None,
        },
        ..to("ou_user0", "")
    };
    f.providers.feishu.send(&creds, &post, "k").await.unwrap();
    assert_eq!(
        f.fake.delivered()[0].content,
        Some(
            json!({"zh_cn":{"title":"日报","content":[[{"tag":"text","text":"详见 "},
            {"tag":"a","href":"https://bi.example.com/r/1","text":"报表"}]]}})
        )
    );
    let card = FeishuMessage {
        body: FeishuBody::Interactive {
            card: json!({"elements":[{"tag":"markdown","content":"x".repeat(40_000)}]}),
            image: None,
        },
        ..to("ou_user0", "")
    };
    let err = f
        .providers
        .feishu
        .send(&creds, &card, "k2")
        .await
        .unwrap_err();
    assert_eq!(err.failure, SendFailure::Payload);
    assert_eq!(f.fake.stats().calls_to(Endpoint::FeishuSend), 1);
    let err = f
        .providers
        .feishu
        .send(&creds, &to("ou_out", "hi"), "k3")
        .await
        .unwrap_err();
    assert_eq!(
        (err.failure, err.code),
        (SendFailure::Recipient, Some(230013))
    );
}

#[tokio::test]
async fn a_wrong_secret_is_a_config_error() {
    let f = feishu(with_users(1), Time::system()).await;
    let mut creds = feishu_creds(&f.fake);
    creds.app_secret = "wrong".to_owned().into();
    let err = f
        .providers
        .feishu
        .send(&creds, &to("ou_user0", "hi"), "k")
        .await
        .unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Config, Some(10014)));
    assert_eq!(f.fake.stats().calls_to(Endpoint::FeishuSend), 0);
}

/// `users` users on a fake enforcing 50/s and 1,000/min, and clients built from `adjust`, on one
/// manual clock: waiting moves it, so a minute passes in no time.
async fn enforcing_quotas(
    users: usize,
    adjust: impl FnOnce(herald_providers::ProvidersConfig) -> herald_providers::ProvidersConfig,
) -> common::Feishu {
    let clock = manual_clock();
    let config = FeishuConfig {
        enforce_send_rate_limit: true,
        ..with_users(users)
    };
    let fake = FakeFeishu::with_clock(config, clock.clone());
    feishu_with(fake, Time::manual(clock), adjust).await
}

#[tokio::test]
async fn a_push_to_1050_users_keeps_to_both_quotas_and_is_never_refused() {
    // One manual clock for the client and the fake (enforcing 50/s and 1,000/min): waiting moves
    // it, so the minute passes in no time. The client may wait the whole minute here.
    let f = enforcing_quotas(1050, |mut c| {
        c.feishu.quota.max_wait = Duration::from_secs(120);
        c
    })
    .await;
    let creds = feishu_creds(&f.fake);
    let start = f.fake.now();
    for i in 0..1050 {
        let msg = to(&format!("ou_user{i}"), "daily report");
        f.providers
            .feishu
            .send(&creds, &msg, &format!("k{i}"))
            .await
            .unwrap();
    }
    let refused = f
        .fake
        .calls()
        .iter()
        .filter(|c| c.code == Some(99991400))
        .count();
    assert_eq!(refused, 0);
    let delivered = f.fake.delivered();
    assert_eq!(delivered.len(), 1050);
    let took = (delivered[1049].at - start).num_seconds();
    // 1,000 in the first 20 s, the rest once the first minute (and its margin) has passed.
    assert!((62..=64).contains(&took), "{took} s");
}

#[tokio::test]
async fn the_fake_refuses_the_1001st_call_in_a_minute() {
    // A client held only to 50/s, as Herald was: the minute quota refuses it.
    let f = enforcing_quotas(1001, |mut c| {
        c.feishu.quota = herald_providers::WindowQuota::new(
            [herald_providers::Rate::new(50, Duration::from_secs(1))],
            Duration::from_secs(10),
        );
        c.feishu.max_inline_wait = Duration::ZERO;
        c
    })
    .await;
    let creds = feishu_creds(&f.fake);
    for i in 0..1000 {
        let msg = to(&format!("ou_user{i}"), "x");
        f.providers
            .feishu
            .send(&creds, &msg, &format!("k{i}"))
            .await
            .unwrap();
    }
    let err = f
        .providers
        .feishu
        .send(&creds, &to("ou_user1000", "x"), "k1000")
        .await
        .unwrap_err();
    assert!(
        matches!(err.failure, SendFailure::RateLimited { .. }),
        "{err:?}"
    );
    assert_eq!(err.code, Some(99991400));
}

#[tokio::test]
async fn an_answer_cut_off_after_feishu_took_the_message_is_retried_and_arrives_once() {
    let f = feishu(with_users(1), Time::system()).await;
    let creds = feishu_creds(&f.fake);
    let msg = to("ou_user0", "once");
    f.fake
        .inject(FaultRule::next(1, Fault::Reset).on(Endpoint::FeishuSend));
    let err = f
        .providers
        .feishu
        .send(&creds, &msg, "k")
        .await
        .unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Transient, None));
    assert_eq!(f.fake.delivered().len(), 1);
    // The resend carries the same uuid (the delivery's key): Feishu answers the first message.
    f.providers.feishu.send(&creds, &msg, "k").await.unwrap();
    assert_eq!(f.fake.delivered().len(), 1);
}

#[tokio::test]
async fn a_validation_error_is_permanent_and_names_the_field_and_an_empty_answer_is_no_success() {
    let f = feishu(with_users(1), Time::system()).await;
    let creds = feishu_creds(&f.fake);
    f.fake
        .inject(FaultRule::next(1, Fault::FieldValidation).on(Endpoint::FeishuSend));
    let err = f
        .providers
        .feishu
        .send(&creds, &to("ou_user0", "hi"), "k")
        .await
        .unwrap_err();
    assert_eq!(
        (err.failure.clone(), err.code),
        (SendFailure::Payload, Some(99992402))
    );
    assert!(
        err.message.contains("receive_id"),
        "names the field: {}",
        err.message
    );
    f.fake
        .inject(FaultRule::next(1, Fault::EmptyAnswer).on(Endpoint::FeishuSend));
    let err = f
        .providers
        .feishu
        .send(&creds, &to("ou_user0", "hi"), "k2")
        .await
        .unwrap_err();
    assert_eq!(err.failure, SendFailure::Transient);
    assert!(err.message.contains("without a code"), "{}", err.message);
    assert!(f.fake.delivered().is_empty());
}

/// A group chat takes 5 messages a second (shared by every bot in it): fifteen sends to one chat
/// are spread over three seconds by the client, so the fake (which refuses the sixth in any
/// second with 230020) is asked exactly fifteen times and refuses none.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sends_to_one_chat_keep_to_its_five_a_second() {
    let fake = FakeFeishu::new(FeishuConfig::default().with_chat("oc_sales"));
    fake.enforce_send_rate_limit(true);
    let f = feishu_with(fake, Time::system(), |c| c).await;
    let creds = feishu_creds(&f.fake);
    let chat = herald_core::domain::recipients::FeishuChatId::parse("oc_sales").unwrap();
    let started = Instant::now();
    let sends: Vec<_> = (0..15)
        .map(|i| {
            let (providers, creds, chat) = (f.providers.clone(), creds.clone(), chat.clone());
            tokio::spawn(async move {
                let msg = FeishuMessage {
                    to: FeishuRecipient::Chat(chat),
                    body: FeishuBody::Text {
                        text: format!("report {i}"),
                    },
                };
                providers.feishu.send(&creds, &msg, &format!("k{i}")).await
            })
        })
        .collect();
    for send in sends {
        send.await.unwrap().expect("sent");
    }
    assert_eq!(f.fake.stats().calls_to(Endpoint::FeishuSend), 15);
    assert_eq!(f.fake.delivered().len(), 15);
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "spread over the seconds: {:?}",
        started.elapsed()
    );
}
