//! `POST /open-apis/contact/v3/users/batch_get_id?user_id_type=…` (provider-apis.md §3.3):
//! one entry per queried e-mail / mobile, `user_id` only for users found inside the app's scope.
//! More than 50 e-mails or mobiles (or none at all) → HTTP 400, code 99992402.
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

use crate::feishu::{FakeFeishu, FeishuConfig, FeishuUser, bearer, check_bearer, field_error};
use crate::record::Endpoint;
use crate::reply::Reply;

pub(crate) const MAX_KEYS: usize = 50;

pub(crate) async fn batch_get_id(
    State(fake): State<FakeFeishu>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let token = bearer(&headers);
    fake.answer(Endpoint::FeishuBatchGetId, token, || {
        handle(&fake, &headers, &query, &body).unwrap_or_else(|reply| reply)
    })
    .await
}

fn strings(body: &Value, field: &str) -> Result<Vec<String>, Reply> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| field_error(field, "must be an array of strings")),
        Some(_) => Err(field_error(field, "must be an array of strings")),
    }
}

/// Mobiles compare without a `+86` prefix.
fn same_mobile(a: &str, b: &str) -> bool {
    let strip = |m: &str| m.trim().trim_start_matches("+86").to_owned();
    strip(a) == strip(b)
}

fn id_of<'a>(user: &'a FeishuUser, id_type: &str) -> Option<&'a str> {
    match id_type {
        "user_id" => user.user_id.as_deref(),
        "union_id" => user.union_id.as_deref(),
        _ => Some(user.open_id.as_str()),
    }
}

fn entry(key: &str, value: &str, user: Option<&FeishuUser>, id_type: &str) -> Value {
    let mut entry = Map::new();
    if let Some(id) = user.filter(|u| u.available).and_then(|u| id_of(u, id_type)) {
        entry.insert("user_id".into(), json!(id));
    }
    entry.insert(key.into(), json!(value));
    if entry.contains_key("user_id") {
        entry.insert(
            "status".into(),
            json!({"is_frozen": false, "is_resigned": false, "is_activated": true,
                   "is_exited": false, "is_unjoin": false}),
        );
    }
    Value::Object(entry)
}

fn handle(
    fake: &FakeFeishu,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    raw: &[u8],
) -> Result<Reply, Reply> {
    check_bearer(fake, headers)?;
    let id_type = query.get("user_id_type").map_or("open_id", String::as_str);
    if !matches!(id_type, "open_id" | "union_id" | "user_id") {
        return Err(field_error(
            "user_id_type",
            "must be open_id, union_id or user_id",
        ));
    }
    let body: Value =
        serde_json::from_slice(raw).map_err(|_| field_error("body", "must be a JSON object"))?;
    let (emails, mobiles) = (strings(&body, "emails")?, strings(&body, "mobiles")?);
    for (field, list) in [("emails", &emails), ("mobiles", &mobiles)] {
        if list.len() > MAX_KEYS {
            return Err(field_error(field, "the max len is 50"));
        }
    }
    if emails.is_empty() && mobiles.is_empty() {
        return Err(field_error("emails", "emails or mobiles is required"));
    }
    let users = &fake.inner.config.users;
    let by_email = |email: &str| {
        users.iter().find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
        })
    };
    let by_mobile = |mobile: &str| {
        users
            .iter()
            .find(|u| u.mobile.as_deref().is_some_and(|m| same_mobile(m, mobile)))
    };
    let open = fake.inner.config.open_directory;
    let lookup = |key: &str, found: Option<&FeishuUser>| -> Option<FeishuUser> {
        found
            .cloned()
            .or_else(|| open.then(|| FeishuConfig::open_user(key)))
    };
    let mut user_list: Vec<Value> = emails
        .iter()
        .map(|e| entry("email", e, lookup(e, by_email(e)).as_ref(), id_type))
        .collect();
    user_list.extend(
        mobiles
            .iter()
            .map(|m| entry("mobile", m, lookup(m, by_mobile(m)).as_ref(), id_type)),
    );
    Ok(Reply::json(
        StatusCode::OK,
        0,
        json!({"code": 0, "msg": "success", "data": {"user_list": user_list}}),
    ))
}
