//! `HttpChartSource`: the `ChartSource` that reads charts over HTTP.
use crate::access::{AccessError, TooManyRedirects};
use crate::body::rows_at;
use crate::limits::ChartLimits;
use crate::policy::SsrfPolicy;
use crate::resolver::GuardedResolver;
use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use herald_core::domain::parameters;
use herald_core::domain::report::ChartRows;
use herald_core::domain::run::{ChartCheck, ChartState};
use herald_core::domain::task::{Chart, ChartOrigin};
use herald_core::ports::CatalogError;
use herald_core::ports::{ChartReading, ChartSource, ReadContext};
use std::sync::Arc;
use thiserror::Error;
use tokio::time::Instant;
use url::Url;

/// Redirects followed per chart; every hop is checked by the SSRF policy again.
pub const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Error)]
pub enum ChartSourceError {
    #[error("could not build the chart HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Reads charts' data with GET: concurrently (bounded), each within its own timeout, all within
/// the overall deadline, bodies capped, every address checked by the SSRF policy. Build one per
/// process: it holds one connection pool.
pub struct HttpChartSource {
    client: reqwest::Client,
    limits: ChartLimits,
    policy: Arc<SsrfPolicy>,
    /// The body-byte budget, in KiB permits (see `ChartLimits::max_bytes_in_flight`).
    budget: Arc<tokio::sync::Semaphore>,
    /// Bytes reserved now, and the most ever reserved at once (for `bytes_in_flight_peak`).
    reserved: Arc<std::sync::atomic::AtomicU64>,
    reserved_peak: Arc<std::sync::atomic::AtomicU64>,
    /// The report sources' clients and sign-ins.
    sources: crate::sources::SourceClients,
}

/// Counts a reservation while a body is read.
struct Reserved<'a>(&'a HttpChartSource, u64);

impl<'a> Reserved<'a> {
    fn new(source: &'a HttpChartSource, bytes: u64) -> Self {
        use std::sync::atomic::Ordering::SeqCst;
        let now = source.reserved.fetch_add(bytes, SeqCst) + bytes;
        source.reserved_peak.fetch_max(now, SeqCst);
        Self(source, bytes)
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.0
            .reserved
            .fetch_sub(self.1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Budget permits are KiB, so a u32 count covers terabytes.
const PERMIT_BYTES: u64 = 1024;

fn permits(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(PERMIT_BYTES)).unwrap_or(u32::MAX)
}

impl HttpChartSource {
    pub fn new(limits: ChartLimits, policy: SsrfPolicy) -> Result<Self, ChartSourceError> {
        let policy = Arc::new(policy);
        let guard = Arc::clone(&policy);
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(TooManyRedirects(MAX_REDIRECTS));
            }
            match guard.check_url(attempt.url()) {
                Ok(_) => attempt.follow(),
                Err(refusal) => attempt.error(refusal),
            }
        });
        let client = reqwest::Client::builder()
            // A proxy would resolve and connect on our behalf, past the guarded resolver.
            .no_proxy()
            .dns_resolver(GuardedResolver::new(Arc::clone(&policy)))
            .redirect(redirects)
            .user_agent(concat!("herald-charts/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ChartSourceError::Client)?;
        // A budget smaller than one body could never let that body in.
        let budget = permits(limits.max_bytes_in_flight.max(limits.max_body_bytes));
        let sources = crate::sources::SourceClients::new(Arc::clone(&policy))
            .map_err(ChartSourceError::Client)?;
        Ok(Self {
            sources,
            client,
            limits,
            policy,
            budget: Arc::new(tokio::sync::Semaphore::new(budget as usize)),
            reserved: Arc::default(),
            reserved_peak: Arc::default(),
        })
    }

    /// The most body bytes this reader has held (reserved) at once since it was made.
    pub fn bytes_in_flight_peak(&self) -> u64 {
        self.reserved_peak.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn limits(&self) -> &ChartLimits {
        &self.limits
    }

    /// Logins made to `source` since this reader was made (one per process while a token lasts).
    pub fn source_logins(&self, source: &str) -> u64 {
        self.sources.sessions.counts(source).0
    }

    /// Refreshes of `source`'s access token since this reader was made.
    pub fn source_refreshes(&self, source: &str) -> u64 {
        self.sources.sessions.counts(source).1
    }

    async fn check_one(
        &self,
        chart: &Chart,
        context: &ReadContext,
        deadline: Instant,
    ) -> ChartReading {
        let started = Instant::now();
        let result = self.read_in_time(chart, context, started, deadline).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (state, rows) = match result {
            Ok(rows) if rows.total == 0 => (ChartState::Empty, None),
            Ok(rows) => (ChartState::Ok { rows: rows.total }, Some(rows)),
            Err(err) => {
                tracing::info!(chart = %chart.name, from = %chart.origin_description(), reason = %err, elapsed_ms, "chart not readable");
                (
                    ChartState::AccessError {
                        reason: err.to_string(),
                    },
                    None,
                )
            }
        };
        tracing::debug!(chart = %chart.name, ?state, elapsed_ms, "chart checked");
        ChartReading {
            check: ChartCheck {
                name: chart.name.clone(),
                state,
                elapsed_ms,
            },
            rows,
        }
    }

    /// The time the page has: the reader's overall deadline, or the request's when sooner (then
    /// `true`).
    fn page_time(&self, context: &ReadContext) -> (std::time::Duration, bool) {
        match context.within {
            Some(within) if within < self.limits.overall_deadline => (within, true),
            _ => (self.limits.overall_deadline, false),
        }
    }

    /// Reads one chart within whichever ends first: its own timeout or the overall deadline.
    async fn read_in_time(
        &self,
        chart: &Chart,
        context: &ReadContext,
        started: Instant,
        deadline: Instant,
    ) -> Result<ChartRows, AccessError> {
        let overall = match self.page_time(context) {
            (within, true) => AccessError::AnswerDeadline(within),
            (overall, false) => AccessError::Deadline(overall),
        };
        if started >= deadline {
            return Err(overall);
        }
        let own_end = started + self.limits.per_chart_timeout;
        let (end, on_timeout) = if own_end <= deadline {
            (
                own_end,
                AccessError::TimedOut(self.limits.per_chart_timeout),
            )
        } else {
            (deadline, overall)
        };
        tokio::time::timeout_at(end, self.read(chart, context))
            .await
            .unwrap_or(Err(on_timeout))
    }

    async fn read(&self, chart: &Chart, context: &ReadContext) -> Result<ChartRows, AccessError> {
        let mut from_source = None;
        let (response, default_rows, shape) = match &chart.origin {
            ChartOrigin::Url { data_url } => {
                let filled = parameters::fill(data_url.as_str(), context.at)
                    .map_err(AccessError::Parameters)?;
                let url = Url::parse(&filled)
                    .map_err(|e| AccessError::Request(format!("invalid URL: {e}")))?;
                self.policy.check_url(&url).map_err(AccessError::Refused)?;
                let response = self
                    .client
                    .get(url)
                    .header(reqwest::header::ACCEPT, "application/json")
                    .send()
                    .await?;
                let status = response.status();
                if !status.is_success() {
                    return Err(AccessError::Status(status.as_u16()));
                }
                (response, "", crate::sources::Shape::Json)
            }
            ChartOrigin::Source { source, query } => {
                let access = context
                    .sources
                    .get(source)
                    .ok_or_else(|| AccessError::NoSource(source.to_string()))?;
                let query = query.filled(context.at).map_err(AccessError::Parameters)?;
                let answer = self.sources.ask(access, &query).await?;
                from_source = Some(access);
                (answer.response, answer.default_rows, answer.shape)
            }
        };
        let (body, _held) = self.read_body(response).await?;
        let body = crate::sources::json_rows(shape, body)?;
        let pointer = match chart.rows.as_str() {
            "" => default_rows,
            given => given,
        };
        let mut selection = chart.selection();
        selection.whole = context.attached.get(&chart.name).copied().unwrap_or(0);
        let mut rows = rows_at(body, pointer, &selection).await?;
        if let Some(access) = from_source {
            crate::sources::rows_without_secret(&mut rows, access);
        }
        Ok(rows)
    }
}

/// What an undeclared body reserves before its first byte; it reserves more as bytes arrive.
const FIRST_RESERVE: u64 = 64 * 1024;

/// Budget held while a body is read and parsed.
struct Held<'a> {
    permits: Option<tokio::sync::SemaphorePermit<'a>>,
    counted: Option<Reserved<'a>>,
}

impl HttpChartSource {
    /// Reads a body within the body cap, holding budget for what it holds: a declared length up
    /// front, an undeclared body as it arrives (so a slow server without `Content-Length` holds
    /// what it sent, not the cap, and cannot starve other pages' reads).
    async fn read_body(
        &self,
        mut response: reqwest::Response,
    ) -> Result<(Vec<u8>, Held<'_>), AccessError> {
        let cap = self.limits.max_body_bytes;
        let declared = response.content_length();
        if declared.is_some_and(|len| len > cap) {
            return Err(AccessError::TooLarge(cap));
        }
        let mut held = Held {
            permits: None,
            counted: None,
        };
        let mut reserved = 0;
        let first = declared.unwrap_or(FIRST_RESERVE).clamp(1, cap);
        self.reserve(&mut held, &mut reserved, first).await?;
        let mut body = Vec::with_capacity(usize::try_from(first).unwrap_or(0));
        while let Some(chunk) = response.chunk().await? {
            let needed = body.len() as u64 + chunk.len() as u64;
            if needed > cap {
                return Err(AccessError::TooLarge(cap));
            }
            if needed > reserved {
                // Doubling keeps the number of reservations small; never past the cap.
                let target = needed.max(reserved.saturating_mul(2)).min(cap);
                self.reserve(&mut held, &mut reserved, target).await?;
                body.reserve_exact(usize::try_from(target).unwrap_or(usize::MAX) - body.len());
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, held))
    }

    /// Grows what `held` reserves from `reserved` to `target` bytes. It never waits while holding
    /// budget (readers waiting for more while each holds part could wait for each other): more is
    /// taken if it is free now, else what is held goes back and `target` is waited for at once.
    async fn reserve<'a>(
        &'a self,
        held: &mut Held<'a>,
        reserved: &mut u64,
        target: u64,
    ) -> Result<(), AccessError> {
        let holding = held.permits.as_ref().map_or(0, |p| p.num_permits());
        let wanted = permits(target) as usize;
        if wanted > holding {
            let more = self.budget.try_acquire_many((wanted - holding) as u32);
            match (more, held.permits.as_mut()) {
                (Ok(more), Some(all)) => all.merge(more),
                (Ok(more), None) => held.permits = Some(more),
                (Err(_), _) => {
                    held.permits = None;
                    held.counted = None;
                    let all = self
                        .budget
                        .acquire_many(permits(target))
                        .await
                        .map_err(|_| {
                            AccessError::Request("the chart reader is shutting down".into())
                        })?;
                    held.permits = Some(all);
                }
            }
        }
        // Counted as one reservation of `target` bytes (the old one is dropped first).
        held.counted = None;
        held.counted = Some(Reserved::new(self, target));
        *reserved = target;
        Ok(())
    }
}

#[async_trait]
impl ChartSource for HttpChartSource {
    #[tracing::instrument(skip_all, fields(charts = charts.len()))]
    async fn check_charts(&self, charts: &[Chart], context: &ReadContext) -> Vec<ChartReading> {
        let deadline = Instant::now() + self.page_time(context).0;
        // Futures are lazy: a chart's clock starts when `buffered` first polls it.
        let reads: Vec<_> = charts
            .iter()
            .map(|chart| self.check_one(chart, context, deadline))
            .collect();
        stream::iter(reads)
            .buffered(self.limits.max_concurrency.max(1))
            .collect()
            .await
    }

    async fn list_source_charts(
        &self,
        access: &herald_core::ports::SourceAccess,
        search: &str,
    ) -> Result<Vec<herald_core::ports::SourceChart>, CatalogError> {
        tokio::time::timeout(
            self.limits.per_chart_timeout,
            self.sources.list(access, search),
        )
        .await
        .unwrap_or(Err(AccessError::TimedOut(self.limits.per_chart_timeout)))
        .map_err(AccessError::into_catalog_error)
    }

    async fn import_dashboard(
        &self,
        access: &herald_core::ports::SourceAccess,
        dashboard: &str,
    ) -> Result<herald_core::ports::DraftPage, CatalogError> {
        tokio::time::timeout(
            self.limits.per_chart_timeout,
            self.sources.import(access, dashboard),
        )
        .await
        .unwrap_or(Err(AccessError::TimedOut(self.limits.per_chart_timeout)))
        .map_err(AccessError::into_catalog_error)
    }
}
