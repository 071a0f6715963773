//! Signed snapshot links: a record's picture served without an API key while the link is valid;
//! any change to the link, or its expiry, is a 403.
use super::*;
use herald_tests::http::{get_bytes, get_bytes_without_key};

#[tokio::test]
async fn a_signed_link_serves_the_snapshot_without_a_key_until_it_expires() {
    let fakes = fakes().await;
    let charts = ChartServer::start().await;
    let app = app(&fakes).await;
    charts.set("Orders", ChartAnswer::Rows(3));
    let task = create(
        &app,
        &task_body(&charts, &["Orders"], control(no_rule(), no_rule())),
    )
    .await;
    let rec = fire(&app, &task, "2026-12-03T02:00:00Z").await;
    let run = rec["id"].as_str().expect("run id");
    let (status, _, snapshot) = get_bytes(
        &app.router,
        &format!("{RECORDS}/{run}/snapshot.png"),
        herald_tests::ADMIN_TOKEN,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let minted = app
        .admin(
            Method::GET,
            &format!("{RECORDS}/{run}/snapshot-link"),
            &Value::Null,
        )
        .await;
    assert_eq!(minted.status, StatusCode::OK, "{:#}", minted.body);
    let path = minted.body["path"].as_str().expect("path").to_owned();
    assert_eq!(minted.body["expires_at"], "2026-12-10T02:00:00Z", "7 days");

    let (status, content_type, png) = get_bytes_without_key(&app.router, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("image/png"));
    assert_eq!(png, snapshot, "the run's snapshot");

    // Any change to the link is refused alike.
    let (base, query) = path.split_once('?').expect("query");
    let sig = query.split("sig=").nth(1).expect("sig");
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    );
    let expires = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("expires="))
        .expect("expires");
    let later: i64 = expires.parse::<i64>().expect("unix") + 86_400;
    let other_image = format!("/v1/snapshots/payments/{}.png", "0".repeat(64));
    for changed in [
        format!("{base}?expires={expires}&sig={flipped}"),
        format!("{base}?expires={later}&sig={sig}"),
        path.replace("/payments/", "/other/"),
        format!("{other_image}?{query}"),
        base.to_owned(),
    ] {
        let (status, _, _) = get_bytes_without_key(&app.router, &changed).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{changed}");
    }

    // A day before it expires it still serves; at its expiry it stops.
    app.clock.set(at("2026-12-09T02:00:00Z"));
    assert_eq!(
        get_bytes_without_key(&app.router, &path).await.0,
        StatusCode::OK
    );
    app.clock.set(at("2026-12-10T02:00:00Z"));
    assert_eq!(
        get_bytes_without_key(&app.router, &path).await.0,
        StatusCode::FORBIDDEN
    );
}
