//! The delivery engine: claim a due delivery, send it, record what the provider said, and either
//! finish it or queue the next attempt with backoff. Drivers (the local worker loop, the DynamoDB
//! Stream Lambda) only decide which ids to try.
use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::delivery::{Attempt, AttemptResult, Delivery, DeliveryId, DeliveryStatus};
use crate::domain::message::Provider;
use crate::ports::{DeliveryStore, DueDelivery, SendFailure, Sender, StoreError};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// How often and how patiently deliveries are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before a retryable failure becomes final.
    pub max_attempts: u32,
    /// The first retry waits about this long; each next one twice as long.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long a claim holds; a worker that dies mid-send is replaced after it. Longer than an
    /// attempt may take ([`RetryPolicy::attempt_limit`] plus the outcome's write), so a slow attempt
    /// is never sent again by a second worker while the first is still on it.
    pub lease: Duration,
    /// The longest one attempt may take (token, upload, send, limiter waits); past it the attempt
    /// counts as a transient failure.
    pub attempt_limit: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::seconds(2),
            max_delay: Duration::minutes(10),
            lease: Duration::seconds(180),
            attempt_limit: Duration::seconds(120),
        }
    }
}

/// The longest wait a provider's number (Retry-After, a rate-limit reset) may impose: a proxy's
/// or a provider's huge value must neither overflow the time arithmetic nor park a delivery for
/// ever.
pub const MAX_PROVIDER_WAIT: Duration = Duration::hours(1);

/// A delivery held back by Herald's own limiters is claimed again without using an attempt, but at
/// most this many times its attempts in all.
const MAX_CLAIMS_PER_ATTEMPT: u32 = 8;

/// A provider's wait in milliseconds, capped at [`MAX_PROVIDER_WAIT`].
pub fn provider_wait(retry_after_ms: u64) -> Duration {
    let cap = u64::try_from(MAX_PROVIDER_WAIT.num_milliseconds()).unwrap_or(u64::MAX);
    Duration::milliseconds(i64::try_from(retry_after_ms.min(cap)).unwrap_or(0))
}

impl RetryPolicy {
    /// Exponential backoff with jitter (between half and all of the exponential delay), never sooner
    /// than the provider asked.
    pub fn delay_after(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let full = (self.base_delay * 2_i32.pow(exponent)).min(self.max_delay);
        let millis = full.num_milliseconds().max(1);
        let jittered = Duration::milliseconds(rand::random_range(millis / 2..=millis));
        retry_after.map_or(jittered, |after| jittered.max(after))
    }
}

/// The attempts that really tried the provider, this one included: a claim that Herald's own
/// limiter held back (nothing sent) counts for neither the give-up nor the backoff, else a
/// delivery held back while a provider recovers would wait ten minutes at its first failure.
fn tried(delivery: &Delivery, error: &crate::ports::SendError) -> u32 {
    let held = |failure: &SendFailure| matches!(failure, SendFailure::HeldBack { .. });
    let held_before = delivery
        .history
        .iter()
        .filter(|a| matches!(&a.result, AttemptResult::Failed { error } if held(&error.failure)))
        .count();
    let holds = u32::try_from(held_before).unwrap_or(u32::MAX) + u32::from(held(&error.failure));
    delivery.attempts.saturating_sub(holds)
}

/// The lease one sweep at a time holds.
const SWEEP_LEASE: &str = "sweep";

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Attempts started.
    pub tried: usize,
    /// Attempts whose outcome could not be recorded (the store failed): they run again later.
    pub unrecorded: usize,
}

/// What one `try_execute` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionOutcome {
    Delivered,
    /// Failed this time; queued again for `at`.
    Retrying {
        at: DateTime<Utc>,
    },
    /// Failed for good.
    Dead,
    /// Not due, already final, or being sent by another worker.
    NotClaimed,
}

/// Told when a delivery becomes final, so its cause (a run) can settle.
#[async_trait::async_trait]
pub trait DeliveryObserver: Send + Sync {
    async fn settled(&self, delivery: &Delivery);
}

#[derive(Clone)]
pub struct DeliveryWorker {
    store: Arc<dyn DeliveryStore>,
    sender: Arc<dyn Sender>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    observer: Option<Arc<dyn DeliveryObserver>>,
}

impl DeliveryWorker {
    pub fn new(
        store: Arc<dyn DeliveryStore>,
        sender: Arc<dyn Sender>,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            store,
            sender,
            clock,
            policy,
            observer: None,
        }
    }

    /// Tells `observer` about every delivery this worker finishes for good.
    pub fn with_observer(mut self, observer: Arc<dyn DeliveryObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Claims the delivery if it is due, sends it once, and records the outcome.
    #[tracing::instrument(skip_all, fields(delivery_id = %id, provider = tracing::field::Empty, attempt = tracing::field::Empty))]
    pub async fn try_execute(&self, id: &DeliveryId) -> Result<ExecutionOutcome, ServiceError> {
        let started = self.clock.now();
        let Some(delivery) = self
            .store
            .claim(id, started, started + self.policy.lease)
            .await?
        else {
            return Ok(ExecutionOutcome::NotClaimed);
        };
        self.execute_claimed(delivery).await
    }

    /// Claims up to `limit` of one provider's due deliveries at once (one store write where the
    /// store can), for [`Self::execute_claimed`].
    pub async fn claim_due(
        &self,
        provider: Provider,
        limit: usize,
    ) -> Result<Vec<Delivery>, ServiceError> {
        let now = self.clock.now();
        Ok(self
            .store
            .claim_due(provider, now, now + self.policy.lease, limit)
            .await?)
    }

    /// Sends a delivery this worker has claimed, once, and records the outcome.
    #[tracing::instrument(skip_all, fields(delivery_id = %delivery.id, provider = tracing::field::Empty, attempt = tracing::field::Empty))]
    pub async fn execute_claimed(
        &self,
        mut delivery: Delivery,
    ) -> Result<ExecutionOutcome, ServiceError> {
        let started = self.clock.now();
        let span = tracing::Span::current();
        span.record("provider", delivery.message.provider().as_str());
        span.record("attempt", delivery.attempts);

        let limit = self
            .policy
            .attempt_limit
            .min(self.policy.lease - Duration::seconds(10))
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(60));
        let result = tokio::time::timeout(
            limit,
            self.sender
                .send(&delivery.message, &delivery.id.to_string()),
        )
        .await
        .unwrap_or_else(|_| {
            Err(crate::ports::SendError {
                failure: SendFailure::Transient,
                code: None,
                message: format!("the attempt took longer than {} s", limit.as_secs()),
                hint: None,
            })
        });
        let finished = self.clock.now();
        // Attempts that reached the provider (holds by Herald's own limiter sent nothing).
        let tried = result
            .as_ref()
            .err()
            .map_or(0, |error| tried(&delivery, error));
        let outcome = match &result {
            Ok(receipt) => {
                tracing::info!(invalid = receipt.invalid_recipients.len(), "delivered");
                delivery.status = DeliveryStatus::Delivered;
                delivery.next_due = None;
                ExecutionOutcome::Delivered
            }
            Err(error) if error.failure.is_retryable() && self.may_retry(&delivery, tried) => {
                let delay = match error.failure {
                    // Herald's own limiter named the slot: come back exactly then (a backoff
                    // growing with the holds would leave the quota unused).
                    SendFailure::HeldBack { retry_after_ms } => provider_wait(retry_after_ms),
                    SendFailure::RateLimited { retry_after_ms } => self
                        .policy
                        .delay_after(tried, Some(provider_wait(retry_after_ms))),
                    _ => self.policy.delay_after(tried, None),
                };
                let at = finished
                    .checked_add_signed(delay)
                    .unwrap_or(finished + MAX_PROVIDER_WAIT);
                tracing::warn!(code = error.code, error = %error, retry_at = %at, "attempt failed; will retry");
                delivery.status = DeliveryStatus::Queued;
                delivery.next_due = Some(at);
                ExecutionOutcome::Retrying { at }
            }
            Err(error) => {
                tracing::error!(code = error.code, error = %error, "delivery failed for good");
                delivery.status = DeliveryStatus::Dead;
                delivery.next_due = None;
                delivery.dead_reason = Some(if error.failure.is_retryable() {
                    format!("gave up after {tried} attempts: {error}")
                } else {
                    error.to_string()
                });
                ExecutionOutcome::Dead
            }
        };
        delivery.history.push(Attempt {
            number: delivery.attempts,
            started_at: started,
            finished_at: finished,
            result: match result {
                Ok(receipt) => AttemptResult::Accepted { receipt },
                Err(error) => AttemptResult::Failed { error },
            },
        });
        delivery.updated_at = finished;
        match self.record(&delivery).await {
            Ok(progress) => {
                if let Some(observer) = self
                    .observer
                    .as_ref()
                    .filter(|_| progress.is_some_and(|p| p.is_complete()))
                {
                    observer.settled(&delivery).await;
                }
                Ok(outcome)
            }
            // The lease ran out and another worker took over; its record wins.
            Err(StoreError::Conflict) => {
                tracing::warn!("lease lost before the outcome was written");
                Ok(ExecutionOutcome::NotClaimed)
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Whether a delivery whose attempt failed (retryable), after `tried` attempts that reached
    /// the provider, gets another. Holds by Herald's own limiter do not count, up to a bound on
    /// claims.
    fn may_retry(&self, delivery: &Delivery, tried: u32) -> bool {
        tried < self.policy.max_attempts
            && delivery.attempts
                < self
                    .policy
                    .max_attempts
                    .saturating_mul(MAX_CLAIMS_PER_ATTEMPT)
    }

    /// Writes an attempt's outcome, retrying a store that is briefly unavailable (throttled, a
    /// conflicting transaction): the message went out, so losing its outcome would send it again.
    async fn record(
        &self,
        delivery: &Delivery,
    ) -> Result<Option<crate::domain::run::RunProgress>, StoreError> {
        let mut pause = std::time::Duration::from_millis(50);
        for _ in 0..4 {
            match self.store.finish(delivery).await {
                Err(StoreError::Unavailable(err)) => {
                    tracing::warn!(error = %err, "the outcome could not be written; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 4;
                }
                other => return other,
            }
        }
        self.store.finish(delivery).await
    }

    /// One provider's deliveries due now (up to `limit`), oldest first.
    pub async fn due_for(
        &self,
        provider: Provider,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, ServiceError> {
        Ok(self
            .store
            .due_for(provider, self.clock.now(), limit)
            .await?)
    }

    /// Every provider's deliveries due now, up to `limit` each (asked one provider at a time, so
    /// one's backlog never hides another's).
    async fn due_everywhere(&self, limit: usize) -> Result<Vec<DueDelivery>, ServiceError> {
        let mut ids = Vec::new();
        for provider in Provider::ALL {
            ids.extend(self.due_for(provider, limit).await?);
        }
        Ok(ids)
    }

    /// Tries the deliveries due now (up to `limit` per provider), concurrently; returns how many.
    pub async fn run_due(&self, limit: usize) -> Result<usize, ServiceError> {
        let ids = self.due_everywhere(limit).await?;
        let tries = ids.iter().map(|due| self.try_execute(&due.id));
        for result in futures::future::join_all(tries).await {
            if let Err(err) = result {
                tracing::error!(error = %err, "delivery attempt could not be recorded");
            }
        }
        Ok(ids.len())
    }

    /// The sweep of a process that must stop by `deadline` (a Lambda invocation): tries the
    /// deliveries due now, at most `concurrency` at a time in all, shared among the providers that
    /// have deliveries due (a slow or rate-limited provider never takes every slot; a provider
    /// nobody uses takes none), and starts none that could not
    /// finish (its attempt limit plus a margin) before the deadline; the rest wait for the next
    /// sweep.
    pub async fn sweep(
        &self,
        limit: usize,
        concurrency: usize,
        deadline: tokio::time::Instant,
    ) -> Result<Swept, ServiceError> {
        use futures::StreamExt;
        let needed = self.attempt_limit() + std::time::Duration::from_secs(5);
        let mut due_per_provider = Vec::new();
        for provider in Provider::ALL {
            due_per_provider.push(self.due_for(provider, limit).await?);
        }
        let busy = due_per_provider.iter().filter(|d| !d.is_empty()).count();
        let per_provider = (concurrency / busy.max(1)).max(1);
        let due: usize = due_per_provider.iter().map(Vec::len).sum();
        if due > 0 && tokio::time::Instant::now() + needed >= deadline {
            tracing::error!(
                due,
                needed_s = needed.as_secs(),
                "the invocation ends before one attempt could: nothing is sent; raise the function's timeout"
            );
        }
        let sweeps = due_per_provider.into_iter().map(|ids| {
            futures::stream::iter(ids)
                .take_while(|_| {
                    futures::future::ready(tokio::time::Instant::now() + needed < deadline)
                })
                .map(|due| async move {
                    let result = self.try_execute(&due.id).await;
                    if let Err(err) = &result {
                        tracing::error!(error = %err, delivery_id = %due.id, "delivery attempt could not be recorded");
                    }
                    result.is_ok()
                })
                .buffer_unordered(per_provider)
                .fold(Swept::default(), |mut swept, recorded| async move {
                    swept.tried += 1;
                    swept.unrecorded += usize::from(!recorded);
                    swept
                })
        });
        let swept = futures::future::join_all(sweeps).await.into_iter().fold(
            Swept::default(),
            |all, one| Swept {
                tried: all.tried + one.tried,
                unrecorded: all.unrecorded + one.unrecorded,
            },
        );
        Ok(swept)
    }

    /// [`Self::sweep`], unless another sweep is still at work: each takes the store's `sweep`
    /// lease until its `deadline` (`None`: another holds it, nothing was tried). A one-minute
    /// schedule with a five-minute function would otherwise run up to five sweeps at once, each
    /// taking its share of the providers' quotas.
    pub async fn sweep_alone(
        &self,
        limit: usize,
        concurrency: usize,
        deadline: tokio::time::Instant,
    ) -> Result<Option<Swept>, ServiceError> {
        let now = self.clock.now();
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let until = now + Duration::from_std(left).unwrap_or(Duration::minutes(15));
        let holder = uuid::Uuid::now_v7().to_string();
        if !self
            .store
            .take_lease(SWEEP_LEASE, &holder, now, until)
            .await?
        {
            tracing::info!("another sweep is at work; this one leaves it");
            return Ok(None);
        }
        let swept = self.sweep(limit, concurrency, deadline).await;
        if let Err(err) = self.store.release_lease(SWEEP_LEASE, &holder).await {
            // It ends at the deadline anyway.
            tracing::warn!(error = %err, "the sweep lease could not be released");
        }
        swept.map(Some)
    }

    /// The longest one attempt may take.
    pub fn attempt_limit(&self) -> std::time::Duration {
        self.policy
            .attempt_limit
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(60))
    }

    /// Executes a delivery and waits (up to `deadline`) until it is final: for callers that must show
    /// the provider's answer, such as channel tests. Another worker may be the one that sends it.
    pub async fn execute_and_wait(
        &self,
        id: &DeliveryId,
        deadline: std::time::Duration,
    ) -> Result<Delivery, ServiceError> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if tokio::time::Instant::now() < until {
                // The attempt runs on its own task: when the caller's time is up it stops
                // waiting and the attempt goes on to record its outcome. (On Lambda the
                // environment freezes once the answer is sent: the attempt resumes with the next
                // invocation, or its lease runs out and the sweep sends it, which may repeat a
                // message the provider had taken.)
                let (worker, attempt_id) = (self.clone(), *id);
                let attempt = tokio::spawn(async move { worker.try_execute(&attempt_id).await });
                if let Ok(joined) = tokio::time::timeout_at(until, attempt).await {
                    joined.map_err(|e| ServiceError::unavailable("the delivery attempt", e))??;
                }
            }
            let delivery = self
                .store
                .get_delivery(id)
                .await?
                .ok_or(ServiceError::NotFound("delivery"))?;
            let waiting_for_retry =
                delivery.status == DeliveryStatus::Queued && !delivery.history.is_empty();
            if delivery.status.is_final()
                || waiting_for_retry
                || tokio::time::Instant::now() >= until
            {
                return Ok(delivery);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}
