//! End-to-end tests of the contacts directory API (admin only), over in-memory SQLite.
use axum::http::{Method, StatusCode};
use herald_tests::http::{Reply, call, call_raw};
use herald_tests::{ADMIN_TOKEN, LocalApp};
use serde_json::{Value, json};

const NOW: &str = "2026-11-25T01:00:00Z";

fn contact_uri(user: &str) -> String {
    format!("/v1/contacts/{user}")
}

async fn admin(app: &LocalApp, method: Method, uri: &str, body: Value) -> Reply {
    call(&app.router, method, uri, Some(ADMIN_TOKEN), &body).await
}

async fn put_contact(app: &LocalApp, user: &str, body: Value) -> Reply {
    admin(app, Method::PUT, &contact_uri(user), body).await
}

fn wang() -> Value {
    json!({"name": "王五", "email": "wang@example.com", "wecom_user": "wangwu"})
}

/// Creates a key with `role` in project `payments` and answers its token.
async fn member_key(app: &LocalApp, role: &str) -> String {
    let reply = admin(
        app,
        Method::POST,
        "/v1/keys",
        json!({"role": role, "project": "payments"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:#}", reply.body);
    reply.body["key"].as_str().expect("key").to_owned()
}

fn assert_invalid(reply: &Reply, field: &str) {
    assert_eq!(
        (reply.status, reply.code(), reply.field()),
        (
            StatusCode::BAD_REQUEST,
            Some("invalid_argument"),
            Some(field)
        ),
        "{:#}",
        reply.body
    );
}

#[tokio::test]
async fn an_admin_creates_reads_replaces_and_deletes_a_contact() {
    // Arrange
    let app = LocalApp::new(NOW);

    // Act: create
    let created = put_contact(&app, "wang", wang()).await;

    // Assert: the contact with defaults filled in
    assert_eq!(created.status, StatusCode::OK, "{:#}", created.body);
    assert_eq!(
        created.body,
        json!({
            "id": "wang", "name": "王五", "email": "wang@example.com", "mobile": null,
            "wecom_user": "wangwu", "feishu_open_id": null, "dingtalk_user": null, "language": "zh",
            "updated_at": "2026-11-25T01:00:00Z"
        })
    );
    let read = admin(&app, Method::GET, &contact_uri("wang"), Value::Null).await;
    assert_eq!((read.status, &read.body), (StatusCode::OK, &created.body));

    // Act: replace (fields left out are gone)
    app.clock.advance(chrono::Duration::minutes(5));
    let replaced = put_contact(
        &app,
        "wang",
        json!({"name": "Wang Wu", "mobile": "+8613800000000", "feishu_open_id": "ou_7d8a6e6df7621556", "language": "en"}),
    )
    .await;

    // Assert
    assert_eq!(replaced.status, StatusCode::OK, "{:#}", replaced.body);
    let read = admin(&app, Method::GET, &contact_uri("wang"), Value::Null).await;
    assert_eq!(
        read.body,
        json!({
            "id": "wang", "name": "Wang Wu", "email": null, "mobile": "+8613800000000",
            "wecom_user": null, "feishu_open_id": "ou_7d8a6e6df7621556", "dingtalk_user": null, "language": "en",
            "updated_at": "2026-11-25T01:05:00Z"
        })
    );

    // Act: delete
    let deleted = admin(&app, Method::DELETE, &contact_uri("wang"), Value::Null).await;

    // Assert: gone, and deleting again is 404
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, Value::Null);
    let read = admin(&app, Method::GET, &contact_uri("wang"), Value::Null).await;
    assert_eq!(
        (read.status, read.code()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let again = admin(&app, Method::DELETE, &contact_uri("wang"), Value::Null).await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn an_unknown_contact_is_not_found() {
    let app = LocalApp::new(NOW);
    let reply = admin(&app, Method::GET, &contact_uri("nobody"), Value::Null).await;
    assert_eq!(
        (reply.status, reply.body["error"]["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("contact not found"))
    );
}

#[tokio::test]
async fn each_bad_field_is_named_in_the_error() {
    // Arrange
    let app = LocalApp::new(NOW);
    let with = |key: &str, value: Value| {
        let mut body = wang();
        body[key] = value;
        body
    };
    let cases = [
        ("name", with("name", json!(""))),
        ("name", with("name", json!("名".repeat(101)))),
        ("name", json!({"email": "wang@example.com"})),
        ("email", with("email", json!("not-an-address"))),
        ("mobile", with("mobile", json!("138-0000-0000"))),
        ("mobile", with("mobile", json!("1234"))),
        ("wecom_user", with("wecom_user", json!("wang wu"))),
        ("feishu_open_id", with("feishu_open_id", json!("u_123"))),
        ("language", with("language", json!("fr"))),
        ("nickname", with("nickname", json!("ww"))),
    ];

    for (field, body) in cases {
        // Act
        let reply = put_contact(&app, "wang", body.clone()).await;

        // Assert
        assert_invalid(&reply, field);
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}: {:#}",
            reply.body
        );
    }
    let listed = admin(&app, Method::GET, "/v1/contacts", Value::Null).await;
    assert_eq!(listed.body["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn a_contact_with_no_way_to_reach_them_is_refused() {
    let app = LocalApp::new(NOW);

    let reply = put_contact(&app, "wang", json!({"name": "王五", "email": null})).await;

    assert_invalid(&reply, "email");
    assert_eq!(
        reply.body["error"]["message"],
        "give at least one of email, mobile, wecom_user, feishu_open_id or dingtalk_user"
    );
}

#[tokio::test]
async fn a_bad_contact_id_in_the_path_names_user() {
    let app = LocalApp::new(NOW);
    for method in [Method::PUT, Method::GET, Method::DELETE] {
        let body = if method == Method::PUT {
            wang()
        } else {
            Value::Null
        };
        let reply = admin(&app, method.clone(), "/v1/contacts/wang%20wu", body).await;
        assert_invalid(&reply, "user");
        let reply = admin(&app, method, &contact_uri(&"x".repeat(65)), wang()).await;
        assert_invalid(&reply, "user");
    }
}

#[tokio::test]
async fn broken_json_is_refused_as_body() {
    let app = LocalApp::new(NOW);
    let reply = call_raw(
        &app.router,
        Method::PUT,
        &contact_uri("wang"),
        Some(ADMIN_TOKEN),
        b"{\"name\": ".to_vec(),
    )
    .await;
    assert_invalid(&reply, "body");
}

#[tokio::test]
async fn editors_and_viewers_may_not_read_or_change_contacts() {
    // Arrange
    let app = LocalApp::new(NOW);
    assert_eq!(
        put_contact(&app, "wang", wang()).await.status,
        StatusCode::OK
    );

    for role in ["editor", "viewer"] {
        let token = member_key(&app, role).await;
        let calls = [
            (
                Method::PUT,
                contact_uri("li"),
                json!({"name": "李四", "email": "li@example.com"}),
            ),
            (Method::PUT, contact_uri("li"), json!({"bad": true})),
            (Method::GET, contact_uri("wang"), Value::Null),
            (Method::GET, "/v1/contacts".to_owned(), Value::Null),
            (Method::DELETE, contact_uri("wang"), Value::Null),
        ];
        for (method, uri, body) in calls {
            // Act
            let reply = call(&app.router, method.clone(), &uri, Some(&token), &body).await;

            // Assert
            assert_eq!(
                (reply.status, reply.code()),
                (StatusCode::FORBIDDEN, Some("permission_denied")),
                "{role} {method} {uri}: {:#}",
                reply.body
            );
        }
    }
    let unauthenticated = call(&app.router, Method::GET, "/v1/contacts", None, &Value::Null).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);

    // Assert: nothing changed
    let list = admin(&app, Method::GET, "/v1/contacts", Value::Null).await;
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, ["wang"]);
}

#[tokio::test]
async fn contacts_are_listed_in_id_order_a_page_at_a_time() {
    // Arrange: 7 contacts, created out of order
    let app = LocalApp::new(NOW);
    let ids = ["zhang", "li", "wang", "chen", "zhao", "sun", "qian"];
    for id in ids {
        let body = json!({"name": id, "email": format!("{id}@example.com")});
        assert_eq!(put_contact(&app, id, body).await.status, StatusCode::OK);
    }
    let mut expected: Vec<&str> = ids.to_vec();
    expected.sort_unstable();

    // Act: pages of 3
    let mut seen: Vec<String> = Vec::new();
    let mut uri = "/v1/contacts?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = admin(&app, Method::GET, &uri, Value::Null).await;
        assert_eq!(page.status, StatusCode::OK, "{:#}", page.body);
        pages += 1;
        let items = page.body["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|c| c["id"].as_str().expect("id").to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/v1/contacts?limit=3&cursor={cursor}"),
            None => break,
        }
    }

    // Assert
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
    let all = admin(&app, Method::GET, "/v1/contacts", Value::Null).await;
    assert_eq!(all.body["items"].as_array().map(Vec::len), Some(7));
    assert!(all.body.get("next_cursor").is_none(), "{:#}", all.body);
    // A cursor is a contact id: any id resumes after it, whether or not it names a contact.
    let between = format!("{}-", expected[3]);
    let resumed = admin(
        &app,
        Method::GET,
        &format!("/v1/contacts?limit=2&cursor={between}"),
        Value::Null,
    )
    .await;
    assert_eq!(resumed.status, StatusCode::OK, "{:#}", resumed.body);
    let resumed: Vec<&str> = resumed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(resumed, expected[4..6].to_vec());
}

#[tokio::test]
async fn bad_list_parameters_are_named() {
    let app = LocalApp::new(NOW);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("cursor=!!", "cursor"),
        ("cursor=not%20an%20id", "cursor"),
        ("cursor=", "cursor"),
        ("page=2", "page"),
    ] {
        let reply = admin(
            &app,
            Method::GET,
            &format!("/v1/contacts?{query}"),
            Value::Null,
        )
        .await;
        assert_invalid(&reply, field);
    }
}

#[tokio::test]
async fn a_record_names_contacts_without_their_identities_to_anyone_but_an_admin() {
    let app = LocalApp::new(NOW);
    assert_eq!(
        put_contact(&app, "wang", wang()).await.status,
        StatusCode::OK
    );
    let editor = member_key(&app, "editor").await;
    let viewer = member_key(&app, "viewer").await;
    // An editor may name a contact (by id) as the owner and among the recipients...
    let mut task = herald_tests::sample_task("2026-11-25");
    task["owner"] = json!({"contact": "wang"});
    task["recipients"] = json!({"wecom_users": ["zhangsan"], "contacts": ["wang"]});
    let tasks = "/v1/projects/payments/tasks";
    let created = call(&app.router, Method::POST, tasks, Some(&editor), &task).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let test_uri = format!("{tasks}/{id}/test");
    let test = call(
        &app.router,
        Method::POST,
        &test_uri,
        Some(&editor),
        &Value::Null,
    )
    .await;
    assert!(test.status.is_success(), "{:#}", test.body);
    let manual = format!("{tasks}/{id}/push");
    let push = call(
        &app.router,
        Method::POST,
        &manual,
        Some(&editor),
        &json!({"confirm": true}),
    )
    .await;
    assert_eq!(push.status, StatusCode::ACCEPTED, "{:#}", push.body);

    // ...but reads back a name, never the person's WeCom id or address.
    let hidden = |what: &str, body: &Value| {
        let text = body.to_string();
        assert!(!text.contains("wangwu"), "{what}: {text}");
        assert!(!text.contains("wang@example.com"), "{what}: {text}");
    };
    hidden("test answer", &test.body);
    hidden("push answer", &push.body);
    assert!(
        test.body.to_string().contains("王五 (contact wang)"),
        "{:#}",
        test.body
    );
    let to = push.body["deliveries"][0]["to"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(to, "zhangsan, 王五 (contact wang)", "{:#}", push.body);
    for run in [&test.body["id"], &push.body["id"]] {
        let run = run.as_str().expect("record id");
        let record = format!("/v1/projects/payments/records/{run}");
        let logs = format!("{record}/logs");
        for key in [&editor, &viewer] {
            for uri in [&record, &logs] {
                let reply = call(&app.router, Method::GET, uri, Some(key), &Value::Null).await;
                assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
                hidden(uri, &reply.body);
            }
        }
        // The admin, who may read the directory, sees who it went to.
        let reply = admin(&app, Method::GET, &record, Value::Null).await;
        assert!(
            reply.body.to_string().contains("wangwu"),
            "{:#}",
            reply.body
        );
    }
}
