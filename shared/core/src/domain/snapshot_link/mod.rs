//! A signed, expiring link to a run's page snapshot, for the places that can show a picture only
//! by its URL (a DingTalk robot's markdown, a chat that unfurls links): the PNG is served without
//! an API key while the link is valid. The signature is the HMAC-SHA256 of the project, the
//! image's hash and the expiry with a key from the secret store, so no part can be changed.
use super::ids::ProjectId;
use super::image::ImageId;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// What a link names: a project's stored picture, until a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotLink {
    pub project: ProjectId,
    pub image: ImageId,
    pub expires_at: DateTime<Utc>,
}

impl SnapshotLink {
    fn mac(&self, key: &[u8]) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(key).ok()?;
        // Length-free parts joined by a byte none of them contains.
        mac.update(b"herald-snapshot-link-v1\n");
        mac.update(self.project.as_str().as_bytes());
        mac.update(b"\n");
        mac.update(self.image.to_string().as_bytes());
        mac.update(b"\n");
        mac.update(self.expires_at.timestamp().to_string().as_bytes());
        Some(mac)
    }

    /// The link's path and query: `/v1/snapshots/{project}/{image}.png?expires=…&sig=…`.
    pub fn path(&self, key: &[u8]) -> String {
        let sig = self
            .mac(key)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default();
        format!(
            "/v1/snapshots/{}/{}.png?expires={}&sig={sig}",
            self.project,
            self.image,
            self.expires_at.timestamp()
        )
    }

    /// Reads a link's parts as a request gives them; `None` for anything that is not a link's.
    pub fn parse(project: &str, file: &str, expires: &str) -> Option<Self> {
        let image = ImageId::parse(file.strip_suffix(".png")?).ok()?;
        let expires_at = DateTime::from_timestamp(expires.parse().ok()?, 0)?;
        Some(Self {
            project: ProjectId::parse(project.to_owned()).ok()?,
            image,
            expires_at,
        })
    }

    /// Whether `key` signed this link as `sig` (hex), compared in constant time.
    pub fn is_signed(&self, key: &[u8], sig: &str) -> bool {
        let (Some(mac), Ok(sig)) = (self.mac(key), hex::decode(sig)) else {
            return false;
        };
        mac.verify_slice(&sig).is_ok()
    }
}

#[cfg(test)]
mod tests;
