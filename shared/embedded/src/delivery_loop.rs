//! The local delivery driver: polls the store for due deliveries and sends each in its own task.
//! Every provider has its own concurrency budget, so a slow or failing provider never holds up the
//! others (on AWS the Stream and the sweep play this part).
use herald_core::domain::message::Provider;
use herald_core::services::delivery::DeliveryWorker;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, watch};

/// Deliveries in flight per provider.
const PER_PROVIDER: usize = 32;
// New deliveries are found by polling (a finished send wakes the loop at once); 50 ms keeps the
// added latency small at the cost of a few dozen cheap indexed queries a second.
const POLL: Duration = Duration::from_millis(50);
/// How long shutdown waits for sends in flight.
const DRAIN: Duration = Duration::from_secs(15);

pub fn spawn(
    worker: DeliveryWorker,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let budgets: HashMap<Provider, Arc<Semaphore>> = Provider::ALL
            .into_iter()
            .map(|p| (p, Arc::new(Semaphore::new(PER_PROVIDER))))
            .collect();
        // A finished send frees a slot: look for more work at once instead of at the next poll.
        let freed = Arc::new(Notify::new());
        // Providers whose last look found fewer than it asked for: nothing more is due there
        // until the next poll, so a freed slot elsewhere does not ask them again.
        let mut idle: HashSet<Provider> = HashSet::new();
        let mut last_poll = tokio::time::Instant::now();
        loop {
            if last_poll.elapsed() >= POLL {
                idle.clear();
                last_poll = tokio::time::Instant::now();
            }
            for (provider, budget) in &budgets {
                // Ask each provider for only as many as it has room for: a provider with a backlog
                // (or a slow one) fills its own budget and nobody else's.
                let room = budget.available_permits();
                if room == 0 || idle.contains(provider) {
                    continue;
                }
                // Claimed in one store write: the claimed ones are no longer due, so no other
                // look (here or elsewhere) picks them up while they are sent.
                let claimed = match worker.claim_due(*provider, room).await {
                    Ok(claimed) => claimed,
                    Err(err) => {
                        tracing::error!(error = %err, provider = provider.as_str(), "could not claim due deliveries");
                        continue;
                    }
                };
                if claimed.len() < room {
                    idle.insert(*provider);
                }
                for delivery in claimed {
                    // Room was counted above and only this loop takes permits, so there is one; a
                    // claimed delivery is sent in any case (else it would wait out its lease).
                    let permit = budget.clone().try_acquire_owned().ok();
                    let (worker, freed) = (worker.clone(), freed.clone());
                    tokio::spawn(async move {
                        let id = delivery.id;
                        if let Err(err) = worker.execute_claimed(delivery).await {
                            tracing::error!(error = %err, delivery_id = %id, "delivery attempt not recorded");
                        }
                        drop(permit);
                        freed.notify_one();
                    });
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = freed.notified() => {}
                _ = shutdown.changed() => break,
            }
        }
        // Let the sends in flight record their outcome (a send cut off after the provider took it
        // would be sent again by the next process), for a bounded time.
        let drained = tokio::time::timeout(DRAIN, async {
            for budget in budgets.values() {
                let _ = budget.acquire_many(PER_PROVIDER as u32).await;
            }
        })
        .await;
        if drained.is_err() {
            let left: usize = budgets
                .values()
                .map(|b| PER_PROVIDER - b.available_permits())
                .sum();
            tracing::warn!(
                left,
                "stopped with sends still in flight; their leases will run out"
            );
        }
    })
}
