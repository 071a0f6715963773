//! What every Herald Lambda reads from its environment (set in template.yaml), and the AWS adapters
//! built from it with one SDK configuration per process. Nothing falls back silently.
use crate::{DynamoStore, EventBridgeScheduler, SchedulerTarget, SecretsManagerStore};
use herald_charts::{ChartLimits, HttpChartSource, SsrfPolicy};
use herald_core::clock::SystemClock;
use herald_core::domain::auth::KeyHash;
use herald_core::services::{Adapters, EngineConfig, Services};
use herald_hub::ProviderClients;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {message}")]
    Invalid { name: &'static str, message: String },
}

/// Why a function could not build its services at start.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error("the chart reader could not be made: {0}")]
    Charts(#[from] herald_charts::ChartSourceError),
    #[error("the provider clients could not be made: {0}")]
    Providers(#[from] herald_hub::BuildError),
}

#[derive(Debug, Clone)]
pub struct AwsConfig {
    pub table: String,
    pub target: SchedulerTarget,
    /// SHA-256 of the first admin key: the token itself never reaches the environment.
    pub admin_token_sha256: KeyHash,
    /// Secrets are named `{secret_prefix}/channels/...` in Secrets Manager.
    pub secret_prefix: String,
    /// `HERALD_RECORD_RETENTION_DAYS` (default 90).
    pub record_retention_days: u32,
    /// `HERALD_SNAPSHOT_LINK_DAYS`: how long a signed snapshot link serves (default 7).
    pub snapshot_link_days: u32,
}

/// A positive number of days from `name`, or `default` when it is not set.
fn days(name: &'static str, default: u32) -> Result<u32, ConfigError> {
    match std::env::var(name) {
        Ok(days) => days
            .parse()
            .ok()
            .filter(|d| *d > 0)
            .ok_or(ConfigError::Invalid {
                name,
                message: format!("'{days}' is not a positive number of days"),
            }),
        Err(_) => Ok(default),
    }
}

fn var(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::Missing(name))
}

impl AwsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: var("HERALD_TABLE")?,
            target: SchedulerTarget {
                group: var("HERALD_SCHEDULE_GROUP")?,
                trigger_arn: var("HERALD_TRIGGER_ARN")?,
                role_arn: var("HERALD_SCHEDULER_ROLE_ARN")?,
                dead_letter_arn: var("HERALD_SCHEDULE_DEAD_LETTER_ARN").ok(),
                flexible_window_minutes: match std::env::var("HERALD_SCHEDULE_WINDOW_MINUTES") {
                    Ok(minutes) => {
                        minutes
                            .parse()
                            .ok()
                            .filter(|m| *m <= 1440)
                            .ok_or(ConfigError::Invalid {
                                name: "HERALD_SCHEDULE_WINDOW_MINUTES",
                                message: format!("'{minutes}' is not 0 to 1440 minutes"),
                            })?
                    }
                    Err(_) => 0,
                },
            },
            admin_token_sha256: KeyHash::parse(&var("HERALD_ADMIN_TOKEN_SHA256")?).map_err(
                |message| ConfigError::Invalid {
                    name: "HERALD_ADMIN_TOKEN_SHA256",
                    message,
                },
            )?,
            secret_prefix: var("HERALD_SECRET_PREFIX")?,
            record_retention_days: days("HERALD_RECORD_RETENTION_DAYS", 90)?,
            snapshot_link_days: days("HERALD_SNAPSHOT_LINK_DAYS", 7)?,
        })
    }

    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            record_retention: chrono::Duration::days(i64::from(self.record_retention_days)),
            snapshot_link_lifetime: chrono::Duration::days(i64::from(self.snapshot_link_days)),
            ..EngineConfig::default()
        }
    }

    /// Moves and completes items an earlier version wrote so this one reads them (`{"upgrade":
    /// true}` to the trigger function, once after a stack update: infra/DEPLOY.md). Clients of its
    /// own: this runs once in a stack's life.
    pub async fn upgrade_items(&self) -> Result<Upgraded, herald_core::ports::StoreError> {
        let sdk = aws_config::load_from_env().await;
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &self.table);
        let secrets = SecretsManagerStore::new(
            aws_sdk_secretsmanager::Client::new(&sdk),
            &self.secret_prefix,
            Duration::ZERO,
        );
        Ok(Upgraded {
            moved: store.move_due_entries().await?,
            backfilled: store.backfill(&secrets).await?,
        })
    }

    /// Every service of this process over the AWS adapters and the provider clients: the one
    /// construction each function's `main` calls.
    pub async fn services(&self) -> Result<Services, WiringError> {
        let (adapters, windows) = self.wiring().await?;
        let clients = ProviderClients::from_env(adapters.images.clone(), Some(windows))?;
        Ok(Services::new(adapters, self.engine(), |settings| {
            clients.hub(settings)
        }))
    }

    /// The adapters, and the table as the provider clients' shared quota record (so the robot's
    /// and Feishu's quotas hold across the functions' instances), over one SDK configuration.
    async fn wiring(
        &self,
    ) -> Result<(Adapters, Arc<dyn herald_core::ports::QuotaStore>), herald_charts::ChartSourceError>
    {
        let sdk = aws_config::load_from_env().await;
        let store = Arc::new(
            DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &self.table)
                .keeping_deliveries_for(self.engine().record_retention),
        );
        let windows: Arc<dyn herald_core::ports::QuotaStore> = store.clone();
        let adapters = Adapters {
            tasks: store.clone(),
            keys: store.clone(),
            deliveries: store.clone(),
            runs: store.clone(),
            contacts: store.clone(),
            images: store.clone(),
            settings: store,
            // A secret rotated elsewhere is picked up within a minute.
            secrets: Arc::new(SecretsManagerStore::new(
                aws_sdk_secretsmanager::Client::new(&sdk),
                &self.secret_prefix,
                Duration::from_secs(60),
            )),
            scheduler: Arc::new(EventBridgeScheduler::new(
                aws_sdk_scheduler::Client::new(&sdk),
                self.target.clone(),
            )),
            charts: Arc::new(HttpChartSource::new(
                ChartLimits::default(),
                SsrfPolicy::from_env(),
            )?),
            pictures: Arc::new(herald_pictures::Pictures::new()),
            sheets: Arc::new(herald_sheets::Sheets),
            clock: Arc::new(SystemClock),
            admin: self.admin_token_sha256.clone(),
        };
        Ok((adapters, windows))
    }
}

/// What `upgrade_items` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Upgraded {
    pub moved: crate::Moved,
    pub backfilled: crate::Backfilled,
}
