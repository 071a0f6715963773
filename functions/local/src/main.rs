//! herald-local: the whole service on one machine, with embedded storage, schedules and delivery.
mod admin_token;
mod app;
mod config;
mod sandbox;
mod trigger;

use admin_token::AdminToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = config::Config::from_env()?;
    let admin = admin_token::load_or_create(config.admin_token.clone(), &config.data_dir)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("trigger") {
        let trigger_args = trigger::TriggerArgs::parse(&args[1..])?;
        let app = app::build(&config, admin.token(), config.addr, false).await?;
        return trigger::run(&app.services.pushes, trigger_args, chrono::Utc::now()).await;
    }
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let app = app::build(&config, admin.token(), addr, true).await?;
    // This process owns the file now: the previous one's claims died with it.
    match app.store.take_back_claims(chrono::Utc::now()).await {
        Ok(0) => {}
        Ok(taken) => tracing::info!(taken, "took back the claims of the previous process"),
        Err(err) => tracing::warn!(error = %err, "could not take back earlier claims"),
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let deliveries =
        herald_embedded::delivery_loop::spawn(app.services.worker.clone(), stopped.clone());
    let schedules = herald_embedded::schedule_loop::spawn(
        app.scheduler.clone(),
        app.services.pushes.clone(),
        std::sync::Arc::new(herald_core::clock::SystemClock),
        stopped,
    );

    let housekeeping = spawn_housekeeping(app.store.clone(), stop.subscribe());
    println!("Herald is listening on http://{addr}");
    println!("Console: http://{addr}/ui (sign in with the admin token)");
    match &admin {
        AdminToken::Generated { token, path } => {
            println!(
                "Generated the admin token (shown once; also stored in {}):\n  {token}",
                path.display()
            );
        }
        AdminToken::Stored { path, .. } => println!("Admin token: in {}", path.display()),
        AdminToken::FromEnv(_) => println!("Admin token: from HERALD_ADMIN_TOKEN"),
    }
    if app.sandbox.is_some() {
        println!(
            "Sandbox is on: WeCom, Feishu and e-mail go to built-in fakes; see http://{addr}/sandbox/messages"
        );
    }
    axum::serve(listener, app.router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = stop.send(true);
    let _ = tokio::join!(deliveries, schedules, housekeeping);
    tracing::info!("stopped");
    Ok(())
}

/// Once an hour, removes records and deliveries past their retention (DynamoDB TTL does this on AWS).
fn spawn_housekeeping(
    store: std::sync::Arc<herald_embedded::SqliteStore>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let retention = herald_core::services::EngineConfig::default().record_retention;
            match store.purge_expired(chrono::Utc::now(), retention).await {
                Ok(0) => {}
                Ok(gone) => tracing::info!(gone, "expired records removed"),
                Err(err) => tracing::warn!(error = %err, "could not remove expired records"),
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
                _ = stopped.changed() => break,
            }
        }
    })
}

/// Ctrl-C or SIGTERM: stop taking connections and let running requests finish.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGTERM; Ctrl-C still stops the server");
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}
