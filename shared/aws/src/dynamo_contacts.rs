//! The contacts directory: one item per contact (`PK = CONTACT#{id}`, `CONTACT_SK = CONTACT`), listed in id
//! order through GSI1 (`GSI1PK = "CONTACTS"`, `GSI1CONTACT_SK = {id}`), fetched in bulk with BatchGetItem.
use crate::codec::{Item, is_condition_failed, parse_doc, s, to_doc, unavailable};
use crate::dynamo::DynamoStore;
use crate::keys::{CONTACT_SK, LIST_PK, contact_pk};
use async_trait::async_trait;
use herald_core::domain::contact::{Contact, in_order_of};
use herald_core::domain::ids::ContactId;
use herald_core::ports::{ContactPage, ContactStore, StoreError};
use std::collections::HashMap;

fn contact_key(id: &ContactId) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(contact_pk(id))),
        ("SK".to_owned(), s(CONTACT_SK)),
    ])
}

fn contact_item(contact: &Contact) -> Result<Item, StoreError> {
    let id = contact.id();
    Ok(HashMap::from([
        ("PK".to_owned(), s(contact_pk(id))),
        ("SK".to_owned(), s(CONTACT_SK)),
        ("kind".to_owned(), s("contact")),
        ("contact_id".to_owned(), s(id.to_string())),
        ("GSI1PK".to_owned(), s(LIST_PK)),
        ("GSI1SK".to_owned(), s(id.to_string())),
        (
            "updated_at".to_owned(),
            s(contact.updated_at().to_rfc3339()),
        ),
        ("doc".to_owned(), s(to_doc(contact)?)),
    ]))
}

#[async_trait]
impl ContactStore for DynamoStore {
    async fn put_contact(&self, contact: &Contact) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(contact_item(contact)?))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get_contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        let item = self.get_item(s(contact_pk(id)), s(CONTACT_SK)).await?;
        item.as_ref().map(parse_doc).transpose()
    }

    async fn list_contacts(
        &self,
        after: Option<&ContactId>,
        limit: usize,
    ) -> Result<ContactPage, StoreError> {
        let items = self
            .gsi1_after(LIST_PK, after.map(ToString::to_string), limit)
            .await?
            .iter()
            .map(parse_doc::<Contact>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ContactPage::of(items, limit))
    }

    async fn delete_contact(&self, id: &ContactId) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(contact_key(id)))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Err(StoreError::NotFound),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn get_contacts(&self, ids: &[ContactId]) -> Result<Vec<Contact>, StoreError> {
        // BatchGetItem refuses a request that names one key twice.
        let mut unique: Vec<&ContactId> = ids.iter().collect();
        unique.sort_unstable();
        unique.dedup();
        let keys = unique.iter().map(|id| contact_key(id)).collect();
        let found = self
            .batch_get_items(keys)
            .await?
            .iter()
            .map(parse_doc::<Contact>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(in_order_of(ids, found))
    }
}
