//! SQLE's own webhook end to end: the body SQLE posts (tests/fixtures/sqle/workflow_create.json, the
//! shape of `webHookRequestBody` in SQLE's `sqle/notification/webhook.go`) through the real Router,
//! routing rules, ticket service, store and delivery worker to fake WeCom, Feishu and SMTP, compared
//! with the same event in Herald's native signed format.
use axum::http::{Method, StatusCode};
use herald_fakes::{Endpoint, FeishuConfig, WecomConfig};
use herald_tests::ADMIN_TOKEN;
use herald_tests::http::{Reply, call, call_raw};
use herald_tests::providers::{DINGTALK_ROBOT_SECRET, DINGTALK_ROBOT_TOKEN, Engine, FakeProviders};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const NOW: &str = "2026-11-23T02:00:30Z";
const SOURCE: &str = "sqle";
const TOKEN: &str = "sqle-webhook-token-0001";
const SECRET: &str = "ticket-signing-secret-1";
const FIXTURE: &str = include_str!("../fixtures/sqle/workflow_create.json");
const RECORDS: &str = "/v1/projects/test_project/records";

/// wang (creator, English), admin (executor, English), t1 (reviewer, Chinese) reachable everywhere;
/// t2 (reviewer, Chinese) only by e-mail.
const PEOPLE: [(&str, &str, bool); 4] = [
    ("wang", "en", true),
    ("admin", "en", true),
    ("t1", "zh", true),
    ("t2", "zh", false),
];

fn fixture(action: &str) -> Value {
    let mut body: Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    body["action"] = json!(action);
    body
}

async fn admin(engine: &Engine, method: Method, uri: &str, body: &Value) -> Reply {
    call(&engine.router, method, uri, Some(ADMIN_TOKEN), body).await
}

async fn post_sqle(engine: &Engine, source: &str, token: Option<&str>, body: &Value) -> Reply {
    let bytes = serde_json::to_vec(body).expect("json");
    call_raw(
        &engine.router,
        Method::POST,
        &format!("/v1/webhooks/sqle/{source}"),
        token,
        bytes,
    )
    .await
}

async fn post_native(engine: &Engine, event: &Value) -> Reply {
    use herald_core::clock::Clock;
    let body = serde_json::to_vec(event).expect("json");
    let ts = engine.clock.now().timestamp().to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/webhooks/tickets/{SOURCE}"))
        .header("content-type", "application/json")
        .header("x-herald-timestamp", ts)
        .header("x-herald-signature", signature)
        .body(axum::body::Body::from(body))
        .expect("request");
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = engine
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("router is infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// The native event SQLE's `action` on the fixture stands for.
fn native(status: &str, event_id: &str) -> Value {
    json!({
        "event_id": event_id,
        "occurred_at": "2026-11-23T10:00:00+08:00",
        "ticket": {"id": "1658637666259832832", "title": "test_workflow",
                   "project": "test_project", "creator": "wang"},
        "status": status,
        "reviewers": ["t1", "t2"], "executors": ["admin"]
    })
}

fn rules() -> Value {
    json!({"token": TOKEN, "routes": [
        {"project_name": "test_project", "creator": "wang",
         "reviewers": ["t1", "t2"], "executors": ["admin"]}
    ]})
}

async fn fakes() -> FakeProviders {
    FakeProviders::start(
        WecomConfig::default().with_users(["wang", "admin", "t1"]),
        FeishuConfig::default().open_directory(),
    )
    .await
}

/// Every channel on, the contacts, a URL prefix, the native source's secret and the SQLE source.
async fn engine(fakes: &FakeProviders) -> Engine {
    let engine = Engine::new(NOW, fakes.config());
    engine.configure_all(fakes).await;
    let ok =
        |reply: Reply, status: StatusCode| assert_eq!(reply.status, status, "{:#}", reply.body);
    ok(
        admin(
            &engine,
            Method::PUT,
            &format!("/v1/settings/webhook-sources/{SOURCE}"),
            &json!({"secret": SECRET}),
        )
        .await,
        StatusCode::NO_CONTENT,
    );
    ok(
        admin(
            &engine,
            Method::PUT,
            &format!("/v1/settings/webhook-sources/{SOURCE}/sqle"),
            &rules(),
        )
        .await,
        StatusCode::OK,
    );
    for (id, language, everywhere) in PEOPLE {
        let mut body = json!({"name": format!("{id} name"), "email": format!("{id}@example.com"), "language": language});
        if everywhere {
            body["wecom_user"] = json!(id);
            body["feishu_open_id"] = json!(format!("ou_{id}"));
        }
        ok(
            admin(&engine, Method::PUT, &format!("/v1/contacts/{id}"), &body).await,
            StatusCode::OK,
        );
    }
    ok(
        admin(
            &engine,
            Method::PUT,
            "/v1/settings",
            &json!({"url_prefix": "https://herald.example.com/"}),
        )
        .await,
        StatusCode::OK,
    );
    engine
}

async fn drain(engine: &Engine) {
    for _ in 0..10 {
        if engine.worker.run_due(500).await.expect("run due") == 0 {
            return;
        }
    }
}

/// What the providers received, per channel, with per-delivery ids (Feishu's uuid) and mail
/// headers that carry times or ids left out: WeCom (recipients, body), Feishu (recipient, body),
/// mail (recipients, subject).
#[derive(Debug, Default, PartialEq, Eq)]
struct Received {
    wecom: BTreeSet<(Vec<String>, String)>,
    feishu: BTreeSet<(Vec<String>, String)>,
    mail: BTreeSet<(Vec<String>, String)>,
}

fn received(fakes: &FakeProviders) -> Received {
    let body = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("uuid");
        }
        v.to_string()
    };
    Received {
        wecom: fakes
            .wecom
            .delivered()
            .iter()
            .filter(|m| m.endpoint == Endpoint::WecomSend)
            .map(|m| (m.recipients.clone(), body(&m.body)))
            .collect(),
        feishu: fakes
            .feishu
            .delivered()
            .iter()
            .filter(|m| m.endpoint == Endpoint::FeishuSend)
            .map(|m| (m.recipients.clone(), body(&m.body)))
            .collect(),
        mail: fakes
            .smtp
            .messages()
            .iter()
            .map(|m| {
                let subject = m
                    .data
                    .lines()
                    .find(|l| l.starts_with("Subject:"))
                    .unwrap_or_default()
                    .to_owned();
                (m.to.clone(), subject)
            })
            .collect(),
    }
}

async fn ticket_records(engine: &Engine) -> usize {
    let list = admin(
        engine,
        Method::GET,
        &format!("{RECORDS}?kind=ticket"),
        &Value::Null,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK, "{:#}", list.body);
    list.body["items"].as_array().map_or(0, Vec::len)
}

// ------------------------------------------------------------------------------ authentication

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_with_401_and_nothing_is_recorded() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let body = fixture("create");
    for token in [
        Some("sqle-webhook-token-0002"),
        Some(SECRET),
        Some(" "),
        None,
    ] {
        let reply = post_sqle(&engine, SOURCE, token, &body).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{:#}", reply.body);
        assert_eq!(reply.code(), Some("unauthenticated"));
    }
    drain(&engine).await;
    assert_eq!(received(&fakes), Received::default());
    assert_eq!(ticket_records(&engine).await, 0);
}

#[tokio::test]
async fn an_unknown_source_is_refused_with_401_like_a_wrong_token() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let body = fixture("create");
    let unknown = post_sqle(&engine, "other", Some(TOKEN), &body).await;
    let impossible = post_sqle(&engine, "no%20such", Some(TOKEN), &body).await;
    let wrong = post_sqle(&engine, SOURCE, Some("not-the-token-000000"), &body).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(impossible.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.body, wrong.body,
        "the answer does not tell which check failed"
    );
    // The native source's HMAC secret is no SQLE token, and the SQLE token signs nothing natively.
    let native = post_sqle(&engine, SOURCE, Some(SECRET), &body).await;
    assert_eq!(native.status, StatusCode::UNAUTHORIZED);
}

// ------------------------------------------------------------------------------- equivalence

#[tokio::test]
async fn each_sqle_action_notifies_exactly_like_the_equivalent_native_event() {
    // (SQLE action, native status, its headline in Chinese and in English)
    let cases = [
        (
            "create",
            "pending_review",
            "工单待审核",
            "Ticket awaits your review",
        ),
        (
            "approve",
            "pending_execution",
            "工单已审核通过，待执行",
            "Ticket approved, awaits execution",
        ),
        ("reject", "rejected", "工单被驳回", "Ticket rejected"),
        ("exec_success", "executed", "工单已执行", "Ticket executed"),
        (
            "exec_failed",
            "execution_failed",
            "工单执行失败",
            "Ticket execution failed",
        ),
        ("cancel", "cancelled", "工单已关闭", "Ticket cancelled"),
        ("complete", "executed", "工单已执行", "Ticket executed"),
        (
            "auto_exec_success",
            "executed",
            "工单已执行",
            "Ticket executed",
        ),
        (
            "auto_exec_failed",
            "execution_failed",
            "工单执行失败",
            "Ticket execution failed",
        ),
    ];
    for (action, status, zh, en) in cases {
        // Each path on its own providers: WeCom would suppress the second identical text.
        let sqle_fakes = fakes().await;
        let sqle = engine(&sqle_fakes).await;
        let reply = post_sqle(&sqle, SOURCE, Some(TOKEN), &fixture(action)).await;
        assert_eq!(reply.status, StatusCode::OK, "{action}: {:#}", reply.body);
        assert_eq!(reply.body["routed"], json!(true), "{action}");
        assert_eq!(reply.body["duplicate"], json!(false), "{action}");
        let record = reply.body["record"].as_str().expect("record").to_owned();
        drain(&sqle).await;
        let from_sqle = received(&sqle_fakes);

        let native_fakes = fakes().await;
        let native_engine = engine(&native_fakes).await;
        let reply = post_native(&native_engine, &native(status, &format!("native-{action}"))).await;
        assert_eq!(
            reply.status,
            StatusCode::ACCEPTED,
            "{action}: {:#}",
            reply.body
        );
        drain(&native_engine).await;
        let from_native = received(&native_fakes);

        assert_eq!(from_sqle, from_native, "{action}");
        assert!(!from_sqle.mail.is_empty(), "{action}: someone hears");
        let texts: Vec<&String> = from_sqle
            .wecom
            .iter()
            .chain(&from_sqle.feishu)
            .map(|(_, body)| body)
            .collect();
        assert!(
            texts.iter().all(|t| t.contains(zh) || t.contains(en)),
            "{action}: the headline is '{zh}' / '{en}': {texts:?}"
        );
        // The record is the native one: kind ticket, under the SQLE project.
        let run = admin(
            &sqle,
            Method::GET,
            &format!("{RECORDS}/{record}"),
            &Value::Null,
        )
        .await;
        assert_eq!(run.status, StatusCode::OK, "{:#}", run.body);
        assert_eq!(run.body["kind"], json!("ticket"), "{:#}", run.body);
    }
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    // Reviewers hear of a new workflow: t1 (WeCom, Feishu, mail) and t2 (mail, Feishu by e-mail).
    post_sqle(&engine, SOURCE, Some(TOKEN), &fixture("create")).await;
    drain(&engine).await;
    let heard = received(&fakes);
    let mail: BTreeSet<String> = heard.mail.iter().flat_map(|(to, _)| to.clone()).collect();
    assert_eq!(
        mail,
        ["t1@example.com", "t2@example.com"]
            .map(str::to_owned)
            .into()
    );
    let wecom: BTreeSet<String> = heard.wecom.iter().flat_map(|(to, _)| to.clone()).collect();
    assert_eq!(wecom, ["t1".to_owned()].into());
}

// --------------------------------------------------------------------------- dedupe and routing

#[tokio::test]
async fn a_replayed_sqle_payload_is_a_duplicate_and_nothing_is_sent_twice() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let first = post_sqle(&engine, SOURCE, Some(TOKEN), &fixture("approve")).await;
    assert_eq!(first.status, StatusCode::OK, "{:#}", first.body);
    drain(&engine).await;
    let once = received(&fakes);
    let calls = fakes.wecom.stats().calls_to(Endpoint::WecomSend);

    // SQLE retries the same body; later, too.
    engine.clock.advance(chrono::Duration::days(8));
    let again = post_sqle(&engine, SOURCE, Some(TOKEN), &fixture("approve")).await;
    drain(&engine).await;
    assert_eq!(again.status, StatusCode::OK, "{:#}", again.body);
    assert_eq!(
        again.body,
        json!({"routed": true, "duplicate": true, "record": null, "deliveries": 0})
    );
    assert_eq!(received(&fakes), once);
    assert_eq!(fakes.wecom.stats().calls_to(Endpoint::WecomSend), calls);
    assert_eq!(ticket_records(&engine).await, 1);

    // Another action, or the same action at another time, is another event.
    let next = post_sqle(&engine, SOURCE, Some(TOKEN), &fixture("exec_success")).await;
    assert_eq!(next.body["duplicate"], json!(false), "{:#}", next.body);
    assert_eq!(ticket_records(&engine).await, 2);
}

#[tokio::test]
async fn an_unrouted_project_answers_200_with_nothing_recorded_or_sent() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let mut body = fixture("create");
    body["payload"]["workflow"]["project_name"] = json!("其他项目");
    body["payload"]["workflow"]["project_uid"] = json!("42");
    let reply = post_sqle(&engine, SOURCE, Some(TOKEN), &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_eq!(
        reply.body,
        json!({"routed": false, "duplicate": false, "record": null, "deliveries": 0})
    );
    drain(&engine).await;
    assert_eq!(received(&fakes), Received::default());
    assert_eq!(ticket_records(&engine).await, 0);
}

#[tokio::test]
async fn a_rule_by_uid_maps_a_project_whose_name_is_no_herald_id() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let rules = json!({"routes": [
        {"project_uid": "1658637666259832830", "herald_project": "payments", "creator": "wang",
         "reviewers": ["t1"], "executors": ["admin"]}
    ]});
    let reply = admin(
        &engine,
        Method::PUT,
        &format!("/v1/settings/webhook-sources/{SOURCE}/sqle"),
        &rules,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_eq!(
        reply.body["token"],
        json!("set"),
        "the token is kept and never shown"
    );
    let mut body = fixture("reject");
    body["payload"]["workflow"]["project_name"] = json!("支付 项目");
    let reply = post_sqle(&engine, SOURCE, Some(TOKEN), &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    let record = reply.body["record"].as_str().expect("record");
    let run = admin(
        &engine,
        Method::GET,
        &format!("/v1/projects/payments/records/{record}"),
        &Value::Null,
    )
    .await;
    assert_eq!(run.status, StatusCode::OK, "{:#}", run.body);
    drain(&engine).await;
    let mail: BTreeSet<String> = received(&fakes)
        .mail
        .into_iter()
        .flat_map(|(to, _)| to)
        .collect();
    assert_eq!(mail, ["wang@example.com".to_owned()].into());
}

// ------------------------------------------------------------------------------ validation

#[tokio::test]
async fn a_bad_sqle_body_is_refused_with_400_naming_the_field_and_a_big_one_with_413() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/event", json!("audit_plan"), "event"),
        ("/action", json!("done"), "action"),
        ("/timestamp", json!("yesterday"), "timestamp"),
        (
            "/payload/workflow/workflow_id",
            json!("a b"),
            "payload.workflow.workflow_id",
        ),
        (
            "/payload/workflow/workflow_subject",
            json!(""),
            "payload.workflow.workflow_subject",
        ),
        (
            "/payload/workflow/workflow_id",
            json!(17),
            "payload.workflow.workflow_id",
        ),
    ];
    for (pointer, value, field) in cases {
        let mut body = fixture("create");
        *body.pointer_mut(pointer).expect("pointer") = value;
        let reply = post_sqle(&engine, SOURCE, Some(TOKEN), &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {:#}",
            reply.body
        );
        assert_eq!(reply.field(), Some(field), "{:#}", reply.body);
    }
    let mut body = fixture("create");
    body["payload"]["workflow"]
        .as_object_mut()
        .expect("workflow")
        .remove("workflow_id");
    let reply = post_sqle(&engine, SOURCE, Some(TOKEN), &body).await;
    assert_eq!(
        reply.field(),
        Some("payload.workflow.workflow_id"),
        "{:#}",
        reply.body
    );

    let mut big = fixture("create");
    big["payload"]["workflow"]["workflow_desc"] = json!("x".repeat(300 * 1024));
    let reply = post_sqle(&engine, SOURCE, Some(TOKEN), &big).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:#}",
        reply.body
    );
    assert_eq!(ticket_records(&engine).await, 0);
}

#[tokio::test]
async fn sqle_source_settings_are_validated_admin_only_and_write_only() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let uri = "/v1/settings/webhook-sources/fresh/sqle";
    let route = json!({"project_name": "payments", "creator": "wang"});
    let cases: Vec<(Value, &str)> = vec![
        (json!({"routes": [route]}), "token"),
        (json!({"token": "short", "routes": []}), "token"),
        (
            json!({"token": TOKEN, "routes": [{"creator": "wang"}]}),
            "routes[0]",
        ),
        (
            json!({"token": TOKEN, "routes": [{"project_name": "支付", "creator": "wang"}]}),
            "routes[0].herald_project",
        ),
        (
            json!({"token": TOKEN, "routes": [{"project_name": "p", "creator": "bad id"}]}),
            "routes[0].creator",
        ),
        (
            json!({"token": TOKEN, "routes": [{"project_name": "p", "creator": "w", "reviewers": ["ok", "no way"]}]}),
            "routes[0].reviewers[1]",
        ),
        (
            json!({"token": TOKEN, "routes": [route, route]}),
            "routes[1].project_name",
        ),
        (json!({"token": TOKEN, "routes": [], "extra": 1}), "extra"),
    ];
    for (body, field) in cases {
        let reply = admin(&engine, Method::PUT, uri, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {:#}",
            reply.body
        );
        assert_eq!(reply.field(), Some(field), "{:#}", reply.body);
    }
    let missing = admin(&engine, Method::GET, uri, &Value::Null).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let reply = admin(
        &engine,
        Method::PUT,
        uri,
        &json!({"token": TOKEN, "routes": [route]}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    let read = admin(&engine, Method::GET, uri, &Value::Null).await;
    assert_eq!(read.body["token"], json!("set"));
    assert_eq!(read.body["routes"][0]["creator"], json!("wang"));
    assert!(!read.body.to_string().contains(TOKEN));
    let settings = admin(&engine, Method::GET, "/v1/settings", &Value::Null).await;
    assert_eq!(settings.body["sqle_sources"], json!([SOURCE, "fresh"]));
    assert_eq!(settings.body["webhook_sources"], json!([SOURCE]));

    // Not for a project key.
    let key = admin(
        &engine,
        Method::POST,
        "/v1/keys",
        &json!({"project": "payments", "role": "editor"}),
    )
    .await;
    let key = key.body["key"].as_str().expect("key").to_owned();
    let denied = call(
        &engine.router,
        Method::PUT,
        uri,
        Some(&key),
        &json!({"routes": []}),
    )
    .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{:#}", denied.body);
}

// ------------------------------------------------------------------------------ project groups

/// A routing rule may name the project's WeCom group (its robot, write-only) and Feishu chat:
/// each workflow event reaches them besides the people; the rule reads back with the key as
/// `"set"`, and sending it back so keeps the robot.
#[tokio::test]
async fn a_rules_project_groups_hear_about_each_workflow_besides_the_people() {
    const ROBOT: &str = "5c2e7f10-group-robot-key";
    let fakes = FakeProviders::start(
        WecomConfig::default()
            .with_users(["wang", "admin", "t1"])
            .with_robot_key(ROBOT),
        FeishuConfig::default().open_directory().with_chat("oc_dba"),
    )
    .await;
    let engine = engine(&fakes).await;
    let put = |rules: Value| {
        let engine = &engine;
        async move {
            admin(
                engine,
                Method::PUT,
                &format!("/v1/settings/webhook-sources/{SOURCE}/sqle"),
                &rules,
            )
            .await
        }
    };
    let rule = |robot_key: &str| {
        json!({"routes": [
            {"project_name": "test_project", "creator": "wang",
             "reviewers": ["t1"], "executors": ["admin"],
             "wecom_robot": {"name": "DBA 群", "webhook_key": robot_key},
             "feishu_chat": "oc_dba",
             "dingtalk_robot": {"name": "DBA 钉钉群", "access_token": DINGTALK_ROBOT_TOKEN,
                                "secret": DINGTALK_ROBOT_SECRET}}
        ]})
    };
    let saved = put(rule(ROBOT)).await;
    assert_eq!(saved.status, StatusCode::OK, "{:#}", saved.body);
    assert_eq!(
        saved.body["routes"][0]["wecom_robot"],
        json!({"name": "DBA 群", "webhook_key": "set"})
    );
    assert_eq!(
        saved.body["routes"][0]["dingtalk_robot"],
        json!({"name": "DBA 钉钉群", "access_token": "set"})
    );
    for secret in [ROBOT, DINGTALK_ROBOT_TOKEN, DINGTALK_ROBOT_SECRET] {
        assert!(!saved.body.to_string().contains(secret));
    }
    // Sent back as read: the robots stay.
    let again = put(saved.body.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{:#}", again.body);
    // Two rules whose groups share a name keep each its own robot when sent back as read (the
    // other project's rule first: a robot found by name alone would be the wrong one).
    let mut two = rule(ROBOT);
    two["routes"].as_array_mut().expect("routes").insert(
        0,
        json!({"project_name": "other_project", "creator": "wang",
               "wecom_robot": {"name": "DBA 群", "webhook_key": "another-robot-key-2"}}),
    );
    let both = put(two).await;
    assert_eq!(both.status, StatusCode::OK, "{:#}", both.body);
    let round_trip = put(both.body.clone()).await;
    assert_eq!(round_trip.status, StatusCode::OK, "{:#}", round_trip.body);
    let again = put(saved.body.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{:#}", again.body);
    // "set" for a group the rule does not store: a 400 naming the credential's field.
    let mut unknown_wecom = rule("set");
    unknown_wecom["routes"][0]["wecom_robot"]["name"] = json!("别的群");
    let mut unknown_dingtalk = rule(ROBOT);
    unknown_dingtalk["routes"][0]["dingtalk_robot"] =
        json!({"name": "别的群", "access_token": "set"});
    for (rules, field) in [
        (unknown_wecom, "routes[0].wecom_robot.webhook_key"),
        (unknown_dingtalk, "routes[0].dingtalk_robot.access_token"),
    ] {
        let refused = put(rules).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{:#}",
            refused.body
        );
        assert_eq!(refused.body["error"]["field"], field, "{:#}", refused.body);
    }

    let reply = post_sqle(&engine, SOURCE, Some(TOKEN), &fixture("create")).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    drain(&engine).await;

    let robot: Vec<_> = fakes
        .wecom
        .delivered()
        .into_iter()
        .filter(|m| m.endpoint == Endpoint::WecomRobot)
        .collect();
    assert_eq!(robot.len(), 1, "{robot:#?}");
    assert_eq!(robot[0].robot_key.as_deref(), Some(ROBOT));
    assert!(
        robot[0].body.to_string().contains("test_workflow"),
        "{:#}",
        robot[0].body
    );
    let chats: Vec<_> = fakes
        .feishu
        .delivered()
        .into_iter()
        .filter(|m| m.receive_id_type.as_deref() == Some("chat_id"))
        .collect();
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].recipients, vec!["oc_dba".to_owned()]);
    // The reviewer is told as before.
    assert!(
        received(&fakes)
            .wecom
            .iter()
            .any(|(to, _)| to == &vec!["t1".to_owned()])
    );
    let record = reply.body["record"].as_str().expect("record");
    let run = admin(
        &engine,
        Method::GET,
        &format!("{RECORDS}/{record}"),
        &Value::Null,
    )
    .await;
    let to: BTreeSet<String> = run.body["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["to"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        to.contains("group DBA 群")
            && to.contains("chat oc_dba")
            && to.contains("group DBA 钉钉群"),
        "{to:?}"
    );
    // The DingTalk group's signed robot got the workflow (the fake checked the signature).
    let dingtalk: Vec<_> = fakes
        .dingtalk
        .messages()
        .into_iter()
        .filter(|m| m.endpoint == Endpoint::DingtalkRobot)
        .collect();
    assert_eq!(dingtalk.len(), 1, "{dingtalk:#?}");
    assert!(
        dingtalk[0].body.to_string().contains("test_workflow"),
        "{:#}",
        dingtalk[0].body
    );
}
