//! BatchGetItem for any number of keys: at most 100 per call, read consistently, asking again
//! (with a growing pause) for the keys DynamoDB leaves unprocessed when it throttles.
use crate::codec::{Item, unavailable};
use crate::dynamo::DynamoStore;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use herald_core::ports::StoreError;
use std::time::Duration;

/// BatchGetItem takes at most 100 keys per call.
const BATCH_GET_MAX: usize = 100;
/// How often unprocessed keys are asked for again before giving up.
const UNPROCESSED_RETRIES: u32 = 5;

impl DynamoStore {
    /// The items of `keys` that exist, in no particular order. Keys must be distinct (BatchGetItem
    /// refuses a request that names one twice).
    pub(crate) async fn batch_get_items(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?;
            let mut attempt = 0;
            loop {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(unavailable)?;
                if let Some(items) = out.responses.and_then(|mut r| r.remove(&self.table)) {
                    found.extend(items);
                }
                match out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .filter(|k| !k.keys().is_empty())
                {
                    Some(rest) if attempt < UNPROCESSED_RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                        pending = rest;
                    }
                    Some(_) => {
                        return Err(StoreError::Unavailable(
                            "DynamoDB left keys unprocessed after several retries".into(),
                        ));
                    }
                    None => break,
                }
            }
        }
        Ok(found)
    }
}
