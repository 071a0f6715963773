//! Who may call what: every operation the Router registers (read from its OpenAPI document, which
//! is generated from the same registrations, so a new route cannot be missed) × every kind of
//! caller, against the expected status. A route whose path fits no access rule below fails the test
//! until it is given one. Every status seen must also be one the document lists for the operation.
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use herald_tests::http::call;
use herald_tests::{ADMIN_TOKEN, LocalApp, sample_task};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const NOW: &str = "2026-11-25T01:00:00Z";
const PROJECT: &str = "payments";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Access {
    /// Health and the document itself.
    Public,
    /// Signed by the source's secret or token, not by an API key.
    Webhook,
    /// A signed snapshot link: no key needed, and without a valid signature refused to all.
    SignedLink,
    /// Keys, settings and contacts, and writing report sources.
    Admin,
    /// Any key: the list of report sources (each key sees those its project may use), calendars.
    AnyKey,
    ProjectRead,
    ProjectWrite,
}

fn access(method: &Method, path: &str) -> Access {
    if path == "/healthz" || path == "/v1/openapi.json" {
        Access::Public
    } else if path.starts_with("/v1/webhooks/") {
        Access::Webhook
    } else if path.starts_with("/v1/snapshots/") {
        Access::SignedLink
    } else if path.starts_with("/v1/projects/{project}/") {
        if method == Method::GET {
            Access::ProjectRead
        } else {
            Access::ProjectWrite
        }
    } else if path == "/v1/sources" {
        Access::AnyKey
    } else if path == "/v1/sources/{source}" {
        // Reading one as a project reads its own; only the admin writes one.
        if method == Method::GET {
            Access::ProjectRead
        } else {
            Access::Admin
        }
    } else if path.starts_with("/v1/calendars") {
        // Every key reads the calendars; only the admin sets their days.
        if method == Method::GET {
            Access::AnyKey
        } else {
            Access::Admin
        }
    } else if path.starts_with("/v1/sources/{source}/") {
        // Test, browse and import: as a project's writes (the source serves that project).
        Access::ProjectWrite
    } else if ["/v1/keys", "/v1/settings", "/v1/contacts"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        Access::Admin
    } else {
        panic!("{method} {path} fits no access rule: give it one in access()")
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Admin,
    Editor,
    Viewer,
    /// An editor of another project.
    OtherProject,
    NoKey,
    BadKey,
    /// A valid console session cookie, without a key: the API must not take cookies (CSRF).
    ConsoleCookie,
}

/// Callers in the order they call each operation: the ones refused first, so an allowed write
/// (a delete) cannot change what the others are answered.
const CALLERS: [Who; 7] = [
    Who::NoKey,
    Who::BadKey,
    Who::ConsoleCookie,
    Who::OtherProject,
    Who::Viewer,
    Who::Editor,
    Who::Admin,
];

#[derive(Debug, PartialEq)]
enum Expect {
    /// Past authorization: any status but 401 and 403 (a bad body still gets its 400).
    Allowed,
    Status(StatusCode),
}

fn expected(access: Access, who: Who) -> Expect {
    use Expect::{Allowed, Status};
    let unauthenticated = matches!(who, Who::NoKey | Who::BadKey | Who::ConsoleCookie);
    match access {
        Access::Public => Status(StatusCode::OK),
        Access::Webhook => Status(StatusCode::UNAUTHORIZED),
        Access::SignedLink => Status(StatusCode::FORBIDDEN),
        _ if unauthenticated => Status(StatusCode::UNAUTHORIZED),
        Access::AnyKey => Allowed,
        Access::Admin if who == Who::Admin => Allowed,
        Access::Admin => Status(StatusCode::FORBIDDEN),
        // Another project's key is told the project does not exist.
        Access::ProjectRead | Access::ProjectWrite if who == Who::OtherProject => {
            Status(StatusCode::NOT_FOUND)
        }
        Access::ProjectWrite if who == Who::Viewer => Status(StatusCode::FORBIDDEN),
        Access::ProjectRead | Access::ProjectWrite => Allowed,
    }
}

struct Fixture {
    app: LocalApp,
    editor: String,
    viewer: String,
    other: String,
    session: String,
    /// Path parameter → a value that names something that exists.
    values: Vec<(&'static str, String)>,
}

async fn admin(app: &LocalApp, method: Method, uri: &str, body: Value) -> Value {
    herald_tests::http::admin_ok(&app.router, method, uri, body).await
}

async fn key(app: &LocalApp, role: &str, project: &str) -> (String, String) {
    herald_tests::http::new_key(&app.router, role, project).await
}

async fn fixture() -> Fixture {
    let app = LocalApp::new(NOW);
    let (_, editor) = key(&app, "editor", PROJECT).await;
    let (_, viewer) = key(&app, "viewer", PROJECT).await;
    let (_, other) = key(&app, "editor", "another-project").await;
    let (doomed_key, _) = key(&app, "viewer", PROJECT).await;
    let tasks = format!("/v1/projects/{PROJECT}/tasks");
    let task = admin(&app, Method::POST, &tasks, sample_task("2026-11-25")).await["id"]
        .as_str()
        .expect("task id")
        .to_owned();
    let test = admin(
        &app,
        Method::POST,
        &format!("{tasks}/{task}/test"),
        json!(null),
    )
    .await;
    let run = test["id"].as_str().expect("record id").to_owned();
    admin(
        &app,
        Method::PUT,
        "/v1/contacts/ada",
        json!({"name": "Ada", "email": "ada@example.com"}),
    )
    .await;
    let webhook = json!({"secret": "whsec-authorization-matrix-01"});
    let sources = "/v1/settings/webhook-sources/ci";
    call(
        &app.router,
        Method::PUT,
        sources,
        Some(ADMIN_TOKEN),
        &webhook,
    )
    .await;
    admin(
        &app,
        Method::PUT,
        &format!("{sources}/sqle"),
        json!({"token": "sqle-authorization-matrix-token", "routes": []}),
    )
    .await;
    // A report source of the same name, serving this project only.
    admin(
        &app,
        Method::PUT,
        "/v1/sources/ci",
        json!({"kind": "http", "base_url": "https://bi.example.com/api",
               "auth": {"type": "bearer", "token": "src-authorization-matrix"}, "projects": [PROJECT]}),
    )
    .await;
    let mut console = herald_tests::console::ConsoleClient::new(&app.router);
    console.sign_in(ADMIN_TOKEN).await;
    let session = console.session.clone().expect("a session");
    let values = vec![
        ("project", PROJECT.to_owned()),
        ("task", task),
        ("run", run),
        ("user", "ada".to_owned()),
        ("id", doomed_key),
        ("source", "ci".to_owned()),
        ("channel", "smtp".to_owned()),
        ("image", "0".repeat(64)),
        ("name", "snapshot.png".to_owned()),
        ("file", format!("{}.png", "0".repeat(64))),
        ("calendar", "cn-workdays".to_owned()),
        ("date", "2026-10-01".to_owned()),
    ];
    Fixture {
        app,
        editor,
        viewer,
        other,
        session,
        values,
    }
}

impl Fixture {
    fn uri(&self, path: &str) -> String {
        let mut uri = path.to_owned();
        for (name, value) in &self.values {
            uri = uri.replace(&format!("{{{name}}}"), value);
        }
        assert!(!uri.contains('{'), "{path}: a path parameter has no value");
        uri
    }

    async fn call(&self, who: Who, method: &Method, uri: &str, with_body: bool) -> StatusCode {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json");
        let bearer = match who {
            Who::Admin => Some(ADMIN_TOKEN),
            Who::Editor => Some(self.editor.as_str()),
            Who::Viewer => Some(self.viewer.as_str()),
            Who::OtherProject => Some(self.other.as_str()),
            Who::BadKey => Some("hk_not-a-key-this-service-gave-out"),
            Who::NoKey | Who::ConsoleCookie => None,
        };
        if let Some(key) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        if who == Who::ConsoleCookie {
            request = request.header(header::COOKIE, format!("herald_session={}", self.session));
        }
        let body = if with_body { "{}" } else { "" };
        let response = self
            .app
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let _ = response.into_body().collect().await;
        status
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_its_access_rule_says() {
    let fixture = fixture().await;
    let document = serde_json::to_value(herald_api::openapi()).expect("the document");
    let mut operations: Vec<(Method, String, Value)> = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            operations.push((method, path.clone(), operation.clone()));
        }
    }
    // Deletes last, so the things the other operations name still exist.
    operations.sort_by_key(|(method, _, _)| *method == Method::DELETE);
    assert!(operations.len() >= 35, "{} operations", operations.len());

    let mut failures = Vec::new();
    let mut calls = 0;
    for (method, path, operation) in &operations {
        let rule = access(method, path);
        let uri = fixture.uri(path);
        let with_body = operation.get("requestBody").is_some();
        let documented: Vec<&str> = operation["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .map(String::as_str)
            .collect();
        for who in CALLERS {
            let status = fixture.call(who, method, &uri, with_body).await;
            calls += 1;
            let fits = match expected(rule, who) {
                Expect::Allowed => {
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN
                }
                Expect::Status(want) => status == want,
            };
            if !fits {
                failures.push(format!(
                    "{method} {path} as {who:?} ({rule:?}): got {status}, want {:?}",
                    expected(rule, who)
                ));
            }
            if !documented.contains(&status.as_str()) {
                failures.push(format!(
                    "{method} {path} as {who:?}: {status} is not in the document ({documented:?})"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!(
        "{} operations × {} callers: {calls} calls",
        operations.len(),
        CALLERS.len()
    );
}
