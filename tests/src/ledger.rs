//! The run ledger's contract, run against each store: a run's progress counted by its deliveries'
//! final writes, writes cut short and completed by the retry, throttled writes retried (never a
//! "duplicate"), missed settles reconciled. Faults come from [`FaultyRuns`], a store wrapper that
//! fails chosen calls as a crash or a throttled transaction would.
use crate::push::ChartServer;
use crate::{AllStores, adapters_over, contract};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use herald_core::clock::{Clock, ManualClock};
use herald_core::domain::delivery::{Delivery, DeliveryStatus};
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::domain::message::OutboundMessage;
use herald_core::domain::run::{PushRun, RunId, RunOutcome};
use herald_core::ports::{
    RunFilter, RunPage, RunStore, RunWrite, SendError, SendReceipt, Sender, StoreError,
};
use herald_core::services::delivery::{DeliveryWorker, RetryPolicy};
use herald_core::services::runs::{PushService, Trigger};
use herald_core::services::{EngineConfig, Services};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Accepts every message and counts what each address received.
#[derive(Default)]
pub struct CountingSender {
    received: Mutex<HashMap<String, usize>>,
}

impl CountingSender {
    /// How many mails each address got.
    pub fn received(&self) -> HashMap<String, usize> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait]
impl Sender for CountingSender {
    async fn send(&self, message: &OutboundMessage, _key: &str) -> Result<SendReceipt, SendError> {
        if let OutboundMessage::Email(mail) = message {
            *self
                .received
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(mail.to.to_string())
                .or_default() += 1;
        }
        Ok(SendReceipt {
            message_ids: vec!["m".into()],
            invalid_recipients: vec![],
            answer: "250 OK".into(),
        })
    }
}

/// Which calls of the wrapped run store fail, counted from 1.
#[derive(Default)]
pub struct Faults {
    /// `write_run` calls answered as a throttled transaction.
    pub throttle_write: Vec<usize>,
    /// `add_deliveries` calls that "crash" (fail before writing).
    pub crash_add: Vec<usize>,
    /// `write_run` calls the store refuses for good (as DynamoDB refuses an item over 400 KB).
    pub refuse_write: Vec<usize>,
}

/// A run store that fails chosen calls and passes the rest to the real store.
pub struct FaultyRuns<S> {
    inner: Arc<S>,
    faults: Faults,
    writes: AtomicUsize,
    adds: AtomicUsize,
}

impl<S> FaultyRuns<S> {
    pub fn new(inner: Arc<S>, faults: Faults) -> Self {
        Self {
            inner,
            faults,
            writes: AtomicUsize::new(0),
            adds: AtomicUsize::new(0),
        }
    }
}

fn throttled() -> StoreError {
    StoreError::Unavailable(
        "ThrottlingException: rate of requests exceeds the allowed throughput".into(),
    )
}

#[async_trait]
impl<S: RunStore> RunStore for FaultyRuns<S> {
    async fn write_run(&self, write: RunWrite<'_>) -> Result<(), StoreError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if self.faults.throttle_write.contains(&n) {
            return Err(throttled());
        }
        if self.faults.refuse_write.contains(&n) {
            return Err(StoreError::Refused(
                "Item size has exceeded the maximum allowed size".into(),
            ));
        }
        self.inner.write_run(write).await
    }
    async fn add_deliveries(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        let n = self.adds.fetch_add(1, Ordering::SeqCst) + 1;
        if self.faults.crash_add.contains(&n) {
            return Err(StoreError::Unavailable("the process died here".into()));
        }
        self.inner.add_deliveries(deliveries).await
    }
    async fn claim_run(
        &self,
        run: &PushRun,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.claim_run(run, task, at).await
    }
    async fn runs_to_check(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(ProjectId, RunId)>, StoreError> {
        self.inner.runs_to_check(now, limit).await
    }
    async fn check_run_at(
        &self,
        project: &ProjectId,
        id: &RunId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.check_run_at(project, id, at).await
    }
    async fn is_claimed(
        &self,
        project: &ProjectId,
        task: &TaskId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner.is_claimed(project, task, at).await
    }
    fn deliveries_in_run_write(&self, deliveries: &[Delivery]) -> usize {
        self.inner.deliveries_in_run_write(deliveries)
    }
    async fn hold_request_key(
        &self,
        project: &ProjectId,
        task: &TaskId,
        key_digest: &str,
        run: &RunId,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<RunId>, StoreError> {
        self.inner
            .hold_request_key(project, task, key_digest, run, now, expires_at)
            .await
    }
    async fn get_run(
        &self,
        project: &ProjectId,
        id: &RunId,
        now: DateTime<Utc>,
    ) -> Result<Option<PushRun>, StoreError> {
        self.inner.get_run(project, id, now).await
    }
    async fn list_runs(
        &self,
        project: &ProjectId,
        filter: &RunFilter,
        after: Option<&RunId>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<RunPage, StoreError> {
        self.inner
            .list_runs(project, filter, after, limit, now)
            .await
    }
}

/// A store, the services over it (runs through `FaultyRuns`), a counting sender, a chart server.
pub struct LedgerRig<S> {
    pub store: Arc<S>,
    pub pushes: PushService,
    pub records: herald_core::services::records::RecordService,
    pub tickets: herald_core::services::tickets::TicketService,
    pub worker: DeliveryWorker,
    pub sender: Arc<CountingSender>,
    pub clock: Arc<ManualClock>,
    pub charts: ChartServer,
}

const FIRED: &str = "2026-12-07T02:00:00Z";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("time").to_utc()
}

impl<S: AllStores> LedgerRig<S> {
    pub async fn new(store: Arc<S>, faults: Faults) -> Self {
        let clock = Arc::new(ManualClock::new(at(FIRED)));
        let charts = ChartServer::start().await;
        let scheduler = Arc::new(herald_embedded::LocalScheduler::new(
            herald_embedded::Db::in_memory().expect("sqlite"),
            clock.clone(),
        ));
        let mut adapters = adapters_over(store.clone(), scheduler, clock.clone());
        adapters.runs = Arc::new(FaultyRuns::new(store.clone(), faults));
        let sender = Arc::new(CountingSender::default());
        let services = Services::new(adapters, EngineConfig::default(), |_| sender.clone());
        Self {
            store,
            pushes: services.pushes,
            records: services.records,
            tickets: services.tickets,
            worker: services.worker,
            sender,
            clock,
            charts,
        }
    }

    /// The same store and sender, its runs written without faults (the retry after a crash).
    pub async fn healthy(&self) -> PushService {
        let scheduler = Arc::new(herald_embedded::LocalScheduler::new(
            herald_embedded::Db::in_memory().expect("sqlite"),
            self.clock.clone(),
        ));
        let adapters = adapters_over(self.store.clone(), scheduler, self.clock.clone());
        Services::new(adapters, EngineConfig::default(), |_| self.sender.clone()).pushes
    }

    /// An e-mail task to `n` addresses, stored.
    pub async fn task(&self, n: usize) -> herald_core::domain::task::PushTask {
        let mut task = contract::task("payments", "Daily sales");
        let mut body = crate::sample_task("2026-12-01");
        body["channel"] = "email".into();
        body["template"] = "text".into();
        body["recipients"] = serde_json::json!({
            "emails": (0..n).map(|i| format!("reader{i}@example.com")).collect::<Vec<_>>()
        });
        body["owner"] = serde_json::json!({"email": "owner@example.com"});
        body["page"]["charts"][0]["data_url"] = format!("{}/charts/gmv", self.charts.base).into();
        body["content"]["snapshot"] = false.into();
        body.as_object_mut().map(|b| b.remove("alarm_robot"));
        let parsed: herald_api::dto::tasks::TaskBody =
            serde_json::from_value(body).expect("task body");
        task.spec = parsed
            .parse(|_| chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"))
            .expect("valid task")
            .spec;
        self.store.insert_task(&task).await.expect("insert task");
        task
    }

    /// Sends everything due until nothing is.
    pub async fn deliver_all(&self, worker: &DeliveryWorker) {
        while worker.run_due(1000).await.expect("run due") > 0 {}
    }

    pub async fn run(&self, task: &herald_core::domain::task::PushTask, id: &RunId) -> PushRun {
        self.records
            .record(
                &herald_core::domain::auth::Principal::Admin,
                &task.project,
                id,
            )
            .await
            .expect("record")
            .0
    }
}

fn started(trigger: Trigger) -> PushRun {
    match trigger {
        Trigger::Started(run) => *run,
        other => panic!("expected a started run, got {other:?}"),
    }
}

fn assert_each_told_once(sender: &CountingSender, n: usize) {
    let received = sender.received();
    assert_eq!(received.len(), n, "every reader got the mail");
    let twice: Vec<_> = received.iter().filter(|(_, c)| **c != 1).collect();
    assert!(twice.is_empty(), "told more than once: {twice:?}");
}

/// 100 readers: more than one run write holds (90), so the run is written in steps: the run with
/// its first 90, the other 10, the claim.
const READERS: usize = 100;

pub async fn a_large_run_settles_from_its_counters_and_its_time_runs_once<S: AllStores>(
    store: Arc<S>,
) {
    let rig = LedgerRig::new(store, Faults::default()).await;
    let task = rig.task(READERS).await;
    let fired = at(FIRED);
    let run = started(
        rig.pushes
            .run_scheduled(&task.project, &task.id, fired)
            .await
            .expect("run"),
    );
    assert_eq!(run.progress.pushes, READERS as u32);
    assert!(matches!(
        rig.pushes
            .run_scheduled(&task.project, &task.id, fired)
            .await
            .expect("again"),
        Trigger::Duplicate
    ));
    rig.deliver_all(&rig.worker).await;
    let settled = rig.run(&task, &run.id).await;
    assert_eq!(settled.outcome, RunOutcome::Delivered, "{:?}", settled.log);
    assert_eq!(
        (settled.progress.finished, settled.progress.delivered),
        (READERS as u32, READERS as u32)
    );
    assert_each_told_once(&rig.sender, READERS);
    // The record lists its deliveries by key (at most a hundred).
    let (_, shown) = rig
        .records
        .record(
            &herald_core::domain::auth::Principal::Admin,
            &task.project,
            &run.id,
        )
        .await
        .expect("record");
    assert_eq!(shown.len(), 100);
    assert!(shown.iter().all(|d| d.status == DeliveryStatus::Delivered));
}

pub async fn a_crash_between_a_runs_write_chunks_is_completed_by_the_retry<S: AllStores>(
    store: Arc<S>,
) {
    // The process dies writing the second chunk: the run and 90 of its deliveries are written,
    // its time is not claimed.
    let faults = Faults {
        crash_add: vec![1],
        ..Faults::default()
    };
    let rig = LedgerRig::new(store, faults).await;
    let task = rig.task(READERS).await;
    let fired = at(FIRED);
    let crashed = rig
        .pushes
        .run_scheduled(&task.project, &task.id, fired)
        .await;
    assert!(
        crashed.is_err(),
        "the crash surfaces as an error (AWS retries the invoke)"
    );
    assert!(
        !rig.store
            .is_claimed(&task.project, &task.id, fired)
            .await
            .expect("claimed"),
        "a claim only once the run is written"
    );
    // What was written is sent meanwhile; the retry must not send it again.
    rig.deliver_all(&rig.worker).await;
    assert_eq!(rig.sender.received().len(), 90);

    let retry = rig.healthy().await;
    let run = started(
        retry
            .run_scheduled(&task.project, &task.id, fired)
            .await
            .expect("retry"),
    );
    assert!(matches!(
        retry
            .run_scheduled(&task.project, &task.id, fired)
            .await
            .expect("third"),
        Trigger::Duplicate
    ));
    rig.deliver_all(&rig.worker).await;
    assert_each_told_once(&rig.sender, READERS);
    let settled = rig.run(&task, &run.id).await;
    assert_eq!(settled.outcome, RunOutcome::Delivered, "{:?}", settled.log);
    let page = rig
        .store
        .list_runs(
            &task.project,
            &RunFilter::default(),
            None,
            10,
            rig.clock.now(),
        )
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1, "one run for one scheduled time");
}

pub async fn a_throttled_run_write_is_retried_not_a_duplicate<S: AllStores>(store: Arc<S>) {
    let faults = Faults {
        throttle_write: vec![1],
        ..Faults::default()
    };
    let rig = LedgerRig::new(store, faults).await;
    let task = rig.task(3).await;
    let fired = at(FIRED);
    let first = rig
        .pushes
        .run_scheduled(&task.project, &task.id, fired)
        .await;
    assert!(
        matches!(first, Err(herald_core::ServiceError::Unavailable { .. })),
        "a throttled write is retryable: {first:?}"
    );
    let run = started(
        rig.pushes
            .run_scheduled(&task.project, &task.id, fired)
            .await
            .expect("retry"),
    );
    rig.deliver_all(&rig.worker).await;
    assert_each_told_once(&rig.sender, 3);
    assert_eq!(rig.run(&task, &run.id).await.outcome, RunOutcome::Delivered);
}

pub async fn a_missed_settle_is_reconciled_within_one_sweep<S: AllStores>(store: Arc<S>) {
    let rig = LedgerRig::new(store, Faults::default()).await;
    let task = rig.task(3).await;
    let run = started(
        rig.pushes
            .run_scheduled(&task.project, &task.id, at(FIRED))
            .await
            .expect("run"),
    );
    // A worker that dies between its deliveries' final writes and the settle: no observer.
    let forgetful = DeliveryWorker::new(
        rig.store.clone(),
        rig.sender.clone(),
        rig.clock.clone(),
        RetryPolicy::default(),
    );
    rig.deliver_all(&forgetful).await;
    let stuck = rig.run(&task, &run.id).await;
    assert_eq!(stuck.outcome, RunOutcome::Sending);
    assert!(stuck.progress.is_complete(), "{:?}", stuck.progress);
    assert_eq!(
        rig.pushes.reconcile(10).await.expect("early"),
        0,
        "not due yet"
    );

    rig.clock
        .advance(herald_core::services::runs::ledger::FIRST_CHECK_AFTER);
    assert_eq!(rig.pushes.reconcile(10).await.expect("sweep"), 1);
    let settled = rig.run(&task, &run.id).await;
    assert_eq!(settled.outcome, RunOutcome::Delivered, "{:?}", settled.log);
    assert_eq!(
        rig.pushes.reconcile(10).await.expect("again"),
        0,
        "settled once"
    );
}

pub async fn an_abandoned_write_is_settled_with_the_unwritten_deliveries_failed<S: AllStores>(
    store: Arc<S>,
) {
    // The first `add_deliveries` dies and the run is never retried: 90 of 100 exist.
    let faults = Faults {
        crash_add: vec![1],
        ..Faults::default()
    };
    let rig = LedgerRig::new(store, faults).await;
    let task = rig.task(READERS).await;
    let run_id = RunId::for_claim(&task.project, &task.id, at(FIRED), at(FIRED));
    assert!(
        rig.pushes
            .run_scheduled(&task.project, &task.id, at(FIRED))
            .await
            .is_err()
    );
    rig.deliver_all(&rig.worker).await;

    // While the writer might still come back, the run waits; past the limit it is settled.
    rig.clock
        .advance(herald_core::services::runs::ledger::FIRST_CHECK_AFTER);
    assert_eq!(rig.pushes.reconcile(10).await.expect("sweep"), 0);
    assert_eq!(rig.run(&task, &run_id).await.outcome, RunOutcome::Sending);
    rig.clock
        .advance(herald_core::services::runs::ledger::ABANDONED_AFTER);
    assert_eq!(rig.pushes.reconcile(10).await.expect("sweep"), 1);
    let settled = rig.run(&task, &run_id).await;
    assert_eq!(settled.outcome, RunOutcome::PartiallyDelivered);
    assert_eq!(
        (settled.progress.delivered, settled.progress.finished),
        (90, READERS as u32)
    );
    assert!(
        settled
            .log
            .iter()
            .any(|l| l.message.contains("10 deliveries were never written")),
        "{:?}",
        settled.log
    );
}

pub async fn a_final_push_delivery_counts_itself_once<S: AllStores>(store: Arc<S>) {
    let rig = LedgerRig::new(store, Faults::default()).await;
    let task = rig.task(2).await;
    let run = started(
        rig.pushes
            .run_scheduled(&task.project, &task.id, at(FIRED))
            .await
            .expect("run"),
    );
    let ids: Vec<_> = run.push_ids().collect();
    let now = rig.clock.now();
    let mut claimed = rig
        .store
        .claim(&ids[0], now, now + chrono::Duration::minutes(3))
        .await
        .expect("claim")
        .expect("due");
    claimed.status = DeliveryStatus::Delivered;
    claimed.next_due = None;
    let progress = rig
        .store
        .finish(&claimed)
        .await
        .expect("finish")
        .expect("counted");
    assert_eq!(
        (progress.pushes, progress.finished, progress.delivered),
        (2, 1, 1)
    );
    assert!(
        matches!(rig.store.finish(&claimed).await, Err(StoreError::Conflict)),
        "a second final write of the same attempt loses, and counts nothing"
    );
    assert_eq!(rig.run(&task, &run.id).await.progress.finished, 1);
    // Not yet complete: the run is still sending.
    assert_eq!(rig.run(&task, &run.id).await.outcome, RunOutcome::Sending);
}

/// Expands to the ledger's contract for a store made by `$make`.
/// A push and a ticket event are written by the same ledger call: a store that refuses the run's
/// write for good gets a failed record for either (never an error that loses the run), and the
/// claim written with it makes the same firing and the same event count once.
pub async fn a_refused_write_is_a_failed_record_for_a_push_and_a_ticket_alike<S: AllStores>(
    store: Arc<S>,
) {
    // Write 1 is the push's, 2 its failed record; 3 is the ticket's, 4 its failed record.
    let faults = Faults {
        refuse_write: vec![1, 3],
        ..Faults::default()
    };
    let rig = LedgerRig::new(store, faults).await;
    let task = rig.task(2).await;
    let fired = at(FIRED);
    let pushed = started(
        rig.pushes
            .run_scheduled(&task.project, &task.id, fired)
            .await
            .expect("run"),
    );
    let body: herald_api::dto::tickets::TicketEventBody = serde_json::from_value(serde_json::json!({
        "event_id": "evt-refused",
        "occurred_at": FIRED,
        "ticket": {"id": "1042", "title": "Add an index", "project": "payments", "creator": "alice"},
        "status": "pending_review",
        "reviewers": ["bob"]
    }))
    .expect("event body");
    let event = body.parse().expect("event");
    let accepted = rig.tickets.accept("sqle", &event).await.expect("accept");
    let herald_core::services::tickets::Accepted::Recorded {
        run: ticket_run, ..
    } = accepted
    else {
        panic!("expected a recorded ticket event, got {accepted:?}");
    };
    let ticket = rig.run(&task, &ticket_run).await;
    for record in [rig.run(&task, &pushed.id).await, ticket] {
        assert_eq!(record.outcome, RunOutcome::Failed, "{:?}", record.log);
        assert_eq!((record.progress.pushes, record.notices), (0, 0));
        assert!(
            record
                .log
                .iter()
                .any(|l| l.message.contains("could not be recorded as prepared")),
            "{:?}",
            record.log
        );
    }
    assert!(matches!(
        rig.pushes
            .run_scheduled(&task.project, &task.id, fired)
            .await
            .expect("again"),
        Trigger::Duplicate
    ));
    assert_eq!(
        rig.tickets.accept("sqle", &event).await.expect("again"),
        herald_core::services::tickets::Accepted::Duplicate
    );
    assert!(rig.sender.received().is_empty(), "nothing was sent");
}

#[macro_export]
macro_rules! ledger_contract {
    ($make:expr) => {
        $crate::ledger_contract!(@cases $make;
            a_large_run_settles_from_its_counters_and_its_time_runs_once,
            a_crash_between_a_runs_write_chunks_is_completed_by_the_retry,
            a_throttled_run_write_is_retried_not_a_duplicate,
            a_missed_settle_is_reconciled_within_one_sweep,
            an_abandoned_write_is_settled_with_the_unwritten_deliveries_failed,
            a_final_push_delivery_counts_itself_once,
            a_refused_write_is_a_failed_record_for_a_push_and_a_ticket_alike
        );
    };
    (@cases $make:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::ledger::$case($make).await;
            }
        )+
    };
}
