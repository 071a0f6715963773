//! `POST /open-apis/im/v1/messages?receive_id_type=…` (provider-apis.md §3.4).
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::TimeDelta;
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::FeishuUser;
use crate::feishu::{
    FakeFeishu, RATE_LIMIT_PER_SECOND, SentByUuid, bearer, check_bearer, error, field_error,
    rate_limited,
};
use crate::feishu_content::validate_content;
use crate::record::{AcceptedMessage, Endpoint};
use crate::reply::{Reply, random_hex};

const RECEIVE_ID_TYPES: [&str; 5] = ["open_id", "user_id", "union_id", "email", "chat_id"];
const TEXT_BODY_MAX: usize = 150 * 1024;
const RICH_BODY_MAX: usize = 30 * 1024;
const UUID_MAX: usize = 50;
const UUID_WINDOW: TimeDelta = TimeDelta::hours(1);

pub(crate) async fn send(
    State(fake): State<FakeFeishu>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let token = bearer(&headers);
    fake.answer(Endpoint::FeishuSend, token, || {
        handle(&fake, &headers, &query, &body).unwrap_or_else(|reply| reply)
    })
    .await
}

fn required<'a>(body: &'a Value, field: &str) -> Result<&'a str, Reply> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| field_error(field, "is required and must be a non-empty string"))
}

/// Takes a slot of the per-app quotas (50 in any second and `rate_limit_per_minute` in any
/// minute, sliding) when they are switched on; the answer's reset is when a slot frees.
fn take_rate_slot(fake: &FakeFeishu) -> Result<(), Reply> {
    let now = fake.now();
    let per_minute = fake.inner.config.rate_limit_per_minute;
    let mut state = fake.state();
    if !state.enforce_send_rate_limit {
        return Ok(());
    }
    let window = &mut state.send_window;
    while window
        .front()
        .is_some_and(|t| *t <= now - TimeDelta::minutes(1))
    {
        window.pop_front();
    }
    let in_last_second = window
        .iter()
        .rev()
        .take_while(|t| **t > now - TimeDelta::seconds(1))
        .count();
    if in_last_second >= RATE_LIMIT_PER_SECOND {
        return Err(rate_limited(1));
    }
    if window.len() >= per_minute {
        let frees_at = window[window.len() - per_minute] + TimeDelta::minutes(1);
        let reset = ((frees_at - now).num_milliseconds() + 999) / 1000;
        let reset = reset.max(1);
        return Err(rate_limited(u64::try_from(reset).unwrap_or(60)));
    }
    window.push_back(now);
    Ok(())
}

/// A group chat takes 5 messages a second, shared by every bot in it (230020 beyond), when the
/// send quotas are switched on.
fn take_chat_slot(fake: &FakeFeishu, chat: &str) -> Result<(), Reply> {
    let now = fake.now();
    let mut state = fake.state();
    if !state.enforce_send_rate_limit {
        return Ok(());
    }
    let window = state.chat_windows.entry(chat.to_owned()).or_default();
    window.retain(|t| *t > now - TimeDelta::seconds(1));
    if window.len() >= CHAT_MESSAGES_PER_SECOND {
        return Err(error(
            StatusCode::BAD_REQUEST,
            230020,
            "This operation triggers the frequency limit.",
        ));
    }
    window.push_back(now);
    Ok(())
}

/// Feishu's per-chat rate, shared by all bots in the chat.
const CHAT_MESSAGES_PER_SECOND: usize = 5;

/// The chat a message lands in: the chat itself, or the receiver's p2p chat with the bot.
fn resolve_chat(fake: &FakeFeishu, id_type: &str, receive_id: &str) -> Result<String, Reply> {
    let config = &fake.inner.config;
    if id_type == "chat_id" {
        if config.dissolved_chats.iter().any(|c| c == receive_id) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                232009,
                "Your request specified a chat that has been dissolved.",
            ));
        }
        take_chat_slot(fake, receive_id)?;
        // Sandbox mode: the bot is in every well-formed chat a user names.
        let open = config.open_directory && receive_id.starts_with("oc_");
        return match open || config.chats.iter().any(|c| c == receive_id) {
            true => Ok(receive_id.to_owned()),
            false => Err(error(
                StatusCode::BAD_REQUEST,
                230002,
                "Bot/User can NOT be out of the chat.",
            )),
        };
    }
    let found = config.users.iter().find(|u| match id_type {
        "user_id" => u.user_id.as_deref() == Some(receive_id),
        "union_id" => u.union_id.as_deref() == Some(receive_id),
        "email" => u
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(receive_id)),
        _ => u.open_id == receive_id,
    });
    let opened = (config.open_directory && id_type == "open_id" && receive_id.starts_with("ou_"))
        .then(|| FeishuUser::new(receive_id));
    let Some(user) = found.cloned().or(opened).filter(|u| u.available) else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            230013,
            "Bot has NO availability to this user.",
        ));
    };
    let mut state = fake.state();
    let chat = state
        .p2p_chats
        .entry(user.open_id.clone())
        .or_insert_with(|| format!("oc_{}", random_hex(32)));
    Ok(chat.clone())
}

fn handle(
    fake: &FakeFeishu,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    raw: &[u8],
) -> Result<Reply, Reply> {
    check_bearer(fake, headers)?;
    let id_type = query
        .get("receive_id_type")
        .map(String::as_str)
        .unwrap_or_default();
    if !RECEIVE_ID_TYPES.contains(&id_type) {
        return Err(field_error(
            "receive_id_type",
            "is required: open_id, user_id, union_id, email or chat_id",
        ));
    }
    take_rate_slot(fake)?;
    let body: Value =
        serde_json::from_slice(raw).map_err(|_| field_error("body", "must be a JSON object"))?;
    let (receive_id, msg_type) = (required(&body, "receive_id")?, required(&body, "msg_type")?);
    let content_raw = required(&body, "content")?;
    let uuid = body.get("uuid").and_then(Value::as_str);
    if uuid.is_some_and(|u| u.chars().count() > UUID_MAX) {
        return Err(field_error("uuid", "the max len is 50"));
    }
    let limit = if matches!(msg_type, "post" | "interactive") {
        RICH_BODY_MAX
    } else {
        TEXT_BODY_MAX
    };
    if raw.len() > limit {
        return Err(error(
            StatusCode::BAD_REQUEST,
            230025,
            &format!(
                "The message length exceeds the limit, ext=request body exceeds {limit} bytes"
            ),
        ));
    }
    let content = validate_content(msg_type, content_raw)?;
    crate::uploads::check_image_keys(fake, msg_type, &content)?;
    crate::feishu_files::check_file_key(fake, msg_type, &content)?;
    let chat_id = resolve_chat(fake, id_type, receive_id)?;

    let now = fake.now();
    let mut record = AcceptedMessage {
        recipients: vec![receive_id.to_owned()],
        receive_id_type: Some(id_type.to_owned()),
        msgtype: msg_type.to_owned(),
        body: body.clone(),
        content: Some(content),
        uuid: uuid.map(str::to_owned),
        token: bearer(headers).map(str::to_owned),
        ..AcceptedMessage::new(now, Endpoint::FeishuSend)
    };
    let data = {
        let mut state = fake.state();
        let earlier = uuid.and_then(|u| state.uuids.get(u).filter(|s| now < s.until));
        match earlier {
            Some(sent) => {
                record.suppressed_duplicate = true;
                sent.data.clone()
            }
            None => {
                let data = message_data(
                    fake,
                    msg_type,
                    content_raw,
                    &chat_id,
                    now.timestamp_millis(),
                );
                if let Some(uuid) = uuid {
                    let sent = SentByUuid {
                        until: now + UUID_WINDOW,
                        data: data.clone(),
                    };
                    state.uuids.insert(uuid.to_owned(), sent);
                }
                data
            }
        }
    };
    record.message_id = data["message_id"].as_str().unwrap_or_default().to_owned();
    fake.inner.recorder.accept(record);
    Ok(Reply::json(
        StatusCode::OK,
        0,
        json!({"code": 0, "msg": "success", "data": data}),
    ))
}

fn message_data(fake: &FakeFeishu, msg_type: &str, content: &str, chat_id: &str, ms: i64) -> Value {
    let config = &fake.inner.config;
    json!({
        "message_id": format!("om_{}", random_hex(32)),
        "msg_type": msg_type,
        "create_time": ms.to_string(),
        "update_time": ms.to_string(),
        "deleted": false,
        "updated": false,
        "chat_id": chat_id,
        "sender": {"id": config.app_id, "id_type": "app_id", "sender_type": "app",
                   "tenant_key": config.tenant_key},
        "body": {"content": content},
    })
}
