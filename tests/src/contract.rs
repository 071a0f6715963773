//! The store contract: one suite every store adapter must pass, so the embedded default and DynamoDB
//! behave the same (conditional writes, pagination order, idempotency).
//! `store_contract!(factory)` expands to one `#[tokio::test]` per case.
use chrono::{DateTime, Utc};
use herald_core::domain::auth::{ApiKey, NewKey, Role};
use herald_core::domain::delivery::{Delivery, DeliveryCause, DeliveryStatus};
use herald_core::domain::ids::{KeyId, ProjectId, TaskId};
use herald_core::domain::message::{EmailMessage, OutboundMessage};
use herald_core::domain::run::{PushRun, RunId, RunKind, RunOutcome, RunStart, RunSubject};
use herald_core::domain::task::{PushTask, TaskState};
use herald_core::ports::{
    ContactStore, DeliveryStore, ImageStore, KeyStore, RunFilter, RunStore, RunWrite,
    SettingsRecord, SettingsStore, StoreError, TaskStore,
};
use std::sync::Arc;

pub fn project(name: &str) -> ProjectId {
    ProjectId::parse(name).expect("project id")
}

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("time").to_utc()
}

/// A valid task in `project`, built through the same parser the API uses.
pub fn task(project_name: &str, name: &str) -> PushTask {
    let mut body = crate::sample_task("2030-01-01");
    body["name"] = name.into();
    let body: herald_api::dto::tasks::TaskBody = serde_json::from_value(body).expect("task body");
    let spec = body
        .parse(|_| chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"))
        .expect("valid task")
        .spec;
    let now = at("2026-11-25T01:00:00Z");
    PushTask {
        id: TaskId::new(),
        project: project(project_name),
        spec,
        state: TaskState::Enabled,
        version: 1,
        consecutive_failures: 0,
        created_at: now,
        updated_at: now,
    }
}

fn edited(task: &PushTask, name: &str) -> PushTask {
    let mut next = task.clone();
    next.spec.name = herald_core::domain::text::TaskName::parse(name).expect("name");
    next.version = task.version + 1;
    next
}

pub async fn insert_then_get_round_trips<S: TaskStore>(store: Arc<S>) {
    let t = task("payments", "Daily sales");
    store.insert_task(&t).await.expect("insert");
    let got = store.get_task(&t.project, &t.id).await.expect("get");
    assert_eq!(got, Some(t));
}

pub async fn inserting_the_same_id_twice_conflicts<S: TaskStore>(store: Arc<S>) {
    let t = task("payments", "Daily sales");
    store.insert_task(&t).await.expect("insert");
    let again = edited(&t, "Other");
    assert!(matches!(
        store.insert_task(&again).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_task(&t.project, &t.id).await.expect("get"),
        Some(t)
    );
}

pub async fn a_task_is_invisible_from_another_project<S: TaskStore>(store: Arc<S>) {
    let t = task("payments", "Daily sales");
    store.insert_task(&t).await.expect("insert");
    assert_eq!(
        store.get_task(&project("other"), &t.id).await.expect("get"),
        None
    );
    assert_eq!(
        store
            .get_task(&t.project, &TaskId::new())
            .await
            .expect("get"),
        None
    );
    let listed = store
        .list_tasks(&project("other"), None, 10)
        .await
        .expect("list");
    assert!(listed.items.is_empty());
}

pub async fn replace_with_the_current_version_wins<S: TaskStore>(store: Arc<S>) {
    let t = task("payments", "Daily sales");
    store.insert_task(&t).await.expect("insert");
    let next = edited(&t, "Weekly sales");
    store.replace_task(&next, 1).await.expect("replace");
    let got = store
        .get_task(&t.project, &t.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(got.version, 2);
    assert_eq!(got.spec.name.as_str(), "Weekly sales");
}

pub async fn replace_with_a_stale_version_conflicts_and_keeps_the_stored_task<S: TaskStore>(
    store: Arc<S>,
) {
    let t = task("payments", "Daily sales");
    store.insert_task(&t).await.expect("insert");
    let v2 = edited(&t, "Second");
    store.replace_task(&v2, 1).await.expect("replace");
    let stale = edited(&t, "Stale");
    assert!(matches!(
        store.replace_task(&stale, 1).await,
        Err(StoreError::Conflict)
    ));
    let got = store
        .get_task(&t.project, &t.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(got, v2);
}

pub async fn replace_of_a_missing_task_is_not_found<S: TaskStore>(store: Arc<S>) {
    let t = task("payments", "Daily sales");
    assert!(matches!(
        store.replace_task(&edited(&t, "x"), 1).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.get_task(&t.project, &t.id).await.expect("get"),
        None,
        "replace must not create"
    );
}

pub async fn delete_checks_the_version_and_existence<S: TaskStore>(store: Arc<S>) {
    let t = task("payments", "Daily sales");
    store.insert_task(&t).await.expect("insert");
    assert!(matches!(
        store.delete_task(&t.project, &t.id, 7).await,
        Err(StoreError::Conflict)
    ));
    assert!(
        store
            .get_task(&t.project, &t.id)
            .await
            .expect("get")
            .is_some()
    );
    store
        .delete_task(&t.project, &t.id, 1)
        .await
        .expect("delete");
    assert_eq!(store.get_task(&t.project, &t.id).await.expect("get"), None);
    assert!(matches!(
        store.delete_task(&t.project, &t.id, 1).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn list_is_newest_first_and_pages_without_gaps_or_repeats<S: TaskStore>(store: Arc<S>) {
    let mut created = Vec::new();
    for i in 0..7 {
        let t = task("payments", &format!("Task {i}"));
        store.insert_task(&t).await.expect("insert");
        created.push(t.id);
    }
    store
        .insert_task(&task("other", "Not mine"))
        .await
        .expect("insert");
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_tasks(&project("payments"), after.as_ref(), 3)
            .await
            .expect("list");
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|t| t.id));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created, "newest first, every task once");
    assert_eq!(pages, 3);
}

/// A task as large as a page allows: 50 charts with 2 KB addresses (about 110 KB).
fn large_task(project_name: &str, name: &str) -> PushTask {
    use herald_core::domain::task::ChartOrigin;
    let mut t = task(project_name, name);
    let chart = t.spec.page.charts[0].clone();
    let url = format!("https://bi.example.com/api/chart?q={}", "q".repeat(2000));
    t.spec.page.charts = (0..50)
        .map(|_| {
            let mut c = chart.clone();
            c.origin = ChartOrigin::Url {
                data_url: herald_core::domain::text::HttpUrl::parse(url.clone()).expect("url"),
            };
            c
        })
        .collect();
    t
}

/// Large tasks fill DynamoDB's 1 MB query page before a page of the list: the list reads on, so
/// every page is full and none is skipped.
pub async fn a_list_of_large_tasks_reads_on_past_a_storage_page<S: TaskStore>(store: Arc<S>) {
    let mut created = Vec::new();
    for i in 0..24 {
        let t = large_task("payments", &format!("Large {i}"));
        store.insert_task(&t).await.expect("insert");
        created.push(t.id);
    }
    created.reverse();
    let first = store
        .list_tasks(&project("payments"), None, 20)
        .await
        .expect("list");
    assert_eq!(
        first.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        created[..20],
        "a full page of 20 (about 2.2 MB of tasks)"
    );
    let rest = store
        .list_tasks(&project("payments"), first.next_after.as_ref(), 20)
        .await
        .expect("list");
    assert_eq!(
        rest.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        created[20..]
    );
    assert_eq!(rest.next_after, None);
}

pub async fn a_full_last_page_has_no_next_cursor<S: TaskStore>(store: Arc<S>) {
    for i in 0..4 {
        store
            .insert_task(&task("payments", &format!("Task {i}")))
            .await
            .expect("insert");
    }
    let first = store
        .list_tasks(&project("payments"), None, 2)
        .await
        .expect("list");
    let second = store
        .list_tasks(&project("payments"), first.next_after.as_ref(), 2)
        .await
        .expect("list");
    assert_eq!(second.items.len(), 2);
    assert_eq!(second.next_after, None, "no empty third page");
}

pub async fn concurrent_replaces_of_one_version_let_exactly_one_win<S: TaskStore + 'static>(
    store: Arc<S>,
) {
    let t = task("payments", "Daily sales");
    store.insert_task(&t).await.expect("insert");
    let mut writers = Vec::new();
    for i in 0..8 {
        let (store, next) = (store.clone(), edited(&t, &format!("Writer {i}")));
        writers.push(tokio::spawn(
            async move { store.replace_task(&next, 1).await },
        ));
    }
    let mut wins = 0;
    for writer in writers {
        match writer.await.expect("join") {
            Ok(()) => wins += 1,
            Err(StoreError::Conflict) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(wins, 1);
    let got = store
        .get_task(&t.project, &t.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(got.version, 2);
}

pub async fn keys_are_stored_found_and_revoked<S: KeyStore>(store: Arc<S>) {
    let new = NewKey::mint(
        Role::Viewer,
        Some(project("payments")),
        at("2026-11-25T01:00:00Z"),
    );
    store.insert_key(&new.key).await.expect("insert");
    assert!(matches!(
        store.insert_key(&new.key).await,
        Err(StoreError::Conflict)
    ));
    let got = store
        .get_key(&new.key.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(got, new.key);
    assert!(got.hash.matches(&new.token));
    store.delete_key(&new.key.id).await.expect("delete");
    assert_eq!(store.get_key(&new.key.id).await.expect("get"), None);
    assert!(matches!(
        store.delete_key(&new.key.id).await,
        Err(StoreError::NotFound)
    ));
    let unknown = KeyId::parse("0123456789abcdef").expect("id");
    assert_eq!(store.get_key(&unknown).await.expect("get"), None);

    // Listed in id order, a page at a time, deleted keys gone.
    let mut minted: Vec<ApiKey> = (0..5)
        .map(|_| {
            NewKey::mint(
                Role::Editor,
                Some(project("payments")),
                at("2026-11-25T02:00:00Z"),
            )
            .key
        })
        .collect();
    for key in &minted {
        store.insert_key(key).await.expect("insert");
    }
    store.delete_key(&minted[4].id).await.expect("delete");
    minted.truncate(4);
    minted.sort_by_key(|k| k.id.to_string());
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_keys(after.as_ref(), 3).await.expect("list");
        assert!(page.items.len() <= 3);
        listed.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let ours: Vec<ApiKey> = listed.into_iter().filter(|k| minted.contains(k)).collect();
    assert_eq!(ours, minted);
}

/// A queued e-mail delivery made at `now`.
pub fn delivery(now: DateTime<Utc>) -> Delivery {
    let message = OutboundMessage::Email(EmailMessage {
        to: herald_core::domain::recipients::EmailAddress::parse("lisi@example.com")
            .expect("email"),
        subject: "日报".into(),
        text: "hello".into(),
        html: None,
        images: Vec::new(),
        attachments: Vec::new(),
    });
    let mut delivery = Delivery::queued(
        DeliveryCause::ChannelTest {
            channel: "smtp".into(),
        },
        message,
        now,
    );
    // Kept as written, so records can name contacts without their identities.
    delivery.contacts = vec![herald_core::domain::redaction::ContactReach {
        contact: herald_core::domain::ids::ContactId::parse("lisi").expect("contact id"),
        identity: "lisi@example.com".into(),
    }];
    delivery
}

pub async fn deliveries_are_enqueued_all_or_none<S: DeliveryStore>(store: Arc<S>) {
    let now = at("2026-11-25T01:00:00Z");
    let (a, b) = (delivery(now), delivery(now));
    store
        .enqueue(std::slice::from_ref(&a))
        .await
        .expect("enqueue");
    assert_eq!(
        store.get_delivery(&a.id).await.expect("get"),
        Some(a.clone())
    );
    // A batch holding an id that exists writes nothing.
    assert!(matches!(
        store.enqueue(&[b.clone(), a.clone()]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.get_delivery(&b.id).await.expect("get"), None);
}

pub async fn a_due_delivery_is_claimed_once_until_its_lease_runs_out<S: DeliveryStore>(
    store: Arc<S>,
) {
    let now = at("2026-11-25T01:00:00Z");
    let d = delivery(now);
    store
        .enqueue(std::slice::from_ref(&d))
        .await
        .expect("enqueue");
    let lease = now + chrono::Duration::seconds(90);

    let claimed = store
        .claim(&d.id, now, lease)
        .await
        .expect("claim")
        .expect("claimable");
    assert_eq!(
        (claimed.status, claimed.attempts, claimed.next_due),
        (DeliveryStatus::Sending, 1, Some(lease))
    );
    assert_eq!(
        store
            .claim(&d.id, now + chrono::Duration::seconds(89), lease)
            .await
            .expect("claim"),
        None
    );

    // The worker died: after the lease anyone may claim it again, as a new attempt.
    let later = now + chrono::Duration::seconds(91);
    let again = store
        .claim(&d.id, later, later + chrono::Duration::seconds(90))
        .await
        .expect("claim")
        .expect("claimable after the lease");
    assert_eq!(again.attempts, 2);
    // The first worker's late outcome loses.
    let mut stale = claimed.clone();
    stale.status = DeliveryStatus::Delivered;
    stale.next_due = None;
    assert!(matches!(
        store.finish(&stale).await,
        Err(StoreError::Conflict)
    ));
}

pub async fn deliveries_not_due_or_final_are_not_claimed<S: DeliveryStore>(store: Arc<S>) {
    let now = at("2026-11-25T01:00:00Z");
    let mut later = delivery(now);
    later.next_due = Some(now + chrono::Duration::minutes(5));
    store
        .enqueue(std::slice::from_ref(&later))
        .await
        .expect("enqueue");
    assert_eq!(
        store
            .claim(&later.id, now, now + chrono::Duration::seconds(90))
            .await
            .expect("claim"),
        None
    );
    assert_eq!(
        store
            .claim(&herald_core::domain::delivery::DeliveryId::new(), now, now)
            .await
            .expect("claim"),
        None
    );

    let d = delivery(now);
    store
        .enqueue(std::slice::from_ref(&d))
        .await
        .expect("enqueue");
    let mut claimed = store
        .claim(&d.id, now, now + chrono::Duration::seconds(90))
        .await
        .expect("claim")
        .expect("due");
    claimed.status = DeliveryStatus::Delivered;
    claimed.next_due = None;
    store.finish(&claimed).await.expect("finish");
    assert_eq!(store.get_delivery(&d.id).await.expect("get"), Some(claimed));
    let much_later = now + chrono::Duration::days(1);
    assert_eq!(
        store
            .claim(&d.id, much_later, much_later)
            .await
            .expect("claim"),
        None
    );
}

pub async fn due_lists_only_due_deliveries_oldest_first<S: DeliveryStore>(store: Arc<S>) {
    let now = at("2026-11-25T01:00:00Z");
    let mut items = Vec::new();
    for minutes in [3, 1, 2, 10] {
        let mut d = delivery(now);
        d.next_due = Some(now + chrono::Duration::minutes(minutes));
        items.push(d);
    }
    store.enqueue(&items).await.expect("enqueue");
    let due = store
        .due(now + chrono::Duration::minutes(5), 10)
        .await
        .expect("due");
    let ids: Vec<_> = due.iter().map(|d| d.id).collect();
    assert_eq!(ids, vec![items[1].id, items[2].id, items[0].id]);
    assert!(
        due.iter()
            .all(|d| d.provider == herald_core::domain::message::Provider::Smtp)
    );
    assert_eq!(
        store
            .due(now + chrono::Duration::minutes(5), 2)
            .await
            .expect("due")
            .len(),
        2
    );
}

/// Due deliveries whose mails fill DynamoDB's 1 MB query page (12 of about 120 KB): the due list
/// reads on and finds them all, oldest first.
pub async fn every_due_delivery_is_found_past_a_storage_page_of_large_mails<S: DeliveryStore>(
    store: Arc<S>,
) {
    let now = at("2026-11-25T01:00:00Z");
    let html = "报".repeat(40_000);
    let mut due = Vec::new();
    for i in 0..12 {
        let mut d = delivery(now);
        d.next_due = Some(now - chrono::Duration::seconds(60 - i));
        if let OutboundMessage::Email(mail) = &mut d.message {
            mail.html = Some(html.clone());
        }
        store
            .enqueue(std::slice::from_ref(&d))
            .await
            .expect("enqueue");
        due.push(d.id);
    }
    let found = store.due(now, 500).await.expect("due");
    assert_eq!(found.iter().map(|d| d.id).collect::<Vec<_>>(), due);
}

/// A backlog after an outage: 1,000 mails of one push (a 6 KB body each) due at once. A sweep of
/// 500 (the delivery function's) gets the oldest 500 and a second the rest: what is due is read
/// from keys, not whole deliveries (a page of whole mails held a handful, and a backlog drained
/// at single digits a minute). (1,000, not more: moto takes seconds per 100-item transaction.)
pub async fn a_backlog_of_due_deliveries_is_found_by_two_sweeps<S: DeliveryStore>(store: Arc<S>) {
    let now = at("2026-11-25T01:00:00Z");
    let html = "报".repeat(2_000);
    let backlog: Vec<Delivery> = (0..1_000)
        .map(|i| {
            let mut d = delivery(now);
            d.next_due = Some(now - chrono::Duration::seconds(2_000 - i));
            if let OutboundMessage::Email(mail) = &mut d.message {
                mail.to = herald_core::domain::recipients::EmailAddress::parse(format!(
                    "reader{i}@example.com"
                ))
                .expect("email");
                mail.html = Some(html.clone());
            }
            d
        })
        .collect();
    store.enqueue(&backlog).await.expect("enqueue");
    let first = store.due(now, 500).await.expect("due");
    let oldest: Vec<_> = backlog[..500].iter().map(|d| d.id).collect();
    assert_eq!(first.iter().map(|d| d.id).collect::<Vec<_>>(), oldest);
    let all = store.due(now, 5_000).await.expect("due");
    let everyone: Vec<_> = backlog.iter().map(|d| d.id).collect();
    assert_eq!(all.iter().map(|d| d.id).collect::<Vec<_>>(), everyone);
    let sample = store
        .get_delivery(&backlog[999].id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(sample.message, backlog[999].message);
}

/// A lease is held by one holder until it ends: another cannot take it meanwhile, its holder may
/// extend it, and a release by anyone but the holder leaves it be.
pub async fn a_lease_is_held_by_one_holder_until_it_ends_or_is_released<S: DeliveryStore>(
    store: Arc<S>,
) {
    let now = at("2026-11-25T01:00:00Z");
    let minute = chrono::Duration::minutes(1);
    let take = |holder: &'static str, at: DateTime<Utc>, until: DateTime<Utc>| {
        let store = store.clone();
        async move {
            store
                .take_lease("sweep", holder, at, until)
                .await
                .expect("lease")
        }
    };
    assert!(take("a", now, now + minute).await);
    assert!(!take("b", now, now + minute).await, "a holds it");
    assert!(
        take("a", now, now + minute * 2).await,
        "its holder extends it"
    );
    assert!(!take("b", now + minute, now + minute * 3).await, "extended");
    assert!(
        take("b", now + minute * 2, now + minute * 3).await,
        "a's ended"
    );
    store.release_lease("sweep", "a").await.expect("release");
    assert!(
        !take("a", now + minute * 2, now + minute * 3).await,
        "not a's to release"
    );
    store.release_lease("sweep", "b").await.expect("release");
    assert!(
        take("a", now + minute * 2, now + minute * 3).await,
        "released"
    );
    assert!(
        store
            .take_lease("another", "b", now, now + minute)
            .await
            .expect("lease"),
        "leases are by name"
    );
}

pub async fn a_batch_claim_takes_the_oldest_due_once<S: DeliveryStore>(store: Arc<S>) {
    use herald_core::domain::message::Provider;
    let now = at("2026-11-25T01:00:00Z");
    let mut items = Vec::new();
    for minutes in [3, 1, 2, 10] {
        let mut d = delivery(now);
        d.next_due = Some(now + chrono::Duration::minutes(minutes));
        items.push(d);
    }
    store.enqueue(&items).await.expect("enqueue");
    let (later, lease) = (
        now + chrono::Duration::minutes(5),
        now + chrono::Duration::minutes(8),
    );
    let first = store
        .claim_due(Provider::Smtp, later, lease, 2)
        .await
        .expect("claim");
    assert_eq!(
        first.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![items[1].id, items[2].id],
        "the oldest due first, at most the limit"
    );
    assert!(
        first
            .iter()
            .all(|d| d.status == DeliveryStatus::Sending && d.attempts == 1)
    );
    let second = store
        .claim_due(Provider::Smtp, later, lease, 10)
        .await
        .expect("claim");
    assert_eq!(
        second.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![items[0].id],
        "claimed ones are not due again; the one due later is not due yet"
    );
    assert!(
        store
            .claim_due(Provider::WecomApp, later, lease, 10)
            .await
            .expect("claim")
            .is_empty(),
        "only the provider asked"
    );
    let stored = store
        .get_delivery(&items[1].id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (stored.status, stored.attempts),
        (DeliveryStatus::Sending, 1)
    );
}

pub async fn concurrent_claims_let_exactly_one_worker_send<S: DeliveryStore + 'static>(
    store: Arc<S>,
) {
    let now = at("2026-11-25T01:00:00Z");
    let d = delivery(now);
    store
        .enqueue(std::slice::from_ref(&d))
        .await
        .expect("enqueue");
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (store, id) = (store.clone(), d.id);
        workers.push(tokio::spawn(async move {
            store
                .claim(&id, now, now + chrono::Duration::seconds(90))
                .await
        }));
    }
    let mut wins = 0;
    for worker in workers {
        if worker.await.expect("join").expect("claim").is_some() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}

pub async fn settings_start_empty_and_are_written_only_over_the_version_read<S: SettingsStore>(
    store: Arc<S>,
) {
    let empty = store.get_settings().await.expect("get");
    assert_eq!(empty, SettingsRecord::default());
    let mut first = empty.clone();
    first.url_prefix =
        Some(herald_core::domain::text::HttpUrl::parse("https://herald.example.com").expect("url"));
    first.version = 1;
    store.put_settings(&first, 0).await.expect("first write");
    assert!(
        matches!(
            store.put_settings(&first, 0).await,
            Err(StoreError::Conflict)
        ),
        "a second first write loses"
    );
    let mut second = first.clone();
    second.webhook_sources = vec!["sqle".into()];
    // Calendar days are kept by name and date.
    use herald_core::domain::calendar::{CalendarDay, CalendarName, DayKind};
    second
        .calendars
        .entry(CalendarName::parse("cn-workdays").expect("name"))
        .or_default()
        .insert(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
            CalendarDay::new(DayKind::Off, "公司年会".into()).expect("day"),
        );
    second.version = 2;
    store.put_settings(&second, 1).await.expect("second write");
    assert!(
        matches!(
            store.put_settings(&first, 1).await,
            Err(StoreError::Conflict)
        ),
        "a stale write loses"
    );
    assert_eq!(store.get_settings().await.expect("get"), second);
}

/// Writes `run` as a new run with nothing else (no claim, deliveries or task).
pub async fn write_new_run<S: RunStore + ?Sized>(store: &S, run: &PushRun) {
    let write = RunWrite {
        run,
        expected_version: None,
        claim: None,
        deliveries: &[],
        task: None,
        check_at: None,
    };
    store.write_run(write).await.expect("write run");
}

pub fn run(task: &PushTask, kind: RunKind, started: DateTime<Utc>, outcome: RunOutcome) -> PushRun {
    let mut run = PushRun::start(RunStart {
        id: RunId::at(started),
        project: task.project.clone(),
        subject: RunSubject::Task {
            id: task.id,
            name: task.spec.name.to_string(),
            kind,
        },
        scheduled_for: (kind == RunKind::Scheduled).then_some(started),
        started_at: started,
        expires_at: started + chrono::Duration::days(90),
    });
    run.outcome = outcome;
    run
}

/// A manual push's request key is held by the first run that asks, per task, until it expires.
pub async fn a_request_key_is_held_by_one_run_per_task_until_it_expires<S: RunStore>(
    store: Arc<S>,
) {
    let (payments, now) = (project("payments"), at("2026-11-25T01:00:00Z"));
    let (daily, weekly) = (TaskId::new(), TaskId::new());
    let (first, second) = (
        RunId::at(now),
        RunId::at(now + chrono::Duration::seconds(1)),
    );
    let expires = now + chrono::Duration::hours(24);
    // Held at `at` for a day.
    let hold = |task, run, at: DateTime<Utc>| {
        let store = store.clone();
        let payments = payments.clone();
        async move {
            let until = at + chrono::Duration::hours(24);
            store
                .hold_request_key(&payments, &task, "digest-1", &run, at, until)
                .await
                .expect("hold")
        }
    };
    assert_eq!(hold(daily, first, now).await, None, "free: held now");
    assert_eq!(
        hold(daily, second, now).await,
        Some(first),
        "held by the first"
    );
    assert_eq!(
        hold(daily, first, now).await,
        Some(first),
        "held by the first"
    );
    assert_eq!(hold(weekly, second, now).await, None, "another task's key");
    let later = expires + chrono::Duration::seconds(1);
    assert_eq!(
        hold(daily, second, later).await,
        None,
        "free again once expired"
    );
    assert_eq!(hold(daily, first, later).await, Some(second));
}

pub async fn a_scheduled_time_is_claimed_once_and_a_lost_claim_writes_nothing<
    S: RunStore + DeliveryStore,
>(
    store: Arc<S>,
) {
    let t = task("payments", "Daily sales");
    let fired = at("2026-12-03T02:00:00Z");
    let first = run(&t, RunKind::Scheduled, fired, RunOutcome::Sending);
    let d1 = delivery(fired);
    let write = RunWrite {
        run: &first,
        expected_version: None,
        claim: Some((t.id, fired)),
        deliveries: std::slice::from_ref(&d1),
        task: None,
        check_at: None,
    };
    store.write_run(write).await.expect("first firing");

    let second = run(&t, RunKind::Scheduled, fired, RunOutcome::Sending);
    let d2 = delivery(fired);
    let write = RunWrite {
        run: &second,
        expected_version: None,
        claim: Some((t.id, fired)),
        deliveries: std::slice::from_ref(&d2),
        task: None,
        check_at: None,
    };
    assert!(
        matches!(store.write_run(write).await, Err(StoreError::Conflict)),
        "the same scheduled time twice"
    );
    let now = fired + chrono::Duration::minutes(1);
    assert_eq!(
        store
            .get_run(&t.project, &second.id, now)
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        store.get_delivery(&d2.id).await.expect("get"),
        None,
        "nothing of the lost claim is written"
    );
    assert_eq!(
        store
            .get_run(&t.project, &first.id, now)
            .await
            .expect("get"),
        Some(first)
    );
    assert!(store.get_delivery(&d1.id).await.expect("get").is_some());
}

pub async fn a_run_is_settled_once_with_its_task_counters<S: RunStore + TaskStore>(store: Arc<S>) {
    let t = task("payments", "Daily sales");
    store.insert_task(&t).await.expect("insert task");
    let started = at("2026-12-03T02:00:00Z");
    let mut r = run(&t, RunKind::Scheduled, started, RunOutcome::Sending);
    store
        .write_run(RunWrite {
            run: &r,
            expected_version: None,
            claim: None,
            deliveries: &[],
            task: None,
            check_at: None,
        })
        .await
        .expect("write");

    r.outcome = RunOutcome::Failed;
    r.version = 2;
    let mut counted = t.clone();
    counted.consecutive_failures = 1;
    counted.version = 2;
    let settle = RunWrite {
        run: &r,
        expected_version: Some(1),
        claim: None,
        deliveries: &[],
        task: Some((&counted, 1)),
        check_at: None,
    };
    store.write_run(settle).await.expect("settle");

    // A second settler with the old version loses, and changes neither run nor task.
    let mut twice = counted.clone();
    twice.consecutive_failures = 2;
    twice.version = 3;
    let again = RunWrite {
        run: &r,
        expected_version: Some(1),
        claim: None,
        deliveries: &[],
        task: Some((&twice, 2)),
        check_at: None,
    };
    assert!(matches!(
        store.write_run(again).await,
        Err(StoreError::Conflict)
    ));
    let stored = store
        .get_task(&t.project, &t.id)
        .await
        .expect("get")
        .expect("task");
    assert_eq!((stored.consecutive_failures, stored.version), (1, 2));
    let got = store
        .get_run(&t.project, &r.id, started)
        .await
        .expect("get")
        .expect("run");
    assert_eq!((got.outcome, got.version), (RunOutcome::Failed, 2));

    // A stale task version fails the whole write: the run is not settled either.
    let mut r2 = run(&t, RunKind::Manual, started, RunOutcome::Sending);
    store
        .write_run(RunWrite {
            run: &r2,
            expected_version: None,
            claim: None,
            deliveries: &[],
            task: None,
            check_at: None,
        })
        .await
        .expect("write");
    r2.outcome = RunOutcome::Delivered;
    r2.version = 2;
    let stale = RunWrite {
        run: &r2,
        expected_version: Some(1),
        claim: None,
        deliveries: &[],
        task: Some((&counted, 1)),
        check_at: None,
    };
    assert!(matches!(
        store.write_run(stale).await,
        Err(StoreError::Conflict)
    ));
    let got = store
        .get_run(&t.project, &r2.id, started)
        .await
        .expect("get")
        .expect("run");
    assert_eq!(got.outcome, RunOutcome::Sending);
}

pub async fn runs_are_listed_newest_first_with_filters_and_expire<S: RunStore>(store: Arc<S>) {
    let (a, b) = (task("payments", "A"), task("payments", "B"));
    let base = at("2026-12-01T00:00:00Z");
    let mut runs = Vec::new();
    for i in 0..6 {
        let t = if i % 2 == 0 { &a } else { &b };
        let kind = if i == 5 {
            RunKind::Test
        } else {
            RunKind::Scheduled
        };
        let outcome = if i == 4 {
            RunOutcome::Failed
        } else {
            RunOutcome::Delivered
        };
        let r = run(t, kind, base + chrono::Duration::hours(i), outcome);
        store
            .write_run(RunWrite {
                run: &r,
                expected_version: None,
                claim: None,
                deliveries: &[],
                task: None,
                check_at: None,
            })
            .await
            .expect("write");
        runs.push(r);
    }
    let other = run(
        &task("other", "C"),
        RunKind::Scheduled,
        base,
        RunOutcome::Delivered,
    );
    store
        .write_run(RunWrite {
            run: &other,
            expected_version: None,
            claim: None,
            deliveries: &[],
            task: None,
            check_at: None,
        })
        .await
        .expect("write");
    let now = base + chrono::Duration::days(1);
    let p = project("payments");

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_runs(&p, &RunFilter::default(), after.as_ref(), 4, now)
            .await
            .expect("list");
        seen.extend(page.items.iter().map(|r| r.id));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<_> = runs.iter().map(|r| r.id).collect();
    expected.reverse();
    assert_eq!(seen, expected, "newest first, each once, only this project");

    let by_task = RunFilter {
        task: Some(a.id),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_runs(&p, &by_task, None, 10, now)
            .await
            .expect("list")
            .items
            .len(),
        3
    );
    // A filtered list pages like the whole one (on DynamoDB through the filter's index).
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_runs(&p, &by_task, after.as_ref(), 2, now)
            .await
            .expect("list");
        paged.extend(page.items.iter().map(|r| r.id));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, vec![runs[4].id, runs[2].id, runs[0].id]);
    let failed = RunFilter {
        outcome: Some(herald_core::domain::run::OutcomeName::Failed),
        ..Default::default()
    };
    let got = store
        .list_runs(&p, &failed, None, 10, now)
        .await
        .expect("list")
        .items;
    assert_eq!(
        got.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![runs[4].id]
    );
    // Two filters: one picks the index, the other filters what it reads.
    for (task, expected) in [(a.id, vec![runs[4].id]), (b.id, vec![])] {
        let both = RunFilter {
            task: Some(task),
            outcome: Some(herald_core::domain::run::OutcomeName::Failed),
            ..Default::default()
        };
        let got = store
            .list_runs(&p, &both, None, 10, now)
            .await
            .expect("list");
        assert_eq!(got.items.iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    }
    let tests = RunFilter {
        kind: Some(RunKind::Test),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_runs(&p, &tests, None, 10, now)
            .await
            .expect("list")
            .items
            .len(),
        1
    );
    let window = RunFilter {
        from: Some(runs[1].started_at),
        to: Some(runs[3].started_at),
        ..Default::default()
    };
    let got = store
        .list_runs(&p, &window, None, 10, now)
        .await
        .expect("list")
        .items;
    assert_eq!(
        got.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![runs[3].id, runs[2].id, runs[1].id]
    );

    let after_retention = base + chrono::Duration::days(91);
    assert!(
        store
            .list_runs(&p, &RunFilter::default(), None, 10, after_retention)
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert_eq!(
        store
            .get_run(&p, &runs[0].id, after_retention)
            .await
            .expect("get"),
        None
    );
}

/// Expands to the whole suite for a store made by `$make` (an async expression giving `Arc<Store>`).
#[macro_export]
macro_rules! store_contract {
    ($make:expr) => {
        $crate::store_contract!(@cases $make;
            insert_then_get_round_trips,
            inserting_the_same_id_twice_conflicts,
            a_task_is_invisible_from_another_project,
            replace_with_the_current_version_wins,
            replace_with_a_stale_version_conflicts_and_keeps_the_stored_task,
            replace_of_a_missing_task_is_not_found,
            delete_checks_the_version_and_existence,
            list_is_newest_first_and_pages_without_gaps_or_repeats,
            a_list_of_large_tasks_reads_on_past_a_storage_page,
            a_full_last_page_has_no_next_cursor,
            concurrent_replaces_of_one_version_let_exactly_one_win,
            keys_are_stored_found_and_revoked,
            deliveries_are_enqueued_all_or_none,
            a_due_delivery_is_claimed_once_until_its_lease_runs_out,
            deliveries_not_due_or_final_are_not_claimed,
            due_lists_only_due_deliveries_oldest_first,
            every_due_delivery_is_found_past_a_storage_page_of_large_mails,
            a_backlog_of_due_deliveries_is_found_by_two_sweeps,
            a_lease_is_held_by_one_holder_until_it_ends_or_is_released,
            a_batch_claim_takes_the_oldest_due_once,
            concurrent_claims_let_exactly_one_worker_send,
            settings_start_empty_and_are_written_only_over_the_version_read,
            a_scheduled_time_is_claimed_once_and_a_lost_claim_writes_nothing,
            a_request_key_is_held_by_one_run_per_task_until_it_expires,
            a_run_is_settled_once_with_its_task_counters,
            runs_are_listed_newest_first_with_filters_and_expire,
            a_contact_is_stored_found_and_replaced,
            contacts_are_listed_in_id_order_in_pages_without_gaps_or_repeats,
            deleting_a_contact_removes_it_and_a_second_delete_is_not_found,
            get_contacts_answers_those_that_exist_in_the_order_asked,
            an_image_is_kept_per_project_until_it_expires_and_a_second_put_only_extends_it,
            the_first_upload_of_an_image_wins_until_it_expires
        );
    };
    (@cases $make:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::contract::$case($make).await;
            }
        )+
    };
}

// ------------------------------------------------------------------------------------------ images

/// A PNG-sized picture of `bytes` bytes whose content (and so hash) depends on `seed`.
fn picture(seed: u8, bytes: usize) -> herald_core::domain::image::Image {
    let png: Vec<u8> = (0..bytes)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    herald_core::domain::image::Image::png(png, 800, 600)
}

/// A picture is kept per project by its hash until it expires; storing it again only extends its
/// life; one larger than a storage item (DynamoDB's 400 KB) reads back whole.
pub async fn an_image_is_kept_per_project_until_it_expires_and_a_second_put_only_extends_it<
    S: ImageStore,
>(
    store: Arc<S>,
) {
    let (payments, other) = (project("payments"), project("other"));
    let now = at("2026-12-07T03:00:00Z");
    let (small, large) = (picture(1, 20_000), picture(2, 900_000));
    let hour = chrono::Duration::hours(1);
    store
        .put_image(&payments, &small, now + hour)
        .await
        .expect("put small");
    store
        .put_image(&payments, &large, now + hour)
        .await
        .expect("put large");

    let read = |p: ProjectId, id: herald_core::domain::image::ImageId, when| {
        let store = store.clone();
        async move { store.get_image(&p, &id, when).await.expect("get") }
    };
    assert_eq!(
        read(payments.clone(), small.id.clone(), now).await,
        Some(small.png.clone())
    );
    assert_eq!(
        read(payments.clone(), large.id.clone(), now).await,
        Some(large.png.clone())
    );
    assert_eq!(
        read(other.clone(), small.id.clone(), now).await,
        None,
        "another project's"
    );
    assert_eq!(
        read(payments.clone(), small.id.clone(), now + hour).await,
        None,
        "expired"
    );

    // Again for three hours, then for a minute: it stays for the three hours.
    store
        .put_image(&payments, &small, now + hour * 3)
        .await
        .expect("extend");
    store
        .put_image(&payments, &small, now + chrono::Duration::minutes(1))
        .await
        .expect("shorter");
    assert_eq!(
        read(payments.clone(), small.id.clone(), now + hour * 2).await,
        Some(small.png.clone()),
        "a second put never shortens a picture's life"
    );
    assert_eq!(read(payments, small.id.clone(), now + hour * 3).await, None);
}

/// The first provider upload recorded for a picture wins (the batches of a run share it) until it
/// expires; then the next upload replaces it.
pub async fn the_first_upload_of_an_image_wins_until_it_expires<S: ImageStore>(store: Arc<S>) {
    // Uploads expire by the wall clock, as the provider's media do.
    let now = chrono::Utc::now();
    let id = picture(3, 1_000).id;
    let scope = format!("wecom:corp-{}", now.timestamp_micros());
    let later = now + chrono::Duration::days(3);
    assert_eq!(store.get_upload(&scope, &id, now).await.expect("get"), None);
    assert_eq!(
        store
            .put_upload(&scope, &id, "media-1", later)
            .await
            .expect("put"),
        "media-1"
    );
    assert_eq!(
        store
            .put_upload(&scope, &id, "media-2", later)
            .await
            .expect("put again"),
        "media-1",
        "the first upload wins"
    );
    assert_eq!(
        store.get_upload(&scope, &id, now).await.expect("get"),
        Some("media-1".to_owned())
    );
    assert_eq!(
        store
            .get_upload("feishu:app", &id, now)
            .await
            .expect("other scope"),
        None
    );
    assert_eq!(
        store.get_upload(&scope, &id, later).await.expect("expired"),
        None
    );

    let expired = format!("{scope}-expired");
    let past = now - chrono::Duration::hours(1);
    store
        .put_upload(&expired, &id, "old", past)
        .await
        .expect("put old");
    assert_eq!(
        store
            .put_upload(&expired, &id, "new", later)
            .await
            .expect("replace"),
        "new",
        "an expired upload is replaced"
    );
}

// ------------------------------------------------------------------------------------------ contacts

/// A contact reachable by e-mail (and WeCom), written at `updated_at`.
pub fn contact(id: &str, name: &str, updated_at: &str) -> herald_core::domain::contact::Contact {
    use herald_core::domain::contact::{Contact, ContactDetails, ContactName, Language};
    use herald_core::domain::recipients::{EmailAddress, WecomUserId};
    let details = ContactDetails {
        name: ContactName::parse(name).expect("name"),
        email: Some(EmailAddress::parse(format!("{id}@example.com")).expect("email")),
        mobile: None,
        wecom_user: Some(WecomUserId::parse(id).expect("wecom user")),
        feishu_open_id: None,
        dingtalk_user: None,
        language: Language::Zh,
    };
    Contact::new(contact_id(id), details, at(updated_at)).expect("reachable contact")
}

pub fn contact_id(id: &str) -> herald_core::domain::ids::ContactId {
    herald_core::domain::ids::ContactId::parse(id).expect("contact id")
}

pub async fn a_contact_is_stored_found_and_replaced<S: ContactStore>(store: Arc<S>) {
    use herald_core::domain::contact::{Contact, ContactDetails, ContactName, Language, Mobile};
    use herald_core::domain::recipients::FeishuOpenId;
    // Arrange
    let first = contact("wang", "王五", "2026-11-25T01:00:00Z");
    assert_eq!(store.get_contact(first.id()).await.expect("get"), None);

    // Act
    store.put_contact(&first).await.expect("put");
    let replacement = Contact::new(
        contact_id("wang"),
        ContactDetails {
            name: ContactName::parse("Wang Wu").expect("name"),
            email: None,
            mobile: Some(Mobile::parse("+8613800000000").expect("mobile")),
            wecom_user: None,
            feishu_open_id: Some(FeishuOpenId::parse("ou_abc123").expect("open id")),
            dingtalk_user: Some(
                herald_core::domain::dingtalk::DingtalkUserId::parse("wangwu").expect("user"),
            ),
            language: Language::En,
        },
        at("2026-11-25T02:00:00Z"),
    )
    .expect("contact");
    let before = store.get_contact(first.id()).await.expect("get");
    store.put_contact(&replacement).await.expect("replace");

    // Assert
    assert_eq!(before, Some(first));
    assert_eq!(
        store.get_contact(replacement.id()).await.expect("get"),
        Some(replacement.clone())
    );
    let page = store.list_contacts(None, 10).await.expect("list");
    assert_eq!(page.items, vec![replacement]);
    assert_eq!(page.next_after, None);
}

pub async fn contacts_are_listed_in_id_order_in_pages_without_gaps_or_repeats<S: ContactStore>(
    store: Arc<S>,
) {
    // Arrange: written out of order
    let ids = ["li", "a-1", "zhang", "Bob", "wang", "chen", "a_2"];
    for id in ids {
        store
            .put_contact(&contact(id, id, "2026-11-25T01:00:00Z"))
            .await
            .expect("put");
    }
    let mut expected: Vec<&str> = ids.to_vec();
    expected.sort_unstable();

    // Act
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut after = None;
    loop {
        let page = store.list_contacts(after.as_ref(), 3).await.expect("list");
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|c| c.id().to_string()));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }

    // Assert
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
    let exact = store.list_contacts(None, 7).await.expect("list");
    assert_eq!(exact.items.len(), 7);
    assert_eq!(
        exact.next_after, None,
        "a full last page has no next cursor"
    );
    let tail = store
        .list_contacts(Some(&contact_id("wang")), 10)
        .await
        .expect("list");
    assert_eq!(
        tail.items
            .iter()
            .map(|c| c.id().as_str())
            .collect::<Vec<_>>(),
        vec!["zhang"]
    );
}

pub async fn deleting_a_contact_removes_it_and_a_second_delete_is_not_found<S: ContactStore>(
    store: Arc<S>,
) {
    let c = contact("wang", "王五", "2026-11-25T01:00:00Z");
    store.put_contact(&c).await.expect("put");
    store
        .put_contact(&contact("li", "李四", "2026-11-25T01:00:00Z"))
        .await
        .expect("put");

    store.delete_contact(c.id()).await.expect("delete");

    assert_eq!(store.get_contact(c.id()).await.expect("get"), None);
    assert!(matches!(
        store.delete_contact(c.id()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_contact(&contact_id("nobody")).await,
        Err(StoreError::NotFound)
    ));
    let page = store.list_contacts(None, 10).await.expect("list");
    assert_eq!(
        page.items
            .iter()
            .map(|c| c.id().as_str())
            .collect::<Vec<_>>(),
        vec!["li"]
    );
}

pub async fn get_contacts_answers_those_that_exist_in_the_order_asked<S: ContactStore>(
    store: Arc<S>,
) {
    // Arrange: 150 contacts, more than one DynamoDB BatchGetItem holds
    for i in 0..150 {
        store
            .put_contact(&contact(
                &format!("u{i:03}"),
                "someone",
                "2026-11-25T01:00:00Z",
            ))
            .await
            .expect("put");
    }
    let mut asked: Vec<_> = (0..150)
        .rev()
        .map(|i| contact_id(&format!("u{i:03}")))
        .collect();
    asked.insert(10, contact_id("missing"));
    asked.push(contact_id("u007"));

    // Act
    let found = store.get_contacts(&asked).await.expect("get many");
    let none = store.get_contacts(&[]).await.expect("get none");

    // Assert: missing skipped, repeats once, in the order asked
    let expected: Vec<String> = (0..150).rev().map(|i| format!("u{i:03}")).collect();
    assert_eq!(
        found.iter().map(|c| c.id().to_string()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(found[0], contact("u149", "someone", "2026-11-25T01:00:00Z"));
    assert!(none.is_empty());
}
