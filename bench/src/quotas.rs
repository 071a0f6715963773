//! Provider quotas through the whole product (issue 13): the herald-local release binary, its
//! provider base URLs pointed at fakes that enforce the real quotas, pushed as a user pushes.
//! - Feishu: one push to `HERALD_BENCH_FEISHU_PUSH_USERS` (1,500) users, the fake enforcing 50 a
//!   second and 1,000 a minute (429 / 99991400 beyond): refused calls, and the time from the push's
//!   answer to a final record next to the quotas' minimum.
//! - WeCom: 40 manual pushes to one member at once, the fake dropping silently what exceeds 30 a
//!   minute to one member: how many arrive in the first minute, how many later, how many dropped.
use crate::env_usize;
use crate::local::{Api, OnFakes, outcome_of};
use chrono::{DateTime, Utc};
use herald_fakes::{Endpoint, FakeFeishu, FakeWecom, FeishuConfig, WecomConfig};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CORP_ID: &str = "ww_bench_quota";
const CORP_SECRET: &str = "bench-quota-corp-secret";
const AGENT_ID: i64 = 1_000_009;
const APP_ID: &str = "cli_bench_quota";
const APP_SECRET: &str = "bench-quota-app-secret";
const MEMBER: &str = "guard";
const MEMBER_PUSHES: usize = 40;

#[derive(Debug, Clone, Serialize)]
pub struct FeishuPush {
    pub users: usize,
    /// The push's answer → a final record.
    pub seconds: f64,
    /// What the quotas allow at best: the first 1,000 at 50/s, then 1,000 a minute.
    pub minimum_s: f64,
    pub refused: usize,
    pub delivered: usize,
    pub outcome: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemberGuard {
    pub pushes: usize,
    /// Messages to the member in the minute after the first one arrived.
    pub first_minute: usize,
    pub later: usize,
    /// Accepted by the fake but not delivered (over WeCom's per-member limit).
    pub dropped: usize,
    pub outcomes_delivered: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct QuotaResult {
    pub feishu: Option<FeishuPush>,
    pub member: Option<MemberGuard>,
    pub error: Option<String>,
}

/// The best a push to `n` users can do under 50/s and 1,000/min.
fn feishu_minimum(n: usize) -> f64 {
    let minutes = (n.saturating_sub(1) / 1000) as f64;
    let rest = n - (n.saturating_sub(1) / 1000) * 1000;
    minutes * 60.0 + rest as f64 / 50.0
}

async fn configure(api: &Api) -> Result<(), String> {
    let wecom = json!({"enabled": true, "corp_id": CORP_ID, "corp_secret": CORP_SECRET,
                       "agent_id": AGENT_ID, "encrypted": false});
    let feishu = json!({"enabled": true, "app_id": APP_ID, "app_secret": APP_SECRET});
    for (channel, body) in [("wecom", wecom), ("feishu", feishu)] {
        api.call(
            reqwest::Method::PUT,
            &format!("/v1/settings/channels/{channel}"),
            Some(&body),
        )
        .await?;
    }
    Ok(())
}

fn task(name: &str, channel: &str, recipients: Value, owner: Value, chart: &str) -> Value {
    json!({
        "name": name,
        "page": {"title": "Sales overview", "share_url": "https://bi.example.com/share/abc",
                 "charts": [{"name": "GMV by region", "data_url": chart, "rows": "/data/rows"}]},
        "channel": channel, "template": "text",
        "recipients": recipients, "owner": owner,
        "schedule": {"every": "day", "at": "03:00", "timezone": "Asia/Shanghai", "start": "2030-01-01"},
        "content": {"snapshot": false},
        "failure_limit": 3
    })
}

async fn feishu_push(api: &Api, fake: &FakeFeishu, chart: &str) -> Result<FeishuPush, String> {
    let n = env_usize("HERALD_BENCH_FEISHU_PUSH_USERS", 1_500);
    let users: Vec<String> = (0..n).map(|i| format!("ou_q{i:06}")).collect();
    let body = task(
        "feishu-quota",
        "feishu",
        json!({"feishu_users": users}),
        json!({"feishu_user": "ou_owner"}),
        chart,
    );
    let id = api.create_task(&body).await?;
    let run = api.push(&id).await?;
    let start = Instant::now();
    let minimum = feishu_minimum(n);
    let record = api
        .wait_final(&run, Duration::from_secs_f64(minimum * 2.0 + 120.0))
        .await?;
    let seconds = start.elapsed().as_secs_f64();
    let calls = fake.calls();
    let sends = calls.iter().filter(|c| c.endpoint == Endpoint::FeishuSend);
    Ok(FeishuPush {
        users: n,
        seconds,
        minimum_s: minimum,
        refused: sends.clone().filter(|c| c.code == Some(99991400)).count(),
        delivered: fake.delivered().len(),
        outcome: outcome_of(&record),
    })
}

async fn member_guard(api: &Api, fake: &FakeWecom, chart: &str) -> Result<MemberGuard, String> {
    let body = task(
        "wecom-member",
        "wecom",
        json!({"wecom_users": [MEMBER]}),
        json!({"wecom_user": MEMBER}),
        chart,
    );
    let id = api.create_task(&body).await?;
    let mut runs = Vec::new();
    for _ in 0..MEMBER_PUSHES {
        runs.push(api.push(&id).await?);
    }
    let mut outcomes_delivered = 0;
    for run in &runs {
        let record = api.wait_final(run, Duration::from_secs(240)).await?;
        outcomes_delivered += usize::from(outcome_of(&record) == "delivered");
    }
    let arrivals: Vec<DateTime<Utc>> = fake
        .delivered()
        .iter()
        .filter(|m| m.recipients.iter().any(|r| r == MEMBER))
        .map(|m| m.at)
        .collect();
    let first = arrivals.first().copied().unwrap_or_else(Utc::now);
    let first_minute = arrivals
        .iter()
        .filter(|t| **t - first < chrono::TimeDelta::seconds(60))
        .count();
    Ok(MemberGuard {
        pushes: MEMBER_PUSHES,
        first_minute,
        later: arrivals.len() - first_minute,
        dropped: fake.dropped().len(),
        outcomes_delivered,
    })
}

pub async fn run() -> QuotaResult {
    let mut result = QuotaResult {
        feishu: None,
        member: None,
        error: None,
    };
    if let Err(e) = run_into(&mut result).await {
        result.error = Some(e);
    }
    result
}

async fn run_into(result: &mut QuotaResult) -> Result<(), String> {
    let feishu = FakeFeishu::new(FeishuConfig {
        enforce_send_rate_limit: true,
        ..FeishuConfig::new(APP_ID, APP_SECRET).open_directory()
    });
    let wecom = FakeWecom::new(WecomConfig::new(CORP_ID, CORP_SECRET, AGENT_ID).open_directory());
    let on = OnFakes::start("quotas", &wecom, &feishu).await?;
    configure(&on.api).await?;
    // Both at once: they use different providers' quotas.
    let (feishu_push, guard) = tokio::join!(
        feishu_push(&on.api, &feishu, &on.chart),
        member_guard(&on.api, &wecom, &on.chart)
    );
    on.stop().await;
    result.feishu = Some(feishu_push?);
    result.member = Some(guard?);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_feishu_minimum_is_a_minute_per_thousand_then_fifty_a_second() {
        assert_eq!(super::feishu_minimum(500), 10.0);
        assert_eq!(super::feishu_minimum(1_000), 20.0);
        assert_eq!(super::feishu_minimum(1_500), 70.0);
        assert_eq!(super::feishu_minimum(10_000), 560.0);
    }
}
