//! What messages say, kept once for every delivery that says it: `PK = CONTENT#<sha256>`,
//! `SK = CONTENT`, with `expires_at` for TTL. A delivery's item holds its address and the
//! content's id (`herald_core::domain::stored_message`), so a push of a 130 KB mail to 1,000
//! addresses writes one 130 KB item, and the deliveries' claims and outcomes rewrite small items.
//! A content is written before the deliveries that name it (the Stream hands a new delivery to a
//! worker at once) and never changes, so readers may keep it.
use crate::codec::{Item, n, s};
use crate::dynamo::DynamoStore;
use crate::keys::content_pk;
use herald_core::domain::stored_message::{ContentId, SharedContent};
use herald_core::ports::StoreError;
use std::collections::HashMap;
use std::sync::Arc;

impl DynamoStore {
    /// Writes each of `contents` once (writing one again only extends its life to `expires_at`,
    /// never shortens it).
    pub(crate) async fn put_contents(
        &self,
        contents: &[SharedContent],
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let mut written = std::collections::HashSet::new();
        for content in contents {
            if !written.insert(&content.id) {
                continue;
            }
            let item: Item = HashMap::from([
                ("PK".to_owned(), s(content_pk(&content.id))),
                ("SK".to_owned(), s("CONTENT")),
                ("kind".to_owned(), s("content")),
                ("content".to_owned(), s(content.json.clone())),
                ("expires_at".to_owned(), n(expires_at)),
            ]);
            // A content is the same wherever it is written; only its life may differ. A run
            // resumed long after it started computes an earlier expiry than a newer run that
            // wrote the same content: that write must not shorten the newer run's.
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK) OR expires_at < :expires_at")
                .expression_attribute_values(":expires_at", n(expires_at))
                .send()
                .await;
            match put {
                Ok(_) => {}
                Err(err) if crate::codec::is_condition_failed(&err) => {}
                Err(err) => return Err(crate::codec::write_failure(err)),
            }
        }
        Ok(())
    }

    /// A content's JSON, from this process's recent ones or the table.
    pub(crate) async fn content(&self, id: &ContentId) -> Result<Arc<str>, StoreError> {
        if let Some(json) = self.recent_contents.get(id) {
            return Ok(json);
        }
        let item = self
            .get_item(s(content_pk(id)), s("CONTENT"))
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("message content {id} is missing")))?;
        let json: Arc<str> = item
            .get("content")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("message content {id} has no text")))?
            .as_str()
            .into();
        self.recent_contents.keep(id.clone(), json.clone());
        Ok(json)
    }
}
