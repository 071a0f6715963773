//! Turns a rendered message and a list of recipients into deliveries: WeCom batches of ≤1000 users
//! (≤100 departments and tags), one Feishu message per user, one mail per address, and for each
//! WeCom group its robot's picture and figures.
use crate::domain::contact::Contact;
use crate::domain::delivery::{Delivery, DeliveryCause};
use crate::domain::dingtalk::{DingtalkGroup, DingtalkUserId};
use crate::domain::ids::ContactId;
use crate::domain::image::ImageRef;
use crate::domain::message::{
    DingtalkBody, DingtalkNotice, DingtalkRobotMessage, EmailMessage, FeishuBody, FeishuMessage,
    FeishuRecipient, OutboundMessage, RobotBody, RobotMessage, WECOM_MAX_GROUPS_PER_CALL,
    WECOM_MAX_USERS_PER_CALL, WecomAppMessage, WecomBody,
};
use crate::domain::recipients::{EmailAddress, Owner, Recipients, WecomGroupId, WecomUserId};
use crate::domain::redaction::ContactReach;
use crate::domain::robot::WecomGroup;
use crate::domain::task::{Channel, RobotWebhook};
use crate::ports::{ContactStore, StoreError};
use crate::report::render::RenderedPush;
use chrono::{DateTime, Utc};

/// Recipients on one channel, resolved to provider ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    pub wecom_users: Vec<WecomUserId>,
    pub wecom_parties: Vec<WecomGroupId>,
    pub wecom_tags: Vec<WecomGroupId>,
    /// Feishu users by open id, or by e-mail or mobile (looked up by the client, cached).
    pub feishu_users: Vec<FeishuRecipient>,
    pub emails: Vec<EmailAddress>,
    /// The contacts added, at the identity each is reached at.
    pub contacts: Vec<ContactReach>,
    /// WeCom group chats, through their robots.
    pub wecom_groups: Vec<WecomGroup>,
    /// DingTalk members, through the corp app's work notices.
    pub dingtalk_users: Vec<DingtalkUserId>,
    /// DingTalk group chats, through their robots.
    pub dingtalk_groups: Vec<DingtalkGroup>,
}

impl Audience {
    /// The task's recipients on its channel. Contacts need the contacts directory; they are
    /// returned separately so the run log can name them.
    pub fn of(channel: Channel, recipients: &Recipients) -> Self {
        match channel {
            Channel::Wecom => Self {
                wecom_users: recipients.wecom_users.clone(),
                wecom_parties: recipients.wecom_parties.clone(),
                wecom_tags: recipients.wecom_tags.clone(),
                wecom_groups: recipients.wecom_robots.clone(),
                ..Self::default()
            },
            Channel::Feishu => Self {
                feishu_users: recipients
                    .feishu_users
                    .iter()
                    .cloned()
                    .map(FeishuRecipient::OpenId)
                    .chain(
                        recipients
                            .feishu_chats
                            .iter()
                            .cloned()
                            .map(FeishuRecipient::Chat),
                    )
                    .collect(),
                ..Self::default()
            },
            Channel::Email => Self {
                emails: recipients.emails.clone(),
                ..Self::default()
            },
            Channel::Dingtalk => Self {
                dingtalk_users: recipients.dingtalk_users.clone(),
                dingtalk_groups: recipients.dingtalk_robots.clone(),
                ..Self::default()
            },
        }
    }

    /// The owner alone, on the channel (test pushes and alarms).
    pub fn owner(channel: Channel, owner: &Owner) -> Self {
        match channel {
            Channel::Wecom => Self {
                wecom_users: owner.wecom_user.iter().cloned().collect(),
                ..Self::default()
            },
            Channel::Feishu => Self {
                feishu_users: owner
                    .feishu_user
                    .iter()
                    .cloned()
                    .map(FeishuRecipient::OpenId)
                    .collect(),
                ..Self::default()
            },
            Channel::Email => Self {
                emails: owner.email.iter().cloned().collect(),
                ..Self::default()
            },
            Channel::Dingtalk => Self {
                dingtalk_users: owner.dingtalk_user.iter().cloned().collect(),
                ..Self::default()
            },
        }
    }

    /// Adds a contact's identity on `channel` (Feishu: open id, else e-mail, else mobile); false if
    /// the contact has none there.
    pub fn add_contact(&mut self, channel: Channel, contact: &Contact) -> bool {
        fn push<T: PartialEq>(list: &mut Vec<T>, item: T) {
            if !list.contains(&item) {
                list.push(item);
            }
        }
        let identity = match channel {
            Channel::Wecom => contact.wecom_user().cloned().map(|u| {
                let identity = u.as_str().to_owned();
                push(&mut self.wecom_users, u);
                identity
            }),
            Channel::Email => contact.email().cloned().map(|e| {
                let identity = e.as_str().to_owned();
                push(&mut self.emails, e);
                identity
            }),
            Channel::Feishu => contact
                .feishu_open_id()
                .cloned()
                .map(FeishuRecipient::OpenId)
                .or_else(|| contact.email().cloned().map(FeishuRecipient::Email))
                .or_else(|| {
                    contact
                        .mobile()
                        .map(|m| FeishuRecipient::Mobile(m.to_string()))
                })
                .map(|r| {
                    let identity = r.as_str().to_owned();
                    push(&mut self.feishu_users, r);
                    identity
                }),
            Channel::Dingtalk => contact.dingtalk_user().cloned().map(|u| {
                let identity = u.as_str().to_owned();
                push(&mut self.dingtalk_users, u);
                identity
            }),
        };
        let Some(identity) = identity else {
            return false;
        };
        push(
            &mut self.contacts,
            ContactReach {
                contact: contact.id().clone(),
                identity,
            },
        );
        true
    }

    /// Adds each of `ids`' identity on `channel`, read from the contacts directory; returns the
    /// contacts it cannot reach, and why, for the run log.
    pub async fn add_contacts(
        &mut self,
        channel: Channel,
        ids: &[ContactId],
        directory: &dyn ContactStore,
    ) -> Result<Vec<String>, StoreError> {
        let mut unreachable = Vec::new();
        if ids.is_empty() {
            return Ok(unreachable);
        }
        let found = directory.get_contacts(ids).await?;
        for id in ids {
            match found.iter().find(|c| c.id() == id) {
                None => unreachable.push(format!("{id}: no such contact")),
                Some(contact) if !self.add_contact(channel, contact) => {
                    unreachable.push(format!("{id}: no {} identity", channel.as_str()));
                }
                Some(_) => {}
            }
        }
        Ok(unreachable)
    }

    pub fn is_empty(&self) -> bool {
        self.wecom_users.is_empty()
            && self.wecom_parties.is_empty()
            && self.wecom_tags.is_empty()
            && self.feishu_users.is_empty()
            && self.emails.is_empty()
            && self.wecom_groups.is_empty()
            && self.dingtalk_users.is_empty()
            && self.dingtalk_groups.is_empty()
    }

    /// How many of the Feishu receivers are group chats.
    fn feishu_chats(&self) -> usize {
        self.feishu_users
            .iter()
            .filter(|r| matches!(r, FeishuRecipient::Chat(_)))
            .count()
    }

    /// "2 users, 1 department" etc., for logs and confirmations.
    pub fn describe(&self) -> String {
        let chats = self.feishu_chats();
        let parts = [
            (self.wecom_users.len(), "WeCom user", "WeCom users"),
            (
                self.wecom_parties.len(),
                "WeCom department",
                "WeCom departments",
            ),
            (self.wecom_tags.len(), "WeCom tag", "WeCom tags"),
            (self.wecom_groups.len(), "WeCom group", "WeCom groups"),
            (
                self.feishu_users.len() - chats,
                "Feishu user",
                "Feishu users",
            ),
            (chats, "Feishu chat", "Feishu chats"),
            (self.emails.len(), "e-mail address", "e-mail addresses"),
            (self.dingtalk_users.len(), "DingTalk user", "DingTalk users"),
            (
                self.dingtalk_groups.len(),
                "DingTalk group",
                "DingTalk groups",
            ),
        ];
        let named: Vec<String> = parts
            .iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
            .collect();
        if named.is_empty() {
            "nobody".to_owned()
        } else {
            named.join(", ")
        }
    }
}

fn chunk<T: Clone>(items: &[T], size: usize, index: usize) -> Vec<T> {
    items
        .chunks(size)
        .nth(index)
        .map(<[T]>::to_vec)
        .unwrap_or_default()
}

/// The deliveries that carry `rendered` to `audience`.
pub fn deliveries(
    rendered: &RenderedPush,
    audience: &Audience,
    cause: &DeliveryCause,
    now: DateTime<Utc>,
) -> Vec<Delivery> {
    deliveries_with(rendered, (None, &[]), audience, cause, now)
}

/// The same, with the page snapshot that WeCom apps and DingTalk work notices send as an image
/// message of its own before the text (the other channels carry it inside `rendered`). Why an image message and not `mpnews`:
/// the reader sees the whole picture in the chat without opening an article, `uploadimg`'s quota
/// of 1,000 a day is never touched, and the text message keeps every template's figures.
///
/// `files` (attachments) go in the mail itself; on WeCom and Feishu each is a `file` message of
/// its own, a delivery of its own, so a retry of one never sends the other again.
pub fn deliveries_with(
    rendered: &RenderedPush,
    (snapshot, files): (Option<&ImageRef>, &[ImageRef]),
    audience: &Audience,
    cause: &DeliveryCause,
    now: DateTime<Utc>,
) -> Vec<Delivery> {
    let mut deliveries = messages(rendered, snapshot, audience, files)
        .into_iter()
        .map(|message| Delivery::queued(cause.clone(), message, now))
        .collect::<Vec<_>>();
    if !audience.contacts.is_empty() {
        for delivery in &mut deliveries {
            let reached = delivery.message.recipient_ids();
            delivery.contacts = audience
                .contacts
                .iter()
                .filter(|reach| reached.contains(reach.identity.as_str()))
                .cloned()
                .collect();
        }
    }
    deliveries
}

fn messages(
    rendered: &RenderedPush,
    snapshot: Option<&ImageRef>,
    audience: &Audience,
    files: &[ImageRef],
) -> Vec<OutboundMessage> {
    let mut messages = match rendered {
        RenderedPush::Wecom(body) => wecom_messages(audience, body, snapshot),
        RenderedPush::Feishu(body) => feishu_messages(audience, body),
        RenderedPush::Dingtalk(body) => audience
            .dingtalk_users
            .chunks(crate::domain::limits::dingtalk::NOTICE_MAX_USERS)
            .map(|users| {
                OutboundMessage::DingtalkNotice(DingtalkNotice {
                    to_users: users.to_vec(),
                    body: body.clone(),
                    image: snapshot.cloned(),
                })
            })
            .collect(),
        RenderedPush::Email {
            subject,
            text,
            html,
            images,
        } => audience
            .emails
            .iter()
            .map(|to| {
                OutboundMessage::Email(EmailMessage {
                    to: to.clone(),
                    subject: subject.clone(),
                    text: text.clone(),
                    html: html.clone(),
                    images: images.clone(),
                    attachments: files.to_vec(),
                })
            })
            .collect(),
    };
    for file in files {
        match rendered {
            RenderedPush::Wecom(_) => {
                let body = WecomBody::File { file: file.clone() };
                messages.extend(wecom_messages(audience, &body, None));
            }
            RenderedPush::Feishu(_) => {
                let body = FeishuBody::File { file: file.clone() };
                messages.extend(feishu_messages(audience, &body));
            }
            RenderedPush::Email { .. } | RenderedPush::Dingtalk(_) => {}
        }
    }
    messages
}

/// `body` (and the snapshot before it) to every WeCom user, department and tag, in batches.
fn wecom_messages(
    audience: &Audience,
    body: &WecomBody,
    snapshot: Option<&ImageRef>,
) -> Vec<OutboundMessage> {
    let batches = [
        audience
            .wecom_users
            .len()
            .div_ceil(WECOM_MAX_USERS_PER_CALL),
        audience
            .wecom_parties
            .len()
            .div_ceil(WECOM_MAX_GROUPS_PER_CALL),
        audience
            .wecom_tags
            .len()
            .div_ceil(WECOM_MAX_GROUPS_PER_CALL),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    (0..batches)
        .map(|i| {
            OutboundMessage::WecomApp(WecomAppMessage {
                to_users: chunk(&audience.wecom_users, WECOM_MAX_USERS_PER_CALL, i),
                to_parties: chunk(&audience.wecom_parties, WECOM_MAX_GROUPS_PER_CALL, i),
                to_tags: chunk(&audience.wecom_tags, WECOM_MAX_GROUPS_PER_CALL, i),
                body: body.clone(),
                image: snapshot.cloned(),
            })
        })
        .collect()
}

/// `body` to every Feishu user (one call each).
fn feishu_messages(audience: &Audience, body: &FeishuBody) -> Vec<OutboundMessage> {
    audience
        .feishu_users
        .iter()
        .map(|to| {
            OutboundMessage::Feishu(FeishuMessage {
                to: to.clone(),
                body: body.clone(),
            })
        })
        .collect()
}

/// The robot message of an alarm.
pub fn robot_delivery(
    robot: &RobotWebhook,
    body: RobotBody,
    cause: &DeliveryCause,
    now: DateTime<Utc>,
) -> Delivery {
    Delivery::queued(
        cause.clone(),
        OutboundMessage::WecomRobot(RobotMessage {
            key: robot.address(),
            body,
            group: None,
        }),
        now,
    )
}

/// Each WeCom group's deliveries: the page picture as an `image` message, then the figures as
/// `markdown` (or `text`). Two deliveries, not one with two sends: a robot has no duplicate check
/// (WeCom apps drop a repeat within 30 minutes), so a retry of the figures must not send the
/// picture again. Why not `news`: its picture must be a public URL, and an article hides the
/// figures behind a tap.
pub fn wecom_group_deliveries(
    groups: &[WecomGroup],
    figures: &RobotBody,
    picture: Option<&ImageRef>,
    cause: &DeliveryCause,
    now: DateTime<Utc>,
) -> Vec<Delivery> {
    groups
        .iter()
        .flat_map(|group| {
            let picture = picture.map(|image| RobotBody::Image {
                image: image.clone(),
            });
            picture.into_iter().chain([figures.clone()]).map(|body| {
                Delivery::queued(
                    cause.clone(),
                    OutboundMessage::WecomRobot(RobotMessage {
                        key: group.robot.address(),
                        body,
                        group: Some(group.name.clone()),
                    }),
                    now,
                )
            })
        })
        .collect()
}

/// A group robot's figures from a WeCom app message: markdown and text as they are (both fit a
/// robot's larger limits). `None` for a text card, which robots do not take: the caller renders
/// the figures as markdown instead.
pub fn robot_figures(body: &WecomBody) -> Option<RobotBody> {
    match body {
        WecomBody::Markdown { content } => Some(RobotBody::Markdown {
            content: content.clone(),
        }),
        WecomBody::Text { content } => Some(RobotBody::Text {
            content: content.clone(),
            mentioned_list: Vec::new(),
        }),
        WecomBody::Textcard { .. } | WecomBody::File { .. } => None,
    }
}

/// Each DingTalk group's message through its robot: one markdown message whose first line shows
/// the page picture by its signed link (`picture_url`; a robot cannot upload), then the figures.
/// The renderer kept room for the line (`DINGTALK_PICTURE_LINE_BYTES`); a longer address (an
/// unusually long URL prefix) is left out rather than cut.
pub fn dingtalk_group_deliveries(
    groups: &[DingtalkGroup],
    figures: &DingtalkBody,
    picture_url: Option<&str>,
    cause: &DeliveryCause,
    now: DateTime<Utc>,
) -> Vec<Delivery> {
    let body = match (figures, picture_url) {
        (DingtalkBody::Markdown { title, text }, Some(url)) => DingtalkBody::Markdown {
            title: title.clone(),
            text: format!("![snapshot]({url})\n\n{text}"),
        },
        _ => figures.clone(),
    };
    groups
        .iter()
        .map(|group| {
            Delivery::queued(
                cause.clone(),
                OutboundMessage::DingtalkRobot(DingtalkRobotMessage {
                    robot: group.robot.address(),
                    body: body.clone(),
                    group: group.name.clone(),
                }),
                now,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::WecomBody;

    #[test]
    fn wecom_audiences_are_batched_by_a_thousand_users_and_a_hundred_groups() {
        let users: Vec<WecomUserId> = (0..2500)
            .map(|i| WecomUserId::parse(format!("u{i}")).unwrap())
            .collect();
        let parties: Vec<WecomGroupId> = (1..=150)
            .map(|i| WecomGroupId::parse(i.to_string()).unwrap())
            .collect();
        let audience = Audience {
            wecom_users: users,
            wecom_parties: parties,
            ..Audience::default()
        };
        let rendered = RenderedPush::Wecom(WecomBody::Text {
            content: "hi".into(),
        });
        let cause = DeliveryCause::ChannelTest {
            channel: "wecom".into(),
        };
        let out = deliveries(&rendered, &audience, &cause, Utc::now());
        let sizes: Vec<(usize, usize)> = out
            .iter()
            .map(|d| match &d.message {
                OutboundMessage::WecomApp(m) => (m.to_users.len(), m.to_parties.len()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(sizes, vec![(1000, 100), (1000, 50), (500, 0)]);
        assert_eq!(
            audience.describe(),
            "2500 WeCom users, 150 WeCom departments"
        );
    }
}
