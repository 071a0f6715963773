//! `make bench`: a page of 50 charts that each answer in 200 ms, and memory while reading pages of
//! 10 MB chart responses. Servers run on 127.0.0.1 in this process.
use axum::Router;
use axum::body::Bytes;
use axum::routing::get;
use herald_charts::{ChartLimits, HttpChartSource, SsrfPolicy};
use herald_core::domain::task::Chart;
use herald_core::domain::text::{ChartName, HttpUrl, RowsPointer};
use herald_core::ports::ChartSource;
use std::error::Error;
use std::time::{Duration, Instant};

type BenchResult<T> = Result<T, Box<dyn Error>>;

#[tokio::main]
async fn main() -> BenchResult<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let big = Bytes::from(ten_megabyte_document());
    let router = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                r#"{"data": {"rows": [1, 2, 3]}}"#
            }),
        )
        .route("/big", get(move || async move { big.clone() }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let source = HttpChartSource::new(ChartLimits::default(), SsrfPolicy::allowing(["127.0.0.1"]))?;
    let now =
        herald_core::ports::ReadContext::at(chrono::Utc::now().with_timezone(&chrono_tz::Tz::UTC));

    let page = charts(&base, "/slow", 50)?;
    let started = Instant::now();
    let checks = source
        .check_charts(&page, &now)
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    println!(
        "charts: 50 charts of 200 ms checked in {:.0} ms (one by one: {} ms); {} ok",
        started.elapsed().as_secs_f64() * 1000.0,
        50 * 200,
        checks.iter().filter(|c| c.state.clone() == ok(3)).count()
    );

    // Issue 9: 50 charts of 10 MB held within the reader's byte budget (32 MiB by default).
    let page = charts(&base, "/big", 50)?;
    let before = proc_status_mib("VmRSS:").unwrap_or(0);
    for round in 1..=3 {
        let started = Instant::now();
        let checks = source
            .check_charts(&page, &now)
            .await
            .into_iter()
            .map(|r| r.check)
            .collect::<Vec<_>>();
        println!(
            "charts: round {round}: 50 charts of 10 MB in {:.0} ms, {} ok; peak RSS {} MiB, RSS {} MiB, peak growth {} MiB (target ≤ 64)",
            started.elapsed().as_secs_f64() * 1000.0,
            checks
                .iter()
                .filter(|c| c.state.clone() == ok(1_000_000))
                .count(),
            proc_status_mib("VmHWM:").unwrap_or(0),
            proc_status_mib("VmRSS:").unwrap_or(0),
            proc_status_mib("VmHWM:")
                .unwrap_or(0)
                .saturating_sub(before),
        );
    }
    Ok(())
}

fn ok(rows: usize) -> herald_core::domain::run::ChartState {
    herald_core::domain::run::ChartState::Ok { rows }
}

fn charts(base: &str, path: &str, n: usize) -> BenchResult<Vec<Chart>> {
    (1..=n)
        .map(|i| {
            Ok(Chart {
                name: ChartName::parse(format!("chart {i}"))?,
                origin: herald_core::domain::task::ChartOrigin::Url {
                    data_url: HttpUrl::parse(format!("{base}{path}?n={i}"))?,
                },
                rows: RowsPointer::parse("/data/rows")?,
                display: Default::default(),
                fields: Default::default(),
                max_rows: Default::default(),
            })
        })
        .collect()
}

/// About 10 MB: `{"data": {"rows": [[1,2.5], ...]}}` with a million rows.
fn ten_megabyte_document() -> Vec<u8> {
    let mut body = b"{\"data\":{\"rows\":[".to_vec();
    for i in 0..1_000_000 {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(b"[1,2.50]");
    }
    body.extend_from_slice(b"]}}");
    body
}

/// A memory line of /proc/self/status in MiB (Linux only).
fn proc_status_mib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
