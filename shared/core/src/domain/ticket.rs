//! Ticket events: a ticket (work-order) system tells Herald that a ticket changed status, and the
//! people who must act hear about it.
use super::contact::Language;
use super::ids::{ContactId, ProjectId};
use super::text::{HttpUrl, check_text, string_newtype};
use serde::{Deserialize, Serialize};

string_newtype!(
    /// A source's own id of one event: 1–128 characters, no control characters. The same id from
    /// the same source is accepted once.
    EventId,
    |v| {
        if v.trim().is_empty() || v.chars().count() > 128 {
            return Err("must be 1-128 characters".into());
        }
        if v.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(())
    }
);
string_newtype!(
    /// A ticket's id in its system: 1–128 characters, no whitespace or control characters.
    TicketId,
    |v| {
        if v.is_empty() || v.chars().count() > 128 {
            return Err("must be 1-128 characters".into());
        }
        if v.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("must not contain whitespace or control characters".into());
        }
        Ok(())
    }
);
string_newtype!(
    /// A ticket's title: 1–200 characters.
    TicketTitle,
    |v| check_text(v, 200, false)
);
string_newtype!(
    /// Why a ticket was rejected or its execution failed: up to 1000 characters.
    TicketReason,
    |v| check_text(v, 1000, true)
);

/// Where a ticket is in its life, as the ticket system reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    PendingReview,
    /// Approved, waiting to be executed.
    PendingExecution,
    Executed,
    ExecutionFailed,
    Rejected,
    Cancelled,
}

/// The groups of people a ticket names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Creator,
    Reviewers,
    Executors,
}

impl TicketStatus {
    pub const ALL: [Self; 6] = [
        Self::PendingReview,
        Self::PendingExecution,
        Self::Executed,
        Self::ExecutionFailed,
        Self::Rejected,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingReview => "pending_review",
            Self::PendingExecution => "pending_execution",
            Self::Executed => "executed",
            Self::ExecutionFailed => "execution_failed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Result<Self, super::ParseError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                format!(
                    "unknown status '{value}' (use {})",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }

    /// Who hears about this status (API.md "Ticket webhook").
    pub fn audience(self) -> &'static [Role] {
        match self {
            Self::PendingReview => &[Role::Reviewers],
            Self::PendingExecution => &[Role::Executors],
            Self::Executed | Self::Rejected => &[Role::Creator],
            Self::ExecutionFailed => &[Role::Creator, Role::Executors],
            Self::Cancelled => &[Role::Reviewers, Role::Executors],
        }
    }

    /// Whether the event's reason is worth showing.
    pub fn shows_reason(self) -> bool {
        matches!(self, Self::Rejected | Self::ExecutionFailed)
    }

    /// The message's headline in `language`.
    pub fn headline(self, language: Language) -> &'static str {
        match (self, language) {
            (Self::PendingReview, Language::Zh) => "工单待审核",
            (Self::PendingReview, Language::En) => "Ticket awaits your review",
            (Self::PendingExecution, Language::Zh) => "工单已审核通过，待执行",
            (Self::PendingExecution, Language::En) => "Ticket approved, awaits execution",
            (Self::Executed, Language::Zh) => "工单已执行",
            (Self::Executed, Language::En) => "Ticket executed",
            (Self::ExecutionFailed, Language::Zh) => "工单执行失败",
            (Self::ExecutionFailed, Language::En) => "Ticket execution failed",
            (Self::Rejected, Language::Zh) => "工单被驳回",
            (Self::Rejected, Language::En) => "Ticket rejected",
            (Self::Cancelled, Language::Zh) => "工单已关闭",
            (Self::Cancelled, Language::En) => "Ticket cancelled",
        }
    }
}

/// The ticket an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: TicketId,
    pub title: TicketTitle,
    pub project: ProjectId,
    pub creator: ContactId,
    pub url: Option<HttpUrl>,
}

/// The group chats of a ticket's project that hear about its tickets besides the people (a
/// routing rule names them): a WeCom group through its robot, a Feishu chat, a DingTalk group
/// through its robot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketGroups {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wecom_robot: Option<super::robot::WecomGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feishu_chat: Option<super::recipients::FeishuChatId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dingtalk_robot: Option<super::dingtalk::DingtalkGroup>,
}

impl TicketGroups {
    pub fn is_empty(&self) -> bool {
        self.wecom_robot.is_none() && self.feishu_chat.is_none() && self.dingtalk_robot.is_none()
    }
}

/// One verified, parsed ticket event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketEvent {
    pub event_id: EventId,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub ticket: Ticket,
    pub status: TicketStatus,
    pub reviewers: Vec<ContactId>,
    pub executors: Vec<ContactId>,
    pub actor: Option<ContactId>,
    pub reason: Option<TicketReason>,
    /// The project's groups that hear about it too.
    pub groups: TicketGroups,
}

impl TicketEvent {
    /// The people who hear about this event, each once, in the order the event names them.
    pub fn recipients(&self) -> Vec<ContactId> {
        let mut out: Vec<ContactId> = Vec::new();
        for role in self.status.audience() {
            let ids: &[ContactId] = match role {
                Role::Creator => std::slice::from_ref(&self.ticket.creator),
                Role::Reviewers => &self.reviewers,
                Role::Executors => &self.executors,
            };
            for id in ids {
                if !out.contains(id) {
                    out.push(id.clone());
                }
            }
        }
        out
    }
}

/// What a ticket event's record keeps about the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRef {
    pub source: String,
    pub id: TicketId,
    pub title: TicketTitle,
    pub project: ProjectId,
    pub status: TicketStatus,
    pub event_id: EventId,
    pub actor: Option<ContactId>,
    pub reason: Option<TicketReason>,
    pub url: Option<HttpUrl>,
}

impl TicketRef {
    pub fn of(source: &str, event: &TicketEvent) -> Self {
        Self {
            source: source.to_owned(),
            id: event.ticket.id.clone(),
            title: event.ticket.title.clone(),
            project: event.ticket.project.clone(),
            status: event.status,
            event_id: event.event_id.clone(),
            actor: event.actor.clone(),
            reason: event.reason.clone(),
            url: event.ticket.url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(status: TicketStatus) -> TicketEvent {
        let id = |v: &str| ContactId::parse(v).unwrap();
        TicketEvent {
            event_id: EventId::parse("evt-1").unwrap(),
            occurred_at: chrono::Utc::now(),
            ticket: Ticket {
                id: TicketId::parse("1042").unwrap(),
                title: TicketTitle::parse("Add index").unwrap(),
                project: ProjectId::parse("payments").unwrap(),
                creator: id("wang"),
                url: None,
            },
            status,
            reviewers: vec![id("t1"), id("t2")],
            executors: vec![id("admin"), id("t1")],
            actor: None,
            reason: None,
            groups: TicketGroups::default(),
        }
    }

    #[test]
    fn each_status_names_its_audience_once_each() {
        let names = |s| -> Vec<String> {
            event(s)
                .recipients()
                .iter()
                .map(|c| c.to_string())
                .collect()
        };
        assert_eq!(names(TicketStatus::PendingReview), ["t1", "t2"]);
        assert_eq!(names(TicketStatus::PendingExecution), ["admin", "t1"]);
        assert_eq!(names(TicketStatus::Executed), ["wang"]);
        assert_eq!(names(TicketStatus::Rejected), ["wang"]);
        assert_eq!(
            names(TicketStatus::ExecutionFailed),
            ["wang", "admin", "t1"]
        );
        assert_eq!(names(TicketStatus::Cancelled), ["t1", "t2", "admin"]);
    }

    #[test]
    fn statuses_parse_by_their_wire_names() {
        for status in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(status.as_str()).unwrap(), status);
        }
        assert!(
            TicketStatus::parse("done")
                .unwrap_err()
                .contains("pending_review")
        );
    }
}
