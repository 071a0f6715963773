//! Run records on SQLite. A run, its deliveries, its scheduled-time claim and the task's counters
//! are written in one transaction.
use crate::deliveries::{due_key, read as read_delivery, write as write_delivery};
use crate::store::{SqliteStore, from_doc, replace_task_in, sql, sql_version, to_doc};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::domain::run::{PushRun, RunId};
use herald_core::ports::{RunFilter, RunPage, RunStore, RunWrite, StoreError};
use rusqlite::{OptionalExtension, Transaction, params};

fn claim(
    tx: &Transaction<'_>,
    run: &PushRun,
    task: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let inserted = tx
        .execute(
            "INSERT INTO run_claims (project, task_id, scheduled_for, run_id, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT DO NOTHING",
            params![run.project.to_string(), task, due_key(at), run.id.to_string(), due_key(run.expires_at)],
        )
        .map_err(sql)?;
    if inserted == 0 {
        Err(StoreError::Conflict)
    } else {
        Ok(())
    }
}

fn put_run(tx: &Transaction<'_>, run: &PushRun, expected: Option<u64>) -> Result<(), StoreError> {
    let (project, id) = (run.project.to_string(), run.id.to_string());
    let stored: Option<i64> = tx
        .query_row(
            "SELECT version FROM runs WHERE project = ?1 AND id = ?2",
            params![project, id],
            |row| row.get(0),
        )
        .optional()
        .map_err(sql)?;
    match (stored, expected) {
        (Some(_), None) => return Err(StoreError::Conflict),
        (None, Some(_)) => return Err(StoreError::NotFound),
        (Some(v), Some(e)) if v != sql_version(e) => return Err(StoreError::Conflict),
        _ => {}
    }
    tx.execute(
        "INSERT INTO runs (project, id, task_id, kind, outcome, version, doc, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (project, id) DO UPDATE SET outcome = ?5, version = ?6, doc = ?7, expires_at = ?8",
        params![
            project,
            id,
            run.task.to_string(),
            run.kind.as_str(),
            run.outcome.name(),
            sql_version(run.version),
            to_doc(run)?,
            due_key(run.expires_at)
        ],
    )
    .map_err(sql)?;
    Ok(())
}

#[async_trait]
impl RunStore for SqliteStore {
    async fn write_run(&self, write: RunWrite<'_>) -> Result<(), StoreError> {
        let run = write.run.clone();
        let expected = write.expected_version;
        let claim_at = write.claim.map(|(task, at)| (task.to_string(), at));
        let deliveries = write.deliveries.to_vec();
        let task = write.task.map(|(t, v)| (t.clone(), v));
        self.db
            .call(move |conn| {
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                if let Some((task_id, at)) = &claim_at {
                    claim(&tx, &run, task_id, *at)?;
                }
                put_run(&tx, &run, expected)?;
                for d in &deliveries {
                    if read_delivery(&tx, &d.id.to_string())?.is_some() {
                        return Err(StoreError::Conflict);
                    }
                    write_delivery(&tx, d)?;
                }
                if let Some((task, version)) = &task {
                    replace_task_in(&tx, task, *version)?;
                }
                tx.commit().map_err(sql)
            })
            .await
    }

    async fn is_claimed(
        &self,
        project: &ProjectId,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (project, task, at) = (project.to_string(), task.to_string(), due_key(at));
        self.db
            .call(move |conn| {
                conn.query_row(
                    "SELECT 1 FROM run_claims WHERE project = ?1 AND task_id = ?2 AND scheduled_for = ?3",
                    params![project, task, at],
                    |_| Ok(()),
                )
                .optional()
                .map(|found| found.is_some())
                .map_err(sql)
            })
            .await
    }

    async fn get_run(
        &self,
        project: &ProjectId,
        id: &RunId,
        now: DateTime<Utc>,
    ) -> Result<Option<PushRun>, StoreError> {
        self.one_doc(
            "SELECT doc FROM runs WHERE project = ?1 AND id = ?2 AND expires_at > ?3",
            vec![project.to_string(), id.to_string(), due_key(now)],
        )
        .await
    }

    async fn list_runs(
        &self,
        project: &ProjectId,
        filter: &RunFilter,
        after: Option<&RunId>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<RunPage, StoreError> {
        // Run ids are UUIDv7: their order is start order, and a time range is an id range.
        let upper = [
            after.map(ToString::to_string),
            filter.to.map(|t| RunId::highest_at(t).to_string()),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or_else(|| "~".to_owned());
        let inclusive_upper = after.is_none();
        let lower = filter
            .from
            .map(|t| RunId::lowest_at(t).to_string())
            .unwrap_or_default();
        let project = project.to_string();
        let task = filter.task.map(|t| t.to_string());
        let outcome = filter.outcome.clone();
        let kind = filter.kind.map(|k| k.as_str().to_owned());
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let now = due_key(now);
        let docs: Vec<String> = self
            .db
            .call(move |conn| {
                let sql_text = format!(
                    "SELECT doc FROM runs WHERE project = ?1 AND id {} ?2 AND id >= ?3 AND expires_at > ?4
                     AND (?5 IS NULL OR task_id = ?5) AND (?6 IS NULL OR outcome = ?6) AND (?7 IS NULL OR kind = ?7)
                     ORDER BY id DESC LIMIT ?8",
                    if inclusive_upper { "<=" } else { "<" }
                );
                let mut stmt = conn.prepare_cached(&sql_text).map_err(sql)?;
                let rows = stmt
                    .query_map(params![project, upper, lower, now, task, outcome, kind, fetch], |row| row.get(0))
                    .map_err(sql)?;
                rows.collect::<Result<Vec<String>, _>>().map_err(sql)
            })
            .await?;
        let mut items = docs
            .iter()
            .map(|d| from_doc::<PushRun>(d))
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|r| r.id)
        } else {
            None
        };
        Ok(RunPage { items, next_after })
    }
}

impl SqliteStore {
    /// Deletes run records, claims, final deliveries and pictures past their retention: what DynamoDB's TTL
    /// does on AWS. Returns how many rows went.
    pub async fn purge_expired(
        &self,
        now: DateTime<Utc>,
        delivery_retention: chrono::Duration,
    ) -> Result<usize, StoreError> {
        let (now_key, deliveries_before) = (due_key(now), due_key(now - delivery_retention));
        self.db
            .call(move |conn| {
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                let mut gone = tx
                    .execute("DELETE FROM runs WHERE expires_at <= ?1", params![now_key])
                    .map_err(sql)?;
                gone += tx
                    .execute(
                        "DELETE FROM run_claims WHERE expires_at <= ?1",
                        params![now_key],
                    )
                    .map_err(sql)?;
                gone += tx
                    .execute(
                        "DELETE FROM deliveries WHERE next_due IS NULL AND created_at <= ?1",
                        params![deliveries_before],
                    )
                    .map_err(sql)?;
                for table in ["images", "image_uploads"] {
                    gone += tx
                        .execute(
                            &format!("DELETE FROM {table} WHERE expires_at <= ?1"),
                            params![now_key],
                        )
                        .map_err(sql)?;
                }
                tx.commit().map_err(sql)?;
                Ok(gone)
            })
            .await
    }
}
