//! Run records on SQLite. A run, its progress row, its first deliveries, its scheduled-time claim
//! and the task's counters are written in one transaction; each push delivery's final write
//! counts itself in the progress row (`count_final`).
use crate::codec::{from_doc, sql, sql_version, to_doc};
use crate::deliveries::{due_key, insert as insert_delivery};
use crate::run_list::{ListQuery, RUN_COLUMNS, RUN_FROM};
use crate::store::{SqliteStore, replace_task_in};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::domain::delivery::Delivery;
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::domain::run::{PushRun, RunId, RunProgress};
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
        .prepare_cached("SELECT version FROM runs WHERE project = ?1 AND id = ?2")
        .map_err(sql)?
        .query_row(params![project, id], |row| row.get(0))
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

/// Writes the run's progress row: counters from the record, `check_at` only while it is sending.
fn put_progress(
    tx: &Transaction<'_>,
    run: &PushRun,
    check_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let p = run.progress;
    let check_at = check_at.filter(|_| !run.outcome.is_final()).map(due_key);
    tx.execute(
        "INSERT INTO run_progress (project, run_id, pushes, finished, delivered, refused, check_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (project, run_id) DO UPDATE SET pushes = ?3, finished = ?4, delivered = ?5, refused = ?6,
             check_at = CASE WHEN ?9 THEN NULL ELSE check_at END, expires_at = ?8",
        params![
            run.project.to_string(),
            run.id.to_string(),
            p.pushes,
            p.finished,
            p.delivered,
            p.refused,
            check_at,
            due_key(run.expires_at),
            run.outcome.is_final()
        ],
    )
    .map_err(sql)?;
    Ok(())
}

/// Counts a final push delivery in its run's progress; the progress after it.
pub(crate) fn count_final(
    tx: &rusqlite::Connection,
    d: &herald_core::domain::delivery::Delivery,
) -> Result<Option<RunProgress>, StoreError> {
    let Some((project, run, tally)) = d.tally() else {
        return Ok(None);
    };
    tx.prepare_cached("UPDATE run_progress SET finished = finished + 1, delivered = delivered + ?3, refused = refused + ?4
         WHERE project = ?1 AND run_id = ?2 RETURNING pushes, finished, delivered, refused")
        .map_err(sql)?
        .query_row(params![project.to_string(), run.to_string(), tally.delivered, tally.refused],
        progress_of,
    )
    .optional()
    .map_err(sql)
}

fn progress_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunProgress> {
    Ok(RunProgress {
        pushes: row.get(0)?,
        finished: row.get(1)?,
        delivered: row.get(2)?,
        refused: row.get(3)?,
    })
}

/// A run's record, with the counters of a run still sending.
fn run_of(doc: &str, progress: Option<RunProgress>) -> Result<PushRun, StoreError> {
    let mut run: PushRun = from_doc(doc)?;
    if let Some(p) = progress.filter(|_| !run.outcome.is_final()) {
        run.progress = p;
    }
    Ok(run)
}

fn run_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Option<RunProgress>)> {
    let doc = row.get(0)?;
    let pushes: Option<u32> = row.get(1)?;
    let progress = match pushes {
        Some(pushes) => Some(RunProgress {
            pushes,
            finished: row.get(2)?,
            delivered: row.get(3)?,
            refused: row.get(4)?,
        }),
        None => None,
    };
    Ok((doc, progress))
}

#[async_trait]
impl RunStore for SqliteStore {
    async fn write_run(&self, write: RunWrite<'_>) -> Result<(), StoreError> {
        let run = write.run.clone();
        let expected = write.expected_version;
        let claim_at = write.claim.map(|(task, at)| (task.to_string(), at));
        let deliveries = write.deliveries.to_vec();
        let task = write.task.map(|(t, v)| (t.clone(), v));
        let check_at = write.check_at;
        self.db
            .call(move |conn| {
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                if let Some((task_id, at)) = &claim_at {
                    claim(&tx, &run, task_id, *at)?;
                }
                put_run(&tx, &run, expected)?;
                put_progress(&tx, &run, check_at)?;
                for d in &deliveries {
                    if !insert_delivery(&tx, d)? {
                        return Err(StoreError::Conflict);
                    }
                }
                if let Some((task, version)) = &task {
                    replace_task_in(&tx, task, *version)?;
                }
                tx.commit().map_err(sql)
            })
            .await
    }

    async fn add_deliveries(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        let deliveries = deliveries.to_vec();
        self.db
            .call(move |conn| {
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                for d in &deliveries {
                    insert_delivery(&tx, d)?;
                }
                tx.commit().map_err(sql)
            })
            .await
    }

    async fn claim_run(
        &self,
        run: &PushRun,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (run, task) = (run.clone(), task.to_string());
        self.db
            .call(move |conn| {
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                match claim(&tx, &run, &task, at) {
                    Err(StoreError::Conflict) => {
                        let holder: String = tx
                            .prepare_cached("SELECT run_id FROM run_claims WHERE project = ?1 AND task_id = ?2 AND scheduled_for = ?3")
        .map_err(sql)?
        .query_row(params![run.project.to_string(), task, due_key(at)],
                                |row| row.get(0),
                            )
                            .map_err(sql)?;
                        if holder != run.id.to_string() {
                            return Err(StoreError::Conflict);
                        }
                    }
                    other => other?,
                }
                tx.commit().map_err(sql)
            })
            .await
    }

    async fn runs_to_check(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(ProjectId, RunId)>, StoreError> {
        let (now, limit) = (due_key(now), i64::try_from(limit).unwrap_or(i64::MAX));
        let rows: Vec<(String, String)> = self
            .db
            .call(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT project, run_id FROM run_progress WHERE check_at IS NOT NULL AND check_at <= ?1
                         ORDER BY check_at LIMIT ?2",
                    )
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![now, limit], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map_err(sql)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql)
            })
            .await?;
        rows.into_iter()
            .map(|(project, id)| {
                Ok((
                    ProjectId::parse(&project).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    RunId::parse(&id).map_err(StoreError::Corrupt)?,
                ))
            })
            .collect()
    }

    async fn check_run_at(
        &self,
        project: &ProjectId,
        id: &RunId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (project, id, at) = (project.to_string(), id.to_string(), due_key(at));
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE run_progress SET check_at = ?3 WHERE project = ?1 AND run_id = ?2 AND check_at IS NOT NULL",
                    params![project, id, at],
                )
                .map(|_| ())
                .map_err(sql)
            })
            .await
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
        let (project, task, key) = (project.to_string(), task.to_string(), key_digest.to_owned());
        let (run, now, expires_at) = (run.to_string(), due_key(now), due_key(expires_at));
        let held: Option<String> = self
            .db
            .call(move |conn| {
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                // An expired key is free again.
                tx.prepare_cached("DELETE FROM request_keys WHERE project = ?1 AND task_id = ?2 AND key_digest = ?3 AND expires_at <= ?4")
                    .map_err(sql)?
                    .execute(params![project, task, key, now])
                    .map_err(sql)?;
                let inserted = tx.prepare_cached("INSERT OR IGNORE INTO request_keys (project, task_id, key_digest, run_id, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)")
                    .map_err(sql)?
                    .execute(params![project, task, key, run, expires_at])
                    .map_err(sql)?;
                let held = match inserted {
                    0 => Some(
                        tx.prepare_cached("SELECT run_id FROM request_keys WHERE project = ?1 AND task_id = ?2 AND key_digest = ?3")
                            .map_err(sql)?
                            .query_row(params![project, task, key], |row| row.get(0))
                            .map_err(sql)?,
                    ),
                    _ => None,
                };
                tx.commit().map_err(sql)?;
                Ok::<Option<String>, StoreError>(held)
            })
            .await?;
        held.map(|held| RunId::parse(&held).map_err(StoreError::Corrupt))
            .transpose()
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
                conn.prepare_cached("SELECT 1 FROM run_claims WHERE project = ?1 AND task_id = ?2 AND scheduled_for = ?3")
        .map_err(sql)?
        .query_row(params![project, task, at],
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
        let (project, id, now) = (project.to_string(), id.to_string(), due_key(now));
        let row = self
            .db
            .call(move |conn| {
                conn.query_row(
                    &format!(
                        "SELECT {RUN_COLUMNS} FROM {RUN_FROM} WHERE r.project = ?1 AND r.id = ?2 AND r.expires_at > ?3"
                    ),
                    params![project, id, now],
                    run_row,
                )
                .optional()
                .map_err(sql)
            })
            .await?;
        row.map(|(doc, progress)| run_of(&doc, progress))
            .transpose()
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
        let query = ListQuery {
            project: project.to_string(),
            upper,
            inclusive_upper,
            lower,
            now: due_key(now),
            task: filter.task.map(|t| t.to_string()),
            outcome: filter.outcome.map(|o| o.as_str().to_owned()),
            kind: filter.kind.map(|k| k.as_str().to_owned()),
            fetch: i64::try_from(limit + 1).unwrap_or(i64::MAX),
        };
        let docs: Vec<(String, Option<RunProgress>)> = self
            .db
            .call(move |conn| {
                let (sql_text, values) = query.sql();
                let mut stmt = conn.prepare_cached(&sql_text).map_err(sql)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(values), run_row)
                    .map_err(sql)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql)
            })
            .await?;
        let mut items = docs
            .iter()
            .map(|(doc, progress)| run_of(doc, *progress))
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
                for table in ["run_claims", "run_progress"] {
                    gone += tx
                        .execute(
                            &format!("DELETE FROM {table} WHERE expires_at <= ?1"),
                            params![now_key],
                        )
                        .map_err(sql)?;
                }
                tx.execute(
                    "DELETE FROM delivery_messages WHERE id IN (SELECT id FROM deliveries
                         WHERE next_due IS NULL AND created_at <= ?1)",
                    params![deliveries_before],
                )
                .map_err(sql)?;
                gone += tx
                    .execute(
                        "DELETE FROM deliveries WHERE next_due IS NULL AND created_at <= ?1",
                        params![deliveries_before],
                    )
                    .map_err(sql)?;
                // Contents no delivery says any more (the last use is as old as the deliveries
                // just deleted, and nothing still stored names it).
                gone += tx
                    .execute(
                        "DELETE FROM message_contents WHERE used_at <= ?1 AND id NOT IN
                             (SELECT json_extract(message, '$.content_id') FROM delivery_messages
                              WHERE json_extract(message, '$.content_id') IS NOT NULL)",
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
