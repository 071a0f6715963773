//! The run ledger at scale (issue 9): the herald-local release binary, started as a user starts
//! it, pushes an e-mail task by hand to 1,000 / 4,000 / 10,000 addresses (`HERALD_BENCH_LEDGER_SIZES`)
//! through a real SMTP server on loopback (herald-fakes' SMTP sink, AUTH on); measured from the
//! push's answer to a final record (the median of `HERALD_BENCH_LEDGER_REPEATS`, 3, pushes of each
//! size, the sizes interleaved), and checked at the sink: every address once.
//! Then (`HERALD_BENCH_KILLS`, 5) the same push to `HERALD_BENCH_KILL_MAILS` (10,000) addresses
//! with herald-local SIGKILLed that many times mid-push and started again on the same data
//! directory: lost, sent twice, and how long after each restart mails flow again.
use crate::env_usize;
use crate::local::{Api, Local, chart_server, data_dir, free_port, outcome_of};
use crate::setup::{SMTP_PASSWORD, SMTP_USER};
use herald_fakes::{
    FakeSmtp, FakeWecom, SmtpSinkConfig, WecomConfig, serve, serve_smtp, wecom_router,
};

const CORP_ID: &str = "ww_bench_kills";
const CORP_SECRET: &str = "bench-kills-corp-secret";
const AGENT_ID: i64 = 1_000_011;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct PushTiming {
    pub recipients: usize,
    /// The push request's answer → the record's final outcome: the median of `runs`.
    pub seconds: f64,
    /// Each push of this size (`HERALD_BENCH_LEDGER_REPEATS`, interleaved with the other sizes so
    /// that the machine's noise falls on every size alike).
    pub runs: Vec<f64>,
    pub mails_per_s: f64,
    pub outcome: String,
    /// Addresses that got the mail at the sink (the fewest of any push of this size), and those
    /// that got it more than once (over all of them).
    pub received: usize,
    pub twice: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct KillResult {
    pub recipients: usize,
    pub kills: usize,
    pub lost: usize,
    pub twice: usize,
    /// Mails in flight at a kill can be sent again: the bound for `twice`.
    pub in_flight_bound: usize,
    /// Restart → the next mail at the sink, per restart (seconds).
    pub resume_s: Vec<f64>,
    pub outcome: String,
    pub record_consistent: bool,
    /// The WeCom push to `wecom_users` members running at the same time (10 batches of 1,000).
    pub wecom_users: usize,
    /// Members who never got it, and who got it more than once.
    pub wecom_lost: usize,
    pub wecom_twice: usize,
    /// Batches sent again after a kill that WeCom's duplicate check swallowed.
    pub wecom_resent_swallowed: u64,
    pub wecom_outcome: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LedgerResult {
    pub pushes: Vec<PushTiming>,
    pub kills: Option<KillResult>,
    pub error: Option<String>,
}

fn sizes() -> Vec<usize> {
    std::env::var("HERALD_BENCH_LEDGER_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1_000, 4_000, 10_000])
}

impl Api {
    async fn configure(&self, smtp: SocketAddr) -> Result<(), String> {
        let body = json!({
            "enabled": true, "host": smtp.ip().to_string(), "port": smtp.port(), "security": "none",
            "username": SMTP_USER, "password": SMTP_PASSWORD, "from": SMTP_USER
        });
        self.call(
            reqwest::Method::PUT,
            "/v1/settings/channels/smtp",
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    async fn configure_wecom(&self) -> Result<(), String> {
        let body = json!({"enabled": true, "corp_id": CORP_ID, "corp_secret": CORP_SECRET,
                          "agent_id": AGENT_ID, "encrypted": false});
        self.call(
            reqwest::Method::PUT,
            "/v1/settings/channels/wecom",
            Some(&body),
        )
        .await
        .map(|_| ())
    }

    /// A WeCom task to `n` members (`n / 1000` batches), text only.
    async fn wecom_task(&self, n: usize, chart: &str) -> Result<String, String> {
        let users: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
        let body = json!({
            "name": "wecom-kills",
            "page": {"title": "Sales overview", "share_url": "https://bi.example.com/share/abc",
                     "charts": [{"name": "GMV by region", "data_url": chart, "rows": "/data/rows"}]},
            "channel": "wecom", "template": "text",
            "recipients": {"wecom_users": users},
            "owner": {"wecom_user": "owner"},
            "schedule": {"every": "day", "at": "03:00", "timezone": "Asia/Shanghai", "start": "2030-01-01"},
            "content": {"snapshot": false},
            "failure_limit": 3
        });
        self.create_task(&body).await
    }

    async fn task(&self, name: &str, n: usize, chart: &str) -> Result<String, String> {
        // Short addresses: 10,000 of them stay within the API's 256 KiB body limit.
        let emails: Vec<String> = (0..n).map(|i| format!("r{i}@{name}.b")).collect();
        let body = json!({
            "name": name,
            "page": {"title": "Sales overview", "share_url": "https://bi.example.com/share/abc",
                     "charts": [{"name": "GMV by region", "data_url": chart, "rows": "/data/rows"}]},
            "channel": "email", "template": "card",
            "recipients": {"emails": emails},
            "owner": {"email": "owner@bench.bench"},
            "schedule": {"every": "day", "at": "03:00", "timezone": "Asia/Shanghai", "start": "2030-01-01"},
            // The bench measures the ledger; the page snapshot (its own bench) would make every
            // mail 300 KB larger.
            "content": {"snapshot": false},
            "failure_limit": 3
        });
        self.create_task(&body).await
    }
}

/// Mails per address of one task (its addresses' domain), at the sink.
fn received(sink: &FakeSmtp, name: &str) -> HashMap<String, usize> {
    let suffix = format!("@{name}.b");
    let mut counts = HashMap::new();
    for m in sink.messages() {
        for to in &m.to {
            if to.ends_with(&suffix) {
                *counts.entry(to.clone()).or_insert(0) += 1;
            }
        }
    }
    counts
}

async fn timed_pushes(
    sink: &FakeSmtp,
    smtp: SocketAddr,
    chart: &str,
) -> Result<Vec<PushTiming>, String> {
    let dir = data_dir("pushes");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port = free_port().map_err(|e| e.to_string())?;
    let local = Local::start(&dir, port).await?;
    let api = Api {
        client: reqwest::Client::new(),
        base: local.base.clone(),
    };
    api.configure(smtp).await?;
    let sizes = sizes();
    let mut out: Vec<PushTiming> = sizes
        .iter()
        .map(|&n| PushTiming {
            recipients: n,
            seconds: 0.0,
            runs: Vec::new(),
            mails_per_s: 0.0,
            outcome: String::new(),
            received: n,
            twice: 0,
        })
        .collect();
    for round in 0..env_usize("HERALD_BENCH_LEDGER_REPEATS", 3).max(1) {
        for (i, timing) in out.iter_mut().enumerate() {
            let n = timing.recipients;
            let name = format!("p{round}x{i}");
            let task = api.task(&name, n, chart).await?;
            let run = api.push(&task).await?;
            let start = Instant::now();
            let record = api.wait_final(&run, Duration::from_secs(600)).await?;
            let seconds = start.elapsed().as_secs_f64();
            let counts = received(sink, &name);
            let outcome = outcome_of(&record);
            eprintln!(
                "  {n} mails: {seconds:.2} s ({:.0}/s), {outcome}",
                n as f64 / seconds
            );
            timing.runs.push(seconds);
            if timing.outcome.is_empty() || outcome != "delivered" {
                timing.outcome = outcome;
            }
            timing.received = timing.received.min(counts.len());
            timing.twice += counts.values().filter(|c| **c > 1).count();
        }
    }
    for timing in &mut out {
        let mut sorted = timing.runs.clone();
        sorted.sort_by(f64::total_cmp);
        timing.seconds = sorted[sorted.len() / 2];
        timing.mails_per_s = timing.recipients as f64 / timing.seconds;
    }
    local.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}

async fn killed_push(sink: &FakeSmtp, smtp: SocketAddr, chart: &str) -> Result<KillResult, String> {
    let (n, kills) = (
        env_usize("HERALD_BENCH_KILL_MAILS", 10_000),
        env_usize("HERALD_BENCH_KILLS", 5),
    );
    let dir = data_dir("kills");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let port = free_port().map_err(|e| e.to_string())?;
    // A fake WeCom for the 10,000-member push that runs alongside the mails.
    let wecom = FakeWecom::new(WecomConfig::new(CORP_ID, CORP_SECRET, AGENT_ID).open_directory());
    let (wecom_url, wecom_server) = serve(wecom_router(wecom.clone()))
        .await
        .map_err(|e| e.to_string())?;
    let env = [("HERALD_WECOM_BASE_URL", wecom_url.as_str())];
    let mut local = Local::start_with(&dir, port, &env).await?;
    let api = Api::of(&local);
    api.configure(smtp).await?;
    api.configure_wecom().await?;
    let name = "k".to_owned();
    let task = api.task(&name, n, chart).await?;
    let wecom_users = env_usize("HERALD_BENCH_KILL_WECOM_USERS", 10_000);
    let wecom_task = api.wecom_task(wecom_users, chart).await?;
    let wecom_run = api.push(&wecom_task).await?;
    let run = api.push(&task).await?;
    let mut resume_s = Vec::new();
    for k in 0..kills {
        // Kill after another tenth of the mails has gone out.
        let target = (n / (kills + 2)) * (k + 1);
        let waited = Instant::now();
        while received(sink, &name).len() < target && waited.elapsed() < Duration::from_secs(120) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        local.kill().await;
        let before: usize = received(sink, &name).values().sum();
        let restarted = Instant::now();
        local = Local::start_with(&dir, port, &env).await?;
        loop {
            let now: usize = received(sink, &name).values().sum();
            if now > before || restarted.elapsed() > Duration::from_secs(60) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        resume_s.push(restarted.elapsed().as_secs_f64());
    }
    let record = api.wait_final(&run, Duration::from_secs(600)).await?;
    let wecom_record = api.wait_final(&wecom_run, Duration::from_secs(120)).await?;
    let mut per_member: HashMap<String, usize> = HashMap::new();
    for m in wecom.delivered() {
        for r in m.recipients {
            *per_member.entry(r).or_insert(0) += 1;
        }
    }
    wecom_server.abort();
    let counts = received(sink, &name);
    let delivered = record["summary"]["delivered"]
        .as_u64()
        .or_else(|| record["delivered"].as_u64())
        .unwrap_or(0) as usize;
    let result = KillResult {
        recipients: n,
        kills,
        lost: n.saturating_sub(counts.len()),
        twice: counts.values().filter(|c| **c > 1).count(),
        // The local loop keeps at most 32 SMTP sends in flight.
        in_flight_bound: 32 * kills,
        resume_s,
        outcome: outcome_of(&record),
        record_consistent: delivered == counts.len() && outcome_of(&record) == "delivered",
        wecom_users,
        wecom_lost: wecom_users.saturating_sub(per_member.len()),
        wecom_twice: per_member.values().filter(|c| **c > 1).count(),
        wecom_resent_swallowed: wecom.stats().suppressed_duplicates,
        wecom_outcome: outcome_of(&wecom_record),
    };
    local.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(result)
}

pub async fn run() -> LedgerResult {
    let sink = FakeSmtp::new(SmtpSinkConfig {
        username: SMTP_USER.into(),
        password: SMTP_PASSWORD.into(),
    });
    let mut result = LedgerResult {
        pushes: Vec::new(),
        kills: None,
        error: None,
    };
    let servers = match (serve_smtp(sink.clone()).await, chart_server().await) {
        (Ok(smtp), Ok(chart)) => (smtp, chart),
        (Err(e), _) | (_, Err(e)) => {
            result.error = Some(format!("could not start the servers: {e}"));
            return result;
        }
    };
    let ((smtp, smtp_task), (chart_base, chart_task)) = servers;
    let chart = format!("{chart_base}/chart");
    match timed_pushes(&sink, smtp, &chart).await {
        Ok(pushes) => result.pushes = pushes,
        Err(e) => result.error = Some(e),
    }
    if result.error.is_none() && env_usize("HERALD_BENCH_KILLS", 5) > 0 {
        match killed_push(&sink, smtp, &chart).await {
            Ok(kills) => result.kills = Some(kills),
            Err(e) => result.error = Some(e),
        }
    }
    smtp_task.abort();
    chart_task.abort();
    result
}
