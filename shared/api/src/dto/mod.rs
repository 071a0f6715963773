//! Wire types: request bodies parsed into domain types, and the views answered.
pub mod contacts;
pub mod keys;
pub mod preview;
pub mod runs;
pub mod schedule;
pub mod settings;
pub mod sources;
pub mod sqle;
pub mod tasks;
pub mod tickets;

use herald_core::FieldError;

/// Runs a parser for one field and names the field in its error.
pub(crate) fn at<T>(field: &str, result: Result<T, String>) -> Result<T, FieldError> {
    result.map_err(|message| FieldError::new(field, message))
}

/// Same, for parsers that already name a nested field (`[3]`, `name`).
pub(crate) fn within<T>(field: &str, result: Result<T, FieldError>) -> Result<T, FieldError> {
    result.map_err(|err| err.within(field))
}
