//! Provider quotas counted across processes.
use super::*;

/// Where a quota's sends are kept when several processes send for the same key (delivery Lambdas
/// running side by side): the limiter reads a key's sends, finds its slot as it does in memory,
/// and writes them back only if nobody wrote in between. Keys arrive hashed (robot keys are
/// secrets).
#[async_trait]
pub trait QuotaStore: Send + Sync {
    /// The key's recorded send instants, oldest first, and the version to write over (0: none).
    async fn load(&self, key: &str) -> Result<(Vec<DateTime<Utc>>, u64), StoreError>;
    /// Stores `sent` as version `version + 1` if the stored version is still `version`; false
    /// if another process wrote first. `keep_until`: when the record may expire.
    async fn store(
        &self,
        key: &str,
        sent: &[DateTime<Utc>],
        version: u64,
        keep_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}
