//! SQLE's own webhook: a request bearing the source's token is turned, through the source's routing
//! rules, into a native ticket event and handed to [`TicketService::accept`], so its record,
//! recipients, languages and links are those of the same event in Herald's own format.
use crate::ServiceError;
use crate::domain::sqle::SqleEvent;
use crate::ports::SecretStore;
use crate::services::settings::{SettingsService, sqle_source_token};
use crate::services::tickets::{Accepted, TicketService, WebhookError};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// What an SQLE event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqleAccepted {
    /// Recorded (or a duplicate) exactly as the native format would have been.
    Ticket(Accepted),
    /// No routing rule names the event's project: logged, nothing recorded or sent.
    Unrouted,
}

#[derive(Clone)]
pub struct SqleService {
    settings: SettingsService,
    secrets: Arc<dyn SecretStore>,
    tickets: TicketService,
}

impl SqleService {
    pub fn new(
        settings: SettingsService,
        secrets: Arc<dyn SecretStore>,
        tickets: TicketService,
    ) -> Self {
        Self {
            settings,
            secrets,
            tickets,
        }
    }

    /// Checks `Authorization: Bearer <token>` against the source's stored token in constant time
    /// (both hashed first, so neither length leaks). An unknown source is refused alike.
    pub async fn verify(
        &self,
        source: &str,
        authorization: Option<&str>,
    ) -> Result<(), WebhookError> {
        let token = authorization
            .and_then(|h| h.trim().strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(WebhookError::Unauthenticated(
                "missing or garbled Authorization header",
            ))?;
        // A made-up source costs no secret-store read.
        if self.settings.sqle_source(source).await?.is_none() {
            return Err(WebhookError::Unauthenticated("unknown source"));
        }
        let stored = self
            .secrets
            .get_secret(&sqle_source_token(source))
            .await
            .map_err(|e| ServiceError::unavailable("the secret store", e))?
            .ok_or(WebhookError::Unauthenticated("unknown source"))?;
        let given = Sha256::digest(token.as_bytes());
        let expected = Sha256::digest(stored.expose_secret().trim().as_bytes());
        if bool::from(given.as_slice().ct_eq(expected.as_slice())) {
            Ok(())
        } else {
            Err(WebhookError::Unauthenticated("wrong token"))
        }
    }

    /// Routes the event by its project and accepts it as a native ticket event.
    #[tracing::instrument(skip_all, fields(source = source, workflow = %event.workflow_id, action = event.action.as_str()))]
    pub async fn accept(
        &self,
        source: &str,
        event: &SqleEvent,
    ) -> Result<SqleAccepted, ServiceError> {
        let rules = self.settings.sqle_source(source).await?.unwrap_or_default();
        let Some(route) = rules.route(event.project_uid.as_deref(), &event.project_name) else {
            tracing::warn!(
                project_name = %event.project_name,
                project_uid = event.project_uid.as_deref().unwrap_or(""),
                "SQLE event for a project without a routing rule: nothing recorded or sent"
            );
            return Ok(SqleAccepted::Unrouted);
        };
        let ticket = event.to_ticket_event(route)?;
        Ok(SqleAccepted::Ticket(
            self.tickets.accept(source, &ticket).await?,
        ))
    }
}
