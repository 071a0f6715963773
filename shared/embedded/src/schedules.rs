//! Schedules on one machine: kept in SQLite, where the local timer (push runs) reads them.
use crate::db::{Db, DbError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::clock::Clock;
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::ports::{ScheduleDefinition, ScheduleGateway, SchedulerError};
use rusqlite::{OptionalExtension, params};
use std::sync::Arc;

#[derive(Clone)]
pub struct LocalScheduler {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl LocalScheduler {
    /// `clock` stamps a new schedule, so the timer counts its firings from its creation, not from
    /// its first tick (a first run due in between would be lost).
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    /// Every schedule with the last time the local timer handled, for the timer loop.
    pub async fn all(
        &self,
    ) -> Result<Vec<(ScheduleDefinition, Option<DateTime<Utc>>)>, SchedulerError> {
        self.db
            .call(|conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT task_id, project, expression, timezone, start, enabled, last_fired FROM schedules")
                    .map_err(sql)?;
                let rows = stmt
                    .query_map([], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, String>(3)?,
                            row.get::<_, String>(4)?,
                            row.get::<_, bool>(5)?,
                            row.get::<_, Option<String>>(6)?,
                        ))
                    })
                    .map_err(sql)?;
                let rows = rows.collect::<Result<Vec<_>, _>>().map_err(sql)?;
                let time = |t: &str| {
                    DateTime::parse_from_rfc3339(t)
                        .map(|d| d.to_utc())
                        .map_err(|e| SchedulerError::Unavailable(Box::new(e)))
                };
                rows.into_iter()
                    .map(|(task, project, expression, timezone, start, enabled, last)| {
                        let definition = ScheduleDefinition {
                            project: ProjectId::parse(project).map_err(SchedulerError::Rejected)?,
                            task: TaskId::parse(&task).map_err(SchedulerError::Rejected)?,
                            expression,
                            timezone,
                            start: time(&start)?,
                            enabled,
                        };
                        Ok((definition, last.as_deref().map(time).transpose()?))
                    })
                    .collect()
            })
            .await
    }

    /// Remembers the last scheduled time handled for a task, so a restart neither repeats nor loses it.
    pub async fn set_last_fired(
        &self,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<(), SchedulerError> {
        let (task, at) = (task.to_string(), at.to_rfc3339());
        self.db
            .call(move |conn| {
                conn.execute(
                    "UPDATE schedules SET last_fired = ?2 WHERE task_id = ?1",
                    params![task, at],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }
}

impl From<DbError> for SchedulerError {
    fn from(err: DbError) -> Self {
        SchedulerError::Unavailable(Box::new(err))
    }
}

fn sql(err: rusqlite::Error) -> SchedulerError {
    SchedulerError::Unavailable(Box::new(err))
}

#[async_trait]
impl ScheduleGateway for LocalScheduler {
    async fn put_schedule(&self, definition: &ScheduleDefinition) -> Result<(), SchedulerError> {
        let d = definition.clone();
        let created = self.clock.now().to_rfc3339();
        self.db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO schedules (task_id, project, expression, timezone, start, enabled, last_fired)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (task_id) DO UPDATE SET project = ?2, expression = ?3, timezone = ?4,
                         start = ?5, enabled = ?6",
                    params![
                        d.task.to_string(),
                        d.project.to_string(),
                        d.expression,
                        d.timezone,
                        d.start.to_rfc3339(),
                        d.enabled,
                        created
                    ],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn delete_schedule(
        &self,
        _project: &ProjectId,
        task: &TaskId,
    ) -> Result<(), SchedulerError> {
        let task = task.to_string();
        self.db
            .call(move |conn| {
                conn.execute("DELETE FROM schedules WHERE task_id = ?1", params![task])
                    .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn get_schedule(
        &self,
        project: &ProjectId,
        task: &TaskId,
    ) -> Result<Option<ScheduleDefinition>, SchedulerError> {
        let (project, task) = (project.clone(), *task);
        self.db
            .call(move |conn| {
                let row = conn
                    .query_row(
                        "SELECT expression, timezone, start, enabled FROM schedules WHERE task_id = ?1 AND project = ?2",
                        params![task.to_string(), project.to_string()],
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, String>(2)?,
                                row.get::<_, bool>(3)?,
                            ))
                        },
                    )
                    .optional()
                    .map_err(sql)?;
                row.map(|(expression, timezone, start, enabled)| {
                    let start = DateTime::parse_from_rfc3339(&start)
                        .map_err(|e| SchedulerError::Unavailable(Box::new(e)))?
                        .with_timezone(&Utc);
                    Ok(ScheduleDefinition { project, task, expression, timezone, start, enabled })
                })
                .transpose()
            })
            .await
    }
}
