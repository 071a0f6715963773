//! The store contract against the embedded SQLite store (a fresh database per test).
use herald_embedded::{Db, SqliteStore};
use std::sync::Arc;

async fn store() -> Arc<SqliteStore> {
    Arc::new(SqliteStore::new(Db::in_memory().expect("sqlite")))
}

herald_tests::store_contract!(store().await);

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir =
        std::env::temp_dir().join(format!("herald-contract-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("herald.db");
    let t = herald_tests::contract::task("payments", "Durable");
    {
        let store = SqliteStore::new(Db::open(&path).expect("open"));
        herald_core::ports::TaskStore::insert_task(&store, &t)
            .await
            .expect("insert");
    }
    let reopened = SqliteStore::new(Db::open(&path).expect("reopen"));
    let got = herald_core::ports::TaskStore::get_task(&reopened, &t.project, &t.id)
        .await
        .expect("get");
    assert_eq!(got, Some(t));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[tokio::test]
async fn expired_records_claims_and_old_final_deliveries_are_purged() {
    use herald_core::domain::run::{PushRun, RunId};
    use herald_core::ports::{DeliveryStore, RunStore, RunWrite};
    let store = SqliteStore::new(Db::in_memory().expect("sqlite"));
    let t = herald_tests::contract::task("payments", "Old");
    let started = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("time")
        .to_utc();
    // Built from JSON so the test does not depend on every field of the record.
    let run: PushRun = serde_json::from_value(serde_json::json!({
        "id": RunId::at(started), "project": "payments", "task": t.id, "task_name": "Old",
        "kind": "scheduled", "scheduled_for": started, "started_at": started, "finished_at": started,
        "charts": [], "message": null, "outcome": {"outcome": "delivered"},
        "log": [], "version": 1, "expires_at": started + chrono::Duration::days(90)
    }))
    .expect("run record");
    let write = RunWrite {
        run: &run,
        expected_version: None,
        claim: Some((t.id, started)),
        deliveries: &[],
        task: None,
        check_at: None,
    };
    store.write_run(write).await.expect("write");
    let before = started + chrono::Duration::days(89);
    assert_eq!(
        store
            .purge_expired(before, chrono::Duration::days(90))
            .await
            .expect("purge"),
        0
    );
    assert!(
        store
            .is_claimed(&t.project, &t.id, started)
            .await
            .expect("claimed")
    );

    let after = started + chrono::Duration::days(91);
    assert_eq!(
        store
            .purge_expired(after, chrono::Duration::days(90))
            .await
            .expect("purge"),
        3,
        "the run, its progress row and its claim"
    );
    assert!(
        !store
            .is_claimed(&t.project, &t.id, started)
            .await
            .expect("claimed")
    );
    assert_eq!(
        store
            .get_run(&t.project, &run.id, started)
            .await
            .expect("get"),
        None
    );
    assert!(store.due(after, 10).await.expect("due").is_empty());
}

herald_tests::ledger_contract!(store().await);
