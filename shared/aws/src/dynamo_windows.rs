//! Provider quotas counted across processes (the `QuotaStore` port): one item per quota key,
//! `PK = "QUOTA#{sha256 of the key}"`, `QUOTA_SK = "WINDOW"`, holding the send instants of the quota's
//! longest window (`sent`: 8-byte big-endian milliseconds each; 1,000 sends are 8 KB), a `version`
//! every write is conditional on, and `expires_at` (TTL) once the window is empty.
use crate::DynamoStore;
use crate::codec::{is_condition_failed, n, s, unavailable, write_failure};
use crate::keys::{QUOTA_SK, quota_pk};
use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use herald_core::ports::{QuotaStore, StoreError};

fn encode(sent: &[DateTime<Utc>]) -> Vec<u8> {
    sent.iter()
        .flat_map(|t| t.timestamp_millis().to_be_bytes())
        .collect()
}

fn decode(bytes: &[u8]) -> Vec<DateTime<Utc>> {
    bytes
        .chunks_exact(8)
        .filter_map(|chunk| {
            let millis = i64::from_be_bytes(chunk.try_into().ok()?);
            DateTime::from_timestamp_millis(millis)
        })
        .collect()
}

#[async_trait]
impl QuotaStore for DynamoStore {
    async fn load(&self, key: &str) -> Result<(Vec<DateTime<Utc>>, u64), StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(quota_pk(key)))
            .key("SK", s(QUOTA_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?
            .item;
        let Some(item) = item else {
            return Ok((Vec::new(), 0));
        };
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let sent = item
            .get("sent")
            .and_then(|v| v.as_b().ok())
            .map(|b| decode(b.as_ref()))
            .unwrap_or_default();
        Ok((sent, version))
    }

    async fn store(
        &self,
        key: &str,
        sent: &[DateTime<Utc>],
        version: u64,
        keep_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let expires = u64::try_from(keep_until.timestamp()).unwrap_or(0);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(quota_pk(key)))
            .item("SK", s(QUOTA_SK))
            .item("kind", s("quota_window"))
            .item("sent", AttributeValue::B(Blob::new(encode(sent))))
            .item("version", n(version + 1))
            .item("expires_at", n(expires));
        let put = if version == 0 {
            put.condition_expression("attribute_not_exists(PK)")
        } else {
            put.condition_expression("version = :version")
                .expression_attribute_values(":version", n(version))
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failed(&err) => Ok(false),
            Err(err) => Err(write_failure(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_instants_round_trip_to_the_millisecond() {
        let sent: Vec<DateTime<Utc>> = ["2026-12-01T09:00:00.123Z", "2026-12-01T09:00:59.999Z"]
            .iter()
            .map(|t| DateTime::parse_from_rfc3339(t).unwrap().to_utc())
            .collect();
        assert_eq!(decode(&encode(&sent)), sent);
        assert_eq!(encode(&sent).len(), 16);
    }
}
