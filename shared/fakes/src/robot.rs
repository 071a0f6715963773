//! WeCom group robot: `POST /cgi-bin/webhook/send?key=KEY` (provider-apis.md §2). No token;
//! 20 messages per sliding minute per key (45009 beyond).
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::TimeDelta;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

use crate::record::{AcceptedMessage, Endpoint};
use crate::reply::{Reply, random_alnum};
use crate::wecom::{FakeWecom, error};

const TEXT_MAX: usize = 2048;
const MARKDOWN_MAX: usize = 4096;
const NEWS_MAX_ARTICLES: usize = 8;
const IMAGE_MAX: usize = 2 * 1024 * 1024;

pub(crate) async fn send(
    State(fake): State<FakeWecom>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let key = query.get("key").map(String::as_str).unwrap_or_default();
    fake.answer(Endpoint::WecomRobot, None, || {
        handle(&fake, &method, key, &body).unwrap_or_else(|reply| reply)
    })
    .await
}

fn invalid_param(what: &str) -> Reply {
    error(40058, &format!("{what}. invalid Request Parameter"))
}

fn content_within(body: &Map<String, Value>, key: &str, max: usize) -> Result<(), Reply> {
    let content = body
        .get(key)
        .and_then(|section| section.get("content"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if content.is_empty() {
        return Err(error(44004, "empty content"));
    }
    if content.len() > max {
        return Err(invalid_param(&format!(
            "{key}.content exceed max length {max}"
        )));
    }
    Ok(())
}

fn validate(msgtype: &str, body: &Map<String, Value>) -> Result<(), Reply> {
    let section = |key: &str| {
        body.get(key)
            .and_then(Value::as_object)
            .ok_or_else(|| invalid_param(&format!("missing {key}")))
    };
    match msgtype {
        "text" => content_within(body, "text", TEXT_MAX),
        "markdown" | "markdown_v2" => content_within(body, msgtype, MARKDOWN_MAX),
        "news" => {
            let count = section("news")?
                .get("articles")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            match count {
                0 => Err(invalid_param("news.articles is empty")),
                n if n > NEWS_MAX_ARTICLES => Err(error(45008, "article size out of limit")),
                _ => Ok(()),
            }
        }
        "image" => {
            let image = section("image")?;
            let (Some(base64), Some(md5)) = (
                image.get("base64").and_then(Value::as_str),
                image.get("md5").and_then(Value::as_str),
            ) else {
                return Err(invalid_param("image.base64 and image.md5 are required"));
            };
            robot_image(base64, md5)
        }
        "file" | "voice" | "template_card" => section(msgtype).map(|_| ()),
        _ => Err(error(40008, "invalid message type")),
    }
}

/// A robot picture: base64 of a JPG/PNG of at most 2 MB whose MD5 is `md5` (301019 otherwise).
fn robot_image(encoded: &str, md5: &str) -> Result<(), Reply> {
    use base64::Engine as _;
    use md5::Digest as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| invalid_param("image.base64 is not base64"))?;
    if bytes.len() > IMAGE_MAX {
        return Err(error(40009, "invalid image size"));
    }
    if !matches!(crate::uploads::picture_format(&bytes), Some("png" | "jpg")) {
        return Err(error(40005, "invalid file type"));
    }
    if !hex::encode(md5::Md5::digest(&bytes)).eq_ignore_ascii_case(md5) {
        return Err(error(301019, "media md5 not match"));
    }
    Ok(())
}

/// Takes a slot in the key's sliding minute, or answers 45009.
fn take_slot(fake: &FakeWecom, key: &str) -> Result<(), Reply> {
    let now = fake.now();
    let limit = fake.inner.config.robot_per_minute;
    let mut state = fake.state();
    let window = state.robot_window.entry(key.to_owned()).or_default();
    while window
        .front()
        .is_some_and(|t| *t <= now - TimeDelta::minutes(1))
    {
        window.pop_front();
    }
    if window.len() >= limit {
        tracing::info!("fake wecom robot: per-minute limit reached");
        return Err(error(45009, "api freq out of limit"));
    }
    window.push_back(now);
    Ok(())
}

fn handle(fake: &FakeWecom, method: &Method, key: &str, raw: &[u8]) -> Result<Reply, Reply> {
    let config = &fake.inner.config;
    if key.is_empty() || !(config.open_directory || config.robot_keys.iter().any(|k| k == key)) {
        return Err(error(93000, "invalid webhook url"));
    }
    if method != Method::POST {
        return Err(invalid_param("http method must be POST"));
    }
    let value: Value =
        serde_json::from_slice(raw).map_err(|_| invalid_param("request body is not valid json"))?;
    let Some(body) = value.as_object() else {
        return Err(invalid_param("request body must be a json object"));
    };
    let msgtype = body
        .get("msgtype")
        .and_then(Value::as_str)
        .unwrap_or_default();
    validate(msgtype, body)?;
    take_slot(fake, key)?;
    fake.inner.recorder.accept(AcceptedMessage {
        msgtype: msgtype.to_owned(),
        body: value.clone(),
        robot_key: Some(key.to_owned()),
        message_id: random_alnum(32),
        ..AcceptedMessage::new(fake.now(), Endpoint::WecomRobot)
    });
    Ok(Reply::json(
        StatusCode::OK,
        0,
        json!({"errcode": 0, "errmsg": "ok"}),
    ))
}
