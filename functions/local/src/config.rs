//! herald-local's configuration, from the environment, with the documented defaults.
use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

/// An admin token shorter than this is refused at start: it opens everything.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("HERALD_ADDR '{0}' is not an address like 127.0.0.1:8080")]
    Addr(String),
    #[error(
        "HERALD_ADMIN_TOKEN has {0} characters: an admin token needs at least {MIN_ADMIN_TOKEN_CHARS} (unset it and herald-local generates one)"
    )]
    AdminTokenTooShort(usize),
    #[error("HERALD_SANDBOX '{0}' is not one of 1, 0, true, false, on, off")]
    Sandbox(String),
    #[error("HERALD_SNAPSHOT_LINK_DAYS '{0}' is not a positive number of days")]
    SnapshotLinkDays(String),
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
    /// `HERALD_SANDBOX`: `Some(true/false)` when set; unset means on until a real channel is configured.
    pub sandbox: Option<bool>,
    /// `HERALD_WECOM_BASE_URL` / `HERALD_FEISHU_BASE_URL` / `HERALD_DINGTALK_BASE_URL`: a reverse
    /// proxy or another fake.
    pub wecom_base_url: Option<String>,
    pub feishu_base_url: Option<String>,
    pub dingtalk_base_url: Option<String>,
    /// `HERALD_CHART_ALLOW_HOSTS`: chart hosts the SSRF guard lets through (e.g. 127.0.0.1).
    pub chart_allow: herald_charts::SsrfPolicy,
    /// `HERALD_SNAPSHOT_LINK_DAYS`: how long a signed snapshot link serves (default 7).
    pub snapshot_link_days: u32,
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
        if let Some(token) = &admin_token {
            let chars = token.trim().chars().count();
            if chars < MIN_ADMIN_TOKEN_CHARS {
                return Err(ConfigError::AdminTokenTooShort(chars));
            }
        }
        let sandbox = match std::env::var("HERALD_SANDBOX").ok().as_deref() {
            None | Some("") => None,
            Some("1" | "true" | "on") => Some(true),
            Some("0" | "false" | "off") => Some(false),
            Some(other) => return Err(ConfigError::Sandbox(other.to_owned())),
        };
        let snapshot_link_days = match std::env::var("HERALD_SNAPSHOT_LINK_DAYS") {
            Ok(days) => days
                .parse()
                .ok()
                .filter(|d| *d > 0)
                .ok_or(ConfigError::SnapshotLinkDays(days))?,
            Err(_) => 7,
        };
        let url = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        Ok(Self {
            addr,
            data_dir,
            admin_token,
            sandbox,
            wecom_base_url: url("HERALD_WECOM_BASE_URL"),
            feishu_base_url: url("HERALD_FEISHU_BASE_URL"),
            dingtalk_base_url: url("HERALD_DINGTALK_BASE_URL"),
            chart_allow: herald_charts::SsrfPolicy::from_env(),
            snapshot_link_days,
        })
    }
}
