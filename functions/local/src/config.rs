//! herald-local's configuration, from the environment, with the documented defaults.
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("HERALD_ADDR '{0}' is not an address like 127.0.0.1:8080")]
    Addr(String),
    #[error("could not prepare the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// `HERALD_ADMIN_TOKEN`; when unset, one is generated once and kept in the data directory.
    pub admin_token: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let addr_text = std::env::var("HERALD_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
        let addr = addr_text
            .parse()
            .map_err(|_| ConfigError::Addr(addr_text))?;
        let data_dir =
            PathBuf::from(std::env::var("HERALD_DATA_DIR").unwrap_or_else(|_| "./.herald".into()));
        // The data directory holds the admin token and stored secrets: only this user may read it.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&data_dir)
            .map_err(|source| ConfigError::DataDir {
                path: data_dir.clone(),
                source,
            })?;
        let admin_token = std::env::var("HERALD_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty());
        Ok(Self {
            addr,
            data_dir,
            admin_token,
        })
    }
}
