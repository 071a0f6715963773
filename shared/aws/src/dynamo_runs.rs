//! Run records in the single table: `PK = PROJECT#{project}`, `SK = RUN#{run_id}` (UUIDv7, so a
//! time range is a key range), and scheduled-time claims `SK = RUNCLAIM#{task}#{time}`. Both carry
//! `expires_at` (epoch seconds) for DynamoDB TTL; reads skip expired items TTL has not removed yet.
use crate::codec::{Item, n, parse_doc, s, to_doc, unavailable};
use crate::dynamo::{DynamoStore, task_item};
use crate::dynamo_progress::first_shard;
use crate::keys::{
    LIST_INDEXES, check_sk, claim_sk, epoch, listed_by, project_pk, request_key_sk, run_sk,
};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use herald_core::domain::delivery::Delivery;
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::domain::run::{PushRun, RunId};
use herald_core::ports::{RunFilter, RunPage, RunStore, RunWrite, StoreError};
use std::collections::HashMap;

/// DynamoDB's limit on items in one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// The run's item; a run still sending with a check time is listed for the reconciler (the due index).
fn run_item(run: &PushRun, check_at: Option<DateTime<Utc>>) -> Result<Item, StoreError> {
    let mut item = HashMap::from([
        ("PK".to_owned(), s(project_pk(&run.project))),
        ("SK".to_owned(), s(run_sk(&run.id))),
        ("kind".to_owned(), s(run.kind.as_str())),
        ("task_id".to_owned(), s(run.task.to_string())),
        ("outcome".to_owned(), s(run.outcome.name())),
        ("version".to_owned(), n(run.version)),
        ("expires_at".to_owned(), n(epoch(run.expires_at))),
        ("doc".to_owned(), s(to_doc(run)?)),
    ]);
    for (index, value) in LIST_INDEXES.iter().zip(listed_by(run)) {
        item.insert(
            index.key.to_owned(),
            s(index.partition(&run.project, &value)),
        );
    }
    if let Some(at) = check_at.filter(|_| !run.outcome.is_final()) {
        item.insert("DuePK".to_owned(), s(crate::keys::CHECK_PK));
        item.insert("DueSK".to_owned(), s(check_sk(at, &run.project, &run.id)));
    }
    Ok(item)
}

fn claim_item(run: &PushRun, task: &TaskId, at: DateTime<Utc>) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(project_pk(&run.project))),
        ("SK".to_owned(), s(claim_sk(task, at))),
        ("kind".to_owned(), s("run_claim")),
        ("run_id".to_owned(), s(run.id.to_string())),
        ("expires_at".to_owned(), n(epoch(run.expires_at))),
    ])
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
                // An item over 400 KB, an invalid expression: retrying cannot help.
                Some(other) if other.meta().code() == Some("ValidationException") => Err(
                    StoreError::Refused(other.meta().message().unwrap_or("invalid").to_owned()),
                ),
                _ => Err(unavailable(err)),
            },
        }
    }
}

/// What a cancelled transaction means, from its items' reason codes: a lost condition is a
/// conflict (the claim or the version is taken: a duplicate); a validation error (an item over
/// 400 KB) is refused for good; anything else — another transaction on the same item,
/// throttling — is neither, and `None` leaves it to the caller as an unavailable store (retried,
/// never "duplicate").
fn cancellation(codes: &[Option<&str>]) -> Option<StoreError> {
    if codes.contains(&Some("ConditionalCheckFailed")) {
        return Some(StoreError::Conflict);
    }
    codes
        .contains(&Some("ValidationError"))
        .then(|| StoreError::Refused("an item was refused (over 400 KB, or invalid)".into()))
}

#[async_trait]
impl RunStore for DynamoStore {
    async fn write_run(&self, write: RunWrite<'_>) -> Result<(), StoreError> {
        let run = write.run;
        let mut items = Vec::new();
        if let Some((task, at)) = write.claim {
            let claim = claim_item(run, &task, at);
            items.push(put(&self.table, claim, "attribute_not_exists(PK)", vec![])?);
        }
        let item = run_item(run, write.check_at)?;
        items.push(match write.expected_version {
            None => put(&self.table, item, "attribute_not_exists(PK)", vec![])?,
            Some(v) => put(
                &self.table,
                item,
                "version = :expected",
                vec![(":expected", n(v))],
            )?,
        });
        if write.expected_version.is_none() && !run.outcome.is_final() {
            items.push(put(
                &self.table,
                first_shard(run),
                "attribute_not_exists(PK)",
                vec![],
            )?);
        }
        if let Some((task, version)) = write.task {
            let condition = "version = :expected";
            items.push(put(
                &self.table,
                task_item(task)?,
                condition,
                vec![(":expected", n(version))],
            )?);
        }
        for item in self.new_delivery_items(write.deliveries).await? {
            items.push(put(&self.table, item, "attribute_not_exists(PK)", vec![])?);
        }
        if items.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Refused(format!(
                "a run write of {} items exceeds a transaction's {MAX_TRANSACTION_ITEMS}",
                items.len()
            )));
        }
        self.transact(items).await
    }

    fn deliveries_in_run_write(&self, deliveries: &[Delivery]) -> usize {
        // Room beside the run and its task (up to 400 KB each), its claim and its first shard.
        let mut room = crate::codec::TRANSACTION_BYTES.saturating_sub(900 * 1024);
        let mut fit = 0;
        for d in deliveries
            .iter()
            .take(herald_core::ports::MAX_DELIVERIES_PER_RUN_WRITE)
        {
            // A content kept apart is written before the transaction, not in it.
            let bytes = self
                .delivery_item(d)
                .map_or(400 * 1024, |item| crate::codec::item_bytes(&item));
            if bytes > room {
                break;
            }
            room -= bytes;
            fit += 1;
        }
        fit
    }

    async fn add_deliveries(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        // Cut by count and by size (a small message stays in its delivery's item).
        let items = self.new_delivery_items(deliveries).await?;
        for chunk in crate::codec::transaction_chunks(&items, crate::codec::item_bytes) {
            let writes = chunk
                .iter()
                .map(|item| {
                    put(
                        &self.table,
                        item.clone(),
                        "attribute_not_exists(PK)",
                        vec![],
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            match self.transact(writes).await {
                // Some were written by an earlier try: write the others one by one, leaving
                // those as they are.
                Err(StoreError::Conflict) => {
                    for item in chunk {
                        self.put_if(item.clone(), "attribute_not_exists(PK)", &[])
                            .await?;
                    }
                }
                other => other?,
            }
        }
        Ok(())
    }

    async fn claim_run(
        &self,
        run: &PushRun,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let claimed = self
            .put_if(
                claim_item(run, task, at),
                "attribute_not_exists(PK) OR run_id = :run",
                &[(":run", s(run.id.to_string()))],
            )
            .await?;
        match claimed {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }

    async fn runs_to_check(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(ProjectId, RunId)>, StoreError> {
        self.due_checks(now, limit).await
    }

    async fn check_run_at(
        &self,
        project: &ProjectId,
        id: &RunId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.move_check(project, id, at).await
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

    async fn hold_request_key(
        &self,
        project: &ProjectId,
        task: &TaskId,
        key_digest: &str,
        run: &RunId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<RunId>, StoreError> {
        let (pk, sk) = (project_pk(project), request_key_sk(task, key_digest));
        let item = HashMap::from([
            ("PK".to_owned(), s(pk.clone())),
            ("SK".to_owned(), s(sk.clone())),
            ("kind".to_owned(), s("request_key")),
            ("run_id".to_owned(), s(run.to_string())),
            ("expires_at".to_owned(), n(epoch(expires_at))),
        ]);
        // Free: never held, or expired (TTL removes items only eventually).
        let condition = "attribute_not_exists(PK) OR expires_at <= :now";
        if self
            .put_if(item, condition, &[(":now", n(epoch(now)))])
            .await?
        {
            return Ok(None);
        }
        let held = self.get_item(s(pk), s(sk)).await?;
        let held = held
            .as_ref()
            .and_then(|item| item.get("run_id"))
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::Corrupt("a request key without its run".into()))?;
        RunId::parse(held).map(Some).map_err(StoreError::Corrupt)
    }

    async fn get_run(
        &self,
        project: &ProjectId,
        id: &RunId,
        now: DateTime<Utc>,
    ) -> Result<Option<PushRun>, StoreError> {
        let item = self.get_item(s(project_pk(project)), s(run_sk(id))).await?;
        let run = item.as_ref().map(parse_doc::<PushRun>).transpose()?;
        let Some(mut run) = run.filter(|r| r.expires_at > now) else {
            return Ok(None);
        };
        // A final run's record holds its final counts; a sending one's are in its shards.
        if !run.outcome.is_final()
            && let Some(progress) = self.progress(project, id).await?
        {
            run.progress = progress;
        }
        Ok(Some(run))
    }

    async fn list_runs(
        &self,
        project: &ProjectId,
        filter: &RunFilter,
        after: Option<&RunId>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<RunPage, StoreError> {
        self.list_project_runs(project, filter, after, limit, now)
            .await
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
            vec![None],
            vec![],
        ] {
            assert!(cancellation(&codes).is_none(), "{codes:?}");
        }
        let refused = cancellation(&[Some("None"), Some("ValidationError")]);
        assert!(matches!(refused, Some(StoreError::Refused(_))));
    }
}
