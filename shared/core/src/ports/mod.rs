//! Ports: the narrow traits through which services reach storage, schedules, providers, charts
//! and pictures, one module per concern; everything is re-exported here (`crate::ports::X`).
use crate::domain::auth::ApiKey;
use crate::domain::ids::{KeyId, ProjectId, TaskId};
use crate::domain::task::PushTask;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

mod charts;
mod contacts;
mod delivery;
mod pictures;
mod quotas;
mod runs;
mod schedules;
mod settings;
mod tasks;

pub use charts::*;
pub use contacts::*;
pub use delivery::*;
pub use pictures::*;
pub use quotas::*;
pub use runs::*;
pub use schedules::*;
pub use settings::*;
pub use tasks::*;

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
