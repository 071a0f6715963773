//! `message/send` request bodies: recipients joined with `|`, byte limits applied client-side
//! (long text and markdown split into several messages, textcard fields truncated).
use crate::error::failure;
use crate::split::{split_utf8, truncate_chars, truncate_utf8};
use herald_core::domain::limits::wecom;
use herald_core::domain::message::{
    WECOM_MAX_GROUPS_PER_CALL, WECOM_MAX_USERS_PER_CALL, WecomAppMessage, WecomBody,
};
use herald_core::ports::{SendError, SendFailure};
use serde_json::{Value, json};

/// WeCom drops an identical request within this many seconds, so a retried send is delivered once.
pub const DUPLICATE_CHECK_SECONDS: u32 = 1800;

fn payload(message: String) -> SendError {
    failure(SendFailure::Payload, None, message)
}

/// The message types WeCom defines `safe` for (text, image, voice, video, file, mpnews); on
/// others it is not part of the API (news + safe → 40074).
pub fn takes_safe(msgtype: &str) -> bool {
    matches!(
        msgtype,
        "text" | "image" | "voice" | "video" | "file" | "mpnews"
    )
}

/// What every request for `msg` carries: the agent, the recipients joined with `|` and the
/// duplicate check (`safe` is added per message type).
fn common(msg: &WecomAppMessage, agent_id: i64) -> Result<Value, SendError> {
    let (users, parties, tags) = (msg.to_users.len(), msg.to_parties.len(), msg.to_tags.len());
    if users > WECOM_MAX_USERS_PER_CALL {
        return Err(payload(format!(
            "{users} users in one WeCom call (at most {WECOM_MAX_USERS_PER_CALL})"
        )));
    }
    if parties > WECOM_MAX_GROUPS_PER_CALL || tags > WECOM_MAX_GROUPS_PER_CALL {
        return Err(payload(format!(
            "{parties} departments / {tags} tags in one WeCom call (at most {WECOM_MAX_GROUPS_PER_CALL} each)"
        )));
    }
    if users + parties + tags == 0 {
        return Err(payload("a WeCom message without recipients".into()));
    }
    let join = |ids: Vec<&str>| ids.join("|");
    let mut common = json!({
        "agentid": agent_id,
        "enable_duplicate_check": 1,
        "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
    });
    for (field, value) in [
        (
            "touser",
            join(msg.to_users.iter().map(|u| u.as_str()).collect()),
        ),
        (
            "toparty",
            join(msg.to_parties.iter().map(|p| p.as_str()).collect()),
        ),
        (
            "totag",
            join(msg.to_tags.iter().map(|t| t.as_str()).collect()),
        ),
    ] {
        if !value.is_empty() {
            common[field] = Value::String(value);
        }
    }
    Ok(common)
}

/// The `image` or `file` message that gives an upload to `msg`'s recipients.
pub fn media_body(
    msg: &WecomAppMessage,
    agent_id: i64,
    safe: bool,
    (msgtype, media_id): (&str, &str),
) -> Result<Value, SendError> {
    let mut body = common(msg, agent_id)?;
    body["msgtype"] = json!(msgtype);
    body[msgtype] = json!({ "media_id": media_id });
    body["safe"] = json!(u8::from(safe));
    Ok(body)
}

/// The request bodies for one message: one, or several when text/markdown is too long; none for
/// a file, whose body names its upload (`media_body`).
pub fn message_bodies(
    msg: &WecomAppMessage,
    agent_id: i64,
    safe: bool,
) -> Result<Vec<Value>, SendError> {
    let common = common(msg, agent_id)?;
    let with = |msgtype: &str, content: Value| {
        let mut body = common.clone();
        body["msgtype"] = json!(msgtype);
        body[msgtype] = content;
        if takes_safe(msgtype) {
            body["safe"] = json!(u8::from(safe));
        }
        body
    };
    match &msg.body {
        WecomBody::Text { content } => split_content(content, wecom::CONTENT_MAX_BYTES, "text")
            .map(|parts| {
                parts
                    .into_iter()
                    .map(|c| with("text", json!({ "content": c })))
                    .collect()
            }),
        WecomBody::Markdown { content } => {
            split_content(content, wecom::CONTENT_MAX_BYTES, "markdown").map(|parts| {
                parts
                    .into_iter()
                    .map(|c| with("markdown", json!({ "content": c })))
                    .collect()
            })
        }
        WecomBody::Textcard {
            title,
            description,
            url,
            btntxt,
        } => {
            if description.trim().is_empty() {
                return Err(payload("a WeCom textcard needs a description".into()));
            }
            if url.len() > wecom::URL_MAX_BYTES {
                return Err(payload(format!(
                    "the textcard URL is {} bytes (at most {})",
                    url.len(),
                    wecom::URL_MAX_BYTES
                )));
            }
            let mut card = json!({
                "title": truncate_utf8(title, wecom::TEXTCARD_TITLE_MAX_BYTES),
                "description": truncate_utf8(description, wecom::TEXTCARD_DESCRIPTION_MAX_BYTES),
                "url": url,
            });
            if let Some(button) = btntxt.as_deref().filter(|b| !b.trim().is_empty()) {
                card["btntxt"] = json!(truncate_chars(button, wecom::BUTTON_MAX_CHARS));
            }
            Ok(vec![with("textcard", card)])
        }
        // `common` above has checked the recipients.
        WecomBody::File { .. } => Ok(Vec::new()),
    }
}

fn split_content<'a>(content: &'a str, max: usize, kind: &str) -> Result<Vec<&'a str>, SendError> {
    if content.trim().is_empty() {
        return Err(payload(format!("empty WeCom {kind} content")));
    }
    Ok(split_utf8(content, max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::domain::recipients::{WecomGroupId, WecomUserId};

    fn to(users: usize, body: WecomBody) -> WecomAppMessage {
        WecomAppMessage {
            to_users: (0..users)
                .map(|i| WecomUserId::parse(format!("u{i}")).unwrap())
                .collect(),
            to_parties: vec![WecomGroupId::parse("2").unwrap()],
            to_tags: vec![],
            body,
            image: None,
        }
    }

    #[test]
    fn a_text_body_has_every_field_wecom_needs() {
        let msg = to(
            2,
            WecomBody::Text {
                content: "hi".into(),
            },
        );
        let bodies = message_bodies(&msg, 1000002, true).unwrap();
        assert_eq!(
            bodies,
            vec![json!({
                "touser": "u0|u1", "toparty": "2", "msgtype": "text", "agentid": 1000002,
                "text": {"content": "hi"}, "safe": 1,
                "enable_duplicate_check": 1, "duplicate_check_interval": 1800,
            })]
        );
    }

    #[test]
    fn long_markdown_is_split_and_a_textcard_is_truncated() {
        let msg = to(
            1,
            WecomBody::Markdown {
                content: "# 标题\n".repeat(400),
            },
        );
        let bodies = message_bodies(&msg, 1, true).unwrap();
        assert_eq!(bodies.len(), 2);
        assert!(
            bodies.iter().all(|b| b.get("safe").is_none()),
            "markdown has no safe"
        );
        assert!(
            bodies
                .iter()
                .all(|b| b["markdown"]["content"].as_str().unwrap().len() <= 2048)
        );
        let card = WecomBody::Textcard {
            title: "标".repeat(100),
            description: "描".repeat(300),
            url: "https://bi.example.com/r/1".into(),
            btntxt: Some("查看详细报告".into()),
        };
        let sent = &message_bodies(&to(1, card), 1, true).unwrap()[0];
        assert!(sent.get("safe").is_none(), "textcard has no safe: {sent}");
        let body = &sent["textcard"];
        assert!(body["title"].as_str().unwrap().len() <= 128);
        assert!(body["description"].as_str().unwrap().len() <= 512);
        assert!(body["description"].as_str().unwrap().ends_with('…'));
        assert_eq!(body["btntxt"], "查看详细");
    }

    #[test]
    fn oversize_batches_empty_text_and_long_urls_are_refused() {
        let err = message_bodies(
            &to(
                1001,
                WecomBody::Text {
                    content: "x".into(),
                },
            ),
            1,
            false,
        )
        .unwrap_err();
        assert_eq!(err.failure, SendFailure::Payload);
        assert!(
            message_bodies(
                &to(
                    1,
                    WecomBody::Text {
                        content: " ".into()
                    }
                ),
                1,
                false
            )
            .is_err()
        );
        let card = WecomBody::Textcard {
            title: "t".into(),
            description: "d".into(),
            url: format!("https://x.com/{}", "a".repeat(2048)),
            btntxt: None,
        };
        assert!(message_bodies(&to(1, card), 1, false).is_err());
    }
}
