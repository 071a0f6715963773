//! Message templates: a push run's message per channel and template, the alarm and auto-stop
//! notices, and ticket event messages.
//!
//! The templates live in `shared/core/templates/` and are compiled once into a minijinja
//! [`Environment`]. Templates named `*.html` are HTML-escaped automatically; the others are text.
//!
//! Every message is fitted to its provider's byte limit (provider-apis.md §1.2, §2, §3.4): when the
//! chart lines would overflow, the message shows a summary ("48 ok · 1 empty · 1 unreadable"), the
//! problem charts first, as many ok charts as fit and "…and N more". Long beginning and ending texts
//! are shortened next; as a last resort the text is cut. Every cut falls on a UTF-8 character boundary.
use crate::domain::contact::Language;
use crate::domain::message::{FeishuBody, PostRun, RobotBody, WecomBody};
use crate::domain::run::{ChartCheck, ChartState, RunKind};
use crate::domain::task::{Channel, Template};
use crate::domain::ticket::TicketStatus;
use chrono::DateTime;
use chrono_tz::Tz;
use minijinja::{Environment, UndefinedBehavior, Value, context};
use std::borrow::Cow;
use std::sync::LazyLock;

/// WeCom textcard title: at most 128 bytes.
pub const WECOM_TEXTCARD_TITLE_MAX_BYTES: usize = 128;
/// WeCom textcard description: at most 512 bytes.
pub const WECOM_TEXTCARD_DESCRIPTION_MAX_BYTES: usize = 512;
/// WeCom app text and markdown content: at most 2048 bytes.
pub const WECOM_CONTENT_MAX_BYTES: usize = 2048;
/// WeCom group robot markdown: at most 4096 bytes.
pub const ROBOT_MARKDOWN_MAX_BYTES: usize = 4096;
/// Feishu post and card requests: at most 30 KB.
pub const FEISHU_RICH_MAX_BYTES: usize = 30 * 1024;
/// Feishu text requests: at most 150 KB.
pub const FEISHU_TEXT_MAX_BYTES: usize = 150 * 1024;
/// What a Feishu request adds around the content (receive id, msg type, uuid); measured generously.
const FEISHU_REQUEST_OVERHEAD: usize = 256;
/// E-mail has no provider limit; this only bounds a runaway body.
const EMAIL_MAX_BYTES: usize = 1024 * 1024;
/// The textcard button: WeCom takes at most 4 characters.
const TEXTCARD_BUTTON: &str = "View";
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
    /// Test and manual runs are labelled in the title: "[Test] Sales overview".
    pub kind: RunKind,
    /// The run's time in the task's time zone, shown as "2026-12-03 10:00 (Asia/Shanghai)".
    pub at: DateTime<Tz>,
}

/// A rendered message for one channel, before it is addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderedPush {
    Wecom(WecomBody),
    Feishu(FeishuBody),
    Email {
        subject: String,
        text: String,
        /// Already escaped; `None` sends plain text only.
        html: Option<String>,
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
    }
}

/// Renders an alarm (or auto-stop notice) for the task's WeCom group robot: markdown ≤ 4096 bytes.
pub fn render_alarm_robot(view: &AlarmView) -> Result<RobotBody, RenderError> {
    let alarm = Alarm::new(view);
    let content = alarm.fit("alarm_robot.md", ROBOT_MARKDOWN_MAX_BYTES, &str::len)?;
    Ok(RobotBody::Markdown { content })
}

/// Renders the same alarm as a short plain-text note to the task's owner on the task's channel.
pub fn render_alarm_owner(channel: Channel, view: &AlarmView) -> Result<RenderedPush, RenderError> {
    let alarm = Alarm::new(view);
    Ok(match channel {
        Channel::Wecom => RenderedPush::Wecom(WecomBody::Text {
            content: alarm.fit("alarm_owner.txt", WECOM_CONTENT_MAX_BYTES, &str::len)?,
        }),
        Channel::Feishu => RenderedPush::Feishu(FeishuBody::Text {
            text: alarm.fit(
                "alarm_owner.txt",
                FEISHU_TEXT_MAX_BYTES,
                &feishu_text_request_len,
            )?,
        }),
        Channel::Email => RenderedPush::Email {
            subject: one_line(&format!("Herald alarm: {}", view.task_name)),
            text: alarm.fit("alarm_owner.txt", EMAIL_MAX_BYTES, &str::len)?,
            html: None,
        },
    })
}

/// What a ticket event's message says.
#[derive(Debug, Clone)]
pub struct TicketView<'a> {
    pub status: TicketStatus,
    pub title: &'a str,
    pub project: &'a str,
    pub id: &'a str,
    /// Who acted: the contact's name when known, else the id the event gave.
    pub actor: Option<&'a str>,
    /// Shown for rejected tickets and failed executions only.
    pub reason: Option<&'a str>,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// The ticket's link; `None` sends the message without one (never a relative link).
    pub link: Option<&'a str>,
}

/// Renders a ticket event for one channel in the reader's language: a text message on WeCom and
/// Feishu, HTML mail with a text part. Chinese shows the time in Asia/Shanghai, English in UTC.
pub fn render_ticket(
    channel: Channel,
    language: Language,
    view: &TicketView,
) -> Result<RenderedPush, RenderError> {
    let zh = language == Language::Zh;
    let tz = if zh { Tz::Asia__Shanghai } else { Tz::UTC };
    let at = format_at(&view.occurred_at.with_timezone(&tz));
    let headline = view.status.headline(language);
    let reason = view
        .reason
        .filter(|_| view.status.shows_reason())
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let labels = if zh {
        context! { project => "项目", id => "工单号", actor => "操作人", reason => "原因", at => "时间", open => "查看工单" }
    } else {
        context! { project => "Project", id => "Ticket", actor => "By", reason => "Reason", at => "Time", open => "Open the ticket" }
    };
    let ctx = |reason: Option<&str>| {
        context! {
            zh => zh,
            headline => headline,
            title => one_line(view.title),
            project => view.project,
            id => view.id,
            actor => view.actor,
            reason => reason,
            at => at.as_str(),
            link => view.link,
            labels => labels.clone(),
        }
    };
    // Instant messages keep the reason short; mail shows it whole.
    let short_reason = reason.map(|r| ellipsize(r, REASON_MAX_BYTES * 4));
    let text = |limit: usize, measure: &dyn Fn(&str) -> usize| {
        render("ticket_text.txt", &ctx(short_reason.as_deref()))
            .map(|t| cut_to(tidy(&t), limit, measure))
    };
    Ok(match channel {
        Channel::Wecom => RenderedPush::Wecom(WecomBody::Text {
            content: text(WECOM_CONTENT_MAX_BYTES, &str::len)?,
        }),
        Channel::Feishu => RenderedPush::Feishu(FeishuBody::Text {
            text: text(FEISHU_TEXT_MAX_BYTES, &feishu_text_request_len)?,
        }),
        Channel::Email => RenderedPush::Email {
            subject: one_line(&format!("{headline}: {}", view.title)),
            text: render("ticket_text.txt", &ctx(reason)).map(|t| tidy(&t))?,
            html: Some(render("ticket_email.html", &ctx(reason))?),
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Templates

/// Every template, compiled into the environment under its file name.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "push_text.txt",
        include_str!("../../templates/push_text.txt"),
    ),
    (
        "push_feishu_post.txt",
        include_str!("../../templates/push_feishu_post.txt"),
    ),
    (
        "push_wecom_markdown.md",
        include_str!("../../templates/push_wecom_markdown.md"),
    ),
    (
        "push_wecom_textcard.txt",
        include_str!("../../templates/push_wecom_textcard.txt"),
    ),
    (
        "push_feishu_card.md",
        include_str!("../../templates/push_feishu_card.md"),
    ),
    (
        "push_email_subject.txt",
        include_str!("../../templates/push_email_subject.txt"),
    ),
    (
        "push_email.html",
        include_str!("../../templates/push_email.html"),
    ),
    (
        "alarm_robot.md",
        include_str!("../../templates/alarm_robot.md"),
    ),
    (
        "alarm_owner.txt",
        include_str!("../../templates/alarm_owner.txt"),
    ),
    (
        "ticket_text.txt",
        include_str!("../../templates/ticket_text.txt"),
    ),
    (
        "ticket_email.html",
        include_str!("../../templates/ticket_email.html"),
    ),
];

static ENV: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(build_environment);

fn build_environment() -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|e| e.to_string())?;
    env.set_syntax(syntax);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(env)
}

fn render(name: &'static str, ctx: &Value) -> Result<String, RenderError> {
    let env = ENV
        .as_ref()
        .map_err(|e| RenderError::Templates(e.clone()))?;
    let failed = |e: minijinja::Error| RenderError::Template {
        template: name,
        message: e.to_string(),
    };
    env.get_template(name)
        .map_err(failed)?
        .render(ctx.clone())
        .map_err(failed)
}

// ---------------------------------------------------------------------------------------------
// Chart lines and fitting

/// A chart's state as the templates see it; the order is the order problem charts are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LineState {
    Unreadable,
    Empty,
    Ok,
}

impl LineState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Unreadable => "error",
            Self::Empty => "empty",
            Self::Ok => "ok",
        }
    }
}

/// One chart line: "GMV by region: 1,234 rows".
#[derive(Debug, Clone)]
struct Line {
    name: String,
    state: LineState,
    detail: String,
}

impl Line {
    fn new(check: &ChartCheck) -> Self {
        let (state, detail) = match &check.state {
            ChartState::Ok { rows } => (
                LineState::Ok,
                if *rows == 1 {
                    "1 row".to_owned()
                } else {
                    format!("{} rows", group_thousands(*rows))
                },
            ),
            ChartState::Empty => (LineState::Empty, "no data".to_owned()),
            ChartState::AccessError { reason } => {
                let reason = one_line(reason);
                let reason = reason.trim();
                (
                    LineState::Unreadable,
                    if reason.is_empty() {
                        "could not be read".to_owned()
                    } else {
                        format!(
                            "could not be read ({})",
                            ellipsize(reason, REASON_MAX_BYTES)
                        )
                    },
                )
            }
        };
        Self {
            name: one_line(check.name.as_str()),
            state,
            detail,
        }
    }

    fn value(&self) -> Value {
        context! {
            name => self.name.as_str(),
            state => self.state.as_str(),
            detail => self.detail.as_str(),
        }
    }
}

/// "48 ok · 1 empty · 1 unreadable" (zero counts left out).
fn summary(lines: &[Line]) -> String {
    let count = |state| lines.iter().filter(|l| l.state == state).count();
    [
        (count(LineState::Ok), "ok"),
        (count(LineState::Empty), "empty"),
        (count(LineState::Unreadable), "unreadable"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, label)| format!("{n} {label}"))
    .collect::<Vec<_>>()
    .join(" · ")
}

/// What one attempt at a message shows.
struct Shape<'a> {
    lines: Vec<&'a Line>,
    summary: Option<&'a str>,
    more: usize,
    beginning: Option<Cow<'a, str>>,
    ending: Option<Cow<'a, str>>,
}

impl Shape<'_> {
    fn lines_value(&self) -> Value {
        Value::from(self.lines.iter().map(|l| l.value()).collect::<Vec<_>>())
    }
}

/// Renders the largest shape whose measure is within `limit`: every chart in page order; else the
/// summary with problem charts first and as many as fit (the beginning and ending capped at a
/// quarter of the limit each); else no chart lines and shorter beginning and ending; else the
/// smallest rendering cut to the limit.
fn fit(
    lines: &[Line],
    beginning: Option<&str>,
    ending: Option<&str>,
    limit: usize,
    render: &dyn Fn(&Shape) -> Result<String, RenderError>,
    measure: &dyn Fn(&str) -> usize,
) -> Result<String, RenderError> {
    let all = Shape {
        lines: lines.iter().collect(),
        summary: None,
        more: 0,
        beginning: beginning.map(Cow::Borrowed),
        ending: ending.map(Cow::Borrowed),
    };
    let out = render(&all)?;
    if measure(&out) <= limit {
        return Ok(out);
    }

    let mut by_priority: Vec<&Line> = lines.iter().collect();
    by_priority.sort_by_key(|l| l.state); // stable: page order within each state
    let summary_text = summary(lines);
    let shape = |shown: usize, text_cap: usize| Shape {
        lines: by_priority[..shown].to_vec(),
        summary: (!summary_text.is_empty()).then_some(summary_text.as_str()),
        more: lines.len() - shown,
        beginning: beginning
            .map(|b| ellipsize(b, text_cap))
            .filter(|b| !b.is_empty()),
        ending: ending
            .map(|e| ellipsize(e, text_cap))
            .filter(|e| !e.is_empty()),
    };

    let quarter = limit / 4;
    for shown in (0..=lines.len()).rev() {
        let out = render(&shape(shown, quarter))?;
        if measure(&out) <= limit {
            return Ok(out);
        }
    }
    let mut cap = quarter;
    let mut out = render(&shape(0, cap))?;
    while measure(&out) > limit && cap > 0 {
        cap /= 2;
        out = render(&shape(0, cap))?;
    }
    Ok(cut_to(out, limit, measure))
}

/// Cuts `text` (on a character boundary, ending with "…") until its measure is within `limit`.
fn cut_to(mut text: String, limit: usize, measure: &dyn Fn(&str) -> usize) -> String {
    loop {
        let size = measure(&text);
        if size <= limit || text.is_empty() {
            return text;
        }
        let keep = text.len().saturating_sub(size - limit + "…".len());
        text = format!("{}…", floor_boundary(&text, keep));
        if keep == 0 {
            return String::new();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Push messages

struct Push<'v> {
    view: &'v PushView<'v>,
    title: String,
    at: String,
    lines: Vec<Line>,
    worst: Option<LineState>,
}

impl<'v> Push<'v> {
    fn new(view: &'v PushView<'v>) -> Self {
        let label = match view.kind {
            RunKind::Scheduled => "",
            RunKind::Manual => "[Manual] ",
            RunKind::Test => "[Test] ",
            RunKind::Ticket => "",
        };
        let lines: Vec<Line> = view.charts.iter().map(Line::new).collect();
        let worst = lines.iter().map(|l| l.state).min();
        Self {
            view,
            title: format!("{label}{}", one_line(view.page_title)),
            at: format_at(&view.at),
            lines,
            worst,
        }
    }

    fn context(&self, shape: &Shape, share_url: Option<&str>) -> Value {
        context! {
            title => self.title.as_str(),
            at => self.at.as_str(),
            task_name => one_line(self.view.task_name),
            kind => self.view.kind.as_str(),
            beginning => shape.beginning.as_deref(),
            ending => shape.ending.as_deref(),
            charts => shape.lines_value(),
            summary => shape.summary,
            more => shape.more,
            share_url => share_url,
        }
    }

    /// Renders `template` fitted to `limit` as measured by `measure`.
    fn fit(
        &self,
        template: &'static str,
        share_url: Option<&str>,
        limit: usize,
        measure: &dyn Fn(&str) -> usize,
    ) -> Result<String, RenderError> {
        let render =
            |shape: &Shape| render(template, &self.context(shape, share_url)).map(|s| tidy(&s));
        fit(
            &self.lines,
            self.view.beginning,
            self.view.ending,
            limit,
            &render,
            measure,
        )
    }

    fn wecom_textcard(&self, url: &str) -> Result<RenderedPush, RenderError> {
        let description = self.fit(
            "push_wecom_textcard.txt",
            None,
            WECOM_TEXTCARD_DESCRIPTION_MAX_BYTES,
            &str::len,
        )?;
        Ok(RenderedPush::Wecom(WecomBody::Textcard {
            title: ellipsize(&self.title, WECOM_TEXTCARD_TITLE_MAX_BYTES).into_owned(),
            description,
            url: url.to_owned(),
            btntxt: Some(TEXTCARD_BUTTON.to_owned()),
        }))
    }

    fn wecom_markdown(&self) -> Result<RenderedPush, RenderError> {
        let content = self.fit(
            "push_wecom_markdown.md",
            self.view.share_url,
            WECOM_CONTENT_MAX_BYTES,
            &str::len,
        )?;
        Ok(RenderedPush::Wecom(WecomBody::Markdown { content }))
    }

    fn wecom_text(&self) -> Result<RenderedPush, RenderError> {
        let content = self.fit(
            "push_text.txt",
            self.view.share_url,
            WECOM_CONTENT_MAX_BYTES,
            &str::len,
        )?;
        Ok(RenderedPush::Wecom(WecomBody::Text { content }))
    }

    /// Blue normally, orange when a chart is empty, red when one could not be read.
    fn card_color(&self) -> &'static str {
        match self.worst {
            Some(LineState::Unreadable) => "red",
            Some(LineState::Empty) => "orange",
            _ => "blue",
        }
    }

    fn card(&self, markdown: &str) -> serde_json::Value {
        let mut elements = vec![serde_json::json!({ "tag": "markdown", "content": markdown })];
        if let Some(url) = self.view.share_url {
            elements.push(serde_json::json!({
                "tag": "action",
                "actions": [{
                    "tag": "button",
                    "text": { "tag": "plain_text", "content": "View report" },
                    "type": "primary",
                    "url": url,
                }],
            }));
        }
        serde_json::json!({
            "config": { "wide_screen_mode": true },
            "header": {
                "title": { "tag": "plain_text", "content": self.title },
                "template": self.card_color(),
            },
            "elements": elements,
        })
    }

    fn feishu_card(&self) -> Result<RenderedPush, RenderError> {
        let measure = |markdown: &str| feishu_request_len(&self.card(markdown));
        let markdown = self.fit("push_feishu_card.md", None, FEISHU_RICH_MAX_BYTES, &measure)?;
        Ok(RenderedPush::Feishu(FeishuBody::Interactive {
            card: self.card(&markdown),
        }))
    }

    /// One paragraph per non-blank line of the post template, then the link run.
    fn paragraphs(&self, text: &str) -> Vec<Vec<PostRun>> {
        let mut paragraphs: Vec<Vec<PostRun>> = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                vec![PostRun {
                    text: line.to_owned(),
                    href: None,
                }]
            })
            .collect();
        if let Some(url) = self.view.share_url {
            paragraphs.push(vec![PostRun {
                text: "View report".to_owned(),
                href: Some(url.to_owned()),
            }]);
        }
        paragraphs
    }

    fn feishu_post(&self) -> Result<RenderedPush, RenderError> {
        let measure =
            |text: &str| feishu_request_len(&post_content(&self.title, &self.paragraphs(text)));
        let text = self.fit(
            "push_feishu_post.txt",
            None,
            FEISHU_RICH_MAX_BYTES,
            &measure,
        )?;
        Ok(RenderedPush::Feishu(FeishuBody::Post {
            title: self.title.clone(),
            paragraphs: self.paragraphs(&text),
        }))
    }

    fn feishu_text(&self) -> Result<RenderedPush, RenderError> {
        let text = self.fit(
            "push_text.txt",
            self.view.share_url,
            FEISHU_TEXT_MAX_BYTES,
            &feishu_text_request_len,
        )?;
        Ok(RenderedPush::Feishu(FeishuBody::Text { text }))
    }

    fn email(&self, with_html: bool) -> Result<RenderedPush, RenderError> {
        let all = Shape {
            lines: self.lines.iter().collect(),
            summary: None,
            more: 0,
            beginning: self.view.beginning.map(Cow::Borrowed),
            ending: self.view.ending.map(Cow::Borrowed),
        };
        let subject = one_line(render("push_email_subject.txt", &self.context(&all, None))?.trim());
        let text = self.fit(
            "push_text.txt",
            self.view.share_url,
            EMAIL_MAX_BYTES,
            &str::len,
        )?;
        let html = if with_html {
            let html = render("push_email.html", &self.context(&all, self.view.share_url))?;
            Some(html.trim().to_owned())
        } else {
            None
        };
        Ok(RenderedPush::Email {
            subject,
            text,
            html,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Alarms

struct Alarm<'v> {
    view: &'v AlarmView<'v>,
    lines: Vec<Line>,
    reason: String,
    action: Option<&'static str>,
}

impl<'v> Alarm<'v> {
    fn new(view: &'v AlarmView<'v>) -> Self {
        let concerned = |state: LineState| -> Vec<Line> {
            view.charts
                .iter()
                .map(Line::new)
                .filter(|l| l.state == state)
                .collect()
        };
        let (lines, reason, action) = match view.reason {
            AlarmReason::Empty => {
                let lines = concerned(LineState::Empty);
                let reason =
                    count_phrase(lines.len(), view.total_charts, ("is empty", "are empty"));
                (lines, reason, Some(paused_phrase(view.paused)))
            }
            AlarmReason::AccessError => {
                let lines = concerned(LineState::Unreadable);
                let reason = count_phrase(
                    lines.len(),
                    view.total_charts,
                    ("could not be read", "could not be read"),
                );
                (lines, reason, Some(paused_phrase(view.paused)))
            }
            AlarmReason::Stopped { failures } => {
                let runs = if failures == 1 { "run" } else { "runs" };
                (
                    Vec::new(),
                    format!(
                        "The task was stopped after {failures} failed {runs} in a row; enable it to start again."
                    ),
                    None,
                )
            }
        };
        Self {
            view,
            lines,
            reason,
            action,
        }
    }

    fn fit(
        &self,
        template: &'static str,
        limit: usize,
        measure: &dyn Fn(&str) -> usize,
    ) -> Result<String, RenderError> {
        let at = format_at(&self.view.at);
        let render = |shape: &Shape| {
            let ctx = context! {
                task_name => one_line(self.view.task_name),
                project => one_line(self.view.project),
                reason => self.reason.as_str(),
                action => self.action,
                charts => shape.lines_value(),
                more => shape.more,
                record_url => self.view.record_url,
                at => at.as_str(),
            };
            render(template, &ctx).map(|s| tidy(&s))
        };
        fit(&self.lines, None, None, limit, &render, measure)
    }
}

/// "2 of 5 charts are empty", "All 5 charts could not be read", "The only chart is empty".
fn count_phrase(count: usize, total: usize, (one, many): (&str, &str)) -> String {
    let total = total.max(count);
    if total == 1 {
        format!("The only chart {one}.")
    } else if count == total {
        format!("All {total} charts {many}.")
    } else if count == 1 {
        format!("1 of {total} charts {one}.")
    } else {
        format!("{count} of {total} charts {many}.")
    }
}

fn paused_phrase(paused: bool) -> &'static str {
    if paused {
        "This push was paused: nothing was sent."
    } else {
        "This push was sent anyway."
    }
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/// "2026-12-03 10:00 (Asia/Shanghai)".
fn format_at(at: &DateTime<Tz>) -> String {
    format!("{} ({})", at.format("%Y-%m-%d %H:%M"), at.timezone().name())
}

/// 1234567 → "1,234,567".
fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The text on one line: line breaks become spaces.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn floor_boundary(text: &str, max: usize) -> &str {
    if max >= text.len() {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` if it fits in `max` bytes, else its longest prefix that fits with "…" appended.
fn ellipsize(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let ellipsis = "…";
    if max < ellipsis.len() {
        return Cow::Borrowed("");
    }
    let head = floor_boundary(text, max - ellipsis.len()).trim_end();
    Cow::Owned(format!("{head}{ellipsis}"))
}

/// Trims the text and its lines' ends, and collapses runs of blank lines into one.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
            continue;
        }
        blank = false;
        out.push_str(line);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

/// A post in the im/v1 shape, as the Feishu client sends it.
fn post_content(title: &str, paragraphs: &[Vec<PostRun>]) -> serde_json::Value {
    let content: Vec<Vec<serde_json::Value>> = paragraphs
        .iter()
        .map(|runs| {
            runs.iter()
                .map(|run| match &run.href {
                    Some(href) => serde_json::json!({ "tag": "a", "href": href, "text": run.text }),
                    None => serde_json::json!({ "tag": "text", "text": run.text }),
                })
                .collect()
        })
        .collect();
    serde_json::json!({ "zh_cn": { "title": title, "content": content } })
}

/// The size of a Feishu request carrying `content`: the content travels as a JSON string inside the
/// request JSON, so its quotes and line breaks are escaped twice.
fn feishu_request_len(content: &serde_json::Value) -> usize {
    serde_json::Value::String(content.to_string())
        .to_string()
        .len()
        + FEISHU_REQUEST_OVERHEAD
}

fn feishu_text_request_len(text: &str) -> usize {
    feishu_request_len(&serde_json::json!({ "text": text }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::text::ChartName;
    use chrono::TimeZone;

    const URL: &str = "https://bi.example.com/share/abc";
    const RECORD: &str = "https://herald.example.com/records/run-1";
    const CHANNELS: [Channel; 3] = [Channel::Wecom, Channel::Feishu, Channel::Email];
    const KINDS: [Template; 3] = [Template::Card, Template::Markdown, Template::Text];

    fn at() -> DateTime<Tz> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 12, 3, 10, 0, 0)
            .unwrap()
    }

    fn chart(name: &str, state: ChartState) -> ChartCheck {
        ChartCheck {
            name: ChartName::parse(name).unwrap(),
            state,
            elapsed_ms: 12,
        }
    }

    fn typical() -> Vec<ChartCheck> {
        vec![
            chart("GMV by region", ChartState::Ok { rows: 1234 }),
            chart("Orders", ChartState::Empty),
            chart(
                "Refunds",
                ChartState::AccessError {
                    reason: "HTTP 503".into(),
                },
            ),
        ]
    }

    /// 50 charts: #7 empty, #31 unreadable, the rest ok; names of `repeat` × 7 Chinese characters.
    fn many(repeat: usize) -> Vec<ChartCheck> {
        (0..50)
            .map(|i| {
                let name: String = format!("第{i}号图表{}", "华东区域销售额".repeat(repeat))
                    .chars()
                    .take(100)
                    .collect();
                let state = match i {
                    7 => ChartState::Empty,
                    31 => ChartState::AccessError {
                        reason: "HTTP 503".into(),
                    },
                    _ => ChartState::Ok { rows: 1000 + i },
                };
                chart(&name, state)
            })
            .collect()
    }

    fn view(charts: &[ChartCheck]) -> PushView<'_> {
        PushView {
            task_name: "Daily sales",
            page_title: "Sales overview",
            share_url: Some(URL),
            beginning: Some("Good morning"),
            ending: Some("Questions: #bi-help"),
            charts,
            kind: RunKind::Scheduled,
            at: at(),
        }
    }

    fn alarm(reason: AlarmReason, charts: &[ChartCheck], total: usize) -> AlarmView<'_> {
        AlarmView {
            task_name: "Daily sales",
            project: "bi",
            reason,
            paused: true,
            charts,
            total_charts: total,
            record_url: Some(RECORD),
            at: at(),
        }
    }

    /// Every piece of text a message carries, joined.
    fn all_text(message: &RenderedPush) -> String {
        match message {
            RenderedPush::Wecom(WecomBody::Text { content })
            | RenderedPush::Wecom(WecomBody::Markdown { content }) => content.clone(),
            RenderedPush::Wecom(WecomBody::Textcard {
                title,
                description,
                url,
                btntxt,
            }) => format!("{title}\n{description}\n{url}\n{btntxt:?}"),
            RenderedPush::Feishu(FeishuBody::Text { text }) => text.clone(),
            RenderedPush::Feishu(FeishuBody::Post { title, paragraphs }) => {
                let mut out = format!("{title}\n");
                for run in paragraphs.iter().flatten() {
                    out.push_str(&run.text);
                    if let Some(href) = &run.href {
                        out.push_str(&format!(" <{href}>"));
                    }
                    out.push('\n');
                }
                out
            }
            RenderedPush::Feishu(FeishuBody::Interactive { card }) => {
                serde_json::to_string_pretty(card).unwrap()
            }
            RenderedPush::Email {
                subject,
                text,
                html,
            } => format!("{subject}\n{text}\n{}", html.as_deref().unwrap_or("")),
        }
    }

    /// Asserts the provider limits and clean UTF-8.
    fn assert_within_limits(message: &RenderedPush) {
        match message {
            RenderedPush::Wecom(WecomBody::Textcard {
                title,
                description,
                url,
                btntxt,
            }) => {
                assert!(title.len() <= 128, "title {} bytes", title.len());
                assert!(
                    description.len() <= 512,
                    "description {} bytes",
                    description.len()
                );
                assert!(url.starts_with("https://"));
                assert!(btntxt.as_deref().unwrap().chars().count() <= 4);
            }
            RenderedPush::Wecom(WecomBody::Markdown { content })
            | RenderedPush::Wecom(WecomBody::Text { content }) => {
                assert!(content.len() <= 2048, "content {} bytes", content.len());
            }
            RenderedPush::Feishu(FeishuBody::Interactive { card }) => {
                assert!(serde_json::to_string(card).unwrap().len() <= 30 * 1024);
                assert!(feishu_request_len(card) <= 30 * 1024);
            }
            RenderedPush::Feishu(FeishuBody::Post { title, paragraphs }) => {
                let content = post_content(title, paragraphs);
                assert!(serde_json::to_string(&content).unwrap().len() <= 30 * 1024);
                assert!(feishu_request_len(&content) <= 30 * 1024);
                assert!(paragraphs.iter().all(|p| !p.is_empty()));
            }
            RenderedPush::Feishu(FeishuBody::Text { text }) => {
                assert!(feishu_text_request_len(text) <= 150 * 1024);
            }
            RenderedPush::Email { subject, text, .. } => {
                assert!(!subject.contains('\n'));
                assert!(!text.is_empty());
            }
        }
        let text = all_text(message);
        assert_eq!(String::from_utf8(text.clone().into_bytes()).unwrap(), text);
        assert!(
            !text.contains('\u{FFFD}'),
            "replacement character in {text}"
        );
        assert!(
            !text.contains("{{") && !text.contains("{%"),
            "template syntax leaked: {text}"
        );
    }

    fn every(view: &PushView) -> Vec<(Channel, Template, RenderedPush)> {
        CHANNELS
            .iter()
            .flat_map(|c| KINDS.iter().map(move |t| (*c, *t)))
            .map(|(c, t)| (c, t, render_push(c, t, view).unwrap()))
            .collect()
    }

    #[test]
    fn every_template_compiles() {
        let env = ENV.as_ref().unwrap();
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
    }

    #[test]
    fn every_channel_and_template_renders_a_typical_view() {
        let charts = typical();
        for (channel, template, message) in every(&view(&charts)) {
            assert_within_limits(&message);
            let text = all_text(&message);
            for needle in [
                "Sales overview",
                "2026-12-03 10:00 (Asia/Shanghai)",
                "Good morning",
                "GMV by region",
                "1,234 rows",
                "Orders",
                "no data",
                "Refunds",
                "could not be read (HTTP 503)",
                "Questions: #bi-help",
                URL,
            ] {
                assert!(
                    text.contains(needle),
                    "{channel:?}/{template:?} lacks {needle:?}: {text}"
                );
            }
            assert!(
                !text.contains("more"),
                "{channel:?}/{template:?} cut: {text}"
            );
        }
    }

    #[test]
    fn each_pair_gets_its_message_type() {
        let charts = typical();
        let v = view(&charts);
        let shape = |c, t| match render_push(c, t, &v).unwrap() {
            RenderedPush::Wecom(WecomBody::Textcard { .. }) => "textcard",
            RenderedPush::Wecom(WecomBody::Markdown { .. }) => "wecom markdown",
            RenderedPush::Wecom(WecomBody::Text { .. }) => "wecom text",
            RenderedPush::Feishu(FeishuBody::Interactive { .. }) => "card",
            RenderedPush::Feishu(FeishuBody::Post { .. }) => "post",
            RenderedPush::Feishu(FeishuBody::Text { .. }) => "feishu text",
            RenderedPush::Email { html: Some(_), .. } => "html mail",
            RenderedPush::Email { html: None, .. } => "text mail",
        };
        assert_eq!(shape(Channel::Wecom, Template::Card), "textcard");
        assert_eq!(shape(Channel::Wecom, Template::Markdown), "wecom markdown");
        assert_eq!(shape(Channel::Wecom, Template::Text), "wecom text");
        assert_eq!(shape(Channel::Feishu, Template::Card), "card");
        assert_eq!(shape(Channel::Feishu, Template::Markdown), "post");
        assert_eq!(shape(Channel::Feishu, Template::Text), "feishu text");
        assert_eq!(shape(Channel::Email, Template::Card), "html mail");
        assert_eq!(shape(Channel::Email, Template::Markdown), "html mail");
        assert_eq!(shape(Channel::Email, Template::Text), "text mail");
    }

    #[test]
    fn typical_wecom_messages_look_right() {
        let charts = typical();
        let v = view(&charts);
        let RenderedPush::Wecom(WecomBody::Textcard {
            title,
            description,
            url,
            btntxt,
        }) = render_push(Channel::Wecom, Template::Card, &v).unwrap()
        else {
            panic!("not a textcard")
        };
        assert_eq!(title, "Sales overview");
        assert_eq!(url, URL);
        assert_eq!(btntxt.as_deref(), Some("View"));
        assert!(description.starts_with(
            "<div class=\"gray\">2026-12-03 10:00 (Asia/Shanghai)</div><div class=\"normal\">Good morning</div>"
        ));
        assert!(description.contains("<div class=\"highlight\">Orders: no data</div>"));
        assert!(!description.contains('\n'));

        let RenderedPush::Wecom(WecomBody::Markdown { content }) =
            render_push(Channel::Wecom, Template::Markdown, &v).unwrap()
        else {
            panic!("not markdown")
        };
        assert!(content.starts_with("**Sales overview**\n"));
        assert!(content.contains("GMV by region: <font color=\"comment\">1,234 rows</font>"));
        assert!(content.contains("Orders: <font color=\"warning\">no data</font>"));
        assert!(content.contains(&format!("[View report]({URL})")));
        assert!(!content.contains("\n\n\n"));

        let RenderedPush::Wecom(WecomBody::Text { content }) =
            render_push(Channel::Wecom, Template::Text, &v).unwrap()
        else {
            panic!("not text")
        };
        assert_eq!(
            content,
            format!(
                "Sales overview\n2026-12-03 10:00 (Asia/Shanghai)\n\nGood morning\n\n\
                 - GMV by region: 1,234 rows\n- Orders: no data\n- Refunds: could not be read (HTTP 503)\n\n\
                 Questions: #bi-help\n\nView report: {URL}\n\n— Herald · Daily sales"
            )
        );
    }

    #[test]
    fn fifty_charts_fit_every_limit() {
        for repeat in [1, 2, 20] {
            let charts = many(repeat);
            for (channel, template, message) in every(&view(&charts)) {
                assert_within_limits(&message);
                if channel == Channel::Wecom {
                    let text = all_text(&message);
                    assert!(
                        text.contains("48 ok · 1 empty · 1 unreadable"),
                        "{template:?}: {text}"
                    );
                    assert!(text.contains("more"), "{template:?}: {text}");
                }
                if channel == Channel::Email {
                    // no limit: every chart is listed
                    assert!(all_text(&message).contains("第49号图表"));
                }
            }
        }
    }

    #[test]
    fn problem_charts_come_first_when_lines_overflow() {
        let charts = many(2);
        let v = view(&charts);
        for template in KINDS {
            let text = all_text(&render_push(Channel::Wecom, template, &v).unwrap());
            let unreadable = text.find("第31号图表").expect("unreadable chart listed");
            let empty = text.find("第7号图表").expect("empty chart listed");
            let ok = text.find("第0号图表").unwrap_or(usize::MAX);
            let summary = text.find("48 ok · 1 empty · 1 unreadable").unwrap();
            assert!(
                summary < unreadable && unreadable < empty && empty < ok,
                "{text}"
            );
            assert!(text.contains("Good morning") && text.contains("Questions: #bi-help"));
        }
        // the markdown shows as many ok charts as fit and counts the rest
        let RenderedPush::Wecom(WecomBody::Markdown { content }) =
            render_push(Channel::Wecom, Template::Markdown, &v).unwrap()
        else {
            panic!("not markdown")
        };
        let shown = (0..50)
            .filter(|i| content.contains(&format!("第{i}号图表")))
            .count();
        assert!(shown > 2 && shown < 50, "{shown} shown");
        assert!(
            content.contains(&format!("…and {} more", 50 - shown)),
            "{content}"
        );
        // one more line would not have fitted
        assert!(content.len() > 2048 - 200, "{} bytes", content.len());
    }

    #[test]
    fn chinese_text_is_never_cut_mid_character() {
        let charts = many(20); // 100-character names
        let long: String = "早上好，这是本周的销售报表。"
            .repeat(80)
            .chars()
            .take(1000)
            .collect();
        let title: String = "销售总览".repeat(50);
        let mut v = view(&charts);
        v.beginning = Some(&long);
        v.ending = Some(&long);
        v.page_title = &title;
        for (_, _, message) in every(&v) {
            assert_within_limits(&message);
        }
        let RenderedPush::Wecom(WecomBody::Textcard { title, .. }) =
            render_push(Channel::Wecom, Template::Card, &v).unwrap()
        else {
            panic!("not a textcard")
        };
        assert!(title.ends_with('…') && title.starts_with("销售总览"));

        assert_eq!(ellipsize("销售额", 9), "销售额");
        assert_eq!(ellipsize("销售额", 8), "销…");
        assert_eq!(ellipsize("销售额", 2), "");
        assert_eq!(floor_boundary("销售额", 4), "销");
        assert_eq!(cut_to("销售额销售额".into(), 10, &str::len), "销售…");
    }

    #[test]
    fn html_mail_escapes_and_the_plain_part_keeps_the_text() {
        let charts = vec![chart(
            "<script>alert(1)</script>",
            ChartState::Ok { rows: 3 },
        )];
        let mut v = view(&charts);
        v.beginning = Some("<script>x</script> & co");
        for template in [Template::Card, Template::Markdown] {
            let RenderedPush::Email { text, html, .. } =
                render_push(Channel::Email, template, &v).unwrap()
            else {
                panic!("not mail")
            };
            let html = html.unwrap();
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
                "{html}"
            );
            assert!(
                html.contains("&lt;script&gt;x&lt;&#x2f;script&gt; &amp; co"),
                "{html}"
            );
            assert!(!html.contains("<script"), "{html}");
            assert!(html.contains("href=\"https:&#x2f;&#x2f;bi.example.com&#x2f;share&#x2f;abc\""));
            assert!(text.contains("- <script>alert(1)</script>: 3 rows"));
            assert!(text.contains("<script>x</script> & co"));
        }
        let RenderedPush::Email { html, .. } =
            render_push(Channel::Email, Template::Text, &v).unwrap()
        else {
            panic!("not mail")
        };
        assert_eq!(html, None);
    }

    #[test]
    fn the_share_link_appears_only_when_given() {
        let charts = typical();
        let mut v = view(&charts);
        v.share_url = None;
        for (channel, template, message) in every(&v) {
            assert_within_limits(&message);
            let text = all_text(&message);
            assert!(
                !text.contains("bi.example.com"),
                "{channel:?}/{template:?}: {text}"
            );
            assert!(
                !text.contains("View report"),
                "{channel:?}/{template:?}: {text}"
            );
        }
        // WeCom's textcard needs a URL: without one, the card falls back to markdown
        assert!(matches!(
            render_push(Channel::Wecom, Template::Card, &v).unwrap(),
            RenderedPush::Wecom(WecomBody::Markdown { .. })
        ));
        let RenderedPush::Feishu(FeishuBody::Interactive { card }) =
            render_push(Channel::Feishu, Template::Card, &v).unwrap()
        else {
            panic!("not a card")
        };
        assert_eq!(card["elements"].as_array().unwrap().len(), 1);

        let v = view(&charts);
        let RenderedPush::Feishu(FeishuBody::Interactive { card }) =
            render_push(Channel::Feishu, Template::Card, &v).unwrap()
        else {
            panic!("not a card")
        };
        assert_eq!(card["elements"][1]["actions"][0]["url"], URL);
        let RenderedPush::Feishu(FeishuBody::Post { paragraphs, .. }) =
            render_push(Channel::Feishu, Template::Markdown, &v).unwrap()
        else {
            panic!("not a post")
        };
        assert_eq!(
            paragraphs.last().unwrap(),
            &vec![PostRun {
                text: "View report".into(),
                href: Some(URL.into())
            }]
        );
    }

    #[test]
    fn test_and_manual_runs_are_labelled() {
        let charts = typical();
        for (kind, label) in [
            (RunKind::Test, "[Test] Sales overview"),
            (RunKind::Manual, "[Manual] Sales overview"),
        ] {
            let mut v = view(&charts);
            v.kind = kind;
            for (channel, template, message) in every(&v) {
                let text = all_text(&message);
                assert!(text.contains(label), "{channel:?}/{template:?}: {text}");
            }
            let RenderedPush::Email { subject, .. } =
                render_push(Channel::Email, Template::Card, &v).unwrap()
            else {
                panic!("not mail")
            };
            assert_eq!(
                subject,
                format!("{label} · 2026-12-03 10:00 (Asia/Shanghai)")
            );
        }
        for (_, _, message) in every(&view(&charts)) {
            let text = all_text(&message);
            assert!(!text.contains("[Test]") && !text.contains("[Manual]"));
        }
    }

    #[test]
    fn the_feishu_card_colour_follows_the_worst_chart() {
        let colour = |charts: &[ChartCheck]| {
            let RenderedPush::Feishu(FeishuBody::Interactive { card }) =
                render_push(Channel::Feishu, Template::Card, &view(charts)).unwrap()
            else {
                panic!("not a card")
            };
            card["header"]["template"].as_str().unwrap().to_owned()
        };
        let all = typical();
        assert_eq!(colour(&all[..1]), "blue");
        assert_eq!(colour(&all[..2]), "orange");
        assert_eq!(colour(&all), "red");
    }

    fn robot(view: &AlarmView) -> String {
        let RobotBody::Markdown { content } = render_alarm_robot(view).unwrap() else {
            panic!("not markdown")
        };
        assert!(content.len() <= 4096, "{} bytes", content.len());
        assert!(!content.contains('\u{FFFD}'));
        content
    }

    #[test]
    fn the_robot_alarm_says_why() {
        let mut charts = typical();
        charts.push(chart("Stock", ChartState::Empty));
        charts.push(chart("Returns", ChartState::Ok { rows: 1 }));

        let text = robot(&alarm(AlarmReason::Empty, &charts, 5));
        assert!(
            text.starts_with("**⚠️ Herald alarm: Daily sales**"),
            "{text}"
        );
        assert!(text.contains("2 of 5 charts are empty."));
        assert!(text.contains("This push was paused: nothing was sent."));
        assert!(text.contains("> Orders: <font color=\"warning\">no data</font>"));
        assert!(text.contains("> Stock: "));
        assert!(!text.contains("Refunds") && !text.contains("GMV"), "{text}");
        assert!(text.contains("Project bi · 2026-12-03 10:00 (Asia/Shanghai)"));
        assert!(text.contains(&format!("[View the run record]({RECORD})")));

        let mut view = alarm(AlarmReason::AccessError, &charts, 5);
        view.paused = false;
        view.record_url = None;
        let text = robot(&view);
        assert!(text.contains("1 of 5 charts could not be read."));
        assert!(text.contains("This push was sent anyway."));
        assert!(
            text.contains("Refunds: <font color=\"warning\">could not be read (HTTP 503)</font>")
        );
        assert!(!text.contains("record"));

        let unreadable = vec![
            chart(
                "A",
                ChartState::AccessError {
                    reason: "timeout".into(),
                },
            ),
            chart(
                "B",
                ChartState::AccessError {
                    reason: "HTTP 404".into(),
                },
            ),
        ];
        let text = robot(&alarm(AlarmReason::AccessError, &unreadable, 2));
        assert!(text.contains("All 2 charts could not be read."), "{text}");
        let text = robot(&alarm(AlarmReason::AccessError, &unreadable[..1], 1));
        assert!(text.contains("The only chart could not be read."), "{text}");

        let text = robot(&alarm(AlarmReason::Stopped { failures: 3 }, &charts, 5));
        assert!(
            text.contains("stopped after 3 failed runs in a row; enable it to start again"),
            "{text}"
        );
        assert!(
            !text.contains("paused") && !text.contains("Orders"),
            "{text}"
        );
        let text = robot(&alarm(AlarmReason::Stopped { failures: 1 }, &[], 5));
        assert!(text.contains("after 1 failed run in a row"));
    }

    #[test]
    fn the_robot_alarm_fits_fifty_charts() {
        let charts: Vec<ChartCheck> = many(20)
            .into_iter()
            .map(|mut c| {
                c.state = ChartState::Empty;
                c
            })
            .collect();
        let text = robot(&alarm(AlarmReason::Empty, &charts, 50));
        assert!(text.contains("All 50 charts are empty."));
        assert!(text.contains("more"));
        assert!(text.contains(RECORD), "the record link survives the cut");
    }

    #[test]
    fn the_owner_note_goes_on_the_tasks_channel() {
        let charts = typical();
        let view = alarm(AlarmReason::Empty, &charts, 3);
        for channel in CHANNELS {
            let note = render_alarm_owner(channel, &view).unwrap();
            assert_within_limits(&note);
            let text = all_text(&note);
            assert!(text.contains("Herald alarm: Daily sales (bi)"), "{text}");
            assert!(
                text.contains("1 of 3 charts is empty. This push was paused: nothing was sent.")
            );
            assert!(text.contains("- Orders: no data"));
            assert!(text.contains(&format!("Record: {RECORD}")));
            match (channel, note) {
                (Channel::Wecom, RenderedPush::Wecom(WecomBody::Text { .. }))
                | (Channel::Feishu, RenderedPush::Feishu(FeishuBody::Text { .. })) => {}
                (Channel::Email, RenderedPush::Email { subject, html, .. }) => {
                    assert_eq!(subject, "Herald alarm: Daily sales");
                    assert_eq!(html, None);
                }
                other => panic!("wrong message type {other:?}"),
            }
        }
        let stopped = alarm(AlarmReason::Stopped { failures: 3 }, &[], 3);
        let RenderedPush::Wecom(WecomBody::Text { content }) =
            render_alarm_owner(Channel::Wecom, &stopped).unwrap()
        else {
            panic!("not text")
        };
        assert_eq!(
            content,
            format!(
                "Herald alarm: Daily sales (bi)\n\
                 The task was stopped after 3 failed runs in a row; enable it to start again.\n\
                 2026-12-03 10:00 (Asia/Shanghai)\nRecord: {RECORD}"
            )
        );
        let charts = many(20);
        let note =
            render_alarm_owner(Channel::Wecom, &alarm(AlarmReason::Empty, &charts, 50)).unwrap();
        assert_within_limits(&note);
    }

    #[test]
    fn helpers() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(format_at(&at()), "2026-12-03 10:00 (Asia/Shanghai)");
        assert_eq!(tidy("\n a \n\n\n\nb  \n\n"), "a\n\nb");
        assert_eq!(one_line("a\r\nb\nc"), "a b c");
        let lines: Vec<Line> = many(1).iter().map(Line::new).collect();
        assert_eq!(summary(&lines), "48 ok · 1 empty · 1 unreadable");
        assert_eq!(summary(&lines[..2]), "2 ok");
        assert_eq!(
            Line::new(&chart("x", ChartState::Ok { rows: 1 })).detail,
            "1 row"
        );
        assert_eq!(
            Line::new(&chart("x", ChartState::AccessError { reason: " ".into() })).detail,
            "could not be read"
        );
    }
}
