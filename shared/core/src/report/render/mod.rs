//! Message templates: a push run's message per channel and template, the alarm and auto-stop
//! notices, and ticket event messages.
//!
//! The templates live in `shared/core/templates/` and are compiled once into a minijinja
//! [`Environment`]. Every value a template writes is escaped for the markup its name says (`*.html`
//! HTML, `*.md` markdown, others text: see [`escape`]); Herald's own links go through `|link`.
//!
//! Every message is fitted to its provider's byte limit (provider-apis.md §1.2, §2, §3.4): when the
//! chart lines would overflow, the message shows a summary ("48 ok · 1 empty · 1 unreadable"), the
//! problem charts first, as many ok charts as fit and "…and N more". Long beginning and ending texts
//! are shortened next; as a last resort the text is cut. Every cut falls on a UTF-8 character boundary.
mod alarm;
pub mod escape;
mod feishu_card;
mod figures;
mod fitting;
mod group;
mod push;
mod shapes;
mod templates;
mod text;
mod ticket;
mod words;

use crate::domain::contact::Language;
use crate::domain::image::ImageRef;
use crate::domain::limits::{dingtalk, feishu, wecom, wecom_robot};
use crate::domain::message::{DingtalkBody, FeishuBody, PostRun, RobotBody, WecomBody};
use crate::domain::report::Figure;
use crate::domain::run::{ChartCheck, ChartState, RunKind};
use crate::domain::task::{Channel, Template};
use alarm::*;
use chrono::DateTime;
use chrono_tz::Tz;
use figures::{FigureText, Words};
use fitting::*;
pub use group::{DINGTALK_PICTURE_LINE_BYTES, GroupBody, render_group};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
use push::*;
use std::borrow::Cow;
use std::sync::LazyLock;
use templates::*;
use text::*;
pub(crate) use text::{format_at, format_run_at};
pub use ticket::{TicketView, render_ticket};

/// What a Feishu request adds around the content (receive id, msg type, uuid); measured generously.
const FEISHU_REQUEST_OVERHEAD: usize = 256;
/// The bytes of a DingTalk work notice's `msg` JSON with `body` (what its 2,048-byte limit counts).
pub fn dingtalk_msg_len(body: &DingtalkBody) -> usize {
    serde_json::to_string(&crate::domain::message::DingtalkMsg::of(body))
        .map(|json| json.len())
        .unwrap_or(usize::MAX)
}

fn dingtalk_text_len(content: &str) -> usize {
    dingtalk_msg_len(&DingtalkBody::Text {
        content: content.to_owned(),
    })
}
/// E-mail has no provider limit; this only bounds a runaway body.
const EMAIL_MAX_BYTES: usize = 1024 * 1024;
/// The most bytes of a chart's access-error reason shown.
const REASON_MAX_BYTES: usize = 120;

/// A template that could not be loaded or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the message templates could not be loaded: {0}")]
    Templates(String),
    #[error("the {template} template failed to render: {message}")]
    Template {
        template: &'static str,
        message: String,
    },
}

/// What a push run's message says.
#[derive(Debug, Clone)]
pub struct PushView<'a> {
    pub task_name: &'a str,
    pub page_title: &'a str,
    /// `None` when the task's `content.share_link` is false.
    pub share_url: Option<&'a str>,
    pub beginning: Option<&'a str>,
    pub ending: Option<&'a str>,
    pub charts: &'a [ChartCheck],
    /// What each chart shows, in the order of `charts` (`None` where it was not read).
    pub figures: &'a [Option<Figure>],
    /// The language of the message's own words and number style.
    pub language: Language,
    /// The page snapshot, for the channels that show pictures (Feishu cards and posts, HTML mail;
    /// WeCom sends it as a message of its own, see `compose`).
    pub snapshot: Option<&'a ImageRef>,
    /// Test and manual runs are labelled in the title: "[Test] Sales overview".
    pub kind: RunKind,
    /// A short reference to a test or manual run, shown after its time (see `format_run_at`).
    pub reference: Option<&'a str>,
    /// The run's time in the task's time zone, shown as "2026-12-03 10:00 (Asia/Shanghai)".
    pub at: DateTime<Tz>,
}

/// A rendered message for one channel, before it is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderedPush {
    Wecom(WecomBody),
    Feishu(FeishuBody),
    /// A work notice's and a robot's body alike (a robot's picture is a link, see `compose`).
    Dingtalk(DingtalkBody),
    Email {
        subject: String,
        text: String,
        /// Already escaped; `None` sends plain text only.
        html: Option<String>,
        /// Pictures the HTML shows inline (`cid:<name>`).
        images: Vec<ImageRef>,
    },
}

/// Why an alarm is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmReason {
    /// Charts were empty.
    Empty,
    /// Charts could not be read.
    AccessError,
    /// The task was stopped after `failures` failed scheduled runs in a row.
    Stopped { failures: u32 },
}

/// What an alarm or auto-stop notice says.
#[derive(Debug, Clone)]
pub struct AlarmView<'a> {
    pub task_name: &'a str,
    pub project: &'a str,
    pub reason: AlarmReason,
    /// Whether this push was paused (ignored for `Stopped`).
    pub paused: bool,
    /// The charts concerned. The run's other charts may be passed too: only the empty ones (for
    /// `Empty`) or the unreadable ones (for `AccessError`) are listed. Ignored for `Stopped`.
    pub charts: &'a [ChartCheck],
    /// How many charts the page has, for "2 of 5 charts are empty".
    pub total_charts: usize,
    /// A link to the run record, when a URL prefix is configured.
    pub record_url: Option<&'a str>,
    pub at: DateTime<Tz>,
    /// The task's language, as its pushes speak.
    pub language: Language,
}

/// Renders a push run's message for the task's channel and template.
///
/// A WeCom `card` needs a URL for its button: without a share link it falls back to markdown.
pub fn render_push(
    channel: Channel,
    template: Template,
    view: &PushView,
) -> Result<RenderedPush, RenderError> {
    let push = Push::new(view);
    match (channel, template) {
        (Channel::Wecom, Template::Card) => match view.share_url {
            Some(url) => push.wecom_textcard(url),
            None => push.wecom_markdown(),
        },
        (Channel::Wecom, Template::Markdown) => push.wecom_markdown(),
        (Channel::Wecom, Template::Text) => push.wecom_text(),
        (Channel::Feishu, Template::Card) => push.feishu_card(),
        (Channel::Feishu, Template::Markdown) => push.feishu_post(),
        (Channel::Feishu, Template::Text) => push.feishu_text(),
        (Channel::Email, Template::Card | Template::Markdown) => push.email(true),
        (Channel::Email, Template::Text) => push.email(false),
        // A DingTalk action card is markdown with a button: the markdown's own link serves.
        (Channel::Dingtalk, Template::Card | Template::Markdown) => push.dingtalk_markdown(),
        (Channel::Dingtalk, Template::Text) => push.dingtalk_text(),
    }
}

/// Renders an alarm (or auto-stop notice) for the task's WeCom group robot: markdown ≤ 4096 bytes.
pub fn render_alarm_robot(view: &AlarmView) -> Result<RobotBody, RenderError> {
    let alarm = Alarm::new(view);
    let content = alarm.fit("alarm_robot.md", wecom_robot::MARKDOWN_MAX_BYTES, &str::len)?;
    Ok(RobotBody::Markdown { content })
}

/// Renders the same alarm as a short plain-text note to the task's owner on the task's channel.
pub fn render_alarm_owner(channel: Channel, view: &AlarmView) -> Result<RenderedPush, RenderError> {
    let alarm = Alarm::new(view);
    Ok(match channel {
        Channel::Wecom => RenderedPush::Wecom(WecomBody::Text {
            content: alarm.fit("alarm_owner.txt", wecom::CONTENT_MAX_BYTES, &str::len)?,
        }),
        Channel::Feishu => RenderedPush::Feishu(FeishuBody::Text {
            text: alarm.fit(
                "alarm_owner.txt",
                feishu::TEXT_REQUEST_MAX_BYTES,
                &feishu_text_request_len,
            )?,
        }),
        Channel::Dingtalk => RenderedPush::Dingtalk(DingtalkBody::Text {
            content: alarm.fit(
                "alarm_owner.txt",
                dingtalk::NOTICE_MSG_MAX_BYTES,
                &dingtalk_text_len,
            )?,
        }),
        Channel::Email => RenderedPush::Email {
            subject: escape::defang(&alarm.heading()).into_owned(),
            text: alarm.fit("alarm_owner.plain", EMAIL_MAX_BYTES, &str::len)?,
            html: None,
            images: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests;
