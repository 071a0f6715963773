//! The side-by-side table (stdout and target/bench/delivery.md) and the JSON record.
use crate::apprise::AppriseResult;
use crate::scenarios::{FeishuResult, RobotResult, SmtpResult, WecomResult};
use crate::setup::Knobs;
use crate::tickets::TicketsResult;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

/// Apprise's previously measured unthrottled SMTP rate (issue 3); the goal uses this run's figure.
const APPRISE_SMTP_REFERENCE: f64 = 18.7;

#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub name: String,
    pub met: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub started_at: String,
    pub host: HostInfo,
    pub note: String,
    pub knobs: KnobsView,
    pub wecom: Option<WecomResult>,
    pub smtp: Option<SmtpResult>,
    pub feishu: Option<FeishuResult>,
    pub robot: Option<RobotResult>,
    pub apprise: Option<AppriseResult>,
    /// Issue 5: the ticket webhook, accepted → delivered-at-fake.
    pub tickets: Option<TicketsResult>,
    /// Issue 9: e-mail pushes through herald-local, timed and killed.
    pub ledger: Option<crate::ledger::LedgerResult>,
    pub quotas: Option<crate::quotas::QuotaResult>,
    pub goals: Vec<Goal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    pub cpus: usize,
    pub os: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct KnobsView {
    pub users: usize,
    pub mails: usize,
    pub smtp_concurrency: usize,
    pub feishu_messages: usize,
    pub reps: usize,
    pub robot_quota: String,
    pub robot_messages: usize,
    pub apprise_throttled_sample: usize,
    pub apprise_mail_sample: usize,
}

fn f(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_f64()
}

fn s(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn dur(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "n/a".into();
    }
    if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1000.0)
    } else if seconds < 120.0 {
        format!("{seconds:.2} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

impl Report {
    pub fn new(knobs: &Knobs) -> Self {
        Self {
            started_at: chrono::Utc::now().to_rfc3339(),
            host: HostInfo {
                cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
                os: std::env::consts::OS.into(),
            },
            note: "All figures come from ONE run, side by side, against the same fake providers on \
                   127.0.0.1 (herald-fakes). The machine is shared and noisy: read the ratios, not the \
                   absolute times. Rows marked (extrapolated) time a small sample and scale it; \
                   the robot's real-time quota is scaled (20 per window instead of 20 per minute)."
                .into(),
            knobs: KnobsView {
                users: knobs.users,
                mails: knobs.mails,
                smtp_concurrency: knobs.smtp_concurrency,
                feishu_messages: knobs.feishu_messages,
                reps: knobs.reps,
                robot_quota: format!(
                    "{} per {:.1} s (scaled from 20 per 60 s)",
                    knobs.robot_max,
                    knobs.robot_window.as_secs_f64()
                ),
                robot_messages: knobs.robot_messages,
                apprise_throttled_sample: knobs.apprise_throttled_sample,
                apprise_mail_sample: knobs.apprise_mail_sample,
            },
            wecom: None,
            smtp: None,
            feishu: None,
            robot: None,
            apprise: None,
            tickets: None,
            ledger: None,
            quotas: None,
            goals: Vec::new(),
        }
    }

    fn driver(&self) -> Value {
        self.apprise
            .as_ref()
            .map(|a| a.driver.clone())
            .unwrap_or(Value::Null)
    }

    /// Evaluates the goals of issue 3.
    pub fn finish(&mut self) {
        let d = self.driver();
        let mut goals = Vec::new();
        if let Some(w) = &self.wecom {
            goals.push(Goal {
                name: format!(
                    "WeCom app: {} users in 1 gettoken + {} sends",
                    w.users, w.batches
                ),
                met: w.calls_ok,
                detail: format!(
                    "client {} + {}, engine {} + {} (from the fake's stats), {} users delivered",
                    w.herald_client.gettoken_calls,
                    w.herald_client.send_calls,
                    w.herald_engine.gettoken_calls,
                    w.herald_engine.send_calls,
                    w.herald_engine.users_delivered
                ),
            });
            goals.push(Goal {
                name: "WeCom app: Herald within 1.5x the provider minimum".into(),
                met: w.ratio_client <= 1.5 && w.ratio_engine <= 1.5,
                detail: format!(
                    "client {:.2}x, engine (SQLite records) {:.2}x (medians of {} runs)",
                    w.ratio_client, w.ratio_engine, w.reps
                ),
            });
        }
        if let Some(m) = &self.smtp {
            let apprise = f(&d, &["mail", "per_mail", "mails_per_s"]);
            let base = apprise.unwrap_or(APPRISE_SMTP_REFERENCE);
            goals.push(Goal {
                name: "SMTP: Herald >= 10x Apprise's unthrottled rate".into(),
                met: m.failed == 0 && m.mails_per_s >= 10.0 * base,
                detail: format!(
                    "{:.0} mails/s vs Apprise {:.1} mails/s ({}) = {:.1}x",
                    m.mails_per_s,
                    base,
                    if apprise.is_some() {
                        "one notify per mail, this run"
                    } else {
                        "reference 18.7, Apprise did not run"
                    },
                    m.mails_per_s / base
                ),
            });
        }
        if let Some(fs) = &self.feishu {
            let r = &fs.herald;
            let limit = fs.limit_per_s as f64;
            goals.push(Goal {
                name: "Feishu: within 10% of 50/s".into(),
                met: (r.mean_rate_per_s - limit).abs() <= 0.1 * limit && r.refused == 0,
                detail: format!(
                    "mean {:.1}/s over {} messages ({} accepted)",
                    r.mean_rate_per_s, r.messages, r.accepted
                ),
            });
            goals.push(Goal {
                name: "Feishu: never above 50 in any 1 s window".into(),
                met: r.max_in_any_window <= fs.limit_per_s
                    && fs.herald_enforced.refused == 0,
                detail: format!(
                    "max {} in a sliding 1 s window; with the fake enforcing 50/s: {} refused (429)",
                    r.max_in_any_window, fs.herald_enforced.refused
                ),
            });
        }
        if let Some(rb) = &self.robot {
            let r = &rb.scaled;
            let target = r.quota as f64 / r.window_s;
            goals.push(Goal {
                name: "Robot: within 10% of the quota (scaled, real time)".into(),
                met: (r.steady_rate_per_s - target).abs() <= 0.1 * target && r.refused == 0,
                detail: format!(
                    "{:.2}/s after the first burst vs quota {:.2}/s",
                    r.steady_rate_per_s, target
                ),
            });
            goals.push(Goal {
                name: "Robot: never above the quota".into(),
                met: r.max_in_any_window <= r.quota
                    && rb.manual_max_in_60s <= 20
                    && rb.manual_refused == 0,
                detail: format!(
                    "scaled: max {} per {:.1} s window; manual clock (real 20/min, fake enforcing): max {} per 60 s, {} refused",
                    r.max_in_any_window, r.window_s, rb.manual_max_in_60s, rb.manual_refused
                ),
            });
        }
        if let Some(t) = &self.tickets {
            if let Some(st) = &t.steady {
                goals.push(Goal {
                    name: format!(
                        "Tickets: every steady event accepted and delivered ({}/s for {} s)",
                        st.rate_per_s, st.seconds
                    ),
                    met: st.all_delivered,
                    detail: format!(
                        "{} of {} accepted; {} of {} messages at the fakes",
                        st.posts.accepted,
                        st.posts.sent,
                        st.per_channel.iter().map(|c| c.delivered).sum::<usize>(),
                        st.per_channel.iter().map(|c| c.expected).sum::<usize>()
                    ),
                });
            }
            if let Some(pk) = &t.peak {
                goals.push(Goal {
                    name: "Tickets: deliveries catch up after the peak".into(),
                    met: pk.caught_up,
                    detail: format!(
                        "{} of {} messages delivered, the last {} after the last 202",
                        pk.delivered_messages,
                        pk.expected_messages,
                        dur(pk.catch_up_after_last_accept_s)
                    ),
                });
            }
        }
        self.ledger_goals(&mut goals);
        self.quota_goals(&mut goals);
        self.goals = goals;
    }

    fn quota_goals(&self, goals: &mut Vec<Goal>) {
        let Some(q) = &self.quotas else {
            return;
        };
        if let Some(error) = &q.error {
            goals.push(Goal {
                name: "Provider quotas: the scenario ran".into(),
                met: false,
                detail: error.clone(),
            });
        }
        if let Some(f) = &q.feishu {
            goals.push(Goal {
                name: format!(
                    "Feishu push to {} users at 50/s and 1,000/min: 0 refused, within 10% of the quotas' minimum",
                    f.users
                ),
                met: f.refused == 0
                    && f.delivered == f.users
                    && f.outcome == "delivered"
                    && f.seconds <= 1.1 * f.minimum_s,
                detail: format!(
                    "{:.1} s (minimum {:.0} s, ×{:.3}), {} refused, {} delivered, {}",
                    f.seconds,
                    f.minimum_s,
                    f.seconds / f.minimum_s,
                    f.refused,
                    f.delivered,
                    f.outcome
                ),
            });
        }
        if let Some(m) = &q.member {
            goals.push(Goal {
                name: format!(
                    "WeCom per-member guard: {} pushes to one member hold to 30 in the first minute, the rest after",
                    m.pushes
                ),
                met: m.first_minute == 30
                    && m.later == m.pushes - 30
                    && m.dropped == 0
                    && m.outcomes_delivered == m.pushes,
                detail: format!(
                    "{} in the first minute, {} later, {} dropped by WeCom, {} runs delivered",
                    m.first_minute, m.later, m.dropped, m.outcomes_delivered
                ),
            });
        }
    }

    fn ledger_goals(&self, goals: &mut Vec<Goal>) {
        let Some(l) = &self.ledger else {
            return;
        };
        if let Some(error) = &l.error {
            goals.push(Goal {
                name: "Run ledger: the scenario ran".into(),
                met: false,
                detail: error.clone(),
            });
        }
        let slowest = l
            .pushes
            .iter()
            .map(|p| p.mails_per_s)
            .fold(f64::INFINITY, f64::min);
        if !l.pushes.is_empty() {
            goals.push(Goal {
                name: "Run ledger: every e-mail push ≥ 2,000 mails/s from the answer to a final record".into(),
                met: slowest >= 2000.0
                    && l.pushes.iter().all(|p| p.received == p.recipients && p.twice == 0 && p.outcome == "delivered"),
                detail: l
                    .pushes
                    .iter()
                    .map(|p| format!("{}: {:.2} s = {:.0}/s (median of {:?} s), {} ({} received, {} twice)", p.recipients, p.seconds, p.mails_per_s, p.runs.iter().map(|s| (s * 100.0).round() / 100.0).collect::<Vec<_>>(), p.outcome, p.received, p.twice))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        let time_of = |n: usize| {
            l.pushes
                .iter()
                .find(|p| p.recipients == n)
                .map(|p| p.seconds)
        };
        if let (Some(a), Some(b)) = (time_of(1_000), time_of(4_000)) {
            goals.push(Goal {
                name: "Run ledger: 4× the recipients take ≤ 4.5× the time".into(),
                met: b <= 4.5 * a,
                detail: format!(
                    "1,000 in {a:.2} s, 4,000 in {b:.2} s (medians): ×{:.2}",
                    b / a
                ),
            });
        }
        if let Some(k) = &l.kills {
            goals.push(Goal {
                name: format!(
                    "Run ledger: the {}-member WeCom push beside it: 0 lost, 0 batches twice",
                    k.wecom_users
                ),
                met: k.wecom_lost == 0 && k.wecom_twice == 0 && k.wecom_outcome == "delivered",
                detail: format!(
                    "{} lost, {} members twice, {} resent batches swallowed by WeCom's duplicate check, {}",
                    k.wecom_lost, k.wecom_twice, k.wecom_resent_swallowed, k.wecom_outcome
                ),
            });
            goals.push(Goal {
                name: format!("Run ledger: {} SIGKILLs during a {}-mail push lose nothing", k.kills, k.recipients),
                met: k.lost == 0 && k.twice <= k.in_flight_bound && k.record_consistent
                    && k.resume_s.iter().all(|s| *s <= 2.0),
                detail: format!(
                    "lost {}, twice {} (≤ {} in flight at the kills), resumed after {} s, record {} ({})",
                    k.lost,
                    k.twice,
                    k.in_flight_bound,
                    k.resume_s.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>().join(" / "),
                    k.outcome,
                    if k.record_consistent { "consistent" } else { "INCONSISTENT" }
                ),
            });
        }
    }

    /// Issue 5's section: the ticket webhook's latency and peak.
    fn tickets_markdown(&self) -> String {
        let Some(t) = &self.tickets else {
            return String::new();
        };
        let mut out = String::from("\n### Ticket webhook (issue 5)\n\n");
        out.push_str(
            "Signed `pending_review` events, each to 2 reviewers (one English, one Chinese), posted over \
             loopback TCP to herald-local's Router (SQLite in a temp dir, the local delivery loop, \
             providers = the fakes). Latency: the client's 202 → the message's arrival at the fake \
             (per reviewer; \"all\" = the event's last message on every channel).\n\n",
        );
        if let Some(e) = &t.error {
            out.push_str(&format!("**The ticket scenario failed: {e}**\n\n"));
        }
        let lat = |c: &crate::tickets::ChannelLatency| {
            format!(
                "{}: p50 **{}**, p99 **{}**, max {} ({}/{})",
                c.channel,
                dur(c.p50_ms / 1000.0),
                dur(c.p99_ms / 1000.0),
                dur(c.max_ms / 1000.0),
                c.delivered,
                c.expected
            )
        };
        let refused = |p: &crate::tickets::PostStats| {
            if p.refused.is_empty() {
                "none refused".to_owned()
            } else {
                let mut s = p
                    .refused
                    .iter()
                    .map(|(c, n)| format!("{c} x{n}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Some(e) = p.first_errors.first() {
                    s.push_str(&format!(" (first: {e})"));
                }
                s
            }
        };
        let mut rows: Vec<[String; 4]> = Vec::new();
        if let Some(st) = &t.steady {
            rows.push([
                format!(
                    "steady {}/s for {} s ({})",
                    st.rate_per_s,
                    st.seconds,
                    st.channels.join(" + ")
                ),
                format!(
                    "{} of {} → 202 ({:.1}/s sent; {}); request p50 {}, p99 {}",
                    st.posts.accepted,
                    st.posts.sent,
                    st.achieved_rate_per_s,
                    refused(&st.posts),
                    dur(st.posts.request_p50_ms / 1000.0),
                    dur(st.posts.request_p99_ms / 1000.0)
                ),
                st.per_channel
                    .iter()
                    .chain([&st.event_complete])
                    .map(lat)
                    .collect::<Vec<_>>()
                    .join("; "),
                if st.all_delivered {
                    "all delivered".into()
                } else {
                    "NOT all delivered".into()
                },
            ]);
        }
        if let Some(pk) = &t.peak {
            rows.push([
                format!(
                    "peak, {} in flight for {:.1} s ({})",
                    pk.concurrency,
                    pk.seconds,
                    pk.channels.join(" + ")
                ),
                format!(
                    "**{:.0} accepted events/s** ({} of {} → 202; whole seconds {}–{}; {}); request p50 {}, p99 {}",
                    pk.accepted_per_s,
                    pk.posts.accepted,
                    pk.posts.sent,
                    pk.worst_second,
                    pk.best_second,
                    refused(&pk.posts),
                    dur(pk.posts.request_p50_ms / 1000.0),
                    dur(pk.posts.request_p99_ms / 1000.0)
                ),
                pk.per_channel
                    .iter()
                    .chain([&pk.event_complete])
                    .map(lat)
                    .collect::<Vec<_>>()
                    .join("; "),
                format!(
                    "{}: {} of {} messages, last {} after the last 202; {:.0} messages/s delivered",
                    if pk.caught_up { "caught up" } else { "DID NOT catch up" },
                    pk.delivered_messages,
                    pk.expected_messages,
                    dur(pk.catch_up_after_last_accept_s),
                    pk.delivered_per_s
                ),
            ]);
        }
        out.push_str("| run | webhook | accepted → delivered at the fake | deliveries |\n");
        out.push_str("|---|---|---|---|\n");
        for row in rows {
            let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        if t.peak.is_some() {
            out.push_str(
                "\nThe peak runs with Feishu switched off (admin API): Feishu's 50/s per-app quota would \
                 make its catch-up time the quota's, not Herald's.\n",
            );
        }
        out
    }

    pub fn markdown(&self) -> String {
        let d = self.driver();
        let mut rows: Vec<[String; 5]> = Vec::new();
        let na = || "n/a".to_owned();
        let apprise_note = self
            .apprise
            .as_ref()
            .and_then(|a| a.error.clone())
            .map(|e| format!("Apprise did not run: {e}"));

        if let Some(w) = &self.wecom {
            let a = self.apprise.as_ref();
            let fake_said = a
                .map(|a| {
                    a.wecom_calls
                        .get("wecom_send")
                        .map(|codes| {
                            codes
                                .iter()
                                .map(|(c, n)| format!("errcode {c} x{n}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_else(|| "no send call".into())
                })
                .unwrap_or_default();
            let delivered = a.map_or(0, |a| a.wecom_users_delivered);
            let apprise_cell = |mode: &str| {
                let t = f(&d, &["wecom_app", mode, "elapsed_s"]);
                let ok = s(&d, &["wecom_app", mode, "ok"]).unwrap_or_else(na);
                match t {
                    Some(t) => format!(
                        "{} for {} request(s): all {} users in ONE touser; Apprise returned {ok}",
                        dur(t),
                        s(&d, &["wecom_app", mode, "requests"]).unwrap_or_else(na),
                        w.users
                    ),
                    None => na(),
                }
            };
            rows.push([
                format!("1. WeCom app, {} users", w.users),
                format!(
                    "engine (SQLite+hub): **{}** = {:.2}x min; client: {} = {:.2}x min; calls: {} gettoken + {} send; {} users delivered",
                    dur(w.herald_engine.median_ms / 1000.0),
                    w.ratio_engine,
                    dur(w.herald_client.median_ms / 1000.0),
                    w.ratio_client,
                    w.herald_engine.gettoken_calls,
                    w.herald_engine.send_calls,
                    w.herald_engine.users_delivered
                ),
                format!(
                    "**{}** for 1 gettoken + {} sends (bare reqwest, sequential; median of {})",
                    dur(w.minimum.median_ms / 1000.0),
                    w.batches,
                    w.reps
                ),
                format!(
                    "{}; the fake answered: {fake_said} (both runs); users delivered: {delivered}",
                    apprise_cell("unthrottled")
                ),
                format!("{} (measured)", apprise_cell("default")),
            ]);
        }
        if let Some(m) = &self.smtp {
            let per = f(&d, &["mail", "per_mail", "mails_per_s"]);
            let per_n = s(&d, &["mail", "per_mail", "mails"]).unwrap_or_else(na);
            let batched = f(&d, &["mail", "batched", "mails_per_s"]);
            let batched_n = s(&d, &["mail", "batched", "mails"]).unwrap_or_else(na);
            let def = f(&d, &["mail", "default_per_mail", "seconds_per_mail"]);
            let def_n = s(&d, &["mail", "default_per_mail", "mails"]).unwrap_or_else(na);
            let engine = m
                .engine
                .as_ref()
                .map(|e| {
                    format!(
                        "; via the local engine loop (SQLite + delivery_loop, {} mails): {:.0} mails/s",
                        e.mails, e.mails_per_s
                    )
                })
                .unwrap_or_default();
            rows.push([
                format!("2. SMTP, {} mails with AUTH", m.mails),
                format!(
                    "**{:.0} mails/s** ({} in {}, {} in flight, {} failed, {} SMTP connections){engine}",
                    m.mails_per_s,
                    m.ok,
                    dur(m.elapsed_s),
                    m.concurrency,
                    m.failed,
                    m.sink_connections
                ),
                "no provider limit on loopback (sink)".into(),
                format!(
                    "one notify per mail: **{}** mails/s ({per_n} mails; 10,000 would take {} (extrapolated)); all recipients in one URL: {} mails/s ({batched_n} mails, one connection)",
                    per.map_or_else(na, |v| format!("{v:.1}")),
                    per.map_or_else(na, |v| dur(m.mails as f64 / v)),
                    batched.map_or_else(na, |v| format!("{v:.0}")),
                ),
                format!(
                    "one notify per mail: {} per mail ({def_n}-mail sample) → {} mails: {} (extrapolated); one URL for all: throttled once, ≈ unthrottled",
                    def.map_or_else(na, dur),
                    m.mails,
                    def.map_or_else(na, |v| dur(v * m.mails as f64))
                ),
            ]);
        }
        if let Some(fs) = &self.feishu {
            let r = &fs.herald;
            let e = &fs.herald_enforced;
            let un = f(&d, &["feishu", "unthrottled", "requests_per_s"]);
            let un_ok = s(&d, &["feishu", "unthrottled", "ok_count"]).unwrap_or_else(na);
            let un_n = s(&d, &["feishu", "unthrottled", "messages"]).unwrap_or_else(na);
            let status = s(&d, &["feishu", "unthrottled", "http_status"]).unwrap_or_else(na);
            let def = f(&d, &["feishu", "default", "seconds_per_request"]);
            rows.push([
                format!("3. Feishu, {} users", r.messages),
                format!(
                    "mean **{:.1}/s**, max **{}** in any 1 s; {} in {}; fake enforcing 50/s: {} refused (429), {} accepted in {}",
                    r.mean_rate_per_s,
                    r.max_in_any_window,
                    r.accepted,
                    dur(r.elapsed_s),
                    e.refused,
                    e.accepted,
                    dur(e.elapsed_s)
                ),
                "50/s per app (1000/min)".into(),
                format!(
                    "{} req/s ({un_n} requests, {un_ok} reported ok); feishu:// is the group custom-bot webhook (bot/v2/hook), not per-user im/v1/messages: the fake answered HTTP {status}",
                    un.map_or_else(na, |v| format!("{v:.0}"))
                ),
                format!(
                    "{} per request → {:.2}/s; {} messages: {} (extrapolated)",
                    def.map_or_else(na, dur),
                    def.map_or(f64::NAN, |v| 1.0 / v),
                    r.messages,
                    def.map_or_else(na, |v| dur(v * r.messages as f64))
                ),
            ]);
        }
        if let Some(rb) = &self.robot {
            let r = &rb.scaled;
            let first20 = rb.manual_offsets_s.iter().filter(|o| **o < 1.0).count();
            let at60 = rb
                .manual_offsets_s
                .iter()
                .filter(|o| (59.0..61.0).contains(*o))
                .count();
            let un_t = f(&d, &["robot", "unthrottled", "elapsed_s"]);
            let un_n = s(&d, &["robot", "unthrottled", "messages"]).unwrap_or_else(na);
            let un_ok = s(&d, &["robot", "unthrottled", "ok_count"]).unwrap_or_else(na);
            let robot_codes = self
                .apprise
                .as_ref()
                .and_then(|a| a.wecom_calls.get("wecom_robot"))
                .map(|codes| {
                    codes
                        .iter()
                        .map(|(c, n)| format!("errcode {c} x{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(na);
            let def = f(&d, &["robot", "default", "seconds_per_request"]);
            rows.push([
                "4. WeCom robot".into(),
                format!(
                    "scaled quota {} per {:.1} s: **{:.2}/s** after the first burst (quota {:.2}/s), max **{}** in any {:.1} s, {} refused; manual clock, real 20/min: {} at +0 s, {} at +60 s, max {} per 60 s, {} refused",
                    r.quota,
                    r.window_s,
                    r.steady_rate_per_s,
                    r.quota as f64 / r.window_s,
                    r.max_in_any_window,
                    r.window_s,
                    r.refused,
                    first20,
                    at60,
                    rb.manual_max_in_60s,
                    rb.manual_refused
                ),
                "20/min per robot".into(),
                format!(
                    "{un_n} messages in {}; Apprise reported {un_ok} ok; the fake (real 20/min) answered: {robot_codes} (both runs)",
                    un_t.map_or_else(na, dur)
                ),
                format!(
                    "{} per request → {:.1}/min (sample)",
                    def.map_or_else(na, dur),
                    def.map_or(f64::NAN, |v| 60.0 / v)
                ),
            ]);
        }

        let mut out = String::new();
        out.push_str("## Herald delivery benchmark (`make bench`)\n\n");
        out.push_str(&format!(
            "{}\n\nStarted {}; {} CPUs. Apprise 2.2.0 default throttle: `request_rate_per_sec = 5.5` s between requests of one plugin instance; unthrottled: set to 0.\n\n",
            self.note, self.started_at, self.host.cpus
        ));
        if let Some(note) = apprise_note {
            out.push_str(&format!("**{note}**\n\n"));
        }
        out.push_str(
            "| scenario | Herald | provider minimum | Apprise unthrottled | Apprise default |\n",
        );
        out.push_str("|---|---|---|---|---|\n");
        for row in rows {
            let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out.push_str(&self.tickets_markdown());
        out.push_str("\n### Goals (issues 3, 5 and 9)\n\n");
        for g in &self.goals {
            out.push_str(&format!(
                "- [{}] {} — {}\n",
                if g.met { "x" } else { " " },
                g.name,
                g.detail
            ));
        }
        let warnings = [
            (
                "WeCom app",
                s(&d, &["wecom_app", "unthrottled", "warnings"]),
            ),
            ("Feishu", s(&d, &["feishu", "unthrottled", "warnings"])),
            ("robot", s(&d, &["robot", "unthrottled", "warnings"])),
        ];
        out.push_str("\n### What Apprise logged (first warnings per plugin)\n\n");
        for (name, w) in warnings {
            out.push_str(&format!("- {name}: {}\n", w.unwrap_or_else(na)));
        }
        out
    }

    pub fn write(&self, dir: &Path, markdown: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(
            dir.join("delivery.json"),
            serde_json::to_string_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::write(dir.join("delivery.md"), markdown)
    }
}
