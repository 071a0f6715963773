//! API keys and roles. Keys look like `hk_{key_id}_{secret}`; only their SHA-256 is stored.
use super::ids::{KeyId, ProjectId};
use crate::ServiceError;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, in every project, including settings, contacts and keys.
    Admin,
    /// One project's tasks, pushes and records.
    Editor,
    /// Read-only on one project.
    Viewer,
}

impl Role {
    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        match value {
            "admin" => Ok(Self::Admin),
            "editor" => Ok(Self::Editor),
            "viewer" => Ok(Self::Viewer),
            other => Err(format!(
                "unknown role '{other}' (use admin, editor or viewer)"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Editor => "editor",
            Self::Viewer => "viewer",
        }
    }
}

/// The SHA-256 of a whole key, hex encoded. Safe to store: keys carry 256 random bits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyHash(String);

impl KeyHash {
    pub fn of(token: &str) -> Self {
        Self(hex::encode(Sha256::digest(token.as_bytes())))
    }

    /// A hash given in configuration (64 hex characters).
    pub fn parse(hex_digest: &str) -> Result<Self, super::ParseError> {
        let digest = hex_digest.trim().to_ascii_lowercase();
        if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(digest))
        } else {
            Err("must be 64 hex characters (the SHA-256 of the token)".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in constant time so timing says nothing about how much of a guess was right.
    pub fn matches(&self, token: &str) -> bool {
        Self::of(token).0.as_bytes().ct_eq(self.0.as_bytes()).into()
    }

    /// Compares two hashes in constant time.
    pub fn same_as(&self, other: &KeyHash) -> bool {
        other.0.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

/// A stored API key (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: KeyId,
    pub hash: KeyHash,
    pub role: Role,
    /// `None` for admin keys; the one project of an editor or viewer key.
    pub project: Option<ProjectId>,
    pub created_at: DateTime<Utc>,
}

/// A freshly minted key: the only moment the secret exists outside its holder.
pub struct NewKey {
    pub key: ApiKey,
    pub token: String,
}

impl NewKey {
    pub fn mint(role: Role, project: Option<ProjectId>, now: DateTime<Utc>) -> Self {
        let id = KeyId::random();
        let secret =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let token = format!("hk_{id}_{secret}");
        Self {
            key: ApiKey {
                hash: KeyHash::of(&token),
                id,
                role,
                project,
                created_at: now,
            },
            token,
        }
    }
}

/// Reads the key id out of a presented token (`hk_{id}_{secret}`), without trusting anything else in it.
pub fn key_id_of(token: &str) -> Option<KeyId> {
    let rest = token.strip_prefix("hk_")?;
    let (id, _secret) = rest.split_once('_')?;
    KeyId::parse(id).ok()
}

/// Who is calling, after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Admin,
    Member { project: ProjectId, role: Role },
}

impl Principal {
    /// Reading a project: admins and its members. Others are told it does not exist.
    pub fn check_read(&self, project: &ProjectId) -> Result<(), ServiceError> {
        match self {
            Self::Admin => Ok(()),
            Self::Member { project: own, .. } if own == project => Ok(()),
            Self::Member { .. } => Err(ServiceError::NotFound("project")),
        }
    }

    /// Changing a project: admins and its editors; its viewers get 403.
    pub fn check_write(&self, project: &ProjectId) -> Result<(), ServiceError> {
        self.check_read(project)?;
        match self {
            Self::Member {
                role: Role::Viewer, ..
            } => Err(ServiceError::PermissionDenied(
                "this key is a viewer key: it can read but not change this project".into(),
            )),
            _ => Ok(()),
        }
    }

    pub fn check_admin(&self) -> Result<(), ServiceError> {
        match self {
            Self::Admin => Ok(()),
            Self::Member { .. } => Err(ServiceError::PermissionDenied(
                "this needs an admin key".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_verify_and_carry_their_id() {
        let new = NewKey::mint(Role::Editor, None, Utc::now());
        assert!(new.key.hash.matches(&new.token));
        assert!(!new.key.hash.matches("hk_0000000000000000_guess"));
        assert_eq!(key_id_of(&new.token), Some(new.key.id.clone()));
        assert_eq!(key_id_of("Bearer nonsense"), None);
    }

    #[test]
    fn other_projects_are_invisible_and_viewers_cannot_write() {
        let payments = ProjectId::parse("payments").unwrap();
        let other = ProjectId::parse("other").unwrap();
        let viewer = Principal::Member {
            project: payments.clone(),
            role: Role::Viewer,
        };
        assert!(viewer.check_read(&payments).is_ok());
        assert!(matches!(
            viewer.check_write(&payments),
            Err(ServiceError::PermissionDenied(_))
        ));
        assert!(matches!(
            viewer.check_read(&other),
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(
            viewer.check_write(&other),
            Err(ServiceError::NotFound(_))
        ));
    }
}
