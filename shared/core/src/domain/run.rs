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
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Manual => "manual",
            Self::Test => "test",
        }
    }
}
