//! The console's authorization matrix: every page and form the console serves (read from its
//! route table, so a new one cannot be missed) × five callers — no session, an admin's, an
//! editor's and a viewer's session in the project, another project's editor — each answered by the
//! rule for its kind of route: public, any session, admin only, reading a project, writing in one.
//! Forms are posted with the caller's own CSRF token, so a refusal is the role's and not the form's.
use axum::http::{Method, StatusCode};
use herald_tests::console::{ConsoleClient, Page};
use herald_tests::http::{admin_ok, new_key};
use herald_tests::{ADMIN_TOKEN, LocalApp, sample_task};
use serde_json::{Value, json};

const NOW: &str = "2026-12-01T09:00:00Z";
const PROJECT: &str = "sales";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Nobody,
    Admin,
    Editor,
    Viewer,
    OtherEditor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Public,
    AnySession,
    Admin,
    ProjectRead,
    ProjectWrite,
}

/// Every route of the console (`shared/console/src/pages/mod.rs`), with its rule. Paths are
/// relative to `/ui`; the sign-out forms end the session, so they come last (each caller signs
/// in again before the second).
const ROUTES: &[(&str, &str, Rule)] = &[
    ("GET", "/", Rule::AnySession),
    ("GET", "/sign-in", Rule::Public),
    ("POST", "/sign-in", Rule::Public),
    ("GET", "/lang/{lang}", Rule::Public),
    ("GET", "/assets/{hash}/{name}", Rule::Public),
    ("GET", "/projects", Rule::AnySession),
    ("GET", "/projects/{project}/tasks", Rule::ProjectRead),
    ("POST", "/projects/{project}/tasks", Rule::ProjectWrite),
    ("GET", "/projects/{project}/tasks/new", Rule::ProjectWrite),
    (
        "POST",
        "/projects/{project}/tasks/preview",
        Rule::ProjectWrite,
    ),
    ("POST", "/projects/{project}/tasks/test", Rule::ProjectWrite),
    (
        "POST",
        "/projects/{project}/tasks/charts",
        Rule::ProjectWrite,
    ),
    (
        "POST",
        "/projects/{project}/tasks/import",
        Rule::ProjectWrite,
    ),
    (
        "GET",
        "/projects/{project}/sources/{source}/charts",
        Rule::ProjectWrite,
    ),
    (
        "GET",
        "/projects/{project}/schedule/next",
        Rule::ProjectRead,
    ),
    (
        "POST",
        "/projects/{project}/tasks/{task}",
        Rule::ProjectWrite,
    ),
    (
        "GET",
        "/projects/{project}/tasks/{task}/edit",
        Rule::ProjectWrite,
    ),
    (
        "POST",
        "/projects/{project}/tasks/{task}/{action}",
        Rule::ProjectWrite,
    ),
    ("GET", "/projects/{project}/records", Rule::ProjectRead),
    (
        "GET",
        "/projects/{project}/records/{run}",
        Rule::ProjectRead,
    ),
    (
        "GET",
        "/projects/{project}/files/{*rest}",
        Rule::ProjectRead,
    ),
    ("GET", "/settings", Rule::Admin),
    ("POST", "/settings/channels/{channel}", Rule::Admin),
    ("POST", "/settings/channels/{channel}/test", Rule::Admin),
    ("GET", "/settings/keys", Rule::Admin),
    ("POST", "/settings/keys", Rule::Admin),
    ("POST", "/settings/keys/{id}/revoke", Rule::Admin),
    ("GET", "/settings/contacts", Rule::Admin),
    ("POST", "/settings/contacts", Rule::Admin),
    ("POST", "/settings/contacts/{id}/delete", Rule::Admin),
    ("GET", "/settings/sources", Rule::Admin),
    ("POST", "/settings/sources", Rule::Admin),
    ("POST", "/settings/sources/{name}/test", Rule::Admin),
    ("POST", "/settings/sources/{name}/delete", Rule::Admin),
    ("GET", "/settings/general", Rule::Admin),
    ("GET", "/settings/sandbox", Rule::Admin),
    ("POST", "/settings/general/url-prefix", Rule::Admin),
    ("POST", "/settings/general/webhook-sources", Rule::Admin),
    ("POST", "/sign-out-everywhere", Rule::AnySession),
    ("POST", "/sign-out", Rule::AnySession),
];

/// The paths `pages/mod.rs` registers, in order of appearance.
fn registered_paths() -> Vec<String> {
    let source = include_str!("../../shared/console/src/pages/mod.rs");
    let mut paths = Vec::new();
    for part in source.split(".route(").skip(1) {
        let quoted = part.trim_start().strip_prefix('"').expect("a route's path");
        let end = quoted.find('"').expect("the path ends");
        paths.push(quoted[..end].to_owned());
    }
    paths
}

fn allowed(rule: Rule, caller: Caller) -> bool {
    match (rule, caller) {
        (Rule::Public, _) => true,
        (_, Caller::Nobody) => false,
        (Rule::AnySession, _) | (_, Caller::Admin) => true,
        (Rule::Admin, _) => false,
        (_, Caller::OtherEditor) => false,
        (Rule::ProjectRead, _) => true,
        (Rule::ProjectWrite, caller) => caller == Caller::Editor,
    }
}

/// Whether `page` is a refusal that fits `caller`: no session → the sign-in page (a form posted
/// without one is refused outright); another project → not found, as in the API; else forbidden.
fn refused(page: &Page, caller: Caller, method: &str) -> bool {
    match caller {
        Caller::Nobody if method == "GET" => {
            page.status == StatusCode::SEE_OTHER
                && page
                    .location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("/ui/sign-in"))
        }
        Caller::Nobody => matches!(page.status, StatusCode::SEE_OTHER | StatusCode::FORBIDDEN),
        Caller::OtherEditor => {
            matches!(page.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)
        }
        _ => page.status == StatusCode::FORBIDDEN,
    }
}

struct Fixture {
    app: LocalApp,
    keys: Vec<(Caller, String)>,
    /// A key's id to revoke (the admin revokes it, last).
    doomed_key: String,
    values: Vec<(&'static str, String)>,
}

async fn fixture() -> Fixture {
    let app = LocalApp::new(NOW);
    let key = |role, project| new_key(&app.router, role, project);
    let (_, editor) = key("editor", PROJECT).await;
    let (_, viewer) = key("viewer", PROJECT).await;
    let (_, other) = key("editor", "another-project").await;
    let (doomed, _) = key("viewer", PROJECT).await;
    let tasks = format!("/v1/projects/{PROJECT}/tasks");
    let task = admin_ok(&app.router, Method::POST, &tasks, sample_task("2026-12-07")).await["id"]
        .as_str()
        .expect("task id")
        .to_owned();
    let test = format!("{tasks}/{task}/test");
    let run = admin_ok(&app.router, Method::POST, &test, Value::Null).await["id"]
        .as_str()
        .expect("record id")
        .to_owned();
    // A real asset: the sign-in page links the console's own.
    let sign_in = ConsoleClient::new(&app.router).get("/ui/sign-in").await;
    let (hash, name) = {
        let html = sign_in.html.replace("&#x2f;", "/");
        let start = html.find("/ui/assets/").expect("an asset link") + "/ui/assets/".len();
        let rest = &html[start..];
        let link = &rest[..rest.find('"').expect("the link ends")];
        let (hash, name) = link.split_once('/').expect("hash/name");
        (hash.to_owned(), name.to_owned())
    };
    let contact = json!({"name": "Ada", "email": "ada@example.com"});
    admin_ok(&app.router, Method::PUT, "/v1/contacts/ada", contact).await;
    let values = vec![
        ("project", PROJECT.to_owned()),
        ("task", task),
        ("run", run.clone()),
        ("action", "disable".to_owned()),
        ("channel", "smtp".to_owned()),
        ("lang", "zh".to_owned()),
        ("hash", hash),
        ("name", name),
        ("*rest", format!("records/{run}/snapshot.png")),
    ];
    let keys = vec![
        (Caller::Admin, ADMIN_TOKEN.to_owned()),
        (Caller::Editor, editor),
        (Caller::Viewer, viewer),
        (Caller::OtherEditor, other),
    ];
    Fixture {
        app,
        keys,
        doomed_key: doomed,
        values,
    }
}

/// A browser signed in with `key` (none: signed out), and its session's CSRF token from its
/// start page.
async fn signed_in(router: &herald_api::Router, key: Option<&str>) -> (ConsoleClient, String) {
    let mut browser = ConsoleClient::new(router);
    let Some(key) = key else {
        return (browser, String::new());
    };
    browser.sign_in(key).await;
    let start = browser.get("/ui").await;
    let home = start.location.clone().expect("the start page redirects");
    let csrf = browser.get(&home).await.csrf();
    (browser, csrf)
}

fn concrete(path: &str, values: &[(&str, String)], id: &str) -> String {
    let mut path = format!("/ui{}", path.trim_end_matches('/'));
    for (name, value) in values {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    path.replace("{id}", id)
}

#[tokio::test]
async fn every_console_route_answers_each_caller_by_its_rule() {
    let registered = registered_paths();
    let listed: Vec<&str> = ROUTES.iter().map(|(_, path, _)| *path).collect();
    for path in &registered {
        assert!(
            listed.contains(&path.as_str()),
            "the console route {path} has no rule in this matrix"
        );
    }
    for path in &listed {
        assert!(
            registered.iter().any(|r| r == path),
            "{path} is not a console route"
        );
    }

    let fixture = fixture().await;
    // The admin last: it revokes a key and deletes a contact the others would otherwise see gone.
    let callers = [
        Caller::Nobody,
        Caller::Viewer,
        Caller::OtherEditor,
        Caller::Editor,
        Caller::Admin,
    ];
    let mut wrong = Vec::new();
    let mut calls = 0;
    for caller in callers {
        let key = fixture
            .keys
            .iter()
            .find(|(c, _)| *c == caller)
            .map(|(_, key)| key.clone());
        let (mut browser, mut csrf) = signed_in(&fixture.app.router, key.as_deref()).await;
        for (method, path, rule) in ROUTES {
            if *path == "/sign-out" && caller != Caller::Nobody {
                // "/sign-out-everywhere" ended the session just before: a new one signs out.
                (browser, csrf) = signed_in(&fixture.app.router, key.as_deref()).await;
            }
            let id = if path.contains("/contacts/") {
                "ada".to_owned()
            } else {
                fixture.doomed_key.clone()
            };
            let uri = concrete(path, &fixture.values, &id);
            let page = if *method == "GET" {
                browser.get(&uri).await
            } else {
                browser.post(&uri, &[("_csrf", csrf.as_str())]).await
            };
            calls += 1;
            // Signing out ends at the sign-in page: that is its work, not a refusal.
            let signed_out = matches!(*path, "/sign-out" | "/sign-out-everywhere")
                && caller != Caller::Nobody
                && page.status == StatusCode::SEE_OTHER
                && page.location.as_deref() == Some("/ui/sign-in");
            let ok = if page.status.is_server_error() {
                false
            } else if signed_out {
                true
            } else if allowed(*rule, caller) {
                // Allowed: neither refused nor sent to sign in again.
                let to_sign_in = page.status == StatusCode::SEE_OTHER
                    && page
                        .location
                        .as_deref()
                        .is_some_and(|l| l.starts_with("/ui/sign-in"));
                !refused(&page, caller, method) && (caller == Caller::Nobody || !to_sign_in)
            } else {
                refused(&page, caller, method)
            };
            if !ok {
                wrong.push(format!(
                    "{caller:?} {method} {uri} ({rule:?}): {} {:?}",
                    page.status, page.location
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {calls} answers break their rule:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    println!("{calls} console calls, each as its rule says");
}
