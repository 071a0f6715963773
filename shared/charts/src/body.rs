//! Keeps the rows a chart shows from a response body (read within its budget by the source).
use crate::access::AccessError;
use crate::rows::{Found, read_rows};
use herald_core::domain::report::{ChartRows, RowSelection};

/// Bodies larger than this are counted on the blocking pool, off the async workers.
const PARSE_INLINE_MAX: usize = 256 * 1024;

/// Reads the rows at `pointer` (RFC 6901; empty = the whole document), keeping `selection`.
pub(crate) async fn rows_at(
    body: Vec<u8>,
    pointer: &str,
    selection: &RowSelection,
) -> Result<ChartRows, AccessError> {
    let found = if body.len() <= PARSE_INLINE_MAX {
        read_rows(&body, pointer, selection)
    } else {
        let owned = pointer.to_owned();
        let selection = selection.clone();
        tokio::task::spawn_blocking(move || read_rows(&body, &owned, &selection))
            .await
            .map_err(|e| AccessError::Request(format!("the JSON reader stopped: {e}")))?
    };
    match found.map_err(AccessError::InvalidJson)? {
        Found::Array(rows) => Ok(rows),
        Found::NotArray if pointer.is_empty() => Err(AccessError::DocumentNotArray),
        Found::NotArray => Err(AccessError::NotArray(pointer.to_owned())),
        Found::Missing => Err(AccessError::NoValue(pointer.to_owned())),
    }
}
