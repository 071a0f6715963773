//! Wire types: request bodies parsed into domain types, and the views answered.
pub mod attachments;
pub mod calendars;
pub mod conditions;
pub mod contacts;
pub mod formats;
pub mod keys;
pub mod preview;
pub mod recipients;
pub mod runs;
pub mod schedule;
pub mod settings;
pub mod sources;
pub mod sqle;
pub mod task_view;
pub mod tasks;
pub mod tickets;

use herald_core::FieldError;

/// What the API shows instead of a write-only secret; sending it back keeps the stored value.
pub const SECRET_SET: &str = "set";

/// Parses an optional field, naming it in the error.
pub(crate) fn optional<T>(
    field: &str,
    value: &Option<String>,
    parse: impl Fn(String) -> Result<T, String>,
) -> Result<Option<T>, FieldError> {
    value.clone().map(|v| at(field, parse(v))).transpose()
}

/// A whole number written as JSON allows (`587` or `587.0`: JSON Schema's `integer` is either).
pub(crate) fn whole_number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::Deserialize;
    use serde::de::Error;
    let number = serde_json::Number::deserialize(deserializer)?;
    let whole = number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    });
    whole
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| D::Error::custom(format!("{number} is not a whole number in range")))
}

/// Runs a parser for one field and names the field in its error.
pub(crate) fn at<T>(field: &str, result: Result<T, String>) -> Result<T, FieldError> {
    result.map_err(|message| FieldError::new(field, message))
}

/// Same, for parsers that already name a nested field (`[3]`, `name`).
pub(crate) fn within<T>(field: &str, result: Result<T, FieldError>) -> Result<T, FieldError> {
    result.map_err(|err| err.within(field))
}
