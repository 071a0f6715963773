//! Services: the use cases, written against ports only.
pub mod channel_test;
pub mod delivery;
pub mod keys;
pub mod render;
pub mod settings;
pub mod tasks;

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
    pub settings: Arc<dyn crate::ports::SettingsStore>,
    pub secrets: Arc<dyn crate::ports::SecretStore>,
    pub scheduler: Arc<dyn crate::ports::ScheduleGateway>,
    pub clock: Arc<dyn crate::clock::Clock>,
    /// The SHA-256 of the first admin key.
    pub admin: crate::domain::auth::KeyHash,
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
