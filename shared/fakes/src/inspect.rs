//! `GET /_fake/messages` (accepted messages, newest last) and `GET /_fake/stats` (counters),
//! mounted on each fake's router for the local sandbox.
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::record::{AcceptedMessage, Recorder, Stats};

pub(crate) trait Inspect: Clone + Send + Sync + 'static {
    fn recorder(&self) -> &Recorder;
}

pub(crate) fn routes<S: Inspect>() -> Router<S> {
    Router::new()
        .route("/_fake/messages", get(messages::<S>))
        .route("/_fake/stats", get(stats::<S>))
}

async fn messages<S: Inspect>(State(fake): State<S>) -> Json<Vec<AcceptedMessage>> {
    Json(fake.recorder().messages())
}

async fn stats<S: Inspect>(State(fake): State<S>) -> Json<Stats> {
    Json(fake.recorder().stats())
}
