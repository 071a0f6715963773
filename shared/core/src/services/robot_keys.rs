//! Group robot keys into the secret store: a task or a routing rule keeps only the name of the
//! secret that holds its robot's key (`robots/<digest>`), like every other secret.
use crate::domain::dingtalk::DingtalkRobot;
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
