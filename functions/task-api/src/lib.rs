//! The task-api Lambda's wiring: configuration from the environment, one SDK config, the adapters, the Router.
use herald_aws::{DynamoStore, EventBridgeScheduler, SchedulerTarget};
use herald_core::clock::SystemClock;
use herald_core::domain::auth::KeyHash;
use herald_core::services::keys::KeyService;
use herald_core::services::tasks::TaskService;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {message}")]
    Invalid { name: &'static str, message: String },
}

/// What the function needs from its environment (set in template.yaml). Nothing falls back silently.
#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    pub target: SchedulerTarget,
    /// SHA-256 of the first admin key: the token itself never reaches the environment.
    pub admin_token_sha256: KeyHash,
}

fn var(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::Missing(name))
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: var("HERALD_TABLE")?,
            target: SchedulerTarget {
                group: var("HERALD_SCHEDULE_GROUP")?,
                trigger_arn: var("HERALD_TRIGGER_ARN")?,
                role_arn: var("HERALD_SCHEDULER_ROLE_ARN")?,
            },
            admin_token_sha256: KeyHash::parse(&var("HERALD_ADMIN_TOKEN_SHA256")?).map_err(
                |message| ConfigError::Invalid {
                    name: "HERALD_ADMIN_TOKEN_SHA256",
                    message,
                },
            )?,
        })
    }
}

/// Builds the Router over DynamoDB and EventBridge Scheduler, with clients created once.
pub async fn app(config: Config) -> herald_api::Router {
    let sdk = aws_config::load_from_env().await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.table,
    ));
    let scheduler = Arc::new(EventBridgeScheduler::new(
        aws_sdk_scheduler::Client::new(&sdk),
        config.target,
    ));
    let clock = Arc::new(SystemClock);
    herald_api::router(herald_api::AppState {
        tasks: TaskService::new(store.clone(), scheduler, clock.clone()),
        keys: KeyService::new(store, config.admin_token_sha256, clock),
    })
}
