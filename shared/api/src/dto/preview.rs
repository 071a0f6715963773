//! Previews on the wire: what each chart showed, what the provider would get, and the snapshot.
use herald_core::domain::image::ImageRef;
use herald_core::domain::report::Figure;
use herald_core::domain::run::ChartCheck;
use herald_core::services::runs::preview::Preview;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{"channel": "feishu"}` previews another channel than the task's own.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// `wecom`, `feishu`, `dingtalk` or `email`; default: the task's channel.
    #[serde(default)]
    pub channel: Option<String>,
}

/// One chart of a preview: its check, and the figure it shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewChart {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub check: ChartCheck,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub figure: Option<Figure>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewMessage {
    pub channel: String,
    pub template: String,
    /// What the provider gets (the snapshot's upload is named where its media id or key goes).
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

/// A picture and where to read it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImageView {
    pub name: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    pub url: String,
}

/// A file name as one path segment of a URL.
pub fn path_segment(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl ImageView {
    pub fn new(image: &ImageRef, url: String) -> Self {
        Self {
            name: image.name.clone(),
            content_type: image.content_type.clone(),
            width: image.width,
            height: image.height,
            bytes: image.size,
            url,
        }
    }
}

/// What a push would send now; nothing was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    pub charts: Vec<PreviewChart>,
    pub messages: Vec<PreviewMessage>,
    pub images: Vec<ImageView>,
    /// The files the push would attach (`content.attachments`), readable for an hour.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<ImageView>,
    /// Why something the channel shows is missing (e.g. the snapshot could not be drawn).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Whether the task's conditions hold now (a scheduled run would push); absent without
    /// conditions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<super::conditions::ConditionsView>,
}

fn wire<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl PreviewView {
    pub fn new(preview: Preview) -> Self {
        let (channel, template) = (wire(&preview.channel), wire(&preview.template));
        Self {
            charts: preview
                .charts
                .into_iter()
                .zip(preview.figures)
                .map(|(check, figure)| PreviewChart { check, figure })
                .collect(),
            messages: preview
                .messages
                .into_iter()
                .map(|body| PreviewMessage {
                    channel: channel.clone(),
                    template: template.clone(),
                    body,
                })
                .collect(),
            images: preview
                .images
                .iter()
                .map(|image| {
                    let url = format!(
                        "/v1/projects/{}/preview/{}/{}.png",
                        image.project, image.id, image.name
                    );
                    ImageView::new(image, url)
                })
                .collect(),
            attachments: preview
                .attachments
                .iter()
                .map(|file| {
                    let url = format!(
                        "/v1/projects/{}/preview/{}/{}",
                        file.project,
                        file.id,
                        path_segment(&file.name)
                    );
                    ImageView::new(file, url)
                })
                .collect(),
            problems: preview.problems,
            conditions: preview
                .conditions
                .as_ref()
                .map(super::conditions::ConditionsView::new),
        }
    }
}
