//! Reads a response body up to a hard cap and keeps the rows a chart shows.
use crate::access::AccessError;
use crate::rows::{Found, read_rows};
use herald_core::domain::report::{ChartRows, RowSelection};

/// Bodies larger than this are counted on the blocking pool, off the async workers.
const PARSE_INLINE_MAX: usize = 256 * 1024;

/// Reads the body chunk by chunk, never holding more than `limit` bytes (what the caller reserved
/// of its budget): a declared or actual length over it stops the read (and drops the connection)
/// at once. `cap` is the configured body cap the error names.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: u64,
    cap: u64,
) -> Result<Vec<u8>, AccessError> {
    let cap_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit) {
        return Err(AccessError::TooLarge(cap));
    }
    let initial = declared
        .and_then(|len| usize::try_from(len).ok())
        .unwrap_or(64 * 1024)
        .min(cap_usize);
    let mut body = Vec::with_capacity(initial);
    while let Some(chunk) = response.chunk().await? {
        let needed = body.len().saturating_add(chunk.len());
        if needed > cap_usize {
            return Err(AccessError::TooLarge(cap));
        }
        if needed > body.capacity() {
            // Grow by doubling, but never past the cap.
            let target = needed.max(body.capacity().saturating_mul(2)).min(cap_usize);
            body.reserve_exact(target - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

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
