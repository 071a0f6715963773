//! Handlers, grouped by resource.
pub mod calendars;
pub mod contacts;
pub mod health;
pub mod keys;
pub mod preview;
pub mod runs;
pub mod settings;
pub mod snapshot_links;
pub mod sources;
pub mod sqle;
pub mod tasks;
pub mod tickets;

use crate::error::ApiError;

pub async fn not_found() -> ApiError {
    ApiError::not_found("path")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
