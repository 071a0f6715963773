//! Channel settings and channel tests through the API, over SQLite, with the provider clients
//! pointed at fake WeCom, Feishu and SMTP servers on loopback.
use axum::http::{Method, StatusCode};
use herald_fakes::{Endpoint, Fault, FaultRule, FeishuConfig, FeishuUser, WecomConfig};
use herald_tests::ADMIN_TOKEN;
use herald_tests::http::{Reply, call};
use herald_tests::providers::{CORP_SECRET, Engine, FakeProviders, SMTP_PASSWORD, configure};
use serde_json::{Value, json};

const NOW: &str = "2026-11-25T01:00:00Z";
const SETTINGS: &str = "/v1/settings";

async fn start() -> (FakeProviders, Engine) {
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["zhangsan", "lisi"]),
        FeishuConfig::default().with_user(
            FeishuUser::new("ou_7d8a6e6df7621556ce0d21922b676706")
                .email("zhang.san@example.com")
                .mobile("13800000000"),
        ),
    )
    .await;
    let engine = Engine::new(NOW, fakes.config());
    (fakes, engine)
}

async fn admin(engine: &Engine, method: Method, uri: &str, body: Value) -> Reply {
    call(&engine.router, method, uri, Some(ADMIN_TOKEN), &body).await
}

async fn put_channel(engine: &Engine, channel: &str, body: Value) -> Reply {
    admin(
        engine,
        Method::PUT,
        &format!("/v1/settings/channels/{channel}"),
        body,
    )
    .await
}

async fn test_channel(engine: &Engine, channel: &str, body: Value) -> Reply {
    admin(
        engine,
        Method::POST,
        &format!("/v1/settings/channels/{channel}/test"),
        body,
    )
    .await
}

async fn settings(engine: &Engine) -> Value {
    let reply = admin(engine, Method::GET, SETTINGS, Value::Null).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    reply.body
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().expect("object").remove(key);
    body
}

fn assert_invalid(reply: &Reply, field: &str, what: &str) {
    assert_eq!(
        (reply.status, reply.field()),
        (StatusCode::BAD_REQUEST, Some(field)),
        "{what}: {:#}",
        reply.body
    );
}

// ------------------------------------------------------------------------------------ settings

#[tokio::test]
async fn a_wecom_secret_is_stored_but_reads_show_only_that_it_is_set() {
    let (fakes, engine) = start().await;

    let put = put_channel(&engine, "wecom", fakes.wecom_settings()).await;
    assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
    for body in [&put.body, &settings(&engine).await] {
        let wecom = &body["channels"]["wecom"];
        assert_eq!(wecom["corp_secret"], "set", "{body:#}");
        assert_eq!(wecom["corp_id"], "ww_fake_corp");
        assert_eq!(wecom["agent_id"], 1_000_002);
        assert_eq!(wecom["enabled"], true);
        assert!(
            !body.to_string().contains(CORP_SECRET),
            "the secret leaked: {body}"
        );
    }
}

#[tokio::test]
async fn a_put_without_the_secret_or_with_set_keeps_the_stored_one() {
    let (fakes, engine) = start().await;
    configure(&engine.router, "wecom", &fakes.wecom_settings()).await;

    for keep in [
        without(fakes.wecom_settings(), "corp_secret"),
        with(fakes.wecom_settings(), "corp_secret", json!("set")),
    ] {
        let put = put_channel(&engine, "wecom", with(keep, "encrypted", json!(true))).await;
        assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
        assert_eq!(put.body["channels"]["wecom"]["corp_secret"], "set");
        assert_eq!(put.body["channels"]["wecom"]["encrypted"], true);

        // The stored secret still works: the fake only knows the real one. (The clock moves so the
        // two test texts differ and WeCom's duplicate check does not fold them into one.)
        engine.clock.advance(chrono::Duration::minutes(1));
        let test = test_channel(&engine, "wecom", json!({"to": "zhangsan"})).await;
        assert_eq!(test.status, StatusCode::OK, "{:#}", test.body);
        assert_eq!(test.body["delivered"], true, "{:#}", test.body);
    }
    assert_eq!(fakes.wecom.delivered().len(), 2);
}

#[tokio::test]
async fn the_first_put_of_a_channel_needs_its_secret() {
    let (fakes, engine) = start().await;
    let cases = [
        (
            "wecom",
            without(fakes.wecom_settings(), "corp_secret"),
            "corp_secret",
        ),
        (
            "wecom",
            with(fakes.wecom_settings(), "corp_secret", json!("set")),
            "corp_secret",
        ),
        (
            "feishu",
            without(fakes.feishu_settings(), "app_secret"),
            "app_secret",
        ),
        (
            "smtp",
            without(fakes.smtp_settings(), "password"),
            "password",
        ),
    ];
    for (channel, body, field) in cases {
        let reply = put_channel(&engine, channel, body).await;
        assert_invalid(&reply, field, channel);
    }
    let channels = &settings(&engine).await["channels"];
    assert_eq!(channels["wecom"], Value::Null);
    assert_eq!(channels["feishu"], Value::Null);
    assert_eq!(channels["smtp"], Value::Null);
}

#[tokio::test]
async fn bad_channel_fields_are_refused_naming_the_field() {
    let (fakes, engine) = start().await;
    let smtp = fakes.smtp_settings();
    let wecom = fakes.wecom_settings();
    let cases = [
        (
            "smtp",
            with(smtp.clone(), "security", json!("ssl")),
            "security",
        ),
        ("smtp", with(smtp.clone(), "port", json!(0)), "port"),
        (
            "smtp",
            with(smtp.clone(), "from", json!("not an email")),
            "from",
        ),
        (
            "smtp",
            with(smtp.clone(), "host", json!("smtp.example.com:25")),
            "host",
        ),
        (
            "smtp",
            with(smtp.clone(), "colour", json!("blue")),
            "colour",
        ),
        (
            "wecom",
            with(wecom.clone(), "agent_id", json!(0)),
            "agent_id",
        ),
        (
            "wecom",
            with(wecom.clone(), "agent_id", json!(-5)),
            "agent_id",
        ),
        (
            "wecom",
            with(wecom.clone(), "proxy", json!("ftp://x")),
            "proxy",
        ),
        (
            "wecom",
            with(wecom.clone(), "proxy", json!(" set ")),
            "proxy",
        ),
        (
            "wecom",
            with(wecom.clone(), "agent_id", json!(5_000_000_000_i64)),
            "agent_id",
        ),
        (
            "smtp",
            with(smtp.clone(), "host", json!("smtp\texample.com")),
            "host",
        ),
        (
            "smtp",
            with(smtp.clone(), "username", json!("  ")),
            "username",
        ),
        (
            "wecom",
            with(wecom.clone(), "corp_id", json!("ww fake")),
            "corp_id",
        ),
        (
            "wecom",
            with(wecom.clone(), "colour", json!("blue")),
            "colour",
        ),
        (
            "feishu",
            with(fakes.feishu_settings(), "app_id", json!("")),
            "app_id",
        ),
    ];
    for (channel, body, field) in cases {
        let reply = put_channel(&engine, channel, body.clone()).await;
        assert_invalid(&reply, field, &format!("{channel} {body}"));
    }
    let channels = &settings(&engine).await["channels"];
    assert_eq!(
        (&channels["smtp"], &channels["wecom"]),
        (&Value::Null, &Value::Null)
    );
    let reply = put_channel(&engine, "pigeon", json!({"enabled": true})).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{:#}", reply.body);
}

#[tokio::test]
async fn only_the_admin_reads_or_changes_settings() {
    let (fakes, engine) = start().await;
    configure(&engine.router, "wecom", &fakes.wecom_settings()).await;
    let mut keys = Vec::new();
    for role in ["viewer", "editor"] {
        let made = admin(
            &engine,
            Method::POST,
            "/v1/keys",
            json!({"project": "payments", "role": role}),
        )
        .await;
        assert_eq!(made.status, StatusCode::CREATED, "{:#}", made.body);
        keys.push(made.body["key"].as_str().expect("key").to_owned());
    }
    for key in &keys {
        let calls = [
            (Method::GET, SETTINGS.to_owned(), Value::Null),
            (
                Method::PUT,
                SETTINGS.to_owned(),
                json!({"url_prefix": "https://sqle.example.com"}),
            ),
            (
                Method::PUT,
                "/v1/settings/channels/wecom".to_owned(),
                fakes.wecom_settings(),
            ),
            (
                Method::PUT,
                "/v1/settings/channels/smtp".to_owned(),
                fakes.smtp_settings(),
            ),
            (
                Method::POST,
                "/v1/settings/channels/wecom/test".to_owned(),
                json!({"to": "zhangsan"}),
            ),
            (
                Method::PUT,
                "/v1/settings/webhook-sources/sqle".to_owned(),
                json!({"secret": "0123456789abcdef0123"}),
            ),
        ];
        for (method, uri, body) in calls {
            let reply = call(&engine.router, method.clone(), &uri, Some(key), &body).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{method} {uri}: {:#}",
                reply.body
            );
        }
    }
    let reply = call(&engine.router, Method::GET, SETTINGS, None, &Value::Null).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // Nothing was sent or changed.
    assert!(fakes.wecom.delivered().is_empty());
    let body = settings(&engine).await;
    assert_eq!(body["url_prefix"], Value::Null);
    assert_eq!(body["channels"]["smtp"], Value::Null);
    assert_eq!(body["webhook_sources"], json!([]));
}

#[tokio::test]
async fn configuring_one_channel_never_touches_another() {
    let (fakes, engine) = start().await;
    configure(&engine.router, "wecom", &fakes.wecom_settings()).await;
    let wecom_before = settings(&engine).await["channels"]["wecom"].clone();

    configure(&engine.router, "smtp", &fakes.smtp_settings()).await;
    let after_smtp = settings(&engine).await;
    assert_eq!(after_smtp["channels"]["wecom"], wecom_before);
    assert_eq!(after_smtp["channels"]["smtp"]["password"], "set");
    assert_eq!(after_smtp["channels"]["feishu"], Value::Null);

    // Disabling WeCom leaves SMTP as it was, and mail still goes out.
    let smtp_before = after_smtp["channels"]["smtp"].clone();
    let disabled = put_channel(
        &engine,
        "wecom",
        without(
            with(fakes.wecom_settings(), "enabled", json!(false)),
            "corp_secret",
        ),
    )
    .await;
    assert_eq!(disabled.status, StatusCode::OK, "{:#}", disabled.body);
    assert_eq!(disabled.body["channels"]["wecom"]["enabled"], false);
    assert_eq!(disabled.body["channels"]["smtp"], smtp_before);
    let mail = test_channel(&engine, "smtp", json!({"to": "ops@example.com"})).await;
    assert_eq!(mail.body["delivered"], true, "{:#}", mail.body);

    // A bad SMTP change is refused and leaves both as they were.
    let bad = put_channel(
        &engine,
        "smtp",
        with(fakes.smtp_settings(), "port", json!(0)),
    )
    .await;
    assert_invalid(&bad, "port", "smtp port 0");
    let last = settings(&engine).await;
    assert_eq!(last["channels"]["smtp"], smtp_before);
    assert_eq!(
        last["channels"]["wecom"],
        disabled.body["channels"]["wecom"]
    );
    assert!(!last.to_string().contains(SMTP_PASSWORD));
}

#[tokio::test]
async fn the_url_prefix_round_trips() {
    let (_fakes, engine) = start().await;
    let put = admin(
        &engine,
        Method::PUT,
        SETTINGS,
        json!({"url_prefix": "https://sqle.example.com/sqle"}),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
    assert_eq!(put.body["url_prefix"], "https://sqle.example.com/sqle");
    assert_eq!(
        settings(&engine).await["url_prefix"],
        "https://sqle.example.com/sqle"
    );

    let bad = admin(
        &engine,
        Method::PUT,
        SETTINGS,
        json!({"url_prefix": "ftp://x"}),
    )
    .await;
    assert_invalid(&bad, "url_prefix", "ftp url_prefix");

    let cleared = admin(&engine, Method::PUT, SETTINGS, json!({"url_prefix": null})).await;
    assert_eq!(cleared.status, StatusCode::OK, "{:#}", cleared.body);
    assert_eq!(settings(&engine).await["url_prefix"], Value::Null);
}

#[tokio::test]
async fn a_webhook_source_needs_a_long_secret_and_is_listed_by_name_only() {
    let (_fakes, engine) = start().await;
    let uri = "/v1/settings/webhook-sources/sqle";
    let short = admin(&engine, Method::PUT, uri, json!({"secret": "too-short"})).await;
    assert_invalid(&short, "secret", "short secret");
    assert_eq!(settings(&engine).await["webhook_sources"], json!([]));

    let secret = "s3cr3t-signing-key-0123456789";
    let good = admin(&engine, Method::PUT, uri, json!({"secret": secret})).await;
    assert_eq!(good.status, StatusCode::NO_CONTENT, "{:#}", good.body);
    let again = admin(&engine, Method::PUT, uri, json!({"secret": secret})).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    let body = settings(&engine).await;
    assert_eq!(body["webhook_sources"], json!(["sqle"]));
    assert!(!body.to_string().contains(secret));
}

// ------------------------------------------------------------------------------- channel tests

#[tokio::test]
async fn a_wecom_test_message_reaches_the_user() {
    let (fakes, engine) = start().await;
    configure(&engine.router, "wecom", &fakes.wecom_settings()).await;

    let reply = test_channel(&engine, "wecom", json!({"to": "zhangsan"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_eq!(reply.body["delivered"], true, "{:#}", reply.body);
    assert_eq!(reply.body["status"], "delivered");
    assert_eq!(reply.body["attempts"], 1);
    assert_eq!(reply.body["error"], Value::Null);
    let delivered = fakes.wecom.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    assert_eq!(delivered[0].recipients, ["zhangsan"]);
    assert_eq!(delivered[0].msgtype, "text");
    assert_eq!(delivered[0].enable_duplicate_check, Some(1));
}

#[tokio::test]
async fn a_test_message_the_provider_is_slow_to_answer_is_answered_202_and_still_sent() {
    let fakes = FakeProviders::start(
        WecomConfig::default().with_users(["zhangsan"]),
        FeishuConfig::default(),
    )
    .await;
    let engine = Engine::answering_within(NOW, fakes.config(), std::time::Duration::from_secs(1));
    configure(&engine.router, "wecom", &fakes.wecom_settings()).await;
    let slow = Fault::Delay {
        delay: std::time::Duration::from_secs(6),
    };
    fakes
        .wecom
        .inject(FaultRule::next(1, slow).on(Endpoint::WecomSend));

    let started = std::time::Instant::now();
    let reply = test_channel(&engine, "wecom", json!({"to": "zhangsan"})).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered in time"
    );
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:#}", reply.body);
    assert_eq!(reply.body["status"], "sending", "{:#}", reply.body);
    assert_eq!(reply.body["delivered"], false);
    // The attempt goes on after the answer and reaches the user once.
    for _ in 0..100 {
        if !fakes.wecom.delivered().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(fakes.wecom.delivered().len(), 1);
}

#[tokio::test]
async fn an_untrusted_ip_is_reported_with_the_code_and_a_hint() {
    let (fakes, engine) = start().await;
    configure(&engine.router, "wecom", &fakes.wecom_settings()).await;
    fakes.wecom.inject(FaultRule::always(Fault::UntrustedIp));

    let reply = test_channel(&engine, "wecom", json!({"to": "zhangsan"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_eq!(reply.body["delivered"], false, "{:#}", reply.body);
    assert_eq!(reply.body["status"], "dead");
    let error = &reply.body["error"];
    assert_eq!(error["code"], 60020, "{error:#}");
    assert_eq!(error["class"], "config");
    let hint = error["hint"].as_str().expect("a hint").to_lowercase();
    assert!(hint.contains("trusted ip"), "hint: {hint}");
    assert!(fakes.wecom.delivered().is_empty());
}

#[tokio::test]
async fn an_smtp_test_mail_lands_in_the_sink() {
    let (fakes, engine) = start().await;
    configure(&engine.router, "smtp", &fakes.smtp_settings()).await;

    let reply = test_channel(&engine, "smtp", json!({"to": "ops@example.com"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_eq!(reply.body["delivered"], true, "{:#}", reply.body);
    let mails = fakes.smtp.messages();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0].to, ["ops@example.com"]);
    assert_eq!(mails[0].from, "herald@example.com");
    assert_eq!(mails[0].subject.as_deref(), Some("Herald test message"));
}

#[tokio::test]
async fn a_feishu_test_by_email_is_resolved_to_the_users_open_id() {
    let (fakes, engine) = start().await;
    configure(&engine.router, "feishu", &fakes.feishu_settings()).await;

    let reply = test_channel(&engine, "feishu", json!({"email": "zhang.san@example.com"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_eq!(reply.body["delivered"], true, "{:#}", reply.body);
    assert_eq!(fakes.feishu.stats().calls_to(Endpoint::FeishuBatchGetId), 1);
    let delivered = fakes.feishu.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:#?}");
    assert_eq!(
        delivered[0].recipients,
        ["ou_7d8a6e6df7621556ce0d21922b676706"]
    );
    assert_eq!(delivered[0].receive_id_type.as_deref(), Some("open_id"));

    let by_mobile = test_channel(&engine, "feishu", json!({"mobile": "13800000000"})).await;
    assert_eq!(by_mobile.body["delivered"], true, "{:#}", by_mobile.body);
    assert_eq!(fakes.feishu.delivered().len(), 2);
    assert_eq!(
        fakes.feishu.delivered()[1].recipients,
        ["ou_7d8a6e6df7621556ce0d21922b676706"]
    );
}

/// The seed's own flow: save a channel, then click Test — right after another channel was used
/// (the sending path keeps the settings it read for a second).
#[tokio::test]
async fn a_channel_put_and_tested_at_once_after_another_was_used_sends() {
    let (fakes, engine) = start().await;
    let channels = [
        ("wecom", fakes.wecom_settings(), json!({"to": "zhangsan"})),
        (
            "smtp",
            fakes.smtp_settings(),
            json!({"to": "ops@example.com"}),
        ),
        (
            "feishu",
            fakes.feishu_settings(),
            json!({"email": "zhang.san@example.com"}),
        ),
    ];
    for (channel, settings, target) in &channels {
        configure(&engine.router, channel, settings).await;
        let reply = test_channel(&engine, channel, target.clone()).await;
        assert_eq!(
            reply.body["delivered"], true,
            "{channel} tested at once after its PUT: {:#}",
            reply.body
        );
    }
    // A change (here: disabling) is what the very next test sees too.
    for (channel, settings, target) in &channels {
        let off = put_channel(
            &engine,
            channel,
            with(settings.clone(), "enabled", json!(false)),
        )
        .await;
        assert_eq!(off.status, StatusCode::OK, "{:#}", off.body);
        let reply = test_channel(&engine, channel, target.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{channel} disabled: {:#}",
            reply.body
        );
    }
    assert_eq!(fakes.wecom.delivered().len(), 1);
    assert_eq!(fakes.feishu.delivered().len(), 1);
    assert_eq!(fakes.smtp.messages().len(), 1);
}

#[tokio::test]
async fn an_unconfigured_channel_cannot_be_tested() {
    let (fakes, engine) = start().await;
    for (channel, body) in [
        ("wecom", json!({"to": "zhangsan"})),
        ("smtp", json!({"to": "ops@example.com"})),
        ("feishu", json!({"email": "zhang.san@example.com"})),
    ] {
        let reply = test_channel(&engine, channel, body).await;
        assert_eq!(
            (reply.status, reply.field()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("channel")),
            "{channel}: {:#}",
            reply.body
        );
    }
    assert_eq!(fakes.wecom.stats().calls.values().sum::<u64>(), 0);
    assert_eq!(fakes.feishu.stats().calls.values().sum::<u64>(), 0);
    assert!(fakes.smtp.messages().is_empty());
}

#[tokio::test]
async fn a_disabled_channel_cannot_be_tested_and_sends_nothing() {
    let (fakes, engine) = start().await;
    configure(
        &engine.router,
        "wecom",
        &with(fakes.wecom_settings(), "enabled", json!(false)),
    )
    .await;
    configure(
        &engine.router,
        "smtp",
        &with(fakes.smtp_settings(), "enabled", json!(false)),
    )
    .await;

    let reply = test_channel(&engine, "wecom", json!({"to": "zhangsan"})).await;
    assert_eq!(
        (reply.status, reply.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("channel")),
        "{:#}",
        reply.body
    );
    let reply = test_channel(&engine, "smtp", json!({"to": "ops@example.com"})).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        reply.body
    );
    assert_eq!(fakes.wecom.stats().calls.values().sum::<u64>(), 0);
    assert!(fakes.wecom.messages().is_empty());
    assert!(fakes.smtp.messages().is_empty());
}

#[tokio::test]
async fn bad_test_targets_are_refused_naming_the_field() {
    let (fakes, engine) = start().await;
    engine.configure_all(&fakes).await;
    let cases = [
        ("smtp", json!({"to": "not an email"}), "to"),
        ("smtp", json!({}), "to"),
        ("wecom", json!({"to": "zhang san"}), "to"),
        (
            "feishu",
            json!({"email": "zhang.san@example.com", "mobile": "13800000000"}),
            "email",
        ),
        ("feishu", json!({}), "email"),
        ("feishu", json!({"mobile": "call me"}), "mobile"),
        ("wecom", json!({"to": "zhangsan", "cc": "lisi"}), "cc"),
        // A field another channel's test uses: the body says one thing.
        (
            "smtp",
            json!({"to": "ops@example.com", "mobile": "13800000000"}),
            "mobile",
        ),
        ("feishu", json!({"to": "zhangsan"}), "to"),
        ("feishu", json!({"mobile": "++13800000000"}), "mobile"),
    ];
    for (channel, body, field) in cases {
        let reply = test_channel(&engine, channel, body.clone()).await;
        assert_invalid(&reply, field, &format!("{channel} {body}"));
    }
    assert!(fakes.wecom.messages().is_empty());
    assert!(fakes.feishu.messages().is_empty());
    assert!(fakes.smtp.messages().is_empty());
}

/// A proxy may carry a password: it is stored as a secret, reads back as "set", is kept by a PUT
/// that omits it or sends "set", and removed by "". One stored in the settings document by an
/// older version is still used, shown as "set", and moved to the secret store by the next write.
#[tokio::test]
async fn the_wecom_proxy_is_write_only_and_a_stored_one_moves_to_the_secret_store() {
    use herald_core::ports::SettingsStore;
    let (fakes, engine) = start().await;
    let proxy = "http://herald:pr0xy-pw@proxy.internal:3128";
    let with_proxy = with(fakes.wecom_settings(), "proxy", json!(proxy));
    let reply = put_channel(&engine, "wecom", with_proxy).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    let shown = settings(&engine).await;
    assert_eq!(shown["channels"]["wecom"]["proxy"], "set", "{shown:#}");
    assert!(!shown.to_string().contains("pr0xy-pw"));
    let stored = engine.store.get_settings().await.expect("settings");
    assert_eq!(stored.wecom.as_ref().and_then(|w| w.proxy.clone()), None);
    assert!(!serde_json::to_string(&stored).unwrap().contains("pr0xy-pw"));

    let kept = put_channel(
        &engine,
        "wecom",
        without(fakes.wecom_settings(), "corp_secret"),
    )
    .await;
    assert_eq!(
        kept.body["channels"]["wecom"]["proxy"], "set",
        "{:#}",
        kept.body
    );
    let removed = put_channel(
        &engine,
        "wecom",
        with(
            without(fakes.wecom_settings(), "corp_secret"),
            "proxy",
            json!(""),
        ),
    )
    .await;
    assert_eq!(
        removed.body["channels"]["wecom"]["proxy"],
        Value::Null,
        "{:#}",
        removed.body
    );

    // An older version kept the proxy in the settings document.
    let mut legacy = engine.store.get_settings().await.expect("settings");
    let version = legacy.version;
    legacy.wecom.as_mut().expect("wecom").proxy = Some(proxy.to_owned());
    legacy.version += 1;
    engine
        .store
        .put_settings(&legacy, version)
        .await
        .expect("written");
    assert_eq!(settings(&engine).await["channels"]["wecom"]["proxy"], "set");
    let moved = put_channel(
        &engine,
        "wecom",
        without(fakes.wecom_settings(), "corp_secret"),
    )
    .await;
    assert_eq!(
        moved.body["channels"]["wecom"]["proxy"], "set",
        "{:#}",
        moved.body
    );
    let stored = engine.store.get_settings().await.expect("settings");
    assert_eq!(
        stored.wecom.and_then(|w| w.proxy),
        None,
        "moved out of the document"
    );
    let secret = engine
        .adapters
        .secrets
        .get_secret(herald_core::services::settings::WECOM_PROXY)
        .await
        .expect("secret store")
        .expect("the proxy is a secret now");
    assert_eq!(secrecy::ExposeSecret::expose_secret(&secret), proxy);
}

#[tokio::test]
async fn dingtalk_is_configured_then_tested_and_a_wrong_secret_is_named_with_a_hint() {
    let (fakes, engine) = start().await;
    // Testing before configuring says what to do first.
    let early = test_channel(&engine, "dingtalk", json!({"to": "manager01"})).await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        early.body
    );
    assert!(
        early.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("PUT /v1/settings/channels/dingtalk"),
        "{:#}",
        early.body
    );
    let configured = put_channel(&engine, "dingtalk", fakes.dingtalk_settings()).await;
    assert_eq!(configured.status, StatusCode::OK, "{:#}", configured.body);
    let stored = &settings(&engine).await["channels"]["dingtalk"];
    assert_eq!(stored["app_secret"], "set", "{stored:#}");
    assert!(!stored.to_string().contains("fake-app-secret"));

    let reply = test_channel(&engine, "dingtalk", json!({"to": "manager01"})).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_eq!(reply.body["delivered"], true, "{:#}", reply.body);
    let sent = fakes.dingtalk.messages();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].recipients, ["manager01"]);
    assert_eq!(sent[0].msgtype, "text");

    // DingTalk takes a notice to a user id it does not know and answers ok; its send result
    // names the member, and the test says it reached nobody.
    let typo = test_channel(&engine, "dingtalk", json!({"to": "manager0l"})).await;
    assert_eq!(typo.status, StatusCode::OK, "{:#}", typo.body);
    assert_eq!(typo.body["delivered"], false, "{:#}", typo.body);
    assert_eq!(typo.body["error"]["class"], "recipient", "{:#}", typo.body);
    assert!(
        typo.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("manager0l"),
        "{:#}",
        typo.body
    );

    // A wrong AppSecret: DingTalk's 40096, a settings error with what to check.
    let wrong = with(
        fakes.dingtalk_settings(),
        "app_secret",
        json!("not-the-secret"),
    );
    assert_eq!(
        put_channel(&engine, "dingtalk", wrong).await.status,
        StatusCode::OK
    );
    let reply = test_channel(&engine, "dingtalk", json!({"to": "manager01"})).await;
    assert_eq!(reply.body["delivered"], false, "{:#}", reply.body);
    assert_eq!(reply.body["error"]["class"], "config");
    assert_eq!(reply.body["error"]["code"], 40096);
    assert!(
        reply.body["error"]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("AppSecret"),
        "{:#}",
        reply.body
    );

    // Bad fields are named.
    let bad = with(fakes.dingtalk_settings(), "agent_id", json!(0));
    assert_invalid(
        &put_channel(&engine, "dingtalk", bad).await,
        "agent_id",
        "AgentId",
    );
    let bad = test_channel(&engine, "dingtalk", json!({"to": "a b"})).await;
    assert_invalid(&bad, "to", "letters");
}
