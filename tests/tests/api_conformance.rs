//! The API against its own OpenAPI document: schemathesis (PyPI; scripts/test-deps.sh installs
//! it in .venv-schemathesis) runs every check of `schemathesis.toml` on every operation of the
//! herald-local binary: negative data refused, statuses, bodies and content types as documented,
//! auth honoured, no 5xx. Then herald-local's log and every answer schemathesis received are
//! searched for every secret the run left in the store: none may appear.
//!
//! `make test` runs a few hundred cases with a fixed seed (`HERALD_SCHEMATHESIS_EXAMPLES`, default
//! 3 per operation and phase); `make soak` runs thousands with a random seed.
use herald_tests::local_server::HeraldLocal;
use std::path::Path;

const ADMIN: &str = "conformance-admin-key-6f1c0d9e2b7a4853";
const WEBHOOK_SECRET: &str = "whsec-conformance-5d1f0a8c7b2e4e69";
const SOURCE_TOKEN: &str = "srctok-conformance-8e2a71c4d9b0f356";
const SQLE_TOKEN: &str = "sqle-token-conformance-0b9e77c1a3";
/// The channels' secrets: stored before the run, so a PUT that omits its secret keeps this one.
const CHANNEL_SECRETS: [&str; 4] = [
    "smtp-pw-conformance-3c8d1e0f7a",
    "wecom-secret-conformance-9b2f4a6c1e",
    "feishu-secret-conformance-5e7a0d3b8c",
    "dingtalk-secret-conformance-7c2e9a4f1d",
];
const PROJECT: &str = "conformance";
/// How often a path parameter names something that exists (otherwise schemathesis makes one up).
const KNOWN_ID_PROBABILITY: f64 = 0.7;

#[tokio::test(flavor = "multi_thread")]
async fn the_api_answers_as_its_openapi_document_says_and_leaks_no_secret() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let work =
        herald_tests::scratch_dir().join(format!("conformance-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&work).expect("scratch dir");
    let log = work.join("herald-local.log");
    // Debug logs: a secret must not reach even those.
    let local = HeraldLocal::start_logging_to(&log, ADMIN, &[("RUST_LOG", "debug")]).await;
    configure_secrets(&local.base).await;
    configure_source(&local.base).await;
    configure_channels(&local.base).await;
    let known = existing_things(&local.base).await;
    let config = work.join("schemathesis.toml");
    std::fs::write(&config, config_with_known_ids(root, &known)).expect("schemathesis config");

    let examples = std::env::var("HERALD_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "3".into());
    let seed = std::env::var("HERALD_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".into());
    let har = work.join("answers.har");
    let schemathesis = format!("{root}/.venv-schemathesis/bin/schemathesis");
    let mut command = std::process::Command::new(&schemathesis);
    command
        .arg("--config-file")
        .arg(&config)
        .args(["--no-color", "run"])
        .arg(format!("{}/v1/openapi.json", local.base))
        .args(["-H", &format!("Authorization: Bearer {ADMIN}")])
        .args(["--max-examples", &examples, "--report", "har"])
        .arg("--report-har-path")
        .arg(&har)
        .current_dir(&work)
        .env("SCHEMATHESIS_TELEMETRY", "false");
    if seed != "random" {
        command.args(["--seed", &seed]);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{schemathesis}: {e} (scripts/test-deps.sh installs it)"));
    let report = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(" generated, ") || l.starts_with("=="))
        .collect();
    println!("schemathesis: {}", summary.join(" | "));
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases = generated_cases(&report);
    assert!(cases >= 200, "only {cases} cases ran:\n{report}");

    // What the store holds now, and the ones this test configured (schemathesis, given the
    // source's id, may have replaced or deleted them since).
    let mut secrets = stored_secrets(&local.data);
    for configured in [WEBHOOK_SECRET, SQLE_TOKEN, SOURCE_TOKEN]
        .into_iter()
        .chain(CHANNEL_SECRETS)
    {
        if !secrets.iter().any(|s| s == configured) {
            secrets.push(configured.to_owned());
        }
    }
    let logged = std::fs::read_to_string(&log).expect("herald-local's log");
    assert!(logged.lines().count() > 100, "herald-local logged the run");
    let answers = response_texts(&har);
    assert!(answers.len() >= cases / 2, "the HAR file holds the answers");
    for secret in secrets.iter().map(String::as_str).chain([ADMIN]) {
        assert!(
            !logged.contains(secret),
            "a secret is in herald-local's log"
        );
        assert!(
            !answers.iter().any(|a| a.contains(secret)),
            "a secret is in an answer"
        );
    }
    println!(
        "secret scan: {} secrets, {} log lines, {} answers: 0 found",
        secrets.len() + 1,
        logged.lines().count(),
        answers.len()
    );
    let _ = std::fs::remove_dir_all(&work);
}

/// Secrets the run starts with, besides whatever schemathesis itself stores.
async fn configure_secrets(base: &str) {
    let client = reqwest::Client::new();
    let put = |path: &str, body: serde_json::Value| {
        client
            .put(format!("{base}{path}"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
    };
    let answer = put(
        "/v1/settings/webhook-sources/conformance",
        serde_json::json!({ "secret": WEBHOOK_SECRET }),
    )
    .await
    .expect("herald-local answers");
    assert_eq!(
        answer.status(),
        204,
        "{}",
        answer.text().await.unwrap_or_default()
    );
    let answer = put(
        "/v1/settings/webhook-sources/conformance/sqle",
        serde_json::json!({ "token": SQLE_TOKEN, "routes": [] }),
    )
    .await
    .expect("herald-local answers");
    assert_eq!(
        answer.status(),
        200,
        "{}",
        answer.text().await.unwrap_or_default()
    );
}

/// Every channel configured but disabled (nothing is sent to a real provider): a channel's
/// secret is needed the first time only, and a channel test of a disabled channel is a 422.
async fn configure_channels(base: &str) {
    let [smtp, wecom, feishu, dingtalk] = CHANNEL_SECRETS;
    let bodies = [
        (
            "smtp",
            serde_json::json!({"enabled": false, "host": "smtp.example.com", "port": 587,
            "security": "starttls", "username": "herald", "password": smtp, "from": "herald@example.com"}),
        ),
        (
            "wecom",
            serde_json::json!({"enabled": false, "corp_id": "wwconformance", "agent_id": 1000002,
            "corp_secret": wecom}),
        ),
        (
            "feishu",
            serde_json::json!({"enabled": false, "app_id": "cli_conformance", "app_secret": feishu}),
        ),
        (
            "dingtalk",
            serde_json::json!({"enabled": false, "app_key": "dingconformance", "agent_id": 3000001,
            "app_secret": dingtalk}),
        ),
    ];
    for (channel, body) in bodies {
        let path = format!("/v1/settings/channels/{channel}");
        admin_call(base, reqwest::Method::PUT, &path, body).await;
    }
}

/// A report source with a bearer token (its token must never come back or reach a log).
async fn configure_source(base: &str) {
    admin_call(
        base,
        reqwest::Method::PUT,
        "/v1/sources/conformance",
        serde_json::json!({"kind": "http", "base_url": "https://bi.example.com/api",
                           "auth": {"type": "bearer", "token": SOURCE_TOKEN}, "projects": ["*"]}),
    )
    .await;
}

/// A small client for the fixtures: admin calls that must succeed.
async fn admin_call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let answer = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .expect("herald-local answers");
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// Things that exist, by path parameter, so that schemathesis reaches past the 404 of a made-up
/// id: tasks, a record, a contact, keys (a few of each: some get deleted on the way).
async fn existing_things(base: &str) -> Vec<(&'static str, Vec<String>)> {
    use reqwest::Method;
    let id = |v: &serde_json::Value| v["id"].as_str().expect("an id").to_owned();
    let tasks_path = format!("/v1/projects/{PROJECT}/tasks");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let body = herald_tests::sample_task("2030-01-01");
        tasks.push(id(&admin_call(base, Method::POST, &tasks_path, body).await));
    }
    let run = id(&admin_call(
        base,
        Method::POST,
        &format!("{tasks_path}/{}/test", tasks[0]),
        serde_json::Value::Null,
    )
    .await);
    let mut users = Vec::new();
    for user in ["ada", "grace"] {
        let body = serde_json::json!({"name": user, "email": format!("{user}@example.com")});
        admin_call(base, Method::PUT, &format!("/v1/contacts/{user}"), body).await;
        users.push(user.to_owned());
    }
    let mut keys = Vec::new();
    for role in ["viewer", "editor", "viewer"] {
        let body = serde_json::json!({"role": role, "project": PROJECT});
        keys.push(id(&admin_call(base, Method::POST, "/v1/keys", body).await));
    }
    vec![
        ("project", vec![PROJECT.to_owned()]),
        ("task", tasks),
        ("run", vec![run]),
        ("user", users),
        ("id", keys),
        ("source", vec!["conformance".to_owned()]),
    ]
}

/// `schemathesis.toml` with a dictionary of known values for each path parameter in `known`.
fn config_with_known_ids(root: &str, known: &[(&str, Vec<String>)]) -> String {
    let mut config =
        std::fs::read_to_string(format!("{root}/schemathesis.toml")).expect("schemathesis.toml");
    config.push_str("\n# Added by tests/tests/api_conformance.rs: ids that exist in this run.\n");
    for (name, values) in known {
        let values = serde_json::to_string(values).expect("JSON strings are TOML strings");
        config.push_str(&format!("[dictionaries.{name}]\nvalues = {values}\n"));
    }
    config.push_str("[parameters]\n");
    for (name, _) in known {
        config.push_str(&format!(
            "\"path.{name}\" = {{ dictionary = \"{name}\", probability = {KNOWN_ID_PROBABILITY} }}\n"
        ));
    }
    config
}

/// The values in herald-local's secret store long and varied enough that finding one elsewhere
/// is no coincidence (schemathesis also stores secrets such as "0000000000000000").
fn stored_secrets(data: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(data.join("secrets.json")).expect("the secret store");
    let stored: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&text).expect("the secret store is JSON");
    stored
        .into_values()
        .filter(|value| {
            let distinct: std::collections::BTreeSet<char> = value.chars().collect();
            value.chars().count() >= 12 && distinct.len() >= 8
        })
        .collect()
}

/// Every response body in a HAR file.
fn response_texts(har: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(har).expect("schemathesis wrote its HAR report");
    let document: serde_json::Value = serde_json::from_str(&text).expect("HAR is JSON");
    document["log"]["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e["response"]["content"]["text"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// "  1245 generated, 1245 passed, 14 skipped" → 1245.
fn generated_cases(report: &str) -> usize {
    report
        .lines()
        .find_map(|line| {
            let (count, _) = line.trim().split_once(" generated")?;
            count.trim().parse().ok()
        })
        .unwrap_or(0)
}
