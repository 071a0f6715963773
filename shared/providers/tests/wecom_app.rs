//! WeCom app client against the fake WeCom: tokens, batches, splitting, errors, proxy.
mod common;

use common::{manual_clock, text_to, users, wecom, wecom_creds, wecom_with};
use herald_core::domain::message::{WecomAppMessage, WecomBody};
use herald_core::ports::SendFailure;
use herald_fakes::{Endpoint, FakeWecom, Fault, FaultRule, WecomConfig};
use herald_providers::{TRUSTED_IP_HINT, Time};
use std::time::Duration;

#[tokio::test]
async fn one_token_serves_100_sends() {
    let users: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    let w = wecom(WecomConfig::default().with_users(users.clone())).await;
    let creds = wecom_creds(&w.fake);
    for (i, user) in users.iter().enumerate() {
        let msg = text_to(&[user.as_str()], &format!("report {i}"));
        w.providers
            .wecom
            .send(&creds, &msg, &format!("k{i}"))
            .await
            .unwrap();
    }
    let stats = w.fake.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 1);
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 100);
    assert_eq!(w.fake.delivered().len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_token_serves_100_concurrent_sends() {
    let users: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    let w = wecom(WecomConfig::default().with_users(users)).await;
    let creds = wecom_creds(&w.fake);
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let (providers, creds) = (w.providers.clone(), creds.clone());
            tokio::spawn(async move {
                let user = format!("u{i}");
                let msg = text_to(&[user.as_str()], &format!("report {i}"));
                providers.wecom.send(&creds, &msg, &format!("k{i}")).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let stats = w.fake.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 1);
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 100);
}

#[tokio::test]
async fn three_batches_for_2500_users_take_three_calls_and_one_token() {
    let all: Vec<String> = (0..2500).map(|i| format!("user{i}")).collect();
    let w = wecom(WecomConfig::default().with_users(all.clone())).await;
    let creds = wecom_creds(&w.fake);
    for (n, batch) in all.chunks(1000).enumerate() {
        let msg = WecomAppMessage {
            to_users: users(batch),
            to_parties: vec![],
            to_tags: vec![],
            body: WecomBody::Text {
                content: "daily report".into(),
            },
            image: None,
        };
        let receipt = w
            .providers
            .wecom
            .send(&creds, &msg, &format!("batch{n}"))
            .await
            .unwrap();
        assert!(receipt.invalid_recipients.is_empty());
        assert_eq!(receipt.message_ids.len(), 1);
    }
    let stats = w.fake.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 3);
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 1);
    let reached: usize = w.fake.delivered().iter().map(|m| m.recipients.len()).sum();
    assert_eq!(reached, 2500);
}

#[tokio::test]
async fn an_expired_token_is_refetched_once_and_the_send_succeeds() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let creds = wecom_creds(&w.fake);
    w.providers
        .wecom
        .send(&creds, &text_to(&["alice"], "one"), "k1")
        .await
        .unwrap();
    // WeCom's clock passes the token's expiry while ours still trusts it.
    w.fake.advance(Duration::from_secs(7201));
    w.providers
        .wecom
        .send(&creds, &text_to(&["alice"], "two"), "k2")
        .await
        .unwrap();
    // WeCom invalidates a current token early (40014 / 42001 on the next call).
    w.fake.inject(FaultRule::next(1, Fault::TokenInvalid));
    w.providers
        .wecom
        .send(&creds, &text_to(&["alice"], "three"), "k3")
        .await
        .unwrap();
    let stats = w.fake.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 3);
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 5); // 1 + (42001, retry) + (40014, retry)
    assert_eq!(w.fake.delivered().len(), 3);
}

#[tokio::test]
async fn a_token_refused_twice_is_not_retried_forever() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let creds = wecom_creds(&w.fake);
    w.fake.inject(FaultRule::always(Fault::TokenExpired));
    let err = w
        .providers
        .wecom
        .send(&creds, &text_to(&["alice"], "x"), "k")
        .await
        .unwrap_err();
    assert_eq!(err.failure, SendFailure::Transient);
    assert_eq!(err.code, Some(42001));
    assert_eq!(w.fake.stats().calls_to(Endpoint::WecomSend), 2);
    assert_eq!(w.fake.stats().calls_to(Endpoint::WecomGettoken), 2);
}

#[tokio::test]
async fn untrusted_ip_is_a_config_error_with_the_hint_and_no_retry_loop() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let creds = wecom_creds(&w.fake);
    w.fake.inject(FaultRule::always(Fault::UntrustedIp));
    for _ in 0..3 {
        let err = w
            .providers
            .wecom
            .send(&creds, &text_to(&["alice"], "x"), "k")
            .await
            .unwrap_err();
        assert_eq!(err.failure, SendFailure::Config);
        assert_eq!(err.code, Some(60020));
        assert_eq!(err.hint.as_deref(), Some(TRUSTED_IP_HINT));
    }
    // One gettoken for three sends: the failure is remembered briefly, never hammered.
    let stats = w.fake.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 1);
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 0);
}

#[tokio::test]
async fn untrusted_ip_on_send_is_not_retried_either() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let creds = wecom_creds(&w.fake);
    w.fake
        .inject(FaultRule::always(Fault::UntrustedIp).on(Endpoint::WecomSend));
    let err = w
        .providers
        .wecom
        .send(&creds, &text_to(&["alice"], "x"), "k")
        .await
        .unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Config, Some(60020)));
    assert_eq!(w.fake.stats().calls_to(Endpoint::WecomSend), 1);
}

#[tokio::test]
async fn invalid_users_are_reported_and_all_invalid_is_a_recipient_error() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let creds = wecom_creds(&w.fake);
    let receipt = w
        .providers
        .wecom
        .send(&creds, &text_to(&["alice", "Bob"], "x"), "k")
        .await
        .unwrap();
    assert_eq!(receipt.invalid_recipients, vec!["bob"]);
    assert_eq!(receipt.message_ids.len(), 1);
    let err = w
        .providers
        .wecom
        .send(&creds, &text_to(&["carol"], "y"), "k2")
        .await
        .unwrap_err();
    assert_eq!(
        (err.failure, err.code),
        (SendFailure::Recipient, Some(81013))
    );
}

#[tokio::test]
async fn a_5000_byte_chinese_text_arrives_as_three_whole_messages() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let creds = wecom_creds(&w.fake);
    let text = "报表数据异常".repeat(278); // 18 bytes × 278 = 5004 bytes
    let receipt = w
        .providers
        .wecom
        .send(&creds, &text_to(&["alice"], &text), "k")
        .await
        .unwrap();
    assert_eq!(receipt.message_ids.len(), 3);
    let delivered = w.fake.delivered();
    assert_eq!(delivered.len(), 3);
    let parts: Vec<String> = delivered
        .iter()
        .map(|m| m.body["text"]["content"].as_str().unwrap().to_owned())
        .collect();
    assert!(parts.iter().all(|p| p.len() <= 2048));
    assert_eq!(parts.concat(), text, "no character was broken or lost");
}

#[tokio::test]
async fn a_long_textcard_is_truncated_not_refused() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let creds = wecom_creds(&w.fake);
    let msg = WecomAppMessage {
        body: WecomBody::Textcard {
            title: "周报".repeat(40),
            description: "<div class=\"gray\">说明</div>".repeat(40),
            url: "https://bi.example.com/r/1".into(),
            btntxt: Some("查看".into()),
        },
        ..text_to(&["alice"], "")
    };
    w.providers.wecom.send(&creds, &msg, "k").await.unwrap();
    let card = &w.fake.delivered()[0].body["textcard"];
    assert!(card["title"].as_str().unwrap().ends_with('…'));
}

#[tokio::test]
async fn a_retried_send_is_delivered_once() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let creds = wecom_creds(&w.fake);
    let msg = text_to(&["alice"], "same");
    w.providers.wecom.send(&creds, &msg, "k").await.unwrap();
    w.providers.wecom.send(&creds, &msg, "k").await.unwrap();
    assert_eq!(w.fake.delivered().len(), 1);
    assert_eq!(w.fake.stats().suppressed_duplicates, 1);
}

#[tokio::test]
async fn an_answer_cut_off_after_wecom_took_the_message_is_retried_and_arrives_once() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let creds = wecom_creds(&w.fake);
    let msg = text_to(&["alice"], "once");
    w.fake
        .inject(FaultRule::next(1, Fault::Reset).on(Endpoint::WecomSend));
    // WeCom took it, the answer was lost: Herald cannot tell, so it is a passing fault...
    let err = w.providers.wecom.send(&creds, &msg, "k").await.unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Transient, None));
    assert_eq!(w.fake.delivered().len(), 1);
    // ...and the resend is the same body, which WeCom's duplicate check keeps from alice.
    w.providers.wecom.send(&creds, &msg, "k").await.unwrap();
    assert_eq!(w.fake.delivered().len(), 1);
    assert_eq!(w.fake.stats().suppressed_duplicates, 1);
}

#[tokio::test]
async fn busy_rate_limited_and_5xx_answers_are_classified() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let creds = wecom_creds(&w.fake);
    let msg = text_to(&["alice"], "x");
    w.fake
        .inject(FaultRule::next(1, Fault::SystemBusy).on(Endpoint::WecomSend));
    let err = w.providers.wecom.send(&creds, &msg, "k").await.unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Transient, Some(-1)));
    w.fake
        .inject(FaultRule::next(1, Fault::Http { status: 502 }).on(Endpoint::WecomSend));
    let err = w.providers.wecom.send(&creds, &msg, "k").await.unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Transient, Some(502)));
    // A proxy's or captive portal's `{}`: not delivered, not a success.
    w.fake
        .inject(FaultRule::next(1, Fault::EmptyAnswer).on(Endpoint::WecomSend));
    let err = w.providers.wecom.send(&creds, &msg, "k").await.unwrap_err();
    assert_eq!(err.failure, SendFailure::Transient);
    assert!(
        err.message.contains("without an errcode"),
        "{}",
        err.message
    );
    w.providers.wecom.send(&creds, &msg, "k").await.unwrap();
}

#[tokio::test]
async fn repeated_45009_waits_a_minute_then_an_hour_then_gives_up_for_the_day() {
    let clock = manual_clock();
    let fake = FakeWecom::with_clock(
        WecomConfig::default().with_users(["alice", "bob"]),
        clock.clone(),
    );
    let w = wecom_with(fake, Time::manual(clock.clone()), |c| c).await;
    let creds = wecom_creds(&w.fake);
    let msg = text_to(&["alice"], "x");
    w.fake
        .inject(FaultRule::always(Fault::RateLimited { reset_secs: 60 }).on(Endpoint::WecomSend));
    let wait_of = |e: &herald_core::ports::SendError| match e.failure {
        SendFailure::RateLimited { retry_after_ms } => retry_after_ms / 1000,
        _ => 0,
    };
    let first = w.providers.wecom.send(&creds, &msg, "k").await.unwrap_err();
    assert_eq!((wait_of(&first), first.code), (60, Some(45009)));
    // Blocked: another push to the app waits without calling WeCom.
    let calls = w.fake.stats().calls_to(Endpoint::WecomSend);
    let other = w
        .providers
        .wecom
        .send(&creds, &text_to(&["bob"], "y"), "k2")
        .await
        .unwrap_err();
    assert_eq!(wait_of(&other), 60);
    assert_eq!(w.fake.stats().calls_to(Endpoint::WecomSend), calls);
    clock.advance(chrono::TimeDelta::seconds(61));
    let second = w.providers.wecom.send(&creds, &msg, "k").await.unwrap_err();
    assert_eq!(wait_of(&second), 3600, "{second:?}");
    clock.advance(chrono::TimeDelta::seconds(3601));
    let third = w.providers.wecom.send(&creds, &msg, "k").await.unwrap_err();
    assert_eq!(
        third.failure,
        SendFailure::Config,
        "the daily cap is not retried all day"
    );
    assert!(third.hint.is_some());
    // A success (the next day) starts over.
    w.fake.clear_faults();
    clock.advance(chrono::TimeDelta::days(1));
    w.providers.wecom.send(&creds, &msg, "k").await.unwrap();
}

#[tokio::test]
async fn the_token_of_another_app_is_a_config_error_naming_the_agent_id() {
    let w = wecom(
        WecomConfig::default()
            .with_app("other-secret", 1_000_003)
            .with_users(["alice"]),
    )
    .await;
    let mut creds = wecom_creds(&w.fake);
    creds.settings.agent_id = 1_000_003; // the secret is the first app's
    let err = w
        .providers
        .wecom
        .send(&creds, &text_to(&["alice"], "x"), "k")
        .await
        .unwrap_err();
    assert_eq!((err.failure, err.code), (SendFailure::Config, Some(301002)));
    assert!(err.hint.unwrap().contains("agent id"));
    assert!(w.fake.delivered().is_empty());
}

#[tokio::test]
async fn safe_goes_only_on_the_types_that_define_it() {
    let w = wecom(WecomConfig::default().with_users(["alice"])).await;
    let mut creds = wecom_creds(&w.fake);
    creds.settings.encrypted = true;
    w.providers
        .wecom
        .send(&creds, &text_to(&["alice"], "confidential"), "k1")
        .await
        .unwrap();
    let mut card = text_to(&["alice"], "");
    card.body = WecomBody::Textcard {
        title: "GMV".into(),
        description: "by region".into(),
        url: "https://bi.example.com/r/1".into(),
        btntxt: None,
    };
    let receipt = w.providers.wecom.send(&creds, &card, "k2").await.unwrap();
    assert!(
        receipt.answer.contains("not confidential"),
        "{}",
        receipt.answer
    );
    let sent = w.fake.delivered();
    assert_eq!(sent[0].safe, Some(1), "text carries safe");
    assert_eq!(sent[1].safe, None, "textcard has no safe: {}", sent[1].body);
}
