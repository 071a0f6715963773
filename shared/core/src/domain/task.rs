//! The push task: what to push, to whom, when, and what to do when charts are empty or unreadable.
use super::contact::Language;
use super::ids::{ProjectId, TaskId};
use super::recipients::{Owner, Recipients};
use super::report::{ChartFields, Display, MaxRows, RowSelection};
use super::schedule::Schedule;
use super::text::{ChartName, HttpUrl, MessageText, PageTitle, RowsPointer, TaskName};
use crate::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most charts one page may hold.
pub const MAX_CHARTS: usize = 50;

/// The report page a task pushes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub title: PageTitle,
    pub share_url: HttpUrl,
    pub charts: Vec<Chart>,
}

/// One chart of a page: where its data is (a public JSON address, or a report source and what to
/// read there); `rows` points at the array of rows in the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chart {
    pub name: ChartName,
    #[serde(flatten)]
    pub origin: ChartOrigin,
    pub rows: RowsPointer,
    /// How the chart shows; tasks stored before `display` existed read as `auto`.
    #[serde(default)]
    pub display: Display,
    #[serde(default)]
    pub fields: ChartFields,
    #[serde(default)]
    pub max_rows: MaxRows,
}

/// Where a chart's data is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChartOrigin {
    /// JSON fetched with GET from a public address (its date parameters filled at run time).
    Url { data_url: HttpUrl },
    /// A report source (`source`) and what to read from it.
    Source {
        source: super::source::SourceName,
        query: super::source::SourceQuery,
    },
}

impl Chart {
    /// Where the chart was read from, as records and logs say it: an address without its query
    /// (share links carry tokens there), or the source and what was asked of it (a query holds
    /// no credentials).
    pub fn origin_description(&self) -> String {
        match &self.origin {
            ChartOrigin::Url { data_url } => match url::Url::parse(data_url.as_str()) {
                Ok(mut url) => {
                    let had_query = url.query().is_some();
                    url.set_query(None);
                    url.set_fragment(None);
                    let _ = url.set_username("");
                    let _ = url.set_password(None);
                    format!("{url}{}", if had_query { "?…" } else { "" })
                }
                Err(_) => "an address".to_owned(),
            },
            ChartOrigin::Source { source, query } => {
                format!("source {source} ({})", query.describe())
            }
        }
    }

    /// The source this chart reads from, if any.
    pub fn source(&self) -> Option<&super::source::SourceName> {
        match &self.origin {
            ChartOrigin::Source { source, .. } => Some(source),
            ChartOrigin::Url { .. } => None,
        }
    }

    /// What a reader keeps of this chart's rows: only what its display shows.
    pub fn selection(&self) -> RowSelection {
        let keys = (!self.fields.is_empty()).then(|| self.fields.keys());
        let (head, series) = match self.display {
            Display::Count => (0, false),
            Display::Kpi => (1, false),
            Display::Line | Display::Area => (0, true),
            // A share is of every row: as many as a chart keeps (the rest count in the rows).
            Display::Pie | Display::Donut => (MaxRows::MAX as usize, false),
            Display::Auto
            | Display::Table
            | Display::Bar
            | Display::StackedBar
            | Display::Combo
            | Display::Funnel => (self.max_rows.get(), false),
        };
        RowSelection {
            head,
            keys,
            series,
            whole: 0,
        }
    }
}

/// The channel a task pushes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Wecom,
    Feishu,
    Email,
    Dingtalk,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wecom => "WeCom",
            Self::Feishu => "Feishu",
            Self::Email => "e-mail",
            Self::Dingtalk => "DingTalk",
        }
    }

    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        match value {
            "wecom" => Ok(Self::Wecom),
            "feishu" => Ok(Self::Feishu),
            "email" => Ok(Self::Email),
            "dingtalk" => Ok(Self::Dingtalk),
            other => Err(format!(
                "unknown channel '{other}' (use wecom, feishu, dingtalk or email)"
            )),
        }
    }
}

/// How a message looks: a card (WeCom textcard, Feishu interactive card, HTML mail), markdown or plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Template {
    Card,
    Markdown,
    Text,
}

impl Template {
    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        match value {
            "card" => Ok(Self::Card),
            "markdown" => Ok(Self::Markdown),
            "text" => Ok(Self::Text),
            other => Err(format!(
                "unknown template '{other}' (use card, markdown or text)"
            )),
        }
    }
}

/// Text around the chart lines, and whether the share link is included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    pub beginning: Option<MessageText>,
    pub ending: Option<MessageText>,
    pub share_link: bool,
    /// Whether channels that show pictures get the page snapshot (default true).
    #[serde(default = "yes")]
    pub snapshot: bool,
    /// The language of the message's own words and number style; `None` picks Chinese when the
    /// page title has Chinese characters, else English.
    #[serde(default)]
    pub language: Option<Language>,
    /// The charts' rows sent as files with the push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<super::attachment::Attachments>,
}

fn yes() -> bool {
    true
}

impl Content {
    /// The language the push is written in for a page titled `title`.
    pub fn language_for(&self, title: &str) -> Language {
        self.language.unwrap_or_else(|| {
            if title.chars().any(super::text::is_cjk) {
                Language::Zh
            } else {
                Language::En
            }
        })
    }
}

/// Which charts an exception rule looks at: all of them (`fully`) or some of them (`partially`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Range {
    Fully,
    Partially,
}

impl Range {
    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        match value {
            "fully" => Ok(Self::Fully),
            "partially" => Ok(Self::Partially),
            other => Err(format!("unknown range '{other}' (use fully or partially)")),
        }
    }
}

/// What to do when charts are empty (or unreadable): within `range`, pause this push and/or alarm.
/// Neither ticked means push anyway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRule {
    pub range: Vec<Range>,
    pub pause: bool,
    pub alarm: bool,
}

/// Exception control: one rule for empty charts, one for charts that cannot be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionControl {
    pub empty: ExceptionRule,
    pub access_error: ExceptionRule,
}

pub use super::robot::{RobotKey, RobotSecret, RobotWebhook};

/// How many consecutive failed scheduled runs stop a task: 1–100, default 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct FailureLimit(u32);

impl FailureLimit {
    pub const DEFAULT: Self = Self(3);

    pub fn parse(value: u32) -> Result<Self, super::ParseError> {
        if (1..=100).contains(&value) {
            Ok(Self(value))
        } else {
            Err("must be between 1 and 100".into())
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for FailureLimit {
    type Error = super::ParseError;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<FailureLimit> for u32 {
    fn from(value: FailureLimit) -> u32 {
        value.0
    }
}

/// Everything a user says about a task (the body of create and replace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub name: TaskName,
    pub page: Page,
    pub channel: Channel,
    pub template: Template,
    pub recipients: Recipients,
    pub owner: Owner,
    pub schedule: Schedule,
    pub content: Content,
    pub exception_control: ExceptionControl,
    pub alarm_robot: Option<RobotWebhook>,
    pub failure_limit: FailureLimit,
    /// When a scheduled run pushes (alerts); none: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<super::conditions::Conditions>,
}

impl TaskSpec {
    /// Checks the parts against each other: the recipients and the owner must be reachable on the channel.
    pub fn check_consistent(&self) -> Result<(), FieldError> {
        if let Some(conditions) = &self.conditions {
            conditions
                .check(|name| {
                    let chart = self.page.charts.iter().find(|c| &c.name == name)?;
                    Some(super::conditions::ChartShape {
                        fields: &chart.fields,
                        keeps_rows: chart.display != Display::Count,
                        may_be_kpi: matches!(chart.display, Display::Kpi | Display::Auto),
                    })
                })
                .map_err(|e| e.within("conditions"))?;
        }
        let r = &self.recipients;
        check_groups(r, self.channel)?;
        let reachable = match self.channel {
            Channel::Wecom => {
                !(r.wecom_users.is_empty()
                    && r.wecom_parties.is_empty()
                    && r.wecom_tags.is_empty()
                    && r.wecom_robots.is_empty())
            }
            Channel::Feishu => !(r.feishu_users.is_empty() && r.feishu_chats.is_empty()),
            Channel::Email => !r.emails.is_empty(),
            Channel::Dingtalk => !(r.dingtalk_users.is_empty() && r.dingtalk_robots.is_empty()),
        } || !r.contacts.is_empty();
        if !reachable {
            let lists = match self.channel {
                Channel::Wecom => {
                    "wecom_users, wecom_parties, wecom_tags, wecom_robots or contacts"
                }
                Channel::Feishu => "feishu_users, feishu_chats or contacts",
                Channel::Email => "emails or contacts",
                Channel::Dingtalk => "dingtalk_users, dingtalk_robots or contacts",
            };
            return Err(FieldError::new(
                "recipients",
                format!("must name at least one recipient for this channel in {lists}"),
            ));
        }
        let o = &self.owner;
        let owner_reachable = o.contact.is_some()
            || match self.channel {
                Channel::Wecom => o.wecom_user.is_some(),
                Channel::Feishu => o.feishu_user.is_some(),
                Channel::Email => o.email.is_some(),
                Channel::Dingtalk => o.dingtalk_user.is_some(),
            };
        if !owner_reachable {
            let field = match self.channel {
                Channel::Wecom => "wecom_user",
                Channel::Feishu => "feishu_user",
                Channel::Email => "email",
                Channel::Dingtalk => "dingtalk_user",
            };
            return Err(FieldError::new(
                "owner",
                format!(
                    "must give the owner's {field} (or contact) so test pushes and alarms reach them"
                ),
            ));
        }
        Ok(())
    }
}

/// Group targets belong to one channel each, at most [`MAX_GROUPS_PER_TASK`] per list, and a
/// group's name (how records name it) is given once.
fn check_groups(r: &super::recipients::Recipients, channel: Channel) -> Result<(), FieldError> {
    use super::recipients::{MAX_GROUPS_PER_TASK, MAX_IDS_PER_LIST};
    let wecom: Vec<_> = r.wecom_robots.iter().map(|g| Some(&g.name)).collect();
    let feishu: Vec<_> = r.feishu_chats.iter().map(|_| None).collect();
    let dingtalk: Vec<_> = r.dingtalk_robots.iter().map(|g| Some(&g.name)).collect();
    let users: Vec<_> = r.dingtalk_users.iter().map(|_| None).collect();
    let lists = [
        (
            "wecom_robots",
            Channel::Wecom,
            "WeCom groups",
            &wecom,
            MAX_GROUPS_PER_TASK,
        ),
        (
            "feishu_chats",
            Channel::Feishu,
            "Feishu chats",
            &feishu,
            MAX_GROUPS_PER_TASK,
        ),
        (
            "dingtalk_robots",
            Channel::Dingtalk,
            "DingTalk groups",
            &dingtalk,
            MAX_GROUPS_PER_TASK,
        ),
        (
            "dingtalk_users",
            Channel::Dingtalk,
            "DingTalk users",
            &users,
            MAX_IDS_PER_LIST,
        ),
    ];
    for (field, on, what, names, max) in lists {
        let field = format!("recipients.{field}");
        if names.is_empty() {
            continue;
        }
        if channel != on {
            return Err(FieldError::new(
                field,
                format!("are {what}: they take tasks on the {} channel", on.as_str()),
            ));
        }
        if names.len() > max {
            return Err(FieldError::new(
                field,
                format!("must hold at most {max} entries (got {})", names.len()),
            ));
        }
        for (i, name) in names.iter().enumerate() {
            if name.is_some() && names[..i].contains(name) {
                return Err(FieldError::new(
                    format!("{field}[{i}].name"),
                    format!(
                        "'{}' names two groups: give each its own name",
                        name.map(|n| n.as_str()).unwrap_or_default()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Whether a task runs on its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// Runs on its schedule.
    Enabled,
    /// Turned off by a user.
    Disabled,
    /// Turned off by the failure limit; `enable` or an edit starts it again.
    Stopped,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Stopped => "stopped",
        }
    }
}

/// A stored push task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushTask {
    pub id: TaskId,
    pub project: ProjectId,
    pub spec: TaskSpec,
    pub state: TaskState,
    /// Optimistic concurrency: every write increments it; a write naming an older version is refused.
    pub version: u64,
    pub consecutive_failures: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PushTask {
    /// When the task runs next, if it is enabled: on `calendar`'s working days when its schedule
    /// has one (the calendar it names, as stored).
    pub fn next_run_at(
        &self,
        now: DateTime<Utc>,
        calendar: Option<&super::calendar::Calendar>,
    ) -> Option<DateTime<Utc>> {
        if self.state != TaskState::Enabled {
            return None;
        }
        self.spec
            .schedule
            .upcoming_on(now, 1, calendar)
            .into_iter()
            .next()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_chart_says_where_it_was_read_from_without_query_or_user_info() {
        use super::{Chart, ChartOrigin};
        let chart = |origin: ChartOrigin| Chart {
            name: crate::domain::text::ChartName::parse("GMV").unwrap(),
            origin,
            rows: crate::domain::text::RowsPointer::parse("").unwrap(),
            display: Default::default(),
            fields: Default::default(),
            max_rows: Default::default(),
        };
        let url = |u: &str| ChartOrigin::Url {
            data_url: crate::domain::text::HttpUrl::parse(u).unwrap(),
        };
        assert_eq!(
            chart(url(
                "https://bob:pw@bi.example.com/api/charts/17/data?token=s3cret#x"
            ))
            .origin_description(),
            "https://bi.example.com/api/charts/17/data?…"
        );
        assert_eq!(
            chart(url("https://bi.example.com/a")).origin_description(),
            "https://bi.example.com/a"
        );
        let source = ChartOrigin::Source {
            source: crate::domain::source::SourceName::parse("superset-prod").unwrap(),
            query: crate::domain::source::SourceQuery::Superset(
                crate::domain::source::SupersetQuery { chart: 17 },
            ),
        };
        assert_eq!(
            chart(source).origin_description(),
            "source superset-prod (chart 17)"
        );
    }

    #[test]
    fn robot_keys_read_from_old_and_new_documents_and_a_secret_name_is_checked() {
        use crate::domain::message::{RobotAddress, RobotMessage};
        let key = "693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa";
        // Tasks and deliveries written before keys moved to the secret store.
        let old: RobotWebhook =
            serde_json::from_value(serde_json::json!({"webhook_key": key})).unwrap();
        let RobotWebhook::Key { webhook_key } = &old else {
            panic!("{old:?}")
        };
        let secret = webhook_key.secret_name();
        assert!(secret.as_str().starts_with("robots/") && !secret.as_str().contains(key));
        let queued: RobotMessage = serde_json::from_value(
            serde_json::json!({"key": key, "body": {"msgtype": "text", "content": "x", "mentioned_list": []}}),
        )
        .unwrap();
        assert_eq!(queued.key, RobotAddress::Key(webhook_key.clone()));
        // New documents name the secret, and only a robot secret can be named.
        let stored = RobotWebhook::Stored {
            secret: secret.clone(),
        };
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(json, serde_json::json!({"secret": secret.as_str()}));
        assert_eq!(
            serde_json::from_value::<RobotWebhook>(json).unwrap(),
            stored
        );
        let other = serde_json::json!({"secret": "channels/wecom/corp_secret"});
        assert!(serde_json::from_value::<RobotWebhook>(other).is_err());
        let forged = serde_json::json!({"key": {"secret": "channels/smtp/password"}, "body": {"msgtype": "text", "content": "x", "mentioned_list": []}});
        assert!(serde_json::from_value::<RobotMessage>(forged).is_err());
    }

    use super::*;

    #[test]
    fn robot_key_is_taken_from_a_pasted_webhook_url() {
        let key = RobotKey::from_key_or_url(
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
        )
        .unwrap();
        assert_eq!(key.as_str(), "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa");
        assert!(RobotKey::from_key_or_url("https://example.com/hook").is_err());
        assert!(RobotKey::from_key_or_url("abc-123").is_ok());
    }

    #[test]
    fn failure_limit_is_bounded() {
        assert!(FailureLimit::parse(0).is_err());
        assert!(FailureLimit::parse(101).is_err());
        assert_eq!(FailureLimit::parse(3).unwrap(), FailureLimit::DEFAULT);
    }
}
