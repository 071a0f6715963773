//! End-to-end tests of the push task API (and the keys and health routes it relies on), calling the
//! Router in process over in-memory SQLite and the local scheduler, with a clock the test controls.
use axum::http::{Method, StatusCode};
use herald_core::domain::ids::{ProjectId, TaskId};
use herald_core::domain::task::TaskState;
use herald_core::ports::{ScheduleDefinition, ScheduleGateway, TaskStore};
use herald_tests::http::{Reply, call, call_raw};
use herald_tests::{ADMIN_TOKEN, LocalApp, sample_task};
use serde_json::{Value, json};

const NOW: &str = "2026-11-25T01:00:00Z";
const TASKS: &str = "/v1/projects/payments/tasks";
const ROBOT_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

// ---------------------------------------------------------------------------------------------- helpers

fn task_uri(id: &str) -> String {
    format!("{TASKS}/{id}")
}

/// Calls the router with a bearer token (or none); `Value::Null` sends no body.
async fn send(
    app: &LocalApp,
    token: Option<&str>,
    method: Method,
    uri: &str,
    body: Value,
) -> Reply {
    call(&app.router, method, uri, token, &body).await
}

async fn admin(app: &LocalApp, method: Method, uri: &str, body: Value) -> Reply {
    send(app, Some(ADMIN_TOKEN), method, uri, body).await
}

/// Creates a task as the admin, asserting 201, and answers the task view.
async fn create_task(app: &LocalApp, body: Value) -> Value {
    let reply = admin(app, Method::POST, TASKS, body).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "create: {:#}",
        reply.body
    );
    reply.body
}

/// Creates an API key as the admin and answers `(id, key)`.
async fn create_key(app: &LocalApp, body: Value) -> (String, String) {
    let reply = admin(app, Method::POST, "/v1/keys", body.clone()).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "key {body}: {:#}",
        reply.body
    );
    let text = |name: &str| {
        reply.body[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name}"))
            .to_owned()
    };
    (text("id"), text("key"))
}

/// The ids of the project's tasks, as the admin lists them (one page of up to 100).
async fn listed_ids(app: &LocalApp) -> Vec<String> {
    let reply = admin(app, Method::GET, &format!("{TASKS}?limit=100"), Value::Null).await;
    assert_eq!(reply.status, StatusCode::OK, "list: {:#}", reply.body);
    ids_of(&reply.body)
}

fn ids_of(list: &Value) -> Vec<String> {
    let items = list["items"].as_array().expect("items");
    items
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

fn payments() -> ProjectId {
    ProjectId::parse("payments").expect("project id")
}

fn tid(id: &Value) -> TaskId {
    TaskId::parse(id.as_str().expect("task id is a string")).expect("task id")
}

/// What the local scheduler holds for a task.
async fn schedule_of(app: &LocalApp, id: &Value) -> Option<ScheduleDefinition> {
    app.scheduler
        .get_schedule(&payments(), &tid(id))
        .await
        .expect("scheduler")
}

/// `body` with the value at a JSON Pointer set (an object key is added if missing).
fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON Pointer");
    match body
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"))
    {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().expect("index")] = value,
        other => panic!("{parent} is {other}"),
    }
    body
}

/// `body` without the object key at a JSON Pointer.
fn without(mut body: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a JSON Pointer");
    body.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("an object")
        .remove(key);
    body
}

/// Asserts an error answer: status, `error.code` and `error.field`.
#[track_caller]
fn assert_error(reply: &Reply, status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(
        (reply.status, reply.code(), reply.field()),
        (status, Some(code), field),
        "answer: {:#}",
        reply.body
    );
}

fn rfc3339(at: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(at)
        .expect("time")
        .to_utc()
}

// ---------------------------------------------------------------------------------------------- CRUD

#[tokio::test]
async fn admin_creates_reads_lists_replaces_and_deletes_a_task() {
    // Arrange
    let app = LocalApp::new(NOW);

    // Act: create
    let created = create_task(&app, sample_task("2026-12-01")).await;

    // Assert: the answer carries the id, version, state, expression and next run, never the robot key
    let id = created["id"].clone();
    assert!(TaskId::parse(id.as_str().unwrap()).is_ok(), "id {id}");
    assert_eq!(created["project"], "payments");
    assert_eq!(created["version"], 1);
    assert_eq!(created["state"], "enabled");
    assert_eq!(created["consecutive_failures"], 0);
    assert_eq!(
        created["schedule"]["expression"],
        "cron(0 10 ? * MON,THU *)"
    );
    assert_eq!(created["next_run_at"], "2026-12-03T02:00:00Z");
    assert_eq!(created["alarm_robot"]["webhook_key"], "set");
    assert!(
        !created.to_string().contains(ROBOT_KEY),
        "the robot key leaked: {created}"
    );
    let scheduled = schedule_of(&app, &id)
        .await
        .expect("a schedule was created");
    assert_eq!(
        (scheduled.expression.as_str(), scheduled.timezone.as_str()),
        ("cron(0 10 ? * MON,THU *)", "Asia/Shanghai")
    );
    assert!(scheduled.enabled);
    assert_eq!(scheduled.start, rfc3339("2026-11-30T16:00:00Z"));

    // Act + Assert: read and list answer the same task
    let uri = task_uri(id.as_str().unwrap());
    let read = admin(&app, Method::GET, &uri, Value::Null).await;
    assert_eq!((read.status, &read.body), (StatusCode::OK, &created));
    let list = admin(&app, Method::GET, TASKS, Value::Null).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body, json!({"items": [created.clone()]}));

    // Act + Assert: replace with the version read
    let renamed = with(
        with(sample_task("2026-12-01"), "/name", json!("Weekly sales")),
        "/version",
        json!(1),
    );
    let renamed = with(renamed, "/schedule/at", json!("11:00"));
    let replaced = admin(&app, Method::PUT, &uri, renamed).await;
    assert_eq!(replaced.status, StatusCode::OK, "{:#}", replaced.body);
    assert_eq!(
        (&replaced.body["version"], &replaced.body["name"]),
        (&json!(2), &json!("Weekly sales"))
    );
    assert_eq!(replaced.body["id"], id);
    assert_eq!(
        replaced.body["schedule"]["expression"],
        "cron(0 11 ? * MON,THU *)"
    );
    assert_eq!(replaced.body["next_run_at"], "2026-12-03T03:00:00Z");
    assert_eq!(
        schedule_of(&app, &id).await.unwrap().expression,
        "cron(0 11 ? * MON,THU *)"
    );
    let read = admin(&app, Method::GET, &uri, Value::Null).await;
    assert_eq!(read.body, replaced.body);

    // Act + Assert: delete; the task and its schedule are gone
    let deleted = admin(&app, Method::DELETE, &uri, Value::Null).await;
    assert_eq!(
        (deleted.status, &deleted.body),
        (StatusCode::NO_CONTENT, &Value::Null)
    );
    assert_error(
        &admin(&app, Method::GET, &uri, Value::Null).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_error(
        &admin(&app, Method::DELETE, &uri, Value::Null).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
    assert_eq!(schedule_of(&app, &id).await, None);
    assert!(listed_ids(&app).await.is_empty());
}

#[tokio::test]
async fn a_task_id_that_is_not_a_uuid_or_unknown_is_not_found() {
    let app = LocalApp::new(NOW);
    for id in ["not-a-uuid".to_owned(), uuid::Uuid::now_v7().to_string()] {
        let reply = admin(&app, Method::GET, &task_uri(&id), Value::Null).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "not_found", None);
        assert_eq!(reply.body["error"]["message"], "task not found");
    }
}

// ---------------------------------------------------------------------------------------------- pagination

#[tokio::test]
async fn tasks_are_listed_newest_first_in_pages_that_follow_cursors() {
    // Arrange: five tasks, created in order
    let app = LocalApp::new(NOW);
    let mut created = Vec::new();
    for n in 1..=5 {
        let task = create_task(
            &app,
            with(
                sample_task("2026-12-01"),
                "/name",
                json!(format!("Task {n}")),
            ),
        )
        .await;
        created.push(task["id"].as_str().unwrap().to_owned());
    }

    // Act: follow the cursors two at a time
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut uri = format!("{TASKS}?limit=2");
    loop {
        let page = admin(&app, Method::GET, &uri, Value::Null).await;
        assert_eq!(page.status, StatusCode::OK, "{:#}", page.body);
        pages.push(page.body["items"].as_array().unwrap().len());
        seen.extend(ids_of(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("{TASKS}?limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(pages.len() < 10, "the cursors never end");
    }

    // Assert: 2 + 2 + 1, each task once, newest first
    assert_eq!(pages, [2, 2, 1]);
    created.reverse();
    assert_eq!(seen, created);
}

#[tokio::test]
async fn list_parameters_out_of_range_or_garbage_are_refused() {
    let app = LocalApp::new(NOW);
    create_task(&app, sample_task("2026-12-01")).await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=", "cursor"),
        ("colour=red", "colour"),
    ] {
        let reply = admin(&app, Method::GET, &format!("{TASKS}?{query}"), Value::Null).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            Some(field),
        );
    }
    let all = admin(
        &app,
        Method::GET,
        &format!("{TASKS}?limit=100"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (all.status, all.body["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
}

// ---------------------------------------------------------------------------------------------- roles

#[tokio::test]
async fn keys_give_viewers_reads_editors_writes_and_other_projects_nothing() {
    // Arrange
    let app = LocalApp::new(NOW);
    let (_, viewer) = create_key(&app, json!({"project": "payments", "role": "viewer"})).await;
    let (_, editor) = create_key(&app, json!({"project": "payments", "role": "editor"})).await;
    let (outsider_id, outsider) =
        create_key(&app, json!({"project": "other", "role": "editor"})).await;
    let task = create_task(&app, sample_task("2026-12-01")).await;
    let uri = task_uri(task["id"].as_str().unwrap());
    let replace = with(sample_task("2026-12-01"), "/version", json!(1));
    let yes = json!({"confirm": true});

    // A viewer reads but cannot change anything
    let viewer = Some(viewer.as_str());
    assert_eq!(
        send(&app, viewer, Method::GET, &uri, Value::Null)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, viewer, Method::GET, TASKS, Value::Null)
            .await
            .status,
        StatusCode::OK
    );
    let writes = [
        (Method::POST, TASKS.to_owned(), sample_task("2026-12-01")),
        (Method::PUT, uri.clone(), replace.clone()),
        (Method::DELETE, uri.clone(), Value::Null),
        (Method::POST, format!("{uri}/disable"), yes.clone()),
        (Method::POST, format!("{uri}/enable"), Value::Null),
    ];
    for (method, path, body) in writes {
        let reply = send(&app, viewer, method.clone(), &path, body).await;
        assert_error(&reply, StatusCode::FORBIDDEN, "permission_denied", None);
    }
    let unchanged = admin(&app, Method::GET, &uri, Value::Null).await;
    assert_eq!(unchanged.body, task, "a refused write changed the task");

    // An editor of the project can create and change
    let editor = Some(editor.as_str());
    let made = send(&app, editor, Method::POST, TASKS, sample_task("2026-12-01")).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:#}", made.body);
    assert_eq!(
        send(&app, editor, Method::PUT, &uri, replace.clone())
            .await
            .status,
        StatusCode::OK
    );

    // An editor of another project sees no such project
    let outsider = Some(outsider.as_str());
    for (method, path, body) in [
        (Method::GET, uri.clone(), Value::Null),
        (Method::GET, TASKS.to_owned(), Value::Null),
        (
            Method::PUT,
            uri.clone(),
            with(replace.clone(), "/version", json!(2)),
        ),
        (Method::DELETE, uri.clone(), Value::Null),
        (Method::POST, format!("{uri}/disable"), yes.clone()),
        (Method::POST, format!("{uri}/enable"), Value::Null),
        (Method::POST, TASKS.to_owned(), sample_task("2026-12-01")),
    ] {
        let reply = send(&app, outsider, method.clone(), &path, body).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "not_found", None);
    }
    assert_eq!(
        listed_ids(&app).await.len(),
        2,
        "the outsider wrote something"
    );

    // Without a key, or with a wrong one: 401
    for token in [
        None,
        Some("wrong"),
        Some("hk_0123456789abcdef_guess"),
        Some(""),
    ] {
        let reply = send(&app, token, Method::GET, &uri, Value::Null).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    }

    // Only the admin manages keys
    let reply = send(
        &app,
        editor,
        Method::POST,
        "/v1/keys",
        json!({"project": "payments", "role": "editor"}),
    )
    .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "permission_denied", None);
    let reply = send(
        &app,
        editor,
        Method::DELETE,
        &format!("/v1/keys/{outsider_id}"),
        Value::Null,
    )
    .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "permission_denied", None);

    // A revoked key gets 401 at once; revoking it again is 404
    let revoke = format!("/v1/keys/{outsider_id}");
    assert_eq!(
        admin(&app, Method::DELETE, &revoke, Value::Null)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let reply = send(&app, outsider, Method::GET, TASKS, Value::Null).await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    assert_error(
        &admin(&app, Method::DELETE, &revoke, Value::Null).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    );
}

#[tokio::test]
async fn key_bodies_are_checked() {
    let app = LocalApp::new(NOW);
    for (body, field) in [
        (json!({"role": "editor"}), "project"),
        (json!({"role": "viewer"}), "project"),
        (json!({"role": "boss"}), "role"),
        (json!({"role": "admin", "project": "payments"}), "project"),
        (json!({"role": "editor", "project": "no spaces"}), "project"),
        (
            json!({"role": "editor", "project": "payments", "colour": "red"}),
            "colour",
        ),
    ] {
        let reply = admin(&app, Method::POST, "/v1/keys", body.clone()).await;
        assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            Some(field),
        );
    }
    let (_, key) = create_key(&app, json!({"role": "admin"})).await;
    let reply = send(&app, Some(&key), Method::GET, TASKS, Value::Null).await;
    assert_eq!(reply.status, StatusCode::OK, "a minted admin key works");
}

// ---------------------------------------------------------------------------------------------- versions

#[tokio::test]
async fn a_replace_with_a_stale_or_missing_version_is_refused() {
    // Arrange
    let app = LocalApp::new(NOW);
    let task = create_task(&app, sample_task("2026-12-01")).await;
    let uri = task_uri(task["id"].as_str().unwrap());
    let edit = |name: &str| {
        with(
            with(sample_task("2026-12-01"), "/name", json!(name)),
            "/version",
            json!(1),
        )
    };

    // Act: two writers both read version 1
    let first = admin(&app, Method::PUT, &uri, edit("First")).await;
    let second = admin(&app, Method::PUT, &uri, edit("Second")).await;

    // Assert: the first wins, the second is told it is stale and changes nothing
    assert_eq!(first.status, StatusCode::OK, "{:#}", first.body);
    assert_error(&second, StatusCode::CONFLICT, "conflict", None);
    let read = admin(&app, Method::GET, &uri, Value::Null).await;
    assert_eq!(
        (&read.body["name"], &read.body["version"]),
        (&json!("First"), &json!(2))
    );

    // A replace without a version, and a create with one, are refused
    let reply = admin(&app, Method::PUT, &uri, sample_task("2026-12-01")).await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        Some("version"),
    );
    let reply = admin(
        &app,
        Method::POST,
        TASKS,
        with(sample_task("2026-12-01"), "/version", json!(1)),
    )
    .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        Some("version"),
    );
    assert_eq!(listed_ids(&app).await.len(), 1);
    let missing = task_uri(&uuid::Uuid::now_v7().to_string());
    let reply = admin(&app, Method::PUT, &missing, edit("Ghost")).await;
    assert_error(&reply, StatusCode::NOT_FOUND, "not_found", None);
}

// ---------------------------------------------------------------------------------------------- disable / enable

#[tokio::test]
async fn disabling_needs_confirmation_and_enabling_resets_the_schedule() {
    // Arrange
    let app = LocalApp::new(NOW);
    let task = create_task(&app, sample_task("2026-12-01")).await;
    let id = task["id"].clone();
    let uri = task_uri(id.as_str().unwrap());

    // Act + Assert: without confirmation nothing changes
    for body in [
        b"".to_vec(),
        b"  ".to_vec(),
        br#"{}"#.to_vec(),
        br#"{"confirm": false}"#.to_vec(),
    ] {
        let reply = call_raw(
            &app.router,
            Method::POST,
            &format!("{uri}/disable"),
            Some(ADMIN_TOKEN),
            body,
        )
        .await;
        assert_error(
            &reply,
            StatusCode::UNPROCESSABLE_ENTITY,
            "failed_precondition",
            Some("confirm"),
        );
    }
    let reply = admin(
        &app,
        Method::POST,
        &format!("{uri}/disable"),
        json!({"confirm": "yes"}),
    )
    .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        Some("confirm"),
    );
    assert_eq!(admin(&app, Method::GET, &uri, Value::Null).await.body, task);
    assert!(schedule_of(&app, &id).await.unwrap().enabled);

    // Act + Assert: confirmed, the task and its schedule are off
    let disabled = admin(
        &app,
        Method::POST,
        &format!("{uri}/disable"),
        json!({"confirm": true}),
    )
    .await;
    assert_eq!(disabled.status, StatusCode::OK, "{:#}", disabled.body);
    assert_eq!(disabled.body["state"], "disabled");
    assert_eq!(disabled.body["next_run_at"], Value::Null);
    assert_eq!(disabled.body["version"], 2);
    assert!(!schedule_of(&app, &id).await.unwrap().enabled);

    // Act + Assert: enabled again
    let enabled = admin(&app, Method::POST, &format!("{uri}/enable"), Value::Null).await;
    assert_eq!(enabled.status, StatusCode::OK, "{:#}", enabled.body);
    assert_eq!(enabled.body["state"], "enabled");
    assert_eq!(enabled.body["consecutive_failures"], 0);
    assert_eq!(enabled.body["next_run_at"], "2026-12-03T02:00:00Z");
    assert!(schedule_of(&app, &id).await.unwrap().enabled);

    // Unknown tasks are 404 for both
    let missing = task_uri(&uuid::Uuid::now_v7().to_string());
    let reply = admin(
        &app,
        Method::POST,
        &format!("{missing}/disable"),
        json!({"confirm": true}),
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "not_found", None);
    let reply = admin(
        &app,
        Method::POST,
        &format!("{missing}/enable"),
        Value::Null,
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "not_found", None);
}

#[tokio::test]
async fn an_oversized_disable_body_is_too_large_with_the_json_error_body() {
    let app = LocalApp::new(NOW);
    let task = create_task(&app, sample_task("2026-12-01")).await;
    let uri = format!("{}/disable", task_uri(task["id"].as_str().unwrap()));
    let huge = [
        br#"{"confirm": true, "x": ""#.to_vec(),
        vec![b'x'; 300 * 1024],
        br#""}"#.to_vec(),
    ]
    .concat();
    let reply = call_raw(&app.router, Method::POST, &uri, Some(ADMIN_TOKEN), huge).await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "too_large", None);
}

// ---------------------------------------------------------------------------------------------- bad input

/// A create body that is wrong in one way, and the field the answer must name.
struct Bad {
    what: &'static str,
    body: Vec<u8>,
    status: StatusCode,
    code: &'static str,
    field: Option<&'static str>,
}

fn bad(what: &'static str, body: Value, field: &'static str) -> Bad {
    let body = serde_json::to_vec(&body).unwrap();
    Bad {
        what,
        body,
        status: StatusCode::BAD_REQUEST,
        code: "invalid_argument",
        field: Some(field),
    }
}

fn bad_bytes(what: &'static str, body: &[u8], field: &'static str) -> Bad {
    Bad {
        body: body.to_vec(),
        ..bad(what, Value::Null, field)
    }
}

/// Sends each bad create; collects every mismatch (so one run shows them all) and checks nothing was written.
async fn assert_refused(cases: Vec<Bad>) {
    let app = LocalApp::new(NOW);
    let mut mismatches = Vec::new();
    for case in cases {
        let reply = call_raw(
            &app.router,
            Method::POST,
            TASKS,
            Some(ADMIN_TOKEN),
            case.body,
        )
        .await;
        let got = (reply.status, reply.code(), reply.field());
        if got != (case.status, Some(case.code), case.field) {
            mismatches.push(format!(
                "{}: got {got:?}, want {:?} — {}",
                case.what, case.field, reply.body
            ));
        }
        assert!(
            listed_ids(&app).await.is_empty(),
            "{}: a refused create wrote a task",
            case.what
        );
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

fn task() -> Value {
    sample_task("2026-12-01")
}

fn schedule(fields: Value) -> Value {
    let mut schedule = json!({"timezone": "Asia/Shanghai", "start": "2026-12-01"});
    schedule
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    with(task(), "/schedule", schedule)
}

#[tokio::test]
async fn bad_task_bodies_are_refused_naming_the_field_and_writing_nothing() {
    let chart = json!({"name": "GMV", "data_url": "https://bi.example.com/api/charts/1/data"});
    let no_recipients =
        json!({"wecom_users": [], "wecom_parties": [], "wecom_tags": [], "contacts": []});
    let oversized = with(task(), "/name", json!("x".repeat(256 * 1024)));
    assert_refused(vec![
        bad_bytes("malformed JSON", b"not json", "body"),
        bad_bytes("no body", b"", "body"),
        bad_bytes(
            "trailing data",
            &[serde_json::to_vec(&task()).unwrap(), b"{}".to_vec()].concat(),
            "body",
        ),
        bad("a JSON array", json!([]), "body"),
        bad(
            "unknown top-level field",
            with(task(), "/colour", json!("red")),
            "colour",
        ),
        bad(
            "unknown field in schedule",
            with(task(), "/schedule/colour", json!("red")),
            "schedule.colour",
        ),
        bad("missing name", without(task(), "/name"), "name"),
        bad(
            "wrong type",
            with(task(), "/failure_limit", json!("three")),
            "failure_limit",
        ),
        bad(
            "failure limit out of range",
            with(task(), "/failure_limit", json!(0)),
            "failure_limit",
        ),
        Bad {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            field: None,
            ..bad("over 256 KiB", oversized, "")
        },
        bad(
            "unknown timezone",
            with(task(), "/schedule/timezone", json!("Mars/Base")),
            "schedule.timezone",
        ),
        bad(
            "invalid cron",
            schedule(json!({"every": "cron", "cron": "cron(0 10 * * * *)"})),
            "schedule.cron",
        ),
        bad(
            "week without days",
            without(task(), "/schedule/days"),
            "schedule.days",
        ),
        bad(
            "week with no days",
            with(task(), "/schedule/days", json!([])),
            "schedule.days",
        ),
        bad(
            "a day that is not one",
            with(task(), "/schedule/days", json!(["mon", "someday"])),
            "schedule.days[1]",
        ),
        bad(
            "at 25:00",
            with(task(), "/schedule/at", json!("25:00")),
            "schedule.at",
        ),
        bad(
            "start in the past",
            with(task(), "/schedule/start", json!("2026-11-01")),
            "schedule.start",
        ),
        bad(
            "start not a date",
            with(task(), "/schedule/start", json!("01/12/2026")),
            "schedule.start",
        ),
        bad(
            "every fortnight",
            with(task(), "/schedule/every", json!("fortnight")),
            "schedule.every",
        ),
        bad(
            "hour without minute",
            schedule(json!({"every": "hour"})),
            "schedule.minute",
        ),
        bad(
            "minute 60",
            schedule(json!({"every": "hour", "minute": 60})),
            "schedule.minute",
        ),
        bad(
            "a field the kind does not use",
            schedule(json!({"every": "hour", "minute": 5, "at": "10:00"})),
            "schedule.at",
        ),
        bad(
            "day_of_month 32",
            schedule(json!({"every": "month", "day_of_month": 32, "at": "10:00"})),
            "schedule.day_of_month",
        ),
        bad(
            "empty recipients",
            with(task(), "/recipients", no_recipients),
            "recipients",
        ),
        bad(
            "name of 101 characters",
            with(task(), "/name", json!("n".repeat(101))),
            "name",
        ),
        bad(
            "ftp share_url",
            with(task(), "/page/share_url", json!("ftp://x/y")),
            "page.share_url",
        ),
        bad(
            "51 charts",
            with(task(), "/page/charts", json!(vec![chart; 51])),
            "page.charts",
        ),
        bad(
            "channel sms",
            with(task(), "/channel", json!("sms")),
            "channel",
        ),
        bad(
            "template html",
            with(task(), "/template", json!("html")),
            "template",
        ),
        bad(
            "robot key 'set' on create",
            with(task(), "/alarm_robot/webhook_key", json!("set")),
            "alarm_robot.webhook_key",
        ),
        bad(
            "robot key with spaces",
            with(task(), "/alarm_robot/webhook_key", json!("a key")),
            "alarm_robot.webhook_key",
        ),
    ])
    .await;
}

/// Errors inside nested request objects must name the whole path, as API.md's error example and
/// `ErrorDetail::field`'s doc (`page.charts[2].data_url`) promise.
#[tokio::test]
async fn bad_nested_values_are_named_by_their_full_path() {
    let chart = |url: &str| json!([{"name": "GMV", "data_url": url}]);
    assert_refused(vec![
        bad(
            "file:// chart url",
            with(task(), "/page/charts", chart("file:///etc/passwd")),
            "page.charts[0].data_url",
        ),
        bad(
            "bad wecom user id",
            with(
                task(),
                "/recipients/wecom_users",
                json!(["zhangsan", "bad id"]),
            ),
            "recipients.wecom_users[1]",
        ),
        bad(
            "bad email",
            with(task(), "/recipients/emails", json!(["nope"])),
            "recipients.emails[0]",
        ),
        bad(
            "bad owner",
            with(task(), "/owner/wecom_user", json!("bad id")),
            "owner.wecom_user",
        ),
        bad(
            "bad range",
            with(task(), "/exception_control/empty/range", json!(["most"])),
            "exception_control.empty.range[0]",
        ),
    ])
    .await;
}

/// A body that is not JSON at all is a bad `body`, wherever the parser gave up.
#[tokio::test]
async fn json_that_does_not_parse_is_a_bad_body() {
    assert_refused(vec![
        bad_bytes("cut-off JSON", b"{\"name\": \"x\"", "body"),
        bad_bytes("a bare word for a key", b"{\"name\": \"x\", oops}", "body"),
        bad_bytes("an open key", b"{oops", "body"),
    ])
    .await;
}

#[tokio::test]
async fn a_start_of_today_in_the_task_timezone_is_accepted() {
    // 2026-11-25T01:00Z is 09:00 on the 25th in Shanghai and still the 24th in Los Angeles.
    let app = LocalApp::new(NOW);
    let today = create_task(&app, with(task(), "/schedule/start", json!("2026-11-25"))).await;
    assert_eq!(today["next_run_at"], "2026-11-26T02:00:00Z");
    let la = with(
        with(task(), "/schedule/timezone", json!("America/Los_Angeles")),
        "/schedule/start",
        json!("2026-11-24"),
    );
    let yesterday_there = create_task(&app, la).await;
    assert_eq!(yesterday_there["next_run_at"], "2026-11-26T18:00:00Z");
    let reply = admin(
        &app,
        Method::POST,
        TASKS,
        with(task(), "/schedule/start", json!("2026-11-24")),
    )
    .await;
    assert_error(
        &reply,
        StatusCode::BAD_REQUEST,
        "invalid_argument",
        Some("schedule.start"),
    );
    let default_start = create_task(&app, without(task(), "/schedule/start")).await;
    assert_eq!(default_start["schedule"]["start"], "2026-11-25");
}

// ---------------------------------------------------------------------------------------------- schedules

#[tokio::test]
async fn a_daily_run_in_the_spring_forward_gap_is_skipped_and_a_repeated_hour_runs_once() {
    // Arrange: 02:30 does not exist in Berlin on 2027-03-28, and happens twice on 2027-10-31
    let app = LocalApp::new("2027-03-27T12:00:00Z");
    let daily =
        json!({"every": "day", "at": "02:30", "timezone": "Europe/Berlin", "start": "2027-03-27"});

    // Act
    let task = create_task(&app, with(task(), "/schedule", daily)).await;
    let uri = task_uri(task["id"].as_str().unwrap());
    let next_at = |now: &'static str| {
        app.clock.set(rfc3339(now));
        let (app, uri) = (&app, &uri);
        async move { admin(app, Method::GET, uri, Value::Null).await.body["next_run_at"].clone() }
    };

    // Assert
    assert_eq!(task["schedule"]["expression"], "cron(30 2 * * ? *)");
    assert_eq!(task["next_run_at"], "2027-03-29T00:30:00Z");
    assert_eq!(
        next_at("2027-03-29T00:30:00Z").await,
        "2027-03-30T00:30:00Z"
    );
    assert_eq!(
        next_at("2027-10-30T12:00:00Z").await,
        "2027-10-31T00:30:00Z"
    );
    assert_eq!(
        next_at("2027-10-31T00:30:00Z").await,
        "2027-11-01T01:30:00Z"
    );
}

#[tokio::test]
async fn a_weekly_shanghai_task_runs_next_on_monday_or_thursday_at_10_local() {
    // Arrange: Mon/Thu 10:00 Asia/Shanghai (UTC+8, no DST) from Tuesday 2026-12-01
    let app = LocalApp::new(NOW);
    let task = create_task(&app, sample_task("2026-12-01")).await;
    let uri = task_uri(task["id"].as_str().unwrap());

    for (now, want) in [
        ("2026-11-30T02:00:00Z", "2026-12-03T02:00:00Z"), // Monday before the start date: skipped
        ("2026-12-03T01:59:59Z", "2026-12-03T02:00:00Z"),
        ("2026-12-03T02:00:00Z", "2026-12-07T02:00:00Z"), // strictly after now
        ("2026-12-20T00:00:00Z", "2026-12-21T02:00:00Z"),
        ("2027-01-01T00:00:00Z", "2027-01-04T02:00:00Z"),
        ("2027-03-28T03:00:00Z", "2027-03-29T02:00:00Z"), // Europe's DST change means nothing here
    ] {
        // Act
        app.clock.set(rfc3339(now));
        let read = admin(&app, Method::GET, &uri, Value::Null).await;

        // Assert
        assert_eq!(read.body["next_run_at"], want, "at {now}");
    }
}

// ---------------------------------------------------------------------------------------------- stopped tasks

#[tokio::test]
async fn editing_a_stopped_task_enables_it_and_resets_its_failures() {
    // Arrange: the failure limit stopped the task (as the trigger would: store and schedule)
    let app = LocalApp::new(NOW);
    let created = create_task(&app, sample_task("2026-12-01")).await;
    let (id, uri) = (
        tid(&created["id"]),
        task_uri(created["id"].as_str().unwrap()),
    );
    let mut stored = app
        .store
        .get_task(&payments(), &id)
        .await
        .unwrap()
        .expect("stored");
    let read = stored.version;
    (stored.state, stored.consecutive_failures, stored.version) = (TaskState::Stopped, 3, read + 1);
    app.store
        .replace_task(&stored, read)
        .await
        .expect("stop the task");
    let schedule = schedule_of(&app, &created["id"]).await.unwrap();
    app.scheduler
        .put_schedule(&ScheduleDefinition {
            enabled: false,
            ..schedule
        })
        .await
        .unwrap();
    let stopped = admin(&app, Method::GET, &uri, Value::Null).await.body;
    assert_eq!(
        (&stopped["state"], &stopped["consecutive_failures"]),
        (&json!("stopped"), &json!(3))
    );
    assert_eq!(stopped["next_run_at"], Value::Null);

    // Act
    let edit = with(
        with(sample_task("2026-12-01"), "/failure_limit", json!(5)),
        "/version",
        json!(2),
    );
    let edited = admin(&app, Method::PUT, &uri, edit).await;

    // Assert
    assert_eq!(edited.status, StatusCode::OK, "{:#}", edited.body);
    assert_eq!(edited.body["state"], "enabled");
    assert_eq!(edited.body["consecutive_failures"], 0);
    assert_eq!(
        (&edited.body["version"], &edited.body["failure_limit"]),
        (&json!(3), &json!(5))
    );
    assert_eq!(edited.body["next_run_at"], "2026-12-03T02:00:00Z");
    assert!(schedule_of(&app, &created["id"]).await.unwrap().enabled);
}

// ---------------------------------------------------------------------------------------------- robot key

#[tokio::test]
async fn the_alarm_robot_key_is_write_only_and_set_keeps_it() {
    // Arrange
    let app = LocalApp::new(NOW);
    let created = create_task(&app, sample_task("2026-12-01")).await;
    let (id, uri) = (
        tid(&created["id"]),
        task_uri(created["id"].as_str().unwrap()),
    );
    // The task names the secret that holds the key, never the key itself.
    let stored_key = |app: &LocalApp| {
        let (store, secrets) = (app.store.clone(), app.secrets.clone());
        async move {
            let task = store
                .get_task(&payments(), &id)
                .await
                .unwrap()
                .expect("stored");
            let document = serde_json::to_string(&task).unwrap();
            match task.spec.alarm_robot? {
                herald_core::domain::task::RobotWebhook::Stored { secret } => {
                    let key = secrets.get_secret(secret.as_str()).await.unwrap()?;
                    let key = secrecy::ExposeSecret::expose_secret(&key).to_owned();
                    assert!(
                        !document.contains(&key),
                        "the key is in the task: {document}"
                    );
                    Some(key)
                }
                other => panic!("the key is in the task document: {other:?}"),
            }
        }
    };

    // Act: send the mask back
    let keep = with(
        with(
            sample_task("2026-12-01"),
            "/alarm_robot/webhook_key",
            json!("set"),
        ),
        "/version",
        json!(1),
    );
    let kept = admin(&app, Method::PUT, &uri, keep).await;

    // Assert: the stored key is unchanged and never shown
    assert_eq!(kept.status, StatusCode::OK, "{:#}", kept.body);
    assert_eq!(kept.body["alarm_robot"], json!({"webhook_key": "set"}));
    assert_eq!(stored_key(&app).await.as_deref(), Some(ROBOT_KEY));

    // A pasted webhook URL stores its key; leaving the robot out removes it
    let url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=new-robot-1";
    let change = with(
        with(
            sample_task("2026-12-01"),
            "/alarm_robot/webhook_key",
            json!(url),
        ),
        "/version",
        json!(2),
    );
    let changed = admin(&app, Method::PUT, &uri, change).await;
    assert_eq!(
        (changed.status, &changed.body["alarm_robot"]["webhook_key"]),
        (StatusCode::OK, &json!("set"))
    );
    assert_eq!(stored_key(&app).await.as_deref(), Some("new-robot-1"));
    let drop = with(
        without(sample_task("2026-12-01"), "/alarm_robot"),
        "/version",
        json!(3),
    );
    let dropped = admin(&app, Method::PUT, &uri, drop).await;
    assert_eq!(
        (dropped.status, dropped.body.get("alarm_robot")),
        (StatusCode::OK, None)
    );
    assert_eq!(stored_key(&app).await, None);
}

// ---------------------------------------------------------------------------------------------- document and health

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    // Arrange
    let app = LocalApp::new(NOW);

    // Act
    let doc = send(&app, None, Method::GET, "/v1/openapi.json", Value::Null).await;

    // Assert: every route is documented
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().expect("paths");
    for path in [
        "/v1/projects/{project}/tasks",
        "/v1/projects/{project}/tasks/{task}",
        "/v1/projects/{project}/tasks/{task}/disable",
        "/v1/projects/{project}/tasks/{task}/enable",
        "/v1/keys",
        "/v1/keys/{id}",
        "/healthz",
        "/v1/openapi.json",
        "/v1/settings",
        // Once per channel, each with its own body.
        "/v1/settings/channels/smtp",
        "/v1/settings/channels/wecom",
        "/v1/settings/channels/feishu",
        "/v1/settings/channels/smtp/test",
        "/v1/settings/channels/wecom/test",
        "/v1/settings/channels/feishu/test",
        "/v1/settings/webhook-sources/{source}",
        "/v1/projects/{project}/tasks/{task}/test",
        "/v1/projects/{project}/tasks/{task}/push",
        "/v1/projects/{project}/records",
        "/v1/projects/{project}/records/{run}",
        "/v1/projects/{project}/records/{run}/logs",
        "/v1/contacts",
        "/v1/contacts/{user}",
        "/v1/webhooks/tickets/{source}",
        "/v1/webhooks/sqle/{source}",
        "/v1/settings/webhook-sources/{source}/sqle",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} is not documented: {:?}",
            paths.keys()
        );
    }

    // Assert: every documented (path, method) is routed
    let methods = [
        "get", "put", "post", "delete", "patch", "head", "options", "trace",
    ];
    let task = uuid::Uuid::now_v7().to_string();
    let mut calls = 0;
    for (path, item) in paths {
        let uri = path
            .replace("{project}", "payments")
            .replace("{task}", &task)
            .replace("{id}", &task)
            .replace("{user}", "wang")
            .replace("{source}", "erp-api")
            .replace("{calendar}", "cn-workdays")
            .replace("{date}", "2026-10-01");
        for method in item
            .as_object()
            .unwrap()
            .keys()
            .filter(|m| methods.contains(&m.as_str()))
        {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let reply = admin(&app, method.clone(), &uri, json!({})).await;
            let unrouted = reply.status == StatusCode::METHOD_NOT_ALLOWED
                || (reply.status == StatusCode::NOT_FOUND
                    && reply.body["error"]["message"] == "path not found");
            assert!(
                !unrouted,
                "{method} {path} is documented but not routed: {} {}",
                reply.status, reply.body
            );
            calls += 1;
        }
    }
    assert_eq!(calls, 55, "documented operations");
}

#[tokio::test]
async fn health_needs_no_key_and_unknown_paths_answer_a_json_404() {
    let app = LocalApp::new(NOW);
    let health = send(&app, None, Method::GET, "/healthz", Value::Null).await;
    assert_eq!(
        (health.status, health.body),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let unknown = send(&app, None, Method::GET, "/v1/nowhere", Value::Null).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "not_found", None);
    assert_eq!(unknown.body["error"]["message"], "path not found");
    let wrong_method = admin(&app, Method::PATCH, TASKS, Value::Null).await;
    assert_eq!(
        (wrong_method.status, wrong_method.code()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("invalid_argument"))
    );
}

/// A chart's `data_url` may carry date parameters (`{{ yesterday }}`, spaces and all): it is kept
/// as written, and an unknown parameter is named at the field.
#[tokio::test]
async fn a_data_url_with_date_parameters_is_kept_as_written() {
    let app = LocalApp::new(NOW);
    let url = "https://bi.example.com/api/chart/1?day={{ yesterday }}&month={{ month_start | date(\"%Y%m\") }}";
    let mut body = sample_task("2026-12-01");
    body["page"]["charts"][0]["data_url"] = json!(url);
    let created = create_task(&app, body.clone()).await;
    assert_eq!(created["page"]["charts"][0]["data_url"], url);
    body["page"]["charts"][0]["data_url"] = json!("https://bi.example.com/c?day={{ someday }}");
    let refused = admin(&app, Method::POST, TASKS, body).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:#}",
        refused.body
    );
    assert_eq!(refused.field(), Some("page.charts[0].data_url"));
}
