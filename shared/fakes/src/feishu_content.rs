//! Checks that an im/v1 `content` string parses as JSON of the right shape for its `msg_type`.
//! Failures → HTTP 400, code 230001 (`…, ext=invalid content`).
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::feishu::error;
use crate::reply::Reply;

fn invalid(ext: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        230001,
        &format!("Your request contains an invalid request parameter, ext={ext}"),
    )
}

/// A locale key such as `zh_cn`, `en_us`, `ja_jp`.
fn is_locale(key: &str) -> bool {
    let mut parts = key.split('_');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_lowercase()))
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

fn post(content: &Map<String, Value>) -> bool {
    !content.is_empty()
        && content
            .iter()
            .all(|(key, value)| is_locale(key) && value.get("content").is_some_and(Value::is_array))
}

fn has_str(content: &Map<String, Value>, key: &str) -> bool {
    content
        .get(key)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// Returns the parsed content, or 230001 (unknown msg_type, unparsable or mis-shaped content).
pub(crate) fn validate_content(msg_type: &str, raw: &str) -> Result<Value, Reply> {
    let parsed: Value =
        serde_json::from_str(raw).map_err(|_| invalid("content is not valid JSON"))?;
    let Some(content) = parsed.as_object() else {
        return Err(invalid("content must be a JSON object"));
    };
    let ok = match msg_type {
        "text" => content.get("text").is_some_and(Value::is_string),
        "post" => post(content),
        "interactive" => !content.is_empty(),
        "image" => has_str(content, "image_key"),
        "file" | "audio" | "media" | "sticker" => has_str(content, "file_key"),
        "share_chat" => has_str(content, "chat_id"),
        "share_user" => has_str(content, "user_id"),
        _ => return Err(invalid("invalid msg_type")),
    };
    if !ok {
        return Err(invalid(&format!("invalid content for msg_type {msg_type}")));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_per_msg_type() {
        assert!(validate_content("text", r#"{"text":"hi"}"#).is_ok());
        assert!(validate_content("text", r#"{"txt":"hi"}"#).is_err());
        assert!(validate_content("text", "hi").is_err());
        let post = r#"{"zh_cn":{"title":"T","content":[[{"tag":"text","text":"x"}]]}}"#;
        assert!(validate_content("post", post).is_ok());
        let wrapped = r#"{"post":{"zh_cn":{"title":"T","content":[]}}}"#;
        assert!(validate_content("post", wrapped).is_err());
        assert!(validate_content("interactive", r#"{"elements":[]}"#).is_ok());
        assert!(validate_content("interactive", "{}").is_err());
        assert!(validate_content("telegram", "{}").is_err());
    }
}
