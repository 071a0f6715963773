//! Queued deliveries on SQLite: claims and outcomes are checked-and-written in one transaction.
use crate::codec::{from_doc, sql, to_doc};
use crate::store::SqliteStore;
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
mod tests;
