//! Ports: the narrow traits through which services reach storage and schedules.
use crate::domain::auth::ApiKey;
use crate::domain::ids::{KeyId, ProjectId, TaskId};
use crate::domain::task::PushTask;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

/// Errors every store adapter maps its own failures onto.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A conditional write lost: the item exists already, or its version moved on.
    #[error("the item was changed by someone else")]
    Conflict,
    #[error("the item does not exist")]
    NotFound,
    /// A stored item that no longer parses (a bug or a manual edit).
    #[error("stored item is corrupt: {0}")]
    Corrupt(String),
    /// The store refused the write for good (an item over its size limit, a validation error):
    /// retrying cannot help, so the caller records the failure instead.
    #[error("the store refused the write: {0}")]
    Refused(String),
    /// Throttling, a conflicting transaction, a 5xx, a lost connection: worth retrying.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// One page of a newest-first list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next_after: Option<TaskId>,
}

/// Push tasks, keyed by project and task id.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Writes a new task; `Conflict` if one with its id exists.
    async fn insert_task(&self, task: &PushTask) -> Result<(), StoreError>;
    async fn get_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
    ) -> Result<Option<PushTask>, StoreError>;
    /// Tasks of a project, newest first, starting after `after`.
    async fn list_tasks(
        &self,
        project: &ProjectId,
        after: Option<&TaskId>,
        limit: usize,
    ) -> Result<Page<PushTask>, StoreError>;
    /// Replaces a task if its stored version is `expected_version`: `Conflict` otherwise, `NotFound` if gone.
    async fn replace_task(&self, task: &PushTask, expected_version: u64) -> Result<(), StoreError>;
    /// Deletes a task if its stored version is `expected_version`; `NotFound` if it is gone.
    async fn delete_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
        expected_version: u64,
    ) -> Result<(), StoreError>;
}

/// API keys, by id.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// `Conflict` if the id exists.
    async fn insert_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn get_key(&self, id: &KeyId) -> Result<Option<ApiKey>, StoreError>;
    /// `NotFound` if there was no such key.
    async fn delete_key(&self, id: &KeyId) -> Result<(), StoreError>;
    /// Keys in id order after `after`, at most `limit`.
    async fn list_keys(&self, after: Option<&KeyId>, limit: usize) -> Result<KeyPage, StoreError>;
}

/// One page of API keys (their records: never a key itself), in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPage {
    pub items: Vec<ApiKey>,
    /// Where the next page starts, if there is one.
    pub next_after: Option<KeyId>,
}

impl KeyPage {
    /// The page of `limit` from `items` read one beyond it (the extra one says a next page exists).
    pub fn of(mut items: Vec<ApiKey>, limit: usize) -> Self {
        let next_after = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|k| k.id.clone())
        } else {
            None
        };
        Self { items, next_after }
    }
}

/// The one schedule that follows a task: what EventBridge Scheduler (or the local timer) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDefinition {
    pub project: ProjectId,
    pub task: TaskId,
    /// `cron(...)`, exactly as EventBridge gets it.
    pub expression: String,
    /// IANA name, e.g. `Asia/Shanghai`.
    pub timezone: String,
    /// The first instant the schedule may fire (the task's start date, 00:00 local).
    pub start: DateTime<Utc>,
    pub enabled: bool,
}

#[derive(Debug, Error)]
pub enum SchedulerError {
    /// The scheduler refused the definition (e.g. an expression it does not accept).
    #[error("the scheduler refused the schedule: {0}")]
    Rejected(String),
    #[error("scheduler unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Creates, changes and deletes the schedule of a task. Both calls are idempotent.
#[async_trait]
pub trait ScheduleGateway: Send + Sync {
    /// Creates the task's schedule or replaces it with `definition`.
    async fn put_schedule(&self, definition: &ScheduleDefinition) -> Result<(), SchedulerError>;
    /// Deletes the task's schedule; deleting one that does not exist is fine.
    async fn delete_schedule(
        &self,
        project: &ProjectId,
        task: &TaskId,
    ) -> Result<(), SchedulerError>;
    /// The schedule as the scheduler holds it, if any.
    async fn get_schedule(
        &self,
        project: &ProjectId,
        task: &TaskId,
    ) -> Result<Option<ScheduleDefinition>, SchedulerError>;
}

pub use crate::domain::send::{SendError, SendFailure, SendReceipt};

/// Sends one outbound message through its provider. Implementations hold one HTTP client and cached
/// tokens per process; `idempotency_key` is stable across retries of the same delivery so providers
/// that de-duplicate (Feishu `uuid`, WeCom duplicate check) deliver it once.
#[async_trait]
pub trait Sender: Send + Sync {
    async fn send(
        &self,
        message: &crate::domain::message::OutboundMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, SendError>;
}

/// A delivery that may be claimed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: crate::domain::delivery::DeliveryId,
    pub provider: crate::domain::message::Provider,
    pub next_due: DateTime<Utc>,
}

/// Queued deliveries. A claim is a conditional write, so two workers never send the same attempt.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Writes new deliveries, all or none (the cause's own write joins this in later issues).
    async fn enqueue(
        &self,
        deliveries: &[crate::domain::delivery::Delivery],
    ) -> Result<(), StoreError>;
    async fn get_delivery(
        &self,
        id: &crate::domain::delivery::DeliveryId,
    ) -> Result<Option<crate::domain::delivery::Delivery>, StoreError>;
    /// Claims a delivery that is due (queued or sending, `next_due <= now`): it becomes `sending`
    /// until `lease_until`, with one more attempt counted. `None` if it is not claimable.
    async fn claim(
        &self,
        id: &crate::domain::delivery::DeliveryId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<crate::domain::delivery::Delivery>, StoreError>;
    /// Writes an attempt's outcome if the claim still holds (still `sending` with the same attempt
    /// count); `Conflict` if the lease ran out and someone else claimed it since. A final push
    /// delivery of a run ([`Delivery::tally`](crate::domain::delivery::Delivery::tally)) counts
    /// itself in its run's progress in the same write, and the run's progress after it is
    /// returned (`None` for any other delivery, or a run that is gone).
    async fn finish(
        &self,
        delivery: &crate::domain::delivery::Delivery,
    ) -> Result<Option<crate::domain::run::RunProgress>, StoreError>;
    /// The deliveries of `ids` that exist, in the order asked (at most 100 ids).
    async fn get_deliveries(
        &self,
        ids: &[crate::domain::delivery::DeliveryId],
    ) -> Result<Vec<crate::domain::delivery::Delivery>, StoreError>;
    /// One provider's deliveries due at `now`, oldest due first. Drivers ask per provider, so one
    /// provider's backlog never hides the others' deliveries.
    async fn due_for(
        &self,
        provider: crate::domain::message::Provider,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError>;

    /// Holds the lease `name` for `holder` until `until` if nobody else holds it at `now` (`false`:
    /// another holder's has not run out); its holder taking it again moves its end. So one sweep
    /// runs at a time however the schedule and Lambda's retries invoke it.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Gives up `holder`'s lease `name` (nothing if another holds it now).
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Claims up to `limit` of one provider's due deliveries, oldest due first (each as
    /// [`Self::claim`] would). Stores that can do it in one write override this.
    async fn claim_due(
        &self,
        provider: crate::domain::message::Provider,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::domain::delivery::Delivery>, StoreError> {
        let mut claimed = Vec::new();
        for due in self.due_for(provider, now, limit).await? {
            claimed.extend(self.claim(&due.id, now, lease_until).await?);
        }
        Ok(claimed)
    }

    /// Every provider's due deliveries (up to `limit` each), oldest due first.
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueDelivery>, StoreError> {
        let mut all = Vec::new();
        for provider in crate::domain::message::Provider::ALL {
            all.extend(self.due_for(provider, now, limit).await?);
        }
        all.sort_by_key(|d| d.next_due);
        all.truncate(limit);
        Ok(all)
    }
}

#[derive(Debug, Error)]
pub enum SecretError {
    #[error("secret store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Write-only secrets (corp secrets, app secrets, SMTP authorization codes, webhook signing keys),
/// by name such as `channels/wecom/corp_secret`. Values never leave as anything but `SecretString`.
#[async_trait]
pub trait SecretStore: Send + Sync {
    async fn get_secret(&self, name: &str) -> Result<Option<secrecy::SecretString>, SecretError>;
    async fn put_secret(
        &self,
        name: &str,
        value: &secrecy::SecretString,
    ) -> Result<(), SecretError>;
}

/// The channel settings document (no secrets), versioned for optimistic writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SettingsRecord {
    pub url_prefix: Option<crate::domain::text::HttpUrl>,
    pub smtp: Option<crate::domain::channels::SmtpSettings>,
    pub wecom: Option<crate::domain::channels::WecomSettings>,
    pub feishu: Option<crate::domain::channels::FeishuSettings>,
    /// Webhook sources: those with a signing secret set, and SQLE sources with their routing rules.
    #[serde(default)]
    pub webhook_sources: Vec<WebhookSource>,
    /// Report sources (admin-managed; their secrets are in the secret store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<crate::domain::source::Source>,
    /// Which tasks (`project/task`) read from each source (see `SourceDirectory::record_use`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub source_users: std::collections::BTreeMap<
        crate::domain::source::SourceName,
        std::collections::BTreeSet<String>,
    >,
    /// Console sessions ended before they expire (sign-out), pruned as they expire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ended_sessions: Vec<crate::domain::session::EndedSession>,
    /// Each key's console session epoch: sessions opened under an older one have ended (sign out
    /// everywhere). One small entry per key that ever signed out everywhere.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub session_epochs: std::collections::BTreeMap<crate::domain::auth::KeyHash, u64>,
    /// 0 until first written.
    pub version: u64,
}

/// A webhook source named in the settings. Its secrets (the HMAC signing secret of the native
/// ticket format, SQLE's bearer token) live in the secret store; this says which are set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "WebhookSourceWire")]
pub struct WebhookSource {
    pub name: String,
    /// An HMAC signing secret is set: the source posts the native ticket format.
    pub signed: bool,
    /// Set for an SQLE source (its token is set): who hears about each SQLE project's workflows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqle: Option<crate::domain::sqle::SqleSource>,
}

/// A source as stored: documents written before SQLE sources existed list bare names, each one
/// with a signing secret set.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum WebhookSourceWire {
    Name(String),
    Source {
        name: String,
        #[serde(default)]
        signed: bool,
        #[serde(default)]
        sqle: Option<crate::domain::sqle::SqleSource>,
    },
}

impl From<WebhookSourceWire> for WebhookSource {
    fn from(wire: WebhookSourceWire) -> Self {
        match wire {
            WebhookSourceWire::Name(name) => name.as_str().into(),
            WebhookSourceWire::Source { name, signed, sqle } => Self { name, signed, sqle },
        }
    }
}

impl From<&str> for WebhookSource {
    /// A source with a signing secret set.
    fn from(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            signed: true,
            sqle: None,
        }
    }
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The settings, or the default (version 0) if never written.
    async fn get_settings(&self) -> Result<SettingsRecord, StoreError>;
    /// Writes `record` (with its version already incremented) if the stored version is `expected_version`.
    async fn put_settings(
        &self,
        record: &SettingsRecord,
        expected_version: u64,
    ) -> Result<(), StoreError>;
}

/// Reads a page's charts: every chart concurrently (bounded), each with its own timeout, all within
/// an overall deadline, response sizes capped, URLs checked against the SSRF rules. Never fails as a
/// whole: each chart gets a state, in the order given.
#[async_trait]
pub trait ChartSource: Send + Sync {
    async fn check_charts(
        &self,
        charts: &[crate::domain::task::Chart],
        context: &ReadContext,
    ) -> Vec<ChartReading>;

    /// What a BI source holds that a chart can read (Superset charts, Metabase questions, Redash
    /// queries), those whose names contain `search`; at most 100.
    async fn list_source_charts(
        &self,
        access: &SourceAccess,
        search: &str,
    ) -> Result<Vec<SourceChart>, CatalogError> {
        let _ = search;
        Err(CatalogError::Answered(format!(
            "a {} source has no list of charts",
            access.source.kind.as_str()
        )))
    }

    /// A BI dashboard's charts as a draft page (title, address, one chart per BI chart).
    async fn import_dashboard(
        &self,
        access: &SourceAccess,
        dashboard: &str,
    ) -> Result<DraftPage, CatalogError> {
        let _ = dashboard;
        Err(CatalogError::Answered(format!(
            "a {} source has no dashboards",
            access.source.kind.as_str()
        )))
    }
}

/// Why a BI source did not list its charts or a dashboard, in the source's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The source answered, and not with what was asked ("Metabase: 404 Not found."): asking
    /// again the same way will not help.
    #[error("{0}")]
    Answered(String),
    /// The source could not be reached or did not answer in time: try again.
    #[error("{0}")]
    Unreachable(String),
}

/// Something a BI source holds that a chart can read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceChart {
    pub id: u64,
    pub name: String,
    /// The BI's own kind of chart (`table`, `bar`, `big_number_total`, `scalar`, `query` …).
    pub kind: String,
}

/// A dashboard as a page to paste into a task: its charts with the query that reads each and a
/// display guessed from the BI's chart type.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftPage {
    pub title: String,
    pub share_url: String,
    pub charts: Vec<DraftChart>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DraftChart {
    pub name: String,
    pub query: crate::domain::source::SourceQuery,
    pub display: crate::domain::report::Display,
}

/// What a page's read needs besides its charts: the time its date parameters are taken at (the
/// run's scheduled time in the task's zone), and the report sources its charts name, with their
/// secrets. A chart naming a source not here is an access error saying so.
#[derive(Clone)]
pub struct ReadContext {
    pub at: chrono::DateTime<chrono_tz::Tz>,
    pub sources: std::collections::BTreeMap<crate::domain::source::SourceName, SourceAccess>,
    /// The time the whole page has, when a request must answer sooner than the reader's own
    /// deadline (a test push, a preview): a chart not read by then is an access error saying so,
    /// and those read before it keep their rows.
    pub within: Option<std::time::Duration>,
}

impl ReadContext {
    /// A read at `at` of charts that name no source.
    pub fn at(at: chrono::DateTime<chrono_tz::Tz>) -> Self {
        Self {
            at,
            sources: Default::default(),
            within: None,
        }
    }
}

/// A report source as a reader uses it: its settings and its secret.
#[derive(Clone)]
pub struct SourceAccess {
    pub source: crate::domain::source::Source,
    pub secret: Option<secrecy::SecretString>,
}

impl std::fmt::Debug for SourceAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceAccess")
            .field("source", &self.source)
            .field("secret", &self.secret.as_ref().map(|_| "set"))
            .finish()
    }
}

/// One chart's check, and the rows kept of it (what its display shows) when it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartReading {
    pub check: crate::domain::run::ChartCheck,
    pub rows: Option<crate::domain::report::ChartRows>,
}

/// The most deliveries one [`RunWrite`] carries: with the run, its progress, its claim and its task
/// it stays within one DynamoDB transaction (100 items). A run with more writes the rest with
/// [`RunStore::add_deliveries`] and claims its time last ([`RunStore::claim_run`]).
pub const MAX_DELIVERIES_PER_RUN_WRITE: usize = 90;

/// Everything one run write changes, applied all or nothing.
pub struct RunWrite<'a> {
    pub run: &'a crate::domain::run::PushRun,
    /// `None` inserts a new run; `Some(v)` replaces the run stored at version `v`.
    pub expected_version: Option<u64>,
    /// For scheduled runs: the (task, scheduled time) claim; `Conflict` if it is taken.
    pub claim: Option<(crate::domain::ids::TaskId, DateTime<Utc>)>,
    /// Deliveries caused by this run (the push, alarms, notices), at most
    /// [`MAX_DELIVERIES_PER_RUN_WRITE`]; each must not exist yet.
    pub deliveries: &'a [crate::domain::delivery::Delivery],
    /// A change to the task (failure count, stop) if its stored version is the one given.
    pub task: Option<(&'a PushTask, u64)>,
    /// When the reconciler first looks at the run if it is still sending then; ignored (and
    /// cleared) once the run is final.
    pub check_at: Option<DateTime<Utc>>,
}

/// Filters for listing runs.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub task: Option<TaskId>,
    pub outcome: Option<String>,
    pub kind: Option<crate::domain::run::RunKind>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// One page of runs, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPage {
    pub items: Vec<crate::domain::run::PushRun>,
    pub next_after: Option<crate::domain::run::RunId>,
}

/// Run records, kept until their `expires_at`. A new run's record holds its progress
/// (`run.progress.pushes` to count); each push delivery's final write counts itself there
/// ([`DeliveryStore::finish`]). Runs still sending are listed for the reconciler from their
/// `check_at` on.
#[async_trait]
pub trait RunStore: Send + Sync {
    /// One atomic write. A new run (`expected_version: None`) whose id exists is `Conflict`.
    async fn write_run(&self, write: RunWrite<'_>) -> Result<(), StoreError>;
    /// How many of `deliveries`, from the first, fit in one run write beside the run, its task
    /// and its claim, by the store's own limits (DynamoDB: 4 MB a transaction); the ledger writes
    /// the others after it.
    fn deliveries_in_run_write(&self, deliveries: &[crate::domain::delivery::Delivery]) -> usize {
        deliveries.len().min(MAX_DELIVERIES_PER_RUN_WRITE)
    }
    /// Writes those of a run's deliveries that are not stored yet (a retried write passes them
    /// all again); the ones stored are left as they are.
    async fn add_deliveries(
        &self,
        deliveries: &[crate::domain::delivery::Delivery],
    ) -> Result<(), StoreError>;
    /// Claims a scheduled time for `run`, the last step of a run written in several writes.
    /// Claiming again for the same run succeeds; `Conflict` if another run holds it.
    async fn claim_run(
        &self,
        run: &crate::domain::run::PushRun,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Runs still sending whose `check_at` has come, oldest first: their settle may have been
    /// missed (a crash, a store error, a Lambda timeout).
    async fn runs_to_check(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(ProjectId, crate::domain::run::RunId)>, StoreError>;
    /// Moves a sending run's next check to `at`.
    async fn check_run_at(
        &self,
        project: &ProjectId,
        id: &crate::domain::run::RunId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Holds a request key (the digest of a manual push's `Idempotency-Key`) of `task` for
    /// `run` until `expires_at`: `None` when it was free at `now` (it is held now), else the run
    /// that holds it (nothing written).
    async fn hold_request_key(
        &self,
        project: &ProjectId,
        task: &TaskId,
        key_digest: &str,
        run: &crate::domain::run::RunId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<crate::domain::run::RunId>, StoreError>;
    /// Whether a scheduled time of a task has been claimed (a cheap check before the work; the
    /// claim in `write_run` is what guarantees a single run).
    async fn is_claimed(
        &self,
        project: &ProjectId,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// A run that has not expired at `now`.
    async fn get_run(
        &self,
        project: &ProjectId,
        id: &crate::domain::run::RunId,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::domain::run::PushRun>, StoreError>;
    async fn list_runs(
        &self,
        project: &ProjectId,
        filter: &RunFilter,
        after: Option<&crate::domain::run::RunId>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<RunPage, StoreError>;
}

/// One page of contacts, in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactPage {
    pub items: Vec<crate::domain::contact::Contact>,
    /// Where the next page starts, if there is one.
    pub next_after: Option<crate::domain::ids::ContactId>,
}

impl ContactPage {
    /// The page of `limit` from `items` read one beyond it (the extra one says a next page exists).
    pub fn of(mut items: Vec<crate::domain::contact::Contact>, limit: usize) -> Self {
        let next_after = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|c| c.id().clone())
        } else {
            None
        };
        Self { items, next_after }
    }
}

/// The contacts directory, by contact id.
#[async_trait]
pub trait ContactStore: Send + Sync {
    /// Creates the contact or replaces the one with its id.
    async fn put_contact(
        &self,
        contact: &crate::domain::contact::Contact,
    ) -> Result<(), StoreError>;
    async fn get_contact(
        &self,
        id: &crate::domain::ids::ContactId,
    ) -> Result<Option<crate::domain::contact::Contact>, StoreError>;
    /// Contacts in ascending id order, starting after `after`.
    async fn list_contacts(
        &self,
        after: Option<&crate::domain::ids::ContactId>,
        limit: usize,
    ) -> Result<ContactPage, StoreError>;
    /// `NotFound` if there was no such contact.
    async fn delete_contact(&self, id: &crate::domain::ids::ContactId) -> Result<(), StoreError>;
    /// The contacts among `ids` that exist, in the order of `ids`; missing ids are skipped and
    /// repeated ones answered once.
    async fn get_contacts(
        &self,
        ids: &[crate::domain::ids::ContactId],
    ) -> Result<Vec<crate::domain::contact::Contact>, StoreError>;
}

#[derive(Debug, Error)]
pub enum PictureError {
    #[error("the picture could not be drawn: {0}")]
    Draw(String),
}

/// Draws chart pictures and page snapshots from figures (CPU work: call it off the async workers).
pub trait PictureRenderer: Send + Sync {
    /// The dashboard picture: title, time, every chart in a grid.
    fn page_snapshot(
        &self,
        page: &crate::domain::report::PageReport,
    ) -> Result<crate::domain::image::Image, PictureError>;
    /// One chart on its own.
    fn chart_picture(
        &self,
        chart: &crate::domain::report::ChartReport,
        language: crate::domain::contact::Language,
    ) -> Result<crate::domain::image::Image, PictureError>;
}

/// Stored pictures, by project and content hash, kept until `expires_at`; and what providers
/// answered when a picture was uploaded to them (a WeCom media id, a Feishu image key), so the
/// batches of a run share one upload.
#[async_trait]
pub trait ImageStore: Send + Sync {
    /// Stores `image` (storing the same image again only extends its life).
    async fn put_image(
        &self,
        project: &ProjectId,
        image: &crate::domain::image::Image,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The PNG bytes, if stored and not expired at `now`.
    async fn get_image(
        &self,
        project: &ProjectId,
        id: &crate::domain::image::ImageId,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// The provider's key for an image uploaded under `scope` (e.g. `wecom:<corp id>`).
    async fn get_upload(
        &self,
        scope: &str,
        id: &crate::domain::image::ImageId,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;
    /// Records an upload; the first one recorded wins and is returned.
    async fn put_upload(
        &self,
        scope: &str,
        id: &crate::domain::image::ImageId,
        key: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError>;
}
