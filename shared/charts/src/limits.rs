//! The limits a chart read runs under.
use std::time::Duration;

/// Limits for reading a page's charts. Peak body memory is bounded by
/// `max_concurrency × max_body_bytes` (each chart in flight holds at most its capped body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartLimits {
    /// How long one chart may take, from its request to its counted rows.
    pub per_chart_timeout: Duration,
    /// How long a whole page's charts may take; charts not read by then are access errors.
    pub overall_deadline: Duration,
    /// How many charts are read at once (at least 1).
    pub max_concurrency: usize,
    /// The largest response body read; larger ones are access errors.
    pub max_body_bytes: u64,
}

impl Default for ChartLimits {
    /// 10 s per chart, 30 s per page, 64 at once (a page of 50 charts is read in one wave),
    /// 10 MiB per body.
    fn default() -> Self {
        Self {
            per_chart_timeout: Duration::from_secs(10),
            overall_deadline: Duration::from_secs(30),
            max_concurrency: 64,
            max_body_bytes: 10 * 1024 * 1024,
        }
    }
}
