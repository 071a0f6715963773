//! The console in process: sign-in and sessions, CSRF and origin checks, roles on the page and at
//! the server, the task form's field errors, and both languages. (`console_browser.rs` drives the
//! same pages in Chromium.)
use axum::http::{Method, StatusCode};
use herald_tests::console::ConsoleClient;
use herald_tests::http::call;
use herald_tests::{ADMIN_TOKEN, LocalApp};
use serde_json::{Value, json};

const NOW: &str = "2026-12-01T09:00:00Z";

fn task_form(at: &str) -> Vec<(&'static str, String)> {
    [
        ("name", "Daily sales"),
        ("channel", "email"),
        ("template", "card"),
        ("page.title", "Sales by region"),
        ("page.share_url", "https://bi.example.com/d/1"),
        ("recipients.emails", "a@example.com\nb@example.com"),
        ("owner.email", "owner@example.com"),
        ("schedule.every", "week"),
        ("schedule.days", "mon"),
        ("schedule.days", "thu"),
        ("schedule.timezone", "Asia/Shanghai"),
        ("content.share_link", "on"),
        ("failure_limit", "3"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .chain([("schedule.at", at.to_owned())])
    .collect()
}

async fn post_form(
    client: &mut ConsoleClient,
    path: &str,
    csrf: &str,
    form: &[(&str, String)],
) -> herald_tests::console::Page {
    let mut fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fields.push(("_csrf", csrf));
    client.post(path, &fields).await
}

async fn tasks(app: &LocalApp) -> Vec<Value> {
    let reply = call(
        &app.router,
        Method::GET,
        "/v1/projects/sales/tasks",
        Some(ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    reply.body["items"].as_array().cloned().unwrap_or_default()
}

async fn key(app: &LocalApp, role: &str) -> (String, String) {
    herald_tests::http::new_key(&app.router, role, "sales").await
}

#[tokio::test]
async fn signing_in_opens_a_session_a_bad_key_does_not_and_signing_out_ends_it() {
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    let page = browser.get("/ui/projects/sales/tasks").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location.as_deref(),
        Some("/ui/sign-in?next=%2Fui%2Fprojects%2Fsales%2Ftasks")
    );

    let refused = browser
        .post("/ui/sign-in", &[("key", "hk_0123456789abcdef_guess")])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.html.contains("That key was not accepted"),
        "{}",
        refused.html
    );
    assert!(browser.session.is_none());

    let page = browser
        .post(
            "/ui/sign-in",
            &[("key", ADMIN_TOKEN), ("next", "/ui/projects/sales/tasks")],
        )
        .await;
    assert_eq!(page.location.as_deref(), Some("/ui/projects/sales/tasks"));
    let cookie = &page.set_cookie[0];
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );
    assert!(
        !cookie.contains(ADMIN_TOKEN),
        "the key is never in the cookie"
    );
    let list = browser.get("/ui/projects/sales/tasks").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.html.contains("No push tasks yet"));
    // No framing by other sites, scripts only from the console, pages with data not stored.
    let policy = list.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    for rule in [
        "frame-ancestors 'none'",
        "script-src 'self'",
        "form-action 'self'",
    ] {
        assert!(policy.contains(rule), "{policy}");
    }
    assert_eq!(list.headers["x-frame-options"], "DENY");
    assert_eq!(list.headers["cache-control"], "no-store");

    // Sign-in never leads off the console.
    let elsewhere = browser
        .post(
            "/ui/sign-in",
            &[("key", ADMIN_TOKEN), ("next", "//evil.example/")],
        )
        .await;
    assert_eq!(elsewhere.location.as_deref(), Some("/ui"));

    // (That sign-in opened a new session: its pages carry a new token.)
    let csrf = browser.get("/ui/projects/sales/tasks").await.csrf();
    assert_ne!(csrf, list.csrf());
    let out = browser.post("/ui/sign-out", &[("_csrf", &csrf)]).await;
    assert!(
        out.set_cookie[0].contains("Max-Age=0"),
        "{:?}",
        out.set_cookie
    );
    assert!(browser.session.is_none());
    assert_eq!(
        browser.get("/ui/projects/sales/tasks").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn over_https_the_cookie_is_secure() {
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.headers.push(("x-forwarded-proto", "https".into()));
    let page = browser.sign_in(ADMIN_TOKEN).await;
    assert!(
        page.set_cookie[0].contains("; Secure"),
        "{:?}",
        page.set_cookie
    );
}

#[tokio::test]
async fn a_form_without_the_sessions_token_or_from_another_site_changes_nothing() {
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.sign_in(ADMIN_TOKEN).await;
    let form = task_form("09:00");
    let path = "/ui/projects/sales/tasks";
    assert_eq!(
        post_form(&mut browser, path, "", &form).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_form(&mut browser, path, "forged", &form).await.status,
        StatusCode::FORBIDDEN
    );
    // Another session's token is no good either.
    let mut other = ConsoleClient::new(&app.router);
    other.sign_in(ADMIN_TOKEN).await;
    let other_token = other.get("/ui/projects/sales/tasks").await.csrf();
    assert_eq!(
        post_form(&mut browser, path, &other_token, &form)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // The right token, posted from another site's page.
    let csrf = browser.get(path).await.csrf();
    browser
        .headers
        .push(("origin", "https://evil.example".into()));
    assert_eq!(
        post_form(&mut browser, path, &csrf, &form).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(tasks(&app).await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn the_task_form_shows_the_apis_error_at_its_field_and_keeps_what_was_typed() {
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.sign_in(ADMIN_TOKEN).await;
    let csrf = browser.get("/ui/projects/sales/tasks/new").await.csrf();
    let page = post_form(
        &mut browser,
        "/ui/projects/sales/tasks",
        &csrf,
        &task_form("25:00"),
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.html.contains(r#"name="schedule.at" value="25:00" placeholder="09:00" aria-invalid="true" aria-describedby="err-schedule.at""#),
        "{}",
        page.html
    );
    assert!(
        page.html
            .contains(r#"id="err-schedule.at" role="alert">time of day must be HH:MM"#)
    );
    assert!(
        page.html.contains("Sales by region"),
        "typed values are kept"
    );
    assert!(tasks(&app).await.is_empty());

    let page = post_form(
        &mut browser,
        "/ui/projects/sales/tasks",
        &csrf,
        &task_form("10:00"),
    )
    .await;
    assert_eq!(
        page.location.as_deref(),
        Some("/ui/projects/sales/tasks?flash=created")
    );
    let stored = tasks(&app).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["schedule"]["days"], json!(["mon", "thu"]));
    assert_eq!(
        stored[0]["recipients"]["emails"],
        json!(["a@example.com", "b@example.com"])
    );
    let list = browser.get("/ui/projects/sales/tasks?flash=created").await;
    assert!(list.html.contains("Task created."));
    assert!(
        list.html.contains("Mon, Thu at 10:00 (Asia&#x2f;Shanghai)"),
        "{}",
        list.html
    );
    assert!(
        list.html.contains("to 2 recipients"),
        "the push confirmation counts them"
    );

    // Editing with a stale version offers a reload instead of overwriting.
    let id = stored[0]["id"].as_str().expect("id");
    let edit = browser
        .get(&format!("/ui/projects/sales/tasks/{id}/edit"))
        .await;
    assert!(
        edit.html.contains(r#"name="version" value="1""#),
        "{}",
        edit.html
    );
    let mut stale = task_form("11:00");
    stale.push(("version", "0".into()));
    let page = post_form(
        &mut browser,
        &format!("/ui/projects/sales/tasks/{id}"),
        &csrf,
        &stale,
    )
    .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.html.contains("Reload"), "{}", page.html);
}

/// WeCom groups are typed one a line, `name = key`; the edit form shows them as `name = set` and
/// saving it unchanged keeps each stored robot; a line without a key is named at its field.
#[tokio::test]
async fn wecom_groups_are_edited_in_the_task_form_and_their_keys_never_shown() {
    const KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.sign_in(ADMIN_TOKEN).await;
    let csrf = browser.get("/ui/projects/sales/tasks/new").await.csrf();
    let mut form = task_form("10:00");
    form.retain(|(k, _)| !k.starts_with("recipients.") && !k.starts_with("owner."));
    form.retain(|(k, _)| *k != "channel");
    form.extend([
        ("channel", "wecom".to_owned()),
        ("owner.wecom_user", "lisi".to_owned()),
        ("recipients.wecom_robots", "销售群 = 只有".to_owned()),
    ]);
    let refused = post_form(&mut browser, "/ui/projects/sales/tasks", &csrf, &form).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .html
            .contains(r#"id="err-recipients.wecom_robots" role="alert">"#),
        "{}",
        refused.html
    );
    assert!(tasks(&app).await.is_empty());

    form.retain(|(k, _)| *k != "recipients.wecom_robots");
    form.push((
        "recipients.wecom_robots",
        format!(
            "销售群 = https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}\n华东销售 = {KEY}"
        ),
    ));
    let created = post_form(&mut browser, "/ui/projects/sales/tasks", &csrf, &form).await;
    assert_eq!(
        created.location.as_deref(),
        Some("/ui/projects/sales/tasks?flash=created"),
        "{}",
        created.html
    );
    let stored = tasks(&app).await;
    let id = stored[0]["id"].as_str().expect("id");
    let edit = browser
        .get(&format!("/ui/projects/sales/tasks/{id}/edit"))
        .await;
    assert!(
        edit.html.contains("销售群 = set\n华东销售 = set"),
        "{}",
        edit.html
    );
    assert!(!edit.html.contains(KEY), "a robot key is never shown");

    form.retain(|(k, _)| *k != "recipients.wecom_robots");
    form.push(("recipients.wecom_robots", "销售群 = set".to_owned()));
    form.push(("version", "1".to_owned()));
    let saved = post_form(
        &mut browser,
        &format!("/ui/projects/sales/tasks/{id}"),
        &csrf,
        &form,
    )
    .await;
    assert!(saved.location.is_some(), "{}", saved.html);
    assert_eq!(
        tasks(&app).await[0]["recipients"]["wecom_robots"],
        json!([{"name": "销售群", "webhook_key": "set"}])
    );
}

#[tokio::test]
async fn dingtalk_groups_and_members_are_edited_in_the_task_form_and_the_settings_have_a_tab() {
    const TOKEN: &str = "b1f0c2d3e4a5968778695a4b3c2d1e0f";
    const SECRET: &str = "SEC3f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.sign_in(ADMIN_TOKEN).await;
    let new = browser.get("/ui/projects/sales/tasks/new").await;
    assert!(
        new.html.contains(r#"<option value="dingtalk""#),
        "{}",
        new.html
    );
    let csrf = new.csrf();
    let mut form = task_form("10:00");
    form.retain(|(k, _)| {
        !k.starts_with("recipients.") && !k.starts_with("owner.") && *k != "channel"
    });
    form.extend([
        ("channel", "dingtalk".to_owned()),
        ("owner.dingtalk_user", "manager01".to_owned()),
        (
            "recipients.dingtalk_users",
            "manager01\nmanager02".to_owned(),
        ),
        (
            "recipients.dingtalk_robots",
            format!(
                "华东销售 = https://oapi.dingtalk.com/robot/send?access_token={TOKEN} {SECRET}"
            ),
        ),
    ]);
    let created = post_form(&mut browser, "/ui/projects/sales/tasks", &csrf, &form).await;
    assert!(created.location.is_some(), "{}", created.html);
    let stored = tasks(&app).await;
    assert_eq!(
        stored[0]["recipients"]["dingtalk_robots"],
        json!([{"name": "华东销售", "access_token": "set"}])
    );
    assert_eq!(
        stored[0]["recipients"]["dingtalk_users"],
        json!(["manager01", "manager02"])
    );
    let id = stored[0]["id"].as_str().expect("id");
    let edit = browser
        .get(&format!("/ui/projects/sales/tasks/{id}/edit"))
        .await;
    assert!(edit.html.contains("华东销售 = set"), "{}", edit.html);
    assert!(
        !edit.html.contains(TOKEN) && !edit.html.contains(SECRET),
        "never shown"
    );

    let settings = browser.get("/ui/settings").await;
    assert!(
        settings.html.contains(r#"id="tab-dingtalk""#),
        "{}",
        settings.html
    );
    assert!(settings.html.contains(r#"name="app_key""#));
    let csrf = settings.csrf();
    let saved = post_form(
        &mut browser,
        "/ui/settings/channels/dingtalk",
        &csrf,
        &[
            ("enabled", "on".to_owned()),
            ("app_key", "dingappkey".to_owned()),
            ("app_secret", "app-secret".to_owned()),
            ("agent_id", "x".to_owned()),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::BAD_REQUEST, "{}", saved.html);
    assert!(
        saved.html.contains(r#"id="err-dingtalk-agent_id""#),
        "{}",
        saved.html
    );
}

#[tokio::test]
async fn a_viewer_sees_no_write_actions_and_the_server_refuses_them_anyway() {
    let app = LocalApp::new(NOW);
    let mut admin = ConsoleClient::new(&app.router);
    admin.sign_in(ADMIN_TOKEN).await;
    let csrf = admin.get("/ui/projects/sales/tasks/new").await.csrf();
    post_form(
        &mut admin,
        "/ui/projects/sales/tasks",
        &csrf,
        &task_form("09:00"),
    )
    .await;
    let id = tasks(&app).await[0]["id"].as_str().expect("id").to_owned();

    let (_, viewer_key) = key(&app, "viewer").await;
    let mut viewer = ConsoleClient::new(&app.router);
    viewer.sign_in(&viewer_key).await;
    assert_eq!(
        viewer.get("/ui").await.location.as_deref(),
        Some("/ui/projects/sales/tasks")
    );
    let list = viewer.get("/ui/projects/sales/tasks").await;
    assert!(list.html.contains("Daily sales"));
    for write in ["data-action=", "id=\"new-task\"", "/edit\"", "/ui/settings"] {
        assert!(!list.html.contains(write), "a viewer sees no {write}");
    }
    let csrf = list.csrf();
    let refused = viewer
        .post(
            &format!("/ui/projects/sales/tasks/{id}/push"),
            &[("_csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert!(
        refused.html.contains("viewer key"),
        "the API's own reason: {}",
        refused.html
    );
    let settings = viewer.get("/ui/settings").await;
    assert_eq!(settings.status, StatusCode::FORBIDDEN);
    // Another project is not found, as in the API.
    assert_eq!(
        viewer.get("/ui/projects/other/tasks").await.status,
        StatusCode::NOT_FOUND
    );
    let records = call(
        &app.router,
        Method::GET,
        "/v1/projects/sales/records",
        Some(ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    assert_eq!(records.body["items"], json!([]), "nothing was pushed");
}

#[tokio::test]
async fn revoking_the_key_ends_its_sessions_and_a_changed_or_expired_cookie_is_none() {
    let app = LocalApp::new(NOW);
    let (id, editor_key) = key(&app, "editor").await;
    let mut editor = ConsoleClient::new(&app.router);
    editor.sign_in(&editor_key).await;
    assert_eq!(
        editor.get("/ui/projects/sales/tasks").await.status,
        StatusCode::OK
    );

    let mut forged = ConsoleClient::new(&app.router);
    let session = editor.session.clone().expect("session");
    let (claims, _signature) = session.rsplit_once('.').expect("signed");
    forged.session = Some(format!("{claims}.AAAA"));
    assert_eq!(
        forged.get("/ui/projects/sales/tasks").await.status,
        StatusCode::SEE_OTHER
    );

    let mut later = ConsoleClient::new(&app.router);
    later.session = Some(session);
    app.clock.advance(chrono::TimeDelta::hours(12));
    assert_eq!(
        later.get("/ui/projects/sales/tasks").await.status,
        StatusCode::SEE_OTHER,
        "expired"
    );
    app.clock.advance(chrono::TimeDelta::hours(-12));

    let deleted = call(
        &app.router,
        Method::DELETE,
        &format!("/v1/keys/{id}"),
        Some(ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        editor.get("/ui/projects/sales/tasks").await.status,
        StatusCode::SEE_OTHER,
        "revoked"
    );
}

#[tokio::test]
async fn the_pages_speak_chinese_to_a_chinese_browser_and_switch_on_request() {
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.accept_language = "zh-CN,zh;q=0.9,en;q=0.8";
    let sign_in = browser.get("/ui/sign-in").await;
    assert!(sign_in.html.contains("<html lang=\"zh-CN\">") && sign_in.html.contains("登录"));
    browser.sign_in(ADMIN_TOKEN).await;
    let csrf = browser.get("/ui/projects/sales/tasks/new").await.csrf();
    post_form(
        &mut browser,
        "/ui/projects/sales/tasks",
        &csrf,
        &task_form("09:00"),
    )
    .await;
    let id = tasks(&app).await[0]["id"].as_str().expect("id").to_owned();
    for (path, words) in [
        ("/ui/projects/sales/tasks".to_owned(), "每周一、四 09:00"),
        ("/ui/projects/sales/tasks/new".to_owned(), "新建推送任务"),
        (
            format!("/ui/projects/sales/tasks/{id}/edit"),
            "编辑推送任务",
        ),
        ("/ui/projects/sales/records".to_owned(), "暂无推送记录"),
        ("/ui/settings".to_owned(), "消息推送"),
        ("/ui/projects".to_owned(), "打开项目"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.html);
        assert!(page.html.contains(words), "{path} says {words}");
    }
    let switched = browser.get("/ui/lang/en?next=/ui/settings").await;
    assert!(
        switched.set_cookie[0].starts_with("herald_lang=en"),
        "{:?}",
        switched.set_cookie
    );
    assert_eq!(switched.location.as_deref(), Some("/ui/settings"));
}

#[tokio::test]
async fn an_admin_mints_a_key_seen_once_and_revoking_it_signs_its_holder_out() {
    let app = LocalApp::new(NOW);
    let mut admin = ConsoleClient::new(&app.router);
    admin.sign_in(ADMIN_TOKEN).await;
    let csrf = admin.get("/ui/settings/keys").await.csrf();
    let refused = admin
        .post("/ui/settings/keys", &[("_csrf", &csrf), ("role", "editor")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains("<strong>project</strong>"),
        "{}",
        refused.html
    );
    let created = admin
        .post(
            "/ui/settings/keys",
            &[("_csrf", &csrf), ("role", "editor"), ("project", "sales")],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let marker = "<code id=\"new-key-value\">";
    let start = created.html.find(marker).expect("the new key is shown") + marker.len();
    let key = created.html[start..]
        .split('<')
        .next()
        .expect("key")
        .to_owned();
    assert!(key.starts_with("hk_"), "{key}");
    let list = admin.get("/ui/settings/keys").await;
    assert!(!list.html.contains(&key), "shown once, never listed");
    let id = herald_core::domain::auth::key_id_of(&key)
        .expect("id")
        .to_string();
    assert!(
        list.html.contains(&format!("data-key=\"{id}\"")),
        "listed by id"
    );

    let mut holder = ConsoleClient::new(&app.router);
    holder.sign_in(&key).await;
    assert_eq!(
        holder.get("/ui/projects/sales/tasks").await.status,
        StatusCode::OK
    );
    let revoke = format!("/ui/settings/keys/{id}/revoke");
    let unconfirmed = admin.post(&revoke, &[("_csrf", &csrf)]).await;
    assert_eq!(
        unconfirmed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "asks first"
    );
    let revoked = admin
        .post(&revoke, &[("_csrf", &csrf), ("confirm", "yes")])
        .await;
    assert_eq!(
        revoked.location.as_deref(),
        Some("/ui/settings/keys?flash=key_revoked")
    );
    assert_eq!(
        holder.get("/ui/projects/sales/tasks").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn contacts_and_general_settings_are_kept_from_their_forms() {
    let app = LocalApp::new(NOW);
    let mut admin = ConsoleClient::new(&app.router);
    admin.sign_in(ADMIN_TOKEN).await;
    let csrf = admin.get("/ui/settings/contacts").await.csrf();
    let contact = |email: &'static str| {
        vec![
            ("id", "zhangsan"),
            ("name", "张三"),
            ("email", email),
            ("language", "zh"),
        ]
    };
    let mut fields = contact("not-an-address");
    fields.push(("_csrf", &csrf));
    let refused = admin.post("/ui/settings/contacts", &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains("id=\"err-contact-email\""),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("value=\"张三\""),
        "typed values are kept"
    );
    let mut fields = contact("zhangsan@example.com");
    fields.push(("_csrf", &csrf));
    let saved = admin.post("/ui/settings/contacts", &fields).await;
    assert_eq!(
        saved.location.as_deref(),
        Some("/ui/settings/contacts?flash=contact_saved")
    );
    let list = admin.get("/ui/settings/contacts").await;
    assert!(
        list.html.contains("data-contact=\"zhangsan\"")
            && list.html.contains("zhangsan@example.com")
    );
    let edit = admin.get("/ui/settings/contacts?edit=zhangsan").await;
    assert!(
        edit.html.contains("value=\"zhangsan@example.com\""),
        "the form holds the contact"
    );
    let deleted = admin
        .post(
            "/ui/settings/contacts/zhangsan/delete",
            &[("_csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(
        !admin
            .get("/ui/settings/contacts")
            .await
            .html
            .contains("data-contact=\"zhangsan\"")
    );

    let prefix = admin
        .post(
            "/ui/settings/general/url-prefix",
            &[("_csrf", &csrf), ("url_prefix", "https://sqle.example.com")],
        )
        .await;
    assert_eq!(
        prefix.location.as_deref(),
        Some("/ui/settings/general?flash=settings_saved")
    );
    let source = admin
        .post(
            "/ui/settings/general/webhook-sources",
            &[
                ("_csrf", &csrf),
                ("source", "jira"),
                ("secret", "s3cret-signing-key"),
            ],
        )
        .await;
    assert_eq!(source.status, StatusCode::SEE_OTHER, "{}", source.html);
    let settings = call(
        &app.router,
        Method::GET,
        "/v1/settings",
        Some(ADMIN_TOKEN),
        &Value::Null,
    )
    .await;
    assert_eq!(settings.body["url_prefix"], "https://sqle.example.com");
    assert_eq!(settings.body["webhook_sources"], json!(["jira"]));
    // Without a sandbox (as on AWS) there is no inbox, nor a link to one.
    assert_eq!(
        admin.get("/ui/settings/sandbox").await.status,
        StatusCode::NOT_FOUND
    );
    let page = admin.get("/ui/settings/general").await;
    assert!(!page.html.contains("/ui/settings/sandbox"));
    assert!(page.html.contains("<code>jira</code>") && !page.html.contains("s3cret-signing-key"));
}

#[tokio::test]
async fn the_schedule_editor_gets_the_next_runs_or_the_field_at_fault() {
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.sign_in(ADMIN_TOKEN).await;
    let base = "/ui/projects/sales/schedule/next?schedule.timezone=Asia%2FShanghai&schedule.every=";
    let runs = browser
        .get(&format!("{base}week&schedule.days=mon&schedule.at=10:00"))
        .await;
    let runs: Value = serde_json::from_str(&runs.html).expect("json");
    let runs = runs["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 5);
    for at in runs {
        let at = chrono::DateTime::parse_from_rfc3339(at.as_str().expect("time")).expect("rfc3339");
        let local = at.with_timezone(&chrono_tz::Asia::Shanghai);
        assert_eq!(local.format("%a %H:%M").to_string(), "Mon 10:00");
    }
    let wrong = browser.get(&format!("{base}day&schedule.at=25:00")).await;
    let wrong: Value = serde_json::from_str(&wrong.html).expect("json");
    assert_eq!(wrong["error"]["field"], "schedule.at");
    let unknown = browser.get(&format!("{base}fortnight")).await;
    let unknown: Value = serde_json::from_str(&unknown.html).expect("json");
    assert_eq!(unknown["error"]["field"], "schedule.every");
}

#[tokio::test]
async fn a_form_is_tested_before_it_is_saved_and_nothing_is_saved() {
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.sign_in(ADMIN_TOKEN).await;
    let csrf = browser.get("/ui/projects/sales/tasks/new").await.csrf();
    let bad = post_form(
        &mut browser,
        "/ui/projects/sales/tasks/test",
        &csrf,
        &task_form("7pm"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.html.contains("id=\"err-schedule.at\""),
        "the error at its field"
    );
    let tested = post_form(
        &mut browser,
        "/ui/projects/sales/tasks/test",
        &csrf,
        &task_form("10:00"),
    )
    .await;
    assert_eq!(tested.status, StatusCode::SEE_OTHER, "{}", tested.html);
    let record = tested.location.expect("to the test's record");
    assert!(
        record.starts_with("/ui/projects/sales/records/") && record.ends_with("?flash=tested"),
        "{record}"
    );
    assert!(tasks(&app).await.is_empty(), "testing saves nothing");
    let page = browser.get(&record).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("Test push sent to the owner.")
            && page.html.contains("owner@example.com")
    );
}

#[tokio::test]
async fn a_records_time_filter_without_a_zone_is_taken_as_utc_and_a_bad_one_is_named() {
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.sign_in(ADMIN_TOKEN).await;
    let page = browser
        .get("/ui/projects/sales/records?from=2026-12-01T08%3A00")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.html
            .contains("data-value=\"2026-12-01T08:00:00+00:00\""),
        "{}",
        page.html
    );
    let bad = browser.get("/ui/projects/sales/records?to=yesterday").await;
    assert!(
        bad.html.contains("<strong>to</strong>"),
        "the API names the filter: {}",
        bad.html
    );
}

/// A name that would be a form posting the admin's CSRF token if any page wrote it as markup.
const HOSTILE_NAME: &str =
    "<form method=post action=/ui/settings/general/url-prefix><button>x</button></form>";

#[tokio::test]
async fn hostile_names_are_text_on_every_page_and_form() {
    let app = LocalApp::new(NOW);
    let mut admin = ConsoleClient::new(&app.router);
    admin.sign_in(ADMIN_TOKEN).await;
    let csrf = admin.get("/ui/projects/sales/tasks/new").await.csrf();
    let mut form = task_form("09:00");
    for (key, value) in form.iter_mut() {
        if *key == "name" || *key == "page.title" {
            *value = HOSTILE_NAME.to_owned();
        }
    }
    let created = post_form(&mut admin, "/ui/projects/sales/tasks", &csrf, &form).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let id = tasks(&app).await[0]["id"].as_str().expect("id").to_owned();
    // A contact and a key named the same way.
    let contact = call(
        &app.router,
        Method::PUT,
        "/v1/contacts/hostile",
        Some(ADMIN_TOKEN),
        &json!({"name": HOSTILE_NAME, "email": "h@example.com"}),
    )
    .await;
    assert_eq!(contact.status, StatusCode::OK, "{:#}", contact.body);
    let test = post_form(
        &mut admin,
        &format!("/ui/projects/sales/tasks/{id}/test"),
        &csrf,
        &[],
    )
    .await;
    let mut pages = vec![test];
    for path in [
        "/ui/projects/sales/tasks".to_owned(),
        format!("/ui/projects/sales/tasks/{id}/edit"),
        "/ui/projects/sales/records".to_owned(),
        "/ui/settings/contacts".to_owned(),
        "/ui/settings/keys".to_owned(),
    ] {
        pages.push(admin.get(&path).await);
    }
    // The confirmations without JavaScript are pages of their own.
    for action in ["push", "disable", "delete"] {
        pages.push(
            post_form(
                &mut admin,
                &format!("/ui/projects/sales/tasks/{id}/{action}"),
                &csrf,
                &[],
            )
            .await,
        );
    }
    let mut escaped_seen = 0;
    for page in &pages {
        assert!(
            !page
                .html
                .contains("<form method=post action=/ui/settings/general/url-prefix"),
            "a page wrote the name as markup:\n{}",
            page.html
        );
        assert!(!page.html.contains("<button>x</button>"), "{}", page.html);
        if page.html.contains("&lt;form method=post") {
            escaped_seen += 1;
        }
    }
    assert!(
        escaped_seen >= 5,
        "the name is shown (escaped) on the pages: {escaped_seen}"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server_and_everywhere_ends_all_of_the_keys() {
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.sign_in(ADMIN_TOKEN).await;
    // A copy of the cookie (another tab, or someone who read it).
    let mut copy = ConsoleClient::new(&app.router);
    copy.session = browser.session.clone();
    assert_eq!(
        copy.get("/ui/projects/sales/tasks").await.status,
        StatusCode::OK
    );
    let csrf = browser.get("/ui/projects/sales/tasks").await.csrf();
    let out = browser.post("/ui/sign-out", &[("_csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        copy.get("/ui/projects/sales/tasks").await.status,
        StatusCode::SEE_OTHER,
        "the copied cookie opens nothing after sign-out"
    );

    // Sign out everywhere: every session of the key, on every browser; other keys keep theirs.
    let (_, editor) = key(&app, "editor").await;
    let (mut laptop, mut phone, mut other) = (
        ConsoleClient::new(&app.router),
        ConsoleClient::new(&app.router),
        ConsoleClient::new(&app.router),
    );
    laptop.sign_in(&editor).await;
    phone.sign_in(&editor).await;
    other.sign_in(ADMIN_TOKEN).await;
    let csrf = laptop.get("/ui/projects/sales/tasks").await.csrf();
    let out = laptop
        .post("/ui/sign-out-everywhere", &[("_csrf", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        phone.get("/ui/projects/sales/tasks").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        other.get("/ui/projects/sales/tasks").await.status,
        StatusCode::OK
    );
    // Signing in again afterwards works, even within the same second.
    laptop.sign_in(&editor).await;
    assert_eq!(
        laptop.get("/ui/projects/sales/tasks").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_admin_adds_tests_and_deletes_a_report_source_from_settings() {
    let app = LocalApp::new(NOW);
    let mut admin = ConsoleClient::new(&app.router);
    admin.sign_in(ADMIN_TOKEN).await;
    let page = admin.get("/ui/settings/sources").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("No sources yet"), "{}", page.html);
    let csrf = page.csrf();
    let secret = "src-console-token-3f9a1b";
    let form = [
        ("_csrf", csrf.as_str()),
        ("name", "erp-api"),
        ("kind", "http"),
        ("base_url", "https://erp.example.com/api"),
        ("auth_type", "bearer"),
        ("secret", secret),
        ("projects", "sales"),
    ];
    let saved = admin.post("/ui/settings/sources", &form).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let list = admin
        .get("/ui/settings/sources?flash=report_source_saved")
        .await;
    assert!(list.html.contains("Source saved."), "{}", list.html);
    assert!(
        list.html.contains("data-source=\"erp-api\""),
        "{}",
        list.html
    );
    assert!(!list.html.contains(secret), "the secret never comes back");
    // A bad field is shown at its field; nothing is saved.
    let mut bad = form;
    bad[1] = ("name", "Bad Name");
    let refused = admin.post("/ui/settings/sources", &bad).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(
        refused.html.contains("err-source-source"),
        "{}",
        refused.html
    );
    // A test with a query that is no JSON says so.
    let tested = admin
        .post(
            "/ui/settings/sources/erp-api/test",
            &[("_csrf", csrf.as_str()), ("query", "{path")],
        )
        .await;
    assert_eq!(tested.status, StatusCode::BAD_REQUEST, "{}", tested.html);
    assert!(tested.html.contains("is not JSON"), "{}", tested.html);
    let deleted = admin
        .post(
            "/ui/settings/sources/erp-api/delete",
            &[("_csrf", csrf.as_str()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.html);
    assert!(
        !admin
            .get("/ui/settings/sources")
            .await
            .html
            .contains("data-source=\"erp-api\"")
    );
}

#[tokio::test]
async fn the_task_form_reads_a_chart_from_a_source_with_its_query() {
    let app = LocalApp::new(NOW);
    let source = json!({"kind": "http", "base_url": "https://erp.example.com/api",
                        "auth": {"type": "bearer", "token": "erp-token-console"}, "projects": ["sales"]});
    let put = call(
        &app.router,
        Method::PUT,
        "/v1/sources/erp-api",
        Some(ADMIN_TOKEN),
        &source,
    )
    .await;
    assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
    let mut admin = ConsoleClient::new(&app.router);
    admin.sign_in(ADMIN_TOKEN).await;
    let csrf = admin.get("/ui/projects/sales/tasks/new").await.csrf();
    let mut form = task_form("09:00");
    form.push(("page.charts[0].name", "Stock".to_owned()));
    form.push(("page.charts[0].source", "erp-api".to_owned()));
    form.push((
        "page.charts[0].query",
        "{\"path\": \"/reports/stock\"}".to_owned(),
    ));
    form.push(("page.charts[0].rows", "/data/items".to_owned()));
    let saved = post_form(&mut admin, "/ui/projects/sales/tasks", &csrf, &form).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let task = &tasks(&app).await[0];
    assert_eq!(task["page"]["charts"][0]["source"], "erp-api", "{task:#}");
    assert_eq!(
        task["page"]["charts"][0]["query"],
        json!({"path": "/reports/stock"})
    );
    let edit = admin
        .get(&format!(
            "/ui/projects/sales/tasks/{}/edit",
            task["id"].as_str().expect("id")
        ))
        .await;
    assert!(
        edit.html
            .contains("{&quot;path&quot;:&quot;&#x2f;reports&#x2f;stock&quot;}"),
        "{}",
        edit.html
    );
    // A query that is not JSON is named at its field, what was typed kept.
    let mut bad = task_form("09:00");
    bad.push(("page.charts[0].name", "Stock".to_owned()));
    bad.push(("page.charts[0].source", "erp-api".to_owned()));
    bad.push(("page.charts[0].query", "{path".to_owned()));
    let refused = post_form(&mut admin, "/ui/projects/sales/tasks", &csrf, &bad).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(
        refused.html.contains("page.charts[0].query"),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("value=\"{path\""), "{}", refused.html);
}

#[tokio::test]
async fn conditions_are_edited_as_one_rule_a_line_and_kept_through_an_edit() {
    let app = LocalApp::new(NOW);
    let mut browser = ConsoleClient::new(&app.router);
    browser.sign_in(ADMIN_TOKEN).await;
    let csrf = browser.get("/ui/projects/sales/tasks/new").await.csrf();
    let mut form = task_form("10:00");
    form.extend([
        ("page.charts[0].name", "GMV".to_owned()),
        (
            "page.charts[0].data_url",
            "https://bi.example.com/api/gmv".to_owned(),
        ),
        ("page.charts[0].fields.values", "gmv".to_owned()),
        ("conditions.when", "any".to_owned()),
        (
            "conditions.rules",
            r#"{"chart": "Revenue", "field": "gmv", "op": "<", "value": 1000000}"#.to_owned(),
        ),
    ]);
    let refused = post_form(&mut browser, "/ui/projects/sales/tasks", &csrf, &form).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.html.contains(
            r#"id="err-conditions" role="alert">rules[0].chart no chart of the page is named &#x27;Revenue&#x27;"#
        ),
        "{}",
        refused.html
    );
    assert!(tasks(&app).await.is_empty());

    form.retain(|(k, _)| *k != "conditions.rules");
    let rule = r#"{"chart":"GMV","field":"gmv","op":"<","value":1000000}"#;
    form.push((
        "conditions.rules",
        format!("{rule}\n{{\"changed_since_last_push\": true}}"),
    ));
    let created = post_form(&mut browser, "/ui/projects/sales/tasks", &csrf, &form).await;
    assert!(created.location.is_some(), "{}", created.html);
    let id = tasks(&app).await[0]["id"].as_str().expect("id").to_owned();
    let edit = browser
        .get(&format!("/ui/projects/sales/tasks/{id}/edit"))
        .await;
    let shown = format!("{rule}\n{{\"changed_since_last_push\":true}}")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    assert!(
        edit.html.contains(&shown),
        "the rules, one a line: {}",
        edit.html
    );

    // Saving the form as shown keeps them.
    form.retain(|(k, _)| *k != "conditions.rules");
    form.push((
        "conditions.rules",
        format!("{rule}\n{{\"changed_since_last_push\":true}}"),
    ));
    form.push(("version", "1".to_owned()));
    let saved = post_form(
        &mut browser,
        &format!("/ui/projects/sales/tasks/{id}"),
        &csrf,
        &form,
    )
    .await;
    assert!(saved.location.is_some(), "{}", saved.html);
    assert_eq!(
        tasks(&app).await[0]["conditions"],
        json!({"when": "any", "rules": [
            {"chart": "GMV", "field": "gmv", "op": "<", "value": 1000000},
            {"changed_since_last_push": true}
        ]})
    );
}
