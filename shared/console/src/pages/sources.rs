//! Settings → Sources (admin): the report sources charts read from — add, edit, test with the
//! first rows shown, delete. Every form goes through the JSON API in process, so its rules and
//! field errors are the API's; a secret left as "set" keeps the stored one.
use super::{failure, seg};
use crate::Console;
use crate::session::{Signed, SignedForm};
use crate::view;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize, Default)]
pub(crate) struct SourcesQuery {
    flash: Option<String>,
    edit: Option<String>,
}

async fn sources_page(
    console: &Console,
    signed: &Signed,
    extra: Value,
    status: StatusCode,
) -> Response {
    let sources = match console.get(&signed.open.principal, "/v1/sources").await {
        Ok(sources) => sources,
        Err(err) => return failure(signed, err),
    };
    let context = view::merged(
        json!({"sources": sources["items"], "active_tab": "settings", "sub": "sources",
               "kinds": ["superset", "metabase", "redash", "http"],
               "auth_types": ["login", "api_key", "bearer", "header", "basic", "query", "none"]}),
        extra,
    );
    view::with_status(view::page(signed, "sources.html", context), status)
}

pub(crate) async fn page(
    State(console): State<Console>,
    signed: Signed,
    Query(q): Query<SourcesQuery>,
) -> Response {
    let editing = match &q.edit {
        Some(name) => console
            .get(
                &signed.open.principal,
                &format!("/v1/sources/{}", seg(name)),
            )
            .await
            .ok(),
        None => None,
    };
    sources_page(
        &console,
        &signed,
        json!({"flash": q.flash, "typed": editing}),
        StatusCode::OK,
    )
    .await
}

/// The API body a source form describes (the secret only when one was typed).
fn source_body(form: &SignedForm) -> Value {
    let auth_type = form.value("auth_type");
    let mut auth = json!({"type": auth_type});
    for key in ["name", "username", "provider"] {
        let value = form.value(&format!("auth_{key}"));
        if !value.is_empty() {
            auth[key] = Value::String(value);
        }
    }
    let secret = form.value("secret");
    if !secret.is_empty() {
        let field = match auth_type.as_str() {
            "bearer" => "token",
            "api_key" => "key",
            "header" | "query" => "value",
            _ => "password",
        };
        auth[field] = Value::String(secret);
    }
    let projects: Vec<String> = form
        .value("projects")
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    json!({
        "kind": form.value("kind"),
        "base_url": form.value("base_url"),
        "auth": auth,
        "projects": projects,
        "private_network": form.fields.iter().any(|(k, _)| k == "private_network"),
    })
}

pub(crate) async fn save(State(console): State<Console>, form: SignedForm) -> Response {
    let name = form.value("name");
    let body = source_body(&form);
    let api = format!("/v1/sources/{}", seg(&name));
    match console
        .call(&form.signed.open.principal, Method::PUT, &api, Some(&body))
        .await
        .ok()
    {
        Ok(_) => Redirect::to("/ui/settings/sources?flash=report_source_saved").into_response(),
        Err(err) if matches!(err.status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND) => {
            let mut typed = body;
            typed["name"] = Value::String(name);
            // What was typed comes back, never the secret.
            if let Some(auth) = typed["auth"].as_object_mut() {
                for secret in ["token", "key", "value", "password"] {
                    auth.remove(secret);
                }
            }
            sources_page(
                &console,
                &form.signed,
                json!({"error": err, "typed": typed}),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(err) => failure(&form.signed, err),
    }
}

/// Reads once from the source with the query typed (JSON) and shows what came back.
pub(crate) async fn test(
    State(console): State<Console>,
    Path(name): Path<String>,
    form: SignedForm,
) -> Response {
    let query: Value = match serde_json::from_str(&form.value("query")) {
        Ok(query) => query,
        Err(err) => {
            let error = json!({"field": "query", "message": format!("is not JSON: {err}")});
            return sources_page(
                &console,
                &form.signed,
                json!({"test_error": error, "tested_name": name}),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let body = json!({"query": query, "rows": form.value("rows")});
    let api = format!("/v1/sources/{}/test", seg(&name));
    match console
        .call(&form.signed.open.principal, Method::POST, &api, Some(&body))
        .await
        .ok()
    {
        Ok(answer) => {
            let columns: Vec<String> = answer["rows"][0]
                .as_object()
                .map(|row| row.keys().cloned().collect())
                .unwrap_or_default();
            let extra = json!({"tested": answer, "tested_name": name, "tested_columns": columns,
                               "tested_query": form.value("query")});
            sources_page(&console, &form.signed, extra, StatusCode::OK).await
        }
        Err(err) if matches!(err.status, StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND) => {
            sources_page(
                &console,
                &form.signed,
                json!({"test_error": err, "tested_name": name}),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(err) => failure(&form.signed, err),
    }
}

pub(crate) async fn delete(
    State(console): State<Console>,
    Path(name): Path<String>,
    form: SignedForm,
) -> Response {
    if form.value("confirm") != "yes" {
        let title = form.signed.lang.text("confirm").unwrap_or("Confirm");
        return view::message(&form.signed, StatusCode::UNPROCESSABLE_ENTITY, title, "");
    }
    let api = format!("/v1/sources/{}", seg(&name));
    match console
        .call(&form.signed.open.principal, Method::DELETE, &api, None)
        .await
        .ok()
    {
        Ok(_) => Redirect::to("/ui/settings/sources?flash=source_deleted").into_response(),
        // Tasks still read from it: the API's words name them.
        Err(err) if err.status == StatusCode::CONFLICT => {
            sources_page(
                &console,
                &form.signed,
                json!({"error": err}),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(err) => failure(&form.signed, err),
    }
}
