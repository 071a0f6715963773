//! The provider hub: the delivery engine's `Sender`. It looks up the channel's current settings and
//! secret for every message, so a fixed secret or a disabled channel takes effect at once, and hands
//! the message to that provider's client (each created once per process).
use async_trait::async_trait;
use herald_core::ServiceError;
use herald_core::domain::dingtalk::DingtalkRobotAddress;
use herald_core::domain::message::{
    DingtalkRobotMessage, OutboundMessage, RobotAddress, RobotMessage,
};
use herald_core::ports::{ImageStore, SendError, SendFailure, SendReceipt, Sender};
use herald_core::services::images::Images;
use herald_core::services::settings::SettingsService;
use herald_mail::SmtpSender;
use herald_providers::HttpProviders;
use std::sync::Arc;

pub struct ProviderHub {
    http: HttpProviders,
    smtp: SmtpSender,
    settings: SettingsService,
}

impl ProviderHub {
    pub fn new(http: HttpProviders, smtp: SmtpSender, settings: SettingsService) -> Self {
        Self {
            http,
            smtp,
            settings,
        }
    }
}

fn settings_unavailable(err: ServiceError) -> SendError {
    SendError {
        failure: SendFailure::Transient,
        code: None,
        message: format!("could not read the channel settings: {err}"),
        hint: None,
    }
}

fn not_configured(channel: &str) -> SendError {
    SendError {
        failure: SendFailure::Config,
        code: None,
        message: format!("the {channel} channel is not configured or is disabled"),
        hint: Some(format!(
            "configure and enable it with PUT /v1/settings/channels/{channel}"
        )),
    }
}

fn robot_key_missing(group: Option<&herald_core::domain::robot::GroupName>) -> SendError {
    let (message, hint) = match group {
        Some(group) => (
            format!(
                "the robot key of the group '{}' is not in the secret store",
                group.as_str()
            ),
            "give the group's webhook_key again (the task's recipients.wecom_robots, or the routing rule's wecom_robot)",
        ),
        None => (
            "the alarm robot's key is not in the secret store".to_owned(),
            "set the task's alarm_robot.webhook_key again",
        ),
    };
    SendError {
        failure: SendFailure::Config,
        code: None,
        message,
        hint: Some(hint.into()),
    }
}

#[async_trait]
impl Sender for ProviderHub {
    async fn send(
        &self,
        message: &OutboundMessage,
        idempotency_key: &str,
    ) -> Result<SendReceipt, SendError> {
        match message {
            OutboundMessage::WecomApp(msg) => {
                let creds = self
                    .settings
                    .wecom()
                    .await
                    .map_err(settings_unavailable)?
                    .ok_or_else(|| not_configured("wecom"))?;
                self.http.wecom.send(&creds, msg, idempotency_key).await
            }
            OutboundMessage::WecomRobot(msg) => {
                let key = match &msg.key {
                    RobotAddress::Key(key) => key.clone(),
                    RobotAddress::Secret(secret) => self
                        .settings
                        .robot_key(secret)
                        .await
                        .map_err(settings_unavailable)?
                        .ok_or_else(|| robot_key_missing(msg.group.as_ref()))?,
                };
                let resolved = RobotMessage {
                    key: RobotAddress::Key(key),
                    body: msg.body.clone(),
                    group: msg.group.clone(),
                };
                self.http.robot.send(&resolved, idempotency_key).await
            }
            OutboundMessage::Feishu(msg) => {
                let creds = self
                    .settings
                    .feishu()
                    .await
                    .map_err(settings_unavailable)?
                    .ok_or_else(|| not_configured("feishu"))?;
                self.http.feishu.send(&creds, msg, idempotency_key).await
            }
            OutboundMessage::DingtalkNotice(msg) => {
                let creds = self
                    .settings
                    .dingtalk()
                    .await
                    .map_err(settings_unavailable)?
                    .ok_or_else(|| not_configured("dingtalk"))?;
                self.http.dingtalk.send(&creds, msg, idempotency_key).await
            }
            OutboundMessage::DingtalkRobot(msg) => {
                let robot = match &msg.robot {
                    DingtalkRobotAddress::Given(creds) => creds.clone(),
                    DingtalkRobotAddress::Secret(secret) => self
                        .settings
                        .dingtalk_robot(secret)
                        .await
                        .map_err(settings_unavailable)?
                        .ok_or_else(|| SendError {
                            failure: SendFailure::Config,
                            code: None,
                            message: format!(
                                "the robot of the DingTalk group '{}' is not in the secret store",
                                msg.group.as_str()
                            ),
                            hint: Some(
                                "give the group's access_token (and secret) again in the task's recipients.dingtalk_robots".into(),
                            ),
                        })?,
                };
                let resolved = DingtalkRobotMessage {
                    robot: DingtalkRobotAddress::Given(robot),
                    body: msg.body.clone(),
                    group: msg.group.clone(),
                };
                self.http
                    .dingtalk_robot
                    .send(&resolved, idempotency_key)
                    .await
            }
            OutboundMessage::Email(msg) => {
                let creds = self
                    .settings
                    .smtp()
                    .await
                    .map_err(settings_unavailable)?
                    .ok_or_else(|| not_configured("smtp"))?;
                self.smtp.send(&creds, msg, idempotency_key).await
            }
        }
    }
}

/// Why the provider clients could not be made (a base URL, the HTTP client).
pub use herald_providers::BuildError;

/// The provider clients of a process (each created once), before they are given the settings
/// service: `Services::new` makes that and hands it to [`ProviderClients::hub`].
pub struct ProviderClients {
    http: HttpProviders,
    smtp: SmtpSender,
}

impl ProviderClients {
    /// The provider clients with base URLs from `HERALD_WECOM_BASE_URL`, `HERALD_FEISHU_BASE_URL` and
    /// `HERALD_DINGTALK_BASE_URL`
    /// when set (a reverse proxy, or the sandbox), the providers' own otherwise.
    pub fn from_env(
        images: Arc<dyn ImageStore>,
        shared_windows: Option<Arc<dyn herald_core::ports::QuotaStore>>,
    ) -> Result<Self, BuildError> {
        let mut config = herald_providers::ProvidersConfig {
            shared_windows: shared_windows.map(herald_providers::SharedWindowsRef),
            ..Default::default()
        };
        if let Ok(url) = std::env::var("HERALD_WECOM_BASE_URL") {
            config.wecom_base_url = url;
        }
        if let Ok(url) = std::env::var("HERALD_FEISHU_BASE_URL") {
            config.feishu_base_url = url;
        }
        if let Ok(url) = std::env::var("HERALD_DINGTALK_BASE_URL") {
            config.dingtalk_base_url = url;
        }
        Self::with_config(config, images)
    }

    /// The clients for `config`; pictures are read from `images` (and uploads recorded there).
    pub fn with_config(
        config: herald_providers::ProvidersConfig,
        images: Arc<dyn ImageStore>,
    ) -> Result<Self, BuildError> {
        let smtp = SmtpSender::new()
            .with_images(Images::new(Arc::clone(&images), config.time.clock.clone()));
        let http = HttpProviders::new(config, images)?;
        Ok(Self { http, smtp })
    }

    /// The hub over these clients, reading channel settings through `settings`.
    pub fn hub(self, settings: SettingsService) -> Arc<dyn Sender> {
        Arc::new(ProviderHub::new(self.http, self.smtp, settings))
    }
}
