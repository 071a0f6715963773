//! Feishu `im/v1/files` (provider-apis.md §8, shared/providers/NOTES.md): `multipart/form-data`
//! with `file_type` (opus, mp4, pdf, doc, xls, ppt or stream), `file_name` and `file`; at most
//! 30 MB, not empty; answers `{"data":{"file_key":"file_v2_…"}}`. A `file` message must name a
//! key this fake issued.
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::feishu::{FakeFeishu, check_bearer};
use crate::reply::{Reply, random_hex};
use crate::uploads::{Form, Upload};

const MAX_BYTES: usize = 30 * 1024 * 1024;
const FILE_TYPES: [&str; 7] = ["opus", "mp4", "pdf", "doc", "xls", "ppt", "stream"];

fn invalid(code: i64, msg: &str) -> Reply {
    crate::feishu::error(StatusCode::BAD_REQUEST, code, msg)
}

pub(crate) async fn upload(
    State(fake): State<FakeFeishu>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    crate::uploads::feishu_form_call(fake, headers, multipart, handle).await
}

fn text(form: &Form, name: &str) -> Option<String> {
    form.get(name)
        .map(|(_, _, bytes)| String::from_utf8_lossy(bytes).into_owned())
        .filter(|t| !t.is_empty())
}

fn handle(
    fake: &FakeFeishu,
    headers: &HeaderMap,
    form: Result<Form, String>,
) -> Result<Reply, Reply> {
    check_bearer(fake, headers)?;
    let form = form.map_err(|_| invalid(234001, "Invalid request param."))?;
    let file_type = text(&form, "file_type").unwrap_or_default();
    if !FILE_TYPES.contains(&file_type.as_str()) {
        return Err(invalid(234001, "Invalid request param: file_type."));
    }
    let Some(file_name) = text(&form, "file_name") else {
        return Err(invalid(234001, "Invalid request param: file_name."));
    };
    let Some((_, content_type, bytes)) = form.get("file").cloned() else {
        return Err(invalid(234001, "Invalid request param: file."));
    };
    if bytes.is_empty() {
        return Err(invalid(234010, "File's size can't be 0."));
    }
    if bytes.len() > MAX_BYTES {
        return Err(invalid(234006, "The file size exceeds the limit."));
    }
    let file_key = format!("file_v2_{}", random_hex(32));
    crate::lock(&fake.inner.uploads).push(Upload {
        key: file_key.clone(),
        bytes,
        file_name: Some(file_name),
        content_type,
        at: fake.now(),
        expires_at: None,
    });
    Ok(Reply::json(
        StatusCode::OK,
        0,
        json!({"code": 0, "msg": "success", "data": {"file_key": file_key}}),
    ))
}

/// A `file` message must name an uploaded file (230001 otherwise).
pub(crate) fn check_file_key(
    fake: &FakeFeishu,
    msg_type: &str,
    content: &Value,
) -> Result<(), Reply> {
    if msg_type != "file" {
        return Ok(());
    }
    let key = content["file_key"].as_str().unwrap_or_default();
    // An image key is no file key.
    if key.starts_with("file_v2_") && fake.uploads().iter().any(|u| u.key == key) {
        Ok(())
    } else {
        Err(invalid(
            230001,
            "Your request contains an invalid request parameter, ext=invalid file_key",
        ))
    }
}
