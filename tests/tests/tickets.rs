//! The ticket webhook end to end: signed events through the real Router, ticket service, store and
//! delivery worker (in-memory SQLite, manual clock) to fake WeCom, Feishu and SMTP.
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use herald_fakes::{Endpoint, Fault, FaultRule, FeishuConfig, WecomConfig};
use herald_tests::ADMIN_TOKEN;
use herald_tests::http::{Reply, call};
use herald_tests::providers::{Engine, FakeProviders, configure};
use hmac::{KeyInit, Mac};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use tower::ServiceExt;

const NOW: &str = "2026-11-23T02:00:30Z";
const SOURCE: &str = "sqle";
const SECRET: &str = "ticket-signing-secret-1";
const RECORDS: &str = "/v1/projects/payments/records";

// ---------------------------------------------------------------------------------------- helpers

fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn now_secs(engine: &Engine) -> i64 {
    use herald_core::clock::Clock;
    engine.clock.now().timestamp()
}

/// Posts `body` to the webhook with the given headers (`None` leaves a header out).
async fn post_with(
    engine: &Engine,
    source: &str,
    body: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
) -> Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/webhooks/tickets/{source}"))
        .header("content-type", "application/json");
    if let Some(t) = timestamp {
        request = request.header("x-herald-timestamp", t);
    }
    if let Some(s) = signature {
        request = request.header("x-herald-signature", s);
    }
    let response = engine
        .router
        .clone()
        .oneshot(request.body(Body::from(body.to_vec())).expect("request"))
        .await
        .expect("router is infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, body }
}

/// Posts an event signed now with the source's secret.
async fn post(engine: &Engine, event: &Value) -> Reply {
    let body = serde_json::to_vec(event).expect("json");
    let ts = now_secs(engine).to_string();
    post_with(
        engine,
        SOURCE,
        &body,
        Some(&ts),
        Some(&sign(SECRET, &ts, &body)),
    )
    .await
}

async fn admin(engine: &Engine, method: Method, uri: &str, body: &Value) -> Reply {
    call(&engine.router, method, uri, Some(ADMIN_TOKEN), body).await
}

fn event(id: &str, status: &str) -> Value {
    json!({
        "event_id": id,
        "occurred_at": "2026-11-23T10:00:00+08:00",
        "ticket": {"id": "1042", "title": "Add index on orders", "project": "payments",
                   "creator": "wang", "url": null},
        "status": status,
        "reviewers": ["t1", "t2"], "executors": ["admin"], "actor": "lead",
        "reason": "the index already exists"
    })
}

/// wang (creator, English) and admin (executor, English) are reachable everywhere; t1 (reviewer,
/// Chinese) too; t2 (reviewer, Chinese) has only an e-mail address (Feishu finds them by it).
const PEOPLE: [(&str, &str, bool); 4] = [
    ("wang", "en", true),
    ("admin", "en", true),
    ("t1", "zh", true),
    ("t2", "zh", false),
];

async fn fakes() -> FakeProviders {
    FakeProviders::start(
        WecomConfig::default().with_users(["wang", "admin", "t1"]),
        FeishuConfig::default().open_directory(),
    )
    .await
}

/// The engine with every channel on, the source's secret, the contacts and a URL prefix.
async fn engine(fakes: &FakeProviders) -> Engine {
    let engine = Engine::new(NOW, fakes.config());
    engine.configure_all(fakes).await;
    let reply = admin(
        &engine,
        Method::PUT,
        &format!("/v1/settings/webhook-sources/{SOURCE}"),
        &json!({"secret": SECRET}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:#}", reply.body);
    for (id, language, everywhere) in PEOPLE {
        let mut body = json!({"name": format!("{id} name"), "email": format!("{id}@example.com"), "language": language});
        if everywhere {
            body["wecom_user"] = json!(id);
            body["feishu_open_id"] = json!(format!("ou_{id}"));
        }
        let reply = admin(&engine, Method::PUT, &format!("/v1/contacts/{id}"), &body).await;
        assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    }
    let reply = admin(
        &engine,
        Method::PUT,
        "/v1/settings",
        &json!({"url_prefix": "https://herald.example.com/"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    engine
}

async fn drain(engine: &Engine) {
    for _ in 0..10 {
        if engine.worker.run_due(500).await.expect("run due") == 0 {
            return;
        }
    }
}

/// Who got what, per channel: WeCom user ids, Feishu receive ids, mail recipients.
#[derive(Debug, Default, PartialEq, Eq)]
struct Heard {
    wecom: BTreeSet<String>,
    feishu: BTreeSet<String>,
    mail: BTreeSet<String>,
}

fn heard(fakes: &FakeProviders) -> Heard {
    let app = |m: &herald_fakes::AcceptedMessage| m.endpoint == Endpoint::WecomSend;
    Heard {
        wecom: fakes
            .wecom
            .delivered()
            .iter()
            .filter(|m| app(m))
            .flat_map(|m| m.recipients.clone())
            .collect(),
        feishu: fakes
            .feishu
            .delivered()
            .iter()
            .filter(|m| m.endpoint == Endpoint::FeishuSend)
            .flat_map(|m| m.recipients.clone())
            .collect(),
        mail: fakes
            .smtp
            .messages()
            .iter()
            .flat_map(|m| m.to.clone())
            .collect(),
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn mails(people: &[&str]) -> BTreeSet<String> {
    people.iter().map(|p| format!("{p}@example.com")).collect()
}

fn reset(fakes: &FakeProviders) {
    fakes.wecom.reset_records();
    fakes.feishu.reset_records();
}

async fn logs(engine: &Engine, record: &str) -> Vec<String> {
    let reply = admin(
        engine,
        Method::GET,
        &format!("{RECORDS}/{record}/logs"),
        &Value::Null,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    reply.body["items"]
        .as_array()
        .expect("log lines")
        .iter()
        .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn record_of(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:#}", reply.body);
    reply.body["record"].as_str().expect("record id").to_owned()
}

/// The texts WeCom received, each as JSON text.
fn wecom_texts(fakes: &FakeProviders) -> Vec<(Vec<String>, String)> {
    fakes
        .wecom
        .delivered()
        .iter()
        .filter(|m| m.endpoint == Endpoint::WecomSend)
        .map(|m| (m.recipients.clone(), m.body.to_string()))
        .collect()
}

// ------------------------------------------------------------------------------ authentication

#[tokio::test]
async fn a_wrong_signature_is_refused_with_401_and_nothing_is_recorded() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let body = serde_json::to_vec(&event("evt-1", "pending_review")).expect("json");
    let ts = now_secs(&engine).to_string();

    for (timestamp, signature) in [
        (
            Some(ts.as_str()),
            Some(sign("another-secret-0000", &ts, &body)),
        ),
        (Some(ts.as_str()), Some(sign(SECRET, &ts, b"{}"))),
        (Some(ts.as_str()), Some("sha256=zz".to_owned())),
        (
            Some(ts.as_str()),
            Some(sign(SECRET, &ts, &body).replace("sha256=", "sha1=")),
        ),
        (Some(ts.as_str()), None),
        (None, Some(sign(SECRET, &ts, &body))),
        (Some("soon"), Some(sign(SECRET, "soon", &body))),
    ] {
        let reply = post_with(&engine, SOURCE, &body, timestamp, signature.as_deref()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{:#}", reply.body);
        assert_eq!(reply.code(), Some("unauthenticated"));
    }
    drain(&engine).await;
    assert_eq!(heard(&fakes), Heard::default());
    let list = admin(&engine, Method::GET, RECORDS, &Value::Null).await;
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn a_stale_or_future_timestamp_is_refused_with_401() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let body = serde_json::to_vec(&event("evt-1", "pending_review")).expect("json");
    let now = now_secs(&engine);

    for offset in [-301, 301, -86_400] {
        let ts = (now + offset).to_string();
        let reply = post_with(
            &engine,
            SOURCE,
            &body,
            Some(&ts),
            Some(&sign(SECRET, &ts, &body)),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "offset {offset}: {:#}",
            reply.body
        );
    }
    // Within five minutes either way is fine.
    let ts = (now - 299).to_string();
    let reply = post_with(
        &engine,
        SOURCE,
        &body,
        Some(&ts),
        Some(&sign(SECRET, &ts, &body)),
    )
    .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{:#}", reply.body);
}

#[tokio::test]
async fn an_unknown_source_is_refused_with_401_like_a_wrong_signature() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let body = serde_json::to_vec(&event("evt-1", "pending_review")).expect("json");
    let ts = now_secs(&engine).to_string();
    let signature = sign(SECRET, &ts, &body);

    let unknown = post_with(&engine, "jira", &body, Some(&ts), Some(&signature)).await;
    let impossible = post_with(&engine, "no%20such", &body, Some(&ts), Some(&signature)).await;
    let wrong = post_with(
        &engine,
        SOURCE,
        &body,
        Some(&ts),
        Some(&sign("x", &ts, &body)),
    )
    .await;

    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(impossible.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.body, wrong.body,
        "the answer does not tell which check failed"
    );
}

#[tokio::test]
async fn a_replayed_event_id_answers_duplicate_and_nothing_is_sent_twice() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let first = post(&engine, &event("evt-1", "pending_review")).await;
    record_of(&first);
    drain(&engine).await;
    let once = heard(&fakes);
    let mails_once = fakes.smtp.messages().len();

    // The same event again, later and signed anew; even with a changed body.
    engine.clock.advance(chrono::Duration::days(8));
    let again = post(&engine, &event("evt-1", "pending_review")).await;
    let changed = post(&engine, &event("evt-1", "executed")).await;
    drain(&engine).await;

    for reply in [&again, &changed] {
        assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
        assert_eq!(reply.body, json!({"duplicate": true}));
    }
    // Both reviewers read Chinese: one WeCom call.
    assert_eq!(fakes.wecom.stats().calls_to(Endpoint::WecomSend), 1);
    assert_eq!(heard(&fakes), once);
    assert_eq!(fakes.smtp.messages().len(), mails_once);
    let list = admin(
        &engine,
        Method::GET,
        &format!("{RECORDS}?kind=ticket"),
        &Value::Null,
    )
    .await;
    assert_eq!(list.body["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_body_over_256_kib_is_refused_with_413() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let mut big = event("evt-1", "pending_review");
    big["reason"] = json!("x".repeat(300 * 1024));
    let reply = post(&engine, &big).await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{:#}",
        reply.body
    );
    assert_eq!(reply.code(), Some("too_large"));
}

#[tokio::test]
async fn a_bad_event_is_refused_with_400_naming_the_field() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"event_id": ""}), "event_id"),
        (json!({"event_id": "e".repeat(129)}), "event_id"),
        (json!({"occurred_at": "yesterday"}), "occurred_at"),
        (json!({"status": "done"}), "status"),
        (
            json!({"ticket": {"id": "1", "title": "t".repeat(201), "project": "payments", "creator": "wang"}}),
            "ticket.title",
        ),
        (
            json!({"ticket": {"id": "1", "title": "t", "project": "no such", "creator": "wang"}}),
            "ticket.project",
        ),
        (
            json!({"ticket": {"id": "1", "title": "t", "project": "payments", "creator": "wang", "url": "/relative"}}),
            "ticket.url",
        ),
        (json!({"reviewers": ["t1", "bad id"]}), "reviewers[1]"),
        (json!({"extra": 1}), "extra"),
    ];
    for (change, field) in cases {
        let mut body = event("evt-bad", "pending_review");
        for (k, v) in change.as_object().expect("object") {
            body[k] = v.clone();
        }
        let reply = post(&engine, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {:#}",
            reply.body
        );
        assert!(
            reply
                .field()
                .is_some_and(|f| f.starts_with(field) || field == "extra"),
            "{field}: {:#}",
            reply.body
        );
    }
}

// ------------------------------------------------------------------------------ who hears

#[tokio::test]
async fn each_status_reaches_exactly_the_right_people_on_each_enabled_channel() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    // Everyone reachable on WeCom and Feishu by open id; t2 only by e-mail (Feishu looks them up).
    let wecom = |people: &[&str]| {
        set(&people
            .iter()
            .copied()
            .filter(|p| *p != "t2")
            .collect::<Vec<_>>())
    };
    let feishu = |people: &[&str]| -> BTreeSet<String> {
        people
            .iter()
            .map(|p| match *p {
                "t2" => FeishuConfig::open_user("t2@example.com").open_id,
                p => format!("ou_{p}"),
            })
            .collect()
    };
    let cases: [(&str, &[&str]); 6] = [
        ("pending_review", &["t1", "t2"]),
        ("pending_execution", &["admin"]),
        ("executed", &["wang"]),
        ("execution_failed", &["wang", "admin"]),
        ("rejected", &["wang"]),
        ("cancelled", &["t1", "t2", "admin"]),
    ];
    for (i, (status, people)) in cases.into_iter().enumerate() {
        reset(&fakes);
        let mail_before = fakes.smtp.messages().len();
        let reply = post(&engine, &event(&format!("evt-{i}"), status)).await;
        record_of(&reply);
        drain(&engine).await;

        let got = heard(&fakes);
        assert_eq!(got.wecom, wecom(people), "{status} on WeCom");
        assert_eq!(got.feishu, feishu(people), "{status} on Feishu");
        let new_mail: BTreeSet<String> = fakes.smtp.messages()[mail_before..]
            .iter()
            .flat_map(|m| m.to.clone())
            .collect();
        assert_eq!(new_mail, mails(people), "{status} by mail");
        assert_eq!(
            reply.body["deliveries"],
            json!(fakes.wecom.stats().calls_to(Endpoint::WecomSend) as usize + people.len() * 2),
            "{status}: {:#}",
            reply.body
        );
    }
}

#[tokio::test]
async fn a_disabled_channel_sends_nothing_while_the_others_send() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let mut feishu = fakes.feishu_settings();
    feishu["enabled"] = json!(false);
    configure(&engine.router, "feishu", &feishu).await;

    let reply = post(&engine, &event("evt-1", "execution_failed")).await;
    record_of(&reply);
    drain(&engine).await;

    let got = heard(&fakes);
    assert!(got.feishu.is_empty(), "{got:?}");
    assert!(fakes.feishu.messages().is_empty());
    assert_eq!(got.wecom, set(&["wang", "admin"]));
    assert_eq!(got.mail, mails(&["wang", "admin"]));
}

#[tokio::test]
async fn one_provider_failing_does_not_stop_the_others() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    fakes
        .wecom
        .inject(FaultRule::always(Fault::UntrustedIp).on(Endpoint::WecomSend));

    let record = record_of(&post(&engine, &event("evt-1", "rejected")).await);
    drain(&engine).await;

    let got = heard(&fakes);
    assert!(got.wecom.is_empty());
    assert_eq!(got.feishu, set(&["ou_wang"]));
    assert_eq!(got.mail, mails(&["wang"]));
    let detail = admin(
        &engine,
        Method::GET,
        &format!("{RECORDS}/{record}"),
        &Value::Null,
    )
    .await;
    assert_eq!(
        detail.body["outcome"], "partially_delivered",
        "{:#}",
        detail.body
    );
    let wecom = detail.body["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .find(|d| d["provider"] == "wecom_app")
        .expect("a WeCom delivery")
        .clone();
    assert_eq!(wecom["status"], "dead", "{wecom:#}");
    assert_eq!(wecom["history"][0]["code"], 60020, "{wecom:#}");
}

#[tokio::test]
async fn a_contact_without_a_wecom_id_still_gets_mail_and_is_logged() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    // t2 has only an e-mail address; ghost is no contact at all.
    let mut body = event("evt-1", "pending_review");
    body["reviewers"] = json!(["t2", "ghost"]);

    let record = record_of(&post(&engine, &body).await);
    drain(&engine).await;

    let got = heard(&fakes);
    assert!(got.wecom.is_empty(), "{got:?}");
    assert_eq!(got.mail, mails(&["t2"]));
    let lines = logs(&engine, &record).await;
    for expected in [
        "contact not reached: t2: no WeCom identity",
        "contact not reached: ghost: no such contact",
    ] {
        assert!(
            lines.iter().any(|l| l == expected),
            "{expected}: {lines:#?}"
        );
    }
}

// ------------------------------------------------------------------------------ messages

#[tokio::test]
async fn a_script_ticket_title_arrives_escaped_in_the_html_mail() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let mut body = event("evt-1", "rejected");
    body["ticket"]["title"] = json!("<script>alert(1)</script> & drop");
    body["reason"] = json!("<img src=x onerror=alert(2)>");

    record_of(&post(&engine, &body).await);
    drain(&engine).await;

    let mail = fakes.smtp.messages();
    assert_eq!(mail.len(), 1);
    // Undo quoted-printable's soft breaks and '=' (the only escapes ASCII HTML gets).
    let data = mail[0].data.replace("=\r\n", "").replace("=3D", "=");
    let html = data
        .split("Content-Type: text/html")
        .nth(1)
        .expect("an HTML part");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; drop"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("<img"), "{html}");
}

#[tokio::test]
async fn messages_are_in_chinese_or_english_by_the_contacts_language() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    // t1 reads Chinese, admin English.
    let mut body = event("evt-1", "cancelled");
    body["reviewers"] = json!(["t1"]);

    record_of(&post(&engine, &body).await);
    drain(&engine).await;

    let texts = wecom_texts(&fakes);
    assert_eq!(texts.len(), 2, "one WeCom message per language: {texts:#?}");
    let for_user = |user: &str| {
        texts
            .iter()
            .find(|(to, _)| to.iter().any(|u| u == user))
            .map(|(_, text)| text.clone())
            .expect("a message")
    };
    let zh = for_user("t1");
    let en = for_user("admin");
    assert!(
        zh.contains("工单已关闭") && zh.contains("项目：payments"),
        "{zh}"
    );
    assert!(zh.contains("2026-11-23 10:00 (Asia/Shanghai)"), "{zh}");
    assert!(zh.contains("操作人：lead"), "{zh}");
    assert!(
        en.contains("Ticket cancelled") && en.contains("Project: payments"),
        "{en}"
    );
    assert!(en.contains("2026-11-23 02:00 (UTC)"), "{en}");
    assert!(
        !en.contains("Reason"),
        "no reason on a cancelled ticket: {en}"
    );
    assert!(
        en.contains("https://herald.example.com/projects/payments/tickets/1042"),
        "{en}"
    );
}

#[tokio::test]
async fn without_a_url_prefix_messages_have_no_link_and_the_record_says_so() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let reply = admin(
        &engine,
        Method::PUT,
        "/v1/settings",
        &json!({"url_prefix": null}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);

    let record = record_of(&post(&engine, &event("evt-1", "executed")).await);
    drain(&engine).await;

    let (_, text) = wecom_texts(&fakes).pop().expect("a WeCom message");
    assert!(!text.contains("/projects/"), "{text}");
    assert!(!text.contains("Open the ticket"), "{text}");
    let lines = logs(&engine, &record).await;
    assert!(
        lines
            .iter()
            .any(|l| l == "no link: url_prefix is not configured"),
        "{lines:#?}"
    );

    // The ticket's own URL needs no prefix.
    let mut own = event("evt-2", "executed");
    own["ticket"]["url"] = json!("https://sqle.example.com/workflows/1042");
    let record = record_of(&post(&engine, &own).await);
    drain(&engine).await;
    let (_, text) = wecom_texts(&fakes).pop().expect("a WeCom message");
    assert!(
        text.contains("https://sqle.example.com/workflows/1042"),
        "{text}"
    );
    assert!(
        !logs(&engine, &record)
            .await
            .iter()
            .any(|l| l.starts_with("no link"))
    );
}

// ------------------------------------------------------------------------------ records

#[tokio::test]
async fn the_event_is_recorded_under_the_tickets_project_with_kind_ticket() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let first = record_of(&post(&engine, &event("evt-1", "pending_review")).await);
    engine.clock.advance(chrono::Duration::seconds(1));
    let second = record_of(&post(&engine, &event("evt-2", "pending_execution")).await);
    drain(&engine).await;

    let list = admin(
        &engine,
        Method::GET,
        &format!("{RECORDS}?kind=ticket"),
        &Value::Null,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK, "{:#}", list.body);
    let items = list.body["items"].as_array().expect("items").clone();
    let ids: Vec<&str> = items.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, vec![second.as_str(), first.as_str()], "newest first");
    // The list names the ticket, not a task, and has no chart counters (API.md).
    for (item, (event, status)) in items
        .iter()
        .zip([("evt-2", "pending_execution"), ("evt-1", "pending_review")])
    {
        assert_eq!(item["kind"], "ticket");
        let ticket = &item["ticket"];
        assert_eq!(
            (&ticket["source"], &ticket["id"], &ticket["title"]),
            (
                &json!("sqle"),
                &json!("1042"),
                &json!("Add index on orders")
            ),
            "{item:#}"
        );
        assert_eq!(
            (&ticket["status"], &ticket["event_id"]),
            (&json!(status), &json!(event))
        );
        for task_field in [
            "task",
            "task_name",
            "charts_ok",
            "charts_empty",
            "charts_unreadable",
        ] {
            assert!(item.get(task_field).is_none(), "{task_field} in {item:#}");
        }
    }

    let detail = admin(
        &engine,
        Method::GET,
        &format!("{RECORDS}/{first}"),
        &Value::Null,
    )
    .await;
    assert_eq!(detail.body["outcome"], "delivered", "{:#}", detail.body);
    assert_eq!(detail.body["scheduled_for"], "2026-11-23T02:00:00Z");
    assert_eq!(
        detail.body["ticket"],
        json!({"source": "sqle", "id": "1042", "title": "Add index on orders", "project": "payments",
               "status": "pending_review", "event_id": "evt-1", "actor": "lead",
               "reason": "the index already exists", "url": null})
    );
    let deliveries = detail.body["deliveries"].as_array().expect("deliveries");
    assert!(
        deliveries.iter().all(|d| d["status"] == "delivered"),
        "{deliveries:#?}"
    );
    let providers: BTreeSet<&str> = deliveries
        .iter()
        .filter_map(|d| d["provider"].as_str())
        .collect();
    assert_eq!(providers, BTreeSet::from(["wecom_app", "feishu", "smtp"]));

    let other = admin(
        &engine,
        Method::GET,
        "/v1/projects/other/records?kind=ticket",
        &Value::Null,
    )
    .await;
    assert_eq!(other.body["items"], json!([]));
}

#[tokio::test]
async fn a_ticket_record_names_contacts_without_their_addresses_to_project_members() {
    let fakes = fakes().await;
    let engine = engine(&fakes).await;
    let record = record_of(&post(&engine, &event("evt-1", "pending_review")).await);
    drain(&engine).await;
    let detail = format!("{RECORDS}/{record}");
    let logs = format!("{detail}/logs");
    // The reviewers' mail went to their addresses and Feishu to an open id and an address:
    // identities only an admin, who may read the directory, is shown.
    let identities = ["t1@example.com", "t2@example.com", "ou_t1"];
    let admin_view = admin(&engine, Method::GET, &detail, &Value::Null).await;
    let admin_text = admin_view.body.to_string();
    for identity in identities {
        assert!(admin_text.contains(identity), "{identity}: {admin_text}");
    }
    for role in ["editor", "viewer"] {
        let (_, key) = herald_tests::http::new_key(&engine.router, role, "payments").await;
        for uri in [&detail, &logs] {
            let reply = call(&engine.router, Method::GET, uri, Some(&key), &Value::Null).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{role} {uri}: {:#}",
                reply.body
            );
            let text = reply.body.to_string();
            for identity in identities {
                assert!(
                    !text.contains(identity),
                    "{role} {uri} shows {identity}: {text}"
                );
            }
        }
        let shown = call(
            &engine.router,
            Method::GET,
            &detail,
            Some(&key),
            &Value::Null,
        )
        .await;
        assert!(
            shown.body.to_string().contains("t2 name (contact t2)"),
            "{role}: {:#}",
            shown.body
        );
    }
}

/// A secret store that counts its reads.
struct CountingSecrets {
    inner: std::sync::Arc<dyn herald_core::ports::SecretStore>,
    reads: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl herald_core::ports::SecretStore for CountingSecrets {
    async fn get_secret(
        &self,
        name: &str,
    ) -> Result<Option<secrecy::SecretString>, herald_core::ports::SecretError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get_secret(name).await
    }
    async fn put_secret(
        &self,
        name: &str,
        value: &secrecy::SecretString,
    ) -> Result<(), herald_core::ports::SecretError> {
        self.inner.put_secret(name, value).await
    }
}

#[tokio::test]
async fn a_made_up_source_costs_no_secret_store_read() {
    // (Each read is a billed Secrets Manager call on AWS, and a cache entry.)
    let clock = std::sync::Arc::new(herald_core::clock::ManualClock::new(
        NOW.parse().expect("now"),
    ));
    let db = herald_embedded::Db::in_memory().expect("db");
    let store = std::sync::Arc::new(herald_embedded::SqliteStore::new(db.clone()));
    let scheduler = std::sync::Arc::new(herald_embedded::LocalScheduler::new(db, clock.clone()));
    let mut adapters = herald_tests::adapters_over(store, scheduler, clock.clone());
    let secrets = std::sync::Arc::new(CountingSecrets {
        inner: adapters.secrets.clone(),
        reads: Default::default(),
    });
    adapters.secrets = secrets.clone();
    let (router, _) = herald_tests::app_with(adapters, herald_tests::unreachable_providers());
    let body = serde_json::to_vec(&event("evt-1", "pending_review")).expect("json");
    let ts = clock_secs(&clock);
    for source in ["made-up-1", "made-up-2", "made-up-3"] {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/webhooks/tickets/{source}"))
            .header("content-type", "application/json")
            .header("x-herald-timestamp", &ts)
            .header("x-herald-signature", sign(SECRET, &ts, &body))
            .body(Body::from(body.clone()))
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let sqle = Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/webhooks/sqle/{source}"))
            .header("content-type", "application/json")
            .header("authorization", "Bearer guess")
            .body(Body::from("{}"))
            .expect("request");
        let response = router.clone().oneshot(sqle).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(secrets.reads.load(std::sync::atomic::Ordering::SeqCst), 0);
}

fn clock_secs(clock: &herald_core::clock::ManualClock) -> String {
    use herald_core::clock::Clock;
    clock.now().timestamp().to_string()
}
