//! Ticket webhook events on the wire.
use super::{at, within};
use herald_core::FieldError;
use herald_core::domain::ids::{ContactId, ProjectId};
use herald_core::domain::recipients::parse_list;
use herald_core::domain::text::HttpUrl;
use herald_core::domain::ticket::{
    EventId, Ticket, TicketEvent, TicketId, TicketReason, TicketStatus, TicketTitle,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most contacts one event may name as reviewers or executors.
pub const MAX_PEOPLE_PER_ROLE: usize = 100;

/// A ticket's status change, as a ticket system posts it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketEventBody {
    /// The source's id of this event (1-128 characters); the same id twice is accepted once.
    pub event_id: String,
    /// RFC 3339.
    pub occurred_at: String,
    pub ticket: TicketBody,
    /// `pending_review`, `pending_execution`, `executed`, `execution_failed`, `rejected` or `cancelled`.
    pub status: String,
    /// Contact ids.
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// Contact ids.
    #[serde(default)]
    pub executors: Vec<String>,
    /// The contact who acted.
    #[serde(default)]
    pub actor: Option<String>,
    /// Why it was rejected or failed.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketBody {
    pub id: String,
    /// At most 200 characters.
    pub title: String,
    /// The Herald project the ticket's record is kept under.
    pub project: String,
    /// A contact id.
    pub creator: String,
    /// The ticket's own page; otherwise `{url_prefix}/projects/{project}/tickets/{id}`.
    #[serde(default)]
    pub url: Option<String>,
}

impl TicketEventBody {
    pub fn parse(self) -> Result<TicketEvent, FieldError> {
        let contacts = |field: &str, ids: &[String]| {
            within(
                field,
                parse_list(ids, MAX_PEOPLE_PER_ROLE, |v| ContactId::parse(v)),
            )
        };
        let occurred_at = chrono::DateTime::parse_from_rfc3339(&self.occurred_at)
            .map(|t| t.to_utc())
            .map_err(|_| {
                FieldError::new(
                    "occurred_at",
                    "must be an RFC 3339 time such as 2026-11-23T10:00:00+08:00",
                )
            })?;
        let t = self.ticket;
        Ok(TicketEvent {
            event_id: at("event_id", EventId::parse(self.event_id))?,
            occurred_at,
            ticket: Ticket {
                id: at("ticket.id", TicketId::parse(t.id))?,
                title: at("ticket.title", TicketTitle::parse(t.title))?,
                project: at("ticket.project", ProjectId::parse(t.project))?,
                creator: at("ticket.creator", ContactId::parse(t.creator))?,
                url: t
                    .url
                    .map(|u| at("ticket.url", HttpUrl::parse(u)))
                    .transpose()?,
            },
            status: at("status", TicketStatus::parse(&self.status))?,
            reviewers: contacts("reviewers", &self.reviewers)?,
            executors: contacts("executors", &self.executors)?,
            actor: self
                .actor
                .map(|a| at("actor", ContactId::parse(a)))
                .transpose()?,
            reason: self
                .reason
                .map(|r| at("reason", TicketReason::parse(r)))
                .transpose()?,
            // A native event names people; project groups come from a source's routing rules.
            groups: Default::default(),
        })
    }
}

/// The event was recorded and its messages queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketAccepted {
    /// The record's id: `GET /v1/projects/{project}/records/{record}`.
    pub record: String,
    /// How many messages were queued.
    pub deliveries: usize,
}

/// This source sent this event id before; nothing was sent again.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDuplicate {
    pub duplicate: bool,
}
