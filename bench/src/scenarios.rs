//! Herald's side of each scenario, and the provider minimum where the bench measures one itself.
use crate::setup::{self, Fakes, Knobs, max_in_window, median};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use herald_core::clock::{ManualClock, SystemClock};
use herald_core::domain::delivery::{Delivery, DeliveryCause, DeliveryStatus};
use herald_core::domain::message::{
    EmailMessage, FeishuBody, FeishuMessage, FeishuRecipient, OutboundMessage, RobotBody,
    RobotMessage, WECOM_MAX_USERS_PER_CALL, WecomAppMessage, WecomBody,
};
use herald_core::domain::recipients::{EmailAddress, FeishuOpenId, WecomUserId};
use herald_core::domain::task::RobotKey;
use herald_core::ports::{DeliveryStore, SecretStore, SettingsRecord, SettingsStore};
use herald_core::services::delivery::{DeliveryWorker, RetryPolicy};
use herald_core::services::settings::{SMTP_PASSWORD, SettingsService, WECOM_CORP_SECRET};
use herald_embedded::{Db, FileSecretStore, SqliteStore};
use herald_fakes::{Endpoint, FakeWecom, WecomConfig, serve, wecom_router};
use herald_hub::ProviderClients;
use herald_mail::SmtpSender;
use herald_providers::{HttpProviders, ProvidersConfig, Rate, Time, Timeouts, WindowQuota};
use secrecy::SecretString;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn providers(wecom_url: &str, feishu_url: &str) -> ProvidersConfig {
    ProvidersConfig::new(wecom_url, feishu_url, Timeouts::default())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn seconds_since(start: DateTime<Utc>, at: DateTime<Utc>) -> f64 {
    (at - start).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
}

/// One way of sending the WeCom job, over the repetitions.
#[derive(Debug, Clone, Serialize, Default)]
pub struct WecomRun {
    pub label: String,
    pub median_ms: f64,
    pub min_ms: f64,
    pub runs_ms: Vec<f64>,
    /// From the fake's stats (last repetition; every repetition is checked to be the same).
    pub gettoken_calls: u64,
    pub send_calls: u64,
    pub users_delivered: usize,
    pub calls_same_every_rep: bool,
    /// Engine only: the enqueue part and the run_due part (medians).
    pub enqueue_median_ms: Option<f64>,
    pub run_due_median_ms: Option<f64>,
    pub deliveries_delivered: Option<usize>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WecomResult {
    pub users: usize,
    pub batches: usize,
    pub reps: usize,
    pub minimum: WecomRun,
    pub herald_client: WecomRun,
    pub herald_engine: WecomRun,
    pub ratio_client: f64,
    pub ratio_engine: f64,
    pub calls_ok: bool,
}

fn batches(knobs: &Knobs, content: &str) -> Vec<WecomAppMessage> {
    let users: Vec<WecomUserId> = knobs
        .user_ids()
        .into_iter()
        .map(|u| WecomUserId::parse(u).expect("user id"))
        .collect();
    users
        .chunks(WECOM_MAX_USERS_PER_CALL)
        .map(|chunk| WecomAppMessage {
            to_users: chunk.to_vec(),
            to_parties: Vec::new(),
            to_tags: Vec::new(),
            body: WecomBody::Text {
                content: content.to_owned(),
            },
            image: None,
        })
        .collect()
}

fn finish_run(run: &mut WecomRun, per_rep_calls: &[(u64, u64)]) {
    let mut runs = run.runs_ms.clone();
    run.median_ms = median(&mut runs);
    run.min_ms = runs.first().copied().unwrap_or(f64::NAN);
    run.calls_same_every_rep = per_rep_calls.windows(2).all(|w| w[0] == w[1]);
    if let Some((t, s)) = per_rep_calls.last() {
        run.gettoken_calls = *t;
        run.send_calls = *s;
    }
}

fn wecom_calls(fake: &FakeWecom) -> (u64, u64) {
    let stats = fake.stats();
    (
        stats.calls_to(Endpoint::WecomGettoken),
        stats.calls_to(Endpoint::WecomSend),
    )
}

fn delivered_users(fake: &FakeWecom) -> usize {
    fake.delivered()
        .iter()
        .filter(|m| m.endpoint == Endpoint::WecomSend)
        .map(|m| m.recipients.len() - m.invalid_users.len())
        .sum()
}

/// The provider minimum: a bare reqwest client doing exactly 1 gettoken + ⌈N/1000⌉ sends in a row.
fn minimum_bodies(users: &[String], content: &str) -> Vec<String> {
    users
        .chunks(WECOM_MAX_USERS_PER_CALL)
        .map(|chunk| {
            serde_json::json!({
                "touser": chunk.join("|"),
                "msgtype": "text",
                "agentid": setup::AGENT_ID,
                "text": {"content": content},
            })
            .to_string()
        })
        .collect()
}

/// Client and bodies are built before the clock starts (as Herald's clients and messages are).
async fn minimum_once(
    fakes: &Fakes,
    client: &reqwest::Client,
    bodies: Vec<String>,
) -> Result<(), String> {
    let token_reply: serde_json::Value = client
        .get(format!(
            "{}/cgi-bin/gettoken?corpid={}&corpsecret={}",
            fakes.wecom_url,
            setup::CORP_ID,
            setup::CORP_SECRET
        ))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = token_reply["access_token"]
        .as_str()
        .ok_or_else(|| format!("no token: {token_reply}"))?
        .to_owned();
    let url = format!(
        "{}/cgi-bin/message/send?access_token={token}",
        fakes.wecom_url
    );
    for body in bodies {
        let reply: serde_json::Value = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if reply["errcode"].as_i64() != Some(0) {
            return Err(format!("send refused: {reply}"));
        }
    }
    Ok(())
}

async fn engine_store(fakes: &Fakes) -> (Arc<SqliteStore>, SettingsService) {
    let db = Db::in_memory().expect("in-memory sqlite");
    let store = Arc::new(SqliteStore::new(db));
    let secrets_path = std::env::temp_dir().join(format!(
        "herald-bench-secrets-{}-{}.json",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let secrets = Arc::new(FileSecretStore::new(secrets_path));
    secrets
        .put_secret(WECOM_CORP_SECRET, &SecretString::from(setup::CORP_SECRET))
        .await
        .expect("secret");
    secrets
        .put_secret(SMTP_PASSWORD, &SecretString::from(setup::SMTP_PASSWORD))
        .await
        .expect("secret");
    let record = SettingsRecord {
        url_prefix: None,
        smtp: Some(setup::smtp_settings(fakes.smtp_addr)),
        wecom: Some(setup::wecom_settings()),
        feishu: None,
        version: 1,
        ..SettingsRecord::default()
    };
    store.put_settings(&record, 0).await.expect("settings");
    let settings = SettingsService::new(store.clone(), secrets);
    (store, settings)
}

/// A run's delivery that no run record counts (`push: false`): the bench measures sending, not
/// progress.
fn cause() -> DeliveryCause {
    DeliveryCause::Run {
        project: herald_core::domain::ids::ProjectId::parse("bench").expect("project"),
        run: herald_core::domain::ids::RunId::new(),
        push: false,
    }
}

pub async fn wecom_app(knobs: &Knobs, fakes: &Fakes) -> WecomResult {
    let users = knobs.user_ids();
    let n_batches = users.len().div_ceil(WECOM_MAX_USERS_PER_CALL);
    let mut minimum = WecomRun {
        label: "bare reqwest: 1 gettoken + sends, sequential".into(),
        ..WecomRun::default()
    };
    let mut client = WecomRun {
        label: "WecomAppClient (fresh token), batches sequential".into(),
        ..WecomRun::default()
    };
    let mut engine = WecomRun {
        label: "DeliveryWorker + SQLite + ProviderHub: enqueue + run_due".into(),
        ..WecomRun::default()
    };
    let (mut min_calls, mut client_calls, mut engine_calls) = (vec![], vec![], vec![]);
    let (mut enqueue_ms, mut run_due_ms) = (vec![], vec![]);
    // One warm-up of each (first connections, page faults), then interleaved repetitions.
    for rep in 0..=knobs.reps {
        let warmup = rep == 0;
        // 1. minimum
        fakes.wecom.reset_records();
        let content = format!("bench minimum rep {rep}");
        let bare = reqwest::Client::new();
        let bodies = minimum_bodies(&users, &content);
        let start = Instant::now();
        let result = minimum_once(fakes, &bare, bodies).await;
        let took = start.elapsed();
        if let Err(e) = result {
            minimum.errors.push(e);
        }
        if !warmup {
            minimum.runs_ms.push(ms(took));
            min_calls.push(wecom_calls(&fakes.wecom));
            minimum.users_delivered = delivered_users(&fakes.wecom);
        }

        // 2. Herald's client (a fresh process-wide client: the token is fetched once)
        fakes.wecom.reset_records();
        let http = HttpProviders::new(
            providers(&fakes.wecom_url, &fakes.feishu_url),
            setup::image_store(),
        )
        .expect("provider clients");
        let creds = setup::wecom_creds();
        let msgs = batches(knobs, &format!("bench herald client rep {rep}"));
        let start = Instant::now();
        for (i, msg) in msgs.iter().enumerate() {
            if let Err(e) = http
                .wecom
                .send(&creds, msg, &format!("bench-{rep}-{i}"))
                .await
            {
                client.errors.push(e.to_string());
            }
        }
        let took = start.elapsed();
        if !warmup {
            client.runs_ms.push(ms(took));
            client_calls.push(wecom_calls(&fakes.wecom));
            client.users_delivered = delivered_users(&fakes.wecom);
        }

        // 3. The engine: deliveries written to SQLite, claimed, sent through the hub, recorded.
        fakes.wecom.reset_records();
        let (store, settings) = engine_store(fakes).await;
        let hub = ProviderClients::with_config(
            providers(&fakes.wecom_url, &fakes.feishu_url),
            store.clone(),
        )
        .expect("hub")
        .hub(settings);
        let worker = DeliveryWorker::new(
            store.clone(),
            hub,
            Arc::new(SystemClock),
            RetryPolicy::default(),
        );
        let now = Utc::now();
        let deliveries: Vec<Delivery> = batches(knobs, &format!("bench herald engine rep {rep}"))
            .into_iter()
            .map(|m| Delivery::queued(cause(), OutboundMessage::WecomApp(m), now))
            .collect();
        let start = Instant::now();
        store.enqueue(&deliveries).await.expect("enqueue");
        let enqueued = start.elapsed();
        let tried = worker.run_due(10_000).await.expect("run_due");
        let took = start.elapsed();
        let mut delivered = 0;
        for d in &deliveries {
            match store.get_delivery(&d.id).await {
                Ok(Some(d)) if d.status == DeliveryStatus::Delivered => delivered += 1,
                Ok(Some(d)) => engine.errors.push(format!(
                    "delivery {} is {:?}: {:?}",
                    d.id,
                    d.status,
                    d.last_attempt().map(|a| &a.result)
                )),
                other => engine.errors.push(format!("delivery {}: {other:?}", d.id)),
            }
        }
        if tried != deliveries.len() {
            engine
                .errors
                .push(format!("run_due tried {tried} of {}", deliveries.len()));
        }
        if !warmup {
            engine.runs_ms.push(ms(took));
            enqueue_ms.push(ms(enqueued));
            run_due_ms.push(ms(took - enqueued));
            engine_calls.push(wecom_calls(&fakes.wecom));
            engine.users_delivered = delivered_users(&fakes.wecom);
            engine.deliveries_delivered = Some(delivered);
        }
    }
    finish_run(&mut minimum, &min_calls);
    finish_run(&mut client, &client_calls);
    finish_run(&mut engine, &engine_calls);
    engine.enqueue_median_ms = Some(median(&mut enqueue_ms));
    engine.run_due_median_ms = Some(median(&mut run_due_ms));
    let expected = (1, n_batches as u64);
    let calls_ok = [&client, &engine].iter().all(|r| {
        r.calls_same_every_rep
            && (r.gettoken_calls, r.send_calls) == expected
            && r.errors.is_empty()
    });
    WecomResult {
        users: users.len(),
        batches: n_batches,
        reps: knobs.reps,
        ratio_client: client.median_ms / minimum.median_ms,
        ratio_engine: engine.median_ms / minimum.median_ms,
        minimum,
        herald_client: client,
        herald_engine: engine,
        calls_ok,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SmtpResult {
    pub mails: usize,
    pub concurrency: usize,
    pub elapsed_s: f64,
    pub mails_per_s: f64,
    pub ok: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    pub sink_received: usize,
    pub sink_connections: u64,
    /// The same mails as deliveries through the local engine loop (SQLite + delivery_loop).
    pub engine: Option<SmtpEngineResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SmtpEngineResult {
    pub mails: usize,
    pub elapsed_s: f64,
    pub mails_per_s: f64,
    pub delivered: usize,
}

fn mail(i: usize, kind: &str) -> EmailMessage {
    EmailMessage {
        to: EmailAddress::parse(format!("user{i:06}@example.com")).expect("address"),
        subject: format!("Herald bench {kind} {i}"),
        text:
            "Daily sales: GMV 1,234,567 (+3.2%). Open the report: https://bi.example.com/share/abc"
                .into(),
        html: None,
        images: Vec::new(),
        attachments: Vec::new(),
    }
}

pub async fn smtp(knobs: &Knobs, fakes: &Fakes) -> SmtpResult {
    fakes.smtp.reset_records();
    let sender = SmtpSender::new();
    let creds = setup::smtp_creds(fakes.smtp_addr);
    let mails: Vec<EmailMessage> = (0..knobs.mails).map(|i| mail(i, "herald")).collect();
    let start = Instant::now();
    let results: Vec<_> = futures::stream::iter(mails.iter().enumerate())
        .map(|(i, m)| {
            let (sender, creds) = (&sender, &creds);
            async move { sender.send(creds, m, &format!("bench-mail-{i}")).await }
        })
        .buffer_unordered(knobs.smtp_concurrency)
        .collect()
        .await;
    let elapsed = start.elapsed().as_secs_f64();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let first_error = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .map(|e| e.to_string());
    let sink_received = fakes.smtp.messages().len();
    let sink_connections = fakes.smtp.connections();

    // The engine loop on a sample: what `make run` does with queued mail.
    let sample = crate::env_usize("HERALD_BENCH_ENGINE_MAILS", 1000).min(knobs.mails);
    let engine = if sample > 0 {
        Some(smtp_engine(fakes, sample).await)
    } else {
        None
    };
    SmtpResult {
        mails: knobs.mails,
        concurrency: knobs.smtp_concurrency,
        elapsed_s: elapsed,
        mails_per_s: ok as f64 / elapsed,
        ok,
        failed: results.len() - ok,
        first_error,
        sink_received,
        sink_connections,
        engine,
    }
}

async fn smtp_engine(fakes: &Fakes, sample: usize) -> SmtpEngineResult {
    fakes.smtp.reset_records();
    let (store, settings) = engine_store(fakes).await;
    let hub = ProviderClients::with_config(
        providers(&fakes.wecom_url, &fakes.feishu_url),
        store.clone(),
    )
    .expect("hub")
    .hub(settings);
    let worker = DeliveryWorker::new(
        store.clone(),
        hub,
        Arc::new(SystemClock),
        RetryPolicy::default(),
    );
    let now = Utc::now();
    let deliveries: Vec<Delivery> = (0..sample)
        .map(|i| Delivery::queued(cause(), OutboundMessage::Email(mail(i, "engine")), now))
        .collect();
    let start = Instant::now();
    store.enqueue(&deliveries).await.expect("enqueue");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let driver = herald_embedded::delivery_loop::spawn(worker, stopped);
    let far = Utc::now() + chrono::Duration::days(1);
    loop {
        // Queued or leased deliveries left (a far-future `now` also counts running leases).
        match store.due(far, 1).await {
            Ok(left) if left.is_empty() => break,
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
        if start.elapsed() > Duration::from_secs(300) {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let _ = driver.await;
    let mut delivered = 0;
    for d in &deliveries {
        if let Ok(Some(d)) = store.get_delivery(&d.id).await
            && d.status == DeliveryStatus::Delivered
        {
            delivered += 1;
        }
    }
    SmtpEngineResult {
        mails: sample,
        elapsed_s: elapsed,
        mails_per_s: delivered as f64 / elapsed,
        delivered,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RateRun {
    pub label: String,
    pub messages: usize,
    pub accepted: usize,
    pub refused: usize,
    pub elapsed_s: f64,
    /// (accepted − 1) / (last − first accepted arrival at the fake).
    pub mean_rate_per_s: f64,
    /// (accepted − quota) / (last − first): the rate once the first window's burst is spent.
    pub steady_rate_per_s: f64,
    pub window_s: f64,
    pub quota: usize,
    pub max_in_any_window: usize,
    pub errors: Vec<String>,
    /// Accepted arrivals at the fake, seconds after the first call (ms precision).
    pub arrivals_s: Vec<f64>,
}

#[allow(clippy::too_many_arguments)]
fn rate_run(
    label: &str,
    messages: usize,
    arrivals: &mut [f64],
    refused: usize,
    elapsed: f64,
    window: f64,
    quota: usize,
    errors: Vec<String>,
) -> RateRun {
    arrivals.sort_by(|a, b| a.total_cmp(b));
    let span = match (arrivals.first(), arrivals.last()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => f64::NAN,
    };
    let n = arrivals.len();
    RateRun {
        label: label.into(),
        messages,
        accepted: n,
        refused,
        elapsed_s: elapsed,
        mean_rate_per_s: (n.saturating_sub(1)) as f64 / span,
        steady_rate_per_s: (n.saturating_sub(quota)) as f64 / span,
        window_s: window,
        quota,
        max_in_any_window: max_in_window(arrivals, window),
        errors,
        arrivals_s: arrivals
            .iter()
            .map(|a| (a * 1000.0).round() / 1000.0)
            .collect(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FeishuResult {
    pub limit_per_s: usize,
    pub herald: RateRun,
    /// The same run with the fake enforcing 50 per sliding second (429 / 99991400 beyond).
    pub herald_enforced: RateRun,
}

async fn feishu_once(knobs: &Knobs, fakes: &Fakes, enforce: bool) -> RateRun {
    fakes.feishu.reset_records();
    fakes.feishu.enforce_send_rate_limit(enforce);
    let http = HttpProviders::new(
        providers(&fakes.wecom_url, &fakes.feishu_url),
        setup::image_store(),
    )
    .expect("clients");
    let creds = setup::feishu_creds();
    let tag = if enforce { "enforced" } else { "free" };
    let msgs: Vec<FeishuMessage> = (0..knobs.feishu_messages)
        .map(|i| FeishuMessage {
            to: FeishuRecipient::OpenId(
                FeishuOpenId::parse(format!("ou_bench{tag}{i:06}")).expect("open id"),
            ),
            body: FeishuBody::Text {
                text: format!("Herald bench message {i}"),
            },
        })
        .collect();
    let start = Instant::now();
    let results: Vec<_> = futures::stream::iter(msgs.iter().enumerate())
        .map(|(i, m)| {
            let (http, creds) = (&http, &creds);
            async move {
                http.feishu
                    .send(creds, m, &format!("bench-{tag}-{i}"))
                    .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let elapsed = start.elapsed().as_secs_f64();
    fakes.feishu.enforce_send_rate_limit(false);
    let calls = fakes.feishu.calls();
    let origin = calls.first().map(|c| c.at).unwrap_or_else(Utc::now);
    let mut arrivals: Vec<f64> = calls
        .iter()
        .filter(|c| c.endpoint == Endpoint::FeishuSend && c.code == Some(0))
        .map(|c| seconds_since(origin, c.at))
        .collect();
    let refused = calls
        .iter()
        .filter(|c| c.endpoint == Endpoint::FeishuSend && c.code != Some(0))
        .count();
    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .take(3)
        .collect();
    let label = if enforce {
        "FeishuClient, 16 in flight, fake enforcing 50/s (sliding 1 s)"
    } else {
        "FeishuClient, 16 in flight, fake not enforcing"
    };
    rate_run(
        label,
        msgs.len(),
        &mut arrivals,
        refused,
        elapsed,
        1.0,
        50,
        errors,
    )
}

pub async fn feishu(knobs: &Knobs, fakes: &Fakes) -> FeishuResult {
    let herald = feishu_once(knobs, fakes, false).await;
    let herald_enforced = feishu_once(knobs, fakes, true).await;
    FeishuResult {
        limit_per_s: 50,
        herald,
        herald_enforced,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RobotResult {
    /// Real time, quota scaled (20 per `window_s` instead of 20 per 60 s), fake limit off.
    pub scaled: RateRun,
    /// Manual clock, production quota (20/min), fake enforcing 20/min: arrival offsets in seconds.
    pub manual_messages: usize,
    pub manual_offsets_s: Vec<f64>,
    pub manual_refused: usize,
    pub manual_max_in_60s: usize,
}

fn robot_message(key: &str, i: usize) -> RobotMessage {
    RobotMessage {
        key: RobotKey::parse(key).expect("robot key").into(),
        body: RobotBody::Text {
            content: format!("Herald bench alarm {i}"),
            mentioned_list: Vec::new(),
        },
        group: None,
    }
}

pub async fn robot(knobs: &Knobs, fakes: &Fakes) -> RobotResult {
    // Real time, scaled quota, 16 in flight (as the engine would run queued alarms).
    fakes.wecom_scaled.reset_records();
    let quota = WindowQuota::new(
        [Rate::new(knobs.robot_max, knobs.robot_window)],
        Duration::from_secs(120),
    );
    let config = ProvidersConfig {
        robot_quota: quota,
        ..providers(&fakes.wecom_scaled_url, &fakes.feishu_url)
    };
    let http = HttpProviders::new(config, setup::image_store()).expect("clients");
    let msgs: Vec<RobotMessage> = (0..knobs.robot_messages)
        .map(|i| robot_message(setup::ROBOT_KEY_SCALED, i))
        .collect();
    let start = Instant::now();
    let results: Vec<_> = futures::stream::iter(msgs.iter().enumerate())
        .map(|(i, m)| {
            let http = &http;
            async move { http.robot.send(m, &format!("bench-robot-{i}")).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let elapsed = start.elapsed().as_secs_f64();
    let calls = fakes.wecom_scaled.calls();
    let origin = calls.first().map(|c| c.at).unwrap_or_else(Utc::now);
    let mut arrivals: Vec<f64> = calls
        .iter()
        .filter(|c| c.endpoint == Endpoint::WecomRobot && c.code == Some(0))
        .map(|c| seconds_since(origin, c.at))
        .collect();
    let refused = calls
        .iter()
        .filter(|c| c.endpoint == Endpoint::WecomRobot && c.code != Some(0))
        .count();
    let errors = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .take(3)
        .collect();
    let scaled = rate_run(
        &format!(
            "WecomRobotClient, quota scaled to {} per {:.1} s (production: 20 per 60 s), 16 in flight",
            knobs.robot_max,
            knobs.robot_window.as_secs_f64()
        ),
        msgs.len(),
        &mut arrivals,
        refused,
        elapsed,
        knobs.robot_window.as_secs_f64(),
        knobs.robot_max,
        errors,
    );

    // Manual clock shared by client and fake: production quota, the fake enforcing 20/min.
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let fake = FakeWecom::with_clock(
        WecomConfig::new(setup::CORP_ID, setup::CORP_SECRET, setup::AGENT_ID)
            .with_robot_key(setup::ROBOT_KEY_MANUAL),
        clock.clone(),
    );
    let (url, server) = serve(wecom_router(fake.clone())).await.expect("fake");
    let config = ProvidersConfig {
        time: Time::manual(clock.clone()),
        ..providers(&url, &fakes.feishu_url)
    };
    let http = HttpProviders::new(config, setup::image_store()).expect("clients");
    let t0 = {
        use herald_core::clock::Clock;
        clock.now()
    };
    let manual_messages = 25;
    for i in 0..manual_messages {
        let _ = http
            .robot
            .send(
                &robot_message(setup::ROBOT_KEY_MANUAL, i),
                &format!("manual-{i}"),
            )
            .await;
    }
    let calls = fake.calls();
    let mut offsets: Vec<f64> = calls
        .iter()
        .filter(|c| c.endpoint == Endpoint::WecomRobot && c.code == Some(0))
        .map(|c| seconds_since(t0, c.at))
        .collect();
    offsets.sort_by(|a, b| a.total_cmp(b));
    let manual_refused = calls
        .iter()
        .filter(|c| c.endpoint == Endpoint::WecomRobot && c.code != Some(0))
        .count();
    server.abort();
    RobotResult {
        scaled,
        manual_messages,
        manual_max_in_60s: max_in_window(&offsets, 60.0),
        manual_offsets_s: offsets,
        manual_refused,
    }
}
