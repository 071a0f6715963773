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

herald_tests::quota_contract!(store().await);

/// A records list filtered by outcome reads only the runs with that outcome, through its index:
/// one Query for the page however many other runs the project has (filtering the project's runs
/// took one Query per 51 of them, and read them all), and one BatchGetItem for their documents.
#[tokio::test]
async fn a_filtered_records_list_reads_only_the_runs_it_shows() {
    use herald_core::domain::run::{RunKind, RunOutcome};
    use herald_core::ports::{RunFilter, RunStore};
    use herald_tests::contract::{at, project, run, task, write_new_run};
    let config = herald_tests::moto::sdk_config().await;
    let (client, table) = herald_tests::moto::fresh_table(&config).await;
    let direct = DynamoStore::new(client, table.clone());
    let (daily, base) = (task("payments", "A"), at("2026-12-01T00:00:00Z"));
    let mut failed = Vec::new();
    for i in 0..300 {
        let outcome = if i % 100 == 7 {
            RunOutcome::Failed
        } else {
            RunOutcome::Delivered
        };
        let r = run(
            &daily,
            RunKind::Scheduled,
            base + chrono::Duration::minutes(i),
            outcome,
        );
        if r.outcome == RunOutcome::Failed {
            failed.insert(0, r.id);
        }
        write_new_run(&direct, &r).await;
    }
    let moto = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let proxy = herald_tests::aws_proxy::FaultyAws::start(&moto).await;
    let counted = aws_sdk_dynamodb::config::Builder::from(&config)
        .endpoint_url(&proxy.url)
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(counted), table);
    let filter = RunFilter {
        outcome: Some(herald_core::domain::run::OutcomeName::Failed),
        ..Default::default()
    };
    let now = base + chrono::Duration::days(1);
    let page = store
        .list_runs(&project("payments"), &filter, None, 10, now)
        .await
        .expect("list");
    assert_eq!(page.items.iter().map(|r| r.id).collect::<Vec<_>>(), failed);
    // The index holds keys and what the list filters on; the page's runs come in one batch.
    assert_eq!(proxy.requests("DynamoDB_20120810.Query"), 1);
    assert_eq!(proxy.requests("DynamoDB_20120810.BatchGetItem"), 1);
}

/// A stack upgraded while its records-list indexes are still being added (CloudFormation adds one
/// per update and does not wait for it to fill): filtered lists still answer, by filtering the
/// project's runs, instead of failing as "store unavailable".
#[tokio::test]
async fn a_filtered_list_answers_while_its_index_is_not_there_yet() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    use herald_core::domain::run::{RunKind, RunOutcome};
    use herald_core::ports::{RunFilter, RunStore};
    use herald_tests::contract::{at, project, run, task, write_new_run};
    let config = herald_tests::moto::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = herald_tests::moto::unique("herald-before-indexes");
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    // The table as it was: no list indexes (GSI1 is not needed for this).
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("PK"))
        .attribute_definitions(attr("SK"))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .send()
        .await
        .expect("create table");
    let store = DynamoStore::new(client, table);
    let base = at("2026-12-01T00:00:00Z");
    let mut written = Vec::new();
    for (i, outcome) in [RunOutcome::Failed, RunOutcome::Delivered]
        .into_iter()
        .enumerate()
    {
        let started = base + chrono::Duration::minutes(i64::try_from(i).unwrap_or(0));
        let r = run(&task("payments", "A"), RunKind::Scheduled, started, outcome);
        write_new_run(&store, &r).await;
        written.push(r.id);
    }
    let failed = RunFilter {
        outcome: Some(herald_core::domain::run::OutcomeName::Failed),
        ..Default::default()
    };
    let now = base + chrono::Duration::days(1);
    let page = store
        .list_runs(&project("payments"), &failed, None, 10, now)
        .await
        .expect("a filtered list without its index");
    assert_eq!(
        page.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![written[0]]
    );
}

/// Throttling and a transaction cancelled by another (injected by scripts/moto_limits.py) are the
/// store unavailable for a moment, worth retrying: never a conflict (which a run write reads as
/// "already written" and drops), and never a write half done. Too large an item is refused for
/// good, in DynamoDB's words.
#[tokio::test]
async fn throttles_and_cancelled_transactions_are_retryable_and_too_large_is_refused() {
    use herald_core::domain::message::OutboundMessage;
    use herald_core::ports::{DeliveryStore, StoreError};
    use herald_tests::contract::{at, delivery};
    let config = herald_tests::moto::sdk_config().await;
    let (client, table) = herald_tests::moto::fresh_table(&config).await;
    let store = DynamoStore::new(client, table.clone());
    let faults = |body: serde_json::Value| async move {
        let moto = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
        reqwest::Client::new()
            .post(format!("{moto}/herald-limits/faults"))
            .json(&body)
            .send()
            .await
            .expect("the limits layer answers")
            .error_for_status()
            .expect("faults set");
    };
    let now = at("2026-11-25T01:00:00Z");
    let queued = delivery(now);

    faults(serde_json::json!({"table": table, "cancel": 1.0})).await;
    let cancelled = store.enqueue(std::slice::from_ref(&queued)).await;
    assert!(
        matches!(cancelled, Err(StoreError::Unavailable(_))),
        "{cancelled:?}"
    );
    faults(serde_json::json!({"table": table, "throttle": 1.0})).await;
    let throttled = store.get_delivery(&queued.id).await;
    assert!(
        matches!(throttled, Err(StoreError::Unavailable(_))),
        "{throttled:?}"
    );
    faults(serde_json::json!({"table": table})).await;
    assert_eq!(
        store.get_delivery(&queued.id).await.expect("get"),
        None,
        "nothing half written"
    );
    store
        .enqueue(std::slice::from_ref(&queued))
        .await
        .expect("the retry writes it");
    assert_eq!(
        store
            .get_delivery(&queued.id)
            .await
            .expect("get")
            .map(|d| d.id),
        Some(queued.id)
    );

    let mut huge = delivery(now);
    if let OutboundMessage::Email(mail) = &mut huge.message {
        mail.html = Some("x".repeat(450 * 1024));
    }
    let refused = store.enqueue(std::slice::from_ref(&huge)).await;
    assert!(
        matches!(&refused, Err(StoreError::Refused(words)) if words.contains("Item size has exceeded")),
        "{refused:?}"
    );
}

/// Deliveries queued by a version that listed what is due in GSI1 are found again once the
/// upgrade (`{"upgrade": true}` to the trigger) moves them into the `Due` index; it moves each
/// once, leaves deliveries it finds final out of the due list, and a second run moves nothing.
#[tokio::test]
async fn the_upgrade_moves_what_an_earlier_version_listed_as_due() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use herald_core::ports::DeliveryStore;
    use herald_tests::contract::{at, delivery};
    let config = herald_tests::moto::sdk_config().await;
    let (client, table) = herald_tests::moto::fresh_table(&config).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let now = at("2026-11-25T01:00:00Z");
    let (queued, done) = (delivery(now), delivery(now));
    store
        .enqueue(&[queued.clone(), done.clone()])
        .await
        .expect("enqueue");
    // As the earlier version wrote them: in GSI1's `DUE#smtp`, not in `Due`; the second's
    // `next_due` gone as if it had been written final without leaving the list.
    for (d, final_) in [(&queued, false), (&done, true)] {
        let update = client
            .update_item()
            .table_name(&table)
            .key("PK", AttributeValue::S(format!("DELIVERY#{}", d.id)))
            .key("SK", AttributeValue::S("DELIVERY".into()))
            .expression_attribute_values(":pk", AttributeValue::S("DUE#smtp".into()))
            .expression_attribute_values(
                ":sk",
                AttributeValue::S(format!("2026-11-25T01:00:00.000000Z#{}", d.id)),
            );
        let update = match final_ {
            false => update.update_expression("SET GSI1PK = :pk, GSI1SK = :sk REMOVE DuePK, DueSK"),
            true => update
                .update_expression("SET GSI1PK = :pk, GSI1SK = :sk REMOVE DuePK, DueSK, next_due"),
        };
        update.send().await.expect("old item");
    }
    assert!(store.due(now, 10).await.expect("due").is_empty());
    let moved = store.move_due_entries().await.expect("upgrade");
    assert_eq!(
        moved,
        herald_aws::Moved {
            deliveries: 2,
            runs: 0
        }
    );
    let due = store.due(now, 10).await.expect("due");
    assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), [queued.id]);
    assert_eq!(
        store.move_due_entries().await.expect("again"),
        herald_aws::Moved::default()
    );
}

/// A content shared by runs lives as long as the longest-lived of them: a run resumed long after
/// it started (an earlier expiry) writing the same content leaves the newer run's expiry alone.
#[tokio::test]
async fn a_shared_content_is_never_made_to_expire_sooner() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use herald_core::domain::message::OutboundMessage;
    use herald_core::ports::DeliveryStore;
    use herald_tests::contract::{at, delivery};
    let config = herald_tests::moto::sdk_config().await;
    let (client, table) = herald_tests::moto::fresh_table(&config).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let with_long_body = |now| {
        let mut d = delivery(now);
        if let OutboundMessage::Email(mail) = &mut d.message {
            mail.text = "华东大区 GMV 1,234,567 ".repeat(200);
        }
        d
    };
    let (newer, older) = (
        with_long_body(at("2026-11-25T01:00:00Z")),
        with_long_body(at("2026-11-20T01:00:00Z")),
    );
    let expiries = || async {
        let items = client
            .scan()
            .table_name(&table)
            .filter_expression("begins_with(PK, :content)")
            .expression_attribute_values(":content", AttributeValue::S("CONTENT#".into()))
            .send()
            .await
            .expect("scan")
            .items
            .unwrap_or_default();
        items
            .iter()
            .map(|item| item["expires_at"].as_n().expect("expires_at").clone())
            .collect::<Vec<_>>()
    };
    store
        .enqueue(std::slice::from_ref(&newer))
        .await
        .expect("newer run");
    let kept = expiries().await;
    assert_eq!(kept.len(), 1, "the body is kept apart once: {kept:?}");
    store.enqueue(&[older]).await.expect("older run, resumed");
    assert_eq!(
        expiries().await,
        kept,
        "the older run left the expiry alone"
    );
    let later = with_long_body(at("2026-11-30T01:00:00Z"));
    store.enqueue(&[later]).await.expect("a later run");
    let extended = expiries().await;
    assert_eq!(extended.len(), 1);
    assert!(
        extended[0].parse::<u64>().expect("n") > kept[0].parse::<u64>().expect("n"),
        "a later run extends it: {kept:?} → {extended:?}"
    );
    let read = store
        .get_delivery(&newer.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(read.message, newer.message);
}

/// Items an earlier version wrote without what this one reads them by — runs without the
/// records-list index keys, API keys not listed in GSI1, tasks with their alarm robot's key in the
/// document — are completed by the upgrade's backfill, once; new items are left alone.
#[tokio::test]
async fn the_backfill_completes_what_an_earlier_version_left_out() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use herald_core::domain::auth::{NewKey, Role};
    use herald_core::domain::run::{RunKind, RunOutcome};
    use herald_core::domain::task::{RobotKey, RobotWebhook};
    use herald_core::ports::{KeyStore, RunFilter, RunStore, SecretStore, TaskStore};
    use herald_tests::contract::{at, project, run, task, write_new_run};
    let config = herald_tests::moto::sdk_config().await;
    let (client, table) = herald_tests::moto::fresh_table(&config).await;
    let store = DynamoStore::new(client.clone(), table.clone());
    let secrets = herald_aws::SecretsManagerStore::new(
        aws_sdk_secretsmanager::Client::new(&config),
        herald_tests::moto::unique("herald"),
        std::time::Duration::ZERO,
    );
    let now = at("2026-11-25T01:00:00Z");
    let forget = |pk: String, sk: String, attributes: &'static str| {
        let client = client.clone();
        let table = table.clone();
        async move {
            client
                .update_item()
                .table_name(&table)
                .key("PK", AttributeValue::S(pk))
                .key("SK", AttributeValue::S(sk))
                .update_expression(format!("REMOVE {attributes}"))
                .send()
                .await
                .expect("as an earlier version wrote it");
        }
    };

    // Each kind twice: one as an earlier version wrote it, one as this version does.
    let daily = task("payments", "Daily");
    let (old_run, new_run) = (
        run(&daily, RunKind::Scheduled, now, RunOutcome::Failed),
        run(
            &daily,
            RunKind::Scheduled,
            now + chrono::Duration::hours(1),
            RunOutcome::Failed,
        ),
    );
    for r in [&old_run, &new_run] {
        write_new_run(&store, r).await;
    }
    forget(
        "PROJECT#payments".into(),
        format!("RUN#{}", old_run.id),
        "RunsByTaskPK, RunsByOutcomePK, RunsByKindPK",
    )
    .await;
    let (old_key, new_key) = (
        NewKey::mint(Role::Viewer, Some(project("payments")), now).key,
        NewKey::mint(Role::Admin, None, now).key,
    );
    for k in [&old_key, &new_key] {
        store.insert_key(k).await.expect("key");
    }
    forget(
        format!("KEY#{}", old_key.id),
        "KEY".into(),
        "GSI1PK, GSI1SK",
    )
    .await;
    let robot = RobotKey::parse("0a1b2c3d-robot-key").expect("key");
    let mut old_task = task("payments", "Robot in the document");
    old_task.spec.alarm_robot = Some(RobotWebhook::Key {
        webhook_key: robot.clone(),
    });
    let mut new_task = task("payments", "Robot in the secret store");
    new_task.spec.alarm_robot = Some(RobotWebhook::Stored {
        secret: robot.secret_name(),
    });
    for t in [&old_task, &new_task] {
        store.insert_task(t).await.expect("task");
    }

    let failed = RunFilter {
        outcome: Some(herald_core::domain::run::OutcomeName::Failed),
        ..Default::default()
    };
    let listed =
        |page: herald_core::ports::RunPage| page.items.iter().map(|r| r.id).collect::<Vec<_>>();
    let later = now + chrono::Duration::days(1);
    let before = store
        .list_runs(&project("payments"), &failed, None, 10, later)
        .await
        .expect("list");
    assert_eq!(
        listed(before),
        [new_run.id],
        "the old run is not in the index yet"
    );
    let keys = store.list_keys(None, 10).await.expect("keys");
    assert_eq!(keys.items.len(), 1, "the old key is not listed yet");

    let done = store.backfill(&secrets).await.expect("backfill");
    assert_eq!(
        done,
        herald_aws::Backfilled {
            runs: 1,
            api_keys: 1,
            robot_keys: 1
        }
    );
    let after = store
        .list_runs(&project("payments"), &failed, None, 10, later)
        .await
        .expect("list");
    assert_eq!(listed(after), [new_run.id, old_run.id]);
    let keys = store.list_keys(None, 10).await.expect("keys");
    let mut ids: Vec<String> = keys.items.iter().map(|k| k.id.to_string()).collect();
    ids.sort();
    let mut both = vec![old_key.id.to_string(), new_key.id.to_string()];
    both.sort();
    assert_eq!(ids, both);
    let moved = store
        .get_task(&project("payments"), &old_task.id)
        .await
        .expect("get")
        .expect("there");
    assert_eq!(moved.spec.alarm_robot, new_task.spec.alarm_robot);
    assert_eq!(
        moved.version, old_task.version,
        "the task means what it meant"
    );
    let kept = secrets
        .get_secret(robot.secret_name().as_str())
        .await
        .expect("secret");
    use secrecy::ExposeSecret;
    assert_eq!(
        kept.as_ref().map(|k| k.expose_secret()),
        Some(robot.as_str())
    );
    let raw = client
        .get_item()
        .table_name(&table)
        .key("PK", AttributeValue::S("PROJECT#payments".into()))
        .key("SK", AttributeValue::S(format!("TASK#{}", old_task.id)))
        .send()
        .await
        .expect("raw task");
    let doc = raw.item.expect("item")["doc"].as_s().expect("doc").clone();
    assert!(
        !doc.contains(robot.as_str()),
        "the key left the document: {doc}"
    );

    assert_eq!(
        store.backfill(&secrets).await.expect("again"),
        herald_aws::Backfilled::default()
    );
}
