//! A delivery: one provider call (a WeCom batch, one Feishu user, one mail), with its attempts.
use super::ids::ProjectId;
use super::message::OutboundMessage;
use super::send::{SendError, SendReceipt};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A delivery id: a UUIDv7. Also the idempotency key the provider sees on every attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryId(uuid::Uuid);

impl DeliveryId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        uuid::Uuid::parse_str(value)
            .map(Self)
            .map_err(|_| "is not a delivery id".to_owned())
    }

    /// The `seq`th delivery of a run: the run id with its last 32 bits replaced by `seq`. The
    /// same run numbers its deliveries the same way every time, so a retried write finds the ones
    /// written before, and a record finds its deliveries by key instead of listing them.
    pub fn of_run(run: &super::ids::RunId, seq: u32) -> Self {
        let base = run.as_u128() & !u128::from(u32::MAX);
        Self(uuid::Uuid::from_u128(base | u128::from(seq)))
    }

    /// Its number within its run (see [`Self::of_run`]).
    pub fn seq(&self) -> u32 {
        (self.0.as_u128() & u128::from(u32::MAX)) as u32
    }
}

impl Default for DeliveryId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.as_hyphenated().fmt(f)
    }
}

/// Why a delivery exists: it is written in the same store write as its cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeliveryCause {
    /// A run: a task's push or a ticket event's notifications. `push`: one of the run's push
    /// deliveries, which its progress counts; alarms and notices are not. (The run id is stored
    /// as the UUID string it always was.)
    Run {
        project: ProjectId,
        run: super::ids::RunId,
        #[serde(default)]
        push: bool,
    },
    /// An admin pressed a channel's test button.
    ChannelTest { channel: String },
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (`next_due`).
    Queued,
    /// Claimed by a worker until `next_due` (the lease); a lease that runs out is claimed again.
    Sending,
    /// The provider accepted it.
    Delivered,
    /// Given up: a permanent failure, or the last attempt failed.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "queued" => Some(Self::Queued),
            "sending" => Some(Self::Sending),
            "delivered" => Some(Self::Delivered),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Dead)
    }
}

/// One attempt and what the provider said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    #[serde(flatten)]
    pub result: AttemptResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum AttemptResult {
    Accepted { receipt: SendReceipt },
    Failed { error: SendError },
}

/// What one final push delivery adds to its run's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub delivered: bool,
    pub refused: bool,
}

/// A queued provider call and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: DeliveryId,
    pub cause: DeliveryCause,
    pub message: OutboundMessage,
    pub status: DeliveryStatus,
    /// Attempts started so far (a claim starts one).
    pub attempts: u32,
    /// When it may be claimed next: the next attempt time while queued, the lease end while sending,
    /// `None` once final.
    pub next_due: Option<DateTime<Utc>>,
    pub history: Vec<Attempt>,
    /// Why it is dead, in words for the record.
    pub dead_reason: Option<String>,
    /// The contacts among its recipients, so a record can name them without their identities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<super::redaction::ContactReach>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Delivery {
    /// A new delivery, due at once.
    pub fn queued(cause: DeliveryCause, message: OutboundMessage, now: DateTime<Utc>) -> Self {
        Self {
            id: DeliveryId::new(),
            cause,
            message,
            status: DeliveryStatus::Queued,
            attempts: 0,
            next_due: Some(now),
            history: Vec::new(),
            dead_reason: None,
            contacts: Vec::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// What this delivery adds to its run's progress: only a final push delivery counts.
    pub fn tally(&self) -> Option<(ProjectId, super::ids::RunId, Tally)> {
        let DeliveryCause::Run {
            project,
            run,
            push: true,
        } = &self.cause
        else {
            return None;
        };
        if !self.status.is_final() {
            return None;
        }
        let refused = matches!(
            self.last_attempt().map(|a| &a.result),
            Some(AttemptResult::Accepted { receipt }) if !receipt.invalid_recipients.is_empty()
        );
        let delivered = self.status == DeliveryStatus::Delivered;
        Some((
            project.clone(),
            *run,
            Tally {
                delivered,
                refused: delivered && refused,
            },
        ))
    }

    /// The provider's answer to the last attempt, if any.
    pub fn last_attempt(&self) -> Option<&Attempt> {
        self.history.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_cause_reads_and_writes_its_run_id_as_the_string_stored_before() {
        let stored = serde_json::json!({
            "kind": "run",
            "project": "payments",
            "run": "01a20621-ad00-75e1-9707-817400000000",
            "push": true
        });
        let cause: DeliveryCause = serde_json::from_value(stored.clone()).expect("reads");
        let DeliveryCause::Run { run, .. } = &cause else {
            panic!("a run cause: {cause:?}");
        };
        assert_eq!(run.to_string(), "01a20621-ad00-75e1-9707-817400000000");
        assert_eq!(serde_json::to_value(&cause).expect("writes"), stored);
        let not_a_run = serde_json::json!({"kind": "run", "project": "payments", "run": "bench"});
        assert!(serde_json::from_value::<DeliveryCause>(not_a_run).is_err());
    }
}
