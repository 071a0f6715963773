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
    /// Serializes read-modify-write of the file within this process, and holds the file's last
    /// parse with the modification time and length it had: a send reads a secret, and a stat is
    /// far cheaper than reading and parsing the file every time.
    lock: Arc<Mutex<Option<Parsed>>>,
}

/// A file version: modification time, length and inode (every write renames a new file in).
type Stamp = (std::time::SystemTime, u64, u64);

struct Parsed {
    stamp: Stamp,
    secrets: BTreeMap<String, String>,
}

fn stamp_of(path: &PathBuf) -> std::io::Result<Option<Stamp>> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some((meta.modified()?, meta.len(), meta.ino()))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

fn unavailable(err: std::io::Error) -> SecretError {
    SecretError::Unavailable(Box::new(err))
}

impl FileSecretStore {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Arc::new(Mutex::new(None)),
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
            let mut cached = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let Some(stamp) = stamp_of(&path).map_err(unavailable)? else {
                return Ok(None);
            };
            if cached.as_ref().is_none_or(|c| c.stamp != stamp) {
                *cached = Some(Parsed {
                    stamp,
                    secrets: Self::read(&path).map_err(unavailable)?,
                });
            }
            Ok(cached
                .as_ref()
                .and_then(|c| c.secrets.get(&name))
                .map(|v| SecretString::from(v.clone())))
        })
        .await
        .map_err(|e| SecretError::Unavailable(Box::new(e)))?
    }

    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), SecretError> {
        let (path, lock, name) = (self.path.clone(), self.lock.clone(), name.to_owned());
        let value = value.expose_secret().to_owned();
        tokio::task::spawn_blocking(move || {
            let mut cached = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut secrets = Self::read(&path).map_err(unavailable)?;
            secrets.insert(name, value);
            Self::write(&path, &secrets).map_err(unavailable)?;
            *cached = None;
            Ok(())
        })
        .await
        .map_err(|e| SecretError::Unavailable(Box::new(e)))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_secret_rewritten_by_another_writer_is_read_anew() {
        let path = std::env::temp_dir().join(format!(
            "herald-secrets-test-{}-{:?}.json",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        ));
        let (writer, reader) = (
            FileSecretStore::new(path.clone()),
            FileSecretStore::new(path.clone()),
        );
        assert!(reader.get_secret("a").await.expect("read").is_none());
        for value in ["first", "other", "third-one"] {
            writer
                .put_secret("a", &SecretString::from(value))
                .await
                .expect("write");
            let read = reader.get_secret("a").await.expect("read").expect("set");
            assert_eq!(read.expose_secret(), value);
        }
        std::fs::remove_file(&path).expect("cleanup");
    }
}
