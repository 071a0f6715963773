//! Run progress in the single table: counters split over [`PROGRESS_SHARDS`] items
//! (`SK = RUNPROGRESS#{run_id}#{k}`, beside the run in its project's partition), so thousands of
//! deliveries finishing at once do not all write one item (DynamoDB lets one item take about
//! 1,000 writes a second and fails transactions that touch it concurrently). A delivery's final
//! write adds to its shard (`seq % PROGRESS_SHARDS`) in the same transaction; shard 0 also holds `pushes`.
//! Runs still sending are listed for the reconciler in the due index (`DuePK = CHECK#runs`).
use crate::codec::{Item, n, s, unavailable};
use crate::dynamo::DynamoStore;
use crate::keys::{PROGRESS_SHARDS, check_sk, project_pk, shard_prefix, shard_sk};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use herald_core::domain::delivery::{DeliveryId, Tally};
use herald_core::domain::ids::ProjectId;
use herald_core::domain::run::{PushRun, RunId, RunProgress};
use herald_core::ports::StoreError;
use std::collections::HashMap;

/// Shard 0 of a new run: how many pushes it counts.
pub(crate) fn first_shard(run: &PushRun) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(project_pk(&run.project))),
        ("SK".to_owned(), s(shard_sk(&run.id, 0))),
        ("kind".to_owned(), s("run_progress")),
        ("pushes".to_owned(), n(u64::from(run.progress.pushes))),
        ("finished".to_owned(), n(0)),
        ("delivered".to_owned(), n(0)),
        ("refused".to_owned(), n(0)),
        (
            "expires_at".to_owned(),
            n(crate::keys::epoch(run.expires_at)),
        ),
    ])
}

/// The transaction item that counts one final push delivery in its shard.
pub(crate) fn count_item(
    table: &str,
    project: &ProjectId,
    run: &RunId,
    delivery: &DeliveryId,
    tally: Tally,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .key("PK", s(project_pk(project)))
        .key("SK", s(shard_sk(run, delivery.seq() % PROGRESS_SHARDS)))
        .update_expression("ADD finished :one, delivered :delivered, refused :refused")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":delivered", n(u64::from(tally.delivered)))
        .expression_attribute_values(":refused", n(u64::from(tally.refused)))
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn number(item: &Item, name: &str) -> u32 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

impl DynamoStore {
    /// A run's progress, summed over its shards; `None` if the run has none (written before
    /// progress was counted, or gone).
    pub(crate) async fn progress(
        &self,
        project: &ProjectId,
        run: &RunId,
    ) -> Result<Option<RunProgress>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(project_pk(project)))
            .expression_attribute_values(":prefix", s(shard_prefix(run)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let shards = out.items();
        let first = shard_sk(run, 0);
        let Some(head) = shards
            .iter()
            .find(|i| i.get("SK").and_then(|v| v.as_s().ok()) == Some(&first))
        else {
            return Ok(None);
        };
        let mut progress = RunProgress::of(number(head, "pushes"));
        for shard in shards {
            progress.finished += number(shard, "finished");
            progress.delivered += number(shard, "delivered");
            progress.refused += number(shard, "refused");
        }
        Ok(Some(progress))
    }

    /// Runs still sending whose check time has come.
    pub(crate) async fn due_checks(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(ProjectId, RunId)>, StoreError> {
        self.due_in(crate::keys::CHECK_PK, now, limit)
            .await?
            .into_iter()
            .map(|(_, sk)| {
                let mut parts = sk.rsplitn(3, '#');
                let (run, project) = (parts.next(), parts.next());
                let corrupt = || StoreError::Corrupt(format!("check key '{sk}'"));
                let run = RunId::parse(run.ok_or_else(corrupt)?).map_err(|_| corrupt())?;
                let project =
                    ProjectId::parse(project.ok_or_else(corrupt)?).map_err(|_| corrupt())?;
                Ok((project, run))
            })
            .collect()
    }

    /// Moves a sending run's next check.
    pub(crate) async fn move_check(
        &self,
        project: &ProjectId,
        run: &RunId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", s(project_pk(project)))
            .key("SK", s(format!("RUN#{run}")))
            .condition_expression("attribute_exists(DuePK)")
            .update_expression("SET DueSK = :sk")
            .expression_attribute_values(":sk", AttributeValue::S(check_sk(at, project, run)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Settled since it was listed: nothing to move.
            Err(err) if crate::codec::is_condition_failed(&err) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }
}
