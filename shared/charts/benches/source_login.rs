//! `make bench`: a 12-chart page read from a source that signs in (a Superset-like server on
//! 127.0.0.1: JWT login, then each chart's data with the token), side by side with the same page
//! from public URLs, several times in one process. Goal (issue 24): the login adds at most one
//! round trip per process — not one per chart, and none on later pages.
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use herald_charts::{ChartLimits, HttpChartSource, SsrfPolicy};
use herald_core::domain::source::{
    Source, SourceAuth, SourceKind, SourceName, SourceProjects, SourceQuery, SupersetQuery,
};
use herald_core::domain::task::{Chart, ChartOrigin};
use herald_core::domain::text::{ChartName, HttpUrl, RowsPointer};
use herald_core::ports::{ChartSource, ReadContext, SourceAccess};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

const ROWS: &str = r#"[{"region": "华东", "gmv": 72958500}, {"region": "华北", "gmv": 51230000}]"#;

fn jwt() -> String {
    use base64::Engine;
    let exp = chrono::Utc::now().timestamp() + 3600;
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{{\"exp\":{exp}}}"));
    format!("e30.{payload}.sig")
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let (logins, reads) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let token = jwt();
    let router = {
        let (logins, reads, token) = (logins.clone(), reads.clone(), token.clone());
        let expected = format!("Bearer {token}");
        Router::new()
            .route(
                "/api/v1/security/login",
                post(move || {
                    logins.fetch_add(1, Ordering::SeqCst);
                    let token = token.clone();
                    async move {
                        axum::Json(serde_json::json!({"access_token": token, "refresh_token": "r"}))
                    }
                }),
            )
            .route(
                "/api/v1/chart/{id}/data/",
                get(move |headers: HeaderMap, Path(_id): Path<u64>| {
                    let ok = headers.get("authorization").and_then(|v| v.to_str().ok())
                        == Some(expected.as_str());
                    reads.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if !ok {
                            return (
                                StatusCode::UNAUTHORIZED,
                                r#"{"msg": "Token has expired"}"#.to_owned(),
                            );
                        }
                        (
                            StatusCode::OK,
                            format!(r#"{{"result": [{{"data": {ROWS}}}]}}"#),
                        )
                    }
                }),
            )
            .route(
                "/public/{id}",
                get(|| async { format!(r#"{{"data": {ROWS}}}"#) }),
            )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });

    let reader = HttpChartSource::new(ChartLimits::default(), SsrfPolicy::allowing(["127.0.0.1"]))?;
    let name = SourceName::parse("superset")?;
    let source = Source {
        name: name.clone(),
        kind: SourceKind::Superset,
        base_url: HttpUrl::parse(base.clone())?,
        auth: SourceAuth::Login {
            username: "bot".into(),
            provider: None,
        },
        projects: SourceProjects::All,
        private_network: false,
    };
    let mut context = ReadContext::at(chrono::Utc::now().with_timezone(&chrono_tz::Tz::UTC));
    context.sources.insert(
        name.clone(),
        SourceAccess {
            source,
            secret: Some(secrecy::SecretString::from("pw")),
        },
    );
    let chart = |i: u64, origin: ChartOrigin, rows: &str| -> BenchResult<Chart> {
        Ok(Chart {
            name: ChartName::parse(format!("chart {i}"))?,
            origin,
            rows: RowsPointer::parse(rows)?,
            display: Default::default(),
            fields: Default::default(),
            max_rows: Default::default(),
        })
    };
    let from_source: Vec<Chart> = (1..=12)
        .map(|i| {
            chart(
                i,
                ChartOrigin::Source {
                    source: name.clone(),
                    query: SourceQuery::Superset(SupersetQuery { chart: i }),
                },
                "",
            )
        })
        .collect::<BenchResult<_>>()?;
    let public: Vec<Chart> = (1..=12)
        .map(|i| {
            chart(
                i,
                ChartOrigin::Url {
                    data_url: HttpUrl::parse(format!("{base}/public/{i}"))?,
                },
                "/data",
            )
        })
        .collect::<BenchResult<_>>()?;

    let pages = if std::env::args().any(|a| a == "--bench") {
        20
    } else {
        3
    };
    let (mut source_ms, mut public_ms) = (Vec::new(), Vec::new());
    for page in 0..pages {
        // Interleaved, so the machine's noise falls on both alike.
        for (charts, times) in [(&from_source, &mut source_ms), (&public, &mut public_ms)] {
            let started = Instant::now();
            let read = reader.check_charts(charts, &context).await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            let ok = read
                .iter()
                .filter(|r| {
                    matches!(
                        r.check.state,
                        herald_core::domain::run::ChartState::Ok { .. }
                    )
                })
                .count();
            assert_eq!(
                ok,
                12,
                "page {page}: {:?}",
                read.iter().map(|r| &r.check.state).collect::<Vec<_>>()
            );
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let logins = logins.load(Ordering::SeqCst);
    let requests = logins + reads.load(Ordering::SeqCst);
    println!(
        "sources: 12-chart page ×{pages}: signed-in source median {:.1} ms vs public URLs {:.1} ms; {requests} requests for {} charts = {logins} login(s) per process (goal ≤ 1: {})",
        median(source_ms),
        median(public_ms),
        12 * pages,
        if logins <= 1 && requests == 12 * pages as u64 + logins {
            "goal met"
        } else {
            "GOAL MISSED"
        }
    );
    Ok(())
}
