//! Per-msgtype body checks for WeCom app messages (provider-apis.md §1.2). Byte limits are UTF-8
//! bytes. Where WeCom would truncate (textcard title/description) the fake rejects with 45002 so
//! tests catch clients that do not truncate themselves.
use serde_json::{Map, Value};

use crate::reply::Reply;
use crate::wecom::error;

const TEXT_MAX: usize = 2048;
const TEXTCARD_TITLE_MAX: usize = 128;
const TEXTCARD_DESCRIPTION_MAX: usize = 512;
const URL_MAX: usize = 2048;
const NEWS_MAX_ARTICLES: usize = 8;

fn section<'a>(body: &'a Map<String, Value>, key: &str) -> Result<&'a Map<String, Value>, Reply> {
    body.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| error(40063, &format!("{key} is empty. some parameters are empty")))
}

fn text_field<'a>(section: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    section.get(key).and_then(Value::as_str)
}

fn too_large(what: &str, max: usize) -> Reply {
    error(
        45002,
        &format!("{what} size out of limit {max} bytes. content size exceeds limit"),
    )
}

fn content(body: &Map<String, Value>, key: &str) -> Result<(), Reply> {
    let content = text_field(section(body, key)?, "content").unwrap_or_default();
    if content.is_empty() {
        return Err(error(44004, "empty content"));
    }
    if content.len() > TEXT_MAX {
        return Err(too_large(&format!("{key}.content"), TEXT_MAX));
    }
    Ok(())
}

fn textcard(body: &Map<String, Value>) -> Result<(), Reply> {
    let card = section(body, "textcard")?;
    let title = text_field(card, "title").unwrap_or_default();
    let url = text_field(card, "url").unwrap_or_default();
    if title.is_empty() || url.is_empty() {
        return Err(error(
            40063,
            "textcard title/url is empty. some parameters are empty",
        ));
    }
    let Some(description) = text_field(card, "description").filter(|d| !d.is_empty()) else {
        return Err(error(41033, "missing description"));
    };
    if title.len() > TEXTCARD_TITLE_MAX {
        return Err(too_large("textcard.title", TEXTCARD_TITLE_MAX));
    }
    if description.len() > TEXTCARD_DESCRIPTION_MAX {
        return Err(too_large("textcard.description", TEXTCARD_DESCRIPTION_MAX));
    }
    if url.len() > URL_MAX {
        return Err(too_large("textcard.url", URL_MAX));
    }
    Ok(())
}

fn news(body: &Map<String, Value>) -> Result<(), Reply> {
    let articles = section(body, "news")?
        .get("articles")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if articles.is_empty() {
        return Err(error(
            40063,
            "news.articles is empty. some parameters are empty",
        ));
    }
    if articles.len() > NEWS_MAX_ARTICLES {
        return Err(error(45008, "article size out of limit"));
    }
    Ok(())
}

fn media(body: &Map<String, Value>, key: &str) -> Result<(), Reply> {
    match text_field(section(body, key)?, "media_id") {
        Some(id) if !id.is_empty() => Ok(()),
        _ => Err(error(41006, "media_id missing")),
    }
}

/// Checks the body for `msgtype` (40008 for an unknown type).
pub(crate) fn validate_app_body(msgtype: &str, body: &Map<String, Value>) -> Result<(), Reply> {
    match msgtype {
        "text" | "markdown" => content(body, msgtype),
        "textcard" => textcard(body),
        "news" => news(body),
        "image" | "voice" | "video" | "file" => media(body, msgtype),
        "mpnews" | "miniprogram_notice" | "template_card" => section(body, msgtype).map(|_| ()),
        _ => Err(error(40008, "invalid message type")),
    }
}
