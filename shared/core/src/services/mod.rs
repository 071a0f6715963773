//! Services: the use cases, written against ports only.
pub mod delivery;
pub mod keys;
pub mod settings;
pub mod tasks;

use crate::ServiceError;
use crate::ports::{SchedulerError, StoreError};

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
