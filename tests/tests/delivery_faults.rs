//! The delivery engine through the real stack — SQLite store, DeliveryWorker, ProviderHub and the
//! provider clients — against fake WeCom, Feishu and SMTP servers with faults switched on.
use chrono::Duration;
use herald_core::clock::Clock;
use herald_core::domain::delivery::{DeliveryId, DeliveryStatus};
use herald_core::domain::message::{
    EmailMessage, FeishuBody, FeishuMessage, FeishuRecipient, OutboundMessage, WecomAppMessage,
    WecomBody,
};
use herald_core::domain::recipients::{EmailAddress, FeishuOpenId, WecomUserId};
use herald_core::ports::DeliveryStore;
use herald_fakes::{Endpoint, Fault, FaultRule, FeishuConfig, FeishuUser, WecomConfig};
use herald_tests::providers::{Engine, FakeProviders, configure, flaky_smtp_proxy};
use std::collections::HashMap;
use std::time::Instant;

const NOW: &str = "2026-11-25T01:00:00Z";

fn wecom(users: &[String], text: &str) -> OutboundMessage {
    OutboundMessage::WecomApp(WecomAppMessage {
        to_users: users
            .iter()
            .map(|u| WecomUserId::parse(u.as_str()).expect("user id"))
            .collect(),
        to_parties: vec![],
        to_tags: vec![],
        body: WecomBody::Text {
            content: text.to_owned(),
        },
        image: None,
    })
}

fn feishu(open_id: &str, text: &str) -> OutboundMessage {
    OutboundMessage::Feishu(FeishuMessage {
        to: FeishuRecipient::OpenId(FeishuOpenId::parse(open_id).expect("open id")),
        body: FeishuBody::Text {
            text: text.to_owned(),
        },
    })
}

fn mail(to: &str, subject: &str) -> OutboundMessage {
    OutboundMessage::Email(EmailMessage {
        to: EmailAddress::parse(to).expect("email"),
        subject: subject.to_owned(),
        text: format!("{subject}: see the dashboard"),
        html: None,
        images: Vec::new(),
        attachments: Vec::new(),
    })
}

fn users(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:04}")).collect()
}

fn open_id(i: usize) -> String {
    format!("ou_user{i:04}")
}

/// Fakes that know `wecom_users` and Feishu users `ou_user0000..` (`feishu_users` of them).
async fn fakes(wecom_users: &[String], feishu_users: usize) -> FakeProviders {
    let mut feishu = FeishuConfig::default();
    for i in 0..feishu_users {
        feishu = feishu.with_user(FeishuUser::new(&open_id(i)));
    }
    FakeProviders::start(
        WecomConfig::default().with_users(wecom_users.iter().cloned()),
        feishu,
    )
    .await
}

async fn engine(fakes: &FakeProviders) -> Engine {
    let engine = Engine::new(NOW, fakes.config());
    engine.configure_all(fakes).await;
    engine
}

async fn statuses(engine: &Engine, ids: &[DeliveryId]) -> HashMap<&'static str, usize> {
    let mut counts = HashMap::new();
    for id in ids {
        *counts
            .entry(engine.get(id).await.status.as_str())
            .or_default() += 1;
    }
    counts
}

/// How many times each recipient appears across messages.
fn per_recipient<'a>(recipients: impl Iterator<Item = &'a String>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in recipients {
        *counts.entry(r.clone()).or_default() += 1;
    }
    counts
}

// --------------------------------------------------------------------------------------- tokens

#[tokio::test]
async fn the_wecom_token_is_fetched_once_for_a_hundred_deliveries() {
    // A hundred members: WeCom delivers at most 30 a minute to one member.
    let members = users("m", 100);
    let fakes = fakes(&members, 0).await;
    let engine = engine(&fakes).await;
    let ids = engine
        .enqueue(
            members
                .iter()
                .enumerate()
                .map(|(i, m)| wecom(std::slice::from_ref(m), &format!("report {i}")))
                .collect(),
        )
        .await;

    assert_eq!(engine.worker.run_due(500).await.expect("run"), 100);

    assert_eq!(statuses(&engine, &ids).await["delivered"], 100);
    let stats = fakes.wecom.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 1, "{stats:?}");
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 100, "{stats:?}");
    assert_eq!(fakes.wecom.delivered().len(), 100);
    let tokens: std::collections::HashSet<_> = fakes
        .wecom
        .delivered()
        .into_iter()
        .map(|m| m.token)
        .collect();
    assert_eq!(tokens.len(), 1, "every send used the one token");
}

/// Twenty WeCom deliveries, one member each, queued on a manual clock with `gettoken` failing as
/// `rule` says; the first run of the worker done.
async fn twenty_sends_behind_gettoken(rule: FaultRule) -> (FakeProviders, Engine, Vec<DeliveryId>) {
    let members = users("h", 20);
    let fakes = fakes(&members, 0).await;
    fakes.wecom.inject(rule.on(Endpoint::WecomGettoken));
    let engine = Engine::in_manual_time(NOW, fakes.config());
    engine.configure_all(&fakes).await;
    let ids = engine
        .enqueue(
            members
                .iter()
                .map(|m| wecom(std::slice::from_ref(m), "report"))
                .collect(),
        )
        .await;
    engine.worker.run_due(100).await.expect("run");
    (fakes, engine, ids)
}

#[tokio::test]
async fn a_token_fetch_that_fails_once_costs_one_attempt_and_the_others_send_after_a_short_pause() {
    use herald_core::domain::delivery::AttemptResult;
    use herald_core::ports::SendFailure;
    let (fakes, engine, ids) =
        twenty_sends_behind_gettoken(FaultRule::next(1, Fault::Http { status: 502 })).await;
    // The sender whose fetch was refused used an attempt; the others waited out the 100 ms pause
    // in place and sent with the token fetched after it.
    let by_status = statuses(&engine, &ids).await;
    assert_eq!((by_status["delivered"], by_status["queued"]), (19, 1));
    for id in &ids {
        let d = engine.get(id).await;
        if d.status == DeliveryStatus::Queued {
            let AttemptResult::Failed { error } = &d.history[0].result else {
                panic!("{d:?}");
            };
            assert_eq!(error.failure, SendFailure::Transient, "{d:?}");
        }
    }
    let stats = fakes.wecom.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 2, "{stats:?}");
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 19, "{stats:?}");
    engine.clock.advance(Duration::seconds(60));
    engine.worker.run_due(100).await.expect("run");
    assert_eq!(statuses(&engine, &ids).await["delivered"], 20);
    assert_eq!(fakes.wecom.delivered().len(), 20);
}

#[tokio::test]
async fn a_failing_token_fetch_holds_back_the_sends_waiting_on_it_without_using_their_attempts() {
    use herald_core::domain::delivery::AttemptResult;
    use herald_core::ports::SendFailure;
    let (fakes, engine, ids) =
        twenty_sends_behind_gettoken(FaultRule::always(Fault::Http { status: 502 })).await;
    // Each fetch was refused, the pause doubling from 100 ms; a sender waited out a pause of up to
    // a second and fetched again (its attempt counts), then the rest were held back: nothing sent,
    // no attempt used, back when the pause ends.
    let now = engine.clock.now();
    let (mut counted, mut held) = (0_u64, 0_u64);
    for id in &ids {
        let d = engine.get(id).await;
        assert_eq!(d.status, DeliveryStatus::Queued);
        let AttemptResult::Failed { error } = &d.history[0].result else {
            panic!("nothing could be sent: {d:?}");
        };
        match error.failure {
            SendFailure::Transient => counted += 1,
            SendFailure::HeldBack { retry_after_ms } => {
                held += 1;
                assert!(retry_after_ms <= 1_600, "{retry_after_ms}");
                assert!(d.next_due <= Some(now + Duration::milliseconds(1_600)));
            }
            ref other => panic!("{other:?}"),
        }
    }
    let stats = fakes.wecom.stats();
    assert_eq!(
        stats.calls_to(Endpoint::WecomGettoken),
        counted,
        "{stats:?}"
    );
    assert!(counted <= 5 && held == 20 - counted, "{counted} {held}");
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 0, "{stats:?}");

    // WeCom answers again: one fetch, and everyone is sent to once.
    fakes.wecom.clear_faults();
    engine.clock.advance(Duration::seconds(60));
    engine.worker.run_due(100).await.expect("run");
    assert_eq!(statuses(&engine, &ids).await["delivered"], 20);
    assert_eq!(
        fakes.wecom.stats().calls_to(Endpoint::WecomGettoken),
        counted + 1
    );
    assert_eq!(fakes.wecom.delivered().len(), 20);
}

#[tokio::test]
async fn the_feishu_token_is_fetched_once_for_a_hundred_deliveries() {
    let fakes = fakes(&[], 100).await;
    let engine = engine(&fakes).await;
    let ids = engine
        .enqueue((0..100).map(|i| feishu(&open_id(i), "report")).collect())
        .await;

    assert_eq!(engine.worker.run_due(500).await.expect("run"), 100);

    assert_eq!(statuses(&engine, &ids).await["delivered"], 100);
    let stats = fakes.feishu.stats();
    assert_eq!(stats.calls_to(Endpoint::FeishuToken), 1, "{stats:?}");
    assert_eq!(stats.calls_to(Endpoint::FeishuSend), 100, "{stats:?}");
    assert_eq!(fakes.feishu.delivered().len(), 100);
}

#[tokio::test]
async fn twenty_five_hundred_wecom_users_take_three_send_calls() {
    let all = users("u", 2500);
    let fakes = fakes(&all, 0).await;
    let engine = engine(&fakes).await;
    let ids = engine
        .enqueue(
            all.chunks(1000)
                .map(|batch| wecom(batch, "weekly report"))
                .collect(),
        )
        .await;
    assert_eq!(ids.len(), 3);

    engine.worker.run_due(10).await.expect("run");

    assert_eq!(statuses(&engine, &ids).await["delivered"], 3);
    let stats = fakes.wecom.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomSend), 3, "{stats:?}");
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 1, "{stats:?}");
    let delivered = fakes.wecom.delivered();
    let counts = per_recipient(delivered.iter().flat_map(|m| m.recipients.iter()));
    assert_eq!(counts.len(), 2500);
    assert!(counts.values().all(|n| *n == 1), "someone got it twice");
    assert!(delivered.iter().all(|m| m.invalid_users.is_empty()));
}

#[tokio::test]
async fn an_expired_wecom_token_is_refreshed_once_and_the_send_succeeds_first_time() {
    let fakes = fakes(&["zhangsan".to_owned()], 0).await;
    let engine = engine(&fakes).await;
    let first = engine
        .enqueue(vec![wecom(&["zhangsan".to_owned()], "before")])
        .await;
    engine.worker.run_due(10).await.expect("run");
    assert_eq!(
        engine.get(&first[0]).await.status,
        DeliveryStatus::Delivered
    );

    // Two hours later WeCom has expired the cached token; Herald's cache does not know yet.
    fakes.wecom.advance(std::time::Duration::from_secs(7201));
    let later = engine
        .enqueue(vec![wecom(&["zhangsan".to_owned()], "after")])
        .await;
    engine.worker.run_due(10).await.expect("run");

    let d = engine.get(&later[0]).await;
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Delivered, 1));
    let stats = fakes.wecom.stats();
    assert_eq!(stats.calls_to(Endpoint::WecomGettoken), 2, "{stats:?}");
    assert_eq!(
        stats.calls_to(Endpoint::WecomSend),
        3,
        "1 + rejected + retried: {stats:?}"
    );
    let codes: Vec<_> = fakes
        .wecom
        .calls()
        .into_iter()
        .filter(|c| c.endpoint == Endpoint::WecomSend)
        .map(|c| c.code)
        .collect();
    assert_eq!(codes, [Some(0), Some(42001), Some(0)]);
    assert_eq!(fakes.wecom.delivered().len(), 2);
}

#[tokio::test]
async fn a_token_rejected_as_expired_is_refreshed_once_per_provider() {
    let fakes = fakes(&["zhangsan".to_owned()], 1).await;
    let engine = engine(&fakes).await;
    fakes
        .wecom
        .inject(FaultRule::next(1, Fault::TokenExpired).on(Endpoint::WecomSend));
    fakes
        .feishu
        .inject(FaultRule::next(1, Fault::TokenExpired).on(Endpoint::FeishuSend));
    let ids = engine
        .enqueue(vec![
            wecom(&["zhangsan".to_owned()], "hello"),
            feishu(&open_id(0), "hello"),
        ])
        .await;

    engine.worker.run_due(10).await.expect("run");

    for id in &ids {
        let d = engine.get(id).await;
        assert_eq!(
            (d.status, d.attempts),
            (DeliveryStatus::Delivered, 1),
            "{d:#?}"
        );
    }
    let w = fakes.wecom.stats();
    assert_eq!(
        (
            w.calls_to(Endpoint::WecomGettoken),
            w.calls_to(Endpoint::WecomSend)
        ),
        (2, 2),
        "{w:?}"
    );
    let f = fakes.feishu.stats();
    assert_eq!(
        (
            f.calls_to(Endpoint::FeishuToken),
            f.calls_to(Endpoint::FeishuSend)
        ),
        (2, 2),
        "{f:?}"
    );
    assert_eq!(fakes.wecom.delivered().len(), 1);
    assert_eq!(fakes.feishu.delivered().len(), 1);
}

// ---------------------------------------------------------------------------------- rate limits

#[tokio::test]
async fn a_wecom_rate_limit_is_waited_out_before_the_delivery_is_sent() {
    let fakes = fakes(&["zhangsan".to_owned()], 0).await;
    // The client remembers the app's 45009 block in the engine's time.
    let engine = Engine::in_manual_time(NOW, fakes.config());
    engine.configure_all(&fakes).await;
    fakes
        .wecom
        .inject(FaultRule::next(1, Fault::RateLimited { reset_secs: 60 }).on(Endpoint::WecomSend));
    let ids = engine
        .enqueue(vec![wecom(&["zhangsan".to_owned()], "hi")])
        .await;
    let start = engine.clock.now();

    engine.worker.run_due(10).await.expect("run");
    let d = engine.get(&ids[0]).await;
    assert_eq!(
        (d.status, d.attempts),
        (DeliveryStatus::Queued, 1),
        "{d:#?}"
    );
    let next = d.next_due.expect("re-queued");
    assert!(
        next - start >= Duration::seconds(60),
        "retry at {next}, only {} later",
        next - start
    );
    assert!(fakes.wecom.delivered().is_empty());

    // Not before the provider's minute is over.
    engine.clock.advance(Duration::seconds(59));
    assert_eq!(engine.worker.run_due(10).await.expect("run"), 0);
    engine.clock.set(next);
    assert_eq!(engine.worker.run_due(10).await.expect("run"), 1);
    let d = engine.get(&ids[0]).await;
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Delivered, 2));
    assert_eq!(fakes.wecom.delivered().len(), 1);
    assert_eq!(fakes.wecom.delivered()[0].recipients, ["zhangsan"]);
}

#[tokio::test]
async fn a_short_feishu_rate_limit_is_waited_out_within_the_attempt() {
    let fakes = fakes(&[], 1).await;
    let engine = engine(&fakes).await;
    fakes
        .feishu
        .inject(FaultRule::next(1, Fault::RateLimited { reset_secs: 1 }).on(Endpoint::FeishuSend));
    let ids = engine.enqueue(vec![feishu(&open_id(0), "hi")]).await;

    let started = Instant::now();
    engine.worker.run_due(10).await.expect("run");
    let waited = started.elapsed();

    let d = engine.get(&ids[0]).await;
    assert_eq!(
        (d.status, d.attempts),
        (DeliveryStatus::Delivered, 1),
        "{d:#?}"
    );
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "did not wait: {waited:?}"
    );
    assert_eq!(fakes.feishu.stats().calls_to(Endpoint::FeishuSend), 2);
    assert_eq!(fakes.feishu.delivered().len(), 1);
}

// ------------------------------------------------------------------------------ random failures

#[tokio::test]
async fn with_a_fifth_of_calls_failing_a_thousand_deliveries_arrive_exactly_once() {
    let wecom_users = users("u", 400);
    let fakes = fakes(&wecom_users, 300).await;
    let mut config = fakes.config();
    // Feishu's 50/s and 1,000/min are tested elsewhere; here they would only make the test slow.
    config.feishu.quota.rates = vec![herald_providers::Rate::new(
        5000,
        std::time::Duration::from_secs(1),
    )];
    // The clients' time moves with the worker's: a failed token fetch is remembered for 2 s of
    // that time, which the worker's backoff then really waits out.
    let engine = Engine::in_manual_time(NOW, config);
    engine.configure_all(&fakes).await;
    let (proxy, refused, _proxy_task) = flaky_smtp_proxy(fakes.smtp_addr, 0.2, 11).await;
    configure(&engine.router, "smtp", &fakes.smtp_settings_at(proxy)).await;

    let fault = || FaultRule::probability(0.2, Fault::Http { status: 502 });
    fakes.wecom.seed_faults(7);
    fakes.wecom.inject(fault());
    fakes.feishu.seed_faults(8);
    fakes.feishu.inject(fault());

    let mails: Vec<String> = (0..300)
        .map(|i| format!("user{i:03}@example.com"))
        .collect();
    let mut messages = Vec::new();
    for i in 0..400 {
        messages.push(wecom(&wecom_users[i..=i], "daily report"));
        if i < 300 {
            messages.push(feishu(&open_id(i), "daily report"));
            messages.push(mail(&mails[i], "Daily report"));
        }
    }
    let ids = engine.enqueue(messages).await;
    assert_eq!(ids.len(), 1000);

    let mut rounds = 0;
    loop {
        let tried = engine.worker.run_due(2000).await.expect("run");
        let queued = engine
            .store
            .due(engine.clock.now() + Duration::days(1), 2000)
            .await
            .expect("due")
            .len();
        if tried == 0 && queued == 0 {
            break;
        }
        rounds += 1;
        assert!(rounds < 30, "still {queued} queued after {rounds} rounds");
        // Past the longest backoff, so every re-queued delivery is due next round.
        engine.clock.advance(Duration::minutes(11));
    }

    let counts = statuses(&engine, &ids).await;
    let mut dead = HashMap::<String, usize>::new();
    for id in &ids {
        let d = engine.get(id).await;
        if let Some(reason) = d.dead_reason {
            let key = format!(
                "{} after {} attempts: {reason}",
                d.message.provider().as_str(),
                d.attempts
            );
            *dead.entry(key).or_default() += 1;
        }
    }
    assert_eq!(
        counts.get("delivered"),
        Some(&1000),
        "{counts:?}; dead: {dead:#?}"
    );
    assert!(rounds >= 2, "faults forced retries ({rounds} rounds)");
    assert!(
        fakes.wecom.stats().faults_fired > 40,
        "{:?}",
        fakes.wecom.stats()
    );
    assert!(
        fakes.feishu.stats().faults_fired > 30,
        "{:?}",
        fakes.feishu.stats()
    );
    assert!(
        refused.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "no SMTP connection refused"
    );

    let w = per_recipient(
        fakes
            .wecom
            .delivered()
            .iter()
            .flat_map(|m| m.recipients.iter()),
    );
    assert_eq!(w.len(), 400, "WeCom: someone got nothing");
    assert!(w.values().all(|n| *n == 1), "WeCom: someone got it twice");

    let f = per_recipient(
        fakes
            .feishu
            .delivered()
            .iter()
            .flat_map(|m| m.recipients.iter()),
    );
    assert_eq!(f.len(), 300, "Feishu: someone got nothing");
    assert!(f.values().all(|n| *n == 1), "Feishu: someone got it twice");

    let sink = fakes.smtp.messages();
    assert!(
        sink.iter().all(|m| m.to.len() == 1),
        "one recipient per mail"
    );
    let s = per_recipient(sink.iter().flat_map(|m| m.to.iter()));
    assert_eq!(s.len(), 300, "SMTP: someone got nothing");
    assert!(s.values().all(|n| *n == 1), "SMTP: someone got two mails");
    assert_eq!(sink.len(), 300);
}

// ------------------------------------------------------------------------------------- crashes

#[tokio::test]
async fn a_worker_killed_after_claiming_leaves_nothing_unsent_and_nothing_doubled() {
    let fakes = fakes(&["zhangsan".to_owned()], 1).await;
    let engine = engine(&fakes).await;
    let ids = engine
        .enqueue(vec![
            wecom(&["zhangsan".to_owned()], "hi"),
            feishu(&open_id(0), "hi"),
            mail("ops@example.com", "hi"),
        ])
        .await;
    // The first worker claims all three and dies before sending.
    let now = engine.clock.now();
    for id in &ids {
        engine
            .store
            .claim(id, now, now + Duration::seconds(90))
            .await
            .expect("claim")
            .expect("claimed");
    }
    let other = engine.another_worker(fakes.config());
    assert_eq!(
        other.run_due(10).await.expect("run"),
        0,
        "held by the lease"
    );
    engine.clock.advance(Duration::seconds(89));
    assert_eq!(
        other.run_due(10).await.expect("run"),
        0,
        "held by the lease"
    );

    engine.clock.advance(Duration::seconds(2));
    assert_eq!(other.run_due(10).await.expect("run"), 3);
    for id in &ids {
        let d = engine.get(id).await;
        assert_eq!(
            (d.status, d.attempts),
            (DeliveryStatus::Delivered, 2),
            "{d:#?}"
        );
    }
    // Nothing more to do, for either worker.
    engine.clock.advance(Duration::minutes(30));
    assert_eq!(other.run_due(10).await.expect("run"), 0);
    assert_eq!(engine.worker.run_due(10).await.expect("run"), 0);
    assert_eq!(fakes.wecom.stats().calls_to(Endpoint::WecomSend), 1);
    assert_eq!(fakes.wecom.delivered().len(), 1);
    assert_eq!(fakes.feishu.stats().calls_to(Endpoint::FeishuSend), 1);
    assert_eq!(fakes.feishu.delivered().len(), 1);
    assert_eq!(fakes.smtp.messages().len(), 1);
}

// ------------------------------------------------------------------------------------ isolation

/// Queues `wecom_backlog` WeCom deliveries first, then 5 mails and 5 Feishu messages, with every
/// WeCom call taking 3 s; runs the local delivery loop and answers how long the mails and Feishu
/// messages took to arrive (`None` if not within 1.5 s).
async fn mail_and_feishu_behind_a_slow_wecom(wecom_backlog: usize) -> Option<std::time::Duration> {
    let wecom_users = users("u", wecom_backlog);
    let fakes = fakes(&wecom_users, 5).await;
    let engine = engine(&fakes).await;
    fakes.wecom.inject(FaultRule::always(Fault::Delay {
        delay: std::time::Duration::from_secs(3),
    }));
    let slow = engine
        .enqueue(wecom_users.chunks(1).map(|u| wecom(u, "report")).collect())
        .await;
    engine.clock.advance(Duration::seconds(1));
    let mut others = Vec::new();
    for i in 0..5 {
        others.push(mail(&format!("user{i}@example.com"), "Daily report"));
        others.push(feishu(&open_id(i), "daily report"));
    }
    engine.enqueue(others).await;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let task = herald_embedded::delivery_loop::spawn(engine.worker.clone(), stopped);
    let mut arrived = None;
    while started.elapsed() < std::time::Duration::from_millis(1500) {
        if fakes.smtp.messages().len() == 5 && fakes.feishu.delivered().len() == 5 {
            arrived = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // WeCom is still busy: nothing of it has arrived.
    assert!(fakes.wecom.delivered().is_empty());
    let pending = statuses(&engine, &slow).await;
    assert_eq!(pending.get("delivered"), None, "{pending:?}");
    let _ = stop.send(true);
    task.abort();
    arrived
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_wecom_never_delays_mail_or_feishu() {
    let took = mail_and_feishu_behind_a_slow_wecom(50).await;
    assert!(took.is_some(), "mail and Feishu waited behind WeCom");
    eprintln!("mail and Feishu arrived after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_wecom_with_a_large_backlog_never_delays_mail_or_feishu() {
    let took = mail_and_feishu_behind_a_slow_wecom(300).await;
    assert!(
        took.is_some(),
        "mail and Feishu waited behind 300 WeCom deliveries: the loop only ever sees the 200 \
         oldest due deliveries, all WeCom"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wecom_that_always_fails_never_delays_mail_or_feishu() {
    let wecom_users = users("u", 50);
    let fakes = fakes(&wecom_users, 5).await;
    let engine = engine(&fakes).await;
    fakes
        .wecom
        .inject(FaultRule::always(Fault::Http { status: 502 }));
    engine
        .enqueue(wecom_users.chunks(1).map(|u| wecom(u, "report")).collect())
        .await;
    engine.clock.advance(Duration::seconds(1));
    let mut others = Vec::new();
    for i in 0..5 {
        others.push(mail(&format!("user{i}@example.com"), "Daily report"));
        others.push(feishu(&open_id(i), "daily report"));
    }
    engine.enqueue(others).await;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let task = herald_embedded::delivery_loop::spawn(engine.worker.clone(), stopped);
    while !(fakes.smtp.messages().len() == 5 && fakes.feishu.delivered().len() == 5) {
        assert!(
            started.elapsed() < std::time::Duration::from_millis(1500),
            "mail and Feishu waited behind a failing WeCom"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(fakes.wecom.delivered().is_empty());
    assert!(fakes.wecom.stats().faults_fired >= 1);
    let _ = stop.send(true);
    task.abort();
}
