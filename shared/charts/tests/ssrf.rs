//! The SSRF guard: internal addresses are refused before any connection, unless allowlisted.
//! No test here sends traffic anywhere but 127.0.0.1.
mod support;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use herald_charts::{ChartLimits, HttpChartSource, SsrfPolicy};
use herald_core::domain::run::ChartState;
use herald_core::ports::ChartSource;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use support::{chart, counting_listener, local_source, reason, serve};

fn guarded_source() -> HttpChartSource {
    HttpChartSource::new(ChartLimits::default(), SsrfPolicy::default()).unwrap()
}

const HINT: &str = "(SSRF guard); allow the host in HERALD_CHART_ALLOW_HOSTS if this is intended";

#[tokio::test]
async fn metadata_address_is_refused_before_connecting() {
    let checks = guarded_source()
        .check_charts(
            &[chart("meta", "http://169.254.169.254/latest/meta-data", "")],
            &support::now(),
        )
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    assert_eq!(
        reason(&checks[0]),
        format!("refused: 169.254.169.254 is a link-local address {HINT}")
    );
    assert!(checks[0].elapsed_ms < 100, "{}", checks[0].elapsed_ms);
}

#[tokio::test]
async fn internal_ip_literals_are_refused() {
    let cases = [
        ("http://10.0.0.1/", "refused: 10.0.0.1 is a private address"),
        ("http://[::1]/", "refused: ::1 is a loopback address"),
        (
            "http://[::ffff:127.0.0.1]/",
            "refused: ::ffff:127.0.0.1 is a loopback address",
        ),
        (
            "http://100.64.0.1/",
            "refused: 100.64.0.1 is a carrier-grade NAT address",
        ),
        (
            "http://[fd00::1]/",
            "refused: fd00::1 is a unique-local address",
        ),
        (
            "http://0.0.0.0/",
            "refused: 0.0.0.0 is an unspecified address",
        ),
    ];
    let charts: Vec<_> = cases.iter().map(|(url, _)| chart("c", url, "")).collect();
    let checks = guarded_source()
        .check_charts(&charts, &support::now())
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    for ((url, expected), check) in cases.iter().zip(&checks) {
        assert_eq!(reason(check), format!("{expected} {HINT}"), "{url}");
    }
}

#[tokio::test]
async fn loopback_is_refused_unless_allowed() {
    let (addr, accepted) = counting_listener().await;
    let url = format!("http://{addr}/data");

    let refused = guarded_source()
        .check_charts(&[chart("c", &url, "")], &support::now())
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    assert_eq!(
        reason(&refused[0]),
        format!("refused: 127.0.0.1 is a loopback address {HINT}")
    );
    let wrong_port = HttpChartSource::new(
        ChartLimits::default(),
        SsrfPolicy::allowing([format!("127.0.0.1:{}", addr.port().wrapping_add(1))]),
    )
    .unwrap()
    .check_charts(&[chart("c", &url, "")], &support::now())
    .await
    .into_iter()
    .map(|r| r.check)
    .collect::<Vec<_>>();
    assert!(reason(&wrong_port[0]).starts_with("refused: 127.0.0.1 is allowed only on port"));
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a refused address was connected to"
    );

    let router = Router::new().route("/data", get(|| async { "[1, 2]" }));
    let server = serve(router).await;
    let url = format!("http://{server}/data");
    for policy in [
        SsrfPolicy::allowing(["127.0.0.1"]),
        SsrfPolicy::from_list(&format!("example.com, 127.0.0.1:{}", server.port())),
    ] {
        let source = HttpChartSource::new(ChartLimits::default(), policy).unwrap();
        let checks = source
            .check_charts(&[chart("c", &url, "")], &support::now())
            .await
            .into_iter()
            .map(|r| r.check)
            .collect::<Vec<_>>();
        assert_eq!(checks[0].state, ChartState::Ok { rows: 2 });
    }
}

#[tokio::test]
async fn host_names_resolving_to_loopback_are_refused_by_the_resolver() {
    let (addr, accepted) = counting_listener().await;
    let charts = [
        chart("default port", "http://localhost/", ""),
        chart(
            "listener",
            &format!("http://localhost:{}/", addr.port()),
            "",
        ),
    ];
    let checks = guarded_source()
        .check_charts(&charts, &support::now())
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    for check in &checks {
        let reason = reason(check);
        assert!(
            reason.starts_with("refused: localhost resolves to ")
                && reason.contains("a loopback address (SSRF guard)"),
            "{reason}"
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "localhost was connected to"
    );
}

#[tokio::test]
async fn allowlisted_host_name_connects_through_the_resolver() {
    let router = Router::new().route("/data", get(|| async { "[1]" }));
    let server = serve(router).await;
    let source =
        HttpChartSource::new(ChartLimits::default(), SsrfPolicy::allowing(["localhost"])).unwrap();
    let url = format!("http://localhost:{}/data", server.port());
    let checks = source
        .check_charts(&[chart("c", &url, "")], &support::now())
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    assert_eq!(checks[0].state, ChartState::Ok { rows: 1 });
}

#[tokio::test]
async fn redirect_to_a_refused_address_is_refused() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let router = Router::new()
        .route(
            "/to-metadata",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async {
                    (
                        StatusCode::FOUND,
                        [("location", "http://169.254.169.254/latest/meta-data")],
                    )
                }
            }),
        )
        .route(
            "/to-localhost",
            get(|| async { (StatusCode::FOUND, [("location", "http://localhost/x")]) }),
        );
    let base = format!("http://{}", serve(router).await);
    let checks = local_source(ChartLimits::default())
        .check_charts(
            &[
                chart("meta", &format!("{base}/to-metadata"), ""),
                chart("localhost", &format!("{base}/to-localhost"), ""),
            ],
            &support::now(),
        )
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(
        reason(&checks[0]),
        format!("refused: 169.254.169.254 is a link-local address {HINT}")
    );
    assert!(
        reason(&checks[1]).starts_with("refused: localhost resolves to "),
        "{}",
        reason(&checks[1])
    );
}

#[test]
fn non_http_schemes_are_refused() {
    // `HttpUrl` already refuses them when a task is saved; the guard refuses them again.
    assert!(herald_core::domain::text::HttpUrl::parse("ftp://x/").is_err());
    let url = url::Url::parse("ftp://x/").unwrap();
    let err = SsrfPolicy::default().check_url(&url).unwrap_err();
    assert!(err.to_string().starts_with("refused: ftp URLs"));
}
