//! The `QuotaStore` contract: what the provider limiters rely on when several delivery instances
//! count one quota (a robot's 20 a minute) together. Each write is over the version read, so two
//! instances that read the same version cannot both count a send. Run on DynamoDB, the store the
//! Lambdas share; herald-local is one process and counts its quotas in memory.
use herald_core::ports::QuotaStore;
use std::sync::Arc;

fn instants(seconds: &[i64]) -> Vec<chrono::DateTime<chrono::Utc>> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z")
        .expect("time")
        .to_utc();
    seconds
        .iter()
        .map(|s| start + chrono::Duration::milliseconds(s * 1000 + 123))
        .collect()
}

/// An unknown key has no sends at version 0; each write is kept only over the version it read,
/// and reads back to the millisecond; keys are apart.
pub async fn a_window_is_written_only_over_the_version_read<S: QuotaStore>(store: Arc<S>) {
    let keep = chrono::Utc::now() + chrono::Duration::hours(1);
    let key = "wecom-robot:0f1e";
    assert_eq!(store.load(key).await.expect("load"), (Vec::new(), 0));

    let first = instants(&[0, 1]);
    assert!(store.store(key, &first, 0, keep).await.expect("first"));
    assert_eq!(store.load(key).await.expect("load"), (first.clone(), 1));
    assert!(
        !store
            .store(key, &instants(&[5]), 0, keep)
            .await
            .expect("stale"),
        "a write over a version already replaced is refused"
    );
    let second = instants(&[0, 1, 2]);
    assert!(store.store(key, &second, 1, keep).await.expect("second"));
    assert_eq!(store.load(key).await.expect("load"), (second, 2));
    assert!(
        !store
            .store(key, &first, 1, keep)
            .await
            .expect("stale again")
    );
    assert_eq!(
        store.load("wecom-robot:other").await.expect("load"),
        (Vec::new(), 0)
    );
}

/// Eight instances that read the same version and each add a send: exactly one write lands.
pub async fn of_concurrent_writes_over_one_version_exactly_one_lands<S: QuotaStore + 'static>(
    store: Arc<S>,
) {
    let keep = chrono::Utc::now() + chrono::Duration::hours(1);
    let key = "feishu-app:cli_a";
    assert!(
        store
            .store(key, &instants(&[0]), 0, keep)
            .await
            .expect("seed")
    );
    let writers: Vec<_> = (1..=8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .store(key, &instants(&[0, i]), 1, keep)
                    .await
                    .expect("store")
            })
        })
        .collect();
    let mut landed = 0;
    for writer in writers {
        landed += usize::from(writer.await.expect("join"));
    }
    assert_eq!(landed, 1);
    let (sent, version) = store.load(key).await.expect("load");
    assert_eq!((sent.len(), version), (2, 2));
}

#[macro_export]
macro_rules! quota_contract {
    ($make:expr) => {
        $crate::quota_contract!(@cases $make;
            a_window_is_written_only_over_the_version_read,
            of_concurrent_writes_over_one_version_exactly_one_lands
        );
    };
    (@cases $make:expr; $($case:ident),+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::quota_contract::$case($make).await;
            }
        )+
    };
}
