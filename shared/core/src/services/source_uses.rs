//! Which tasks use which report source: the index a source's deletion reads (kept in the
//! settings document beside the sources, so a task write and a source's deletion meet in one
//! conditional write), and the check a task write makes after it is stored.
use super::sources::SourceDirectory;
use crate::domain::ids::ProjectId;
use crate::domain::source::SourceName;
use crate::{FieldError, ServiceError};

impl SourceDirectory {
    /// Notes that `task` of `project` reads from `sources`: the index that lets a source's
    /// deletion name the tasks using it. Written before a task write, so it may list too much,
    /// never too little: a task write never takes entries out (that could take out one a
    /// concurrent write of the same task just put in); the source's deletion passes over the
    /// stale ones, and the task's deletion takes out its own ([`Self::forget_task`]).
    pub async fn record_use(
        &self,
        project: &ProjectId,
        task: &crate::domain::ids::TaskId,
        sources: &std::collections::BTreeSet<SourceName>,
    ) -> Result<(), ServiceError> {
        let entry = format!("{project}/{task}");
        self.change_index(|record| {
            let mut changed = false;
            for name in sources {
                // In the same write: a source deleted since the page was checked is refused here
                // (its deletion and this entry cannot both be written).
                if !record.sources.iter().any(|s| &s.name == name) {
                    return Err(gone(name));
                }
                changed |= record
                    .source_users
                    .entry(name.clone())
                    .or_default()
                    .insert(entry.clone());
            }
            Ok(changed)
        })
        .await
    }

    /// Takes a deleted task out of every source's users.
    pub async fn forget_task(
        &self,
        project: &ProjectId,
        task: &crate::domain::ids::TaskId,
    ) -> Result<(), ServiceError> {
        let entry = format!("{project}/{task}");
        self.change_index(|record| {
            let before = record.source_users.len();
            let mut changed = false;
            for users in record.source_users.values_mut() {
                changed |= users.remove(&entry);
            }
            record.source_users.retain(|_, users| !users.is_empty());
            Ok(changed || record.source_users.len() != before)
        })
        .await
    }

    /// Applies `change` to the settings document, written only when it says it changed something,
    /// retried when another write came between.
    async fn change_index(
        &self,
        change: impl Fn(&mut crate::ports::SettingsRecord) -> Result<bool, ServiceError>,
    ) -> Result<(), ServiceError> {
        super::settings::change_settings(self.settings.as_ref(), 5, "this write", change).await?;
        Ok(())
    }

    /// After a task write: every source in `used` still exists. A source deleted while the task
    /// was written is an error naming it; the writer then takes its write back, because the
    /// deletion may have looked for users before the task was stored (`SourceService::delete`
    /// looks again after it removes the source, so one of the two always sees the other).
    pub async fn still_there(
        &self,
        used: &std::collections::BTreeSet<SourceName>,
    ) -> Result<(), ServiceError> {
        if used.is_empty() {
            return Ok(());
        }
        let record = self.settings.get_settings().await?;
        match used
            .iter()
            .find(|name| !record.sources.iter().any(|s| &s.name == *name))
        {
            Some(name) => Err(gone(name)),
            None => Ok(()),
        }
    }
}

/// A source deleted while a task naming it was written.
fn gone(name: &SourceName) -> ServiceError {
    FieldError::new(
        "page.charts",
        format!("the source '{name}' was deleted while this task was being written"),
    )
    .into()
}
