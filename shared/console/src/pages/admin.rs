//! The rest of the settings (admin): API keys, contacts, and the general settings (the ticket
//! link prefix and the webhook sources).
use super::{failure, seg};
use crate::Console;
use crate::api::Failure;
use crate::session::{Signed, SignedForm};
use crate::view;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize, Default)]
pub(crate) struct Flash {
    flash: Option<String>,
    edit: Option<String>,
    cursor: Option<String>,
}

/// A settings page that lists one of the API's collections (`keys`, `contacts`): its page of
/// items under that name, rendered by `{name}.html` with `extra`.
async fn list_page(
    console: &Console,
    signed: &Signed,
    name: &str,
    extra: Value,
    status: StatusCode,
    cursor: Option<&str>,
) -> Response {
    let api = format!("/v1/{name}");
    let items = match console
        .get_page(&signed.open.principal, &api, 100, cursor)
        .await
    {
        Ok(items) => items,
        Err(err) => return failure(signed, err),
    };
    let context = view::merged(
        json!({name: items, "active_tab": "settings", "sub": name}),
        extra,
    );
    view::with_status(view::page(signed, &format!("{name}.html"), context), status)
}

pub(crate) async fn keys(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<Flash>,
) -> Response {
    list_page(
        &console,
        &signed,
        "keys",
        json!({"flash": q.flash}),
        StatusCode::OK,
        q.cursor.as_deref(),
    )
    .await
}

/// Mints a key and shows it this once (it is stored only as a hash).
pub(crate) async fn create_key(State(console): State<Console>, form: SignedForm) -> Response {
    let mut body = json!({"role": form.value("role")});
    let project = form.value("project");
    if !project.is_empty() {
        body["project"] = Value::String(project);
    }
    match console
        .post(&form.signed.open.principal, "/v1/keys", &body)
        .await
    {
        Ok(created) => {
            list_page(
                &console,
                &form.signed,
                "keys",
                json!({"created": created}),
                StatusCode::OK,
                None,
            )
            .await
        }
        Err(err) if err.status == StatusCode::BAD_REQUEST => {
            list_page(
                &console,
                &form.signed,
                "keys",
                json!({"error": err, "typed": body}),
                StatusCode::BAD_REQUEST,
                None,
            )
            .await
        }
        Err(err) => failure(&form.signed, err),
    }
}

/// Deletes `api` after the confirmation (`confirm=yes`, from the dialog), then back to `back`.
async fn delete_confirmed(console: &Console, form: &SignedForm, api: &str, back: &str) -> Response {
    if form.value("confirm") != "yes" {
        let title = form.signed.lang.text("confirm").unwrap_or("Confirm");
        return view::message(&form.signed, StatusCode::UNPROCESSABLE_ENTITY, title, "");
    }
    match console
        .call(&form.signed.open.principal, Method::DELETE, api, None)
        .await
        .ok()
    {
        Ok(_) => Redirect::to(back).into_response(),
        Err(err) => failure(&form.signed, err),
    }
}

pub(crate) async fn revoke_key(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let api = format!("/v1/keys/{}", seg(&id));
    delete_confirmed(&console, &form, &api, "/ui/settings/keys?flash=key_revoked").await
}

pub(crate) async fn contacts(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<Flash>,
) -> Response {
    // `edit`: a contact's values in the form.
    let editing = match &q.edit {
        Some(id) => console
            .get(&signed.open.principal, &format!("/v1/contacts/{}", seg(id)))
            .await
            .ok(),
        None => None,
    };
    let extra = json!({"flash": q.flash, "typed": editing});
    list_page(
        &console,
        &signed,
        "contacts",
        extra,
        StatusCode::OK,
        q.cursor.as_deref(),
    )
    .await
}

const CONTACT_FIELDS: [&str; 6] = [
    "email",
    "mobile",
    "wecom_user",
    "feishu_open_id",
    "dingtalk_user",
    "language",
];

pub(crate) async fn save_contact(State(console): State<Console>, form: SignedForm) -> Response {
    let id = form.value("id");
    let mut body = json!({"name": form.value("name")});
    for key in CONTACT_FIELDS {
        let value = form.value(key);
        if !value.is_empty() {
            body[key] = Value::String(value);
        }
    }
    let api = format!("/v1/contacts/{}", seg(&id));
    match console
        .call(&form.signed.open.principal, Method::PUT, &api, Some(&body))
        .await
        .ok()
    {
        Ok(_) => Redirect::to("/ui/settings/contacts?flash=contact_saved").into_response(),
        Err(err) if matches!(err.status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND) => {
            let mut typed = body;
            typed["id"] = Value::String(id);
            let extra = json!({"error": err, "typed": typed});
            list_page(
                &console,
                &form.signed,
                "contacts",
                extra,
                StatusCode::BAD_REQUEST,
                None,
            )
            .await
        }
        Err(err) => failure(&form.signed, err),
    }
}

pub(crate) async fn delete_contact(
    State(console): State<Console>,
    Path(id): Path<String>,
    form: SignedForm,
) -> Response {
    let api = format!("/v1/contacts/{}", seg(&id));
    delete_confirmed(
        &console,
        &form,
        &api,
        "/ui/settings/contacts?flash=contact_deleted",
    )
    .await
}

async fn general_page(
    console: &Console,
    signed: &Signed,
    extra: Value,
    status: StatusCode,
) -> Response {
    let settings = match console.get(&signed.open.principal, "/v1/settings").await {
        Ok(settings) => settings,
        Err(err) => return failure(signed, err),
    };
    let context = view::merged(
        json!({"settings": settings, "active_tab": "settings", "sub": "general"}),
        extra,
    );
    view::with_status(view::page(signed, "general.html", context), status)
}

pub(crate) async fn general(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<Flash>,
) -> Response {
    general_page(&console, &signed, json!({"flash": q.flash}), StatusCode::OK).await
}

/// The answer to a general settings form: back with a flash, or the form with the API's error.
async fn general_answer(
    console: &Console,
    form: &SignedForm,
    result: Result<Value, Failure>,
    flash: &str,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/ui/settings/general?flash={flash}")).into_response(),
        Err(err) if err.status == StatusCode::BAD_REQUEST => {
            general_page(
                console,
                &form.signed,
                json!({"error": err}),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(err) => failure(&form.signed, err),
    }
}

pub(crate) async fn save_url_prefix(State(console): State<Console>, form: SignedForm) -> Response {
    let prefix = form.value("url_prefix");
    let body = json!({"url_prefix": (!prefix.is_empty()).then_some(prefix)});
    let result = console
        .call(
            &form.signed.open.principal,
            Method::PUT,
            "/v1/settings",
            Some(&body),
        )
        .await
        .ok();
    general_answer(&console, &form, result, "settings_saved").await
}

pub(crate) async fn save_webhook_source(
    State(console): State<Console>,
    form: SignedForm,
) -> Response {
    let api = format!(
        "/v1/settings/webhook-sources/{}",
        seg(&form.value("source"))
    );
    let body = json!({"secret": form.value("secret")});
    let result = console
        .call(&form.signed.open.principal, Method::PUT, &api, Some(&body))
        .await
        .ok();
    general_answer(&console, &form, result, "source_saved").await
}

/// What the sandbox caught, newest first (only when herald-local runs its sandbox). Admins only,
/// as every settings page: the settings' `admin_only` layer refuses anyone else first.
pub(crate) async fn sandbox(State(console): State<Console>, signed: Signed) -> Response {
    let Some(inbox) = &console.inbox else {
        let title = signed.lang.text("not_found").unwrap_or("Not found");
        return view::message(&signed, StatusCode::NOT_FOUND, title, "");
    };
    let inbox = (inbox.0)();
    let newest_first = |key: &str| -> Vec<Value> {
        let mut items = inbox[key].as_array().cloned().unwrap_or_default();
        items.reverse();
        items.truncate(200);
        for item in &mut items {
            if item.get("body").is_some() {
                item["pretty"] =
                    Value::String(serde_json::to_string_pretty(&item["body"]).unwrap_or_default());
                item["text"] = Value::String(readable_text(&item["body"]));
            }
            // A group robot names no recipient: the inbox shows the robot by its key's end.
            if let Some(key) = item["robot_key"].as_str() {
                let tail: String = key
                    .chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                item["group"] = Value::String(format!("…{tail}"));
            }
        }
        items
    };
    let context = json!({
        "active_tab": "settings", "sub": "sandbox",
        "wecom": newest_first("wecom"), "feishu": newest_first("feishu"),
        "dingtalk": newest_first("dingtalk"), "email": newest_first("email"),
    });
    view::page(&signed, "sandbox.html", context)
}

/// The words a message shows, as a reader sees them: markdown or text content of a WeCom, robot
/// or DingTalk body (empty for pictures and cards, whose JSON is shown instead).
fn readable_text(body: &Value) -> String {
    let candidates = [
        &body["markdown"]["content"],
        &body["markdown"]["text"],
        &body["text"]["content"],
        &body["msg"]["markdown"]["text"],
        &body["msg"]["text"]["content"],
    ];
    candidates
        .iter()
        .find_map(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}
