//! Herald's AWS adapters: the DynamoDB single-table store and EventBridge Scheduler.
//! The single-table key design is documented in `infra/README.md` and lives in `keys.rs` only;
//! `codec.rs` encodes items. Each `dynamo_*` module implements one port (or one concern of the
//! store) on `DynamoStore`, over those two; none imports another's item builders in a circle.
mod codec;
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
pub mod keys;
mod recent_contents;
mod scheduler;
mod secrets;
mod settings;
mod wiring;

pub use dynamo::DynamoStore;
pub use dynamo_upgrade::{Backfilled, Moved};
pub use scheduler::{EventBridgeScheduler, SchedulerTarget};
pub use secrets::SecretsManagerStore;
pub use wiring::{AwsConfig, ConfigError, Upgraded, WiringError};
