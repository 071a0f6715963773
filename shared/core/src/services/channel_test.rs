//! The channel test buttons: send a real test message through the delivery engine and return what
//! the provider said.
use crate::ServiceError;
use crate::clock::Clock;
use crate::domain::auth::Principal;
use crate::domain::delivery::{Delivery, DeliveryCause};
use crate::domain::message::{
    EmailMessage, FeishuBody, FeishuMessage, FeishuRecipient, OutboundMessage, WecomAppMessage,
    WecomBody,
};
use crate::domain::recipients::{EmailAddress, WecomUserId};
use crate::ports::DeliveryStore;
use crate::services::delivery::DeliveryWorker;
use crate::services::settings::SettingsService;
use std::sync::Arc;
use std::time::Duration;

/// Whom a channel test goes to.
#[derive(Debug, Clone)]
pub enum ChannelTestTarget {
    Smtp(EmailAddress),
    Wecom(WecomUserId),
    Feishu(FeishuRecipient),
    Dingtalk(crate::domain::dingtalk::DingtalkUserId),
}

impl ChannelTestTarget {
    fn channel(&self) -> &'static str {
        match self {
            Self::Smtp(_) => "smtp",
            Self::Wecom(_) => "wecom",
            Self::Feishu(_) => "feishu",
            Self::Dingtalk(_) => "dingtalk",
        }
    }
}

#[derive(Clone)]
pub struct ChannelTestService {
    settings: SettingsService,
    deliveries: Arc<dyn DeliveryStore>,
    worker: DeliveryWorker,
    clock: Arc<dyn Clock>,
    answer_within: Duration,
}

impl ChannelTestService {
    pub fn new(
        settings: SettingsService,
        deliveries: Arc<dyn DeliveryStore>,
        worker: DeliveryWorker,
        clock: Arc<dyn Clock>,
        answer_within: Duration,
    ) -> Self {
        Self {
            settings,
            deliveries,
            worker,
            clock,
            answer_within,
        }
    }

    /// Sends a test message and waits (up to `answer_within`) for the provider's answer; a
    /// delivery still `sending` or `queued` without an answer is being sent (poll it).
    #[tracing::instrument(skip_all, fields(channel = target.channel()))]
    pub async fn test(
        &self,
        who: &Principal,
        target: ChannelTestTarget,
    ) -> Result<Delivery, ServiceError> {
        who.check_admin()?;
        // A test answers for the settings as stored now, even if another instance changed them.
        self.settings.forget_sending_settings();
        let channel = target.channel();
        let configured = match &target {
            ChannelTestTarget::Smtp(_) => self.settings.smtp().await?.is_some(),
            ChannelTestTarget::Wecom(_) => self.settings.wecom().await?.is_some(),
            ChannelTestTarget::Feishu(_) => self.settings.feishu().await?.is_some(),
            ChannelTestTarget::Dingtalk(_) => self.settings.dingtalk().await?.is_some(),
        };
        if !configured {
            return Err(ServiceError::FailedPrecondition {
                field: Some("channel".into()),
                message: format!(
                    "the {channel} channel is not configured and enabled: PUT /v1/settings/channels/{channel} first"
                ),
            });
        }
        let now = self.clock.now();
        let text = format!(
            "Herald test message: the {channel} channel works. Sent {}",
            now.format("%Y-%m-%d %H:%M:%S UTC")
        );
        let message = match target {
            ChannelTestTarget::Smtp(to) => OutboundMessage::Email(EmailMessage {
                to,
                subject: "Herald test message".into(),
                text: text.clone(),
                html: None,
                images: Vec::new(),
                attachments: Vec::new(),
            }),
            ChannelTestTarget::Wecom(user) => OutboundMessage::WecomApp(WecomAppMessage {
                to_users: vec![user],
                to_parties: vec![],
                to_tags: vec![],
                body: WecomBody::Text { content: text },
                image: None,
            }),
            ChannelTestTarget::Feishu(to) => OutboundMessage::Feishu(FeishuMessage {
                to,
                body: FeishuBody::Text { text },
            }),
            ChannelTestTarget::Dingtalk(user) => {
                OutboundMessage::DingtalkNotice(crate::domain::message::DingtalkNotice {
                    to_users: vec![user],
                    body: crate::domain::message::DingtalkBody::Text { content: text },
                    image: None,
                })
            }
        };
        let delivery = Delivery::queued(
            DeliveryCause::ChannelTest {
                channel: channel.to_owned(),
            },
            message,
            now,
        );
        self.deliveries
            .enqueue(std::slice::from_ref(&delivery))
            .await?;
        self.worker
            .execute_and_wait(&delivery.id, self.answer_within)
            .await
    }
}
