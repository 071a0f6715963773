//! The channel settings document on SQLite, written only if its version is the one read.
use crate::codec::{sql, to_doc};
use crate::store::SqliteStore;
use async_trait::async_trait;
use herald_core::ports::{SettingsRecord, SettingsStore, StoreError};
use rusqlite::params;

const ID: &str = "channels";

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn get_settings(&self) -> Result<SettingsRecord, StoreError> {
        let record = self
            .one_doc(
                "SELECT doc FROM settings WHERE id = ?1",
                vec![ID.to_owned()],
            )
            .await?;
        Ok(record.unwrap_or_default())
    }

    async fn put_settings(
        &self,
        record: &SettingsRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let doc = to_doc(record)?;
        let version =
            i64::try_from(record.version).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let expected =
            i64::try_from(expected_version).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.db
            .call(move |conn| {
                let written = if expected == 0 {
                    conn.execute(
                        "INSERT INTO settings (id, version, doc) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                        params![ID, version, doc],
                    )
                } else {
                    conn.execute(
                        "UPDATE settings SET version = ?2, doc = ?3 WHERE id = ?1 AND version = ?4",
                        params![ID, version, doc, expected],
                    )
                }
                .map_err(sql)?;
                if written == 1 { Ok(()) } else { Err(StoreError::Conflict) }
            })
            .await
    }
}
