//! A push run: one firing of a task (scheduled, manual or test), its chart checks, message,
//! deliveries, outcome and log.
use super::text::ChartName;
use serde::{Deserialize, Serialize};

/// What reading one chart's data found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChartState {
    /// Rows were found.
    Ok { rows: usize },
    /// The rows array is empty.
    Empty,
    /// The data could not be read: HTTP status, timeout, invalid JSON, missing pointer, refused URL.
    AccessError { reason: String },
    /// The rows were read but do not have what the chart's display needs: a key is missing or not
    /// a number. Counts as an access error for exception control.
    ShapeError { field: String, reason: String },
}

impl ChartState {
    /// Whether the chart counts as unreadable (an access or a shape error).
    pub fn is_unreadable(&self) -> bool {
        matches!(self, Self::AccessError { .. } | Self::ShapeError { .. })
    }

    /// Why the chart is unreadable, in words; `None` when it was read.
    pub fn problem(&self) -> Option<String> {
        match self {
            Self::AccessError { reason } => Some(reason.clone()),
            Self::ShapeError { field, reason } => Some(format!("{field}: {reason}")),
            _ => None,
        }
    }
}

/// One chart's check within a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartCheck {
    pub name: ChartName,
    #[serde(flatten)]
    pub state: ChartState,
    pub elapsed_ms: u64,
}

/// Which kind of run a message belongs to (shown in test and manual messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Scheduled,
    Manual,
    Test,
    /// A ticket event (see [`RunSubject::Ticket`]).
    Ticket,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Manual => "manual",
            Self::Test => "test",
            Self::Ticket => "ticket",
        }
    }
}

pub use super::ids::RunId;

/// A caller's `Idempotency-Key` for a request that starts a run (a manual push): the same key
/// again gets the same run. 1–255 visible ASCII characters; stores keep only its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey(String);

impl RequestKey {
    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        if value.is_empty() || value.len() > 255 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be 1-255 visible ASCII characters (a UUID is a good key)".into());
        }
        Ok(Self(value.to_owned()))
    }

    /// The key's SHA-256 in hex: what a store keeps.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(self.0.as_bytes()))
    }
}

/// Why a push was paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    Empty,
    AccessError,
}

/// How a run ended (or that it has not yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    /// Its deliveries are still being sent.
    Sending,
    Delivered,
    PartiallyDelivered,
    Paused {
        reason: PauseReason,
    },
    Failed,
    /// The task was disabled or stopped when the schedule fired, or a missed run was too late.
    Skipped {
        reason: String,
    },
}

/// What a run's outcome is called, without its details: what records are filtered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeName {
    Sending,
    Delivered,
    PartiallyDelivered,
    Paused,
    Failed,
    Skipped,
}

impl OutcomeName {
    pub const ALL: [Self; 6] = [
        Self::Sending,
        Self::Delivered,
        Self::PartiallyDelivered,
        Self::Paused,
        Self::Failed,
        Self::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::PartiallyDelivered => "partially_delivered",
            Self::Paused => "paused",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        Self::ALL
            .into_iter()
            .find(|name| name.as_str() == value)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|n| n.as_str()).collect();
                format!("unknown outcome '{value}' (use {})", names.join(", "))
            })
    }
}

impl RunOutcome {
    pub fn name(&self) -> &'static str {
        self.name_only().as_str()
    }

    /// The outcome's name, without its details.
    pub fn name_only(&self) -> OutcomeName {
        match self {
            Self::Sending => OutcomeName::Sending,
            Self::Delivered => OutcomeName::Delivered,
            Self::PartiallyDelivered => OutcomeName::PartiallyDelivered,
            Self::Paused { .. } => OutcomeName::Paused,
            Self::Failed => OutcomeName::Failed,
            Self::Skipped { .. } => OutcomeName::Skipped,
        }
    }

    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Sending)
    }

    /// Whether a scheduled run with this outcome counts toward the failure limit.
    pub fn counts_as_failure(&self) -> bool {
        matches!(
            self,
            Self::Failed
                | Self::Paused {
                    reason: PauseReason::AccessError
                }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

/// One line of a run's log, readable through the records API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub at: chrono::DateTime<chrono::Utc>,
    pub level: LogLevel,
    pub message: String,
}

/// What was sent, for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub channel: super::task::Channel,
    pub template: super::task::Template,
    /// The rendered message as the provider gets it (JSON of the body).
    pub body: serde_json::Value,
}

/// A run's push deliveries and how many are final: each delivery's final write counts itself here
/// (in the same store write), so settling a run costs nothing per delivery but that write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunProgress {
    /// Push deliveries the run queued (alarms and notices are not counted).
    pub pushes: u32,
    /// Those that are final (delivered or dead).
    pub finished: u32,
    pub delivered: u32,
    /// Delivered, but the provider refused some of the recipients.
    pub refused: u32,
}

impl RunProgress {
    pub fn of(pushes: u32) -> Self {
        Self {
            pushes,
            ..Self::default()
        }
    }

    /// Whether every push delivery is final.
    pub fn is_complete(&self) -> bool {
        self.finished >= self.pushes
    }

    /// Counts one delivery's final write.
    pub fn count(&mut self, tally: super::delivery::Tally) {
        self.finished += 1;
        self.delivered += u32::from(tally.delivered);
        self.refused += u32::from(tally.refused);
    }

    /// The outcome of a complete run.
    pub fn outcome(&self) -> RunOutcome {
        match self.delivered {
            0 => RunOutcome::Failed,
            n if n >= self.pushes && self.refused == 0 => RunOutcome::Delivered,
            _ => RunOutcome::PartiallyDelivered,
        }
    }
}

/// What a run is of: one firing of a task (scheduled, manual or test) or one ticket event.
#[derive(Debug, Clone, PartialEq)]
pub enum RunSubject {
    Task {
        id: super::ids::TaskId,
        name: String,
        kind: RunKind,
    },
    Ticket(super::ticket::TicketRef),
}

impl RunSubject {
    /// The task id the run is recorded under. A ticket's events share one id derived from
    /// (source, ticket id), so the records filter `task=` finds them together; this is the only
    /// place that derives it.
    pub fn task_id(&self) -> super::ids::TaskId {
        match self {
            Self::Task { id, .. } => *id,
            Self::Ticket(t) => super::ids::TaskId::for_ticket(&t.source, t.id.as_str()),
        }
    }

    pub fn kind(&self) -> RunKind {
        match self {
            Self::Task { kind, .. } => *kind,
            Self::Ticket(_) => RunKind::Ticket,
        }
    }

    fn name(&self) -> String {
        match self {
            Self::Task { name, .. } => name.clone(),
            Self::Ticket(t) => t.title.to_string(),
        }
    }
}

/// What makes a run happen once however often it is asked for: a scheduled time of a task, or a
/// ticket event (source, event id). A retried request finds the claim (or resumes the run whose
/// id it derives) instead of starting another. Stores keep it as a (task id, time) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunClaim {
    key: super::ids::TaskId,
    at: chrono::DateTime<chrono::Utc>,
}

impl RunClaim {
    pub fn firing(task: super::ids::TaskId, at: chrono::DateTime<chrono::Utc>) -> Self {
        Self { key: task, at }
    }

    /// A ticket event claims the id derived from (source, event id) at the UNIX epoch, so a
    /// second write of the same event within the ticket's project conflicts. Claims live as long
    /// as their run (the record retention), which keeps the dedupe well beyond a week.
    pub fn ticket_event(source: &str, event_id: &str) -> Self {
        Self {
            key: super::ids::TaskId::for_ticket_event(source, event_id),
            at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    /// The (task id, time) pair the stores key the claim by.
    pub fn stored(&self) -> (super::ids::TaskId, chrono::DateTime<chrono::Utc>) {
        (self.key, self.at)
    }

    /// The id of the run this claim starts; sorted among the records by `sorts_at`.
    pub fn run_id(
        &self,
        project: &super::ids::ProjectId,
        sorts_at: chrono::DateTime<chrono::Utc>,
    ) -> RunId {
        RunId::for_claim(project, &self.key, self.at, sorts_at)
    }
}

/// What a new run starts from.
pub struct RunStart {
    pub id: RunId,
    pub project: super::ids::ProjectId,
    pub subject: RunSubject,
    pub scheduled_for: Option<chrono::DateTime<chrono::Utc>>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// One run of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRun {
    pub id: RunId,
    pub project: super::ids::ProjectId,
    pub task: super::ids::TaskId,
    pub task_name: String,
    pub kind: RunKind,
    /// The schedule's firing time (scheduled runs).
    pub scheduled_for: Option<chrono::DateTime<chrono::Utc>>,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub charts: Vec<ChartCheck>,
    pub message: Option<MessageRecord>,
    /// How many of the push's deliveries have become final (counted by their own final writes).
    /// The deliveries are found by key, not listed: ids `DeliveryId::of_run(id, 0..pushes)`.
    #[serde(default)]
    pub progress: RunProgress,
    /// Alarms and notices to the robot and the owner: ids `of_run(id, pushes..pushes + notices)`.
    #[serde(default)]
    pub notices: u32,
    pub outcome: RunOutcome,
    pub log: Vec<LogLine>,
    /// Optimistic concurrency for settling the outcome.
    pub version: u64,
    /// When the record is deleted (retention).
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The ticket event of a `Ticket` run.
    #[serde(default)]
    pub ticket: Option<super::ticket::TicketRef>,
    /// Pictures the message carried (the page snapshot), kept as long as the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<super::image::ImageRef>,
    /// Files the push attached (`content.attachments`), kept as long as the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<super::image::ImageRef>,
    /// A digest of what the page showed when the run pushed it (`changed_since_last_push`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_digest: Option<String>,
}

impl PushRun {
    /// A new run, sending, with nothing read or queued yet: the one constructor of runs.
    pub fn start(start: RunStart) -> Self {
        let RunStart {
            id,
            project,
            subject,
            scheduled_for,
            started_at,
            expires_at,
        } = start;
        Self {
            id,
            project,
            task: subject.task_id(),
            task_name: subject.name(),
            kind: subject.kind(),
            scheduled_for,
            started_at,
            finished_at: None,
            charts: Vec::new(),
            message: None,
            progress: RunProgress::default(),
            notices: 0,
            outcome: RunOutcome::Sending,
            log: Vec::new(),
            version: 1,
            expires_at,
            ticket: match subject {
                RunSubject::Ticket(t) => Some(t),
                RunSubject::Task { .. } => None,
            },
            images: Vec::new(),
            attachments: Vec::new(),
            page_digest: None,
        }
    }

    /// The push's deliveries, by seq.
    pub fn push_ids(&self) -> impl Iterator<Item = super::delivery::DeliveryId> + '_ {
        (0..self.progress.pushes).map(|seq| super::delivery::DeliveryId::of_run(&self.id, seq))
    }

    /// The alarms and notices, by seq.
    pub fn notice_ids(&self) -> impl Iterator<Item = super::delivery::DeliveryId> + '_ {
        let first = self.progress.pushes;
        (first..first.saturating_add(self.notices))
            .map(|seq| super::delivery::DeliveryId::of_run(&self.id, seq))
    }

    pub fn log(
        &mut self,
        at: chrono::DateTime<chrono::Utc>,
        level: LogLevel,
        message: impl Into<String>,
    ) {
        self.log.push(LogLine {
            at,
            level,
            message: message.into(),
        });
    }
}
