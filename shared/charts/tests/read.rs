//! Reading and classifying charts from real HTTP servers on 127.0.0.1.
mod support;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use futures::StreamExt;
use herald_charts::ChartLimits;
use herald_core::domain::run::ChartState;
use herald_core::ports::ChartSource;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{chart, local_source, reason, serve};

async fn chart_server() -> String {
    let router = Router::new()
        .route("/ok", get(|| async { r#"{"data": {"rows": [1, 2, 3]}}"# }))
        .route("/list", get(|| async { "[{}, {}]" }))
        .route("/empty", get(|| async { r#"{"data": {"rows": []}}"# }))
        .route(
            "/object",
            get(|| async { r#"{"data": {"rows": {"a": 1}}}"# }),
        )
        .route("/invalid", get(|| async { "<html>oops</html>" }))
        .route("/404", get(|| async { StatusCode::NOT_FOUND }))
        .route("/500", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route("/503", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "[1]"
            }),
        )
        .route(
            "/moved",
            get(|| async { (StatusCode::FOUND, [("location", "/ok")]) }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [("location", "/loop")]) }),
        );
    format!("http://{}", serve(router).await)
}

#[tokio::test]
async fn charts_are_classified_in_input_order() {
    let base = chart_server().await;
    let charts = vec![
        chart("ok", &format!("{base}/ok"), "/data/rows"),
        chart("whole document", &format!("{base}/list"), ""),
        chart("empty", &format!("{base}/empty"), "/data/rows"),
        chart("not found", &format!("{base}/404"), "/data/rows"),
        chart("server error", &format!("{base}/500"), "/data/rows"),
        chart("unavailable", &format!("{base}/503"), "/data/rows"),
        chart("invalid", &format!("{base}/invalid"), "/data/rows"),
        chart("missing pointer", &format!("{base}/ok"), "/data/items"),
        chart("not an array", &format!("{base}/object"), "/data/rows"),
        chart("document not an array", &format!("{base}/object"), ""),
        chart("redirected", &format!("{base}/moved"), "/data/rows"),
        chart("redirect loop", &format!("{base}/loop"), ""),
    ];
    let checks = local_source(ChartLimits::default())
        .check_charts(&charts, &support::now())
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();

    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    let expected: Vec<&str> = charts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, expected);
    assert_eq!(checks[0].state, ChartState::Ok { rows: 3 });
    assert_eq!(checks[1].state, ChartState::Ok { rows: 2 });
    assert_eq!(checks[2].state, ChartState::Empty);
    assert_eq!(reason(&checks[3]), "HTTP 404");
    assert_eq!(reason(&checks[4]), "HTTP 500");
    assert_eq!(reason(&checks[5]), "HTTP 503");
    assert!(
        reason(&checks[6]).starts_with("invalid JSON: "),
        "{}",
        reason(&checks[6])
    );
    assert_eq!(reason(&checks[7]), "no value at /data/items");
    assert_eq!(reason(&checks[8]), "value at /data/rows is not an array");
    assert_eq!(reason(&checks[9]), "the document is not an array");
    assert_eq!(checks[10].state, ChartState::Ok { rows: 3 });
    assert_eq!(reason(&checks[11]), "too many redirects (more than 5)");
}

#[tokio::test]
async fn slow_chart_times_out_on_its_own_timeout() {
    let base = chart_server().await;
    let limits = ChartLimits {
        per_chart_timeout: Duration::from_millis(300),
        ..ChartLimits::default()
    };
    let charts = [
        chart("slow", &format!("{base}/slow"), ""),
        chart("ok", &format!("{base}/ok"), "/data/rows"),
    ];
    let started = Instant::now();
    let checks = local_source(limits)
        .check_charts(&charts, &support::now())
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(reason(&checks[0]), "timed out after 0.3 s");
    assert!(
        (300..1500).contains(&checks[0].elapsed_ms),
        "{}",
        checks[0].elapsed_ms
    );
    assert_eq!(checks[1].state, ChartState::Ok { rows: 3 });
}

#[tokio::test]
async fn charts_unread_at_the_overall_deadline_are_access_errors() {
    let base = chart_server().await;
    let limits = ChartLimits {
        per_chart_timeout: Duration::from_secs(10),
        overall_deadline: Duration::from_millis(400),
        max_concurrency: 1,
        ..ChartLimits::default()
    };
    let charts = [
        chart("ok", &format!("{base}/ok"), "/data/rows"),
        chart("slow", &format!("{base}/slow"), ""),
        chart("never started", &format!("{base}/ok"), "/data/rows"),
    ];
    let started = Instant::now();
    let checks = local_source(limits)
        .check_charts(&charts, &support::now())
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(checks[0].state, ChartState::Ok { rows: 3 });
    assert_eq!(
        reason(&checks[1]),
        "not read within the overall deadline of 0.4 s"
    );
    assert_eq!(
        reason(&checks[2]),
        "not read within the overall deadline of 0.4 s"
    );
}

#[tokio::test]
async fn body_over_the_cap_is_refused_without_reading_it_all() {
    // 50 MiB of `[1,1,1,...` streamed in 64 KiB chunks, no Content-Length.
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let router = Router::new().route(
        "/huge",
        get(move || {
            let counter = Arc::clone(&counter);
            async move {
                let chunk = Bytes::from("1,".repeat(32 * 1024));
                let stream = futures::stream::iter(0..800).map(move |i| {
                    counter.fetch_add(chunk.len(), Ordering::SeqCst);
                    let bytes = if i == 0 {
                        Bytes::from(format!("[{}", String::from_utf8_lossy(&chunk)))
                    } else {
                        chunk.clone()
                    };
                    Ok::<_, std::io::Error>(bytes)
                });
                Body::from_stream(stream)
            }
        }),
    );
    let base = format!("http://{}", serve(router).await);

    let started = Instant::now();
    let checks = local_source(ChartLimits::default())
        .check_charts(
            &[chart("huge", &format!("{base}/huge"), "")],
            &support::now(),
        )
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();

    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(reason(&checks[0]), "response larger than 10 MiB");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent_mib = sent.load(Ordering::SeqCst) / (1024 * 1024);
    // The server stops once the client hangs up: what it produced is the cap plus socket buffers.
    assert!(sent_mib < 30, "server produced {sent_mib} MiB");
}

#[tokio::test]
async fn declared_length_over_the_cap_is_refused_before_reading() {
    let router = Router::new().route(
        "/big",
        get(|| async { vec![b' '; 2 * 1024 * 1024].into_response() }),
    );
    let base = format!("http://{}", serve(router).await);
    let limits = ChartLimits {
        max_body_bytes: 1024 * 1024,
        ..ChartLimits::default()
    };
    let checks = local_source(limits)
        .check_charts(&[chart("big", &format!("{base}/big"), "")], &support::now())
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    assert_eq!(reason(&checks[0]), "response larger than 1 MiB");
}

#[tokio::test]
async fn ten_megabyte_chart_under_the_cap_is_counted() {
    let mut body = String::from("{\"data\":{\"rows\":[");
    let rows = 1_000_000;
    for i in 0..rows {
        if i > 0 {
            body.push(',');
        }
        body.push_str("[1,2.5]");
    }
    body.push_str("]}}");
    assert!(body.len() > 8_000_000);
    let router = Router::new().route("/big", get(move || async move { body }));
    let base = format!("http://{}", serve(router).await);
    let checks = local_source(ChartLimits::default())
        .check_charts(
            &[chart("big", &format!("{base}/big"), "/data/rows")],
            &support::now(),
        )
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    assert_eq!(checks[0].state, ChartState::Ok { rows });
}

#[tokio::test]
async fn connection_refused_is_an_access_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let checks = local_source(ChartLimits::default())
        .check_charts(
            &[chart("gone", &format!("http://{addr}/x"), "")],
            &support::now(),
        )
        .await
        .into_iter()
        .map(|r| r.check)
        .collect::<Vec<_>>();
    assert!(
        reason(&checks[0]).starts_with("could not connect: "),
        "{}",
        reason(&checks[0])
    );
}

/// Bodies held at once never exceed the byte budget: 8 charts of 300 KB under a 700 KB budget
/// (though 64 may be in flight) are held at most two at a time, and all are read.
#[tokio::test]
async fn bodies_in_flight_stay_within_the_byte_budget() {
    const SIZE: usize = 300_001;
    let router = Router::new().route(
        "/big",
        get(|| async {
            // `[0,0,…,0]` of SIZE bytes, in 10 chunks 10 ms apart.
            let mut doc = vec![b'0'; SIZE];
            doc[0] = b'[';
            doc[SIZE - 1] = b']';
            for i in (2..SIZE - 2).step_by(2) {
                doc[i] = b',';
            }
            let chunks: Vec<Bytes> = doc.chunks(SIZE / 10).map(Bytes::copy_from_slice).collect();
            let stream = futures::stream::iter(chunks).then(|c| async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok::<_, std::io::Error>(c)
            });
            (
                [("content-length", SIZE.to_string())],
                Body::from_stream(stream),
            )
                .into_response()
        }),
    );
    let base = format!("http://{}", serve(router).await);
    let source = local_source(ChartLimits {
        max_body_bytes: 400_000,
        max_bytes_in_flight: 700_000,
        ..ChartLimits::default()
    });
    let charts: Vec<_> = (0..8)
        .map(|i| chart(&format!("big {i}"), &format!("{base}/big"), ""))
        .collect();
    let readings = source.check_charts(&charts, &support::now()).await;
    assert!(
        readings
            .iter()
            .all(|r| matches!(r.check.state, ChartState::Ok { rows } if rows == SIZE / 2)),
        "{:?}",
        readings.iter().map(|r| &r.check.state).collect::<Vec<_>>()
    );
    let peak = source.bytes_in_flight_peak();
    assert!(
        (SIZE as u64..=700_000).contains(&peak),
        "{peak} bytes held at once under a budget of 700,000"
    );
}

/// A slow body without `Content-Length` holds the budget for what it has sent, not for the whole
/// body cap: a page's declared body is read while it stalls (before: it waited for the stall).
#[tokio::test]
async fn a_slow_body_without_a_length_does_not_hold_the_budget_of_others() {
    const DECLARED: usize = 600_001;
    let router = Router::new()
        .route(
            "/slow",
            get(|| async {
                // "[1" now, the rest after 3 s, with no length: chunked.
                let stream = futures::stream::iter([b"[1".as_slice(), b",2]".as_slice()])
                    .enumerate()
                    .then(|(i, c)| async move {
                        if i > 0 {
                            tokio::time::sleep(Duration::from_secs(3)).await;
                        }
                        Ok::<_, std::io::Error>(Bytes::from_static(c))
                    });
                Body::from_stream(stream).into_response()
            }),
        )
        .route(
            "/declared",
            get(|| async {
                let mut doc = vec![b'0'; DECLARED];
                doc[0] = b'[';
                doc[DECLARED - 1] = b']';
                for i in (2..DECLARED - 2).step_by(2) {
                    doc[i] = b',';
                }
                ([("content-length", DECLARED.to_string())], doc).into_response()
            }),
        );
    let base = format!("http://{}", serve(router).await);
    // One body cap of budget: the slow body reserving the cap would leave nothing for the other.
    let source = local_source(ChartLimits {
        max_body_bytes: 1_000_000,
        max_bytes_in_flight: 1_000_000,
        ..ChartLimits::default()
    });
    let slow = chart("slow", &format!("{base}/slow"), "");
    let declared = chart("declared", &format!("{base}/declared"), "");
    // The slow chart starts first (the reads are buffered in order).
    let readings = source
        .check_charts(&[slow, declared], &support::now())
        .await;
    let states: Vec<_> = readings.iter().map(|r| &r.check.state).collect();
    assert!(
        matches!(
            states[..],
            [ChartState::Ok { rows: 2 }, ChartState::Ok { .. }]
        ),
        "{states:?}"
    );
    assert!(
        readings[1].check.elapsed_ms < readings[0].check.elapsed_ms,
        "the declared body was read while the slow one stalled: {} ms vs {} ms",
        readings[1].check.elapsed_ms,
        readings[0].check.elapsed_ms
    );
    assert!(source.bytes_in_flight_peak() <= 1_000_000);
}

/// Bodies without a length that grow while others do never wait for each other: a reader that
/// needs more than is free gives back what it holds and waits for all it needs at once.
#[tokio::test]
async fn growing_bodies_without_a_length_all_arrive_under_a_small_budget() {
    const SIZE: usize = 400_001;
    let router = Router::new().route(
        "/grow",
        get(|| async {
            let mut doc = vec![b'0'; SIZE];
            doc[0] = b'[';
            doc[SIZE - 1] = b']';
            for i in (2..SIZE - 2).step_by(2) {
                doc[i] = b',';
            }
            let chunks: Vec<Bytes> = doc.chunks(SIZE / 20).map(Bytes::copy_from_slice).collect();
            let stream = futures::stream::iter(chunks).then(|c| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Ok::<_, std::io::Error>(c)
            });
            Body::from_stream(stream).into_response()
        }),
    );
    let base = format!("http://{}", serve(router).await);
    let source = local_source(ChartLimits {
        max_body_bytes: 1_000_000,
        max_bytes_in_flight: 1_000_000,
        per_chart_timeout: Duration::from_secs(20),
        overall_deadline: Duration::from_secs(25),
        ..ChartLimits::default()
    });
    let charts: Vec<_> = (0..6)
        .map(|i| chart(&format!("grow {i}"), &format!("{base}/grow"), ""))
        .collect();
    let readings = source.check_charts(&charts, &support::now()).await;
    let states: Vec<_> = readings.iter().map(|r| &r.check.state).collect();
    assert!(
        states
            .iter()
            .all(|s| matches!(s, ChartState::Ok { rows } if *rows == SIZE / 2)),
        "{states:?}"
    );
    assert!(source.bytes_in_flight_peak() <= 1_000_000);
}
