//! Run records on the wire.
use chrono::{DateTime, Utc};
use herald_core::domain::delivery::{AttemptResult, Delivery};
use herald_core::domain::message::OutboundMessage;
use herald_core::domain::redaction::Redaction;
use herald_core::domain::run::{LogLevel, PushRun, RunOutcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A run in a list. A ticket record names its ticket instead of a task and has no charts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordSummary {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// `scheduled`, `manual`, `test` or `ticket`.
    pub kind: String,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `sending`, `delivered`, `partially_delivered`, `paused`, `failed` or `skipped`.
    pub outcome: String,
    /// Why it was paused (`empty`, `access_error`) or skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charts_ok: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charts_empty: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charts_unreadable: Option<usize>,
    /// The push's deliveries (WeCom batches, Feishu users, mails); alarms are not counted. In a
    /// record's details `deliveries` lists them and `delivery_count` counts them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = count_here_listed_in_details)]
    pub deliveries: Option<u32>,
    /// Of those, how many the provider accepted so far.
    pub delivered: u32,
    /// Of those, how many failed for good so far.
    pub failed: u32,
    /// The ticket event of a `ticket` record: source, id, title, project, status, event_id, actor,
    /// reason, url.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ticket: Option<herald_core::domain::ticket::TicketRef>,
}

impl From<&PushRun> for RecordSummary {
    fn from(run: &PushRun) -> Self {
        use herald_core::domain::run::ChartState;
        let of_task = run.ticket.is_none();
        let count = |pred: fn(&ChartState) -> bool| {
            of_task.then(|| run.charts.iter().filter(|c| pred(&c.state)).count())
        };
        Self {
            id: run.id.to_string(),
            task: of_task.then(|| run.task.to_string()),
            task_name: of_task.then(|| run.task_name.clone()),
            kind: run.kind.as_str().to_owned(),
            scheduled_for: run.scheduled_for,
            started_at: run.started_at,
            finished_at: run.finished_at,
            outcome: run.outcome.name().to_owned(),
            reason: match &run.outcome {
                RunOutcome::Paused { reason } => serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
                RunOutcome::Skipped { reason } => Some(reason.clone()),
                _ => None,
            },
            charts_ok: count(|s| matches!(s, ChartState::Ok { .. })),
            charts_empty: count(|s| matches!(s, ChartState::Empty)),
            charts_unreadable: count(ChartState::is_unreadable),
            deliveries: Some(run.progress.pushes),
            delivered: run.progress.delivered,
            failed: run.progress.finished.saturating_sub(run.progress.delivered),
            ticket: run.ticket.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordList {
    pub items: Vec<RecordSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One attempt of a delivery and what the provider said.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// `accepted` or the failure class (`transient`, `rate_limited`, `config`, `recipient`, `payload`).
    pub result: String,
    pub code: Option<i64>,
    pub answer: String,
    pub hint: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid_recipients: Vec<String>,
}

/// A delivery of a run: one provider call.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    /// `wecom_app`, `wecom_robot`, `feishu` or `smtp`.
    pub provider: String,
    /// Who it went to, in short.
    pub to: String,
    /// `queued`, `sending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub dead_reason: Option<String>,
    pub history: Vec<AttemptView>,
}

/// "a, b, c and 7 more".
fn first_three<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> String {
    let more = ids.len().saturating_sub(3);
    let first: Vec<&str> = ids.take(3).collect();
    match more {
        0 => first.join(", "),
        more => format!("{} and {more} more", first.join(", ")),
    }
}

fn recipients_of(message: &OutboundMessage) -> String {
    match message {
        OutboundMessage::WecomApp(m) => {
            let mut parts = Vec::new();
            if !m.to_users.is_empty() {
                parts.push(first_three(m.to_users.iter().map(|u| u.as_str())));
            }
            if !m.to_parties.is_empty() {
                parts.push(format!("{} departments", m.to_parties.len()));
            }
            if !m.to_tags.is_empty() {
                parts.push(format!("{} tags", m.to_tags.len()));
            }
            parts.join("; ")
        }
        OutboundMessage::WecomRobot(m) => match &m.group {
            Some(group) => format!("group {}", group.as_str()),
            None => "the group robot".to_owned(),
        },
        OutboundMessage::Feishu(m) => match &m.to {
            herald_core::domain::message::FeishuRecipient::OpenId(id) => id.to_string(),
            herald_core::domain::message::FeishuRecipient::Email(e) => e.to_string(),
            herald_core::domain::message::FeishuRecipient::Mobile(m) => m.clone(),
            herald_core::domain::message::FeishuRecipient::Chat(chat) => format!("chat {chat}"),
        },
        OutboundMessage::Email(m) => m.to.to_string(),
        OutboundMessage::DingtalkNotice(m) => first_three(m.to_users.iter().map(|u| u.as_str())),
        OutboundMessage::DingtalkRobot(m) => format!("group {}", m.group.as_str()),
    }
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.id.to_string(),
            provider: d.message.provider().as_str().to_owned(),
            to: recipients_of(&d.message),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: if d.status.is_final() {
                None
            } else {
                d.next_due
            },
            dead_reason: d.dead_reason.clone(),
            history: d
                .history
                .iter()
                .map(|a| match &a.result {
                    AttemptResult::Accepted { receipt } => AttemptView {
                        attempt: a.number,
                        at: a.finished_at,
                        result: "accepted".into(),
                        code: None,
                        answer: receipt.answer.clone(),
                        hint: None,
                        invalid_recipients: receipt.invalid_recipients.clone(),
                    },
                    AttemptResult::Failed { error } => AttemptView {
                        attempt: a.number,
                        at: a.finished_at,
                        result: serde_json::to_value(&error.failure)
                            .ok()
                            .and_then(|v| v["class"].as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        code: error.code,
                        answer: error.message.clone(),
                        hint: error.hint.clone(),
                        invalid_recipients: vec![],
                    },
                })
                .collect(),
        }
    }
}

/// `deliveries`: a count in a summary, the list in a record's details (which flatten the summary,
/// so the one property must allow both).
fn count_here_listed_in_details() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::Ref;
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        )
        .item(ArrayBuilder::new().items(Ref::from_schema_name("DeliveryView")))
        .description(Some(
            "The push's deliveries (WeCom batches, Feishu users, mails; alarms are not counted): \
             their count in a summary, the first 100 of them in a record's details.",
        ))
        .build()
        .into()
}

/// A run in full: charts, the rendered message, every delivery with the providers' answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordDetail {
    #[serde(flatten)]
    pub summary: RecordSummary,
    #[schema(value_type = Vec<Object>)]
    pub charts: Vec<herald_core::domain::run::ChartCheck>,
    /// The message as the provider got it.
    #[schema(value_type = Option<Object>)]
    pub message: Option<herald_core::domain::run::MessageRecord>,
    /// The first 100 of the push's deliveries.
    pub deliveries: Vec<DeliveryView>,
    /// How many deliveries the push has.
    pub delivery_count: u32,
    /// How many more the push has than are listed (the summary counts them all).
    pub more_deliveries: u32,
    pub alarms: Vec<DeliveryView>,
    /// The pictures the message carried (the page snapshot), served while the record lives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<super::preview::ImageView>,
    /// The files the push attached, served while the record lives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<super::preview::ImageView>,
}

impl RecordDetail {
    pub fn new(run: &PushRun, deliveries: &[Delivery]) -> Self {
        let pushes = run.progress.pushes;
        let view = |push: bool| {
            deliveries
                .iter()
                .filter(|d| (d.id.seq() < pushes) == push)
                .map(DeliveryView::from)
                .collect::<Vec<_>>()
        };
        let shown: Vec<DeliveryView> = view(true);
        let mut summary = RecordSummary::from(run);
        // Listed below under the same name: one JSON key each.
        summary.deliveries = None;
        Self {
            summary,
            delivery_count: pushes,
            charts: run.charts.clone(),
            message: run.message.clone(),
            more_deliveries: pushes.saturating_sub(u32::try_from(shown.len()).unwrap_or(u32::MAX)),
            deliveries: shown,
            alarms: view(false),
            images: run
                .images
                .iter()
                .map(|image| {
                    let url = format!(
                        "/v1/projects/{}/records/{}/{}.png",
                        run.project, run.id, image.name
                    );
                    super::preview::ImageView::new(image, url)
                })
                .collect(),
            attachments: run
                .attachments
                .iter()
                .map(|file| {
                    let url = format!(
                        "/v1/projects/{}/records/{}/attachments/{}",
                        run.project,
                        run.id,
                        super::preview::path_segment(&file.name)
                    );
                    super::preview::ImageView::new(file, url)
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogLineView {
    pub at: DateTime<Utc>,
    /// `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogList {
    pub items: Vec<LogLineView>,
}

/// The run's own log lines and every delivery attempt, in time order.
pub fn log_lines(run: &PushRun, deliveries: &[Delivery]) -> LogList {
    let level = |l: LogLevel| match l {
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    };
    let mut items: Vec<LogLineView> = run
        .log
        .iter()
        .map(|l| LogLineView {
            at: l.at,
            level: level(l.level).into(),
            message: l.message.clone(),
        })
        .collect();
    for d in deliveries {
        let to = recipients_of(&d.message);
        for a in &d.history {
            let (lvl, what) = match &a.result {
                AttemptResult::Accepted { receipt } => {
                    ("info", format!("accepted: {}", receipt.answer))
                }
                AttemptResult::Failed { error } => {
                    let what = match error.failure {
                        herald_core::ports::SendFailure::HeldBack { .. } => "held back",
                        herald_core::ports::SendFailure::RateLimited { .. } => "rate limited",
                        _ => "failed",
                    };
                    let code = error.code.map(|c| format!(" ({c})")).unwrap_or_default();
                    ("warn", format!("{what}{code}: {}", error.message))
                }
            };
            items.push(LogLineView {
                at: a.finished_at,
                level: lvl.into(),
                message: format!(
                    "{} to {to}, attempt {}: {what}",
                    d.message.provider().as_str(),
                    a.number
                ),
            });
        }
        if let Some(reason) = &d.dead_reason {
            items.push(LogLineView {
                at: d.updated_at,
                level: "error".into(),
                message: format!(
                    "{} to {to} given up: {reason}",
                    d.message.provider().as_str()
                ),
            });
        }
    }
    items.sort_by_key(|l| l.at);
    LogList { items }
}

/// Query of the records list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecordQuery {
    /// Only this task's runs.
    #[param(format = Uuid)]
    pub task: Option<String>,
    /// `delivered`, `partially_delivered`, `paused`, `failed`, `skipped` or `sending`.
    #[param(pattern = "^(delivered|partially_delivered|paused|failed|skipped|sending)$")]
    pub outcome: Option<String>,
    /// `scheduled`, `manual`, `test` or `ticket`.
    #[param(pattern = "^(scheduled|manual|test|ticket)$")]
    pub kind: Option<String>,
    /// Runs started at or after (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Runs started at or before (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// From a previous page's `next_cursor` (the last record id shown).
    #[param(format = Uuid)]
    pub cursor: Option<String>,
    /// 1-100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// `view` as JSON with every string passed through `redaction` (not empty: an empty one leaves
/// the view as it is, and the caller serializes it directly).
pub fn redacted(
    view: &impl Serialize,
    redaction: &Redaction,
) -> Result<serde_json::Value, serde_json::Error> {
    fn walk(value: &mut serde_json::Value, redaction: &Redaction) {
        match value {
            serde_json::Value::String(text) => *text = redaction.apply(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, redaction)),
            serde_json::Value::Object(fields) => {
                fields.values_mut().for_each(|v| walk(v, redaction));
            }
            _ => {}
        }
    }
    let mut value = serde_json::to_value(view)?;
    walk(&mut value, redaction);
    Ok(value)
}
