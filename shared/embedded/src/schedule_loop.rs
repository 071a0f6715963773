//! The local timer: fires due schedules with the same trigger code EventBridge Scheduler invokes on
//! AWS. A scheduled time missed while the server was down is run once if it is within the grace
//! period, and recorded as skipped otherwise; the claim per (task, time) keeps a restart from
//! running anything twice.
use crate::LocalScheduler;
use chrono::{DateTime, Duration, Utc};
use herald_core::clock::Clock;
use herald_core::domain::schedule::{CronExpr, Recurrence, Schedule, parse_timezone};
use herald_core::ports::ScheduleDefinition;
use herald_core::services::runs::PushService;
use std::sync::Arc;
use tokio::sync::watch;

/// How late a scheduled time may still be run.
pub const GRACE: Duration = Duration::minutes(10);
/// The most missed times recorded per schedule at once (an hourly task down for a week).
const MAX_CATCH_UP: usize = 24;
const TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// The schedule a definition describes, as the core computes firings.
fn schedule_of(definition: &ScheduleDefinition) -> Option<Schedule> {
    let timezone = parse_timezone(&definition.timezone).ok()?;
    let expression = CronExpr::parse(&definition.expression).ok()?;
    let start = definition.start.with_timezone(&timezone).date_naive();
    Schedule::new(Recurrence::Cron(expression), timezone, start).ok()
}

/// Handles every scheduled time due at `now`; returns how many it fired or recorded.
pub async fn tick(scheduler: &LocalScheduler, pushes: &PushService, now: DateTime<Utc>) -> usize {
    let schedules = match scheduler.all().await {
        Ok(schedules) => schedules,
        Err(err) => {
            tracing::error!(error = %err, "could not read the schedules");
            return 0;
        }
    };
    let mut handled = 0;
    for (definition, last) in schedules {
        let Some(last) = last else {
            // A schedule written before schedules were stamped at creation: count from now.
            remember(scheduler, &definition, now).await;
            continue;
        };
        let Some(schedule) = schedule_of(&definition) else {
            tracing::error!(task_id = %definition.task, expression = %definition.expression, "unreadable schedule");
            continue;
        };
        if !definition.enabled {
            remember(scheduler, &definition, now).await;
            continue;
        }
        let mut cursor = last;
        let mut failed = false;
        for _ in 0..MAX_CATCH_UP {
            let Some(at) = schedule.next_run_after(cursor).filter(|at| *at <= now) else {
                break;
            };
            let result = if now - at <= GRACE {
                pushes
                    .run_scheduled(&definition.project, &definition.task, at)
                    .await
            } else {
                let why = format!("missed: herald-local was not running at {at}");
                pushes
                    .record_missed(&definition.project, &definition.task, at, &why)
                    .await
            };
            if let Err(err) = result {
                // Try this time again on the next tick.
                tracing::error!(error = %err, task_id = %definition.task, "scheduled run failed to start");
                failed = true;
                break;
            }
            handled += 1;
            cursor = at;
        }
        // Past the catch-up limit, the rest of the backlog is dropped (but never after a failure,
        // which is retried next tick).
        let more_due = !failed && schedule.next_run_after(cursor).is_some_and(|at| at <= now);
        let handled_until = if more_due { now } else { cursor };
        if handled_until != last {
            remember(scheduler, &definition, handled_until).await;
        }
    }
    handled
}

async fn remember(scheduler: &LocalScheduler, definition: &ScheduleDefinition, at: DateTime<Utc>) {
    if let Err(err) = scheduler.set_last_fired(&definition.task, at).await {
        tracing::error!(error = %err, task_id = %definition.task, "could not record the last scheduled time");
    }
}

/// How often runs still sending are looked at, and how many at a time.
const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
const RECONCILE_LIMIT: usize = 50;

pub fn spawn(
    scheduler: LocalScheduler,
    pushes: PushService,
    clock: Arc<dyn Clock>,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_reconcile = None;
        loop {
            tick(&scheduler, &pushes, clock.now()).await;
            // Runs whose settle was missed (a crash between a delivery's final write and the
            // settle) are settled by the reconciler, as the sweep does on AWS.
            let now = tokio::time::Instant::now();
            if last_reconcile.is_none_or(|at| now.duration_since(at) >= RECONCILE_EVERY) {
                last_reconcile = Some(now);
                match pushes.reconcile(RECONCILE_LIMIT).await {
                    Ok(0) => {}
                    Ok(settled) => tracing::info!(settled, "runs settled by the reconciler"),
                    Err(err) => tracing::warn!(error = %err, "could not reconcile runs"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = shutdown.changed() => break,
            }
        }
    })
}
