//! SQLE's workflow webhook on the wire (the JSON SQLE itself posts), and an SQLE source's settings.
use super::tickets::MAX_PEOPLE_PER_ROLE;
use super::{at, within};
use herald_core::FieldError;
use herald_core::domain::ids::{ContactId, ProjectId};
use herald_core::domain::recipients::FeishuChatId;
use herald_core::domain::recipients::parse_list;
use herald_core::domain::robot::GroupName;
use herald_core::domain::sqle::{SqleAction, SqleEvent, SqleRoute, SqleSource};
use herald_core::domain::ticket::{TicketGroups, TicketId, TicketTitle};
use herald_core::services::robot_keys::KeptGroups;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest SQLE project name or uid a rule or an event may carry.
const MAX_PROJECT_KEY: usize = 200;
/// The longest title Herald keeps; longer SQLE subjects are shortened rather than refused, so
/// SQLE does not retry an event that can never pass.
const MAX_TITLE_CHARS: usize = 200;

/// What SQLE posts (`sqle/notification/webhook.go`: `webHookRequestBody`). SQLE adds fields over
/// its versions (`instanceInfo`, `sql_type_map`, ...), so fields Herald does not use are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SqleWebhookBody {
    /// Always `workflow` for workflow events.
    pub event: String,
    /// `create`, `approve`, `reject`, `exec_success`, `exec_failed`, `cancel`, `complete`,
    /// `auto_exec_success` or `auto_exec_failed`.
    pub action: String,
    /// RFC 3339 (SQLE: `time.Now().Format(time.RFC3339)`).
    pub timestamp: String,
    pub payload: SqlePayloadBody,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SqlePayloadBody {
    pub workflow: SqleWorkflowBody,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SqleWorkflowBody {
    /// The SQLE project's name (older SQLE versions put the project uid here).
    pub project_name: String,
    /// The SQLE project's uid (newer SQLE versions).
    #[serde(default)]
    pub project_uid: Option<String>,
    pub workflow_id: String,
    pub workflow_subject: String,
    /// SQLE's own status (`wait_for_audit`, `finished`, ...): informative; the action decides.
    #[serde(default)]
    pub workflow_status: Option<String>,
}

fn project_key(field: &str, value: &str) -> Result<(), FieldError> {
    if value.chars().count() > MAX_PROJECT_KEY || value.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_PROJECT_KEY} characters, no control characters"),
        ));
    }
    Ok(())
}

impl SqleWebhookBody {
    pub fn parse(self) -> Result<SqleEvent, FieldError> {
        if self.event != "workflow" {
            return Err(FieldError::new(
                "event",
                format!(
                    "'{}' is not an SQLE workflow event (use workflow)",
                    self.event
                ),
            ));
        }
        let action = at("action", SqleAction::parse(&self.action))?;
        let occurred_at = chrono::DateTime::parse_from_rfc3339(&self.timestamp)
            .map(|t| t.to_utc())
            .map_err(|_| {
                FieldError::new(
                    "timestamp",
                    "must be an RFC 3339 time such as 2026-11-23T10:00:00+08:00",
                )
            })?;
        let w = self.payload.workflow;
        project_key("payload.workflow.project_name", &w.project_name)?;
        let project_uid = w.project_uid.filter(|u| !u.is_empty());
        if let Some(uid) = &project_uid {
            project_key("payload.workflow.project_uid", uid)?;
        }
        let subject: String = if w.workflow_subject.chars().count() > MAX_TITLE_CHARS {
            let mut short: String = w
                .workflow_subject
                .chars()
                .take(MAX_TITLE_CHARS - 1)
                .collect();
            short.push('…');
            short
        } else {
            w.workflow_subject
        };
        Ok(SqleEvent {
            action,
            timestamp: self.timestamp,
            occurred_at,
            project_name: w.project_name,
            project_uid,
            workflow_id: at(
                "payload.workflow.workflow_id",
                TicketId::parse(w.workflow_id),
            )?,
            workflow_subject: at(
                "payload.workflow.workflow_subject",
                TicketTitle::parse(subject),
            )?,
        })
    }
}

/// What Herald did with an SQLE event. Always answered with 200, which SQLE counts as delivered.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqleAccepted {
    /// Whether a routing rule names the event's project; without one nothing is recorded or sent.
    pub routed: bool,
    /// Whether this event (workflow id, action, timestamp) came before; nothing was sent again.
    pub duplicate: bool,
    /// The record's id: `GET /v1/projects/{project}/records/{record}`.
    pub record: Option<String>,
    /// How many messages were queued.
    pub deliveries: usize,
}

/// An SQLE source: the token SQLE sends and who hears about each SQLE project.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqleSourceBody {
    /// The token configured in SQLE's webhook settings (SQLE sends `Authorization: Bearer
    /// <token>`), at least 16 characters. Write-only; leave it out to keep the stored one.
    #[serde(default)]
    pub token: Option<String>,
    pub routes: Vec<SqleRouteBody>,
}

/// Who hears about one SQLE project's workflows.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqleRouteBody {
    /// The SQLE project's name (an event matches on its uid first, then its name).
    #[serde(default)]
    pub project_name: Option<String>,
    /// The SQLE project's uid.
    #[serde(default)]
    pub project_uid: Option<String>,
    /// The Herald project the records are kept under; by default `project_name`, which must then
    /// be a project id (letters, digits, `-`, `_`).
    #[serde(default)]
    pub herald_project: Option<String>,
    /// The contact told when a workflow is executed, fails or is rejected.
    pub creator: String,
    /// Contacts told when a workflow awaits review (and when it is cancelled).
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// Contacts told when a workflow is approved, fails (and when it is cancelled).
    #[serde(default)]
    pub executors: Vec<String>,
    /// The project's WeCom group, told of every workflow event through its robot (a WeCom
    /// channel must be enabled). Write-only like a task's: reads show `"set"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wecom_robot: Option<super::tasks::WecomRobotBody>,
    /// The project's Feishu chat (`oc_…`, the app's bot in it), told of every workflow event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feishu_chat: Option<String>,
    /// The project's DingTalk group, told of every workflow event through its custom robot (a
    /// DingTalk channel must be enabled). Write-only like a task's: reads show `"set"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dingtalk_robot: Option<super::recipients::DingtalkRobotBody>,
}

/// What an SQLE source body gives: the token if sent, the rules, and the rules (by index) whose
/// group robots are kept as stored (sent back as `"set"`).
pub type ParsedSqleSource = (Option<SecretString>, SqleSource, KeptGroups);

impl SqleSourceBody {
    pub fn parse(self) -> Result<ParsedSqleSource, FieldError> {
        let token = match self.token {
            // Sent back as read: the stored token stays.
            None => None,
            Some(t) if t == super::tasks::SECRET_SET => None,
            Some(t) if t.trim().chars().count() < 16 || t.chars().any(char::is_whitespace) => {
                return Err(FieldError::new(
                    "token",
                    "must be at least 16 characters, no whitespace",
                ));
            }
            Some(t) => Some(SecretString::from(t)),
        };
        let mut routes = Vec::with_capacity(self.routes.len());
        let mut kept = KeptGroups::default();
        for (i, route) in self.routes.into_iter().enumerate() {
            let (route, (wecom, dingtalk)) = within(&format!("routes[{i}]"), route.parse())?;
            kept.wecom.extend(wecom.map(|name| (i, name)));
            kept.dingtalk.extend(dingtalk.map(|name| (i, name)));
            routes.push(route);
        }
        Ok((token, SqleSource::new(routes)?, kept))
    }
}

impl SqleRouteBody {
    /// The rule, and the names of its WeCom and DingTalk group robots that are to be kept as
    /// stored.
    #[allow(clippy::type_complexity)]
    fn parse(self) -> Result<(SqleRoute, (Option<GroupName>, Option<GroupName>)), FieldError> {
        let mut groups = TicketGroups {
            wecom_robot: None,
            feishu_chat: self
                .feishu_chat
                .map(|c| at("feishu_chat", FeishuChatId::parse(c)))
                .transpose()?,
            dingtalk_robot: None,
        };
        let mut keep_dingtalk = None;
        if let Some(robot) = &self.dingtalk_robot {
            match robot.parse("dingtalk_robot")? {
                super::recipients::Parsed::Kept(name) => keep_dingtalk = Some(name),
                super::recipients::Parsed::Given(group) => groups.dingtalk_robot = Some(group),
            }
        }
        let mut keep = None;
        if let Some(robot) = &self.wecom_robot {
            match robot.parse("wecom_robot")? {
                super::recipients::Parsed::Kept(name) => keep = Some(name),
                super::recipients::Parsed::Given(group) => groups.wecom_robot = Some(group),
            }
        }
        let contacts = |field: &str, ids: &[String]| {
            within(
                field,
                parse_list(ids, MAX_PEOPLE_PER_ROLE, |v| ContactId::parse(v)),
            )
        };
        let key = |field: &str, value: Option<String>| -> Result<Option<String>, FieldError> {
            match value {
                Some(v) if v.is_empty() => Err(FieldError::new(field, "must not be empty")),
                Some(v) => project_key(field, &v).map(|()| Some(v)),
                None => Ok(None),
            }
        };
        let route = SqleRoute {
            project_name: key("project_name", self.project_name)?,
            project_uid: key("project_uid", self.project_uid)?,
            herald_project: self
                .herald_project
                .map(|p| at("herald_project", ProjectId::parse(p)))
                .transpose()?,
            creator: at("creator", ContactId::parse(self.creator))?,
            reviewers: contacts("reviewers", &self.reviewers)?,
            executors: contacts("executors", &self.executors)?,
            groups,
        };
        Ok((route, (keep, keep_dingtalk)))
    }
}

/// An SQLE source as the admin API shows it: the token never, only that it is set.
#[derive(Debug, Serialize, ToSchema)]
pub struct SqleSourceResponse {
    /// Always `set`: a source exists only once its token is.
    pub token: String,
    pub routes: Vec<SqleRouteBody>,
}

impl From<SqleSource> for SqleSourceResponse {
    fn from(source: SqleSource) -> Self {
        let names = |ids: Vec<ContactId>| ids.into_iter().map(|c| c.to_string()).collect();
        Self {
            token: super::tasks::SECRET_SET.to_owned(),
            routes: source
                .routes
                .into_iter()
                .map(|r| SqleRouteBody {
                    project_name: r.project_name,
                    project_uid: r.project_uid,
                    herald_project: r.herald_project.map(|p| p.to_string()),
                    creator: r.creator.to_string(),
                    reviewers: names(r.reviewers),
                    executors: names(r.executors),
                    wecom_robot: r.groups.wecom_robot.map(|g| super::tasks::WecomRobotBody {
                        name: g.name.to_string(),
                        webhook_key: super::tasks::SECRET_SET.to_owned(),
                    }),
                    feishu_chat: r.groups.feishu_chat.map(|c| c.to_string()),
                    dingtalk_robot: r.groups.dingtalk_robot.map(|g| {
                        super::recipients::DingtalkRobotBody {
                            name: g.name.to_string(),
                            access_token: super::tasks::SECRET_SET.to_owned(),
                            secret: None,
                        }
                    }),
                })
                .collect(),
        }
    }
}
