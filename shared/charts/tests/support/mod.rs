//! Test servers on 127.0.0.1 and chart builders.
#![allow(dead_code)]
use axum::Router;
use herald_charts::{ChartLimits, HttpChartSource, SsrfPolicy};
use herald_core::domain::run::{ChartCheck, ChartState};
use herald_core::domain::task::Chart;
use herald_core::domain::text::{ChartName, HttpUrl, RowsPointer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Serves `router` on an ephemeral 127.0.0.1 port.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// A bare TCP listener on 127.0.0.1 that counts connections and never answers.
pub async fn counting_listener() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (addr, accepted)
}

pub fn chart(name: &str, url: &str, rows: &str) -> Chart {
    Chart {
        name: ChartName::parse(name).unwrap(),
        origin: herald_core::domain::task::ChartOrigin::Url {
            data_url: HttpUrl::parse(url).unwrap(),
        },
        rows: RowsPointer::parse(rows).unwrap(),
        display: Default::default(),
        fields: Default::default(),
        max_rows: Default::default(),
    }
}

/// A source that allows 127.0.0.1 (the test servers).
pub fn local_source(limits: ChartLimits) -> HttpChartSource {
    HttpChartSource::new(limits, SsrfPolicy::allowing(["127.0.0.1"])).unwrap()
}

pub fn reason(check: &ChartCheck) -> &str {
    match &check.state {
        ChartState::AccessError { reason } => reason,
        other => panic!("expected an access error for {}, got {other:?}", check.name),
    }
}

/// A read now, of charts that name no source.
pub fn now() -> herald_core::ports::ReadContext {
    herald_core::ports::ReadContext::at(chrono::Utc::now().with_timezone(&chrono_tz::Tz::UTC))
}
