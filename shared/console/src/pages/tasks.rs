//! Push tasks: the list with its actions, the new/edit form with preview, and the actions.
use super::task_schedule::{calendar_names, calendar_of, next_runs};
use super::{failure, seg};
use crate::Console;
use crate::api::Failure;
use crate::session::{Signed, SignedForm};
use crate::task_form::task_body;
use crate::view;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use herald_core::domain::auth::Principal;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
pub(crate) struct ProjectQuery {
    project: Option<String>,
}

/// An admin's first page: which project to open.
pub(crate) async fn projects(signed: Signed, Query(q): Query<ProjectQuery>) -> Response {
    if let Some(project) = q
        .project
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        return Redirect::to(&format!("/ui/projects/{}/tasks", seg(project))).into_response();
    }
    view::page(&signed, "projects.html", json!({}))
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    cursor: Option<String>,
    flash: Option<String>,
}

fn tasks_path(project: &str) -> String {
    format!("/v1/projects/{}/tasks", seg(project))
}

/// How many people and groups a task's push goes to (what the confirmation names).
fn audience(task: &Value) -> Value {
    let count = |key: &str| task["recipients"][key].as_array().map_or(0, Vec::len);
    let sum = |keys: &[&str]| keys.iter().map(|k| count(k)).sum::<usize>();
    let people = sum(&[
        "wecom_users",
        "feishu_users",
        "dingtalk_users",
        "emails",
        "contacts",
    ]);
    // Departments and tags, and group chats.
    let groups = sum(&[
        "wecom_parties",
        "wecom_tags",
        "wecom_robots",
        "feishu_chats",
        "dingtalk_robots",
    ]);
    json!({"people": people, "groups": groups})
}

pub(crate) async fn list(
    State(console): State<Console>,
    signed: Signed,
    Path(project): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let who = &signed.open.principal;
    let page = match console
        .get_page(who, &tasks_path(&project), 50, q.cursor.as_deref())
        .await
    {
        Ok(page) => page,
        Err(err) => return failure(&signed, err),
    };
    let items = page["items"].as_array().cloned().unwrap_or_default();
    // Each task's last run, read side by side (one small query per task on the page).
    let console = &console;
    let last_runs = futures::future::join_all(items.iter().map(|task| {
        let id = task["id"].as_str().unwrap_or_default().to_owned();
        let path = format!(
            "/v1/projects/{}/records?task={}&limit=1",
            seg(&project),
            seg(&id)
        );
        async move { console.get(who, &path).await.ok() }
    }))
    .await;
    let rows: Vec<Value> = items
        .into_iter()
        .zip(last_runs)
        .map(|(task, last)| {
            let last = last.and_then(|l| l["items"].get(0).cloned());
            json!({"task": task, "last": last, "audience": audience(&task)})
        })
        .collect();
    view::page(
        &signed,
        "tasks.html",
        json!({
            "project": project,
            "rows": rows,
            "next_cursor": page["next_cursor"].as_str(),
            "flash": q.flash,
        }),
    )
}

/// What a new task's form starts with.
fn blank_task() -> Value {
    json!({
        "name": "", "channel": "email", "template": "card",
        "page": {"title": "", "share_url": "", "charts": []},
        "recipients": {"wecom_users": [], "wecom_parties": [], "wecom_tags": [], "feishu_users": [], "emails": [], "contacts": []},
        "owner": {},
        "schedule": {"every": "week", "days": ["mon"], "at": "09:00", "timezone": "Asia/Shanghai"},
        "content": {"share_link": true, "snapshot": true},
        "exception_control": {
            "empty": {"range": [], "pause": false, "alarm": false},
            "access_error": {"range": [], "pause": false, "alarm": false}
        },
        "failure_limit": 3
    })
}

/// The form page: `task` holds the values shown; `id` is set when editing.
pub(super) struct Form<'a> {
    pub project: &'a str,
    pub id: Option<&'a str>,
    pub task: Value,
    pub error: Option<Failure>,
    pub preview: Option<Value>,
    /// What each source holds, by source name, when the form asked (`task_sources`).
    pub catalog: Value,
    /// A note above the form (what an import brought in).
    pub note: Option<Value>,
}

impl<'a> Form<'a> {
    pub fn new(project: &'a str, id: Option<&'a str>, task: Value) -> Self {
        Self {
            project,
            id,
            task,
            error: None,
            preview: None,
            catalog: Value::Null,
            note: None,
        }
    }
}

/// A preview with each message's body also as indented JSON (what the provider gets).
/// (The JSON is the message as the API shows it; the mail's pictures then point at the console.)
fn with_pretty_messages(project: &str, mut preview: Value) -> Value {
    let mut images = preview["images"].take();
    if let Some(messages) = preview["messages"].as_array_mut() {
        for message in messages.iter_mut() {
            message["pretty"] =
                Value::String(serde_json::to_string_pretty(&message["body"]).unwrap_or_default());
        }
        let bodies = messages.iter_mut().map(|m| &mut m["body"]).collect();
        crate::pictures::show(project, &mut images, bodies);
    }
    preview["images"] = images;
    preview
}

/// The sources `project`'s tasks may use, `[{name, kind}]`; none when they cannot be read (the
/// form still takes a typed name).
async fn usable(console: &Console, who: &Principal, project: &str) -> Vec<Value> {
    let listed = match console.get(who, "/v1/sources").await {
        Ok(listed) => listed,
        Err(err) => {
            tracing::warn!(error = %err.message, "the task form offers no sources");
            return Vec::new();
        }
    };
    // An admin sees every source with its projects; a member only those its project may use.
    let serves = |source: &Value| {
        source["projects"].as_array().is_none_or(|projects| {
            projects.is_empty() || projects.iter().any(|p| p == "*" || p == project)
        })
    };
    listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|source| serves(source))
        .map(|source| json!({"name": source["name"], "kind": source["kind"]}))
        .collect()
}

pub(super) async fn form_page(
    console: &Console,
    signed: &Signed,
    mut form: Form<'_>,
    status: StatusCode,
) -> Response {
    let sources = usable(console, &signed.open.principal, form.project).await;
    let who = &signed.open.principal;
    let calendar = calendar_of(console, who, &form.task["schedule"]).await;
    form.task["upcoming"] = json!(
        next_runs(&form.task["schedule"], calendar.as_ref(), console.now()).unwrap_or_default()
    );
    let calendars = calendar_names(console, who).await;
    // A chart's source query as the text field shows it (JSON, or what was typed).
    if let Some(charts) = form.task["page"]["charts"].as_array_mut() {
        for chart in charts {
            let text = match &chart["query"] {
                Value::Null => continue,
                Value::String(typed) => typed.clone(),
                query => query.to_string(),
            };
            chart["query_text"] = Value::String(text);
        }
    }
    // The conditions' rules as the text field shows them: one JSON rule per line (or what was typed).
    let rules = match &form.task["conditions"]["rules"] {
        Value::Array(rules) => Some(
            rules
                .iter()
                .map(|rule| match rule {
                    // A line that was not JSON comes back as typed.
                    Value::String(typed) => typed.clone(),
                    rule => rule.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Value::String(typed) => Some(typed.clone()),
        _ => None,
    };
    if let Some(text) = rules {
        form.task["conditions_text"] = Value::String(text);
    }
    let preview = form.preview.map(|p| with_pretty_messages(form.project, p));
    let action = match form.id {
        Some(id) => format!("/ui/projects/{}/tasks/{}", seg(form.project), seg(id)),
        None => format!("/ui/projects/{}/tasks", seg(form.project)),
    };
    let response = view::page(
        signed,
        "task_form.html",
        json!({
            "project": form.project,
            "id": form.id,
            "action": action,
            "task": form.task,
            "error": form.error,
            "preview": preview,
            "sources": sources,
            "calendars": calendars,
            "catalog": form.catalog,
            "note": form.note,
        }),
    );
    view::with_status(response, status)
}

pub(crate) async fn new_form(
    State(console): State<Console>,
    signed: Signed,
    Path(project): Path<String>,
) -> Response {
    if let Some(refused) = super::guard::write_refused(&signed, &project) {
        return refused;
    }
    let form = Form::new(&project, None, blank_task());
    form_page(&console, &signed, form, StatusCode::OK).await
}

pub(crate) async fn edit_form(
    State(console): State<Console>,
    signed: Signed,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = super::guard::write_refused(&signed, &project) {
        return refused;
    }
    let path = format!("{}/{}", tasks_path(&project), seg(&id));
    match console.get(&signed.open.principal, &path).await {
        Ok(task) => {
            let form = Form::new(&project, Some(&id), task);
            form_page(&console, &signed, form, StatusCode::OK).await
        }
        Err(err) => failure(&signed, err),
    }
}

/// A refused save shows the form again with what was typed and the API's error at its field.
pub(super) async fn refused(
    console: &Console,
    signed: &Signed,
    form: Form<'_>,
    err: Failure,
) -> Response {
    if matches!(err.status, StatusCode::UNAUTHORIZED | StatusCode::NOT_FOUND) {
        return failure(signed, err);
    }
    let status = err.status;
    let form = Form {
        error: Some(err),
        ..form
    };
    form_page(console, signed, form, status).await
}

pub(crate) async fn create(
    State(console): State<Console>,
    Path(project): Path<String>,
    form: SignedForm,
) -> Response {
    let mut body = task_body(&form.fields);
    if let Some(map) = body.as_object_mut() {
        map.remove("version");
    }
    let who = &form.signed.open.principal;
    match console.post(who, &tasks_path(&project), &body).await {
        Ok(_) => Redirect::to(&format!(
            "/ui/projects/{}/tasks?flash=created",
            seg(&project)
        ))
        .into_response(),
        Err(err) => {
            let shown = Form::new(&project, None, body);
            refused(&console, &form.signed, shown, err).await
        }
    }
}

pub(crate) async fn replace(
    State(console): State<Console>,
    Path((project, id)): Path<(String, String)>,
    form: SignedForm,
) -> Response {
    let body = task_body(&form.fields);
    let path = format!("{}/{}", tasks_path(&project), seg(&id));
    let who = &form.signed.open.principal;
    match console
        .call(who, Method::PUT, &path, Some(&body))
        .await
        .ok()
    {
        Ok(_) => Redirect::to(&format!("/ui/projects/{}/tasks?flash=saved", seg(&project)))
            .into_response(),
        Err(err) => {
            let shown = Form::new(&project, Some(&id), body);
            refused(&console, &form.signed, shown, err).await
        }
    }
}

/// Renders the unsaved form's message and page snapshot (nothing is sent or saved).
/// Posts the form, as an unsaved task body, to the API's `/v1/projects/{project}/{what}`:
/// the body (to show the form again), the task id when editing, and the API's answer.
async fn post_unsaved(
    console: &Console,
    form: &SignedForm,
    project: &str,
    what: &str,
) -> (Value, Option<String>, Result<Value, Failure>) {
    let body = task_body(&form.fields);
    let id = Some(form.value("id")).filter(|id| !id.is_empty());
    let path = format!("/v1/projects/{}/{what}", seg(project));
    let answer = console
        .post(&form.signed.open.principal, &path, &unsaved(&body))
        .await;
    (body, id, answer)
}

pub(crate) async fn preview(
    State(console): State<Console>,
    Path(project): Path<String>,
    form: SignedForm,
) -> Response {
    let (body, id, answer) = post_unsaved(&console, &form, &project, "preview").await;
    let id = id.as_deref();
    match answer {
        Ok(preview) => {
            let shown = Form {
                preview: Some(preview),
                ..Form::new(&project, id, body)
            };
            form_page(&console, &form.signed, shown, StatusCode::OK).await
        }
        Err(err) => {
            let shown = Form::new(&project, id, body);
            refused(&console, &form.signed, shown, err).await
        }
    }
}

/// The form's body as an unsaved task: no version, and no stored robot key ("set"), which
/// cannot be read back to preview or test with.
fn unsaved(body: &Value) -> Value {
    let mut unsaved = body.clone();
    if let Some(map) = unsaved.as_object_mut() {
        map.remove("version");
        let kept = map
            .get("alarm_robot")
            .and_then(|r| r["webhook_key"].as_str())
            .is_some_and(|k| k == herald_api::dto::tasks::SECRET_SET);
        if kept {
            map.remove("alarm_robot");
        }
    }
    unsaved
}

/// Sends what the form holds (saved or not) to its owner now, and opens the test's record.
pub(crate) async fn test_draft(
    State(console): State<Console>,
    Path(project): Path<String>,
    form: SignedForm,
) -> Response {
    let (body, id, answer) = post_unsaved(&console, &form, &project, "test").await;
    match answer {
        Ok(record) => {
            let run = record["id"].as_str().unwrap_or_default();
            Redirect::to(&format!(
                "/ui/projects/{}/records/{}?flash=tested",
                seg(&project),
                seg(run)
            ))
            .into_response()
        }
        Err(err) => {
            let shown = Form::new(&project, id.as_deref(), body);
            refused(&console, &form.signed, shown, err).await
        }
    }
}

/// Test, push now, enable, disable, delete. Push, disable and delete need `confirm=yes`, which
/// the confirmation dialog's button sends; without it the confirmation is a page of its own.
pub(crate) async fn act(
    State(console): State<Console>,
    Path((project, id, action)): Path<(String, String, String)>,
    form: SignedForm,
) -> Response {
    let signed = &form.signed;
    // No confirmation for a push, disable or delete the caller may not make.
    if let Some(refused) = super::guard::write_refused(signed, &project) {
        return refused;
    }
    let who = &signed.open.principal;
    let task_path = format!("{}/{}", tasks_path(&project), seg(&id));
    let list = format!("/ui/projects/{}/tasks", seg(&project));
    let confirmed = form.value("confirm") == "yes";
    if matches!(action.as_str(), "push" | "disable" | "delete") && !confirmed {
        return match console.get(who, &task_path).await {
            Ok(task) => view::page(
                signed,
                "message.html",
                json!({
                    "title": signed.lang.text("confirm").unwrap_or("Confirm"),
                    "text": "",
                    "confirm": json!({"action": action, "task": task, "audience": audience(&task),
                        "url": format!("{list}/{}/{}", seg(&id), seg(&action))}),
                }),
            ),
            Err(err) => failure(signed, err),
        };
    }
    let record_page = |answer: &Value, flash: &str| {
        let run = answer["id"].as_str().unwrap_or_default();
        Redirect::to(&format!(
            "/ui/projects/{}/records/{}?flash={flash}",
            seg(&project),
            seg(run)
        ))
        .into_response()
    };
    let confirm = json!({"confirm": true});
    let answer = match action.as_str() {
        "test" => {
            console
                .post(who, &format!("{task_path}/test"), &json!({}))
                .await
        }
        "push" => {
            console
                .post(who, &format!("{task_path}/push"), &confirm)
                .await
        }
        "disable" => {
            console
                .post(who, &format!("{task_path}/disable"), &confirm)
                .await
        }
        "enable" => {
            console
                .post(who, &format!("{task_path}/enable"), &json!({}))
                .await
        }
        "delete" => console
            .call(who, Method::DELETE, &task_path, None)
            .await
            .ok(),
        _ => {
            return super::failure(
                signed,
                Failure {
                    status: StatusCode::NOT_FOUND,
                    code: "not_found".into(),
                    message: format!("no action '{action}'"),
                    field: None,
                },
            );
        }
    };
    match (action.as_str(), answer) {
        ("test", Ok(answer)) => record_page(&answer, "tested"),
        ("push", Ok(answer)) => record_page(&answer, "pushed"),
        (_, Ok(_)) => Redirect::to(&format!("{list}?flash={action}d")).into_response(),
        (_, Err(err)) => failure(signed, err),
    }
}
