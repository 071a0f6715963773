//! The contacts directory on SQLite: one row per contact, listed in id order.
use crate::codec::{from_doc, sql, to_doc};
use crate::store::SqliteStore;
use async_trait::async_trait;
use herald_core::domain::contact::{Contact, in_order_of};
use herald_core::domain::ids::ContactId;
use herald_core::ports::{ContactPage, ContactStore, StoreError};
use rusqlite::params;

/// SQLite's default limit on bound parameters is 999 (older builds); stay well under it.
const IDS_PER_QUERY: usize = 500;

#[async_trait]
impl ContactStore for SqliteStore {
    async fn put_contact(&self, contact: &Contact) -> Result<(), StoreError> {
        let (id, doc) = (contact.id().to_string(), to_doc(contact)?);
        self.db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO contacts (id, doc) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                    params![id, doc],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn get_contact(&self, id: &ContactId) -> Result<Option<Contact>, StoreError> {
        self.one_doc(
            "SELECT doc FROM contacts WHERE id = ?1",
            vec![id.to_string()],
        )
        .await
    }

    async fn list_contacts(
        &self,
        after: Option<&ContactId>,
        limit: usize,
    ) -> Result<ContactPage, StoreError> {
        let docs = self
            .docs_after(
                "SELECT doc FROM contacts WHERE id > ?1 ORDER BY id LIMIT ?2",
                after.map(ToString::to_string),
                limit,
            )
            .await?;
        let items = docs
            .iter()
            .map(|d| from_doc::<Contact>(d))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ContactPage::of(items, limit))
    }

    async fn delete_contact(&self, id: &ContactId) -> Result<(), StoreError> {
        let id = id.to_string();
        self.db
            .call(move |conn| {
                let deleted = conn
                    .execute("DELETE FROM contacts WHERE id = ?1", params![id])
                    .map_err(sql)?;
                if deleted == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            })
            .await
    }

    async fn get_contacts(&self, ids: &[ContactId]) -> Result<Vec<Contact>, StoreError> {
        let mut lookup: Vec<String> = ids.iter().map(ToString::to_string).collect();
        lookup.sort_unstable();
        lookup.dedup();
        let docs: Vec<String> = self
            .db
            .call(move |conn| {
                let mut docs = Vec::with_capacity(lookup.len());
                for chunk in lookup.chunks(IDS_PER_QUERY) {
                    let marks = vec!["?"; chunk.len()].join(", ");
                    let mut stmt = conn
                        .prepare(&format!("SELECT doc FROM contacts WHERE id IN ({marks})"))
                        .map_err(sql)?;
                    let rows = stmt
                        .query_map(rusqlite::params_from_iter(chunk.iter()), |row| row.get(0))
                        .map_err(sql)?;
                    for row in rows {
                        docs.push(row.map_err(sql)?);
                    }
                }
                Ok::<_, StoreError>(docs)
            })
            .await?;
        let found = docs
            .iter()
            .map(|d| from_doc::<Contact>(d))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(in_order_of(ids, found))
    }
}
