//! Queued deliveries in the single table. Claims are conditional updates; due deliveries are found
//! through the sparse, keys-only index `Due` (dynamo_due.rs), which holds only deliveries that are
//! not final, in partitions per provider so one provider's backlog never hides another's. A
//! delivery's message content is kept once per run (dynamo_contents.rs). New items also reach the
//! delivery Lambda through the table's Stream.
use crate::codec::{Item, is_condition_failed, n, parse_doc, s, to_doc, unavailable};
use crate::dynamo::DynamoStore;
use crate::dynamo_progress::count_item;
use crate::keys::{delivery_due_pk, delivery_pk, due_key, due_sk, lease_pk};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use herald_core::domain::delivery::{Delivery, DeliveryId, DeliveryStatus};
use herald_core::domain::message::Provider;
use herald_core::domain::run::RunProgress;
use herald_core::domain::stored_message::{self, SharedContent, StoredMessage};
use herald_core::ports::{DeliveryStore, DueDelivery, StoreError};
use std::collections::HashMap;

fn corrupt(err: serde_json::Error) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

impl DynamoStore {
    /// When DynamoDB's TTL removes `d`: once the run records that show it are gone too.
    pub(crate) fn delivery_expiry(&self, d: &Delivery) -> u64 {
        u64::try_from((d.created_at + self.delivery_retention).timestamp()).unwrap_or(0)
    }

    /// A delivery's item, holding its message's address and the id of its content when that is
    /// kept apart; and that content, which must be written first.
    fn stored(&self, d: &Delivery) -> Result<(Item, Option<SharedContent>), StoreError> {
        let message = StoredMessage::of(&d.message).map_err(corrupt)?;
        let mut doc = serde_json::to_value(d).map_err(corrupt)?;
        if let Some(fields) = doc.as_object_mut() {
            fields.insert("message".to_owned(), message.address);
        }
        let mut item = HashMap::from([
            ("PK".to_owned(), s(delivery_pk(&d.id))),
            ("SK".to_owned(), s("DELIVERY")),
            ("kind".to_owned(), s("delivery")),
            ("status".to_owned(), s(d.status.as_str())),
            ("attempts".to_owned(), n(u64::from(d.attempts))),
            ("provider".to_owned(), s(d.message.provider().as_str())),
            ("doc".to_owned(), s(to_doc(&doc)?)),
            ("expires_at".to_owned(), n(self.delivery_expiry(d))),
        ]);
        if let Some(due) = d.next_due {
            item.insert("next_due".to_owned(), s(due_key(due)));
            let provider = d.message.provider();
            item.insert("DuePK".to_owned(), s(delivery_due_pk(provider, &d.id)));
            item.insert("DueSK".to_owned(), s(due_sk(due, &d.id.to_string())));
        }
        Ok((item, message.content))
    }

    /// The item of a delivery whose content is already stored (claims and outcomes).
    pub(crate) fn delivery_item(&self, d: &Delivery) -> Result<Item, StoreError> {
        Ok(self.stored(d)?.0)
    }

    /// The items of new deliveries, after writing the contents they name.
    pub(crate) async fn new_delivery_items(
        &self,
        deliveries: &[Delivery],
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::with_capacity(deliveries.len());
        let mut contents = Vec::new();
        for d in deliveries {
            let (item, content) = self.stored(d)?;
            items.push(item);
            // `put_contents` writes each distinct content once.
            contents.extend(content);
        }
        let expires_at = deliveries.iter().map(|d| self.delivery_expiry(d)).max();
        self.put_contents(&contents, expires_at.unwrap_or(0))
            .await?;
        Ok(items)
    }

    /// Reads a delivery, its content joined back; the attributes that claims change override
    /// the document.
    async fn delivery_from(&self, item: &Item) -> Result<Delivery, StoreError> {
        let mut doc: serde_json::Value = parse_doc(item)?;
        if let Some(message) = doc.get_mut("message")
            && let Some(id) = stored_message::content_id(message)
        {
            let content = self.content(&id).await?;
            *message = stored_message::join(message.take(), &content).map_err(corrupt)?;
        }
        let mut d: Delivery = serde_json::from_value(doc).map_err(corrupt)?;
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let status = text("status").unwrap_or_default();
        d.status = DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("status '{status}'")))?;
        d.attempts = item
            .get("attempts")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::Corrupt("attempts".into()))?;
        d.next_due = text("next_due")
            .map(|t| DateTime::parse_from_rfc3339(&t).map(|d| d.to_utc()))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(d)
    }
}

#[async_trait]
impl DeliveryStore for DynamoStore {
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        // A transaction takes at most 100 items and 4 MB; causes write far fewer per call.
        let items = self.new_delivery_items(deliveries).await?;
        for chunk in crate::codec::transaction_chunks(&items, crate::codec::item_bytes) {
            let mut writes = Vec::with_capacity(chunk.len());
            for item in chunk {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item.clone()))
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .map_err(unavailable)?;
                writes.push(TransactWriteItem::builder().put(put).build());
            }
            // A lost condition is a conflict; throttling or a conflicting transaction is not.
            self.transact(writes).await?;
        }
        Ok(())
    }

    async fn get_delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>, StoreError> {
        match self.get_item(s(delivery_pk(id)), s("DELIVERY")).await? {
            Some(item) => self.delivery_from(&item).await.map(Some),
            None => Ok(None),
        }
    }

    async fn claim(
        &self,
        id: &DeliveryId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        let lease = due_key(lease_until);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(delivery_pk(id)))
            .key("SK", s("DELIVERY"))
            .condition_expression("next_due <= :now AND (#status = :queued OR #status = :sending)")
            .update_expression(
                "SET #status = :sending, attempts = attempts + :one, next_due = :lease, DueSK = :due_sk",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", s(due_key(now)))
            .expression_attribute_values(":queued", s(DeliveryStatus::Queued.as_str()))
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":lease", s(lease.clone()))
            .expression_attribute_values(":due_sk", s(due_sk(lease_until, &id.to_string())))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes {
                Some(item) => self.delivery_from(&item).await.map(Some),
                None => Ok(None),
            },
            Err(err) if is_condition_failed(&err) => Ok(None),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn finish(&self, delivery: &Delivery) -> Result<Option<RunProgress>, StoreError> {
        // A final push delivery counts itself in its run's progress in the same transaction: the
        // condition makes that happen once per delivery, however often a worker retries.
        let Some((project, run, counted)) = delivery.tally() else {
            // Nothing to count (a retry is queued, or not a push): one conditional put, not a
            // transaction of one item, which costs twice the write capacity.
            return self.put_claimed(delivery).await.map(|()| None);
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.delivery_item(delivery)?))
            .condition_expression(CLAIM_HELD)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(claim_values(delivery)))
            .build()
            .map_err(unavailable)?;
        let writes = vec![
            TransactWriteItem::builder().put(put).build(),
            count_item(&self.table, &project, &run, &delivery.id, counted)?,
        ];
        self.transact(writes).await?;
        self.progress(&project, &run).await
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let item = HashMap::from([
            ("PK".to_owned(), s(lease_pk(name))),
            ("SK".to_owned(), s("LEASE")),
            ("lease_holder".to_owned(), s(holder)),
            ("lease_until".to_owned(), s(due_key(until))),
            // Gone a day after it ends, whoever held it.
            (
                "expires_at".to_owned(),
                n(u64::try_from((until + chrono::Duration::days(1)).timestamp()).unwrap_or(0)),
            ),
        ]);
        self.put_if(
            item,
            "attribute_not_exists(PK) OR lease_until <= :now OR lease_holder = :holder",
            &[(":now", s(due_key(now))), (":holder", s(holder))],
        )
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(lease_pk(name)))
            .key("SK", s("LEASE"))
            .condition_expression("lease_holder = :holder")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn get_deliveries(&self, ids: &[DeliveryId]) -> Result<Vec<Delivery>, StoreError> {
        let keys: Vec<Item> = ids
            .iter()
            .map(|id| {
                HashMap::from([
                    ("PK".to_owned(), s(delivery_pk(id))),
                    ("SK".to_owned(), s("DELIVERY")),
                ])
            })
            .collect();
        let mut found = HashMap::new();
        for item in self.batch_get_items(keys).await? {
            let d = self.delivery_from(&item).await?;
            found.insert(d.id, d);
        }
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    async fn due_for(
        &self,
        provider: Provider,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        Ok(self
            .due_deliveries(provider, now, limit)
            .await?
            .into_iter()
            .map(|(id, next_due)| DueDelivery {
                id,
                provider,
                next_due,
            })
            .collect())
    }
}

/// Only the claim that is still held may write a delivery's outcome.
const CLAIM_HELD: &str = "#status = :sending AND attempts = :attempts";

fn claim_values(delivery: &Delivery) -> Item {
    Item::from([
        (":sending".to_owned(), s(DeliveryStatus::Sending.as_str())),
        (":attempts".to_owned(), n(u64::from(delivery.attempts))),
    ])
}

impl DynamoStore {
    /// Writes `delivery` if this worker's claim still holds (`Conflict` if not).
    async fn put_claimed(&self, delivery: &Delivery) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.delivery_item(delivery)?))
            .condition_expression(CLAIM_HELD)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(claim_values(delivery)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Err(StoreError::Conflict),
            Err(err) => Err(crate::codec::write_failure(err)),
        }
    }
}
