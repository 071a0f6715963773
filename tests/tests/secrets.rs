//! The secret stores: a 0600 file on one machine, Secrets Manager (on moto) on AWS.
use herald_core::ports::SecretStore;
use secrecy::{ExposeSecret, SecretString};
use std::os::unix::fs::PermissionsExt;

async fn secrets_are_stored_replaced_and_read_back(store: &dyn SecretStore) {
    assert!(
        store
            .get_secret("channels/wecom/corp_secret")
            .await
            .expect("get")
            .is_none()
    );
    store
        .put_secret("channels/wecom/corp_secret", &SecretString::from("first"))
        .await
        .expect("put");
    store
        .put_secret("channels/wecom/corp_secret", &SecretString::from("second"))
        .await
        .expect("replace");
    store
        .put_secret("webhook-sources/sqle", &SecretString::from("signing"))
        .await
        .expect("put");
    let got = store
        .get_secret("channels/wecom/corp_secret")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(got.expose_secret(), "second");
    let other = store
        .get_secret("webhook-sources/sqle")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(other.expose_secret(), "signing");
}

#[tokio::test]
async fn the_local_secret_file_is_private_and_keeps_every_secret() {
    let dir =
        std::env::temp_dir().join(format!("herald-secrets-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("secrets.json");
    let store = herald_embedded::FileSecretStore::new(path.clone());
    secrets_are_stored_replaced_and_read_back(&store).await;
    let mode = std::fs::metadata(&path).expect("file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // A second process (a restart) reads the same secrets.
    let reopened = herald_embedded::FileSecretStore::new(path);
    assert!(
        reopened
            .get_secret("webhook-sources/sqle")
            .await
            .expect("get")
            .is_some()
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[tokio::test]
async fn secrets_manager_keeps_every_secret_under_the_prefix() {
    let config = herald_tests::moto::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let prefix = herald_tests::moto::unique("herald");
    let store = herald_aws::SecretsManagerStore::new(
        client.clone(),
        &prefix,
        std::time::Duration::from_secs(0),
    );
    secrets_are_stored_replaced_and_read_back(&store).await;
    let raw = client
        .get_secret_value()
        .secret_id(format!("{prefix}/channels/wecom/corp_secret"))
        .send()
        .await
        .expect("stored in Secrets Manager under the prefix");
    assert_eq!(raw.secret_string(), Some("second"));
}
