//! How rows are encoded (the JSON document in `doc`, versions as SQLite integers) and how
//! SQLite's errors read as the store's.
use herald_core::ports::StoreError;

pub(crate) fn sql(err: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(Box::new(err))
}

/// SQLite integers are signed; versions never come near the limit.
pub(crate) fn sql_version(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

pub(crate) fn to_doc<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn from_doc<T: serde::de::DeserializeOwned>(doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(e.to_string()))
}
