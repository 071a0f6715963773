//! Herald's embedded adapters for one machine: the SQLite store and the local schedule table.
mod codec;
mod contacts;
mod db;
mod deliveries;
pub mod delivery_loop;
mod images;
mod outcomes;
mod run_list;
mod runs;
pub mod schedule_loop;
mod schedules;
mod secrets;
mod settings;
mod store;

pub use db::{Db, DbError};
pub use schedules::LocalScheduler;
pub use secrets::FileSecretStore;
pub use store::SqliteStore;
