//! The contacts directory (admin): the people ticket notifications and task recipients name.
use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::auth::Principal;
use crate::domain::contact::{Contact, ContactDetails};
use crate::domain::ids::ContactId;
use crate::ports::{ContactPage, ContactStore, StoreError};
use std::sync::Arc;

#[derive(Clone)]
pub struct ContactService {
    store: Arc<dyn ContactStore>,
    clock: Arc<dyn Clock>,
}

impl ContactService {
    pub fn new(store: Arc<dyn ContactStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Creates the contact or replaces it; `Invalid` (field `email`) if it cannot be reached at all.
    #[tracing::instrument(skip_all, fields(contact_id = %id))]
    pub async fn put(
        &self,
        who: &Principal,
        id: ContactId,
        details: ContactDetails,
    ) -> Result<Contact, ServiceError> {
        who.check_admin()?;
        let contact = Contact::new(id, details, self.clock.now())?;
        self.store.put_contact(&contact).await?;
        tracing::info!("contact saved");
        Ok(contact)
    }

    pub async fn get(&self, who: &Principal, id: &ContactId) -> Result<Contact, ServiceError> {
        who.check_admin()?;
        self.store
            .get_contact(id)
            .await?
            .ok_or(ServiceError::NotFound("contact"))
    }

    /// Contacts in id order, `limit` at a time, starting after `after`.
    pub async fn list(
        &self,
        who: &Principal,
        after: Option<&ContactId>,
        limit: usize,
    ) -> Result<ContactPage, ServiceError> {
        who.check_admin()?;
        Ok(self.store.list_contacts(after, limit).await?)
    }

    #[tracing::instrument(skip_all, fields(contact_id = %id))]
    pub async fn delete(&self, who: &Principal, id: &ContactId) -> Result<(), ServiceError> {
        who.check_admin()?;
        match self.store.delete_contact(id).await {
            Ok(()) => {
                tracing::info!("contact deleted");
                Ok(())
            }
            Err(StoreError::NotFound) => Err(ServiceError::NotFound("contact")),
            Err(other) => Err(other.into()),
        }
    }
}
