//! Chaos and load (issue 12, `HERALD_BENCH_ONLY=chaos`; `make soak` runs it 10 minutes, make test
//! 12 s): the herald-local binary with its WeCom and Feishu base URLs on fakes that fail a fifth of
//! all calls (HTTP 502 and 503, a 16 s stall past the client's timeout, a connection cut after
//! the provider took the message, expired tokens, Feishu's rate limit, WeCom's system busy), fed `HERALD_BENCH_CHAOS_RATE` (50) signed ticket events a second,
//! each to two of 1,000 reviewers on WeCom, and every 20 s a manual push to 200 WeCom users and 50
//! Feishu users. Once the deliveries have settled (the faults still on) every (event or push,
//! person) is counted at the fakes: sent once, sent twice (duplicated), never (lost, unless its record says
//! dead). Last, wrk (when installed) against the API and the webhook: requests/s, p50 and p99.
use crate::env_usize;
use crate::local::{ADMIN_TOKEN, Api, OnFakes, PROJECT};
use herald_fakes::{
    AcceptedMessage, Endpoint, FakeFeishu, FakeWecom, Fault, FaultRule, FeishuConfig, WecomConfig,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CORP_ID: &str = "ww_bench_chaos";
const CORP_SECRET: &str = "bench-chaos-corp-secret";
const AGENT_ID: i64 = 1_000_012;
const APP_ID: &str = "cli_bench_chaos";
const APP_SECRET: &str = "bench-chaos-app-secret";
const SOURCE: &str = "chaos";
const SECRET: &str = "bench-chaos-signing-secret-0123";
const REVIEWERS: usize = 1_000;
const MARKER: &str = "Chaos event ";

#[derive(Debug, Clone, Serialize, Default)]
pub struct Tally {
    pub expected: usize,
    pub sent: usize,
    pub duplicated: usize,
    pub dead: usize,
    pub lost: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrkRun {
    pub target: String,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct EndpointCalls {
    pub calls: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ChaosResult {
    pub seconds: usize,
    pub events_per_s: usize,
    pub events_posted: usize,
    /// Answers other than 202 (a 503 is retried by the sender, as a webhook sender does).
    pub webhook_retries: usize,
    pub tickets: Tally,
    pub pushes: Tally,
    /// Provider calls that got an injected fault (each was retried or ended dead).
    pub faulted_calls: usize,
    pub provider_calls: usize,
    /// Resends the providers' own duplicate checks kept from arriving twice (WeCom's
    /// enable_duplicate_check, Feishu's uuid): mostly sends whose answer was cut off.
    pub suppressed_by_provider: u64,
    /// Every call the fakes got, by endpoint: how many, and how many did not succeed (token
    /// fetches included: a failed one holds back every send of its provider for a while).
    pub calls_by_endpoint: std::collections::BTreeMap<String, EndpointCalls>,
    /// Whether the deliveries settled before the bench stopped waiting (600 s after the load).
    pub settled: bool,
    /// From the end of the load to the last delivery settled.
    pub settle_s: f64,
    /// From the end of the load to the last message arriving at a fake.
    pub last_arrival_s: f64,
    /// A record still sending after the last arrival, if any (settled by the sweep).
    pub still_sending: Option<String>,
    pub rss_mib: f64,
    pub peak_rss_mib: f64,
    pub wrk: Vec<WrkRun>,
    pub error: Option<String>,
}

fn sign(timestamp: &str, body: &[u8]) -> String {
    crate::tickets::sign_with(SECRET, timestamp, body)
}

fn reviewers_of(event: usize) -> [String; 2] {
    [
        format!("r{:04}", event % REVIEWERS),
        format!("r{:04}", (event + REVIEWERS / 2) % REVIEWERS),
    ]
}

fn event_body(event: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "event_id": format!("chaos-{event}"),
        "occurred_at": chrono::Utc::now().to_rfc3339(),
        "ticket": {"id": format!("c{event}"), "title": format!("{MARKER}{event:08}"),
                   "project": PROJECT, "creator": "author", "url": null},
        "status": "pending_review",
        "reviewers": reviewers_of(event),
        "executors": [], "actor": "author"
    }))
    .unwrap_or_default()
}

/// Posts one event, again on a 503 or a transport error (at most 5 times); the retries made.
async fn post_event(client: &reqwest::Client, url: &str, event: usize) -> (bool, usize) {
    let body = event_body(event);
    for attempt in 0..5 {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let answer = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-herald-timestamp", &timestamp)
            .header("x-herald-signature", sign(&timestamp, &body))
            .body(body.clone())
            .send()
            .await;
        match answer.map(|a| a.status().as_u16()) {
            Ok(202 | 200) => return (true, attempt),
            Ok(status) if status < 500 => return (false, attempt),
            _ => tokio::time::sleep(Duration::from_millis(200 << attempt)).await,
        }
    }
    (false, 5)
}

fn faults() -> Vec<FaultRule> {
    vec![
        FaultRule::probability(0.05, Fault::Http { status: 502 }),
        FaultRule::probability(0.03, Fault::Http { status: 503 }),
        FaultRule::probability(
            0.01,
            Fault::Delay {
                delay: Duration::from_secs(16),
            },
        ),
        // Taken, then the answer lost: the resend is what the providers' duplicate checks (WeCom's
        // enable_duplicate_check, Feishu's uuid) keep from arriving twice.
        FaultRule::probability(0.02, Fault::Reset),
        FaultRule::probability(0.04, Fault::TokenExpired),
        // Feishu's 429 asks for a wait per call; WeCom's 45009 stops the whole app to the next
        // minute, so a random one every few calls would be a quota, not a fault: on Feishu only.
        FaultRule::probability(0.08, Fault::RateLimited { reset_secs: 1 }).on(Endpoint::FeishuSend),
        FaultRule::probability(0.07, Fault::SystemBusy),
    ]
}

/// (marker, person) → how many times it arrived.
fn arrivals(
    messages: &[AcceptedMessage],
    text_of: impl Fn(&AcceptedMessage) -> String,
) -> HashMap<(String, String), usize> {
    let mut seen = HashMap::new();
    for m in messages {
        let text = text_of(m);
        let Some(at) = text.find(MARKER).or_else(|| text.find("Chaos push ")) else {
            continue;
        };
        let tag: String = text[at..].chars().take(MARKER.len() + 8).collect();
        for person in &m.recipients {
            *seen.entry((tag.clone(), person.clone())).or_insert(0) += 1;
        }
    }
    seen
}

fn tally(expected: &[(String, String)], seen: &HashMap<(String, String), usize>) -> Tally {
    let mut t = Tally {
        expected: expected.len(),
        ..Tally::default()
    };
    for key in expected {
        match seen.get(key) {
            Some(1) => t.sent += 1,
            Some(_) => {
                t.sent += 1;
                t.duplicated += 1;
            }
            None => t.lost += 1,
        }
    }
    t
}

fn rss_of(pid: Option<u32>) -> (f64, f64) {
    let Some(status) = pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
    else {
        return (f64::NAN, f64::NAN);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

pub async fn run() -> ChaosResult {
    let mut result = ChaosResult {
        seconds: env_usize("HERALD_BENCH_CHAOS_SECONDS", 60),
        events_per_s: env_usize("HERALD_BENCH_CHAOS_RATE", 50),
        ..ChaosResult::default()
    };
    if let Err(e) = run_into(&mut result).await {
        result.error = Some(e);
    }
    result
}

async fn run_into(result: &mut ChaosResult) -> Result<(), String> {
    let wecom = FakeWecom::new(WecomConfig::new(CORP_ID, CORP_SECRET, AGENT_ID).open_directory());
    let feishu = FakeFeishu::new(FeishuConfig::new(APP_ID, APP_SECRET).open_directory());
    let on = OnFakes::start("chaos", &wecom, &feishu).await?;
    let (api, chart) = (&on.api, on.chart.as_str());
    configure(api).await?;
    let push_users: Vec<String> = (0..200).map(|i| format!("p{i:03}")).collect();
    let feishu_users: Vec<String> = (0..50).map(|i| format!("ou_p{i:03}")).collect();
    let wecom_task_id = api
        .create_task(&task(
            "Chaos push W",
            "wecom",
            json!({"wecom_users": push_users}),
            json!({"wecom_user": "p000"}),
            chart,
        ))
        .await?;
    let feishu_task_id = api
        .create_task(&task(
            "Chaos push F",
            "feishu",
            json!({"feishu_users": feishu_users}),
            json!({"feishu_user": "ou_p000"}),
            chart,
        ))
        .await?;

    wecom.seed_faults(12);
    feishu.seed_faults(12);
    for rule in faults() {
        wecom.inject(rule.clone());
        feishu.inject(rule);
    }

    // The load: one event every 1/rate s, each posted by its own task (at most 64 in flight).
    let client = reqwest::Client::new();
    let url = format!("{}/v1/webhooks/tickets/{SOURCE}", on.local.base);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(64));
    let mut posts = tokio::task::JoinSet::new();
    let mut pushes = Vec::new();
    let start = Instant::now();
    let total = result.seconds * result.events_per_s;
    let interval = Duration::from_secs_f64(1.0 / result.events_per_s.max(1) as f64);
    let mut next_push = Duration::ZERO;
    for event in 0..total {
        let due = interval * u32::try_from(event).unwrap_or(u32::MAX);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        if start.elapsed() >= next_push {
            next_push += Duration::from_secs(20);
            for task in [&wecom_task_id, &feishu_task_id] {
                pushes.push((task.clone(), api.push(task).await?));
            }
        }
        let permit = in_flight
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (client, url) = (client.clone(), url.clone());
        posts.spawn(async move {
            let answer = post_event(&client, &url, event).await;
            drop(permit);
            (event, answer)
        });
    }
    let mut accepted = Vec::new();
    while let Some(done) = posts.join_next().await {
        let (event, (ok, retries)) = done.map_err(|e| e.to_string())?;
        result.webhook_retries += retries;
        if ok {
            accepted.push(event);
        }
    }
    result.events_posted = total;
    let load_end = Instant::now();

    // Settled: nothing sending in the project, and the fakes' counts still for 2 s.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last = (usize::MAX, usize::MAX);
    loop {
        let sending = api
            .call(
                reqwest::Method::GET,
                &format!("/v1/projects/{PROJECT}/records?outcome=sending&limit=1"),
                None,
            )
            .await?;
        let counts = (wecom.delivered().len(), feishu.delivered().len());
        let idle = sending["items"].as_array().is_some_and(Vec::is_empty);
        if idle && counts == last {
            result.settled = true;
            break;
        }
        if Instant::now() > deadline {
            break;
        }
        if counts != last {
            result.last_arrival_s = load_end.elapsed().as_secs_f64();
        } else if let Some(run) = sending["items"][0]["id"].as_str() {
            result.still_sending = Some(run.to_owned());
        }
        last = counts;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    result.settle_s = (load_end.elapsed().as_secs_f64() - 2.0).max(0.0);
    wecom.clear_faults();
    feishu.clear_faults();
    (result.rss_mib, result.peak_rss_mib) = rss_of(on.local.pid());

    let wecom_seen = arrivals(&wecom.delivered(), |m| {
        [
            &m.body["text"]["content"],
            &m.body["textcard"]["title"],
            &m.body["markdown"]["content"],
        ]
        .iter()
        .filter_map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(" ")
    });
    let expected_tickets: Vec<(String, String)> = accepted
        .iter()
        .flat_map(|e| reviewers_of(*e).map(|r| (format!("{MARKER}{e:08}"), r)))
        .collect();
    result.tickets = tally(&expected_tickets, &wecom_seen);
    // A push's deliveries (one WeCom batch of 200, 50 Feishu messages) as its record counts them;
    // a batch or message that arrived more often than pushed is a duplicate.
    let mut push_tally = Tally::default();
    for (_, run) in &pushes {
        let record = api.record(run).await?;
        let count = |key: &str| record[key].as_u64().unwrap_or(0) as usize;
        let dead = record["deliveries"]
            .as_array()
            .map_or(0, |d| d.iter().filter(|d| d["status"] == "dead").count());
        push_tally.expected += count("delivery_count");
        push_tally.sent += count("delivered");
        push_tally.dead += dead;
    }
    push_tally.lost = push_tally
        .expected
        .saturating_sub(push_tally.sent + push_tally.dead);
    let per_task = pushes.len() / 2;
    let wecom_batches = wecom
        .delivered()
        .iter()
        .filter(|m| m.recipients.len() == 200)
        .count();
    let feishu_messages = feishu
        .delivered()
        .iter()
        .filter(|m| m.recipients.iter().any(|r| r.starts_with("ou_p")))
        .count();
    push_tally.duplicated =
        wecom_batches.saturating_sub(per_task) + feishu_messages.saturating_sub(per_task * 50);
    result.pushes = push_tally;
    let sends =
        |c: &&herald_fakes::Call| matches!(c.endpoint, Endpoint::WecomSend | Endpoint::FeishuSend);
    let calls: Vec<herald_fakes::Call> = wecom.calls().into_iter().chain(feishu.calls()).collect();
    result.provider_calls = calls.iter().filter(sends).count();
    for call in &calls {
        let entry = result
            .calls_by_endpoint
            .entry(call.endpoint.as_str().to_owned())
            .or_default();
        entry.calls += 1;
        entry.failed += usize::from(call.code != Some(0));
    }
    result.faulted_calls = calls
        .iter()
        .filter(sends)
        .filter(|c| c.code != Some(0))
        .count();
    result.suppressed_by_provider =
        wecom.stats().suppressed_duplicates + feishu.stats().suppressed_duplicates;
    if result.tickets.lost > 0 {
        result.tickets.dead = dead_tickets(api, &accepted, &wecom_seen).await;
        result.tickets.lost -= result.tickets.dead.min(result.tickets.lost);
    }

    result.wrk = wrk_runs(&on.local.base).await;
    on.stop().await;
    Ok(())
}

/// Of the events someone never got, those whose record says the delivery is dead.
async fn dead_tickets(
    api: &Api,
    accepted: &[usize],
    seen: &HashMap<(String, String), usize>,
) -> usize {
    let mut dead = 0;
    for event in accepted {
        let missing = reviewers_of(*event)
            .iter()
            .filter(|r| !seen.contains_key(&(format!("{MARKER}{event:08}"), (*r).clone())))
            .count();
        if missing == 0 {
            continue;
        }
        let task = herald_core::domain::ids::TaskId::for_ticket(SOURCE, &format!("c{event}"));
        let Ok(page) = api
            .call(
                reqwest::Method::GET,
                &format!("/v1/projects/{PROJECT}/records?task={task}&limit=5"),
                None,
            )
            .await
        else {
            continue;
        };
        for run in page["items"].as_array().into_iter().flatten() {
            let Some(id) = run["id"].as_str() else {
                continue;
            };
            if let Ok(record) = api.record(id).await {
                dead += record["deliveries"]
                    .as_array()
                    .map_or(0, |d| d.iter().filter(|d| d["status"] == "dead").count())
                    .min(missing);
            }
        }
    }
    dead
}

fn task(name: &str, channel: &str, recipients: Value, owner: Value, chart: &str) -> Value {
    json!({
        "name": name,
        "page": {"title": name, "share_url": "https://bi.example.com/share/chaos",
                 "charts": [{"name": "GMV by region", "data_url": chart, "rows": "/data/rows"}]},
        "channel": channel, "template": "text",
        "recipients": recipients, "owner": owner,
        "schedule": {"every": "day", "at": "03:00", "timezone": "Asia/Shanghai", "start": "2030-01-01"},
        "content": {"snapshot": false},
        "failure_limit": 100
    })
}

async fn configure(api: &Api) -> Result<(), String> {
    let put = |path: String, body: Value| async move {
        api.call(reqwest::Method::PUT, &path, Some(&body)).await
    };
    put("/v1/settings/channels/wecom".into(), json!({"enabled": true, "corp_id": CORP_ID, "corp_secret": CORP_SECRET, "agent_id": AGENT_ID, "encrypted": false})).await?;
    put(
        "/v1/settings/channels/feishu".into(),
        json!({"enabled": true, "app_id": APP_ID, "app_secret": APP_SECRET}),
    )
    .await?;
    api.client
        .put(format!("{}/v1/settings/webhook-sources/{SOURCE}", api.base))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"secret": SECRET}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    for i in 0..REVIEWERS {
        put(
            format!("/v1/contacts/r{i:04}"),
            json!({"name": format!("Reviewer {i}"), "wecom_user": format!("r{i:04}")}),
        )
        .await?;
    }
    put(
        "/v1/contacts/author".into(),
        json!({"name": "Author", "wecom_user": "author"}),
    )
    .await?;
    Ok(())
}

/// wrk for 10 s each (2 threads, 32 connections): the task list, and the webhook answering a
/// repeated event (its signature checked, its claim found: the path a retrying sender takes).
async fn wrk_runs(base: &str) -> Vec<WrkRun> {
    let seconds = env_usize("HERALD_BENCH_WRK_SECONDS", 10).to_string();
    let script = std::env::temp_dir().join(format!("herald-chaos-wrk-{}.lua", std::process::id()));
    let body = event_body(0);
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let lua = format!(
        "wrk.method = \"POST\"\nwrk.body = {:?}\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"X-Herald-Timestamp\"] = \"{timestamp}\"\nwrk.headers[\"X-Herald-Signature\"] = \"{}\"\n",
        String::from_utf8_lossy(&body),
        sign(&timestamp, &body)
    );
    if std::fs::write(&script, lua).is_err() {
        return Vec::new();
    }
    let auth = format!("Authorization: Bearer {ADMIN_TOKEN}");
    let targets: [(&str, Vec<String>); 2] = [
        (
            "GET /v1/projects/bench/tasks",
            vec![
                "-H".into(),
                auth,
                format!("{base}/v1/projects/{PROJECT}/tasks"),
            ],
        ),
        (
            "POST /v1/webhooks/tickets (a repeated event)",
            vec![
                "-s".into(),
                script.display().to_string(),
                format!("{base}/v1/webhooks/tickets/{SOURCE}"),
            ],
        ),
    ];
    let mut runs = Vec::new();
    for (name, args) in targets {
        let out = tokio::process::Command::new("wrk")
            .args(["-t2", "-c32", "-d", &format!("{seconds}s"), "--latency"])
            .args(&args)
            .output()
            .await;
        let Ok(out) = out else {
            eprintln!("chaos: wrk is not installed (apt-get install wrk): skipped");
            break;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        runs.push(WrkRun {
            target: name.to_owned(),
            requests_per_s: wrk_number(&text, "Requests/sec:"),
            p50_ms: wrk_latency(&text, "50%"),
            p99_ms: wrk_latency(&text, "99%"),
            non_2xx: wrk_number(&text, "Non-2xx or 3xx responses:") as u64,
        });
    }
    let _ = std::fs::remove_file(&script);
    runs
}

fn wrk_number(text: &str, label: &str) -> f64 {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// "     50%  1.20ms" → 1.2 (us, ms and s understood).
fn wrk_latency(text: &str, label: &str) -> f64 {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(str::trim)
        .and_then(|v| {
            let (number, factor) = if let Some(n) = v.strip_suffix("us") {
                (n, 0.001)
            } else if let Some(n) = v.strip_suffix("ms") {
                (n, 1.0)
            } else {
                (v.strip_suffix('s')?, 1000.0)
            };
            number.parse::<f64>().ok().map(|n| n * factor)
        })
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrk_latencies_are_read_in_milliseconds() {
        let text = "  Latency Distribution\n     50%  812.00us\n     99%    1.20ms\nRequests/sec:  12345.67\n";
        assert_eq!(super::wrk_latency(text, "50%"), 0.812);
        assert_eq!(super::wrk_latency(text, "99%"), 1.2);
        assert_eq!(super::wrk_number(text, "Requests/sec:"), 12345.67);
    }
}
