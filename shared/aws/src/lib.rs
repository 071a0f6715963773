//! Herald's AWS adapters: the DynamoDB single-table store and EventBridge Scheduler.
//! The single-table key design is documented in `infra/README.md` and lives in `dynamo.rs` only.
mod dynamo;
mod dynamo_batch;
mod dynamo_contacts;
mod dynamo_contents;
mod dynamo_deliveries;
mod dynamo_due;
mod dynamo_images;
mod dynamo_progress;
mod dynamo_run_list;
mod dynamo_runs;
mod dynamo_upgrade;
mod dynamo_windows;
mod scheduler;
mod secrets;
mod settings;
mod wiring;

pub use dynamo::DynamoStore;
pub use dynamo_upgrade::{Backfilled, Moved};
pub use scheduler::{EventBridgeScheduler, SchedulerTarget};
pub use secrets::SecretsManagerStore;
pub use wiring::{AwsConfig, ConfigError, Upgraded, WiringError};
