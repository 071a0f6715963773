//! SQLE's own workflow webhook: its actions, and the routing rules that name the people SQLE's
//! payload does not. An SQLE event becomes a native [`TicketEvent`], so it is recorded and told
//! exactly like one posted in Herald's own format.
use super::ids::{ContactId, ProjectId};
use super::ticket::{
    EventId, Ticket, TicketEvent, TicketGroups, TicketId, TicketStatus, TicketTitle,
};
use crate::FieldError;
use serde::{Deserialize, Serialize};

/// The most routing rules one SQLE source may hold.
pub const MAX_ROUTES: usize = 200;

/// What happened to an SQLE workflow (SQLE's `action`, see `sqle/notification` in SQLE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqleAction {
    Create,
    Approve,
    Reject,
    ExecSuccess,
    ExecFailed,
    Cancel,
    /// Marked as executed by hand (SQLE: "标记为人工上线"): execution is done.
    Complete,
    AutoExecSuccess,
    AutoExecFailed,
}

impl SqleAction {
    pub const ALL: [Self; 9] = [
        Self::Create,
        Self::Approve,
        Self::Reject,
        Self::ExecSuccess,
        Self::ExecFailed,
        Self::Cancel,
        Self::Complete,
        Self::AutoExecSuccess,
        Self::AutoExecFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::ExecSuccess => "exec_success",
            Self::ExecFailed => "exec_failed",
            Self::Cancel => "cancel",
            Self::Complete => "complete",
            Self::AutoExecSuccess => "auto_exec_success",
            Self::AutoExecFailed => "auto_exec_failed",
        }
    }

    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == value)
            .ok_or_else(|| {
                format!(
                    "unknown SQLE action '{value}' (use {})",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }

    /// The Herald status this action means.
    pub fn status(self) -> TicketStatus {
        match self {
            Self::Create => TicketStatus::PendingReview,
            Self::Approve => TicketStatus::PendingExecution,
            Self::Reject => TicketStatus::Rejected,
            Self::ExecSuccess | Self::AutoExecSuccess | Self::Complete => TicketStatus::Executed,
            Self::ExecFailed | Self::AutoExecFailed => TicketStatus::ExecutionFailed,
            Self::Cancel => TicketStatus::Cancelled,
        }
    }
}

/// Which SQLE project a rule is for: its name, its uid, or both (an event matches on either).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqleRoute {
    pub project_name: Option<String>,
    pub project_uid: Option<String>,
    /// The Herald project the events are recorded under; without it, `project_name` itself (which
    /// must then be a valid project id).
    pub herald_project: Option<ProjectId>,
    pub creator: ContactId,
    pub reviewers: Vec<ContactId>,
    pub executors: Vec<ContactId>,
    /// The project's group chats, told of every workflow event besides the people.
    #[serde(default, skip_serializing_if = "TicketGroups::is_empty")]
    pub groups: TicketGroups,
}

/// One SQLE source's routing rules (the token is a secret, kept apart).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqleSource {
    pub routes: Vec<SqleRoute>,
}

impl SqleSource {
    /// Checks a set of rules: each names a project, no project is named twice.
    pub fn new(routes: Vec<SqleRoute>) -> Result<Self, FieldError> {
        if routes.len() > MAX_ROUTES {
            return Err(FieldError::new(
                "routes",
                format!(
                    "must hold at most {MAX_ROUTES} rules (got {})",
                    routes.len()
                ),
            ));
        }
        for (i, route) in routes.iter().enumerate() {
            let at = |field: &str| format!("routes[{i}].{field}");
            if route.project_name.is_none() && route.project_uid.is_none() {
                return Err(FieldError::new(
                    format!("routes[{i}]"),
                    "name the SQLE project: project_name, project_uid or both",
                ));
            }
            if route.herald_project.is_none()
                && let Some(name) = &route.project_name
                && let Err(why) = ProjectId::parse(name.as_str())
            {
                return Err(FieldError::new(
                    at("herald_project"),
                    format!(
                        "is required: project_name '{name}' is not a Herald project id ({why})"
                    ),
                ));
            }
            if route.herald_project.is_none() && route.project_name.is_none() {
                return Err(FieldError::new(
                    at("herald_project"),
                    "is required when the rule has no project_name",
                ));
            }
            for earlier in &routes[..i] {
                let same_name =
                    route.project_name.is_some() && route.project_name == earlier.project_name;
                let same_uid =
                    route.project_uid.is_some() && route.project_uid == earlier.project_uid;
                if same_name {
                    return Err(FieldError::new(at("project_name"), "is named by two rules"));
                }
                if same_uid {
                    return Err(FieldError::new(at("project_uid"), "is named by two rules"));
                }
            }
        }
        Ok(Self { routes })
    }

    /// The rule for a project: one naming its uid first, else one naming its name.
    pub fn route(&self, project_uid: Option<&str>, project_name: &str) -> Option<&SqleRoute> {
        project_uid
            .filter(|uid| !uid.is_empty())
            .and_then(|uid| {
                self.routes
                    .iter()
                    .find(|r| r.project_uid.as_deref() == Some(uid))
            })
            .or_else(|| {
                self.routes
                    .iter()
                    .find(|r| r.project_name.as_deref() == Some(project_name))
            })
    }
}

/// One SQLE workflow event, parsed at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqleEvent {
    pub action: SqleAction,
    /// SQLE's `timestamp` (RFC 3339, whole seconds), kept as sent: it is part of the event id.
    pub timestamp: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub project_name: String,
    pub project_uid: Option<String>,
    pub workflow_id: TicketId,
    pub workflow_subject: TicketTitle,
}

impl SqleEvent {
    /// SQLE sends no event id: (workflow id, action, timestamp) stands for one, so SQLE's own
    /// retries of a request (same body) count once. Readable when it fits, else hashed.
    pub fn event_id(&self) -> Result<EventId, FieldError> {
        let readable = format!(
            "{}:{}@{}",
            self.workflow_id,
            self.action.as_str(),
            self.timestamp
        );
        let id = if readable.chars().count() <= 128 && !readable.chars().any(char::is_control) {
            readable
        } else {
            use sha2::{Digest, Sha256};
            let mut hash = Sha256::new();
            for part in [
                self.workflow_id.as_str(),
                self.action.as_str(),
                &self.timestamp,
            ] {
                hash.update((part.len() as u64).to_be_bytes());
                hash.update(part.as_bytes());
            }
            format!("sqle-{}", hex::encode(hash.finalize()))
        };
        EventId::parse(id).map_err(|m| FieldError::new("timestamp", m))
    }

    /// The native event this SQLE event stands for, with the people of `route`.
    pub fn to_ticket_event(&self, route: &SqleRoute) -> Result<TicketEvent, FieldError> {
        let project = match &route.herald_project {
            Some(project) => project.clone(),
            None => ProjectId::parse(self.project_name.as_str()).map_err(|why| {
                FieldError::new(
                    "payload.workflow.project_name",
                    format!(
                        "is not a Herald project id ({why}); give the routing rule a herald_project"
                    ),
                )
            })?,
        };
        Ok(TicketEvent {
            event_id: self.event_id()?,
            occurred_at: self.occurred_at,
            ticket: Ticket {
                id: self.workflow_id.clone(),
                title: self.workflow_subject.clone(),
                project,
                creator: route.creator.clone(),
                url: None,
            },
            status: self.action.status(),
            reviewers: route.reviewers.clone(),
            executors: route.executors.clone(),
            // SQLE's payload names no person who acted and gives no reason.
            actor: None,
            reason: None,
            groups: route.groups.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: Option<&str>, uid: Option<&str>) -> SqleRoute {
        SqleRoute {
            project_name: name.map(str::to_owned),
            project_uid: uid.map(str::to_owned),
            herald_project: None,
            creator: ContactId::parse("wang").unwrap(),
            reviewers: vec![],
            executors: vec![],
            groups: TicketGroups::default(),
        }
    }

    #[test]
    fn every_action_maps_onto_a_status_and_parses_by_its_wire_name() {
        use TicketStatus::*;
        let expected = [
            ("create", PendingReview),
            ("approve", PendingExecution),
            ("reject", Rejected),
            ("exec_success", Executed),
            ("exec_failed", ExecutionFailed),
            ("cancel", Cancelled),
            ("complete", Executed),
            ("auto_exec_success", Executed),
            ("auto_exec_failed", ExecutionFailed),
        ];
        for (wire, status) in expected {
            let action = SqleAction::parse(wire).unwrap();
            assert_eq!(action.as_str(), wire);
            assert_eq!(action.status(), status, "{wire}");
        }
        assert!(SqleAction::parse("done").unwrap_err().contains("create"));
    }

    #[test]
    fn rules_must_name_a_project_once_and_map_to_a_valid_herald_project() {
        assert!(SqleSource::new(vec![route(Some("payments"), None)]).is_ok());
        assert_eq!(
            SqleSource::new(vec![route(None, None)]).unwrap_err().field,
            "routes[0]"
        );
        assert_eq!(
            SqleSource::new(vec![route(Some("支付 项目"), None)])
                .unwrap_err()
                .field,
            "routes[0].herald_project"
        );
        assert_eq!(
            SqleSource::new(vec![route(None, Some("7001"))])
                .unwrap_err()
                .field,
            "routes[0].herald_project"
        );
        let mut mapped = route(Some("支付 项目"), None);
        mapped.herald_project = Some(ProjectId::parse("payments").unwrap());
        assert!(SqleSource::new(vec![mapped]).is_ok());
        assert_eq!(
            SqleSource::new(vec![route(Some("a"), None), route(Some("a"), Some("1"))])
                .unwrap_err()
                .field,
            "routes[1].project_name"
        );
    }

    #[test]
    fn a_rule_for_the_uid_wins_over_one_for_the_name() {
        let by_uid = route(Some("other"), Some("7001"));
        let by_name = route(Some("payments"), None);
        let source = SqleSource::new(vec![by_name.clone(), by_uid.clone()]).unwrap();
        assert_eq!(source.route(Some("7001"), "payments"), Some(&by_uid));
        assert_eq!(source.route(Some("9"), "payments"), Some(&by_name));
        assert_eq!(source.route(None, "payments"), Some(&by_name));
        assert_eq!(source.route(Some(""), "nobody"), None);
    }

    #[test]
    fn the_event_id_is_readable_and_stable() {
        let event = SqleEvent {
            action: SqleAction::Approve,
            timestamp: "2026-11-23T10:00:00+08:00".into(),
            occurred_at: chrono::Utc::now(),
            project_name: "payments".into(),
            project_uid: None,
            workflow_id: TicketId::parse("1658637666259832832").unwrap(),
            workflow_subject: TicketTitle::parse("t").unwrap(),
        };
        assert_eq!(
            event.event_id().unwrap().as_str(),
            "1658637666259832832:approve@2026-11-23T10:00:00+08:00"
        );
        let long = SqleEvent {
            workflow_id: TicketId::parse("9".repeat(128)).unwrap(),
            ..event
        };
        let id = long.event_id().unwrap();
        assert!(id.as_str().starts_with("sqle-"), "{id}");
        assert_eq!(id, long.event_id().unwrap());
    }
}

#[cfg(test)]
mod stored {
    use crate::domain::settings::{SettingsRecord, WebhookSource};

    #[test]
    fn settings_written_before_sqle_sources_still_read() {
        let old = r#"{"url_prefix":null,"smtp":null,"wecom":null,"feishu":null,
                      "webhook_sources":["sqle"],"version":3}"#;
        let record: SettingsRecord = serde_json::from_str(old).unwrap();
        assert_eq!(record.webhook_sources, vec![WebhookSource::from("sqle")]);
        let again: SettingsRecord =
            serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
        assert_eq!(again, record);
    }
}
