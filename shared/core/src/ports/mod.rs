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
mod sheets;
mod tasks;

pub use charts::*;
pub use contacts::*;
pub use delivery::*;
pub use pictures::*;
pub use quotas::*;
pub use runs::*;
pub use schedules::*;
pub use settings::*;
pub use sheets::*;
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

/// What a store lists page by page: each item names the cursor the next page starts after.
pub trait Listed {
    type Cursor: Clone + std::fmt::Debug + PartialEq;
    fn cursor(&self) -> Self::Cursor;
}

/// One page of a list (tasks and runs newest first; keys and contacts in id order).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T: Listed> {
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next_after: Option<T::Cursor>,
}

impl<T: Listed> Page<T> {
    /// The page of `limit` from `items` read one beyond it (the extra one says a next page exists).
    pub fn of(mut items: Vec<T>, limit: usize) -> Self {
        let next_after = if items.len() > limit {
            items.truncate(limit);
            items.last().map(Listed::cursor)
        } else {
            None
        };
        Self { items, next_after }
    }
}

impl Listed for PushTask {
    type Cursor = TaskId;
    fn cursor(&self) -> TaskId {
        self.id
    }
}

impl Listed for ApiKey {
    type Cursor = KeyId;
    fn cursor(&self) -> KeyId {
        self.id.clone()
    }
}

impl Listed for crate::domain::contact::Contact {
    type Cursor = crate::domain::ids::ContactId;
    fn cursor(&self) -> Self::Cursor {
        self.id().clone()
    }
}

impl Listed for crate::domain::run::PushRun {
    type Cursor = crate::domain::run::RunId;
    fn cursor(&self) -> Self::Cursor {
        self.id
    }
}

/// One page of API keys (their records: never a key itself), in id order.
pub type KeyPage = Page<ApiKey>;
/// One page of contacts, in id order.
pub type ContactPage = Page<crate::domain::contact::Contact>;
/// One page of runs, newest first.
pub type RunPage = Page<crate::domain::run::PushRun>;
