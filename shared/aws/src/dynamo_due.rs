//! What is due, in the sparse index `Due` (`DuePK`, `DueSK = "{time}#…"`), which projects keys
//! only: an item is in it only while due (a delivery not final, a run still sending), and a page
//! of it is 1 MB of keys — thousands of entries — not of whole delivery and run documents.
//! Deliveries are spread over [`DUE_SHARDS`] partitions per provider (`DUE#{provider}#{shard}`):
//! each claim and outcome rewrites its entry, and one index partition takes about 1,000 writes a
//! second, so a 10,000-mail push must not land on one. Runs to check are few and stay in one
//! (`CHECK#runs`).
use crate::codec::s;
use crate::dynamo::DynamoStore;
use crate::keys::{due_key, provider_partitions};
use chrono::{DateTime, Utc};
use herald_core::domain::delivery::DeliveryId;
use herald_core::domain::message::Provider;
use herald_core::ports::StoreError;

pub(crate) const DUE_INDEX: &str = "Due";

impl DynamoStore {
    /// Up to `limit` entries of partition `pk` due by `now`, soonest first, as (table `PK`,
    /// `DueSK`); pages are followed until there are enough.
    pub(crate) async fn due_in(
        &self,
        pk: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
            .key_condition_expression("DuePK = :pk AND DueSK <= :now")
            .expression_attribute_values(":pk", s(pk))
            // `~` sorts after every id, so what is due exactly now is included.
            .expression_attribute_values(":now", s(format!("{}#~", due_key(now))));
        Ok(crate::codec::query_up_to(query, None, limit)
            .await?
            .into_iter()
            .map(|item| {
                let text = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_s().ok())
                        .cloned()
                        .unwrap_or_default()
                };
                (text("PK"), text("DueSK"))
            })
            .collect())
    }

    /// Up to `limit` of `provider`'s deliveries due by `now`, soonest first, over its shards.
    pub(crate) async fn due_deliveries(
        &self,
        provider: Provider,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(DeliveryId, DateTime<Utc>)>, StoreError> {
        let shards = provider_partitions(provider)
            .map(|pk| async move { self.due_in(&pk, now, limit).await });
        let mut due = Vec::new();
        for shard in futures::future::join_all(shards).await {
            due.extend(shard?);
        }
        due.sort_by(|a, b| a.1.cmp(&b.1));
        due.truncate(limit);
        due.into_iter()
            .map(|(pk, sk)| {
                let corrupt = || StoreError::Corrupt(format!("due entry '{pk}' '{sk}'"));
                let id = DeliveryId::parse(pk.strip_prefix("DELIVERY#").ok_or_else(corrupt)?)
                    .map_err(|_| corrupt())?;
                let at = sk.split('#').next().ok_or_else(corrupt)?;
                let at = DateTime::parse_from_rfc3339(at)
                    .map_err(|_| corrupt())?
                    .to_utc();
                Ok((id, at))
            })
            .collect()
    }
}
