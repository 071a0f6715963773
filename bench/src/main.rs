//! `make bench`: Herald's delivery figures next to the provider minimum and Apprise, measured side by
//! side in one run against the same fake providers on loopback (herald-fakes).
//!
//! Scenarios (see issue 3, "make bench"):
//! 1. WeCom app to N users (`HERALD_BENCH_USERS`, default 10,000): Herald's calls and wall time vs a
//!    bare reqwest client doing exactly 1 gettoken + ⌈N/1000⌉ sends, sequentially.
//! 2. SMTP: `HERALD_BENCH_MAILS` (10,000) mails with AUTH through `SmtpSender`, 16 in flight.
//! 3. Feishu: 500 messages to distinct users through `FeishuClient` (50/s limit).
//! 4. WeCom robot: a scaled window quota in real time, plus the real 20/min on a manual clock.
//! 5. Ticket webhook (issue 5, `tickets`): signed events over loopback TCP into herald-local's
//!    Router and delivery loop; accepted → delivered-at-fake latency and peak accepted events/s.
//!
//! 6. Run ledger (issue 9, `ledger`): the herald-local binary pushing e-mail to 1,000 / 4,000 /
//!    10,000 addresses through an SMTP server on loopback, then the same push with 5 SIGKILLs.
//!
//! 7. Provider quotas (issue 13, `quotas`): the herald-local binary pushing to 1,500 Feishu users
//!    at 50/s and 1,000/min, and 40 pushes at once to one WeCom member (30 a minute).
//!
//! Apprise runs from `scripts/bench_apprise.py` against the same servers while they are up.
mod apprise;
mod chaos;
mod ledger;
mod local;
mod quotas;
mod report;
mod scenarios;
mod setup;
mod tickets;

use report::Report;
use std::time::Duration;

/// A knob from the environment, or its default.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(run());
    runtime.shutdown_timeout(Duration::from_secs(1));
    std::process::exit(code);
}

async fn run() -> i32 {
    if std::env::var("HERALD_BENCH_ONLY").as_deref() == Ok("chaos") {
        return chaos_only().await;
    }
    let knobs = setup::Knobs::from_env();
    eprintln!(
        "herald-bench: {} WeCom users, {} mails ({} in flight), {} Feishu messages, {} repetitions",
        knobs.users, knobs.mails, knobs.smtp_concurrency, knobs.feishu_messages, knobs.reps
    );
    let fakes = match setup::Fakes::start(&knobs).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("herald-bench: could not start the fakes: {e}");
            return 2;
        }
    };
    let mut report = Report::new(&knobs);

    eprintln!("[1/8] WeCom app: provider minimum, Herald client, Herald engine (SQLite)");
    if knobs.runs("wecom") {
        report.wecom = Some(scenarios::wecom_app(&knobs, &fakes).await);
    }
    eprintln!("[2/8] SMTP through SmtpSender");
    if knobs.runs("smtp") {
        report.smtp = Some(scenarios::smtp(&knobs, &fakes).await);
    }
    eprintln!("[3/8] Feishu through FeishuClient");
    if knobs.runs("feishu") {
        report.feishu = Some(scenarios::feishu(&knobs, &fakes).await);
    }
    eprintln!("[4/8] WeCom robot (scaled window in real time; real 20/min on a manual clock)");
    if knobs.runs("robot") {
        report.robot = Some(scenarios::robot(&knobs, &fakes).await);
    }
    eprintln!("[5/8] Apprise 2.2.0 against the same fakes (scripts/bench_apprise.py)");
    if knobs.runs("apprise") {
        report.apprise = Some(apprise::run(&knobs, &fakes).await);
    }
    eprintln!("[6/8] Ticket webhook over loopback (herald-local's Router, SQLite, delivery loop)");
    if knobs.runs("tickets") {
        report.tickets = Some(tickets::run().await);
    }

    eprintln!(
        "[7/8] Run ledger: herald-local pushing e-mail to 1k/4k/10k addresses, then SIGKILLs"
    );
    if knobs.runs("ledger") {
        report.ledger = Some(ledger::run().await);
    }

    eprintln!(
        "[8/8] Provider quotas: herald-local pushing to Feishu and WeCom fakes at the real quotas"
    );
    if knobs.runs("quotas") {
        report.quotas = Some(quotas::run().await);
    }

    report.finish();
    let markdown = report.markdown();
    println!("{markdown}");
    if let Err(e) = report.write(&knobs.out_dir, &markdown) {
        eprintln!("herald-bench: could not write the report: {e}");
        return 2;
    }
    eprintln!(
        "herald-bench: wrote {}/delivery.json and {}/delivery.md",
        knobs.out_dir.display(),
        knobs.out_dir.display()
    );
    0
}

/// The chaos soak alone (`make soak`, and bench/tests/chaos.rs): its figures as JSON on stdout
/// and in `target/bench/chaos.json`; exit 1 if anything was lost or sent twice.
async fn chaos_only() -> i32 {
    eprintln!("herald-bench: chaos and load against faulty fakes");
    let result = chaos::run().await;
    let json = serde_json::to_string_pretty(&result).unwrap_or_default();
    println!("{json}");
    let out = std::env::var("HERALD_BENCH_OUT").unwrap_or_else(|_| "target/bench".into());
    if std::fs::create_dir_all(&out)
        .and_then(|()| std::fs::write(format!("{out}/chaos.json"), &json))
        .is_err()
    {
        eprintln!("herald-bench: could not write {out}/chaos.json");
    }
    let clean = result.error.is_none()
        && result.tickets.lost == 0
        && result.tickets.duplicated == 0
        && result.pushes.lost == 0
        && result.pushes.duplicated == 0;
    i32::from(!clean)
}
