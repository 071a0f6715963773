//! The delivery engine over the SQLite store with a sender whose answers the test scripts:
//! retries, backoff, rate limits, leases after a crash, and nothing lost or sent twice.
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use herald_core::clock::{Clock, ManualClock};
use herald_core::domain::delivery::{AttemptResult, Delivery, DeliveryCause, DeliveryStatus};
use herald_core::domain::message::{EmailMessage, OutboundMessage};
use herald_core::domain::recipients::EmailAddress;
use herald_core::ports::{DeliveryStore, SendError, SendFailure, SendReceipt, Sender};
use herald_core::services::delivery::{DeliveryWorker, ExecutionOutcome, RetryPolicy};
use herald_embedded::{Db, SqliteStore};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("time").to_utc()
}

fn mail(to: &str) -> OutboundMessage {
    OutboundMessage::Email(EmailMessage {
        to: EmailAddress::parse(to).expect("email"),
        subject: "Daily sales".into(),
        text: "hello".into(),
        html: None,
        images: Vec::new(),
        attachments: Vec::new(),
    })
}

fn failure(failure: SendFailure, code: i64) -> SendError {
    SendError {
        failure,
        code: Some(code),
        message: format!("provider said {code}"),
        hint: None,
    }
}

/// Answers from a script per recipient (then success); counts what it accepted per idempotency key,
/// like a provider that de-duplicates by key.
#[derive(Default)]
struct ScriptedSender {
    script: Mutex<HashMap<String, VecDeque<SendError>>>,
    accepted: Mutex<HashMap<String, u32>>,
    calls: Mutex<Vec<String>>,
}

impl ScriptedSender {
    fn fail_next(&self, to: &str, errors: Vec<SendError>) {
        self.script
            .lock()
            .unwrap()
            .insert(to.to_owned(), errors.into());
    }
}

#[async_trait]
impl Sender for ScriptedSender {
    async fn send(&self, message: &OutboundMessage, key: &str) -> Result<SendReceipt, SendError> {
        let OutboundMessage::Email(mail) = message else {
            panic!("mail only")
        };
        self.calls.lock().unwrap().push(key.to_owned());
        if let Some(error) = self
            .script
            .lock()
            .unwrap()
            .get_mut(mail.to.as_str())
            .and_then(VecDeque::pop_front)
        {
            return Err(error);
        }
        *self
            .accepted
            .lock()
            .unwrap()
            .entry(key.to_owned())
            .or_default() += 1;
        Ok(SendReceipt {
            message_ids: vec![format!("<{key}@herald>")],
            invalid_recipients: vec![],
            answer: "250 OK".into(),
        })
    }
}

struct Rig {
    store: Arc<SqliteStore>,
    sender: Arc<ScriptedSender>,
    clock: Arc<ManualClock>,
    worker: DeliveryWorker,
}

fn rig(sender: ScriptedSender) -> Rig {
    let store = Arc::new(SqliteStore::new(Db::in_memory().expect("sqlite")));
    let sender = Arc::new(sender);
    let clock = Arc::new(ManualClock::new(at("2026-11-25T01:00:00Z")));
    let worker = DeliveryWorker::new(
        store.clone(),
        sender.clone(),
        clock.clone(),
        RetryPolicy::default(),
    );
    Rig {
        store,
        sender,
        clock,
        worker,
    }
}

impl Rig {
    async fn enqueue(&self, to: &str) -> Delivery {
        let d = Delivery::queued(
            DeliveryCause::ChannelTest {
                channel: "smtp".into(),
            },
            mail(to),
            self.clock.now(),
        );
        self.store
            .enqueue(std::slice::from_ref(&d))
            .await
            .expect("enqueue");
        d
    }

    async fn get(&self, d: &Delivery) -> Delivery {
        self.store
            .get_delivery(&d.id)
            .await
            .expect("get")
            .expect("present")
    }
}

#[tokio::test]
async fn a_transient_failure_is_retried_after_a_backoff_and_then_delivered() {
    let rig = rig(ScriptedSender::default());
    rig.sender
        .fail_next("a@example.com", vec![failure(SendFailure::Transient, 451)]);
    let d = rig.enqueue("a@example.com").await;

    let first = rig.worker.try_execute(&d.id).await.expect("execute");
    let ExecutionOutcome::Retrying { at: retry_at } = first else {
        panic!("expected a retry, got {first:?}")
    };
    let wait = retry_at - rig.clock.now();
    assert!(
        wait >= Duration::seconds(1) && wait <= Duration::seconds(2),
        "first backoff {wait}"
    );
    assert_eq!(
        rig.worker.try_execute(&d.id).await.expect("execute"),
        ExecutionOutcome::NotClaimed,
        "not due yet"
    );

    rig.clock.set(retry_at);
    assert_eq!(
        rig.worker.try_execute(&d.id).await.expect("execute"),
        ExecutionOutcome::Delivered
    );
    let stored = rig.get(&d).await;
    assert_eq!(
        (stored.status, stored.attempts, stored.history.len()),
        (DeliveryStatus::Delivered, 2, 2)
    );
    assert!(
        matches!(&stored.history[0].result, AttemptResult::Failed { error } if error.code == Some(451))
    );
    assert!(
        matches!(&stored.history[1].result, AttemptResult::Accepted { receipt } if receipt.answer == "250 OK")
    );
}

#[tokio::test]
async fn a_permanent_failure_is_dead_at_once_with_the_providers_words() {
    let rig = rig(ScriptedSender::default());
    rig.sender.fail_next(
        "bad@example.com",
        vec![failure(SendFailure::Recipient, 550)],
    );
    let d = rig.enqueue("bad@example.com").await;

    assert_eq!(
        rig.worker.try_execute(&d.id).await.expect("execute"),
        ExecutionOutcome::Dead
    );
    let stored = rig.get(&d).await;
    assert_eq!(
        (stored.status, stored.attempts, stored.next_due),
        (DeliveryStatus::Dead, 1, None)
    );
    assert_eq!(stored.dead_reason.as_deref(), Some("provider said 550"));
}

#[tokio::test]
async fn backoff_doubles_and_the_last_attempt_gives_up() {
    let rig = rig(ScriptedSender::default());
    rig.sender.fail_next(
        "busy@example.com",
        (0..8)
            .map(|_| failure(SendFailure::Transient, 503))
            .collect(),
    );
    let d = rig.enqueue("busy@example.com").await;
    let mut waits = Vec::new();
    loop {
        match rig.worker.try_execute(&d.id).await.expect("execute") {
            ExecutionOutcome::Retrying { at } => {
                waits.push((at - rig.clock.now()).num_milliseconds());
                rig.clock.set(at);
            }
            ExecutionOutcome::Dead => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(waits.len(), 7, "8 attempts, 7 waits");
    for (i, wait) in waits.iter().enumerate() {
        let full = (2_000_i64 << i).min(600_000);
        assert!(
            (full / 2..=full).contains(wait),
            "wait {i} was {wait} ms, expected {}..={full}",
            full / 2
        );
    }
    let stored = rig.get(&d).await;
    assert_eq!((stored.status, stored.attempts), (DeliveryStatus::Dead, 8));
    assert!(
        stored
            .dead_reason
            .unwrap()
            .starts_with("gave up after 8 attempts")
    );
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_as_long_as_the_provider_asks() {
    let rig = rig(ScriptedSender::default());
    rig.sender.fail_next(
        "a@example.com",
        vec![failure(
            SendFailure::RateLimited {
                retry_after_ms: 60_000,
            },
            45009,
        )],
    );
    let d = rig.enqueue("a@example.com").await;
    let ExecutionOutcome::Retrying { at } = rig.worker.try_execute(&d.id).await.expect("execute")
    else {
        panic!()
    };
    assert!(at - rig.clock.now() >= Duration::seconds(60));
}

#[tokio::test]
async fn held_back_attempts_sent_nothing_and_do_not_use_up_the_attempts() {
    let rig = rig(ScriptedSender::default());
    // Twelve holds by Herald's own limiter, then seven provider failures: still not dead, and
    // the eighth real failure is the last.
    let held = (0..12).map(|_| {
        failure(
            SendFailure::HeldBack {
                retry_after_ms: 30_000,
            },
            0,
        )
    });
    let busy = (0..8).map(|_| failure(SendFailure::Transient, 503));
    rig.sender
        .fail_next("held@example.com", held.chain(busy).collect());
    let d = rig.enqueue("held@example.com").await;
    let mut tries = 0;
    loop {
        tries += 1;
        match rig.worker.try_execute(&d.id).await.expect("execute") {
            ExecutionOutcome::Retrying { at } => {
                if tries <= 12 {
                    // Back exactly at the slot the limiter named, however often it was held.
                    assert_eq!(at - rig.clock.now(), Duration::seconds(30), "hold {tries}");
                } else if tries == 13 {
                    // The first real failure backs off as a first failure: the holds sent
                    // nothing, so they do not grow the backoff (2 s base, jittered down to half).
                    let wait = at - rig.clock.now();
                    assert!(wait <= Duration::seconds(2), "{wait}");
                }
                rig.clock.set(at)
            }
            ExecutionOutcome::Dead => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(tries, 20, "12 holds + 8 attempts");
    let stored = rig.get(&d).await;
    let reason = stored.dead_reason.unwrap();
    assert!(reason.starts_with("gave up after 8 attempts"), "{reason}");
}

#[tokio::test]
async fn a_huge_retry_after_is_capped_at_an_hour_without_a_panic() {
    let rig = rig(ScriptedSender::default());
    for ms in [10_u64.pow(13), u64::MAX] {
        let to = format!("a{ms}@example.com");
        rig.sender.fail_next(
            &to,
            vec![failure(
                SendFailure::RateLimited { retry_after_ms: ms },
                429,
            )],
        );
        let d = rig.enqueue(&to).await;
        let ExecutionOutcome::Retrying { at } =
            rig.worker.try_execute(&d.id).await.expect("execute")
        else {
            panic!("not retried")
        };
        let wait = at - rig.clock.now();
        assert!(
            wait <= Duration::hours(1) && wait >= Duration::minutes(59),
            "{wait}"
        );
    }
}

#[tokio::test]
async fn a_worker_killed_after_claiming_leaves_nothing_unsent() {
    let rig = rig(ScriptedSender::default());
    let d = rig.enqueue("a@example.com").await;
    // A worker claims it and dies before sending: its lease holds the delivery for a while.
    let now = rig.clock.now();
    rig.store
        .claim(&d.id, now, now + Duration::seconds(90))
        .await
        .expect("claim")
        .expect("claimed");
    assert_eq!(rig.worker.run_due(10).await.expect("run"), 0);

    rig.clock.advance(Duration::seconds(91));
    assert_eq!(rig.worker.run_due(10).await.expect("run"), 1);
    let stored = rig.get(&d).await;
    assert_eq!(
        (stored.status, stored.attempts),
        (DeliveryStatus::Delivered, 2)
    );
    assert_eq!(
        rig.sender.accepted.lock().unwrap().get(&d.id.to_string()),
        Some(&1)
    );
}

#[tokio::test]
async fn with_a_fifth_of_sends_failing_a_thousand_deliveries_all_arrive_exactly_once() {
    let rig = rig(ScriptedSender::default());
    let mut ids = Vec::new();
    for i in 0..1000 {
        let to = format!("user{i}@example.com");
        // Deterministic "random" 20%: every fifth recipient fails once or twice first.
        if i % 5 == 0 {
            let failures = if i % 10 == 0 { 2 } else { 1 };
            rig.sender.fail_next(
                &to,
                (0..failures)
                    .map(|_| failure(SendFailure::Transient, 503))
                    .collect(),
            );
        }
        ids.push(rig.enqueue(&to).await.id);
    }
    for _ in 0..20 {
        while rig.worker.run_due(200).await.expect("run") > 0 {}
        rig.clock.advance(Duration::seconds(30));
    }
    let accepted = rig.sender.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), 1000, "nothing lost");
    assert!(
        accepted.values().all(|n| *n == 1),
        "nothing delivered twice"
    );
    for id in &ids {
        let d = rig
            .store
            .get_delivery(id)
            .await
            .expect("get")
            .expect("present");
        assert_eq!(d.status, DeliveryStatus::Delivered);
    }
    assert_eq!(rig.sender.calls.lock().unwrap().len(), 1000 + 200 + 100);
}
