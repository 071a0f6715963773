//! Wires the embedded adapters into the same services and Router the Lambdas use.
use herald_core::clock::SystemClock;
use herald_core::domain::auth::KeyHash;
use herald_core::services::keys::KeyService;
use herald_core::services::tasks::TaskService;
use herald_embedded::{Db, DbError, LocalScheduler, SqliteStore};
use std::path::Path;
use std::sync::Arc;

pub const DB_FILE: &str = "herald.db";

pub fn build(data_dir: &Path, admin_token: &str) -> Result<herald_api::Router, DbError> {
    let db = Db::open(&data_dir.join(DB_FILE))?;
    let store = Arc::new(SqliteStore::new(db.clone()));
    let clock = Arc::new(SystemClock);
    Ok(herald_api::router(herald_api::AppState {
        tasks: TaskService::new(
            store.clone(),
            Arc::new(LocalScheduler::new(db)),
            clock.clone(),
        ),
        keys: KeyService::new(store, KeyHash::of(admin_token), clock),
    }))
}
