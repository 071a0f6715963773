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
    /// A ticket event (`task` is `TaskId::for_ticket`, `task_name` the ticket's title).
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

/// A run id: a UUIDv7, so ids sort by start time (records list newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(uuid::Uuid);

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

impl RunId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// A new id for a run started at `at` (the service's clock), so time ranges select by start.
    pub fn at(at: chrono::DateTime<chrono::Utc>) -> Self {
        let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
        let timestamp =
            uuid::Timestamp::from_unix(uuid::NoContext, seconds, at.timestamp_subsec_nanos());
        Self(uuid::Uuid::new_v7(timestamp))
    }

    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        uuid::Uuid::parse_str(value)
            .map(Self)
            .map_err(|_| "is not a run id".to_owned())
    }

    /// The run of a claim (a task's scheduled time, a ticket event): the same id every time the
    /// claim is tried, so a retry after a crash resumes the run's write instead of starting a
    /// second run.
    /// `sorts_at` gives the id's time part (the scheduled time, the ticket event's time).
    pub fn for_claim(
        project: &super::ids::ProjectId,
        task: &super::ids::TaskId,
        at: chrono::DateTime<chrono::Utc>,
        sorts_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(project.as_str())
            .chain_update([0])
            .chain_update(task.to_string())
            .chain_update([0])
            .chain_update(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .finalize();
        let mut random = [0u8; 10];
        random.copy_from_slice(&digest[..10]);
        Self(uuid::Builder::from_unix_timestamp_millis(millis(sorts_at), &random).into_uuid())
    }

    pub fn as_u128(&self) -> u128 {
        self.0.as_u128()
    }

    /// Six hex digits of the id's random part (above the bits delivery ids reuse): enough to tell
    /// runs apart in a message and to find the record.
    pub fn short(&self) -> String {
        format!("{:06x}", (self.0.as_u128() >> 32) & 0xff_ffff)
    }

    /// The smallest id a run started at `at` can have (for time-range queries).
    pub fn lowest_at(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(uuid::Uuid::from_u128(u128::from(millis(at)) << 80))
    }

    /// The largest id a run started at `at` can have.
    pub fn highest_at(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(uuid::Uuid::from_u128(
            (u128::from(millis(at)) << 80) | ((1u128 << 80) - 1),
        ))
    }
}

fn millis(at: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::try_from(at.timestamp_millis())
        .unwrap_or(0)
        .min((1 << 48) - 1)
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.as_hyphenated().fmt(f)
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

impl RunOutcome {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::PartiallyDelivered => "partially_delivered",
            Self::Paused { .. } => "paused",
            Self::Failed => "failed",
            Self::Skipped { .. } => "skipped",
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
}

impl PushRun {
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
