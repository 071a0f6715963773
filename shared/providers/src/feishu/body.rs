//! What a Feishu call sends: JSON, or a multipart upload (`im/v1/images`, `im/v1/files`).
use crate::error::failure;
use herald_core::ports::{SendError, SendFailure};
use reqwest::multipart::{Form, Part};

/// A request body: JSON, a picture for `im/v1/images`, or a file for `im/v1/files`.
pub(crate) enum Body {
    Json(Vec<u8>),
    Image(std::sync::Arc<Vec<u8>>, String),
    File(std::sync::Arc<Vec<u8>>, String),
}

/// Feishu's `file_type` for an attachment: `xls` for spreadsheets, `stream` for anything its
/// list does not name (CSV).
fn file_type(name: &str) -> &'static str {
    if name.ends_with(".xlsx") || name.ends_with(".xls") {
        "xls"
    } else {
        "stream"
    }
}

impl Body {
    /// The JSON bytes (empty for an upload).
    pub(crate) fn json(&self) -> Vec<u8> {
        match self {
            Self::Json(json) => json.clone(),
            Self::Image(..) | Self::File(..) => Vec::new(),
        }
    }

    /// The bytes an upload carries.
    pub(crate) fn upload_len(&self) -> usize {
        match self {
            Self::Json(_) => 0,
            Self::Image(bytes, _) | Self::File(bytes, _) => bytes.len(),
        }
    }

    /// The multipart form of an upload (built again for each attempt: a form is consumed).
    pub(crate) fn form(&self) -> Result<Option<Form>, SendError> {
        Ok(match self {
            Self::Json(_) => None,
            Self::Image(bytes, file_name) => {
                let part = Part::bytes(bytes.as_ref().clone())
                    .file_name(file_name.clone())
                    .mime_str("image/png")
                    .map_err(|e| failure(SendFailure::Payload, None, e.to_string()))?;
                Some(
                    Form::new()
                        .text("image_type", "message")
                        .part("image", part),
                )
            }
            // The name as written (UTF-8): Feishu shows it to the reader.
            Self::File(bytes, file_name) => Some(
                Form::new()
                    .percent_encode_noop()
                    .text("file_type", file_type(file_name))
                    .text("file_name", file_name.clone())
                    .part(
                        "file",
                        Part::bytes(bytes.as_ref().clone()).file_name(file_name.clone()),
                    ),
            ),
        })
    }
}
