//! herald-charts: reads report charts' data over HTTP for exception control, with SSRF guards
//! and limits. [`HttpChartSource`] implements `herald_core::ports::ChartSource`.
//!
//! Memory: a chart's body is read up to `max_body_bytes` and no further, and its rows are read in
//! one pass over those bytes without building a JSON tree, keeping only what the chart shows; a
//! process-wide byte budget (`max_bytes_in_flight`) bounds the bodies held at once, whatever the
//! page or the number of pages read together.
mod access;
mod address;
mod body;
mod limits;
mod policy;
mod resolver;
mod rows;
mod source;
mod sources;

pub use address::{AddressKind, refused_kind};
pub use limits::ChartLimits;
pub use policy::{ALLOW_HOSTS_ENV, Refusal, SsrfPolicy, UrlVerdict};
pub use rows::{Found, count_rows, read_rows};
pub use source::{ChartSourceError, HttpChartSource, MAX_REDIRECTS};
