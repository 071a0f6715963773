//! A page of 50 charts that each take 200 ms is read in one wave, not one by one.
mod support;

use axum::Router;
use axum::routing::get;
use herald_charts::ChartLimits;
use herald_core::domain::run::ChartState;
use herald_core::ports::ChartSource;
use std::time::{Duration, Instant};
use support::{chart, local_source, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_charts_of_200_ms_finish_in_under_400_ms() {
    let router = Router::new().route(
        "/chart/{n}",
        get(
            |axum::extract::Path(n): axum::extract::Path<usize>| async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                format!("{{\"rows\": {:?}}}", vec![0; n])
            },
        ),
    );
    let base = format!("http://{}", serve(router).await);
    let charts: Vec<_> = (1..=50)
        .map(|n| chart(&format!("chart {n}"), &format!("{base}/chart/{n}"), "/rows"))
        .collect();
    let source = local_source(ChartLimits::default());

    let started = Instant::now();
    let checks = source
        .check_charts(&charts, &support::now())
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    let elapsed = started.elapsed();

    assert!(elapsed < Duration::from_millis(400), "took {elapsed:?}");
    for (n, check) in (1..=50).zip(&checks) {
        assert_eq!(check.name.as_str(), format!("chart {n}"));
        assert_eq!(check.state, ChartState::Ok { rows: n });
        assert!(check.elapsed_ms >= 200, "{}", check.elapsed_ms);
    }
}
