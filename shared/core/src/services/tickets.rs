//! Ticket events: a source's signed webhook is verified, each event is recorded once (kind `ticket`,
//! under the ticket's project), and every person the status concerns gets a message on every enabled
//! channel where they have an identity, in their language.
use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::contact::{Contact, Language};
use crate::domain::delivery::{Delivery, DeliveryCause};
use crate::domain::ids::ContactId;
use crate::domain::message::{FeishuMessage, FeishuRecipient, OutboundMessage};
use crate::domain::run::{
    LogLevel, MessageRecord, PushRun, RunClaim, RunId, RunOutcome, RunStart, RunSubject,
};
use crate::domain::signature::SignedRequest;
use crate::domain::task::{Channel, Template};
use crate::domain::ticket::TicketGroups;
use crate::domain::ticket::{TicketEvent, TicketRef};
use crate::ports::{ContactStore, SecretStore};
use crate::report::render::{RenderError, RenderedPush, TicketView, render_ticket};
use crate::services::runs::compose::{
    Audience, deliveries, dingtalk_group_deliveries, robot_figures, wecom_group_deliveries,
};
use crate::services::runs::{Recorded, RunLedger};
use crate::services::settings::{SettingsService, webhook_source_secret};
use secrecy::ExposeSecret;
use std::sync::Arc;
use thiserror::Error;

/// How far a request's timestamp may be from now, either way.
pub const TIMESTAMP_TOLERANCE: chrono::Duration = chrono::Duration::minutes(5);

/// Why a webhook request was refused before its body was read.
#[derive(Debug, Error)]
pub enum WebhookError {
    /// Not signed by the source: unknown source, missing or garbled headers, a timestamp too far
    /// from now, or a wrong signature. Callers answer all of them alike.
    #[error("webhook request refused: {0}")]
    Unauthenticated(&'static str),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What accepting an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The event was recorded and `deliveries` messages were queued.
    Recorded { run: RunId, deliveries: usize },
    /// This source sent this event id before: nothing was sent again.
    Duplicate,
}

#[derive(Clone)]
pub struct TicketService {
    settings: SettingsService,
    secrets: Arc<dyn SecretStore>,
    contacts: Arc<dyn ContactStore>,
    ledger: RunLedger,
    clock: Arc<dyn Clock>,
    retention: chrono::Duration,
}

impl TicketService {
    pub fn new(
        settings: SettingsService,
        secrets: Arc<dyn SecretStore>,
        contacts: Arc<dyn ContactStore>,
        ledger: RunLedger,
        clock: Arc<dyn Clock>,
        retention: chrono::Duration,
    ) -> Self {
        Self {
            settings,
            secrets,
            contacts,
            ledger,
            clock,
            retention,
        }
    }

    /// Checks `X-Herald-Timestamp` and `X-Herald-Signature: sha256=<hex>` (HMAC-SHA256 of
    /// `timestamp.body` with the source's secret), comparing in constant time.
    pub async fn verify(
        &self,
        source: &str,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), WebhookError> {
        let signed =
            SignedRequest::parse(timestamp, signature).map_err(WebhookError::Unauthenticated)?;
        if (self.clock.now() - signed.at()).abs() > TIMESTAMP_TOLERANCE {
            return Err(WebhookError::Unauthenticated(
                "timestamp is more than 5 minutes from now",
            ));
        }
        if !self.settings.is_signed_source(source).await? {
            return Err(WebhookError::Unauthenticated("unknown source"));
        }
        let secret = self
            .secrets
            .get_secret(&webhook_source_secret(source))
            .await
            .map_err(|e| ServiceError::unavailable("the secret store", e))?
            .ok_or(WebhookError::Unauthenticated("unknown source"))?;
        if signed.is_signed_by(secret.expose_secret().as_bytes(), body) {
            Ok(())
        } else {
            Err(WebhookError::Unauthenticated("wrong signature"))
        }
    }

    /// Records the event once and queues its messages; a repeated event id answers `Duplicate`.
    #[tracing::instrument(skip_all, fields(source = source, event_id = %event.event_id, project = %event.ticket.project))]
    pub async fn accept(
        &self,
        source: &str,
        event: &TicketEvent,
    ) -> Result<Accepted, ServiceError> {
        let project = &event.ticket.project;
        let claim = RunClaim::ticket_event(source, event.event_id.as_str());
        // A cheap check first; the claim written with the run decides when two deliveries race.
        if self.ledger.is_claimed(project, &claim).await? {
            tracing::info!("duplicate ticket event");
            return Ok(Accepted::Duplicate);
        }
        let (mut run, queued) = self.prepare(source, event, &claim).await?;
        // The same ledger call as a task's push: numbering, the claim, chunked writes, a refused
        // write recorded as failed (with nothing queued, so the answer counts what the record
        // holds, not what was prepared).
        match self
            .ledger
            .record_new(&mut run, Some(claim), queued, Vec::new())
            .await
        {
            Ok(Recorded::New) => {
                let count = usize::try_from(run.progress.pushes).unwrap_or(usize::MAX);
                tracing::info!(run_id = %run.id, deliveries = count, "ticket event recorded");
                Ok(Accepted::Recorded {
                    run: run.id,
                    deliveries: count,
                })
            }
            Ok(Recorded::Duplicate) => {
                tracing::info!("duplicate ticket event");
                Ok(Accepted::Duplicate)
            }
            // Throttling, a conflicting transaction or a store outage: the sender must retry
            // (503), never read it as recorded.
            Err(other) => Err(other),
        }
    }

    /// The event's record and the deliveries it causes.
    async fn prepare(
        &self,
        source: &str,
        event: &TicketEvent,
        claim: &RunClaim,
    ) -> Result<(PushRun, Vec<Delivery>), ServiceError> {
        let now = self.clock.now();
        let ticket = &event.ticket;
        let mut run = PushRun::start(RunStart {
            // From the claim: a retried event resumes its run instead of starting another.
            id: claim.run_id(&ticket.project, event.occurred_at),
            project: ticket.project.clone(),
            subject: RunSubject::Ticket(TicketRef::of(source, event)),
            scheduled_for: Some(event.occurred_at),
            started_at: now,
            expires_at: now + self.retention,
        });
        run.log(
            now,
            LogLevel::Info,
            format!(
                "ticket {} is {} (event {} from {source})",
                ticket.id,
                event.status.as_str(),
                event.event_id
            ),
        );

        let people = event.recipients();
        let mut lookup = people.clone();
        lookup.extend(event.actor.iter().cloned());
        let found = self.contacts.get_contacts(&lookup).await?;
        let contact = |id: &ContactId| found.iter().find(|c| c.id() == id);
        let mut reached: Vec<&Contact> = Vec::new();
        for id in &people {
            match contact(id) {
                Some(c) => reached.push(c),
                None => run.log(
                    now,
                    LogLevel::Warn,
                    format!("contact not reached: {id}: no such contact"),
                ),
            }
        }
        let actor = event
            .actor
            .as_ref()
            .map(|id| contact(id).map_or_else(|| id.to_string(), |c| c.name().to_string()));

        let link = self.link(event, &mut run).await?;
        let view = TicketView {
            status: event.status,
            title: ticket.title.as_str(),
            project: ticket.project.as_str(),
            id: ticket.id.as_str(),
            actor: actor.as_deref(),
            reason: event.reason.as_ref().map(|r| r.as_str()),
            occurred_at: event.occurred_at,
            link: link.as_deref(),
        };
        let cause = DeliveryCause::Run {
            project: ticket.project.clone(),
            run: run.id,
            push: true,
        };
        let mut queued = Vec::new();
        let channels = self.enabled_channels().await?;
        if channels.is_empty() {
            run.log(now, LogLevel::Error, "no channel is enabled");
        }
        for channel in channels {
            let before = queued.len();
            for language in [Language::Zh, Language::En] {
                let mut audience = Audience::default();
                for person in reached.iter().filter(|c| c.language() == language) {
                    if !audience.add_contact(channel, person) {
                        run.log(
                            now,
                            LogLevel::Warn,
                            format!(
                                "contact not reached: {}: no {} identity",
                                person.id(),
                                channel.as_str()
                            ),
                        );
                    }
                }
                if audience.is_empty() {
                    continue;
                }
                match render_ticket(channel, language, &view) {
                    Ok(rendered) => {
                        let batch = deliveries(&rendered, &audience, &cause, now);
                        run.log(
                            now,
                            LogLevel::Info,
                            format!(
                                "{}: queued {} {} deliveries to {}",
                                channel.as_str(),
                                batch.len(),
                                language.as_str(),
                                audience.describe()
                            ),
                        );
                        queued.extend(batch);
                    }
                    Err(err) => run.log(
                        now,
                        LogLevel::Error,
                        format!("{}: the message did not render: {err}", channel.as_str()),
                    ),
                }
            }
            match project_group_deliveries(channel, &event.groups, &view, &cause, now) {
                Ok(batch) if !batch.is_empty() => {
                    run.log(
                        now,
                        LogLevel::Info,
                        format!(
                            "{}: queued {} deliveries to the project's group",
                            channel.as_str(),
                            batch.len()
                        ),
                    );
                    queued.extend(batch);
                }
                Ok(_) => {}
                Err(err) => run.log(
                    now,
                    LogLevel::Error,
                    format!(
                        "{}: the group message did not render: {err}",
                        channel.as_str()
                    ),
                ),
            }
            if queued.len() == before {
                run.log(
                    now,
                    LogLevel::Warn,
                    format!("{}: nobody to send to", channel.as_str()),
                );
            }
        }
        run.message = queued.first().map(|d| MessageRecord {
            channel: match d.message.provider() {
                crate::domain::message::Provider::Feishu => Channel::Feishu,
                crate::domain::message::Provider::Smtp => Channel::Email,
                crate::domain::message::Provider::DingtalkApp
                | crate::domain::message::Provider::DingtalkRobot => Channel::Dingtalk,
                _ => Channel::Wecom,
            },
            template: Template::Text,
            body: serde_json::to_value(&d.message).unwrap_or_default(),
        });
        if queued.is_empty() {
            run.log(
                now,
                LogLevel::Error,
                "run finished: failed (nobody reachable)",
            );
            run.outcome = RunOutcome::Failed;
            run.finished_at = Some(now);
        }
        Ok((run, queued))
    }

    /// `ticket.url`, else `{url_prefix}/projects/{project}/tickets/{id}`; without a prefix, none
    /// (and the record says so) rather than a relative link.
    async fn link(
        &self,
        event: &TicketEvent,
        run: &mut PushRun,
    ) -> Result<Option<String>, ServiceError> {
        let ticket = &event.ticket;
        if let Some(url) = &ticket.url {
            return Ok(Some(url.to_string()));
        }
        let now = self.clock.now();
        let Some(prefix) = self.settings.url_prefix().await? else {
            run.log(now, LogLevel::Warn, "no link: url_prefix is not configured");
            return Ok(None);
        };
        let mut url = match url::Url::parse(prefix.as_str()) {
            Ok(url) => url,
            Err(err) => {
                run.log(
                    now,
                    LogLevel::Warn,
                    format!("no link: url_prefix is unusable ({err})"),
                );
                return Ok(None);
            }
        };
        match url.path_segments_mut() {
            Ok(mut path) => {
                path.pop_if_empty().extend([
                    "projects",
                    ticket.project.as_str(),
                    "tickets",
                    ticket.id.as_str(),
                ]);
            }
            Err(()) => {
                run.log(
                    now,
                    LogLevel::Warn,
                    "no link: url_prefix cannot take a path",
                );
                return Ok(None);
            }
        }
        Ok(Some(url.to_string()))
    }

    async fn enabled_channels(&self) -> Result<Vec<Channel>, ServiceError> {
        let mut channels = Vec::new();
        if self.settings.wecom().await?.is_some() {
            channels.push(Channel::Wecom);
        }
        if self.settings.feishu().await?.is_some() {
            channels.push(Channel::Feishu);
        }
        if self.settings.smtp().await?.is_some() {
            channels.push(Channel::Email);
        }
        if self.settings.dingtalk().await?.is_some() {
            channels.push(Channel::Dingtalk);
        }
        Ok(channels)
    }
}

/// The messages to the project's group on `channel` (a routing rule names it): the ticket in
/// Chinese, as a group is addressed; to a WeCom or DingTalk group through its robot, to a Feishu
/// chat as a message of the app's bot.
fn project_group_deliveries(
    channel: Channel,
    groups: &TicketGroups,
    view: &TicketView,
    cause: &DeliveryCause,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Delivery>, RenderError> {
    if let (Channel::Dingtalk, Some(group)) = (channel, &groups.dingtalk_robot) {
        return Ok(match render_ticket(channel, Language::Zh, view)? {
            RenderedPush::Dingtalk(body) => {
                dingtalk_group_deliveries(std::slice::from_ref(group), &body, None, cause, now)
            }
            _ => Vec::new(),
        });
    }
    Ok(match (channel, &groups.wecom_robot, &groups.feishu_chat) {
        (Channel::Wecom, Some(group), _) => match render_ticket(channel, Language::Zh, view)? {
            RenderedPush::Wecom(body) => match robot_figures(&body) {
                Some(body) => {
                    wecom_group_deliveries(std::slice::from_ref(group), &body, None, cause, now)
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        },
        (Channel::Feishu, _, Some(chat)) => match render_ticket(channel, Language::Zh, view)? {
            RenderedPush::Feishu(body) => vec![Delivery::queued(
                cause.clone(),
                OutboundMessage::Feishu(FeishuMessage {
                    to: FeishuRecipient::Chat(chat.clone()),
                    body,
                }),
                now,
            )],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::TicketStatus;
    use chrono::DateTime;

    fn view(status: TicketStatus, link: Option<&'static str>) -> TicketView<'static> {
        TicketView {
            status,
            title: "<b>Add index</b>",
            project: "payments",
            id: "1042",
            actor: Some("Wang Wu"),
            reason: Some("too slow"),
            occurred_at: DateTime::parse_from_rfc3339("2026-11-23T10:00:00+08:00")
                .unwrap()
                .to_utc(),
            link,
        }
    }

    #[test]
    fn the_reason_shows_only_on_rejections_and_failures_and_no_link_means_no_link_line() {
        let text = |status, language, link| match render_ticket(
            Channel::Wecom,
            language,
            &view(status, link),
        )
        .unwrap()
        {
            crate::report::render::RenderedPush::Wecom(
                crate::domain::message::WecomBody::Text { content },
            ) => content,
            other => panic!("{other:?}"),
        };
        let rejected = text(TicketStatus::Rejected, Language::Zh, None);
        assert!(rejected.contains("原因：too slow"), "{rejected}");
        assert!(!rejected.contains("查看工单"), "{rejected}");
        let executed = text(
            TicketStatus::Executed,
            Language::En,
            Some("https://x.example/t/1"),
        );
        assert!(!executed.contains("Reason"), "{executed}");
        assert!(
            executed.ends_with("Open the ticket: https://x.example/t/1"),
            "{executed}"
        );
    }

    #[test]
    fn html_mail_escapes_the_title_and_the_text_part_does_not() {
        let crate::report::render::RenderedPush::Email {
            subject,
            text,
            html,
            ..
        } = render_ticket(
            Channel::Email,
            Language::En,
            &view(TicketStatus::Rejected, None),
        )
        .unwrap()
        else {
            panic!("not mail");
        };
        assert_eq!(subject, "Ticket rejected: <b>Add index</b>");
        assert!(
            text.contains("[Ticket rejected] <b>Add index</b>"),
            "{text}"
        );
        let html = html.unwrap();
        assert!(html.contains("&lt;b&gt;Add index&lt;&#x2f;b&gt;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }
}
