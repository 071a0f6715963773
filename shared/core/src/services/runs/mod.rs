//! Push runs: a task's schedule fires (or a user pushes by hand or tests), its charts are checked,
//! exception control decides, the message is rendered and queued for delivery — all recorded in one
//! run, written once together with its deliveries and its scheduled-time claim.

/// How long a manual push's `Idempotency-Key` answers with its run (a day, as is usual).
const REQUEST_KEY_LIFETIME: chrono::Duration = chrono::Duration::hours(24);
mod attach;
mod commands;
pub mod compose;
mod conditions;
pub mod ledger;
mod notify;
mod preparation;
pub mod preview;
pub mod report;

use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::auth::Principal;
use crate::domain::delivery::{Delivery, DeliveryCause};
use crate::domain::ids::{ProjectId, TaskId};
use crate::domain::image::ImageRef;
use crate::domain::run::{
    ChartState, LogLevel, MessageRecord, PauseReason, PushRun, RunClaim, RunId, RunKind,
    RunOutcome, RunStart, RunSubject,
};
use crate::domain::task::{Channel, PushTask, TaskState};
use crate::ports::{
    ChartSource, ContactStore, DeliveryStore, ImageStore, PictureRenderer, RunStore,
    ScheduleGateway, TaskStore,
};
use crate::report::exception::{charts_for, decide};
use crate::services::delivery::DeliveryWorker;
use crate::services::settings::SettingsService;
pub use attach::Attached;
use chrono::{DateTime, Utc};
use compose::Audience;
pub use ledger::{Recorded, RunLedger};
use notify::Notices;
use preparation::Prepared;
use report::{PageRead, Reporter, RunStamp};
use std::sync::Arc;
use std::time::Duration;

/// What firing a schedule did.
#[derive(Debug)]
pub enum Trigger {
    Started(Box<PushRun>),
    /// This scheduled time was already run (Scheduler delivers at least once).
    Duplicate,
    /// The task no longer exists (its schedule is being deleted).
    TaskGone,
}

/// The ports a push run needs.
pub struct RunPorts {
    pub tasks: Arc<dyn TaskStore>,
    pub contacts: Arc<dyn ContactStore>,
    pub runs: Arc<dyn RunStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub scheduler: Arc<dyn ScheduleGateway>,
    pub charts: Arc<dyn ChartSource>,
    pub sources: crate::services::sources::SourceDirectory,
    pub pictures: Arc<dyn PictureRenderer>,
    pub images: Arc<dyn ImageStore>,
    pub sheets: Arc<dyn crate::ports::SheetWriter>,
    pub clock: Arc<dyn Clock>,
}

#[derive(Clone)]
pub struct PushService {
    ledger: RunLedger,
    contacts: Arc<dyn ContactStore>,
    reporter: Reporter,
    worker: DeliveryWorker,
    retention: chrono::Duration,
    answer_within: Duration,
    /// The signed links a DingTalk robot's message shows the page picture by.
    snapshot_links: crate::services::snapshot_links::SnapshotLinks,
}

impl PushService {
    /// The service, and the ledger the delivery worker reports to (`DeliveryWorker::with_observer`).
    pub fn ledger(ports: &RunPorts, settings: SettingsService) -> RunLedger {
        RunLedger {
            tasks: ports.tasks.clone(),
            runs: ports.runs.clone(),
            deliveries: ports.deliveries.clone(),
            scheduler: ports.scheduler.clone(),
            clock: ports.clock.clone(),
            notices: Notices {
                settings,
                contacts: ports.contacts.clone(),
            },
        }
    }

    pub fn new(
        ledger: RunLedger,
        ports: &RunPorts,
        worker: DeliveryWorker,
        (retention, answer_within): (chrono::Duration, Duration),
        snapshot_links: crate::services::snapshot_links::SnapshotLinks,
    ) -> Self {
        Self {
            ledger,
            contacts: ports.contacts.clone(),
            reporter: Reporter {
                charts: ports.charts.clone(),
                sources: ports.sources.clone(),
                pictures: ports.pictures.clone(),
                images: ports.images.clone(),
                sheets: ports.sheets.clone(),
            },
            worker,
            retention,
            answer_within,
            snapshot_links,
        }
    }

    /// How long a request that must answer in time (a test push, a preview) gives the charts:
    /// most of [`Self::answer_within`]; the rest is for the snapshot, the writes and a send.
    pub(super) fn charts_within(&self) -> Duration {
        self.answer_within.mul_f64(0.7)
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.ledger.clock.now()
    }

    pub(super) async fn load_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
    ) -> Result<PushTask, ServiceError> {
        self.ledger
            .tasks
            .get_task(project, id)
            .await?
            .ok_or(ServiceError::NotFound("task"))
    }
}
