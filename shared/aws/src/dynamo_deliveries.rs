//! Queued deliveries in the single table. Claims are conditional updates; due deliveries are found
//! through the sparse index GSI1 (`GSI1PK = "DUE#{provider}"`, `GSI1SK = "{next_due}#{id}"`), which
//! holds only deliveries that are not final, one partition per provider so one provider's backlog
//! never hides another's. New items also reach the delivery Lambda through the table's Stream.
use crate::dynamo::{DynamoStore, Item, is_condition_failed, n, parse_doc, s, to_doc, unavailable};
use crate::dynamo_progress::count_item;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use herald_core::domain::delivery::{Delivery, DeliveryId, DeliveryStatus};
use herald_core::domain::message::Provider;
use herald_core::domain::run::RunProgress;
use herald_core::ports::{DeliveryStore, DueDelivery, StoreError};
use std::collections::HashMap;

fn due_pk(provider: Provider) -> String {
    format!("DUE#{}", provider.as_str())
}

fn pk(id: &DeliveryId) -> String {
    format!("DELIVERY#{id}")
}

/// Fixed-width UTC time, so string order is time order.
pub(crate) fn due_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// How long a delivery is kept: as long as the default record retention.
const KEEP: chrono::Duration = chrono::Duration::days(90);

fn expiry_of(d: &Delivery) -> u64 {
    u64::try_from((d.created_at + KEEP).timestamp()).unwrap_or(0)
}

pub(crate) fn item(d: &Delivery) -> Result<Item, StoreError> {
    let mut item = HashMap::from([
        ("PK".to_owned(), s(pk(&d.id))),
        ("SK".to_owned(), s("DELIVERY")),
        ("kind".to_owned(), s("delivery")),
        ("status".to_owned(), s(d.status.as_str())),
        ("attempts".to_owned(), n(u64::from(d.attempts))),
        ("provider".to_owned(), s(d.message.provider().as_str())),
        ("doc".to_owned(), s(to_doc(d)?)),
        // DynamoDB TTL removes the delivery once the run records that show it are gone too.
        ("expires_at".to_owned(), n(expiry_of(d))),
    ]);
    if let Some(due) = d.next_due {
        item.insert("next_due".to_owned(), s(due_key(due)));
        item.insert("GSI1PK".to_owned(), s(due_pk(d.message.provider())));
        item.insert("GSI1SK".to_owned(), s(format!("{}#{}", due_key(due), d.id)));
    }
    Ok(item)
}

/// Reads a delivery; the attributes that claims change override the document.
fn from_item(item: &Item) -> Result<Delivery, StoreError> {
    let mut d: Delivery = parse_doc(item)?;
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

#[async_trait]
impl DeliveryStore for DynamoStore {
    async fn enqueue(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        // A transaction takes at most 100 items and 4 MB; causes write far fewer per call.
        let items = deliveries.iter().map(item).collect::<Result<Vec<_>, _>>()?;
        for chunk in crate::dynamo::transaction_chunks(&items, crate::dynamo::item_bytes) {
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
        let item = self.get_item(s(pk(id)), s("DELIVERY")).await?;
        item.as_ref().map(from_item).transpose()
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
            .key("PK", s(pk(id)))
            .key("SK", s("DELIVERY"))
            .condition_expression("next_due <= :now AND (#status = :queued OR #status = :sending)")
            .update_expression(
                "SET #status = :sending, attempts = attempts + :one, next_due = :lease, GSI1SK = :due_sk",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", s(due_key(now)))
            .expression_attribute_values(":queued", s(DeliveryStatus::Queued.as_str()))
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":lease", s(lease.clone()))
            .expression_attribute_values(":due_sk", s(format!("{lease}#{id}")))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.as_ref().map(from_item).transpose(),
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
            .set_item(Some(item(delivery)?))
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

    async fn get_deliveries(&self, ids: &[DeliveryId]) -> Result<Vec<Delivery>, StoreError> {
        let keys: Vec<Item> = ids
            .iter()
            .map(|id| {
                HashMap::from([
                    ("PK".to_owned(), s(pk(id))),
                    ("SK".to_owned(), s("DELIVERY")),
                ])
            })
            .collect();
        let mut found = HashMap::new();
        for item in self.batch_get_items(keys).await? {
            let d = from_item(&item)?;
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
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :due AND GSI1SK <= :now")
            .expression_attribute_values(":due", s(due_pk(provider)))
            // `~` sorts after every id, so deliveries due exactly now are included.
            .expression_attribute_values(":now", s(format!("{}#~", due_key(now))))
            // Only what the sweep needs (a page still ends at 1 MB of whole items read).
            .projection_expression("PK, next_due");
        crate::dynamo::query_up_to(query, None, limit)
            .await?
            .iter()
            .map(|item| {
                let text = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                };
                let key = text("PK");
                let next_due = DateTime::parse_from_rfc3339(&text("next_due"))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?
                    .to_utc();
                Ok(DueDelivery {
                    id: DeliveryId::parse(key.strip_prefix("DELIVERY#").unwrap_or_default())
                        .map_err(StoreError::Corrupt)?,
                    provider,
                    next_due,
                })
            })
            .collect()
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
            .set_item(Some(item(delivery)?))
            .condition_expression(CLAIM_HELD)
            .expression_attribute_names("#status", "status")
            .set_expression_attribute_values(Some(claim_values(delivery)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Err(StoreError::Conflict),
            // An item over 400 KB: retrying cannot help.
            Err(err)
                if err.as_service_error().and_then(|e| e.meta().code())
                    == Some("ValidationException") =>
            {
                Err(StoreError::Refused(
                    err.as_service_error()
                        .and_then(|e| e.meta().message())
                        .unwrap_or("invalid")
                        .to_owned(),
                ))
            }
            Err(err) => Err(unavailable(err)),
        }
    }
}
