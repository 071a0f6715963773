//! Pictures for messages: the bytes from the image store, and each provider's upload of them
//! done once and shared. An upload's key (WeCom media id, Feishu image key) is kept in this
//! process and in the store, so every batch of a run — on this instance or another — sends the
//! same upload; concurrent senders in one process wait for one upload (single-flight).
use crate::clock::Clock;
use crate::domain::image::{ImageId, ImageRef};
use crate::ports::{ImageStore, SendError, SendFailure};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Image bytes kept in memory for reuse by the next batches (the newest few only).
const BYTES_CACHED: usize = 4;

/// What an upload answered.
pub struct Uploaded {
    pub key: String,
    pub expires_at: DateTime<Utc>,
}

fn failure(failure: SendFailure, code: Option<i64>, message: impl Into<String>) -> SendError {
    SendError {
        failure,
        code,
        message: message.into(),
        hint: None,
    }
}

/// An upload's scope and picture.
type Slot = (String, ImageId);
type Shared<T> = Arc<Mutex<T>>;

/// Image bytes and uploads for the provider clients of one process.
#[derive(Clone)]
pub struct Images {
    store: Arc<dyn ImageStore>,
    uploads: Shared<HashMap<Slot, (String, DateTime<Utc>)>>,
    flights: Shared<HashMap<Slot, Arc<tokio::sync::Mutex<()>>>>,
    bytes: Shared<Vec<(ImageId, Arc<Vec<u8>>)>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Images {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Images").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> SendError {
    failure(
        SendFailure::Transient,
        None,
        format!("the image store could not {what}: {err}"),
    )
}

impl Images {
    pub fn new(store: Arc<dyn ImageStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            uploads: Arc::default(),
            flights: Arc::default(),
            bytes: Arc::default(),
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The picture's bytes: a missing picture (expired with its record) is a permanent failure.
    pub async fn bytes(&self, image: &ImageRef) -> Result<Arc<Vec<u8>>, SendError> {
        if let Some((_, bytes)) = lock(&self.bytes).iter().find(|(id, _)| *id == image.id) {
            return Ok(Arc::clone(bytes));
        }
        let now = self.clock.now();
        let bytes = self
            .store
            .get_image(&image.project, &image.id, now)
            .await
            .map_err(|e| unavailable("be read", e))?
            .ok_or_else(|| {
                failure(
                    SendFailure::Payload,
                    None,
                    format!("the picture {} is no longer stored", image.id),
                )
            })?;
        let bytes = Arc::new(bytes);
        let mut cache = lock(&self.bytes);
        cache.retain(|(id, _)| *id != image.id);
        cache.push((image.id.clone(), Arc::clone(&bytes)));
        if cache.len() > BYTES_CACHED {
            cache.remove(0);
        }
        Ok(bytes)
    }

    /// The provider's key for `image` under `scope` (e.g. `wecom:<corp>`), uploading it with
    /// `upload` only when no one has yet. Returns the key and what happened, for the record.
    pub async fn upload<F, Fut>(
        &self,
        scope: &str,
        image: &ImageRef,
        upload: F,
    ) -> Result<(String, String), SendError>
    where
        F: FnOnce(Arc<Vec<u8>>) -> Fut,
        Fut: Future<Output = Result<Uploaded, SendError>>,
    {
        let slot = (scope.to_owned(), image.id.clone());
        let flight = Arc::clone(lock(&self.flights).entry(slot.clone()).or_default());
        let result = {
            let _one_at_a_time = flight.lock().await;
            self.upload_once(&slot, image, upload).await
        };
        // The last sender of this picture takes its flight away: the map holds only uploads
        // under way, not one entry per picture ever sent.
        let mut flights = lock(&self.flights);
        if Arc::strong_count(&flight) == 2 {
            flights.remove(&slot);
        }
        result
    }

    async fn upload_once<F, Fut>(
        &self,
        slot: &Slot,
        image: &ImageRef,
        upload: F,
    ) -> Result<(String, String), SendError>
    where
        F: FnOnce(Arc<Vec<u8>>) -> Fut,
        Fut: Future<Output = Result<Uploaded, SendError>>,
    {
        let (scope, now) = (slot.0.as_str(), self.clock.now());
        if let Some((key, expires)) = lock(&self.uploads).get(slot).cloned()
            && expires > now
        {
            return Ok((key, "reused this run's upload".to_owned()));
        }
        if let Some(key) = self
            .store
            .get_upload(scope, &image.id, now)
            .await
            .map_err(|e| unavailable("be read", e))?
        {
            // The store does not keep the expiry it was given; an hour is always within it.
            self.remember(slot, &key, now + chrono::Duration::hours(1));
            return Ok((key, "reused an earlier upload".to_owned()));
        }
        let bytes = self.bytes(image).await?;
        let size = bytes.len();
        let uploaded = upload(bytes).await?;
        let key = self
            .store
            .put_upload(scope, &image.id, &uploaded.key, uploaded.expires_at)
            .await
            .map_err(|e| unavailable("record the upload", e))?;
        let note = if key == uploaded.key {
            format!("uploaded the {} ({size} bytes)", image.name)
        } else {
            format!(
                "uploaded the {} ({size} bytes); another sender's upload was recorded first and is used",
                image.name
            )
        };
        self.remember(slot, &key, uploaded.expires_at);
        Ok((key, note))
    }

    /// Keeps an upload's key in this process, dropping the expired ones (one per past run).
    fn remember(&self, slot: &Slot, key: &str, expires: DateTime<Utc>) {
        let now = self.clock.now();
        let mut uploads = lock(&self.uploads);
        uploads.retain(|_, (_, until)| *until > now);
        uploads.insert(slot.clone(), (key.to_owned(), expires));
    }
}
