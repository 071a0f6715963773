//! Channel settings (admin): a tab each for WeCom, Feishu, DingTalk and SMTP, saved and tested in
//! place.
use super::failure;
use crate::Console;
use crate::api::Failure;
use crate::session::{Signed, SignedForm};
use crate::view;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

/// What the page shows besides the stored settings: which channel's form was sent and how it went.
#[derive(Default)]
struct Outcome {
    channel: Option<String>,
    /// The values typed (shown again after an error).
    typed: Option<Value>,
    error: Option<Failure>,
    test: Option<Value>,
    test_status: Option<u16>,
    saved: bool,
}

async fn render(
    console: &Console,
    signed: &Signed,
    outcome: Outcome,
    status: StatusCode,
) -> Response {
    let settings = match console.get(&signed.open.principal, "/v1/settings").await {
        Ok(settings) => settings,
        Err(err) => return failure(signed, err),
    };
    let mut channels = settings["channels"].clone();
    // After an error the form shows what was typed, over what is stored (secrets stay "set").
    if let (Some(channel), Some(Value::Object(typed))) = (&outcome.channel, outcome.typed) {
        let stored = &mut channels[channel.as_str()];
        if !stored.is_object() {
            *stored = json!({});
        }
        for (key, value) in typed {
            stored[key] = value;
        }
    }
    let response = view::page(
        signed,
        "settings.html",
        json!({
            "settings": settings,
            "channels": channels,
            "active": outcome.channel.unwrap_or_else(|| "wecom".into()),
            "error": outcome.error,
            "test": outcome.test,
            "test_status": outcome.test_status,
            "saved": outcome.saved,
        }),
    );
    view::with_status(response, status)
}

#[derive(serde::Deserialize)]
pub(crate) struct PageQuery {
    saved: Option<String>,
}

pub(crate) async fn page(
    State(console): State<Console>,
    signed: Signed,
    axum::extract::Query(q): axum::extract::Query<PageQuery>,
) -> Response {
    let outcome = Outcome {
        channel: q.saved.clone(),
        saved: q.saved.is_some(),
        ..Outcome::default()
    };
    render(&console, &signed, outcome, StatusCode::OK).await
}

fn number(text: &str) -> Value {
    text.parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The API's channel body from the tab's form; an empty secret keeps the stored one.
fn channel_body(channel: &str, form: &SignedForm) -> Option<Value> {
    let enabled = form.fields.iter().any(|(k, _)| k == "enabled");
    let secret = |name: &str, body: &mut Value| {
        let value = form.value(name);
        if !value.is_empty() {
            body[name] = Value::String(value);
        }
    };
    let mut body = match channel {
        "smtp" => json!({
            "enabled": enabled, "host": form.value("host"), "port": number(&form.value("port")),
            "security": form.value("security"), "username": form.value("username"), "from": form.value("from"),
        }),
        "wecom" => {
            let mut body = json!({
                "enabled": enabled, "corp_id": form.value("corp_id"),
                "agent_id": number(&form.value("agent_id")),
                "encrypted": form.fields.iter().any(|(k, _)| k == "encrypted"),
            });
            // The field shows "set" for a stored proxy (kept as is); emptied, it removes it.
            body["proxy"] = Value::String(form.value("proxy"));
            body
        }
        "feishu" => json!({"enabled": enabled, "app_id": form.value("app_id")}),
        "dingtalk" => json!({
            "enabled": enabled, "app_key": form.value("app_key"),
            "agent_id": number(&form.value("agent_id")),
        }),
        _ => return None,
    };
    let secret_name = match channel {
        "smtp" => "password",
        "wecom" => "corp_secret",
        _ => "app_secret",
    };
    secret(secret_name, &mut body);
    Some(body)
}

pub(crate) async fn save(
    State(console): State<Console>,
    Path(channel): Path<String>,
    form: SignedForm,
) -> Response {
    let Some(body) = channel_body(&channel, &form) else {
        return failure(&form.signed, not_a_channel(&channel));
    };
    let path = format!("/v1/settings/channels/{}", super::seg(&channel));
    match console
        .call(&form.signed.open.principal, Method::PUT, &path, Some(&body))
        .await
        .ok()
    {
        Ok(_) => Redirect::to(&format!("/ui/settings?saved={channel}#{channel}")).into_response(),
        Err(err) if err.status == StatusCode::BAD_REQUEST => {
            let outcome = Outcome {
                channel: Some(channel),
                typed: Some(body),
                error: Some(err.clone()),
                ..Outcome::default()
            };
            render(&console, &form.signed, outcome, err.status).await
        }
        Err(err) => failure(&form.signed, err),
    }
}

fn not_a_channel(channel: &str) -> Failure {
    Failure {
        status: StatusCode::NOT_FOUND,
        code: "not_found".into(),
        message: format!("no channel '{channel}' (smtp, wecom, feishu or dingtalk)"),
        field: None,
    }
}

/// Sends a real test message and shows the provider's answer and hint on the channel's tab.
pub(crate) async fn test(
    State(console): State<Console>,
    Path(channel): Path<String>,
    form: SignedForm,
) -> Response {
    if !matches!(channel.as_str(), "smtp" | "wecom" | "feishu" | "dingtalk") {
        return failure(&form.signed, not_a_channel(&channel));
    }
    let mut body = json!({});
    for key in ["to", "mobile", "email"] {
        let value = form.value(key);
        if !value.is_empty() {
            body[key] = Value::String(value);
        }
    }
    let path = format!("/v1/settings/channels/{}/test", super::seg(&channel));
    let answer = console
        .call(
            &form.signed.open.principal,
            Method::POST,
            &path,
            Some(&body),
        )
        .await;
    let status = answer.status.as_u16();
    let outcome = match answer.ok() {
        Ok(test) => Outcome {
            channel: Some(channel),
            test: Some(test),
            test_status: Some(status),
            ..Outcome::default()
        },
        Err(err) if matches!(err.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            return failure(&form.signed, err);
        }
        Err(err) => Outcome {
            channel: Some(channel),
            error: Some(err),
            ..Outcome::default()
        },
    };
    render(&console, &form.signed, outcome, StatusCode::OK).await
}
