//! Services: the use cases, written against ports only.
pub mod channel_test;
pub mod contacts;
pub mod delivery;
pub mod images;
pub mod keys;
pub mod records;
pub mod robot_keys;
pub mod runs;
pub mod sessions;
pub mod settings;
pub mod snapshot_links;
pub mod source_uses;
pub mod sources;
pub mod sqle;
pub mod tasks;
pub mod tickets;

use crate::ServiceError;
use crate::ports::{SchedulerError, StoreError};
use std::sync::Arc;

/// The adapters a deployment plugs in (DynamoDB and AWS services, or SQLite and local files); the
/// services are built over them once per process.
#[derive(Clone)]
pub struct Adapters {
    pub tasks: Arc<dyn crate::ports::TaskStore>,
    pub keys: Arc<dyn crate::ports::KeyStore>,
    pub deliveries: Arc<dyn crate::ports::DeliveryStore>,
    pub runs: Arc<dyn crate::ports::RunStore>,
    pub settings: Arc<dyn crate::ports::SettingsStore>,
    pub contacts: Arc<dyn crate::ports::ContactStore>,
    pub secrets: Arc<dyn crate::ports::SecretStore>,
    pub scheduler: Arc<dyn crate::ports::ScheduleGateway>,
    pub charts: Arc<dyn crate::ports::ChartSource>,
    /// Draws chart pictures and page snapshots.
    pub pictures: Arc<dyn crate::ports::PictureRenderer>,
    /// Stored pictures and attachments, and their provider uploads.
    pub images: Arc<dyn crate::ports::ImageStore>,
    /// Writes the files a push attaches.
    pub sheets: Arc<dyn crate::ports::SheetWriter>,
    pub clock: Arc<dyn crate::clock::Clock>,
    /// The SHA-256 of the first admin key.
    pub admin: crate::domain::auth::KeyHash,
}

/// See [`EngineConfig::answer_within`].
pub const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(25);

/// How the engine behaves (the same on every deployment unless configured).
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    pub retry: delivery::RetryPolicy,
    /// How long run records are kept (DynamoDB TTL; deleted locally).
    pub record_retention: chrono::Duration,
    /// How long a request that sends (a test push, a channel test) waits for the providers'
    /// answers before it answers with what to poll: within API Gateway's 30 s with room to spare.
    pub answer_within: std::time::Duration,
    /// How long a signed snapshot link serves its picture (default 7 days).
    pub snapshot_link_lifetime: chrono::Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            retry: delivery::RetryPolicy::default(),
            record_retention: chrono::Duration::days(90),
            answer_within: ANSWER_WITHIN,
            snapshot_link_lifetime: snapshot_links::DEFAULT_LINK_LIFETIME,
        }
    }
}

/// Every service over the adapters, wired once per process.
#[derive(Clone)]
pub struct Services {
    pub tasks: tasks::TaskService,
    pub keys: keys::KeyService,
    pub settings: settings::SettingsService,
    pub channel_tests: channel_test::ChannelTestService,
    pub contacts: contacts::ContactService,
    pub pushes: runs::PushService,
    /// Reads records (runs with their deliveries) as a caller may see them.
    pub records: records::RecordService,
    /// Verifies ticket webhooks and queues their messages.
    pub tickets: tickets::TicketService,
    /// SQLE's own webhook, routed onto the ticket service.
    pub sqle: sqle::SqleService,
    /// Console sign-in and sessions.
    pub sessions: sessions::SessionService,
    /// Report sources (admin) and what members may see of them.
    pub sources: sources::SourceService,
    /// Sends queued deliveries; settles runs as their deliveries finish.
    pub worker: delivery::DeliveryWorker,
    /// Signed, expiring links to page snapshots (no API key needed to open one).
    pub snapshot_links: snapshot_links::SnapshotLinks,
}

impl Services {
    /// `sender` makes what reaches the providers from the one settings service of the process,
    /// so a settings change through the API is what the next send and channel test use.
    pub fn new(
        adapters: Adapters,
        config: EngineConfig,
        sender: impl FnOnce(settings::SettingsService) -> Arc<dyn crate::ports::Sender>,
    ) -> Self {
        let settings =
            settings::SettingsService::new(adapters.settings.clone(), adapters.secrets.clone());
        let sender = sender(settings.clone());
        let sources = sources::SourceService::new(
            adapters.settings.clone(),
            adapters.secrets.clone(),
            adapters.tasks.clone(),
            adapters.charts.clone(),
            adapters.clock.clone(),
        );
        let ports = runs::RunPorts {
            sources: sources.directory().clone(),
            tasks: adapters.tasks.clone(),
            contacts: adapters.contacts.clone(),
            runs: adapters.runs.clone(),
            deliveries: adapters.deliveries.clone(),
            scheduler: adapters.scheduler.clone(),
            charts: adapters.charts.clone(),
            pictures: adapters.pictures.clone(),
            images: adapters.images.clone(),
            sheets: adapters.sheets.clone(),
            clock: adapters.clock.clone(),
        };
        let ledger = runs::PushService::ledger(&ports, settings.clone());
        let worker = delivery::DeliveryWorker::new(
            adapters.deliveries.clone(),
            sender,
            adapters.clock.clone(),
            config.retry,
        )
        .with_observer(Arc::new(ledger.clone()));
        let tickets = tickets::TicketService::new(
            settings.clone(),
            adapters.secrets.clone(),
            adapters.contacts.clone(),
            ledger.clone(),
            adapters.clock.clone(),
            config.record_retention,
        );
        let sqle =
            sqle::SqleService::new(settings.clone(), adapters.secrets.clone(), tickets.clone());
        let keys = keys::KeyService::new(adapters.keys, adapters.admin, adapters.clock.clone());
        let snapshot_links = snapshot_links::SnapshotLinks::new(
            adapters.secrets.clone(),
            adapters.images.clone(),
            ports.clock.clone(),
            config.snapshot_link_lifetime,
        );
        Self {
            tickets,
            sqle,
            contacts: contacts::ContactService::new(adapters.contacts, adapters.clock.clone()),
            tasks: tasks::TaskService::new(
                adapters.tasks,
                adapters.scheduler,
                adapters.secrets.clone(),
                sources.directory().clone(),
                adapters.clock.clone(),
            ),
            sessions: sessions::SessionService::new(
                keys.clone(),
                adapters.secrets.clone(),
                adapters.settings.clone(),
                adapters.clock.clone(),
            ),
            keys,
            channel_tests: channel_test::ChannelTestService::new(
                settings.clone(),
                adapters.deliveries,
                worker.clone(),
                adapters.clock,
                config.answer_within,
            ),
            snapshot_links: snapshot_links.clone(),
            records: records::RecordService::new(
                ports.runs.clone(),
                ports.deliveries.clone(),
                ports.contacts.clone(),
                ports.clock.clone(),
            ),
            pushes: runs::PushService::new(
                ledger,
                &ports,
                worker.clone(),
                (config.record_retention, config.answer_within),
                snapshot_links,
            ),
            settings,
            sources,
            worker,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict => ServiceError::Conflict(
                "the item was changed by someone else; read it again and retry".into(),
            ),
            StoreError::NotFound => ServiceError::NotFound("item"),
            other => ServiceError::unavailable("the store", other),
        }
    }
}

impl From<SchedulerError> for ServiceError {
    fn from(err: SchedulerError) -> Self {
        match err {
            SchedulerError::Rejected(message) => ServiceError::FailedPrecondition {
                field: Some("schedule".into()),
                message: format!("the scheduler refused this schedule: {message}"),
            },
            other => ServiceError::unavailable("the scheduler", other),
        }
    }
}
