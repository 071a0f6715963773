//! `im/v1/messages` bodies: `content` is a JSON *string*; post and card bodies are at most 30 KB.
use crate::error::failure;
use herald_core::domain::limits::feishu;
use herald_core::domain::message::{FeishuBody, PostRun};
use herald_core::ports::{SendError, SendFailure};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Feishu's `uuid` is at most 50 characters.
const UUID_CHARS: usize = 40;

/// The request body for one message to `receive_id` (an open id); `image_key` is the uploaded
/// snapshot, shown first in a post or a card, or a file message's uploaded `file_key`.
pub fn message_body(
    receive_id: &str,
    body: &FeishuBody,
    image_key: Option<&str>,
    idempotency_key: &str,
) -> Result<Vec<u8>, SendError> {
    let (msg_type, content, limit) = match body {
        FeishuBody::File { file } => {
            let key = image_key.ok_or_else(|| {
                failure(
                    SendFailure::Payload,
                    None,
                    format!("the file {} was not uploaded", file.name),
                )
            })?;
            (
                "file",
                json!({ "file_key": key }),
                feishu::TEXT_REQUEST_MAX_BYTES,
            )
        }
        FeishuBody::Text { text } => {
            if text.trim().is_empty() {
                return Err(failure(SendFailure::Payload, None, "empty Feishu text"));
            }
            (
                "text",
                json!({ "text": text }),
                feishu::TEXT_REQUEST_MAX_BYTES,
            )
        }
        FeishuBody::Post {
            title, paragraphs, ..
        } => {
            let mut content = post_content(title, paragraphs);
            if let (Some(key), Some(lines)) = (
                image_key,
                content
                    .pointer_mut("/zh_cn/content")
                    .and_then(Value::as_array_mut),
            ) {
                // A picture is a paragraph of its own; post says `image_key`.
                lines.insert(0, json!([{ "tag": "img", "image_key": key }]));
            }
            ("post", content, feishu::RICH_REQUEST_MAX_BYTES)
        }
        FeishuBody::Interactive { card, .. } => {
            if !card.is_object() {
                return Err(failure(
                    SendFailure::Payload,
                    None,
                    "a Feishu card must be a JSON object",
                ));
            }
            let mut card = card.clone();
            if let (Some(key), Some(elements)) = (
                image_key,
                card.get_mut("elements").and_then(Value::as_array_mut),
            ) {
                // The card's image element says `img_key` (post and image say `image_key`).
                elements.insert(
                    0,
                    json!({ "tag": "img", "img_key": key, "alt": { "tag": "plain_text", "content": "snapshot" } }),
                );
            }
            ("interactive", card, feishu::RICH_REQUEST_MAX_BYTES)
        }
    };
    let request = json!({
        "receive_id": receive_id,
        "msg_type": msg_type,
        "content": content.to_string(),
        "uuid": message_uuid(idempotency_key, receive_id),
    });
    let bytes = serde_json::to_vec(&request).map_err(|e| {
        failure(
            SendFailure::Payload,
            None,
            format!("the Feishu message cannot be encoded: {e}"),
        )
    })?;
    if bytes.len() > limit {
        return Err(failure(
            SendFailure::Payload,
            None,
            format!(
                "the Feishu {msg_type} request is {} bytes (at most {limit})",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

/// A post in the im/v1 shape: `{"zh_cn":{"title":…,"content":[[runs…]…]}}`.
pub fn post_content(title: &str, paragraphs: &[Vec<PostRun>]) -> Value {
    let content: Vec<Vec<Value>> = paragraphs
        .iter()
        .map(|runs| {
            runs.iter()
                .map(|run| match &run.href {
                    Some(href) => json!({ "tag": "a", "href": href, "text": run.text }),
                    None => json!({ "tag": "text", "text": run.text }),
                })
                .collect()
        })
        .collect();
    json!({ "zh_cn": { "title": title, "content": content } })
}

/// Feishu's de-duplication key: stable for a delivery's retries, distinct per recipient.
pub fn message_uuid(idempotency_key: &str, receive_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(idempotency_key.as_bytes())
        .chain_update(b"\n")
        .chain_update(receive_id.as_bytes())
        .finalize();
    hex::encode(digest)[..UUID_CHARS].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn content_is_a_json_string_and_post_has_the_im_v1_shape() {
        let body = parse(
            &message_body("ou_1", &FeishuBody::Text { text: "hi".into() }, None, "k").unwrap(),
        );
        assert_eq!(body["content"], "{\"text\":\"hi\"}");
        assert_eq!(body["msg_type"], "text");
        let post = FeishuBody::Post {
            title: "T".into(),
            paragraphs: vec![vec![
                PostRun {
                    text: "see ".into(),
                    href: None,
                },
                PostRun {
                    text: "report".into(),
                    href: Some("https://x.com".into()),
                },
            ]],
            image: None,
        };
        let body = parse(&message_body("ou_1", &post, None, "k").unwrap());
        let content: Value = serde_json::from_str(body["content"].as_str().unwrap()).unwrap();
        assert_eq!(
            content,
            json!({"zh_cn":{"title":"T","content":[[{"tag":"text","text":"see "},{"tag":"a","href":"https://x.com","text":"report"}]]}})
        );
        let with_image = parse(&message_body("ou_1", &post, Some("img_v2_1"), "k").unwrap());
        let content: Value = serde_json::from_str(with_image["content"].as_str().unwrap()).unwrap();
        assert_eq!(
            content["zh_cn"]["content"][0],
            json!([{"tag":"img","image_key":"img_v2_1"}])
        );
        let card = FeishuBody::Interactive {
            card: json!({ "elements": [{"tag":"markdown","content":"x"}] }),
            image: None,
        };
        let body = parse(&message_body("ou_1", &card, Some("img_v2_1"), "k").unwrap());
        let content: Value = serde_json::from_str(body["content"].as_str().unwrap()).unwrap();
        assert_eq!(content["elements"][0]["tag"], "img");
        assert_eq!(content["elements"][0]["img_key"], "img_v2_1");
    }

    #[test]
    fn uuid_is_short_stable_and_per_recipient() {
        let a = message_uuid(&"k".repeat(200), "ou_1");
        assert!(a.len() <= 50);
        assert_eq!(a, message_uuid(&"k".repeat(200), "ou_1"));
        assert_ne!(a, message_uuid(&"k".repeat(200), "ou_2"));
    }

    #[test]
    fn big_cards_and_posts_are_refused_before_sending() {
        let card = FeishuBody::Interactive {
            card: json!({ "elements": [{"tag":"markdown","content":"x".repeat(31_000)}] }),
            image: None,
        };
        let err = message_body("ou_1", &card, None, "k").unwrap_err();
        assert_eq!(err.failure, SendFailure::Payload);
        let text = FeishuBody::Text {
            text: "x".repeat(31_000),
        };
        assert!(message_body("ou_1", &text, None, "k").is_ok());
        assert!(
            message_body(
                "ou_1",
                &FeishuBody::Interactive {
                    card: json!("x"),
                    image: None
                },
                None,
                "k"
            )
            .is_err()
        );
    }
}
