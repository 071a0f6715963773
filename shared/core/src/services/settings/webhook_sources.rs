//! Webhook sources in the settings: the native format's signing secret, and SQLE sources with
//! their token and routing rules (whose group robots' credentials go to the secret store).
use super::{SettingsService, sqle_source_token, webhook_source_secret};
use crate::domain::auth::Principal;
use crate::domain::robot::GroupName;
use crate::domain::sqle::SqleSource;
use crate::ports::{SettingsRecord, WebhookSource};
use crate::services::robot_keys::{self, KeptGroups};
use crate::{FieldError, ServiceError};
use secrecy::SecretString;

impl SettingsService {
    pub async fn put_webhook_source(
        &self,
        who: &Principal,
        source: &str,
        secret: SecretString,
    ) -> Result<(), ServiceError> {
        let name = webhook_source_secret(source);
        self.update(who, Some((&name, "secret", secret)), |r| {
            source_entry(r, source).signed = true;
        })
        .await
    }

    /// Sets an SQLE source's routing rules and (if given) its token; the first time, the token is
    /// required.
    ///
    /// A rule's group robot given with its credentials is moved to the secret store; `kept` names
    /// the rules (by index) whose robot was sent back as `"set"`, taken from the same rule as
    /// stored, by the group's name (names are only unique within a rule).
    pub async fn put_sqle_source(
        &self,
        who: &Principal,
        source: &str,
        token: Option<SecretString>,
        mut rules: SqleSource,
        kept: KeptGroups,
    ) -> Result<(), ServiceError> {
        who.check_admin()?;
        let name = sqle_source_token(source);
        self.require_secret(&name, "token", &token).await?;
        if kept != KeptGroups::default() {
            let stored = self.sqle_source(source).await?.unwrap_or_default();
            keep_rule_robots(&mut rules, &stored, &kept.wecom, RuleRobot::Wecom)?;
            keep_rule_robots(&mut rules, &stored, &kept.dingtalk, RuleRobot::Dingtalk)?;
        }
        let unavailable = |e| ServiceError::unavailable("the secret store", e);
        let secrets = self.secrets.as_ref();
        for route in &mut rules.routes {
            if let Some(group) = &mut route.groups.wecom_robot {
                robot_keys::store_webhook(secrets, &mut group.robot)
                    .await
                    .map_err(unavailable)?;
            }
            if let Some(group) = &mut route.groups.dingtalk_robot {
                robot_keys::store_dingtalk_robot(secrets, &mut group.robot)
                    .await
                    .map_err(unavailable)?;
            }
        }
        let secret = token.map(|t| (name.as_str(), "token", t));
        self.update(who, secret, |r| {
            source_entry(r, source).sqle = Some(rules.clone());
        })
        .await
    }

    /// An SQLE source's routing rules as the admin API shows them (the token never).
    pub async fn sqle_source_view(
        &self,
        who: &Principal,
        source: &str,
    ) -> Result<SqleSource, ServiceError> {
        who.check_admin()?;
        self.sqle_source(source)
            .await?
            .ok_or(ServiceError::NotFound("SQLE source"))
    }

    /// Whether `source` is a configured ticket source with a signing secret: checked before its
    /// secret is read, so calls naming made-up sources cost no secret-store read.
    pub async fn is_signed_source(&self, source: &str) -> Result<bool, ServiceError> {
        Ok(self
            .store
            .get_settings()
            .await?
            .webhook_sources
            .iter()
            .any(|s| s.name == source && s.signed))
    }

    /// An SQLE source's routing rules, if it is configured.
    pub async fn sqle_source(&self, source: &str) -> Result<Option<SqleSource>, ServiceError> {
        Ok(self
            .store
            .get_settings()
            .await?
            .webhook_sources
            .into_iter()
            .find(|s| s.name == source)
            .and_then(|s| s.sqle))
    }
}

/// Which robot of a routing rule is kept.
#[derive(Clone, Copy)]
enum RuleRobot {
    Wecom,
    Dingtalk,
}

/// Puts back each rule's robot sent as `"set"`: the one the same rule (the same SQLE project)
/// stores under that group name.
fn keep_rule_robots(
    rules: &mut SqleSource,
    stored: &SqleSource,
    kept: &[(usize, GroupName)],
    robot: RuleRobot,
) -> Result<(), ServiceError> {
    for (at, group) in kept {
        let Some(route) = rules.routes.get_mut(*at) else {
            continue;
        };
        let same_rule = stored
            .routes
            .iter()
            .filter(|r| r.project_name == route.project_name && r.project_uid == route.project_uid);
        let missing = |field: &str| {
            FieldError::new(
                format!("routes[{at}].{field}"),
                format!(
                    "is \"set\" but this rule has no stored group named '{}': give its robot's credentials",
                    group.as_str()
                ),
            )
        };
        match robot {
            RuleRobot::Wecom => {
                let found = same_rule
                    .filter_map(|r| r.groups.wecom_robot.as_ref())
                    .find(|g| g.name == *group)
                    .ok_or_else(|| missing("wecom_robot.webhook_key"))?;
                route.groups.wecom_robot = Some(found.clone());
            }
            RuleRobot::Dingtalk => {
                let found = same_rule
                    .filter_map(|r| r.groups.dingtalk_robot.as_ref())
                    .find(|g| g.name == *group)
                    .ok_or_else(|| missing("dingtalk_robot.access_token"))?;
                route.groups.dingtalk_robot = Some(found.clone());
            }
        }
    }
    Ok(())
}

/// The source named `source`, added (with nothing set) if missing.
fn source_entry<'a>(record: &'a mut SettingsRecord, source: &str) -> &'a mut WebhookSource {
    let at = match record.webhook_sources.iter().position(|s| s.name == source) {
        Some(at) => at,
        None => {
            record.webhook_sources.push(WebhookSource {
                name: source.to_owned(),
                signed: false,
                sqle: None,
            });
            record.webhook_sources.len() - 1
        }
    };
    &mut record.webhook_sources[at]
}
