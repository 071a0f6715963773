//! A push task as answered: its body fields (secrets masked) and its state.
use super::schedule::ScheduleView;
use super::tasks::*;
use chrono::{DateTime, Utc};
use herald_core::domain::recipients::WecomGroupId;
use herald_core::domain::task::{Channel, ChartOrigin, ExceptionRule, PushTask, Range, Template};
use herald_core::services::settings::calendars::Calendars;
use serde::Serialize;
use utoipa::ToSchema;

fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

/// A task as answered: the body fields (secrets masked) plus its state.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    pub project: String,
    pub name: String,
    pub page: PageBody,
    #[schema(value_type = String, example = "wecom")]
    pub channel: Channel,
    #[schema(value_type = String, example = "card")]
    pub template: Template,
    pub recipients: RecipientsBody,
    pub owner: OwnerBody,
    pub schedule: ScheduleView,
    pub content: ContentBody,
    pub exception_control: ExceptionControlBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_robot: Option<AlarmRobotBody>,
    pub failure_limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<super::conditions::ConditionsBody>,
    /// `enabled`, `disabled` (by a user) or `stopped` (by the failure limit).
    #[schema(example = "enabled")]
    pub state: String,
    pub version: u64,
    pub consecutive_failures: u32,
    /// When the schedule fires next; absent unless enabled.
    pub next_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn rule_view(rule: &ExceptionRule) -> ExceptionRuleBody {
    ExceptionRuleBody {
        range: rule
            .range
            .iter()
            .map(|r| match r {
                Range::Fully => "fully".to_owned(),
                Range::Partially => "partially".to_owned(),
            })
            .collect(),
        pause: rule.pause,
        alarm: rule.alarm,
    }
}

impl TaskView {
    /// The task as answered; its next run on its calendar's working days (of `calendars`).
    pub fn new(task: &PushTask, now: DateTime<Utc>, calendars: &Calendars) -> Self {
        let spec = &task.spec;
        let r = &spec.recipients;
        let o = &spec.owner;
        let group = |ids: &[WecomGroupId]| {
            ids.iter()
                .map(|g| GroupIdBody::Text(g.to_string()))
                .collect()
        };
        Self {
            id: task.id.to_string(),
            project: task.project.to_string(),
            name: spec.name.to_string(),
            page: PageBody {
                title: spec.page.title.to_string(),
                share_url: spec.page.share_url.to_string(),
                charts: spec
                    .page
                    .charts
                    .iter()
                    .map(|c| ChartBody {
                        name: c.name.to_string(),
                        data_url: match &c.origin {
                            ChartOrigin::Url { data_url } => Some(data_url.to_string()),
                            ChartOrigin::Source { .. } => None,
                        },
                        source: c.source().map(ToString::to_string),
                        query: match &c.origin {
                            ChartOrigin::Source { query, .. } => serde_json::to_value(query).ok(),
                            ChartOrigin::Url { .. } => None,
                        },
                        rows: c.rows.to_string(),
                        display: c.display.as_str().to_owned(),
                        fields: FieldsBody::view(&c.fields),
                        max_rows: c.max_rows.get() as u32,
                    })
                    .collect(),
            },
            channel: spec.channel,
            template: spec.template,
            recipients: RecipientsBody {
                wecom_users: strings(&r.wecom_users),
                wecom_parties: group(&r.wecom_parties),
                wecom_tags: group(&r.wecom_tags),
                feishu_users: strings(&r.feishu_users),
                emails: strings(&r.emails),
                contacts: strings(&r.contacts),
                wecom_robots: r
                    .wecom_robots
                    .iter()
                    .map(|g| WecomRobotBody {
                        name: g.name.to_string(),
                        webhook_key: SECRET_SET.into(),
                    })
                    .collect(),
                feishu_chats: strings(&r.feishu_chats),
                dingtalk_users: strings(&r.dingtalk_users),
                dingtalk_robots: r
                    .dingtalk_robots
                    .iter()
                    .map(|g| DingtalkRobotBody {
                        name: g.name.to_string(),
                        access_token: SECRET_SET.into(),
                        secret: None,
                    })
                    .collect(),
            },
            owner: OwnerBody {
                wecom_user: o.wecom_user.as_ref().map(ToString::to_string),
                feishu_user: o.feishu_user.as_ref().map(ToString::to_string),
                email: o.email.as_ref().map(ToString::to_string),
                contact: o.contact.as_ref().map(ToString::to_string),
                dingtalk_user: o.dingtalk_user.as_ref().map(ToString::to_string),
            },
            schedule: ScheduleView::from(&spec.schedule),
            content: ContentBody {
                beginning: spec.content.beginning.as_ref().map(ToString::to_string),
                ending: spec.content.ending.as_ref().map(ToString::to_string),
                share_link: spec.content.share_link,
                snapshot: spec.content.snapshot,
                language: spec.content.language.map(|l| l.as_str().to_owned()),
                attachments: spec
                    .content
                    .attachments
                    .as_ref()
                    .map(super::attachments::AttachmentsBody::view),
            },
            exception_control: ExceptionControlBody {
                empty: rule_view(&spec.exception_control.empty),
                access_error: rule_view(&spec.exception_control.access_error),
            },
            alarm_robot: spec.alarm_robot.as_ref().map(|_| AlarmRobotBody {
                webhook_key: SECRET_SET.into(),
            }),
            failure_limit: spec.failure_limit.get(),
            conditions: spec
                .conditions
                .as_ref()
                .map(super::conditions::ConditionsBody::view),
            state: task.state.as_str().to_owned(),
            version: task.version,
            consecutive_failures: task.consecutive_failures,
            next_run_at: task.next_run_at(
                now,
                spec.schedule
                    .calendar()
                    .map(|name| calendars.for_schedule(name))
                    .as_ref(),
            ),
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

/// A page of tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskList {
    pub items: Vec<TaskView>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
