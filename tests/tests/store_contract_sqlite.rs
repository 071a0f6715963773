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
