//! The store contract against the DynamoDB adapter on a moto server (a fresh table per test).
use herald_aws::DynamoStore;
use std::sync::Arc;

async fn store() -> Arc<DynamoStore> {
    let config = herald_tests::moto::sdk_config().await;
    let (client, table) = herald_tests::moto::fresh_table(&config).await;
    Arc::new(DynamoStore::new(client, table))
}

herald_tests::store_contract!(store().await);

herald_tests::ledger_contract!(store().await);
