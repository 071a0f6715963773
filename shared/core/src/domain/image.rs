//! Pictures a push carries (the page snapshot): stored once per run by content hash, referred to
//! by messages, uploaded to a provider by the delivery that first needs it.
use super::ids::ProjectId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The SHA-256 of an image's bytes, in hex: the same picture has the same id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageId(String);

impl ImageId {
    pub fn of(bytes: &[u8]) -> Self {
        Self(hex::encode(Sha256::digest(bytes)))
    }

    pub fn parse(value: impl Into<String>) -> Result<Self, super::ParseError> {
        let value: String = value.into();
        if value.len() == 64
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(value))
        } else {
            Err("is not an image id (64 lower-case hex digits)".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ImageId {
    type Error = super::ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<ImageId> for String {
    fn from(value: ImageId) -> String {
        value.0
    }
}

impl std::fmt::Display for ImageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A PNG picture drawn by Herald.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    pub id: ImageId,
    pub width: u32,
    pub height: u32,
    pub png: Vec<u8>,
}

impl Image {
    pub fn png(png: Vec<u8>, width: u32, height: u32) -> Self {
        Self {
            id: ImageId::of(&png),
            width,
            height,
            png,
        }
    }

    /// How messages refer to this image once it is stored for `project`.
    pub fn reference(&self, project: &ProjectId, name: &str) -> ImageRef {
        ImageRef {
            project: project.clone(),
            id: self.id.clone(),
            name: name.to_owned(),
            content_type: "image/png".to_owned(),
            width: self.width,
            height: self.height,
            size: self.png.len(),
        }
    }
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("id", &self.id)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.png.len())
            .finish()
    }
}

/// A stored image, as messages and records refer to it; also a stored attachment (an xlsx or
/// CSV file, whose width and height are 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub project: ProjectId,
    pub id: ImageId,
    /// What it shows, e.g. `snapshot` (also its `cid:` in mail); an attachment's file name.
    pub name: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    /// Bytes.
    pub size: usize,
}
