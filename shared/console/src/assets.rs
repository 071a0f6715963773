//! The console's stylesheet and script, embedded in the binary and served with a content hash in
//! their URL, so they can be cached for a year and are never stale.
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    hash: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        (
            "console.css",
            "text/css; charset=utf-8",
            include_str!("../assets/console.css"),
        ),
        (
            "console.js",
            "text/javascript; charset=utf-8",
            include_str!("../assets/console.js"),
        ),
    ]
    .into_iter()
    .map(|(name, content_type, body)| Asset {
        name,
        content_type,
        body,
        hash: hex::encode(&Sha256::digest(body.as_bytes())[..6]),
    })
    .collect()
});

/// The URL of an asset, with its content hash.
pub(crate) fn url(name: &str) -> String {
    let hash = ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.hash.as_str())
        .unwrap_or("0");
    format!("/ui/assets/{hash}/{name}")
}

pub(crate) async fn serve(Path((hash, name)): Path<(String, String)>) -> Response {
    match ASSETS.iter().find(|a| a.name == name && a.hash == hash) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            asset.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
