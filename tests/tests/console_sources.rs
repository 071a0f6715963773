//! The task form's report sources, in the console as a browser without the script uses it: the
//! sources a project may use are offered, a source's charts are offered as queries (as JSON for
//! the script, in the form when asked), a Metabase dashboard (the fake, to its documented API) is
//! imported as the form's charts and saved, and a preview shows the rows each chart read.
use axum::http::{Method, StatusCode};
use herald_fakes::{FeishuConfig, WecomConfig};
use herald_tests::ADMIN_TOKEN;
use herald_tests::console::{ConsoleClient, Page};
use herald_tests::http::call;
use herald_tests::providers::FakeProviders;
use herald_tests::push::PushApp;
use serde_json::{Value, json};

const NOW: &str = "2026-12-07T01:00:00Z";
const METABASE_KEY: &str = "mb_key_console_7d1e9a0c3b";

/// A form for project `payments`, e-mailed, with no charts yet.
fn task_form(csrf: &str) -> Vec<(&'static str, String)> {
    [
        ("_csrf", csrf),
        ("name", "Daily operations"),
        ("channel", "email"),
        ("template", "card"),
        ("page.title", ""),
        ("page.share_url", ""),
        ("recipients.emails", "ops@example.com"),
        ("owner.email", "owner@example.com"),
        ("schedule.every", "day"),
        ("schedule.at", "09:00"),
        ("schedule.timezone", "Asia/Shanghai"),
        ("failure_limit", "3"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

async fn post(client: &mut ConsoleClient, path: &str, form: &[(&str, String)]) -> Page {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.post(path, &fields).await
}

/// The value of the form input named `name`, as the browser would send it.
fn input_value(html: &str, name: &str) -> Option<String> {
    let tag_start = html.find(&format!("name=\"{name}\""))?;
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>')?];
    let start = tag.find("value=\"")? + "value=\"".len();
    let end = tag[start..].find('"')?;
    Some(
        tag[start..start + end]
            .replace("&quot;", "\"")
            .replace("&#x2f;", "/")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

async fn app() -> (PushApp, FakeProviders, herald_fakes::FakeMetabase) {
    let metabase = herald_fakes::FakeMetabase::new(METABASE_KEY, "herald-bot", "mb-pw");
    // (The server runs until the test's runtime ends: its handle is only dropped.)
    let (metabase_url, _server) =
        herald_fakes::serve(herald_fakes::metabase_router(metabase.clone()))
            .await
            .expect("metabase");
    let fakes = FakeProviders::start(WecomConfig::default(), FeishuConfig::default()).await;
    let app = PushApp::new(NOW, fakes.config());
    app.configure_all(&fakes).await;
    for (name, body) in [
        (
            "metabase",
            json!({"kind": "metabase", "base_url": metabase_url, "auth": {"type": "api_key", "key": METABASE_KEY},
                   "projects": ["payments"], "private_network": true}),
        ),
        (
            "sales-only",
            json!({"kind": "http", "base_url": "https://erp.example.com/api", "auth": {"type": "none"},
                   "projects": ["sales"]}),
        ),
    ] {
        let put = call(
            &app.router,
            Method::PUT,
            &format!("/v1/sources/{name}"),
            Some(ADMIN_TOKEN),
            &body,
        )
        .await;
        assert_eq!(put.status, StatusCode::OK, "{name}: {:#}", put.body);
    }
    (app, fakes, metabase)
}

#[tokio::test]
async fn the_form_offers_a_projects_sources_and_what_they_hold() {
    let (app, _fakes, _metabase) = app().await;
    let mut admin = ConsoleClient::new(&app.router);
    admin.sign_in(ADMIN_TOKEN).await;

    // The sources payments' tasks may use, and no other.
    let new = admin.get("/ui/projects/payments/tasks/new").await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.html);
    assert!(
        new.html
            .contains("<option value=\"metabase\">metabase (metabase)</option>"),
        "{}",
        new.html
    );
    assert!(!new.html.contains("sales-only"), "{}", new.html);
    assert!(new.html.contains("list=\"source-names\""), "{}", new.html);
    // Each recipient field says which channel it is for (the script shows only those).
    assert!(
        new.html
            .contains("data-channel=\"wecom\"><label for=\"r-wecom_users\""),
        "{}",
        new.html
    );

    // For the script: what the source holds, each with the query a chart gives to read it.
    let listed = admin
        .get("/ui/projects/payments/sources/metabase/charts")
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.html);
    let listed: Value = serde_json::from_str(&listed.html).expect("JSON");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{listed:#}");
    assert_eq!(items[0]["name"], "Orders by region");
    let query: Value =
        serde_json::from_str(items[0]["query"].as_str().expect("text")).expect("JSON");
    assert_eq!(query, json!({"card": 42}));
    let unknown = admin.get("/ui/projects/payments/sources/nope/charts").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.html);

    // Without the script: "List the sources' charts" shows the form again with them offered.
    let csrf = new.csrf();
    let mut form = task_form(&csrf);
    form.push(("page.charts[0].name", "Orders".to_owned()));
    form.push(("page.charts[0].source", "metabase".to_owned()));
    let found = post(&mut admin, "/ui/projects/payments/tasks/charts", &form).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.html);
    assert!(
        found.html.contains(
            "<option value=\"{&quot;card&quot;:43}\" data-name=\"Refund rate\">Refund rate (scalar)</option>"
        ),
        "{}",
        found.html
    );
    assert_eq!(
        input_value(&found.html, "name").as_deref(),
        Some("Daily operations")
    );
    // A source that does not exist is named at its chart, what was typed kept.
    let mut typo = task_form(&csrf);
    typo.push(("page.charts[0].name", "Orders".to_owned()));
    typo.push(("page.charts[0].source", "metabsae".to_owned()));
    let refused = post(&mut admin, "/ui/projects/payments/tasks/charts", &typo).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("id=\"err-page.charts[0].source\""),
        "{}",
        refused.html
    );
    assert_eq!(
        input_value(&refused.html, "page.charts[0].source").as_deref(),
        Some("metabsae")
    );
}

#[tokio::test]
async fn a_dashboard_imported_into_the_form_is_saved_and_previewed_with_the_rows_read() {
    let (app, _fakes, metabase) = app().await;
    let mut editor_key = call(
        &app.router,
        Method::POST,
        "/v1/keys",
        Some(ADMIN_TOKEN),
        &json!({"role": "editor", "project": "payments"}),
    )
    .await;
    let key = editor_key.body["key"].take();
    let mut editor = ConsoleClient::new(&app.router);
    editor.sign_in(key.as_str().expect("a key")).await;
    let csrf = editor.get("/ui/projects/payments/tasks/new").await.csrf();

    // A dashboard id that is not there is named at its field.
    let mut form = task_form(&csrf);
    form.push(("import.source", "metabase".to_owned()));
    form.push(("import.dashboard", "99".to_owned()));
    let missing = post(&mut editor, "/ui/projects/payments/tasks/import", &form).await;
    assert!(missing.status.is_client_error(), "{}", missing.html);
    assert!(
        missing.html.contains("id=\"err-import."),
        "{}",
        missing.html
    );
    let mut form = task_form(&csrf);
    form.push(("import.dashboard", "3".to_owned()));
    let no_source = post(&mut editor, "/ui/projects/payments/tasks/import", &form).await;
    assert!(
        no_source.html.contains("id=\"err-import.source\""),
        "{}",
        no_source.html
    );

    // Dashboard 3: its title and two cards become the form's page.
    let mut form = task_form(&csrf);
    form.push(("import.source", "metabase".to_owned()));
    form.push(("import.dashboard", "3".to_owned()));
    let imported = post(&mut editor, "/ui/projects/payments/tasks/import", &form).await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.html);
    assert!(
        imported.html.contains("id=\"imported\""),
        "{}",
        imported.html
    );
    let html = &imported.html;
    assert_eq!(
        input_value(html, "page.title").as_deref(),
        Some("Daily operations")
    );
    assert_eq!(
        input_value(html, "page.charts[0].name").as_deref(),
        Some("Orders by region")
    );
    assert_eq!(
        input_value(html, "page.charts[1].name").as_deref(),
        Some("Refund rate")
    );
    assert_eq!(
        input_value(html, "page.charts[0].source").as_deref(),
        Some("metabase")
    );
    let query = input_value(html, "page.charts[0].query").expect("a query");
    assert_eq!(
        serde_json::from_str::<Value>(&query).expect("JSON"),
        json!({"card": 42})
    );

    // Card 42 needs its day: the editor adds it, previews (the rows read are shown) and saves.
    let mut saved_form = task_form(&csrf);
    for (key, value) in [
        (
            "page.title",
            input_value(html, "page.title").expect("title"),
        ),
        (
            "page.share_url",
            input_value(html, "page.share_url").unwrap_or_default(),
        ),
        ("page.charts[0].name", "Orders by region".to_owned()),
        ("page.charts[0].source", "metabase".to_owned()),
        (
            "page.charts[0].query",
            r#"{"card": 42, "parameters": {"day": "{{ yesterday }}"}}"#.to_owned(),
        ),
    ] {
        saved_form.retain(|(k, _)| *k != key);
        saved_form.push((key, value));
    }
    let preview = post(
        &mut editor,
        "/ui/projects/payments/tasks/preview",
        &saved_form,
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    assert!(preview.html.contains("Rows read"), "{}", preview.html);
    assert!(
        preview.html.contains("<td>华东</td><td>1200</td>"),
        "{}",
        preview.html
    );
    assert_eq!(metabase.days(), ["2026-12-06"], "yesterday in Shanghai");
    let saved = post(&mut editor, "/ui/projects/payments/tasks", &saved_form).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let tasks = call(
        &app.router,
        Method::GET,
        "/v1/projects/payments/tasks",
        Some(ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    let chart = &tasks.body["items"][0]["page"]["charts"][0];
    assert_eq!(chart["source"], "metabase", "{:#}", tasks.body);
    assert_eq!(
        chart["query"],
        json!({"card": 42, "parameters": {"day": "{{ yesterday }}"}})
    );
    assert!(
        !preview.html.contains(METABASE_KEY) && !imported.html.contains(METABASE_KEY),
        "the source's key never reaches a page"
    );
}

#[tokio::test]
async fn a_catalog_the_source_refuses_or_cannot_give_says_so_in_its_words() {
    let (app, _fakes, _metabase) = app().await;
    // Metabase answers that dashboard 99 is not there: the caller's to change, at its field.
    let missing = call(
        &app.router,
        Method::POST,
        "/v1/sources/metabase/import",
        Some(ADMIN_TOKEN),
        &json!({"dashboard": "99"}),
    )
    .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:#}",
        missing.body
    );
    assert_eq!(missing.body["error"]["field"], "dashboard");
    assert!(
        missing.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Not found")),
        "{:#}",
        missing.body
    );
    // A Metabase that is down: nothing answered, try again (502, its words).
    let closed = herald_tests::local_server::free_port();
    let put = call(
        &app.router,
        Method::PUT,
        "/v1/sources/metabase-down",
        Some(ADMIN_TOKEN),
        &json!({"kind": "metabase", "base_url": format!("http://127.0.0.1:{closed}"),
                "auth": {"type": "api_key", "key": METABASE_KEY}, "projects": ["payments"],
                "private_network": true}),
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
    let down = call(
        &app.router,
        Method::GET,
        "/v1/sources/metabase-down/charts",
        Some(ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    assert_eq!(down.status, StatusCode::BAD_GATEWAY, "{:#}", down.body);
    assert!(
        down.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("could not connect") && m.contains("try again")),
        "{:#}",
        down.body
    );
}
