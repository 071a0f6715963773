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
pub mod escape;
mod feishu_card;
mod figures;

use crate::domain::contact::Language;
use crate::domain::image::ImageRef;
use crate::domain::message::{FeishuBody, PostRun, RobotBody, WecomBody};
use crate::domain::report::Figure;
use crate::domain::run::{ChartCheck, ChartState, RunKind};
use crate::domain::task::{Channel, Template};
use crate::domain::ticket::TicketStatus;
use chrono::DateTime;
use chrono_tz::Tz;
use figures::{FigureText, Words};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
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
            subject: escape::defang(&alarm.heading()).into_owned(),
            text: alarm.fit("alarm_owner.plain", EMAIL_MAX_BYTES, &str::len)?,
            html: None,
            images: Vec::new(),
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
            subject: escape::defang(&one_line(&format!("{headline}: {}", view.title))).into_owned(),
            text: render("ticket_text.plain", &ctx(reason)).map(|t| tidy(&t))?,
            html: Some(render("ticket_email.html", &ctx(reason))?),
            images: Vec::new(),
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Templates

/// Every template, compiled into the environment under its file name.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "push_text.txt",
        include_str!("../../../templates/push_text.txt"),
    ),
    (
        "push_feishu_post.txt",
        include_str!("../../../templates/push_feishu_post.txt"),
    ),
    (
        "push_wecom_markdown.md",
        include_str!("../../../templates/push_wecom_markdown.md"),
    ),
    (
        "push_wecom_textcard.txt",
        include_str!("../../../templates/push_wecom_textcard.txt"),
    ),
    (
        "push_email_subject.plain",
        include_str!("../../../templates/push_email_subject.txt"),
    ),
    // Mail's plain part: the same text, shown as it is (see `escape::Sink::Plain`).
    (
        "push_text.plain",
        include_str!("../../../templates/push_text.txt"),
    ),
    (
        "alarm_owner.plain",
        include_str!("../../../templates/alarm_owner.txt"),
    ),
    (
        "ticket_text.plain",
        include_str!("../../../templates/ticket_text.txt"),
    ),
    (
        "push_email.html",
        include_str!("../../../templates/push_email.html"),
    ),
    (
        "alarm_robot.md",
        include_str!("../../../templates/alarm_robot.md"),
    ),
    (
        "alarm_owner.txt",
        include_str!("../../../templates/alarm_owner.txt"),
    ),
    (
        "ticket_text.txt",
        include_str!("../../../templates/ticket_text.txt"),
    ),
    (
        "ticket_email.html",
        include_str!("../../../templates/ticket_email.html"),
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
    env.set_auto_escape_callback(|name| AutoEscape::Custom(escape::sink_of(name).name().into()));
    env.set_formatter(|out, state, value| {
        let written = if value.is_safe() {
            write!(out, "{value}")
        } else {
            write!(out, "{}", sink_of_state(state).escape(&value.to_string()))
        };
        written.map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write"))
    });
    env.add_filter("link", |state: &minijinja::State, url: String| {
        Value::from_safe_string(escape::link(&url, sink_of_state(state)))
    });
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(env)
}

fn sink_of_state(state: &minijinja::State) -> escape::Sink {
    match state.auto_escape() {
        AutoEscape::Custom(name) => escape::Sink::from_name(name.as_ref()),
        AutoEscape::Html => escape::Sink::Html,
        _ => escape::Sink::Text,
    }
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

/// One chart as the message tells it: "GMV by region: 3 rows" and its top rows.
#[derive(Debug, Clone)]
struct Line {
    name: String,
    state: LineState,
    /// The headline: a KPI's value and change, a table's row count, a line's latest value.
    detail: String,
    figure: FigureText,
}

/// How many rows of each table or bar chart a shape shows: as many as the chart allows, then
/// fewer until the message fits.
const ROW_CAPS: [usize; 5] = [usize::MAX, 5, 3, 1, 0];

impl Line {
    fn new(check: &ChartCheck, figure: Option<&Figure>, words: Words) -> Self {
        let mut text = FigureText::default();
        let (state, detail) = match &check.state {
            ChartState::Ok { rows } => match figure {
                Some(figure) => {
                    text = figures::describe(figure, words);
                    (LineState::Ok, text.headline.clone())
                }
                None => (LineState::Ok, words.rows(*rows)),
            },
            ChartState::Empty => (LineState::Empty, words.no_data().to_owned()),
            ChartState::AccessError { reason } => {
                let reason = one_line(reason);
                let reason = ellipsize(reason.trim(), REASON_MAX_BYTES);
                (LineState::Unreadable, words.unreadable(&reason))
            }
            ChartState::ShapeError { field, reason } => {
                let reason = one_line(&format!("{field}: {reason}"));
                let reason = ellipsize(reason.trim(), REASON_MAX_BYTES);
                (LineState::Unreadable, words.unshowable(&reason))
            }
        };
        Self {
            name: one_line(check.name.as_str()),
            state,
            detail,
            figure: text,
        }
    }

    /// The line for the templates, with at most `row_cap` rows of its table or bars.
    fn value(&self, row_cap: usize, words: Words) -> Value {
        let f = &self.figure;
        let shown = f.rows.len().min(row_cap);
        let hidden = if f.kind == "table" || f.kind == "bar" {
            f.total_rows.saturating_sub(shown)
        } else {
            0
        };
        let more_rows = (shown > 0 && hidden > 0).then(|| words.more_rows(hidden));
        let table = f.table.as_ref().map(|t| {
            let mut t = t.clone();
            t.rows.truncate(row_cap);
            t.bars.truncate(row_cap);
            t
        });
        let aligned = f
            .table
            .as_ref()
            .filter(|_| shown > 0)
            .map(|t| figures::aligned(t, row_cap))
            .unwrap_or_default();
        context! {
            name => self.name.as_str(),
            state => self.state.as_str(),
            detail => self.detail.as_str(),
            kind => f.kind,
            rows => serialized(&f.rows[..shown]),
            header => f.header.as_deref().filter(|_| shown > 0),
            more_rows => more_rows,
            aligned => aligned,
            table => table.filter(|t| !t.rows.is_empty()).map(serialized),
            kpi => f.kpi.as_ref().map(serialized),
        }
    }
}

fn serialized<T: serde::Serialize>(value: T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// "48 ok · 1 empty · 1 unreadable" (zero counts left out).
fn summary(lines: &[Line], words: Words) -> String {
    let count = |state| lines.iter().filter(|l| l.state == state).count();
    [LineState::Ok, LineState::Empty, LineState::Unreadable]
        .into_iter()
        .map(|state| (count(state), words.state(state.as_str())))
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
    /// The most rows shown of each table or bar chart.
    row_cap: usize,
    words: Words,
}

impl Shape<'_> {
    fn lines_value(&self) -> Value {
        Value::from(
            self.lines
                .iter()
                .map(|l| l.value(self.row_cap, self.words))
                .collect::<Vec<_>>(),
        )
    }

    fn more_text(&self) -> Option<String> {
        (self.more > 0).then(|| self.words.more_charts(self.more))
    }
}

/// Renders the largest shape whose measure is within `limit`: every chart in page order with
/// all its rows, then with fewer rows (5, 3, 1, none); else the summary with problem charts first
/// and as many as fit (the beginning and ending capped at a quarter of the limit each); else no
/// chart lines and shorter beginning and ending; else the smallest rendering cut to the limit.
fn fit(
    lines: &[Line],
    (beginning, ending): (Option<&str>, Option<&str>),
    words: Words,
    limit: usize,
    render: &dyn Fn(&Shape) -> Result<String, RenderError>,
    measure: &dyn Fn(&str) -> usize,
) -> Result<String, RenderError> {
    for row_cap in ROW_CAPS {
        let all = Shape {
            lines: lines.iter().collect(),
            summary: None,
            more: 0,
            beginning: beginning.map(Cow::Borrowed),
            ending: ending.map(Cow::Borrowed),
            row_cap,
            words,
        };
        let out = render(&all)?;
        if measure(&out) <= limit {
            return Ok(out);
        }
        if !lines.iter().any(|l| !l.figure.rows.is_empty()) {
            break;
        }
    }

    let mut by_priority: Vec<&Line> = lines.iter().collect();
    by_priority.sort_by_key(|l| l.state); // stable: page order within each state
    let summary_text = summary(lines, words);
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
        row_cap: 0,
        words,
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
    words: Words,
    title: String,
    at: String,
    lines: Vec<Line>,
    worst: Option<LineState>,
}

/// HTML mail: big enough for every chart's table, small enough that one queued mail stays far
/// below a DynamoDB item's 400 KB.
const EMAIL_HTML_MAX_BYTES: usize = 96 * 1024;
/// The mail's plain-text part.
const EMAIL_TEXT_MAX_BYTES: usize = 32 * 1024;

impl<'v> Push<'v> {
    fn new(view: &'v PushView<'v>) -> Self {
        let words = Words {
            language: view.language,
        };
        let lines: Vec<Line> = view
            .charts
            .iter()
            .enumerate()
            .map(|(i, check)| Line::new(check, view.figures.get(i).and_then(Option::as_ref), words))
            .collect();
        let worst = lines.iter().map(|l| l.state).min();
        Self {
            view,
            words,
            title: format!(
                "{}{}",
                words.kind_label(view.kind),
                one_line(view.page_title)
            ),
            at: format_run_at(&view.at, view.kind, view.reference),
            lines,
            worst,
        }
    }

    fn context(&self, shape: &Shape, share_url: Option<&str>) -> Value {
        context! {
            // Herald's own label ("[Test] ") is no markup; the page's title is escaped.
            title_label => Value::from_safe_string(self.words.kind_label(self.view.kind).to_owned()),
            title => one_line(self.view.page_title),
            at => self.at.as_str(),
            task_name => one_line(self.view.task_name),
            kind => self.view.kind.as_str(),
            beginning => shape.beginning.as_deref(),
            ending => shape.ending.as_deref(),
            charts => shape.lines_value(),
            summary => shape.summary,
            more_text => shape.more_text(),
            share_url => share_url,
            view_report => self.words.view_report(),
            snapshot => self.view.snapshot.map(|s| s.name.as_str()),
            aligned_tables => false,
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
        self.fit_with(limit, measure, &|shape: &Shape| {
            render(template, &self.context(shape, share_url)).map(|s| tidy(&s))
        })
    }

    fn fit_with(
        &self,
        limit: usize,
        measure: &dyn Fn(&str) -> usize,
        render: &dyn Fn(&Shape) -> Result<String, RenderError>,
    ) -> Result<String, RenderError> {
        fit(
            &self.lines,
            (self.view.beginning, self.view.ending),
            self.words,
            limit,
            render,
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
            title: ellipsize(&escape::defang(&self.title), WECOM_TEXTCARD_TITLE_MAX_BYTES)
                .into_owned(),
            description,
            url: url.to_owned(),
            btntxt: Some(self.words.button().to_owned()),
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

    fn feishu_card(&self) -> Result<RenderedPush, RenderError> {
        let render = |shape: &Shape| Ok(feishu_card::card(self, shape).to_string());
        let measure = |card: &str| {
            serde_json::Value::String(card.to_owned()).to_string().len()
                + FEISHU_REQUEST_OVERHEAD
                + feishu_card::IMAGE_ELEMENT_BYTES
        };
        let card = self.fit_with(FEISHU_RICH_MAX_BYTES, &measure, &render)?;
        let card = serde_json::from_str(&card).map_err(|e| RenderError::Template {
            template: "feishu card",
            message: e.to_string(),
        })?;
        Ok(RenderedPush::Feishu(FeishuBody::Interactive {
            card,
            image: self.view.snapshot.cloned(),
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
                text: self.words.view_report().to_owned(),
                href: Some(url.to_owned()),
            }]);
        }
        paragraphs
    }

    fn feishu_post(&self) -> Result<RenderedPush, RenderError> {
        let measure = |text: &str| {
            feishu_request_len(&post_content(
                &escape::defang(&self.title),
                &self.paragraphs(text),
            )) + feishu_card::IMAGE_ELEMENT_BYTES
        };
        let text = self.fit(
            "push_feishu_post.txt",
            None,
            FEISHU_RICH_MAX_BYTES,
            &measure,
        )?;
        Ok(RenderedPush::Feishu(FeishuBody::Post {
            title: escape::defang(&self.title).into_owned(),
            paragraphs: self.paragraphs(&text),
            image: self.view.snapshot.cloned(),
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
            row_cap: usize::MAX,
            words: self.words,
        };
        let subject =
            one_line(render("push_email_subject.plain", &self.context(&all, None))?.trim());
        // The text part shows tables with aligned columns (mail clients show it in a fixed font).
        let text = self.fit_with(EMAIL_TEXT_MAX_BYTES, &str::len, &|shape: &Shape| {
            let mut ctx = self.context(shape, self.view.share_url);
            ctx = context! { aligned_tables => true, ..ctx };
            render("push_text.plain", &ctx).map(|s| tidy(&s))
        })?;
        let (html, images) = if with_html {
            let html = self.fit_with(EMAIL_HTML_MAX_BYTES, &str::len, &|shape: &Shape| {
                render("push_email.html", &self.context(shape, self.view.share_url))
                    .map(|h| h.trim().to_owned())
            })?;
            (
                Some(html),
                self.view.snapshot.cloned().into_iter().collect(),
            )
        } else {
            (None, Vec::new())
        };
        Ok(RenderedPush::Email {
            subject,
            text,
            html,
            images,
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
        let words = Words {
            language: view.language,
        };
        let zh = words.zh();
        let concerned = |state: LineState| -> Vec<Line> {
            view.charts
                .iter()
                .map(|c| Line::new(c, None, words))
                .filter(|l| l.state == state)
                .collect()
        };
        let (lines, reason, action) = match view.reason {
            AlarmReason::Empty => {
                let lines = concerned(LineState::Empty);
                let phrase = if zh {
                    ("无数据", "无数据")
                } else {
                    ("is empty", "are empty")
                };
                let reason = count_phrase(lines.len(), view.total_charts, phrase, zh);
                (lines, reason, Some(paused_phrase(view.paused, zh)))
            }
            AlarmReason::AccessError => {
                let lines = concerned(LineState::Unreadable);
                let phrase = if zh {
                    ("无法读取", "无法读取")
                } else {
                    ("could not be read", "could not be read")
                };
                let reason = count_phrase(lines.len(), view.total_charts, phrase, zh);
                (lines, reason, Some(paused_phrase(view.paused, zh)))
            }
            AlarmReason::Stopped { failures } => {
                let reason = if zh {
                    format!("任务已连续 {failures} 次推送失败，已自动停止；启用后将重新开始。")
                } else {
                    let runs = if failures == 1 { "run" } else { "runs" };
                    format!(
                        "The task was stopped after {failures} failed {runs} in a row; enable it to start again."
                    )
                };
                (Vec::new(), reason, None)
            }
        };
        Self {
            view,
            lines,
            reason,
            action,
        }
    }

    fn words(&self) -> Words {
        Words {
            language: self.view.language,
        }
    }

    /// The notice's subject line (mail) and heading.
    fn heading(&self) -> String {
        let label = if self.words().zh() {
            "Herald 告警"
        } else {
            "Herald alarm"
        };
        one_line(&format!("{label}: {}", self.view.task_name))
    }

    fn fit(
        &self,
        template: &'static str,
        limit: usize,
        measure: &dyn Fn(&str) -> usize,
    ) -> Result<String, RenderError> {
        let at = format_at(&self.view.at);
        let labels = if self.words().zh() {
            context! { alarm => "Herald 告警", project => "项目", record => "推送记录", view_record => "查看推送记录" }
        } else {
            context! { alarm => "Herald alarm", project => "Project", record => "Record", view_record => "View the run record" }
        };
        let render = |shape: &Shape| {
            let ctx = context! {
                task_name => one_line(self.view.task_name),
                project => one_line(self.view.project),
                reason => self.reason.as_str(),
                action => self.action,
                charts => shape.lines_value(),
                more_text => shape.more_text(),
                record_url => self.view.record_url,
                at => at.as_str(),
                labels => labels.clone(),
            };
            render(template, &ctx).map(|s| tidy(&s))
        };
        fit(
            &self.lines,
            (None, None),
            self.words(),
            limit,
            &render,
            measure,
        )
    }
}

/// "2 of 5 charts are empty", "All 5 charts could not be read", "The only chart is empty".
fn count_phrase(count: usize, total: usize, (one, many): (&str, &str), zh: bool) -> String {
    let total = total.max(count);
    match (zh, total == 1, count == total, count == 1) {
        (true, true, _, _) => format!("唯一的图表{one}。"),
        (true, false, true, _) => format!("全部 {total} 个图表{many}。"),
        (true, false, false, _) => format!("{total} 个图表中有 {count} 个{many}。"),
        (false, true, _, _) => format!("The only chart {one}."),
        (false, false, true, _) => format!("All {total} charts {many}."),
        (false, false, false, true) => format!("1 of {total} charts {one}."),
        (false, false, false, false) => format!("{count} of {total} charts {many}."),
    }
}

fn paused_phrase(paused: bool, zh: bool) -> &'static str {
    match (paused, zh) {
        (true, true) => "本次推送已暂停，未发送任何消息。",
        (false, true) => "本次推送仍已发送。",
        (true, false) => "This push was paused: nothing was sent.",
        (false, false) => "This push was sent anyway.",
    }
}

// ---------------------------------------------------------------------------------------------
// Text helpers

/// "2026-12-03 10:00 (Asia/Shanghai)".
pub(crate) fn format_at(at: &DateTime<Tz>) -> String {
    format!("{} ({})", at.format("%Y-%m-%d %H:%M"), at.timezone().name())
}

/// A run's time as its message shows it: for test and manual runs, which start whenever someone
/// clicks, to the second and with the run's reference ("2026-12-03 10:00:31 (Asia/Shanghai) ·
/// #a1b2c3"). Two of them within WeCom's duplicate-check interval then differ, and both are
/// delivered (WeCom swallows an identical request within 30 minutes), while a retried delivery of
/// the same run stays identical and is still delivered once.
pub(crate) fn format_run_at(at: &DateTime<Tz>, kind: RunKind, reference: Option<&str>) -> String {
    match kind {
        RunKind::Test | RunKind::Manual => {
            let reference = reference.map(|r| format!(" · #{r}")).unwrap_or_default();
            format!(
                "{} ({}){reference}",
                at.format("%Y-%m-%d %H:%M:%S"),
                at.timezone().name()
            )
        }
        RunKind::Scheduled | RunKind::Ticket => format_at(at),
    }
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
mod tests;
