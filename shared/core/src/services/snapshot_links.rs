//! Signed, expiring links to stored page snapshots (see [`SnapshotLink`]): minted for a caller who
//! may read the project, opened by anyone holding the link until it expires. The signing key is
//! made on first use and kept in the secret store, so every instance signs and checks alike.
use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::auth::Principal;
use crate::domain::ids::ProjectId;
use crate::domain::image::ImageId;
use crate::domain::snapshot_link::SnapshotLink;
use crate::ports::{ImageStore, SecretStore};
use chrono::Duration;
use secrecy::ExposeSecret;
use std::sync::{Arc, OnceLock};

/// The secret that holds the signing key.
pub const LINK_KEY_SECRET: &str = "snapshots/link_key";
/// How long a link serves its picture unless configured otherwise.
pub const DEFAULT_LINK_LIFETIME: Duration = Duration::days(7);

/// Why a link does not open: the same answer for a forged, changed or expired link.
const REFUSED: &str = "the snapshot link is not valid (changed or expired)";

#[derive(Clone)]
pub struct SnapshotLinks {
    secrets: Arc<dyn SecretStore>,
    images: Arc<dyn ImageStore>,
    clock: Arc<dyn Clock>,
    lifetime: Duration,
    /// The key, read once per process.
    key: Arc<OnceLock<Vec<u8>>>,
}

impl SnapshotLinks {
    pub fn new(
        secrets: Arc<dyn SecretStore>,
        images: Arc<dyn ImageStore>,
        clock: Arc<dyn Clock>,
        lifetime: Duration,
    ) -> Self {
        Self {
            secrets,
            images,
            clock,
            lifetime,
            key: Arc::new(OnceLock::new()),
        }
    }

    /// The signing key: read from the secret store, or made and stored the first time. Two
    /// instances making it at the same moment both store one; each reads back what was stored
    /// last, so at worst a link signed in that moment stops opening.
    async fn key(&self) -> Result<Vec<u8>, ServiceError> {
        if let Some(key) = self.key.get() {
            return Ok(key.clone());
        }
        let unavailable = |e| ServiceError::unavailable("the secret store", e);
        let stored = self
            .secrets
            .get_secret(LINK_KEY_SECRET)
            .await
            .map_err(unavailable)?;
        let key = match stored {
            Some(key) => key,
            None => {
                let fresh = secrecy::SecretString::from(hex::encode(rand::random::<[u8; 32]>()));
                self.secrets
                    .put_secret(LINK_KEY_SECRET, &fresh)
                    .await
                    .map_err(unavailable)?;
                self.secrets
                    .get_secret(LINK_KEY_SECRET)
                    .await
                    .map_err(unavailable)?
                    .unwrap_or(fresh)
            }
        };
        let bytes = key.expose_secret().as_bytes().to_vec();
        Ok(self.key.get_or_init(|| bytes).clone())
    }

    /// A link to `image` of `project` for `who` (who must be able to read the project), valid for
    /// the configured lifetime: its path and query, and when it expires.
    pub async fn link(
        &self,
        who: &Principal,
        project: &ProjectId,
        image: &ImageId,
    ) -> Result<(String, chrono::DateTime<chrono::Utc>), ServiceError> {
        who.check_read(project)?;
        let expires_at = self.clock.now() + self.lifetime;
        let link = SnapshotLink {
            project: project.clone(),
            image: image.clone(),
            expires_at,
        };
        Ok((link.path(&self.key().await?), expires_at))
    }

    /// The PNG a link names, if the link is as signed and not expired; any change to it is
    /// refused alike.
    pub async fn open(
        &self,
        project: &str,
        file: &str,
        expires: &str,
        sig: &str,
    ) -> Result<Vec<u8>, ServiceError> {
        let refused = || ServiceError::PermissionDenied(REFUSED.to_owned());
        let link = SnapshotLink::parse(project, file, expires).ok_or_else(refused)?;
        let now = self.clock.now();
        if !link.is_signed(&self.key().await?, sig) || link.expires_at <= now {
            return Err(refused());
        }
        self.images
            .get_image(&link.project, &link.image, now)
            .await?
            .ok_or(ServiceError::NotFound("snapshot"))
    }
}
