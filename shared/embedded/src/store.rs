//! The task and key store on SQLite. Mirrors the DynamoDB adapter's behaviour (see the contract tests).
use crate::codec::{from_doc, sql, sql_version, to_doc};
use crate::db::{Db, DbError};
use async_trait::async_trait;
use herald_core::domain::auth::ApiKey;
use herald_core::domain::ids::{KeyId, ProjectId, TaskId};
use herald_core::domain::task::PushTask;
use herald_core::ports::{KeyPage, KeyStore, Page, StoreError, TaskStore};
use rusqlite::{OptionalExtension, Transaction, params};

#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) db: Db,
    /// Delivery outcomes waiting to be written together.
    pub(crate) outcomes: crate::outcomes::OutcomeQueue,
}

impl SqliteStore {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            outcomes: Default::default(),
        }
    }
}

impl From<DbError> for StoreError {
    fn from(err: DbError) -> Self {
        StoreError::Unavailable(Box::new(err))
    }
}

/// The stored version of a task, if it exists.
fn task_version(tx: &Transaction<'_>, project: &str, id: &str) -> Result<Option<i64>, StoreError> {
    tx.query_row(
        "SELECT version FROM tasks WHERE project = ?1 AND id = ?2",
        params![project, id],
        |row| row.get(0),
    )
    .optional()
    .map_err(sql)
}

/// Replaces a task inside a transaction if its stored version is `expected_version`.
pub(crate) fn replace_task_in(
    tx: &Transaction<'_>,
    task: &PushTask,
    expected_version: u64,
) -> Result<(), StoreError> {
    let (project, id) = (task.project.to_string(), task.id.to_string());
    match task_version(tx, &project, &id)? {
        None => return Err(StoreError::NotFound),
        Some(v) if v != sql_version(expected_version) => return Err(StoreError::Conflict),
        Some(_) => {}
    }
    tx.execute(
        "UPDATE tasks SET version = ?3, state = ?4, doc = ?5, updated_at = ?6 WHERE project = ?1 AND id = ?2",
        params![project, id, sql_version(task.version), task.state.as_str(), to_doc(task)?, task.updated_at.to_rfc3339()],
    )
    .map_err(sql)?;
    Ok(())
}

impl SqliteStore {
    /// The document of the one row `sql` selects (its only column is `doc`), parsed.
    /// The docs `sql` selects after the id `after` (`?1`), at most `limit + 1` (`?2`): one extra
    /// row tells if a next page exists.
    pub(crate) async fn docs_after(
        &self,
        sql_text: &'static str,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        // Every id sorts after the empty string.
        let after = after.unwrap_or_default();
        let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        self.db
            .call(move |conn| {
                let mut stmt = conn.prepare_cached(sql_text).map_err(sql)?;
                let rows = stmt
                    .query_map(params![after, fetch], |row| row.get(0))
                    .map_err(sql)?;
                rows.collect::<Result<Vec<String>, _>>().map_err(sql)
            })
            .await
    }

    pub(crate) async fn one_doc<T: serde::de::DeserializeOwned>(
        &self,
        query: &'static str,
        args: Vec<String>,
    ) -> Result<Option<T>, StoreError> {
        let doc: Option<String> = self
            .db
            .call(move |conn| {
                conn.prepare_cached(query)
                    .map_err(sql)?
                    .query_row(rusqlite::params_from_iter(args), |row| row.get(0))
                    .optional()
                    .map_err(sql)
            })
            .await?;
        doc.as_deref().map(from_doc).transpose()
    }
}

#[async_trait]
impl TaskStore for SqliteStore {
    async fn insert_task(&self, task: &PushTask) -> Result<(), StoreError> {
        let doc = to_doc(task)?;
        let (project, id, version, state) = (
            task.project.to_string(),
            task.id.to_string(),
            sql_version(task.version),
            task.state.as_str(),
        );
        let (created, updated) = (task.created_at.to_rfc3339(), task.updated_at.to_rfc3339());
        self.db
            .call(move |conn| {
                let inserted = conn
                    .execute(
                        "INSERT INTO tasks (project, id, version, state, doc, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                        params![project, id, version, state, doc, created, updated],
                    )
                    .map_err(sql)?;
                if inserted == 0 { Err(StoreError::Conflict) } else { Ok(()) }
            })
            .await
    }

    async fn get_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
    ) -> Result<Option<PushTask>, StoreError> {
        self.one_doc(
            "SELECT doc FROM tasks WHERE project = ?1 AND id = ?2",
            vec![project.to_string(), id.to_string()],
        )
        .await
    }

    async fn list_tasks(
        &self,
        project: &ProjectId,
        after: Option<&TaskId>,
        limit: usize,
    ) -> Result<Page<PushTask>, StoreError> {
        let project = project.to_string();
        // Task ids are UUIDv7: descending id order is newest first. One extra row tells if a next page exists.
        let after = after
            .map(ToString::to_string)
            .unwrap_or_else(|| "~".to_owned());
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let docs: Vec<String> = self
            .db
            .call(move |conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT doc FROM tasks WHERE project = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3")
                    .map_err(sql)?;
                let rows = stmt
                    .query_map(params![project, after, fetch], |row| row.get(0))
                    .map_err(sql)?;
                rows.collect::<Result<Vec<String>, _>>().map_err(sql)
            })
            .await?;
        let mut items = docs
            .iter()
            .map(|d| from_doc::<PushTask>(d))
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|t| t.id)
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    async fn replace_task(&self, task: &PushTask, expected_version: u64) -> Result<(), StoreError> {
        let task = task.clone();
        self.db
            .call(move |conn| {
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                replace_task_in(&tx, &task, expected_version)?;
                tx.commit().map_err(sql)
            })
            .await
    }

    async fn delete_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let (project, id) = (project.to_string(), id.to_string());
        self.db
            .call(move |conn| {
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                let stored: Option<i64> = tx
                    .query_row(
                        "SELECT version FROM tasks WHERE project = ?1 AND id = ?2",
                        params![project, id],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(sql)?;
                match stored {
                    None => return Err(StoreError::NotFound),
                    Some(v) if v != sql_version(expected_version) => {
                        return Err(StoreError::Conflict);
                    }
                    Some(_) => {}
                }
                tx.execute(
                    "DELETE FROM tasks WHERE project = ?1 AND id = ?2",
                    params![project, id],
                )
                .map_err(sql)?;
                tx.commit().map_err(sql)
            })
            .await
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn insert_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let (id, doc) = (key.id.to_string(), to_doc(key)?);
        self.db
            .call(move |conn| {
                let inserted = conn
                    .execute(
                        "INSERT INTO api_keys (id, doc) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                        params![id, doc],
                    )
                    .map_err(sql)?;
                if inserted == 0 {
                    Err(StoreError::Conflict)
                } else {
                    Ok(())
                }
            })
            .await
    }

    async fn get_key(&self, id: &KeyId) -> Result<Option<ApiKey>, StoreError> {
        self.one_doc(
            "SELECT doc FROM api_keys WHERE id = ?1",
            vec![id.to_string()],
        )
        .await
    }

    async fn delete_key(&self, id: &KeyId) -> Result<(), StoreError> {
        let id = id.to_string();
        self.db
            .call(move |conn| {
                let deleted = conn
                    .execute("DELETE FROM api_keys WHERE id = ?1", params![id])
                    .map_err(sql)?;
                if deleted == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            })
            .await
    }
    async fn list_keys(&self, after: Option<&KeyId>, limit: usize) -> Result<KeyPage, StoreError> {
        let docs = self
            .docs_after(
                "SELECT doc FROM api_keys WHERE id > ?1 ORDER BY id LIMIT ?2",
                after.map(ToString::to_string),
                limit,
            )
            .await?;
        let items = docs
            .iter()
            .map(|d| from_doc::<ApiKey>(d))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeyPage::of(items, limit))
    }
}
