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
use std::sync::Arc;
use tokio::sync::OnceCell;

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
    /// The key, read (or made) once per process: concurrent first calls wait for one.
    key: Arc<OnceCell<Vec<u8>>>,
}

/// The longest a link may be configured to live (a larger number of days would overflow time).
const LONGEST_LIFETIME: Duration = Duration::days(3650);

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
            lifetime: lifetime.min(LONGEST_LIFETIME),
            key: Arc::new(OnceCell::new()),
        }
    }

    /// The stored signing key, if there is one (opening a link never makes one).
    async fn stored_key(&self) -> Result<Option<Vec<u8>>, ServiceError> {
        if let Some(key) = self.key.get() {
            return Ok(Some(key.clone()));
        }
        let stored = self
            .secrets
            .get_secret(LINK_KEY_SECRET)
            .await
            .map_err(|e| ServiceError::unavailable("the secret store", e))?;
        Ok(match stored {
            Some(key) => {
                let bytes = key.expose_secret().as_bytes().to_vec();
                Some(self.key.get_or_init(|| async { bytes }).await.clone())
            }
            None => None,
        })
    }

    /// The signing key, made and stored the first time a link is minted. On AWS the stack
    /// creates it (`SnapshotLinkKey`), so instances never race to make it; herald-local is one
    /// process, and its concurrent first calls wait for one key.
    async fn key(&self) -> Result<Vec<u8>, ServiceError> {
        if let Some(key) = self.stored_key().await? {
            return Ok(key);
        }
        let made = self
            .key
            .get_or_try_init(|| async {
                let fresh = secrecy::SecretString::from(hex::encode(rand::random::<[u8; 32]>()));
                self.secrets
                    .put_secret(LINK_KEY_SECRET, &fresh)
                    .await
                    .map_err(|e| ServiceError::unavailable("the secret store", e))?;
                Ok::<_, ServiceError>(fresh.expose_secret().as_bytes().to_vec())
            })
            .await?;
        Ok(made.clone())
    }

    /// A link to `image` of `project` for `who` (who must be able to read the project), valid for
    /// the configured lifetime but never past `not_after` (when the record and its picture go):
    /// its path and query, and when it expires.
    pub async fn link(
        &self,
        who: &Principal,
        project: &ProjectId,
        image: &ImageId,
        not_after: chrono::DateTime<chrono::Utc>,
    ) -> Result<(String, chrono::DateTime<chrono::Utc>), ServiceError> {
        who.check_read(project)?;
        self.mint(project, image, not_after).await
    }

    /// A link to `image` for a message Herald sends itself (a DingTalk robot's picture): no caller
    /// to check, the run's own picture.
    pub(crate) async fn mint(
        &self,
        project: &ProjectId,
        image: &ImageId,
        not_after: chrono::DateTime<chrono::Utc>,
    ) -> Result<(String, chrono::DateTime<chrono::Utc>), ServiceError> {
        let expires_at = (self.clock.now() + self.lifetime).min(not_after);
        let link = SnapshotLink {
            project: project.clone(),
            image: image.clone(),
            expires_at,
        };
        Ok((link.path(&self.key().await?), expires_at))
    }

    /// The PNG a link names, if the link is as signed and not expired; any change to it is
    /// refused alike.
    ///
    /// Answers the bytes and how many seconds the link has left (what a cache may keep it for).
    pub async fn open(
        &self,
        project: &str,
        file: &str,
        expires: &str,
        sig: &str,
    ) -> Result<(Vec<u8>, i64), ServiceError> {
        let refused = || ServiceError::PermissionDenied(REFUSED.to_owned());
        let link = SnapshotLink::parse(project, file, expires).ok_or_else(refused)?;
        let now = self.clock.now();
        let key = self.stored_key().await?.ok_or_else(refused)?;
        if !link.is_signed(&key, sig) || link.expires_at <= now {
            return Err(refused());
        }
        let png = self
            .images
            .get_image(&link.project, &link.image, now)
            .await?
            .ok_or(ServiceError::NotFound("snapshot"))?;
        Ok((png, (link.expires_at - now).num_seconds()))
    }
}
