//! Run records in the single table: `PK = PROJECT#{project}`, `SK = RUN#{run_id}` (UUIDv7, so a
//! time range is a key range), and scheduled-time claims `SK = RUNCLAIM#{task}#{time}`. Both carry
//! `expires_at` (epoch seconds) for DynamoDB TTL; reads skip expired items TTL has not removed yet.
use crate::dynamo::{
    DynamoStore, Item, n, parse_doc, project_pk, s, task_item, to_doc, unavailable,
};
use crate::dynamo_deliveries::{due_key, item as delivery_item};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::domain::run::{PushRun, RunId};
use herald_core::ports::{RunFilter, RunPage, RunStore, RunWrite, StoreError};
use std::collections::HashMap;

/// DynamoDB's limit on items in one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

fn run_sk(id: &RunId) -> String {
    format!("RUN#{id}")
}

fn claim_sk(task: &TaskId, at: DateTime<Utc>) -> String {
    format!("RUNCLAIM#{task}#{}", due_key(at))
}

pub(crate) fn epoch(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

fn run_item(run: &PushRun) -> Result<Item, StoreError> {
    Ok(HashMap::from([
        ("PK".to_owned(), s(project_pk(&run.project))),
        ("SK".to_owned(), s(run_sk(&run.id))),
        ("kind".to_owned(), s(run.kind.as_str())),
        ("task_id".to_owned(), s(run.task.to_string())),
        ("outcome".to_owned(), s(run.outcome.name())),
        ("version".to_owned(), n(run.version)),
        ("expires_at".to_owned(), n(epoch(run.expires_at))),
        ("doc".to_owned(), s(to_doc(run)?)),
    ]))
}

fn put(
    table: &str,
    item: Item,
    condition: &str,
    values: Vec<(&str, AttributeValue)>,
) -> Result<TransactWriteItem, StoreError> {
    let mut put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition);
    for (name, value) in values {
        put = put.expression_attribute_values(name, value);
    }
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(unavailable)?)
        .build())
}

impl DynamoStore {
    /// One transaction, its cancellation classified by [`cancellation`].
    pub(crate) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel)) => {
                    let codes: Vec<Option<&str>> = cancel
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code())
                        .collect();
                    Err(cancellation(&codes).unwrap_or_else(|| unavailable(err)))
                }
                _ => Err(unavailable(err)),
            },
        }
    }
}

/// What a cancelled transaction means, from its items' reason codes: a lost condition is a
/// conflict (the claim or the version is taken: a duplicate); anything else — another
/// transaction on the same item, throttling, a validation error such as an item over 400 KB — is
/// not, and `None` leaves it to the caller as an unavailable store (retried, never "duplicate").
fn cancellation(codes: &[Option<&str>]) -> Option<StoreError> {
    codes
        .contains(&Some("ConditionalCheckFailed"))
        .then_some(StoreError::Conflict)
}

#[async_trait]
impl RunStore for DynamoStore {
    async fn write_run(&self, write: RunWrite<'_>) -> Result<(), StoreError> {
        let run = write.run;
        let mut items = Vec::new();
        if let Some((task, at)) = write.claim {
            let claim = HashMap::from([
                ("PK".to_owned(), s(project_pk(&run.project))),
                ("SK".to_owned(), s(claim_sk(&task, at))),
                ("kind".to_owned(), s("run_claim")),
                ("run_id".to_owned(), s(run.id.to_string())),
                ("expires_at".to_owned(), n(epoch(run.expires_at))),
            ]);
            items.push(put(&self.table, claim, "attribute_not_exists(PK)", vec![])?);
        }
        items.push(match write.expected_version {
            None => put(
                &self.table,
                run_item(run)?,
                "attribute_not_exists(PK)",
                vec![],
            )?,
            Some(v) => put(
                &self.table,
                run_item(run)?,
                "version = :expected",
                vec![(":expected", n(v))],
            )?,
        });
        if let Some((task, version)) = write.task {
            let condition = "version = :expected";
            items.push(put(
                &self.table,
                task_item(task)?,
                condition,
                vec![(":expected", n(version))],
            )?);
        }
        let mut deliveries = write.deliveries.iter();
        // The run, its claim and its task change go together with as many deliveries as fit; a run
        // with more deliveries than one transaction holds writes the rest right after.
        for d in deliveries
            .by_ref()
            .take(MAX_TRANSACTION_ITEMS - items.len())
        {
            items.push(put(
                &self.table,
                delivery_item(d)?,
                "attribute_not_exists(PK)",
                vec![],
            )?);
        }
        self.transact(items).await?;
        let rest: Vec<_> = deliveries.collect();
        for chunk in rest.chunks(MAX_TRANSACTION_ITEMS) {
            let items = chunk
                .iter()
                .map(|d| {
                    put(
                        &self.table,
                        delivery_item(d)?,
                        "attribute_not_exists(PK)",
                        vec![],
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            self.transact(items).await?;
        }
        Ok(())
    }

    async fn is_claimed(
        &self,
        project: &ProjectId,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let item = self
            .get_item(s(project_pk(project)), s(claim_sk(task, at)))
            .await?;
        Ok(item.is_some())
    }

    async fn get_run(
        &self,
        project: &ProjectId,
        id: &RunId,
        now: DateTime<Utc>,
    ) -> Result<Option<PushRun>, StoreError> {
        let item = self.get_item(s(project_pk(project)), s(run_sk(id))).await?;
        let run = item.as_ref().map(parse_doc::<PushRun>).transpose()?;
        Ok(run.filter(|r| r.expires_at > now))
    }

    async fn list_runs(
        &self,
        project: &ProjectId,
        filter: &RunFilter,
        after: Option<&RunId>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<RunPage, StoreError> {
        let low = run_sk(&filter.from.map_or_else(
            || RunId::lowest_at(DateTime::<Utc>::UNIX_EPOCH),
            RunId::lowest_at,
        ));
        let high = filter
            .to
            .map_or_else(|| "RUN#~".to_owned(), |t| run_sk(&RunId::highest_at(t)));
        let mut conditions = vec!["expires_at > :now".to_owned()];
        let mut values: Vec<(&str, AttributeValue)> = vec![
            (":pk", s(project_pk(project))),
            (":low", s(low)),
            (":high", s(high)),
            (":now", n(epoch(now))),
        ];
        if let Some(task) = filter.task {
            conditions.push("task_id = :task".into());
            values.push((":task", s(task.to_string())));
        }
        if let Some(outcome) = &filter.outcome {
            conditions.push("outcome = :outcome".into());
            values.push((":outcome", s(outcome.clone())));
        }
        if let Some(kind) = filter.kind {
            conditions.push("kind = :kind".into());
            values.push((":kind", s(kind.as_str())));
        }
        let mut start = after.map(|id| {
            HashMap::from([
                ("PK".to_owned(), s(project_pk(project))),
                ("SK".to_owned(), s(run_sk(id))),
            ])
        });
        let mut items = Vec::new();
        // A filter applies after Limit, so keep reading until a page is full or the range is done.
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :low AND :high")
                .filter_expression(conditions.join(" AND "))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            for (name, value) in &values {
                query = query.expression_attribute_values(*name, value.clone());
            }
            let out = query.send().await.map_err(unavailable)?;
            for item in out.items() {
                items.push(parse_doc::<PushRun>(item)?);
            }
            match out.last_evaluated_key {
                Some(key) if items.len() <= limit => start = Some(key),
                _ => break,
            }
        }
        let next_after = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|r| r.id)
        } else {
            None
        };
        Ok(RunPage { items, next_after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lost_condition_is_a_conflict() {
        let conflict = cancellation(&[Some("None"), Some("ConditionalCheckFailed")]);
        assert!(matches!(conflict, Some(StoreError::Conflict)));
        for codes in [
            vec![Some("None"), Some("TransactionConflict")],
            vec![Some("ThrottlingError")],
            vec![Some("ProvisionedThroughputExceeded"), Some("None")],
            vec![Some("ValidationError")],
            vec![None],
            vec![],
        ] {
            assert!(cancellation(&codes).is_none(), "{codes:?}");
        }
    }
}
