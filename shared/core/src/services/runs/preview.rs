//! Preview: a task's charts read now and its message rendered by the push's own renderer, for
//! the task's channel (or another one), sending nothing. The snapshot is stored for an hour so the
//! answer can link to it.
use super::PushService;
use super::report::RunStamp;
use crate::ServiceError;
use crate::domain::auth::Principal;
use crate::domain::ids::{ProjectId, TaskId};
use crate::domain::image::{ImageId, ImageRef};
use crate::domain::report::Figure;
use crate::domain::run::{ChartCheck, RunKind};
use crate::domain::task::{Channel, TaskSpec, Template};
use crate::report::render::RenderedPush;
use serde_json::{Value, json};

/// How long a preview's snapshot stays readable.
const PREVIEW_IMAGE_LIFETIME: chrono::Duration = chrono::Duration::hours(1);

/// How long a preview gives its attachments to be written and stored.
const PREVIEW_ATTACH_WITHIN: std::time::Duration = std::time::Duration::from_secs(8);

/// What a push would send now.
#[derive(Debug, Clone)]
pub struct Preview {
    pub charts: Vec<ChartCheck>,
    pub figures: Vec<Option<Figure>>,
    pub channel: Channel,
    pub template: Template,
    /// What the provider gets, per message: WeCom sends the snapshot as an image message first.
    pub messages: Vec<Value>,
    pub images: Vec<ImageRef>,
    /// The files the push would attach (`content.attachments`), stored as long as the snapshot.
    pub attachments: Vec<ImageRef>,
    /// Why a snapshot the channel shows, or an attachment, is missing.
    pub problems: Vec<String>,
    /// Whether the task's conditions hold now (none without conditions).
    pub conditions: Option<crate::report::conditions::Verdict>,
}

/// The bodies the provider gets for `rendered`, in sending order.
fn bodies(rendered: &RenderedPush, snapshot: Option<&ImageRef>) -> Vec<Value> {
    match rendered {
        RenderedPush::Wecom(message) => with_picture(snapshot, json_of(message)),
        RenderedPush::Dingtalk(message) => with_picture(snapshot, json_of(message)),
        RenderedPush::Feishu(message) => vec![json_of(message)],
        RenderedPush::Email {
            subject,
            text,
            html,
            images,
        } => vec![json!({
            "subject": subject,
            "text": text,
            "html": html,
            "inline_images": images.iter().map(|i| format!("cid:{}", i.name)).collect::<Vec<_>>(),
        })],
    }
}

/// WeCom apps and DingTalk work notices send the snapshot as an image message first.
fn with_picture(snapshot: Option<&ImageRef>, body: Value) -> Vec<Value> {
    let picture = snapshot.map(|image| {
        json!({
            "msgtype": "image",
            "image": { "media_id": format!("<media/upload of {}>", image.id) },
        })
    });
    picture.into_iter().chain([body]).collect()
}

fn json_of<T: serde::Serialize>(body: &T) -> Value {
    serde_json::to_value(body).unwrap_or_default()
}

impl PushService {
    /// Previews `spec` (an unsaved task body) on `channel` (default: its own).
    pub async fn preview(
        &self,
        who: &Principal,
        project: &ProjectId,
        spec: &TaskSpec,
        channel: Option<Channel>,
    ) -> Result<Preview, ServiceError> {
        self.preview_of(who, (project, None, spec), channel).await
    }

    /// Previews `spec`, the stored task `task`'s or a draft's.
    async fn preview_of(
        &self,
        who: &Principal,
        (project, task, spec): (&ProjectId, Option<&TaskId>, &TaskSpec),
        channel: Option<Channel>,
    ) -> Result<Preview, ServiceError> {
        who.check_write(project)?;
        let channel = channel.unwrap_or(spec.channel);
        let template = spec.template;
        // An API call: it answers within API Gateway's limit, charts or not.
        self.reporter
            .sources
            .check_page(project, &spec.page)
            .await?;
        let mut read = self
            .reporter
            .read(project, spec, self.now(), Some(self.charts_within()))
            .await;
        let conditions = self
            .judge_conditions((project, task, spec), &read, None)
            .await;
        let now = self.now();
        let stamp = RunStamp {
            kind: RunKind::Test,
            at: now,
            reference: None,
        };
        let rendered = self
            .reporter
            .render(
                project,
                spec,
                (channel, template),
                &read,
                stamp,
                now + PREVIEW_IMAGE_LIFETIME,
            )
            .await;
        let message = rendered
            .message
            .map_err(|e| ServiceError::unavailable("the message renderer", e))?;
        // Within the time a request has (API Gateway's 30 s): a preview lists no files rather
        // than answer late.
        let inline = rendered.snapshot.as_ref().map_or(0, |image| image.size);
        let attaching = self.reporter.attach(
            project,
            spec,
            (channel, inline),
            &mut read,
            stamp,
            now + PREVIEW_IMAGE_LIFETIME,
        );
        let attached = tokio::time::timeout(PREVIEW_ATTACH_WITHIN, attaching)
            .await
            .unwrap_or_else(|_| super::Attached {
                problem: Some(format!(
                    "the attachments took longer than {} s to write: not listed",
                    PREVIEW_ATTACH_WITHIN.as_secs()
                )),
                ..Default::default()
            });
        // `render` says why whenever a snapshot the channel shows is missing.
        let mut problems: Vec<String> = rendered.snapshot_problem.into_iter().collect();
        problems.extend(attached.problem);
        Ok(Preview {
            charts: read.checks,
            figures: read.figures,
            channel,
            template,
            messages: bodies(&message, rendered.snapshot.as_ref()),
            images: rendered.snapshot.into_iter().collect(),
            attachments: attached.files,
            problems,
            conditions,
        })
    }

    /// Previews a saved task.
    pub async fn preview_task(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &TaskId,
        channel: Option<Channel>,
    ) -> Result<Preview, ServiceError> {
        who.check_write(project)?;
        let task = self.load_task(project, id).await?;
        self.preview_of(who, (project, Some(id), &task.spec), channel)
            .await
    }

    /// A stored picture of the project (a preview's or a record's snapshot).
    pub async fn image(
        &self,
        who: &Principal,
        project: &ProjectId,
        id: &ImageId,
    ) -> Result<Vec<u8>, ServiceError> {
        who.check_read(project)?;
        self.reporter
            .images
            .get_image(project, id, self.now())
            .await?
            .ok_or(ServiceError::NotFound("image"))
    }
}
