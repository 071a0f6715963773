//! The contacts directory.
use super::*;

/// The contacts directory, by contact id.
#[async_trait]
pub trait ContactStore: Send + Sync {
    /// Creates the contact or replaces the one with its id.
    async fn put_contact(
        &self,
        contact: &crate::domain::contact::Contact,
    ) -> Result<(), StoreError>;
    async fn get_contact(
        &self,
        id: &crate::domain::ids::ContactId,
    ) -> Result<Option<crate::domain::contact::Contact>, StoreError>;
    /// Contacts in ascending id order, starting after `after`.
    async fn list_contacts(
        &self,
        after: Option<&crate::domain::ids::ContactId>,
        limit: usize,
    ) -> Result<ContactPage, StoreError>;
    /// `NotFound` if there was no such contact.
    async fn delete_contact(&self, id: &crate::domain::ids::ContactId) -> Result<(), StoreError>;
    /// The contacts among `ids` that exist, in the order of `ids`; missing ids are skipped and
    /// repeated ones answered once.
    async fn get_contacts(
        &self,
        ids: &[crate::domain::ids::ContactId],
    ) -> Result<Vec<crate::domain::contact::Contact>, StoreError>;
}
