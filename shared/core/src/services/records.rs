//! Reading records: a project's runs, one run with its deliveries, and what a caller may see of
//! them. A query service: it writes nothing (the run ledger writes records).
use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::auth::Principal;
use crate::domain::delivery::Delivery;
use crate::domain::ids::{ContactId, ProjectId};
use crate::domain::redaction::Redaction;
use crate::domain::run::{PushRun, RunId};
use crate::ports::{ContactStore, DeliveryStore, RunFilter, RunPage, RunStore};
use std::sync::Arc;

/// How many push deliveries a record shows (a run to 10,000 addresses has as many).
pub const RECORD_PUSHES_SHOWN: usize = 100;

#[derive(Clone)]
pub struct RecordService {
    runs: Arc<dyn RunStore>,
    deliveries: Arc<dyn DeliveryStore>,
    contacts: Arc<dyn ContactStore>,
    clock: Arc<dyn Clock>,
}

impl RecordService {
    pub fn new(
        runs: Arc<dyn RunStore>,
        deliveries: Arc<dyn DeliveryStore>,
        contacts: Arc<dyn ContactStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            runs,
            deliveries,
            contacts,
            clock,
        }
    }

    pub async fn list_records(
        &self,
        who: &Principal,
        project: &ProjectId,
        filter: &RunFilter,
        after: Option<&RunId>,
        limit: usize,
    ) -> Result<RunPage, ServiceError> {
        who.check_read(project)?;
        Ok(self
            .runs
            .list_runs(
                project,
                filter,
                after,
                limit.clamp(1, 100),
                self.clock.now(),
            )
            .await?)
    }

    /// What a record must not show `who`: an admin may read the contacts directory and sees every
    /// identity; anyone else sees each contact a delivery reached as "Name (contact id)".
    pub async fn redaction_for(
        &self,
        who: &Principal,
        deliveries: &[Delivery],
    ) -> Result<Redaction, ServiceError> {
        if *who == Principal::Admin {
            return Ok(Redaction::default());
        }
        let mut ids: Vec<ContactId> = deliveries
            .iter()
            .flat_map(|d| d.contacts.iter().map(|reach| reach.contact.clone()))
            .collect();
        if ids.is_empty() {
            return Ok(Redaction::default());
        }
        ids.sort();
        ids.dedup();
        let mut found = Vec::new();
        for page in ids.chunks(100) {
            found.extend(self.contacts.get_contacts(page).await?);
        }
        let label = |id: &ContactId| match found.iter().find(|c| c.id() == id) {
            Some(contact) => format!("{} (contact {id})", contact.name()),
            None => format!("contact {id}"),
        };
        Ok(Redaction::new(deliveries.iter().flat_map(|d| {
            d.contacts
                .iter()
                .map(|reach| (reach.identity.clone(), label(&reach.contact)))
        })))
    }

    /// A run with its deliveries: the first [`RECORD_PUSHES_SHOWN`] pushes, then its alarms and
    /// notices (the progress counts them all).
    pub async fn record(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &RunId,
    ) -> Result<(PushRun, Vec<Delivery>), ServiceError> {
        who.check_read(project)?;
        let run = self
            .runs
            .get_run(project, id, self.clock.now())
            .await?
            .ok_or(ServiceError::NotFound("record"))?;
        let ids: Vec<_> = run
            .push_ids()
            .take(RECORD_PUSHES_SHOWN)
            .chain(run.notice_ids())
            .collect();
        let mut deliveries = Vec::with_capacity(ids.len());
        for page in ids.chunks(100) {
            deliveries.extend(self.deliveries.get_deliveries(page).await?);
        }
        Ok((run, deliveries))
    }

    /// The page snapshot a run sent, and when its record (and so the picture) expires.
    pub async fn snapshot(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &RunId,
    ) -> Result<
        (
            crate::domain::image::ImageRef,
            chrono::DateTime<chrono::Utc>,
        ),
        ServiceError,
    > {
        let (run, _) = self.record(who, project, id).await?;
        let image = run
            .images
            .first()
            .cloned()
            .ok_or(ServiceError::NotFound("snapshot"))?;
        Ok((image, run.expires_at))
    }

    /// A file the run attached, by its name.
    pub async fn attachment(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &RunId,
        name: &str,
    ) -> Result<crate::domain::image::ImageRef, ServiceError> {
        let (run, _) = self.record(who, project, id).await?;
        run.attachments
            .into_iter()
            .find(|file| file.name == name)
            .ok_or(ServiceError::NotFound("attachment"))
    }
}
