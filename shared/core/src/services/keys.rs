//! Authentication and API key management.
use crate::clock::Clock;
use crate::domain::auth::ApiKey;
use crate::domain::auth::{KeyHash, NewKey, Principal, Role, key_id_of};
use crate::domain::ids::{KeyId, ProjectId};
use crate::domain::session::Session;
use crate::ports::{KeyStore, StoreError};
use crate::{FieldError, ServiceError};
use std::sync::Arc;

#[derive(Clone)]
pub struct KeyService {
    store: Arc<dyn KeyStore>,
    /// The first admin key, from configuration (its hash only).
    admin: KeyHash,
    clock: Arc<dyn Clock>,
}

impl KeyService {
    pub fn new(store: Arc<dyn KeyStore>, admin: KeyHash, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            admin,
            clock,
        }
    }

    /// Turns a presented bearer token into who is calling.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, token: &str) -> Result<Principal, ServiceError> {
        if self.admin.matches(token) {
            return Ok(Principal::Admin);
        }
        let Some(id) = key_id_of(token) else {
            return Err(ServiceError::Unauthenticated);
        };
        let Some(key) = self.store.get_key(&id).await? else {
            return Err(ServiceError::Unauthenticated);
        };
        if !key.hash.matches(token) {
            return Err(ServiceError::Unauthenticated);
        }
        principal_of(key)
    }

    /// Who a console session is, checked against the keys as they are now: a session of a key
    /// that was revoked (or of an admin key that was replaced) is no session.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate_session(&self, session: &Session) -> Result<Principal, ServiceError> {
        if self.admin.same_as(&session.key_hash) {
            return Ok(Principal::Admin);
        }
        let Some(id) = &session.key_id else {
            return Err(ServiceError::Unauthenticated);
        };
        let Some(key) = self.store.get_key(id).await? else {
            return Err(ServiceError::Unauthenticated);
        };
        if !key.hash.same_as(&session.key_hash) {
            return Err(ServiceError::Unauthenticated);
        }
        principal_of(key)
    }

    /// Mints a key; the token in the answer is shown once and never again.
    #[tracing::instrument(skip_all, fields(role = role.as_str()))]
    pub async fn create(
        &self,
        who: &Principal,
        role: Role,
        project: Option<ProjectId>,
    ) -> Result<NewKey, ServiceError> {
        who.check_admin()?;
        match (role, &project) {
            (Role::Admin, Some(_)) => {
                return Err(FieldError::new(
                    "project",
                    "admin keys are not tied to a project; omit it",
                )
                .into());
            }
            (Role::Editor | Role::Viewer, None) => {
                return Err(
                    FieldError::new("project", "is required for editor and viewer keys").into(),
                );
            }
            _ => {}
        }
        let new = NewKey::mint(role, project, self.clock.now());
        self.store.insert_key(&new.key).await?;
        tracing::info!(key_id = %new.key.id, "api key created");
        Ok(new)
    }

    /// The keys (their records, never a key), in id order; admins only.
    pub async fn list(
        &self,
        who: &Principal,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<crate::ports::KeyPage, ServiceError> {
        who.check_admin()?;
        Ok(self.store.list_keys(after, limit).await?)
    }

    #[tracing::instrument(skip_all, fields(key_id = %id))]
    pub async fn delete(&self, who: &Principal, id: &KeyId) -> Result<(), ServiceError> {
        who.check_admin()?;
        match self.store.delete_key(id).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => Err(ServiceError::NotFound("key")),
            Err(other) => Err(other.into()),
        }
    }
}

fn principal_of(key: ApiKey) -> Result<Principal, ServiceError> {
    Ok(match (key.role, key.project) {
        (Role::Admin, _) => Principal::Admin,
        (role, Some(project)) => Principal::Member { project, role },
        (_, None) => return Err(ServiceError::Unauthenticated),
    })
}
