//! Drawing pictures and keeping them.
use super::*;

#[derive(Debug, Error)]
pub enum PictureError {
    #[error("the picture could not be drawn: {0}")]
    Draw(String),
}

/// Draws chart pictures and page snapshots from figures (CPU work: call it off the async workers).
pub trait PictureRenderer: Send + Sync {
    /// The dashboard picture: title, time, every chart in a grid.
    fn page_snapshot(
        &self,
        page: &crate::domain::report::PageReport,
    ) -> Result<crate::domain::image::Image, PictureError>;
    /// One chart on its own.
    fn chart_picture(
        &self,
        chart: &crate::domain::report::ChartReport,
        language: crate::domain::contact::Language,
    ) -> Result<crate::domain::image::Image, PictureError>;
}

/// Stored pictures and attachments, by project and content hash, kept until `expires_at`; and what providers
/// answered when a picture was uploaded to them (a WeCom media id, a Feishu image key), so the
/// batches of a run share one upload.
#[async_trait]
pub trait ImageStore: Send + Sync {
    /// Stores a file by its content hash `id` (a picture, an attachment); storing the same bytes
    /// again only extends their life.
    async fn put_file(
        &self,
        project: &ProjectId,
        id: &crate::domain::image::ImageId,
        bytes: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Stores `image` (storing the same image again only extends its life).
    async fn put_image(
        &self,
        project: &ProjectId,
        image: &crate::domain::image::Image,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.put_file(project, &image.id, &image.png, expires_at)
            .await
    }
    /// A stored file's bytes (a picture's PNG), if stored and not expired at `now`.
    async fn get_image(
        &self,
        project: &ProjectId,
        id: &crate::domain::image::ImageId,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// The provider's key for an image uploaded under `scope` (e.g. `wecom:<corp id>`).
    async fn get_upload(
        &self,
        scope: &str,
        id: &crate::domain::image::ImageId,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;
    /// Records an upload; the first one recorded wins and is returned.
    async fn put_upload(
        &self,
        scope: &str,
        id: &crate::domain::image::ImageId,
        key: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError>;
}
