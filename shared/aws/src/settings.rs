//! The channel settings document: one item (`PK = SETTINGS`, `SK = CHANNELS`), versioned.
use crate::codec::{is_condition_failed, n, parse_doc, s, to_doc, unavailable};
use crate::dynamo::DynamoStore;
use crate::keys::{SETTINGS_PK, SETTINGS_SK};
use async_trait::async_trait;
use herald_core::ports::{SettingsRecord, SettingsStore, StoreError};

#[async_trait]
impl SettingsStore for DynamoStore {
    async fn get_settings(&self) -> Result<SettingsRecord, StoreError> {
        let item = self.get_item(s(SETTINGS_PK), s(SETTINGS_SK)).await?;
        item.as_ref()
            .map(parse_doc)
            .transpose()
            .map(Option::unwrap_or_default)
    }

    async fn put_settings(
        &self,
        record: &SettingsRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(SETTINGS_PK))
            .item("SK", s(SETTINGS_SK))
            .item("kind", s("settings"))
            .item("version", n(record.version))
            .item("doc", s(to_doc(record)?));
        let put = if expected_version == 0 {
            put.condition_expression("attribute_not_exists(PK)")
        } else {
            put.condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(expected_version))
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Err(StoreError::Conflict),
            Err(err) => Err(unavailable(err)),
        }
    }
}
