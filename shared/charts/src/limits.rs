//! The limits a chart read runs under.
use std::time::Duration;

/// Limits for reading charts. Peak body memory is bounded by `max_bytes_in_flight`, over every
/// page this process reads at once: a chart reserves its declared length before it reads a byte
/// (an undeclared body 64 KiB, then more as it arrives), and waits while the budget is spent.
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
    /// Body bytes the reader holds at once, over all charts and pages (at least one body cap).
    pub max_bytes_in_flight: u64,
}

impl Default for ChartLimits {
    /// 10 s per chart, 30 s per page, 64 at once (a page of 50 charts is read in one wave),
    /// 10 MiB per body, 32 MiB in flight.
    fn default() -> Self {
        Self {
            per_chart_timeout: Duration::from_secs(10),
            overall_deadline: Duration::from_secs(30),
            max_concurrency: 64,
            max_body_bytes: 10 * 1024 * 1024,
            max_bytes_in_flight: 32 * 1024 * 1024,
        }
    }
}
