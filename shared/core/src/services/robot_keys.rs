//! Group robot keys into the secret store: a task or a routing rule keeps only the name of the
//! secret that holds its robot's key (`robots/<digest>`), like every other secret.
use crate::domain::dingtalk::DingtalkRobot;
use crate::domain::robot::GroupName;
use crate::domain::task::{RobotWebhook, TaskSpec};
use crate::ports::{SecretError, SecretStore};

/// Moves a robot key given as such into the secret store and leaves the secret's name in its
/// place; true if there was a key to move. Keys are named by their digest: tasks sharing a robot
/// share its secret, and a write that fails after this leaves nothing that a retry would not
/// write again.
pub async fn store_webhook(
    secrets: &dyn SecretStore,
    webhook: &mut RobotWebhook,
) -> Result<bool, SecretError> {
    let RobotWebhook::Key { webhook_key } = webhook else {
        return Ok(false);
    };
    let secret = webhook_key.secret_name();
    let value = secrecy::SecretString::from(webhook_key.as_str().to_owned());
    secrets.put_secret(secret.as_str(), &value).await?;
    *webhook = RobotWebhook::Stored { secret };
    Ok(true)
}

/// Moves the robot keys given in `spec` (the alarm robot's, each WeCom and DingTalk group's) into the
/// secret store; true if there was a key to move. Used for new tasks and by the upgrade of tasks
/// stored with their key.
pub async fn store_robot_key(
    secrets: &dyn SecretStore,
    spec: &mut TaskSpec,
) -> Result<bool, SecretError> {
    let webhooks = spec.alarm_robot.iter_mut().chain(
        spec.recipients
            .wecom_robots
            .iter_mut()
            .map(|g| &mut g.robot),
    );
    let mut moved = false;
    for webhook in webhooks {
        moved |= store_webhook(secrets, webhook).await?;
    }
    for group in &mut spec.recipients.dingtalk_robots {
        moved |= store_dingtalk_robot(secrets, &mut group.robot).await?;
    }
    Ok(moved)
}

/// Moves a DingTalk robot given as such (its token and signing secret, as JSON) into the secret
/// store and leaves the secret's name in its place; true if there was one to move.
pub async fn store_dingtalk_robot(
    secrets: &dyn SecretStore,
    robot: &mut DingtalkRobot,
) -> Result<bool, SecretError> {
    let DingtalkRobot::Given(creds) = robot else {
        return Ok(false);
    };
    let secret = creds.secret_name();
    let json = serde_json::to_string(creds).map_err(|e| SecretError::Unavailable(Box::new(e)))?;
    secrets
        .put_secret(secret.as_str(), &secrecy::SecretString::from(json))
        .await?;
    *robot = DingtalkRobot::Stored { secret };
    Ok(true)
}

/// Group targets sent back with `"set"` for their write-only credentials, to be kept as stored:
/// (their place in the list, their name), per kind of robot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptGroups {
    pub wecom: Vec<(usize, GroupName)>,
    pub dingtalk: Vec<(usize, GroupName)>,
}

impl KeptGroups {
    /// The field (under `recipients.`) of the first kept group and what to give instead, for a
    /// new task, which has nothing stored to keep.
    pub fn first_field(&self) -> Option<(String, &'static str)> {
        let wecom = self.wecom.first().map(|(at, _)| {
            (
                format!("wecom_robots[{at}].webhook_key"),
                "give the group robot's key or webhook URL",
            )
        });
        let dingtalk = self.dingtalk.first().map(|(at, _)| {
            (
                format!("dingtalk_robots[{at}].access_token"),
                "give the group robot's access_token or webhook URL",
            )
        });
        wecom.or(dingtalk)
    }
}

/// Puts each group sent back with `"set"` in its place in `groups`, as `stored` holds the group of
/// that name (its robot's credentials are write-only); `field(at)` names the credential's field.
pub fn keep_by_name<G: Clone>(
    groups: &mut Vec<G>,
    stored: &[G],
    kept: &[(usize, GroupName)],
    name_of: fn(&G) -> &GroupName,
    field: &dyn Fn(usize) -> String,
) -> Result<(), crate::FieldError> {
    for (at, name) in kept {
        let group = stored.iter().find(|g| name_of(g) == name).ok_or_else(|| {
            crate::FieldError::new(
                field(*at),
                format!(
                    "is \"set\" but there is no stored group named '{}': give its robot's credentials",
                    name.as_str()
                ),
            )
        })?;
        groups.insert((*at).min(groups.len()), group.clone());
    }
    Ok(())
}
