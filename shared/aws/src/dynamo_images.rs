//! Pictures and their provider uploads in the table. An image is split into parts of at most
//! 350 KB (an item holds at most 400 KB): `PK = IMAGE#<project>#<sha256>`, `SK = PART#000`…, each
//! with `expires_at` for TTL. Part 000 carries the number of parts and is written last, so a
//! reader never takes a half-written image for a whole one. An upload is one item,
//! `PK = UPLOAD#<scope>#<sha256>`, `SK = UPLOAD`, written if absent (or expired): the first wins.
use crate::codec::{Item, is_condition_failed, n, s, unavailable};
use crate::dynamo::DynamoStore;
use crate::keys::{epoch, image_pk, part_sk, upload_pk};
use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use herald_core::domain::ids::ProjectId;
use herald_core::domain::image::ImageId;
use herald_core::ports::{ImageStore, StoreError};
use std::collections::HashMap;

/// The most PNG bytes in one item (DynamoDB: 400 KB per item, keys and attributes included).
const PART_BYTES: usize = 350 * 1024;

fn number(item: &Item, name: &str) -> Option<u64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

impl DynamoStore {
    /// Writes one part unless it is stored already with a later expiry: storing an image again
    /// only extends its life (a run resumed late must not shorten a newer run's picture).
    async fn put_part(&self, item: Item, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK) OR expires_at < :new")
            .expression_attribute_values(":new", n(epoch(expires_at)))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }
}

#[async_trait]
impl ImageStore for DynamoStore {
    async fn put_file(
        &self,
        project: &ProjectId,
        id: &ImageId,
        bytes: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let pk = image_pk(project, id);
        let parts: Vec<&[u8]> = bytes.chunks(PART_BYTES).collect();
        let item = |i: usize, bytes: &[u8]| -> Item {
            HashMap::from([
                ("PK".to_owned(), s(pk.clone())),
                ("SK".to_owned(), s(part_sk(i))),
                ("kind".to_owned(), s("image")),
                (
                    "png".to_owned(),
                    AttributeValue::B(Blob::new(bytes.to_vec())),
                ),
                ("expires_at".to_owned(), n(epoch(expires_at))),
            ])
        };
        for (i, bytes) in parts.iter().enumerate().skip(1) {
            self.put_part(item(i, bytes), expires_at).await?;
        }
        let mut first = item(0, parts.first().copied().unwrap_or_default());
        first.insert("parts".to_owned(), n(parts.len().max(1) as u64));
        self.put_part(first, expires_at).await
    }

    async fn get_image(
        &self,
        project: &ProjectId,
        id: &ImageId,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut items: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :part)")
                .expression_attribute_values(":pk", s(image_pk(project, id)))
                .expression_attribute_values(":part", s("PART#"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let Some(first) = items.first() else {
            return Ok(None);
        };
        let expired = number(first, "expires_at").is_none_or(|at| at <= epoch(now));
        let parts = number(first, "parts").unwrap_or(0) as usize;
        if expired || parts == 0 || items.len() < parts {
            return Ok(None);
        }
        let mut png = Vec::new();
        for item in items.iter().take(parts) {
            let bytes = item
                .get("png")
                .and_then(|v| v.as_b().ok())
                .ok_or_else(|| StoreError::Corrupt("an image part without bytes".into()))?;
            png.extend_from_slice(bytes.as_ref());
        }
        if ImageId::of(&png) != *id {
            return Err(StoreError::Corrupt(format!(
                "image {id} does not match its hash"
            )));
        }
        Ok(Some(png))
    }

    async fn get_upload(
        &self,
        scope: &str,
        id: &ImageId,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let item = self.get_item(s(upload_pk(scope, id)), s("UPLOAD")).await?;
        Ok(item
            .filter(|i| number(i, "expires_at").is_some_and(|at| at > epoch(now)))
            .and_then(|i| i.get("key").and_then(|v| v.as_s().ok()).cloned()))
    }

    async fn put_upload(
        &self,
        scope: &str,
        id: &ImageId,
        key: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let pk = upload_pk(scope, id);
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(pk.clone()))
            .item("SK", s("UPLOAD"))
            .item("kind", s("image_upload"))
            .item("key", s(key))
            .item("expires_at", n(epoch(expires_at)))
            .condition_expression("attribute_not_exists(PK) OR expires_at <= :now")
            .expression_attribute_values(":now", n(epoch(Utc::now())))
            .send()
            .await;
        match written {
            Ok(_) => Ok(key.to_owned()),
            Err(err) if is_condition_failed(&err) => {
                let item = self.get_item(s(pk), s("UPLOAD")).await?;
                Ok(item
                    .and_then(|i| i.get("key").and_then(|v| v.as_s().ok()).cloned())
                    .unwrap_or_else(|| key.to_owned()))
            }
            Err(err) => Err(unavailable(err)),
        }
    }
}
