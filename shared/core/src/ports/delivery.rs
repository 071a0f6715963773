//! Sending a message and the queue of deliveries.
use super::*;

pub use crate::domain::send::{SendError, SendFailure, SendReceipt};

/// Sends one outbound message through its provider. Implementations hold one HTTP client and cached
/// tokens per process; `idempotency_key` is stable across retries of the same delivery so providers
/// that de-duplicate (Feishu `uuid`, WeCom duplicate check) deliver it once.
#[async_trait]
pub trait Sender: Send + Sync {
    async fn send(
        &self,
        message: &crate::domain::message::OutboundMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, SendError>;
}

/// A delivery that may be claimed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: crate::domain::delivery::DeliveryId,
    pub provider: crate::domain::message::Provider,
    pub next_due: DateTime<Utc>,
}

/// Queued deliveries. A claim is a conditional write, so two workers never send the same attempt.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Writes new deliveries, all or none (the cause's own write joins this in later issues).
    async fn enqueue(
        &self,
        deliveries: &[crate::domain::delivery::Delivery],
    ) -> Result<(), StoreError>;
    async fn get_delivery(
        &self,
        id: &crate::domain::delivery::DeliveryId,
    ) -> Result<Option<crate::domain::delivery::Delivery>, StoreError>;
    /// Claims a delivery that is due (queued or sending, `next_due <= now`): it becomes `sending`
    /// until `lease_until`, with one more attempt counted. `None` if it is not claimable.
    async fn claim(
        &self,
        id: &crate::domain::delivery::DeliveryId,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<crate::domain::delivery::Delivery>, StoreError>;
    /// Writes an attempt's outcome if the claim still holds (still `sending` with the same attempt
    /// count); `Conflict` if the lease ran out and someone else claimed it since. A final push
    /// delivery of a run ([`Delivery::tally`](crate::domain::delivery::Delivery::tally)) counts
    /// itself in its run's progress in the same write, and the run's progress after it is
    /// returned (`None` for any other delivery, or a run that is gone).
    async fn finish(
        &self,
        delivery: &crate::domain::delivery::Delivery,
    ) -> Result<Option<crate::domain::run::RunProgress>, StoreError>;
    /// The deliveries of `ids` that exist, in the order asked (at most 100 ids).
    async fn get_deliveries(
        &self,
        ids: &[crate::domain::delivery::DeliveryId],
    ) -> Result<Vec<crate::domain::delivery::Delivery>, StoreError>;
    /// One provider's deliveries due at `now`, oldest due first. Drivers ask per provider, so one
    /// provider's backlog never hides the others' deliveries.
    async fn due_for(
        &self,
        provider: crate::domain::message::Provider,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError>;

    /// Holds the lease `name` for `holder` until `until` if nobody else holds it at `now` (`false`:
    /// another holder's has not run out); its holder taking it again moves its end. So one sweep
    /// runs at a time however the schedule and Lambda's retries invoke it.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Gives up `holder`'s lease `name` (nothing if another holds it now).
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Claims up to `limit` of one provider's due deliveries, oldest due first (each as
    /// [`Self::claim`] would). Stores that can do it in one write override this.
    async fn claim_due(
        &self,
        provider: crate::domain::message::Provider,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::domain::delivery::Delivery>, StoreError> {
        let mut claimed = Vec::new();
        for due in self.due_for(provider, now, limit).await? {
            claimed.extend(self.claim(&due.id, now, lease_until).await?);
        }
        Ok(claimed)
    }

    /// Every provider's due deliveries (up to `limit` each), oldest due first.
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueDelivery>, StoreError> {
        let mut all = Vec::new();
        for provider in crate::domain::message::Provider::ALL {
            all.extend(self.due_for(provider, now, limit).await?);
        }
        all.sort_by_key(|d| d.next_due);
        all.truncate(limit);
        Ok(all)
    }
}
