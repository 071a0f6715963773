//! Secrets in AWS Secrets Manager, named `{prefix}/{name}` (e.g. `herald/channels/wecom/corp_secret`),
//! read through a short in-process cache so a burst of sends costs one call.
use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use herald_core::ports::{SecretError, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Cache = HashMap<String, (Option<SecretString>, Instant)>;

/// The most secret names the cache holds (a deployment uses a few dozen).
const MAX_CACHED: usize = 512;

#[derive(Clone)]
pub struct SecretsManagerStore {
    client: Client,
    prefix: String,
    ttl: Duration,
    cache: Arc<Mutex<Cache>>,
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(err: E) -> SecretError {
    SecretError::Unavailable(Box::new(err))
}

impl SecretsManagerStore {
    /// `ttl` bounds how long a secret changed elsewhere may go unnoticed by this process.
    pub fn new(client: Client, prefix: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            ttl,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn id(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }

    fn cached(&self, name: &str) -> Option<Option<SecretString>> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .get(name)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(value, _)| value.clone())
    }

    fn remember(&self, name: &str, value: Option<SecretString>) {
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Bounded whatever names callers make up: expired entries go first, then the "not found"
        // ones, then everything.
        if cache.len() >= MAX_CACHED && !cache.contains_key(name) {
            cache.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if cache.len() >= MAX_CACHED {
                cache.retain(|_, (value, _)| value.is_some());
            }
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(name.to_owned(), (value, Instant::now()));
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    #[tracing::instrument(skip(self))]
    async fn get_secret(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        if let Some(value) = self.cached(name) {
            return Ok(value);
        }
        let value = match self
            .client
            .get_secret_value()
            .secret_id(self.id(name))
            .send()
            .await
        {
            Ok(out) => out
                .secret_string()
                .map(|s| SecretString::from(s.to_owned())),
            Err(err)
                if err.as_service_error().and_then(|e| e.code())
                    == Some("ResourceNotFoundException") =>
            {
                None
            }
            Err(err) => return Err(unavailable(err)),
        };
        self.remember(name, value.clone());
        Ok(value)
    }

    #[tracing::instrument(skip(self, value))]
    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), SecretError> {
        let id = self.id(name);
        let put = self
            .client
            .put_secret_value()
            .secret_id(&id)
            .secret_string(value.expose_secret())
            .send()
            .await;
        match put {
            Ok(_) => {}
            Err(err)
                if err.as_service_error().and_then(|e| e.code())
                    == Some("ResourceNotFoundException") =>
            {
                self.client
                    .create_secret()
                    .name(&id)
                    .description(
                        "Herald channel or webhook secret (write-only through the Herald API)",
                    )
                    .secret_string(value.expose_secret())
                    .send()
                    .await
                    .map_err(unavailable)?;
            }
            Err(err) => return Err(unavailable(err)),
        }
        self.remember(name, Some(value.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> SecretsManagerStore {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .build();
        SecretsManagerStore::new(Client::from_conf(config), "herald", Duration::from_secs(60))
    }

    #[test]
    fn made_up_names_never_grow_the_cache_past_its_bound_and_real_secrets_stay() {
        let store = store();
        store.remember("channels/smtp/password", Some(SecretString::from("kept")));
        for i in 0..5 * MAX_CACHED {
            store.remember(&format!("webhook-sources/made-up-{i}"), None);
            assert!(store.cache.lock().unwrap().len() <= MAX_CACHED);
        }
        let kept = store.cached("channels/smtp/password").flatten();
        assert_eq!(
            kept.map(|s| s.expose_secret().to_owned()).as_deref(),
            Some("kept")
        );
    }
}
