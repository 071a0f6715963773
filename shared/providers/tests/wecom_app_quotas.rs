//! WeCom's per-member quota (30 messages a minute, 1,000 a day) against the fake WeCom: what Herald
//! holds back, what the fake drops silently, and 45009's pauses.
mod common;

use common::{manual_clock, text_to, wecom_creds, wecom_with};
use herald_core::ports::SendFailure;
use herald_fakes::{Endpoint, FakeWecom, Fault, FaultRule, WecomConfig};
use herald_providers::Time;
use std::time::Duration;

#[tokio::test]
async fn forty_pushes_to_one_member_in_a_minute_send_thirty_and_the_rest_a_minute_later() {
    let clock = manual_clock();
    let fake = FakeWecom::with_clock(WecomConfig::default().with_users(["alice"]), clock.clone());
    let w = wecom_with(fake, Time::manual(clock.clone()), |c| c).await;
    let creds = wecom_creds(&w.fake);
    let start = w.fake.now();
    let mut held = Vec::new();
    for i in 0..40 {
        let msg = text_to(&["alice"], &format!("alert {i}"));
        match w.providers.wecom.send(&creds, &msg, &format!("k{i}")).await {
            Ok(_) => {}
            Err(e) => held.push((i, e)),
        }
    }
    // WeCom would drop 10 of them silently; Herald held them back for the next minute instead.
    assert_eq!(w.fake.delivered().len(), 30);
    assert_eq!(held.len(), 10);
    for (_, e) in &held {
        // Held back by Herald (nothing sent), so the engine does not count it as an attempt.
        let SendFailure::HeldBack { retry_after_ms } = e.failure else {
            panic!("{e:?}")
        };
        assert!(
            (60_000..=62_000).contains(&retry_after_ms),
            "{retry_after_ms}"
        );
        assert!(e.message.contains("30 messages a minute"), "{}", e.message);
    }
    clock.advance(chrono::TimeDelta::seconds(62));
    for (i, _) in &held {
        let msg = text_to(&["alice"], &format!("alert {i}"));
        w.providers
            .wecom
            .send(&creds, &msg, &format!("k{i}"))
            .await
            .unwrap();
    }
    let delivered = w.fake.delivered();
    assert_eq!(delivered.len(), 40);
    assert!(w.fake.dropped().is_empty(), "nothing dropped silently");
    assert!(
        delivered[30..]
            .iter()
            .all(|m| (m.at - start).num_seconds() >= 62)
    );
}

#[tokio::test]
async fn one_full_member_holds_the_batch_and_a_member_named_twice_counts_once() {
    let clock = manual_clock();
    let fake = FakeWecom::with_clock(
        WecomConfig::default().with_users(["alice", "bob"]),
        clock.clone(),
    );
    let w = wecom_with(fake, Time::manual(clock.clone()), |c| c).await;
    let creds = wecom_creds(&w.fake);
    // "Alice" and "alice" are one member: 15 messages naming her twice count 15, not 30.
    for i in 0..15 {
        let msg = text_to(&["Alice", "alice"], &format!("a{i}"));
        w.providers
            .wecom
            .send(&creds, &msg, &format!("a{i}"))
            .await
            .unwrap();
    }
    for i in 0..15 {
        let msg = text_to(&["alice"], &format!("b{i}"));
        w.providers
            .wecom
            .send(&creds, &msg, &format!("b{i}"))
            .await
            .unwrap();
    }
    // Alice is full: a message to Alice and Bob waits for her, Bob's own does not.
    let both = text_to(&["alice", "bob"], "both");
    let err = w
        .providers
        .wecom
        .send(&creds, &both, "both")
        .await
        .unwrap_err();
    assert!(
        matches!(err.failure, SendFailure::HeldBack { .. }),
        "{err:?}"
    );
    w.providers
        .wecom
        .send(&creds, &text_to(&["bob"], "bob"), "bob")
        .await
        .unwrap();
    assert!(w.fake.dropped().is_empty());
}

#[tokio::test]
async fn answers_in_flight_when_45009_began_do_not_climb_to_the_daily_cap() {
    let clock = manual_clock();
    let fake = FakeWecom::with_clock(WecomConfig::default().with_users(["alice"]), clock.clone());
    let w = wecom_with(fake, Time::manual(clock.clone()), |c| c).await;
    let creds = wecom_creds(&w.fake);
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let (providers, creds) = (w.providers.clone(), creds.clone());
            tokio::spawn(async move {
                let msg = text_to(&["alice"], &format!("m{i}"));
                providers.wecom.send(&creds, &msg, &format!("k{i}")).await
            })
        })
        .collect();
    w.fake
        .inject(FaultRule::always(Fault::RateLimited { reset_secs: 60 }).on(Endpoint::WecomSend));
    for call in calls {
        if let Err(e) = call.await.unwrap() {
            assert!(
                matches!(e.failure, SendFailure::RateLimited { retry_after_ms } if retry_after_ms <= 60_000),
                "a minute, not the day: {e:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_fake_drops_silently_what_exceeds_a_members_minute() {
    // A client without the guard (a quota far above WeCom's) shows the loss Herald prevents.
    let w = wecom_with(
        FakeWecom::new(WecomConfig::default().with_users(["alice"])),
        Time::system(),
        |mut c| {
            c.member_quota = herald_providers::WindowQuota::new(
                [herald_providers::Rate::new(1000, Duration::from_secs(60))],
                Duration::from_secs(1),
            );
            c
        },
    )
    .await;
    let creds = wecom_creds(&w.fake);
    for i in 0..35 {
        let msg = text_to(&["alice"], &format!("alert {i}"));
        let receipt = w
            .providers
            .wecom
            .send(&creds, &msg, &format!("k{i}"))
            .await
            .unwrap();
        assert!(receipt.answer.starts_with("ok"));
    }
    assert_eq!(w.fake.delivered().len(), 30);
    assert_eq!(w.fake.dropped().len(), 5);
}

#[tokio::test]
async fn a_timeout_is_transient() {
    let w = wecom_with(
        FakeWecom::new(WecomConfig::default().with_users(["alice"])),
        Time::system(),
        |mut c| {
            c.timeouts.request = Duration::from_millis(300);
            c
        },
    )
    .await;
    let creds = wecom_creds(&w.fake);
    w.fake.inject(
        FaultRule::next(
            1,
            Fault::Delay {
                delay: Duration::from_secs(2),
            },
        )
        .on(Endpoint::WecomGettoken),
    );
    let err = w
        .providers
        .wecom
        .send(&creds, &text_to(&["alice"], "x"), "k")
        .await
        .unwrap_err();
    assert_eq!(err.failure, SendFailure::Transient);
    assert!(err.message.contains("timed out"), "{}", err.message);
    assert!(
        !err.message.contains("corpsecret"),
        "the URL with the secret leaked: {}",
        err.message
    );
}

#[tokio::test]
async fn every_call_goes_through_the_configured_proxy() {
    // The base URL does not resolve: only the proxy (the fake, which serves absolute-form
    // requests) can answer, so gettoken and message/send both went through it.
    let fake = FakeWecom::new(WecomConfig::default().with_users(["alice"]));
    let w = wecom_with(fake, Time::system(), |c| c).await;
    let providers = herald_providers::HttpProviders::new(
        common::config("http://qyapi.invalid", "http://127.0.0.1:9", Time::system()),
        common::image_store(),
    )
    .unwrap();
    let mut creds = wecom_creds(&w.fake);
    creds.proxy = Some(secrecy::SecretString::from(w.url.clone()));
    providers
        .wecom
        .send(&creds, &text_to(&["alice"], "via proxy"), "k")
        .await
        .unwrap();
    let stats = w.fake.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 1);
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 1);
}
