//! Secrets on one machine: a JSON file readable by this user only (0600), replaced atomically.
use async_trait::async_trait;
use herald_core::ports::{SecretError, SecretStore};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct FileSecretStore {
    path: PathBuf,
    /// Serializes read-modify-write of the file within this process.
    lock: Arc<Mutex<()>>,
}

fn unavailable(err: std::io::Error) -> SecretError {
    SecretError::Unavailable(Box::new(err))
}

impl FileSecretStore {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Arc::new(Mutex::new(())),
        }
    }

    fn read(path: &PathBuf) -> std::io::Result<BTreeMap<String, String>> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(err) => Err(err),
        }
    }

    fn write(path: &PathBuf, secrets: &BTreeMap<String, String>) -> std::io::Result<()> {
        let temp = path.with_extension("tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(&serde_json::to_vec_pretty(secrets).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    }
}

#[async_trait]
impl SecretStore for FileSecretStore {
    async fn get_secret(&self, name: &str) -> Result<Option<SecretString>, SecretError> {
        let (path, lock, name) = (self.path.clone(), self.lock.clone(), name.to_owned());
        tokio::task::spawn_blocking(move || {
            let _guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            Ok(Self::read(&path)
                .map_err(unavailable)?
                .remove(&name)
                .map(SecretString::from))
        })
        .await
        .map_err(|e| SecretError::Unavailable(Box::new(e)))?
    }

    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), SecretError> {
        let (path, lock, name) = (self.path.clone(), self.lock.clone(), name.to_owned());
        let value = value.expose_secret().to_owned();
        tokio::task::spawn_blocking(move || {
            let _guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut secrets = Self::read(&path).map_err(unavailable)?;
            secrets.insert(name, value);
            Self::write(&path, &secrets).map_err(unavailable)
        })
        .await
        .map_err(|e| SecretError::Unavailable(Box::new(e)))?
    }
}
