//! The first admin key on one machine: from HERALD_ADMIN_TOKEN, or generated once into a 0600 file.
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "admin-token";

/// Where the token came from, so start-up can tell the user how to find it.
pub enum AdminToken {
    FromEnv(String),
    Stored { token: String, path: PathBuf },
    Generated { token: String, path: PathBuf },
}

impl AdminToken {
    pub fn token(&self) -> &str {
        match self {
            Self::FromEnv(token) | Self::Stored { token, .. } | Self::Generated { token, .. } => {
                token
            }
        }
    }
}

/// Reads the stored token, or generates and stores one (mode 0600, never overwriting an existing file).
pub fn load_or_create(from_env: Option<String>, data_dir: &Path) -> std::io::Result<AdminToken> {
    if let Some(token) = from_env {
        return Ok(AdminToken::FromEnv(token));
    }
    let path = data_dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => {
            return Ok(AdminToken::Stored {
                token: text.trim().to_owned(),
                path,
            });
        }
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let token = format!("hadm_{}", hex::encode(rand::random::<[u8; 32]>()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(AdminToken::Generated { token, path })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_once_stored_0600_and_reused() {
        let dir = std::env::temp_dir().join(format!("herald-admin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = load_or_create(None, &dir).unwrap();
        assert!(matches!(first, AdminToken::Generated { .. }));
        let mode = std::fs::metadata(dir.join(FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = load_or_create(None, &dir).unwrap();
        assert!(matches!(second, AdminToken::Stored { .. }));
        assert_eq!(first.token(), second.token());
        let env = load_or_create(Some("from-env".into()), &dir).unwrap();
        assert_eq!(env.token(), "from-env");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
