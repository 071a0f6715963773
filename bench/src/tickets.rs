//! Ticket webhook (issue 5): signed `pending_review` events posted over loopback TCP to the real
//! Router, wired as herald-local wires it (SQLite store in a temp dir, file secrets, provider hub
//! pointed at the fakes, the local delivery loop running), measured from the webhook's 202 to the
//! message's arrival at the fake provider.
//!
//! (a) steady: `HERALD_BENCH_TICKET_RATE` events/s (20) for `HERALD_BENCH_TICKET_SECONDS` (15), each
//!     to 2 reviewers on WeCom, Feishu and e-mail: p50/p99 accepted → delivered, per channel.
//! (b) peak: events as fast as `HERALD_BENCH_TICKET_CONCURRENCY` (32) in-flight requests go, for
//!     `HERALD_BENCH_TICKET_PEAK_SECONDS` (10), on WeCom and e-mail (Feishu is switched off through
//!     the admin API first: its 50/s per-app quota would make the catch-up time the quota's, not
//!     Herald's): accepted events/s, and how long the deliveries take to catch up.
use crate::env_usize;
use crate::setup::{self, AGENT_ID, CORP_ID, CORP_SECRET, FEISHU_APP_ID, FEISHU_SECRET};
use chrono::{DateTime, Utc};
use herald_api::AppState;
use herald_charts::{ChartLimits, HttpChartSource, SsrfPolicy};
use herald_core::clock::SystemClock;
use herald_core::domain::auth::KeyHash;
use herald_core::services::{Adapters, EngineConfig, Services};
use herald_embedded::{Db, FileSecretStore, LocalScheduler, SqliteStore};
use herald_fakes::{
    Endpoint, FakeFeishu, FakeSmtp, FakeWecom, FeishuConfig, SmtpSinkConfig, WecomConfig,
    feishu_router, serve, serve_smtp, wecom_router,
};
use herald_hub::ProviderClients;
use herald_providers::{ProvidersConfig, Timeouts};
use hmac::{KeyInit, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN_TOKEN: &str = "herald-bench-admin-token";
const SOURCE: &str = "bench_tickets";
const SECRET: &str = "bench-ticket-signing-secret";
const PROJECT: &str = "bench";
/// The reviewers of every event: one reads English, one Chinese (both templates are exercised).
const REVIEWERS: [(&str, &str); 2] = [("reviewer1", "en"), ("reviewer2", "zh")];
const CREATOR: &str = "author";
/// Every title carries `Bench load <phase><7 digits>`: the event is found again in the fakes' records.
const MARKER: &str = "Bench load ";

#[derive(Debug, Clone, Serialize)]
pub struct TicketKnobs {
    pub rate_per_s: usize,
    pub steady_seconds: usize,
    pub peak_seconds: usize,
    pub peak_concurrency: usize,
    pub reviewers_per_event: usize,
    pub catch_up_timeout_s: usize,
}

/// Accepted → delivered-at-fake, per channel, over every (event, recipient) that arrived.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelLatency {
    pub channel: String,
    pub expected: usize,
    pub delivered: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct PostStats {
    pub sent: usize,
    pub accepted: usize,
    /// Non-202 answers by status code, and transport errors ("error").
    pub refused: BTreeMap<String, usize>,
    pub first_errors: Vec<String>,
    /// Request → 202 round trip.
    pub request_p50_ms: f64,
    pub request_p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SteadyResult {
    pub rate_per_s: usize,
    pub seconds: usize,
    pub channels: Vec<String>,
    pub posts: PostStats,
    pub achieved_rate_per_s: f64,
    pub per_channel: Vec<ChannelLatency>,
    /// All of one event's messages (every channel, every reviewer) at the fakes.
    pub event_complete: ChannelLatency,
    pub all_delivered: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeakResult {
    pub seconds: f64,
    pub concurrency: usize,
    pub channels: Vec<String>,
    pub posts: PostStats,
    pub accepted_per_s: f64,
    /// Accepted events in the busiest and the quietest whole second.
    pub best_second: usize,
    pub worst_second: usize,
    pub expected_messages: usize,
    pub delivered_messages: usize,
    pub caught_up: bool,
    /// Last arrival at a fake − the last 202 (≤ 0 means delivery kept pace).
    pub catch_up_after_last_accept_s: f64,
    /// Delivered recipient-messages per second, first 202 → last arrival.
    pub delivered_per_s: f64,
    pub per_channel: Vec<ChannelLatency>,
    pub event_complete: ChannelLatency,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketsResult {
    pub knobs: TicketKnobs,
    pub steady: Option<SteadyResult>,
    pub peak: Option<PeakResult>,
    pub error: Option<String>,
}

fn sign(timestamp: &str, body: &[u8]) -> String {
    sign_with(SECRET, timestamp, body)
}

/// `X-Herald-Signature` for `body` at `timestamp` with `secret`.
pub(crate) fn sign_with(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn event_body(phase: char, i: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "event_id": format!("bench-{phase}-{i}"),
        "occurred_at": Utc::now().to_rfc3339(),
        "ticket": {"id": format!("{phase}{i}"), "title": format!("{MARKER}{phase}{i:07}: add index on orders"),
                   "project": PROJECT, "creator": CREATOR, "url": null},
        "status": "pending_review",
        "reviewers": REVIEWERS.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        "executors": [], "actor": CREATOR
    }))
    .expect("json")
}

/// The event index a message text names, for the given phase.
fn marker(text: &str, phase: char) -> Option<usize> {
    let rest = &text[text.find(MARKER)? + MARKER.len()..];
    let rest = rest.strip_prefix(phase)?;
    rest.get(..7)?.parse().ok()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency(channel: &str, expected: usize, mut ms: Vec<f64>) -> ChannelLatency {
    ms.sort_by(|a, b| a.total_cmp(b));
    ChannelLatency {
        channel: channel.into(),
        expected,
        delivered: ms.len(),
        p50_ms: percentile(&ms, 50.0),
        p99_ms: percentile(&ms, 99.0),
        max_ms: ms.last().copied().unwrap_or(f64::NAN),
    }
}

/// One message (to `recipients` people) of event `event` arriving at a fake on `channel`.
struct Arrival {
    event: usize,
    channel: &'static str,
    recipients: usize,
    at: DateTime<Utc>,
}

struct TicketFakes {
    wecom: FakeWecom,
    wecom_url: String,
    feishu: FakeFeishu,
    feishu_url: String,
    smtp: FakeSmtp,
    smtp_addr: SocketAddr,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl TicketFakes {
    async fn start() -> std::io::Result<Self> {
        let wecom = FakeWecom::new(
            WecomConfig::new(CORP_ID, CORP_SECRET, AGENT_ID)
                .with_users(REVIEWERS.iter().map(|(id, _)| *id).chain([CREATOR])),
        );
        let feishu =
            FakeFeishu::new(FeishuConfig::new(FEISHU_APP_ID, FEISHU_SECRET).open_directory());
        let smtp = FakeSmtp::new(SmtpSinkConfig {
            username: setup::SMTP_USER.into(),
            password: setup::SMTP_PASSWORD.into(),
        });
        let (wecom_url, a) = serve(wecom_router(wecom.clone())).await?;
        let (feishu_url, b) = serve(feishu_router(feishu.clone())).await?;
        let (smtp_addr, c) = serve_smtp(smtp.clone()).await?;
        Ok(Self {
            wecom,
            wecom_url,
            feishu,
            feishu_url,
            smtp,
            smtp_addr,
            servers: vec![a, b, c],
        })
    }

    fn reset(&self) {
        self.wecom.reset_records();
        self.feishu.reset_records();
        self.smtp.reset_records();
    }

    fn arrivals(&self, phase: char) -> Vec<Arrival> {
        let mut out = Vec::new();
        for m in self.wecom.delivered() {
            if m.endpoint != Endpoint::WecomSend {
                continue;
            }
            let text = m.body["text"]["content"].as_str().unwrap_or_default();
            if let Some(event) = marker(text, phase) {
                out.push(Arrival {
                    event,
                    channel: "wecom",
                    recipients: m.recipients.len(),
                    at: m.at,
                });
            }
        }
        for m in self.feishu.delivered() {
            if m.endpoint != Endpoint::FeishuSend {
                continue;
            }
            let text = m.body["content"].as_str().unwrap_or_default();
            if let Some(event) = marker(text, phase) {
                out.push(Arrival {
                    event,
                    channel: "feishu",
                    recipients: m.recipients.len().max(1),
                    at: m.at,
                });
            }
        }
        for m in self.smtp.messages() {
            if let Some(event) = m.subject.as_deref().and_then(|s| marker(s, phase)) {
                out.push(Arrival {
                    event,
                    channel: "email",
                    recipients: m.to.len(),
                    at: m.at,
                });
            }
        }
        out
    }

    /// Waits until `expected` recipient-messages of `phase` arrived, or `timeout`.
    async fn wait_for(&self, phase: char, expected: usize, timeout: Duration) -> Vec<Arrival> {
        let start = Instant::now();
        loop {
            let arrivals = self.arrivals(phase);
            let got: usize = arrivals.iter().map(|a| a.recipients).sum();
            if got >= expected || start.elapsed() > timeout {
                return arrivals;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for TicketFakes {
    fn drop(&mut self) {
        for s in &self.servers {
            s.abort();
        }
    }
}

/// herald-local's wiring (functions/local/src/app.rs) over a fresh data directory, served on
/// 127.0.0.1 with axum::serve, with the local delivery loop running.
struct Server {
    base: String,
    data_dir: PathBuf,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    deliveries: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(fakes: &TicketFakes) -> Result<Self, Box<dyn std::error::Error>> {
        let data_dir = std::env::temp_dir().join(format!(
            "herald-bench-tickets-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&data_dir)?;
        let db = Db::open(&data_dir.join("herald.db"))?;
        let store = Arc::new(SqliteStore::new(db.clone()));
        let scheduler = LocalScheduler::new(db, Arc::new(SystemClock));
        let adapters = Adapters {
            tasks: store.clone(),
            keys: store.clone(),
            deliveries: store.clone(),
            runs: store.clone(),
            settings: store.clone(),
            contacts: store.clone(),
            images: store.clone(),
            pictures: Arc::new(herald_pictures::Pictures::new()),
            sheets: Arc::new(herald_sheets::Sheets),
            secrets: Arc::new(FileSecretStore::new(data_dir.join("secrets.json"))),
            scheduler: Arc::new(scheduler),
            charts: Arc::new(HttpChartSource::new(
                ChartLimits::default(),
                SsrfPolicy::default(),
            )?),
            clock: Arc::new(SystemClock),
            admin: KeyHash::of(ADMIN_TOKEN),
        };
        let providers =
            ProvidersConfig::new(&fakes.wecom_url, &fakes.feishu_url, Timeouts::default());
        let clients = ProviderClients::with_config(providers, adapters.images.clone())?;
        let services = Services::new(adapters, EngineConfig::default(), |settings| {
            clients.hub(settings)
        });
        let router = herald_api::router(AppState::from(&services));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let deliveries =
            herald_embedded::delivery_loop::spawn(services.worker.clone(), stopped.clone());
        let mut shutdown = stopped;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = shutdown.changed().await;
                })
                .await;
        });
        Ok(Self {
            base: format!("http://{addr}"),
            data_dir,
            stop,
            server,
            deliveries,
        })
    }

    async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.deliveries).await;
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

async fn admin(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: Value,
) -> Result<(), String> {
    let reply = client
        .put(format!("{base}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("PUT {path}: {e}"))?;
    let status = reply.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "PUT {path}: {status}: {}",
            reply.text().await.unwrap_or_default()
        ))
    }
}

/// Channels, source secret, URL prefix and contacts, all through the admin API.
async fn configure(
    client: &reqwest::Client,
    base: &str,
    fakes: &TicketFakes,
) -> Result<(), String> {
    admin(
        client,
        base,
        "/v1/settings/channels/wecom",
        json!({"enabled": true, "corp_id": CORP_ID, "corp_secret": CORP_SECRET, "agent_id": AGENT_ID}),
    )
    .await?;
    admin(
        client,
        base,
        "/v1/settings/channels/feishu",
        json!({"enabled": true, "app_id": FEISHU_APP_ID, "app_secret": FEISHU_SECRET}),
    )
    .await?;
    admin(
        client,
        base,
        "/v1/settings/channels/smtp",
        json!({"enabled": true, "host": fakes.smtp_addr.ip().to_string(), "port": fakes.smtp_addr.port(),
               "security": "none", "username": setup::SMTP_USER, "password": setup::SMTP_PASSWORD,
               "from": setup::SMTP_USER}),
    )
    .await?;
    admin(
        client,
        base,
        &format!("/v1/settings/webhook-sources/{SOURCE}"),
        json!({"secret": SECRET}),
    )
    .await?;
    admin(
        client,
        base,
        "/v1/settings",
        json!({"url_prefix": "https://tickets.herald.bench/"}),
    )
    .await?;
    for (id, language) in REVIEWERS.iter().copied().chain([(CREATOR, "en")]) {
        admin(
            client,
            base,
            &format!("/v1/contacts/{id}"),
            json!({"name": format!("{id} name"), "email": format!("{id}@herald.bench"),
                   "language": language, "wecom_user": id, "feishu_open_id": format!("ou_{id}")}),
        )
        .await?;
    }
    Ok(())
}

/// One signed POST; answers the status (or the transport error) and when the answer arrived.
async fn post(
    client: &reqwest::Client,
    url: &str,
    phase: char,
    i: usize,
) -> (Result<u16, String>, Instant, DateTime<Utc>) {
    let body = event_body(phase, i);
    let ts = Utc::now().timestamp().to_string();
    let signature = sign(&ts, &body);
    let sent = Instant::now();
    let result = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-herald-timestamp", &ts)
        .header("x-herald-signature", signature)
        .body(body)
        .send()
        .await;
    let status = match result {
        Ok(reply) => {
            let status = reply.status().as_u16();
            let _ = reply.bytes().await;
            Ok(status)
        }
        Err(e) => Err(e.to_string()),
    };
    (status, sent, Utc::now())
}

/// One event's POST, as the driver saw it.
#[derive(Clone)]
struct Posted {
    index: usize,
    status: Result<u16, String>,
    round_trip_ms: f64,
    answered: DateTime<Utc>,
    answered_instant: Instant,
}

fn post_stats(posted: &[Posted]) -> PostStats {
    let mut stats = PostStats {
        sent: posted.len(),
        ..PostStats::default()
    };
    let mut rtt = Vec::new();
    for p in posted {
        match &p.status {
            Ok(202) => {
                stats.accepted += 1;
                rtt.push(p.round_trip_ms);
            }
            Ok(code) => *stats.refused.entry(code.to_string()).or_default() += 1,
            Err(e) => {
                *stats.refused.entry("error".into()).or_default() += 1;
                if stats.first_errors.len() < 3 {
                    stats.first_errors.push(e.clone());
                }
            }
        }
    }
    rtt.sort_by(|a, b| a.total_cmp(b));
    stats.request_p50_ms = percentile(&rtt, 50.0);
    stats.request_p99_ms = percentile(&rtt, 99.0);
    stats
}

/// Per channel and per event: accepted (202 answered) → arrival at the fake, in ms.
fn latencies(
    posted: &[Posted],
    arrivals: &[Arrival],
    channels: &[&str],
) -> (Vec<ChannelLatency>, ChannelLatency) {
    let accepted: HashMap<usize, DateTime<Utc>> = posted
        .iter()
        .filter(|p| matches!(p.status, Ok(202)))
        .map(|p| (p.index, p.answered))
        .collect();
    let per_event = REVIEWERS.len();
    let mut per_channel = Vec::new();
    for channel in channels {
        let mut ms = Vec::new();
        for a in arrivals.iter().filter(|a| a.channel == *channel) {
            if let Some(t) = accepted.get(&a.event) {
                let v = (a.at - *t).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0;
                ms.extend(std::iter::repeat_n(v, a.recipients));
            }
        }
        per_channel.push(latency(channel, accepted.len() * per_event, ms));
    }
    // An event is complete when every reviewer heard on every channel: its latency is the last.
    let mut got: HashMap<usize, (usize, DateTime<Utc>)> = HashMap::new();
    for a in arrivals {
        let e = got.entry(a.event).or_insert((0, a.at));
        e.0 += a.recipients;
        e.1 = e.1.max(a.at);
    }
    let want = per_event * channels.len();
    let complete: Vec<f64> = accepted
        .iter()
        .filter_map(|(i, t)| {
            got.get(i).filter(|(n, _)| *n >= want).map(|(_, last)| {
                (*last - *t).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0
            })
        })
        .collect();
    (per_channel, latency("all", accepted.len(), complete))
}

fn knobs() -> TicketKnobs {
    TicketKnobs {
        rate_per_s: env_usize("HERALD_BENCH_TICKET_RATE", 20).max(1),
        steady_seconds: env_usize("HERALD_BENCH_TICKET_SECONDS", 15).max(1),
        peak_seconds: env_usize("HERALD_BENCH_TICKET_PEAK_SECONDS", 10).max(1),
        peak_concurrency: env_usize("HERALD_BENCH_TICKET_CONCURRENCY", 32).max(1),
        reviewers_per_event: REVIEWERS.len(),
        catch_up_timeout_s: env_usize("HERALD_BENCH_TICKET_CATCH_UP_S", 180).max(5),
    }
}

pub async fn run() -> TicketsResult {
    let knobs = knobs();
    let mut result = TicketsResult {
        knobs: knobs.clone(),
        steady: None,
        peak: None,
        error: None,
    };
    let fakes = match TicketFakes::start().await {
        Ok(f) => f,
        Err(e) => {
            result.error = Some(format!("could not start the fakes: {e}"));
            return result;
        }
    };
    let server = match Server::start(&fakes).await {
        Ok(s) => s,
        Err(e) => {
            result.error = Some(format!("could not start Herald: {e}"));
            return result;
        }
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(knobs.peak_concurrency * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    if let Err(e) = configure(&client, &server.base, &fakes).await {
        result.error = Some(e);
        server.shutdown().await;
        return result;
    }
    let url = format!("{}/v1/webhooks/tickets/{SOURCE}", server.base);
    // Warm up: tokens, SMTP connections, SQLite pages (not measured).
    let _ = post(&client, &url, 'w', 0).await;
    let warm = REVIEWERS.len() * 3;
    fakes.wait_for('w', warm, Duration::from_secs(10)).await;

    result.steady = Some(steady(&knobs, &client, &url, &fakes).await);
    match admin(
        &client,
        &server.base,
        "/v1/settings/channels/feishu",
        json!({"enabled": false, "app_id": FEISHU_APP_ID}),
    )
    .await
    {
        Ok(()) => result.peak = Some(peak(&knobs, &client, &url, &fakes).await),
        Err(e) => result.error = Some(e),
    }
    server.shutdown().await;
    result
}

async fn steady(
    knobs: &TicketKnobs,
    client: &reqwest::Client,
    url: &str,
    fakes: &TicketFakes,
) -> SteadyResult {
    let channels = ["wecom", "feishu", "email"];
    fakes.reset();
    let total = knobs.rate_per_s * knobs.steady_seconds;
    let period = Duration::from_secs_f64(1.0 / knobs.rate_per_s as f64);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        tick.tick().await;
        let (client, url) = (client.clone(), url.to_owned());
        // Each event on its own task: a slow answer never delays the next event.
        tasks.push(tokio::spawn(async move {
            let (status, sent, answered) = post(&client, &url, 's', i).await;
            Posted {
                index: i,
                status,
                round_trip_ms: sent.elapsed().as_secs_f64() * 1000.0,
                answered,
                answered_instant: Instant::now(),
            }
        }));
    }
    let mut posted = Vec::with_capacity(total);
    for t in tasks {
        if let Ok(p) = t.await {
            posted.push(p);
        }
    }
    let span = start.elapsed().as_secs_f64();
    let stats = post_stats(&posted);
    let expected = stats.accepted * REVIEWERS.len() * channels.len();
    let arrivals = fakes
        .wait_for(
            's',
            expected,
            Duration::from_secs(knobs.catch_up_timeout_s as u64),
        )
        .await;
    let (per_channel, event_complete) = latencies(&posted, &arrivals, &channels);
    let delivered: usize = per_channel.iter().map(|c| c.delivered).sum();
    SteadyResult {
        rate_per_s: knobs.rate_per_s,
        seconds: knobs.steady_seconds,
        channels: channels.iter().map(|c| (*c).to_owned()).collect(),
        achieved_rate_per_s: stats.sent as f64 / span,
        all_delivered: stats.accepted == total && delivered == expected,
        posts: stats,
        per_channel,
        event_complete,
    }
}

async fn peak(
    knobs: &TicketKnobs,
    client: &reqwest::Client,
    url: &str,
    fakes: &TicketFakes,
) -> PeakResult {
    let channels = ["wecom", "email"];
    fakes.reset();
    let next = Arc::new(AtomicUsize::new(0));
    let posted = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(knobs.peak_seconds as u64);
    let workers: Vec<_> = (0..knobs.peak_concurrency)
        .map(|_| {
            let (client, url, next, posted) =
                (client.clone(), url.to_owned(), next.clone(), posted.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let (status, sent, answered) = post(&client, &url, 'p', i).await;
                    let p = Posted {
                        index: i,
                        status,
                        round_trip_ms: sent.elapsed().as_secs_f64() * 1000.0,
                        answered,
                        answered_instant: Instant::now(),
                    };
                    posted.lock().unwrap_or_else(|e| e.into_inner()).push(p);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let posted = std::mem::take(&mut *posted.lock().unwrap_or_else(|e| e.into_inner()));
    let stats = post_stats(&posted);

    // Accepted per whole second of the run (the last, partial second is left out when there is more).
    let mut buckets = vec![0usize; (elapsed.ceil() as usize).max(1)];
    for p in posted.iter().filter(|p| matches!(p.status, Ok(202))) {
        let s = (p.answered_instant - start).as_secs_f64() as usize;
        if let Some(b) = buckets.get_mut(s) {
            *b += 1;
        }
    }
    let whole = if buckets.len() > 1 && elapsed.fract() > 0.0 {
        &buckets[..buckets.len() - 1]
    } else {
        &buckets[..]
    };
    let accepted_times: Vec<DateTime<Utc>> = posted
        .iter()
        .filter(|p| matches!(p.status, Ok(202)))
        .map(|p| p.answered)
        .collect();
    let expected = stats.accepted * REVIEWERS.len() * channels.len();
    let arrivals = fakes
        .wait_for(
            'p',
            expected,
            Duration::from_secs(knobs.catch_up_timeout_s as u64),
        )
        .await;
    let delivered: usize = arrivals.iter().map(|a| a.recipients).sum();
    let last_arrival = arrivals.iter().map(|a| a.at).max();
    let first_accept = accepted_times.iter().min().copied();
    let last_accept = accepted_times.iter().max().copied();
    let secs = |a: DateTime<Utc>, b: DateTime<Utc>| {
        (a - b).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
    };
    let (per_channel, event_complete) = latencies(&posted, &arrivals, &channels);
    PeakResult {
        seconds: elapsed,
        concurrency: knobs.peak_concurrency,
        channels: channels.iter().map(|c| (*c).to_owned()).collect(),
        accepted_per_s: stats.accepted as f64 / elapsed,
        best_second: whole.iter().copied().max().unwrap_or(0),
        worst_second: whole.iter().copied().min().unwrap_or(0),
        expected_messages: expected,
        delivered_messages: delivered,
        caught_up: delivered >= expected,
        catch_up_after_last_accept_s: match (last_arrival, last_accept) {
            (Some(a), Some(b)) => secs(a, b),
            _ => f64::NAN,
        },
        delivered_per_s: match (last_arrival, first_accept) {
            (Some(a), Some(b)) if a > b => delivered as f64 / secs(a, b),
            _ => f64::NAN,
        },
        posts: stats,
        per_channel,
        event_complete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_in_message_text() {
        assert_eq!(
            marker("工单待审核: Bench load s0000042: add index", 's'),
            Some(42)
        );
        assert_eq!(marker("Bench load p0001234: x", 's'), None);
        assert_eq!(marker("no marker", 's'), None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
