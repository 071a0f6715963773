//! One-off moves of items written by an earlier version, run once after a stack update
//! (infra/DEPLOY.md). Each is safe to run again and beside the functions at work.
use crate::dynamo::{DynamoStore, Item, is_condition_failed, s, unavailable};
use crate::dynamo_due::{CHECK_PK, delivery_due_pk, due_sk};
use herald_core::domain::delivery::DeliveryId;
use herald_core::domain::message::Provider;
use herald_core::ports::StoreError;

/// What an upgrade moved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Moved {
    pub deliveries: usize,
    pub runs: usize,
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

impl DynamoStore {
    /// Moves what is due from GSI1 (`DUE#{provider}`, `CHECK#runs`, where versions before the
    /// `Due` index listed it) into the `Due` index. A delivery's entry is made from its
    /// `next_due`, which claims keep current, so a claim made meanwhile is not undone.
    pub async fn move_due_entries(&self) -> Result<Moved, StoreError> {
        let mut moved = Moved::default();
        let old: Vec<String> = Provider::ALL
            .iter()
            .map(|p| format!("DUE#{}", p.as_str()))
            .chain([CHECK_PK.to_owned()])
            .collect();
        for partition in old {
            let mut after: Option<String> = None;
            loop {
                let items = self.gsi1_after(&partition, after.take(), 100).await?;
                // One more than asked when more follow.
                let more = items.len() > 100;
                let next = items
                    .last()
                    .and_then(|last| text(last, "GSI1SK"))
                    .map(str::to_owned);
                for item in &items {
                    let Some((pk, sk)) = text(item, "PK").zip(text(item, "SK")) else {
                        continue;
                    };
                    let entry = match pk.strip_prefix("DELIVERY#") {
                        Some(id) => {
                            let id = DeliveryId::parse(id).map_err(StoreError::Corrupt)?;
                            let provider = text(item, "provider")
                                .and_then(Provider::parse)
                                .ok_or_else(|| StoreError::Corrupt(format!("{pk} provider")))?;
                            let due = text(item, "next_due")
                                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                                .map(|t| t.to_utc());
                            due.map(|due| {
                                (delivery_due_pk(provider, &id), due_sk(due, &id.to_string()))
                            })
                        }
                        None => text(item, "GSI1SK").map(|sk| (CHECK_PK.to_owned(), sk.to_owned())),
                    };
                    let update = self
                        .client
                        .update_item()
                        .table_name(&self.table)
                        .key("PK", s(pk))
                        .key("SK", s(sk))
                        .condition_expression("GSI1PK = :old")
                        .expression_attribute_values(":old", s(partition.clone()));
                    let update = match &entry {
                        Some((due_pk, due_sk)) => update
                            .update_expression("SET DuePK = :pk, DueSK = :sk REMOVE GSI1PK, GSI1SK")
                            .expression_attribute_values(":pk", s(due_pk.clone()))
                            .expression_attribute_values(":sk", s(due_sk.clone())),
                        // Nothing due any more: it only leaves the old list.
                        None => update.update_expression("REMOVE GSI1PK, GSI1SK"),
                    };
                    match update.send().await {
                        Ok(_) if pk.starts_with("DELIVERY#") => moved.deliveries += 1,
                        Ok(_) => moved.runs += 1,
                        // Rewritten meanwhile by a function of the new version.
                        Err(err) if is_condition_failed(&err) => {}
                        Err(err) => return Err(unavailable(err)),
                    }
                }
                match next.filter(|_| more) {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(moved)
    }
}
