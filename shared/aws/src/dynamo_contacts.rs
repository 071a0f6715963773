//! The contacts directory: one item per contact (`PK = CONTACT#{id}`, `SK = CONTACT`), listed in id
//! order through GSI1 (`GSI1PK = "CONTACTS"`, `GSI1SK = {id}`), fetched in bulk with BatchGetItem.
use crate::dynamo::{DynamoStore, Item, is_condition_failed, parse_doc, s, to_doc, unavailable};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use herald_core::domain::contact::{Contact, in_order_of};
use herald_core::domain::ids::ContactId;
use herald_core::ports::{ContactPage, ContactStore, StoreError};
use std::collections::HashMap;
use std::time::Duration;

const SK: &str = "CONTACT";
/// The GSI1 partition that holds every contact.
const LIST_PK: &str = "CONTACTS";
/// BatchGetItem takes at most 100 keys per call.
const BATCH_GET_MAX: usize = 100;
/// How often keys DynamoDB left unprocessed (throttling) are asked for again before giving up.
const UNPROCESSED_RETRIES: u32 = 5;

fn contact_pk(id: &ContactId) -> String {
    format!("CONTACT#{id}")
}

fn contact_key(id: &ContactId) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(contact_pk(id))),
        ("SK".to_owned(), s(SK)),
    ])
}

fn contact_item(contact: &Contact) -> Result<Item, StoreError> {
    let id = contact.id();
    Ok(HashMap::from([
        ("PK".to_owned(), s(contact_pk(id))),
        ("SK".to_owned(), s(SK)),
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

impl DynamoStore {
    /// One BatchGetItem of at most 100 keys, asking again for what DynamoDB left unprocessed.
    async fn batch_get_contacts(&self, keys: Vec<Item>) -> Result<Vec<Contact>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        let mut pending = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(unavailable)?;
        for attempt in 0..=UNPROCESSED_RETRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(items) = out.responses.as_ref().and_then(|r| r.get(&self.table)) {
                for item in items {
                    found.push(parse_doc::<Contact>(item)?);
                }
            }
            match out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty())
            {
                Some(rest) => pending = rest,
                None => return Ok(found),
            }
        }
        Err(StoreError::Unavailable(
            "DynamoDB left contact keys unprocessed after several retries".into(),
        ))
    }
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
        let item = self.get_item(s(contact_pk(id)), s(SK)).await?;
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
        let mut found = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(BATCH_GET_MAX) {
            let keys = chunk.iter().map(|id| contact_key(id)).collect();
            found.extend(self.batch_get_contacts(keys).await?);
        }
        Ok(in_order_of(ids, found))
    }
}
