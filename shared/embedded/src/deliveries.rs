//! Queued deliveries on SQLite: claims and outcomes are checked-and-written in one transaction.
use crate::store::{SqliteStore, from_doc, sql, to_doc};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::domain::delivery::{Delivery, DeliveryId, DeliveryStatus};
use herald_core::domain::message::{OutboundMessage, Provider};
use herald_core::domain::run::RunProgress;
use herald_core::domain::stored_message::{self, StoredMessage};
use herald_core::ports::{DeliveryStore, DueDelivery, StoreError};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// Fixed-width UTC time, so text order is time order.
pub(crate) fn due_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_due(text: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|d| d.to_utc())
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    })
    .transpose()
}

/// A delivery's document without its message, which `delivery_messages` keeps (written once).
#[derive(serde::Serialize)]
struct DocWithoutMessage<'a> {
    id: &'a DeliveryId,
    cause: &'a herald_core::domain::delivery::DeliveryCause,
    status: &'a DeliveryStatus,
    attempts: u32,
    next_due: &'a Option<DateTime<Utc>>,
    history: &'a [herald_core::domain::delivery::Attempt],
    dead_reason: &'a Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    contacts: &'a [herald_core::domain::redaction::ContactReach],
    created_at: &'a DateTime<Utc>,
    updated_at: &'a DateTime<Utc>,
}

fn doc_without_message(d: &Delivery) -> Result<String, StoreError> {
    to_doc(&DocWithoutMessage {
        id: &d.id,
        cause: &d.cause,
        status: &d.status,
        attempts: d.attempts,
        next_due: &d.next_due,
        history: &d.history,
        dead_reason: &d.dead_reason,
        contacts: &d.contacts,
        created_at: &d.created_at,
        updated_at: &d.updated_at,
    })
}

/// The message of delivery `id`, if it is kept apart (rows written before keep it in `doc`),
/// joined with its shared content when it has one.
fn message_json(conn: &rusqlite::Connection, id: &str) -> Result<Option<String>, StoreError> {
    let stored: Option<String> = conn
        .prepare_cached("SELECT message FROM delivery_messages WHERE id = ?1")
        .map_err(sql)?
        .query_row(params![id], |row| row.get(0))
        .optional()
        .map_err(sql)?;
    let Some(stored) = stored else {
        return Ok(None);
    };
    let address: serde_json::Value =
        serde_json::from_str(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let Some(content_id) = stored_message::content_id(&address) else {
        return Ok(Some(stored));
    };
    let content: String = conn
        .prepare_cached("SELECT content FROM message_contents WHERE id = ?1")
        .map_err(sql)?
        .query_row(params![content_id.as_str()], |row| row.get(0))
        .optional()
        .map_err(sql)?
        .ok_or_else(|| StoreError::Corrupt(format!("message content {content_id} is missing")))?;
    let whole =
        stored_message::join(address, &content).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some(whole.to_string()))
}

/// Writes delivery `id`'s message: its content once for every delivery that shares it (a later
/// use only marks it used then), its address on its own.
fn put_message(
    tx: &Connection,
    id: &str,
    message: &OutboundMessage,
    now: &str,
) -> Result<(), StoreError> {
    let stored = StoredMessage::of(message).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let Some(content) = &stored.content {
        tx.prepare_cached(
            "INSERT INTO message_contents (id, content, used_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET used_at = max(used_at, excluded.used_at)",
        )
        .map_err(sql)?
        .execute(params![content.id.as_str(), content.json, now])
        .map_err(sql)?;
    }
    tx.prepare_cached(
        "INSERT INTO delivery_messages (id, message) VALUES (?1, ?2)
         ON CONFLICT (id) DO UPDATE SET message = ?2",
    )
    .map_err(sql)?
    .execute(params![id, stored.address.to_string()])
    .map_err(sql)?;
    Ok(())
}

/// A delivery from its document and its message, put back at the front of the document.
fn assemble(doc: &str, message: Option<String>) -> Result<Delivery, StoreError> {
    match (message, doc.strip_prefix('{')) {
        (Some(message), Some(rest)) => from_doc(&format!("{{\"message\":{message},{rest}")),
        _ => from_doc(doc),
    }
}

/// Reads one delivery; the columns that claims change override the document.
pub(crate) fn read(tx: &Transaction<'_>, id: &str) -> Result<Option<Delivery>, StoreError> {
    let row = tx
        .prepare_cached("SELECT status, attempts, next_due, doc FROM deliveries WHERE id = ?1")
        .map_err(sql)?
        .query_row(params![id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, String>(3)?,
            ))
        })
        .optional()
        .map_err(sql)?;
    let Some((status, attempts, next_due, doc)) = row else {
        return Ok(None);
    };
    let mut delivery = assemble(&doc, message_json(tx, id)?)?;
    delivery.status = DeliveryStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?;
    delivery.attempts = attempts;
    delivery.next_due = parse_due(next_due)?;
    Ok(Some(delivery))
}

/// Inserts a delivery's row; `on_conflict` decides what an existing row with its id gets. The
/// message goes into `delivery_messages` when the row is new (and stays as it is after).
fn put(tx: &Connection, d: &Delivery, on_conflict: &str) -> Result<usize, StoreError> {
    let id = d.id.to_string();
    let exists = tx
        .prepare_cached("SELECT 1 FROM deliveries WHERE id = ?1")
        .map_err(sql)?
        .exists(params![id])
        .map_err(sql)?;
    if !exists {
        put_message(tx, &id, &d.message, &due_key(d.created_at))?;
    }
    let kept_apart = || -> Result<bool, StoreError> {
        tx.prepare_cached("SELECT 1 FROM delivery_messages WHERE id = ?1")
            .map_err(sql)?
            .exists(params![id])
            .map_err(sql)
    };
    let doc = match exists && !kept_apart()? {
        // A row written before messages were kept apart keeps its message in the document.
        true => to_doc(d)?,
        false => doc_without_message(d)?,
    };
    tx.prepare_cached(&format!(
        "INSERT INTO deliveries (id, status, attempts, next_due, doc, created_at, provider)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) {on_conflict}"
    ))
    .map_err(sql)?
    .execute(params![
        id,
        d.status.as_str(),
        d.attempts,
        d.next_due.map(due_key),
        doc,
        due_key(d.created_at),
        d.message.provider().as_str()
    ])
    .map_err(sql)
}

pub(crate) fn write(tx: &Connection, d: &Delivery) -> Result<(), StoreError> {
    put(
        tx,
        d,
        "DO UPDATE SET status = ?2, attempts = ?3, next_due = ?4, doc = ?5",
    )
    .map(|_| ())
}

/// Writes a delivery that does not exist yet; false if one with its id does.
pub(crate) fn insert(tx: &Transaction<'_>, d: &Delivery) -> Result<bool, StoreError> {
    Ok(put(tx, d, "DO NOTHING")? == 1)
}

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        let deliveries = deliveries.to_vec();
        self.db
            .call(move |conn| {
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                for d in &deliveries {
                    if !insert(&tx, d)? {
                        return Err(StoreError::Conflict);
                    }
                }
                tx.commit().map_err(sql)
            })
            .await
    }

    async fn get_delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>, StoreError> {
        let id = id.to_string();
        self.db
            .call(move |conn| {
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                read(&tx, &id)
            })
            .await
    }

    async fn claim(
        &self,
        id: &DeliveryId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        let (id, now, lease) = (id.to_string(), due_key(now), due_key(lease_until));
        self.db
            .call(move |conn| {
                // One conditional update: the claimed columns change, the document stays as it is
                // (reads take status, attempts and next_due from the columns).
                let claimed: Option<(u32, String)> = conn
                    .prepare_cached("UPDATE deliveries SET status = 'sending', attempts = attempts + 1, next_due = ?3
                         WHERE id = ?1 AND status IN ('queued', 'sending') AND next_due <= ?2
                         RETURNING attempts, doc")
        .map_err(sql)?
        .query_row(params![id, now, lease],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()
                    .map_err(sql)?;
                let Some((attempts, doc)) = claimed else {
                    return Ok(None);
                };
                let mut d = assemble(&doc, message_json(conn, &id)?)?;
                d.status = DeliveryStatus::Sending;
                d.attempts = attempts;
                d.next_due = parse_due(Some(lease))?;
                Ok(Some(d))
            })
            .await
    }

    async fn claim_due(
        &self,
        provider: Provider,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let (now, lease) = (due_key(now), due_key(lease_until));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let leased = parse_due(Some(lease.clone()))?;
        let rows: Vec<(u32, String, Option<String>)> = self
            .db
            .call(move |conn| {
                // One statement claims the batch: a delivery loop's round trip per delivery was
                // most of the cost of a large push.
                let mut stmt = conn
                    .prepare_cached(
                        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, next_due = ?3
                         WHERE id IN (SELECT id FROM deliveries WHERE provider = ?1 AND next_due IS NOT NULL
                                      AND next_due <= ?2 ORDER BY next_due LIMIT ?4)
                           AND status IN ('queued', 'sending')
                         RETURNING attempts, doc, id",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![provider.as_str(), now, lease, limit], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get::<_, String>(2)?))
                    })
                    .map_err(sql)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sql)?;
                drop(stmt);
                rows.into_iter()
                    .map(|(attempts, doc, id)| Ok((attempts, doc, message_json(conn, &id)?)))
                    .collect::<Result<Vec<_>, StoreError>>()
            })
            .await?;
        rows.into_iter()
            .map(|(attempts, doc, message)| {
                let mut d = assemble(&doc, message)?;
                d.status = DeliveryStatus::Sending;
                d.attempts = attempts;
                d.next_due = leased;
                Ok(d)
            })
            .collect()
    }

    async fn finish(&self, delivery: &Delivery) -> Result<Option<RunProgress>, StoreError> {
        let (lead, answer) = self.outcomes.push(delivery.clone());
        if lead && self.write_outcomes().await.is_err() {
            // The job panicked (its group was answered with errors) or the thread is gone: one
            // more job writes whatever queued since, and only if that fails too is nobody left.
            if self.write_outcomes().await.is_err() {
                self.outcomes.abandon();
            }
        }
        answer
            .await
            .map_err(|_| StoreError::from(crate::DbError::Worker))?
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        let (now, until) = (due_key(now), due_key(until));
        self.db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO leases (name, holder, until) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET holder = ?2, until = ?3
                     WHERE leases.until <= ?4 OR leases.holder = ?2",
                    params![name, holder, until, now],
                )
                .map(|changed| changed == 1)
                .map_err(sql)
            })
            .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.db
            .call(move |conn| {
                conn.execute(
                    "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                    params![name, holder],
                )
                .map(|_| ())
                .map_err(sql)
            })
            .await
    }

    async fn get_deliveries(&self, ids: &[DeliveryId]) -> Result<Vec<Delivery>, StoreError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.db
            .call(move |conn| {
                let tx = conn.transaction().map_err(sql)?;
                let mut found = Vec::with_capacity(ids.len());
                for id in &ids {
                    found.extend(read(&tx, id)?);
                }
                Ok(found)
            })
            .await
    }

    async fn due_for(
        &self,
        provider: Provider,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let (now, limit) = (due_key(now), i64::try_from(limit).unwrap_or(i64::MAX));
        let rows: Vec<(String, String)> = self
            .db
            .call(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, next_due FROM deliveries
                         WHERE provider = ?1 AND next_due IS NOT NULL AND next_due <= ?2 ORDER BY next_due LIMIT ?3",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![provider.as_str(), now, limit], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map_err(sql)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql)
            })
            .await?;
        rows.into_iter()
            .map(|(id, next_due)| {
                Ok(DueDelivery {
                    id: DeliveryId::parse(&id).map_err(StoreError::Corrupt)?,
                    provider,
                    next_due: parse_due(Some(next_due))?
                        .ok_or_else(|| StoreError::Corrupt("next_due".into()))?,
                })
            })
            .collect()
    }
}

impl SqliteStore {
    /// Asks the database thread to write the queued outcomes (those queued by the time it runs).
    async fn write_outcomes(&self) -> Result<(), StoreError> {
        let queue = self.outcomes.clone();
        self.db
            .call(move |conn| {
                queue.write_all(conn);
                Ok::<_, StoreError>(())
            })
            .await
    }

    /// Makes every delivery still leased claimable now. Only for a process that owns the file and
    /// just started: the claims are its dead predecessor's, so waiting out their leases would
    /// only delay those sends. Returns how many.
    pub async fn take_back_claims(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let now = due_key(now);
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE deliveries SET next_due = ?1 WHERE status = 'sending' AND next_due > ?1",
                    params![now],
                )
                .map_err(sql)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
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
        mail.to = herald_core::domain::recipients::EmailAddress::parse("wangwu@example.com")
            .expect("email");
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
        let mut claimed = store
            .claim(
                &old.id,
                Utc::now(),
                Utc::now() + chrono::Duration::seconds(90),
            )
            .await
            .unwrap()
            .unwrap();
        claimed.status = DeliveryStatus::Delivered;
        claimed.next_due = None;
        store.finish(&claimed).await.unwrap();
        assert_eq!(
            store.get_delivery(&old.id).await.unwrap().unwrap().message,
            old.message
        );
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
        let mut claimed = store
            .claim(
                &done.id,
                Utc::now(),
                Utc::now() + chrono::Duration::seconds(90),
            )
            .await
            .unwrap()
            .unwrap();
        claimed.status = DeliveryStatus::Delivered;
        claimed.next_due = None;
        store.finish(&claimed).await.unwrap();
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
}
