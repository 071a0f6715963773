//! Pictures and their provider uploads on SQLite: one row per (project, image), one per
//! (scope, image) upload; both expire (purged hourly with the run records).
use crate::codec::sql;
use crate::deliveries::due_key;
use crate::store::SqliteStore;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::domain::ids::ProjectId;
use herald_core::domain::image::ImageId;
use herald_core::ports::{ImageStore, StoreError};
use rusqlite::{OptionalExtension, params};

#[async_trait]
impl ImageStore for SqliteStore {
    async fn put_file(
        &self,
        project: &ProjectId,
        id: &ImageId,
        bytes: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (project, id, png) = (project.to_string(), id.to_string(), bytes.to_vec());
        let expires = due_key(expires_at);
        self.db
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO images (project, id, png, expires_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (project, id) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)",
                    params![project, id, png, expires],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn get_image(
        &self,
        project: &ProjectId,
        id: &ImageId,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (project, id, now) = (project.to_string(), id.to_string(), due_key(now));
        self.db
            .call(move |conn| {
                conn.query_row(
                    "SELECT png FROM images WHERE project = ?1 AND id = ?2 AND expires_at > ?3",
                    params![project, id, now],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sql)
            })
            .await
    }

    async fn get_upload(
        &self,
        scope: &str,
        id: &ImageId,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let (scope, id, now) = (scope.to_owned(), id.to_string(), due_key(now));
        self.db
            .call(move |conn| {
                conn.query_row(
                    "SELECT key FROM image_uploads WHERE scope = ?1 AND image_id = ?2 AND expires_at > ?3",
                    params![scope, id, now],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sql)
            })
            .await
    }

    async fn put_upload(
        &self,
        scope: &str,
        id: &ImageId,
        key: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let (scope, id, key) = (scope.to_owned(), id.to_string(), key.to_owned());
        let expires = due_key(expires_at);
        self.db
            .call(move |conn| {
                // An expired row is replaced; a live one wins over this upload.
                let tx = crate::db::write_transaction(conn).map_err(sql)?;
                tx.execute(
                    "INSERT INTO image_uploads (scope, image_id, key, expires_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (scope, image_id) DO UPDATE SET key = excluded.key, expires_at = excluded.expires_at
                     WHERE image_uploads.expires_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                    params![scope, id, key, expires],
                )
                .map_err(sql)?;
                let winner: String = tx
                    .query_row(
                        "SELECT key FROM image_uploads WHERE scope = ?1 AND image_id = ?2",
                        params![scope, id],
                        |row| row.get(0),
                    )
                    .map_err(sql)?;
                tx.commit().map_err(sql)?;
                Ok(winner)
            })
            .await
    }
}
