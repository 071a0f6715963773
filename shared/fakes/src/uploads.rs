//! Picture uploads as the providers take them (provider-apis.md §8.1): WeCom `media/upload`
//! (`multipart/form-data`, file part `media`, JPG/PNG of 5 B – 2 MB, a media id living 3 days)
//! and Feishu `im/v1/images` (fields `image_type=message` and `image`, ≤ 10 MB, not empty, a
//! known picture format). What they refuse, the fakes refuse; messages naming an unknown media id
//! or image key are refused too.
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

use crate::feishu::{FakeFeishu, bearer, check_bearer};
use crate::record::Endpoint;
use crate::reply::{Reply, random_alnum, random_hex};
use crate::wecom::{FakeWecom, check_token, error};

/// WeCom keeps an uploaded media id this long.
pub const WECOM_MEDIA_LIFETIME: TimeDelta = TimeDelta::days(3);
const WECOM_MIN_BYTES: usize = 5;
const WECOM_MAX_BYTES: usize = 2 * 1024 * 1024;
const FEISHU_MAX_BYTES: usize = 10 * 1024 * 1024;
/// `type=file`: more than 5 bytes, at most 20 MB.
const WECOM_MAX_FILE_BYTES: usize = 20 * 1024 * 1024;

/// A picture a fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    /// The media id (WeCom) or image key (Feishu) it answered.
    pub key: String,
    pub bytes: Vec<u8>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The picture format of `bytes`, by its magic number.
pub fn picture_format(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if starts(b"\xFF\xD8\xFF") {
        Some("jpg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("gif")
    } else if starts(b"BM") {
        Some("bmp")
    } else if bytes.len() > 12 && starts(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Some("tiff")
    } else if starts(b"\0\0\x01\0") {
        Some("ico")
    } else if bytes.len() > 12 && &bytes[4..8] == b"ftyp" && bytes[8..12].starts_with(b"hei") {
        Some("heic")
    } else {
        None
    }
}

/// The parts of a multipart form: name → (file name, content type, bytes).
pub(crate) type Form = HashMap<String, (Option<String>, Option<String>, Vec<u8>)>;

pub(crate) async fn read_form(mut multipart: Multipart) -> Result<Form, String> {
    let mut form = Form::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|e| e.to_string())?;
        form.insert(name, (file_name, content_type, bytes.to_vec()));
    }
    Ok(form)
}

// ---------------------------------------------------------------------------------------------
// WeCom

pub(crate) async fn wecom_upload(
    State(fake): State<FakeWecom>,
    Query(query): Query<HashMap<String, String>>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let token = query.get("access_token").cloned();
    let form = match multipart {
        Ok(m) => read_form(m).await,
        Err(e) => Err(e.to_string()),
    };
    fake.answer(Endpoint::WecomUpload, token.as_deref(), || {
        wecom_handle(&fake, token.as_deref(), &query, form).unwrap_or_else(|r| r)
    })
    .await
}

fn wecom_handle(
    fake: &FakeWecom,
    token: Option<&str>,
    query: &HashMap<String, String>,
    form: Result<Form, String>,
) -> Result<Reply, Reply> {
    check_token(fake, token)?;
    let kind = query.get("type").map(String::as_str).unwrap_or_default();
    if !matches!(kind, "image" | "voice" | "video" | "file") {
        return Err(error(40004, "invalid media type"));
    }
    let form = form.map_err(|_| error(41005, "media data missing"))?;
    let Some((file_name, content_type, bytes)) = form.get("media").cloned() else {
        return Err(error(41005, "media data missing"));
    };
    if file_name.as_deref().is_none_or(str::is_empty) {
        return Err(error(
            40005,
            "invalid file type: the media part has no filename",
        ));
    }
    if kind == "image" {
        if !matches!(picture_format(&bytes), Some("png" | "jpg")) {
            return Err(error(40005, "invalid file type"));
        }
        if !(WECOM_MIN_BYTES..=WECOM_MAX_BYTES).contains(&bytes.len()) {
            return Err(error(40006, "invalid file size"));
        }
    }
    if kind == "file" && !(WECOM_MIN_BYTES + 1..=WECOM_MAX_FILE_BYTES).contains(&bytes.len()) {
        return Err(error(40006, "invalid file size"));
    }
    let now = fake.now();
    let media_id = format!("3{}", random_alnum(63));
    crate::lock(&fake.inner.uploads).push(Upload {
        key: media_id.clone(),
        bytes,
        file_name,
        content_type,
        at: now,
        expires_at: Some(now + WECOM_MEDIA_LIFETIME),
    });
    Ok(Reply::json(
        StatusCode::OK,
        0,
        json!({"errcode": 0, "errmsg": "", "type": kind, "media_id": media_id,
               "created_at": now.timestamp().to_string()}),
    ))
}

/// A `message/send` naming a media id: it must be one this fake issued, not expired (40007).
pub(crate) fn check_media(fake: &FakeWecom, media_id: &str) -> Result<(), Reply> {
    let now = fake.now();
    let known = fake
        .uploads()
        .iter()
        .any(|u| u.key == media_id && u.expires_at.is_none_or(|at| now < at));
    if known {
        Ok(())
    } else {
        Err(error(40007, "invalid media_id"))
    }
}

impl FakeWecom {
    /// Every picture and file uploaded with `media/upload`, oldest first.
    pub fn uploads(&self) -> Vec<Upload> {
        crate::lock(&self.inner.uploads).clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Feishu

fn feishu_error(code: i64, msg: &str) -> Reply {
    crate::feishu::error(StatusCode::BAD_REQUEST, code, msg)
}

/// What a Feishu upload endpoint does with the form it was sent.
pub(crate) type FeishuUploadHandler =
    fn(&FakeFeishu, &HeaderMap, Result<Form, String>) -> Result<Reply, Reply>;

/// A Feishu upload (`im/v1/images`, `im/v1/files`): the form read, then answered by `handle`
/// under the upload endpoint's faults and records.
pub(crate) async fn feishu_form_call(
    fake: FakeFeishu,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
    handle: FeishuUploadHandler,
) -> Response {
    let form = match multipart {
        Ok(m) => read_form(m).await,
        Err(e) => Err(e.to_string()),
    };
    let token = bearer(&headers).map(str::to_owned);
    fake.answer(Endpoint::FeishuUpload, token.as_deref(), || {
        handle(&fake, &headers, form).unwrap_or_else(|r| r)
    })
    .await
}

pub(crate) async fn feishu_upload(
    State(fake): State<FakeFeishu>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    feishu_form_call(fake, headers, multipart, feishu_handle).await
}

fn feishu_handle(
    fake: &FakeFeishu,
    headers: &HeaderMap,
    form: Result<Form, String>,
) -> Result<Reply, Reply> {
    check_bearer(fake, headers)?;
    let form = form.map_err(|_| feishu_error(234001, "Invalid request param."))?;
    let image_type = form
        .get("image_type")
        .map(|(_, _, b)| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    if !matches!(image_type.as_str(), "message" | "avatar") {
        return Err(feishu_error(234001, "Invalid request param: image_type."));
    }
    let Some((file_name, content_type, bytes)) = form.get("image").cloned() else {
        return Err(feishu_error(234001, "Invalid request param: image."));
    };
    if bytes.is_empty() {
        return Err(feishu_error(234010, "File's size can't be 0."));
    }
    if bytes.len() > FEISHU_MAX_BYTES {
        return Err(feishu_error(234006, "The file size exceeds the limit."));
    }
    if picture_format(&bytes).is_none() {
        return Err(feishu_error(234011, "Can't recognise image format."));
    }
    let image_key = format!("img_v2_{}", random_hex(32));
    crate::lock(&fake.inner.uploads).push(Upload {
        key: image_key.clone(),
        bytes,
        file_name,
        content_type,
        at: fake.now(),
        expires_at: None,
    });
    Ok(Reply::json(
        StatusCode::OK,
        0,
        json!({"code": 0, "msg": "success", "data": {"image_key": image_key}}),
    ))
}

/// Every image key a message's content names: `img_key` in cards, `image_key` in posts and images.
fn image_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("img_key" | "image_key", Value::String(key)) => out.push(key.clone()),
                    _ => image_keys(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| image_keys(v, out)),
        _ => {}
    }
}

/// A message's pictures must be ones this fake issued: an unknown key in a card is 230099 (the
/// card cannot be built), elsewhere 230001.
pub(crate) fn check_image_keys(
    fake: &FakeFeishu,
    msg_type: &str,
    content: &Value,
) -> Result<(), Reply> {
    let mut keys = Vec::new();
    image_keys(content, &mut keys);
    let uploads = fake.uploads();
    for key in keys {
        if !uploads.iter().any(|u| u.key == key) {
            return Err(if msg_type == "interactive" {
                feishu_error(
                    230099,
                    "Failed to create card content, ext=image key not found",
                )
            } else {
                feishu_error(
                    230001,
                    "Your request contains an invalid request parameter, ext=invalid image_key",
                )
            });
        }
    }
    Ok(())
}

impl FakeFeishu {
    /// Every picture and file uploaded with `im/v1/images` and `im/v1/files`, oldest first.
    pub fn uploads(&self) -> Vec<Upload> {
        crate::lock(&self.inner.uploads).clone()
    }
}
