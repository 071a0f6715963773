use super::*;
use herald_core::domain::delivery::DeliveryCause;
use herald_core::domain::message::{EmailMessage, OutboundMessage};

fn delivery() -> Delivery {
    let message = OutboundMessage::Email(EmailMessage {
        to: herald_core::domain::recipients::EmailAddress::parse("lisi@example.com")
            .expect("email"),
        subject: "日报".into(),
        text: "a long body ".repeat(400),
        html: None,
        images: Vec::new(),
        attachments: Vec::new(),
    });
    let cause = DeliveryCause::ChannelTest {
        channel: "smtp".into(),
    };
    Delivery::queued(cause, message, Utc::now())
}

#[tokio::test]
async fn the_message_is_written_once_and_rows_from_before_keep_theirs() {
    let store = SqliteStore::new(crate::Db::in_memory().unwrap());
    let d = delivery();
    // Another recipient of the same mail: its body is kept once for both.
    let mut same = delivery();
    let OutboundMessage::Email(mail) = &mut same.message else {
        unreachable!()
    };
    mail.to =
        herald_core::domain::recipients::EmailAddress::parse("wangwu@example.com").expect("email");
    store.enqueue(&[d.clone(), same.clone()]).await.unwrap();
    // Claims and outcomes rewrite a row without the body.
    let (docs, addresses, contents) = store
        .db
        .call(|conn| {
            let column = |query: &str| -> rusqlite::Result<Vec<String>> {
                conn.prepare(query)?
                    .query_map([], |row| row.get(0))?
                    .collect()
            };
            Ok::<_, StoreError>((
                column("SELECT doc FROM deliveries").map_err(sql)?,
                column("SELECT message FROM delivery_messages").map_err(sql)?,
                column("SELECT content FROM message_contents").map_err(sql)?,
            ))
        })
        .await
        .unwrap();
    assert!(docs.iter().all(|doc| !doc.contains("a long body")));
    assert!(
        addresses
            .iter()
            .all(|a| !a.contains("a long body") && a.contains("content_id") && a.len() < 200),
        "{addresses:?}"
    );
    assert_eq!(contents.len(), 1);
    assert!(contents[0].contains("a long body") && !contents[0].contains("example.com"));
    let read = store.get_deliveries(&[same.id]).await.unwrap();
    assert_eq!(read[0].message, same.message);
    let mut claimed = store
        .claim_due(
            Provider::Smtp,
            Utc::now(),
            Utc::now() + chrono::Duration::seconds(90),
            10,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    claimed.retain(|c| c.id == d.id);
    assert_eq!(claimed[0].message, d.message);
    claimed[0].status = DeliveryStatus::Delivered;
    claimed[0].next_due = None;
    store.finish(&claimed[0]).await.unwrap();
    let read = store.get_delivery(&d.id).await.unwrap().unwrap();
    assert_eq!(
        (read.status, &read.message),
        (DeliveryStatus::Delivered, &d.message)
    );

    // A row written before messages were kept apart: its document holds the message.
    let old = delivery();
    let (id, full) = (old.id.to_string(), to_doc(&old).unwrap());
    let provider = old.message.provider().as_str();
    store
        .db
        .call(move |conn| {
            conn.execute(
                "INSERT INTO deliveries (id, status, attempts, next_due, doc, created_at, provider)
                 VALUES (?1, 'queued', 0, '2000-01-01T00:00:00.000000Z', ?2, '2000-01-01', ?3)",
                params![id, full, provider],
            )
            .map_err(sql)
        })
        .await
        .unwrap();
    let read = store.get_delivery(&old.id).await.unwrap().unwrap();
    assert_eq!(read.message, old.message);
    deliver(&store, &old.id).await;
    assert_eq!(
        store.get_delivery(&old.id).await.unwrap().unwrap().message,
        old.message
    );
}

/// Claims `id` and records it delivered, as a worker would.
async fn deliver(store: &SqliteStore, id: &DeliveryId) {
    let mut claimed = store
        .claim(id, Utc::now(), Utc::now() + chrono::Duration::seconds(90))
        .await
        .unwrap()
        .unwrap();
    claimed.status = DeliveryStatus::Delivered;
    claimed.next_due = None;
    store.finish(&claimed).await.unwrap();
}

async fn count(store: &SqliteStore, table: &'static str) -> i64 {
    store
        .db
        .call(move |conn| {
            conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .map_err(sql)
        })
        .await
        .unwrap()
}

async fn database_bytes(store: &SqliteStore) -> i64 {
    store
        .db
        .call(|conn| {
            conn.query_row(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                [],
                |row| row.get(0),
            )
            .map_err(sql)
        })
        .await
        .unwrap()
}

/// A 64 KB mail to 1,000 addresses grows the store by its addresses, not by 1,000 bodies
/// (it grew by 31 MB for a 12-chart page when each delivery kept its own).
#[tokio::test]
async fn a_mail_to_a_thousand_addresses_stores_its_body_once() {
    let store = SqliteStore::new(crate::Db::in_memory().unwrap());
    let before = database_bytes(&store).await;
    let html = "<td>华东大区</td>".repeat(3_000);
    let deliveries: Vec<Delivery> = (0..1_000)
        .map(|i| {
            let mut d = delivery();
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
    store.enqueue(&deliveries).await.unwrap();
    let grown = database_bytes(&store).await - before;
    println!(
        "1,000 mails of {} KB: the store grew {} KB",
        html.len() / 1024,
        grown / 1024
    );
    assert!(grown < 2 * 1024 * 1024, "grew {grown} bytes");
    assert_eq!(count(&store, "message_contents").await, 1);
}

#[tokio::test]
async fn a_shared_content_goes_with_the_last_delivery_that_says_it() {
    let store = SqliteStore::new(crate::Db::in_memory().unwrap());
    let (done, queued) = (delivery(), delivery());
    store
        .enqueue(&[done.clone(), queued.clone()])
        .await
        .unwrap();
    deliver(&store, &done.id).await;
    let later = Utc::now() + chrono::Duration::days(100);
    let retention = chrono::Duration::days(90);
    store.purge_expired(later, retention).await.unwrap();
    // The queued one still says it.
    assert_eq!(
        (
            count(&store, "deliveries").await,
            count(&store, "message_contents").await
        ),
        (1, 1)
    );
    assert_eq!(
        store
            .get_delivery(&queued.id)
            .await
            .unwrap()
            .unwrap()
            .message,
        queued.message
    );
    store
        .db
        .call(|conn| {
            conn.execute("UPDATE deliveries SET next_due = NULL", [])
                .map_err(sql)
        })
        .await
        .unwrap();
    store.purge_expired(later, retention).await.unwrap();
    assert_eq!(
        (
            count(&store, "deliveries").await,
            count(&store, "delivery_messages").await,
            count(&store, "message_contents").await
        ),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn outcomes_that_arrive_together_are_written_together_each_with_its_own_answer() {
    let store = SqliteStore::new(crate::Db::in_memory().unwrap());
    let queued: Vec<Delivery> = (0..40).map(|_| delivery()).collect();
    store.enqueue(&queued).await.unwrap();
    let now = Utc::now();
    let mut claimed = store
        .claim_due(
            Provider::Smtp,
            now,
            now + chrono::Duration::seconds(90),
            100,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 40);
    for d in &mut claimed {
        d.status = DeliveryStatus::Delivered;
        d.next_due = None;
    }
    // One outcome for an attempt that is not the claimed one, one for a delivery never queued.
    claimed[7].attempts += 1;
    claimed.push(delivery());

    // Hold the database thread so every outcome queues up behind it.
    let (release, held) = std::sync::mpsc::channel::<()>();
    let (started, holds) = tokio::sync::oneshot::channel::<()>();
    let db = store.db.clone();
    let holding = tokio::spawn(async move {
        db.call(move |_| {
            let _ = started.send(());
            held.recv().map_err(|_| StoreError::NotFound)
        })
        .await
    });
    holds.await.unwrap();
    let finishing: Vec<_> = claimed
        .iter()
        .map(|d| {
            let (store, d) = (store.clone(), d.clone());
            tokio::spawn(async move { store.finish(&d).await })
        })
        .collect();
    let queued = async {
        while store.outcomes.len() < claimed.len() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), queued)
        .await
        .expect("every outcome queued behind the held thread");
    release.send(()).unwrap();
    holding.await.unwrap().unwrap();
    let mut answers = Vec::new();
    for f in finishing {
        answers.push(f.await.unwrap());
    }
    assert!(matches!(answers[7], Err(StoreError::Conflict)));
    assert!(matches!(answers[40], Err(StoreError::NotFound)));
    assert_eq!(answers.iter().filter(|a| a.is_ok()).count(), 39);
    for (i, d) in claimed.iter().enumerate().take(40) {
        let read = store.get_delivery(&d.id).await.unwrap().unwrap();
        let expected = if i == 7 {
            DeliveryStatus::Sending
        } else {
            DeliveryStatus::Delivered
        };
        assert_eq!(read.status, expected, "delivery {i}");
    }
}
