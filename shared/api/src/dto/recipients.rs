//! A task's recipients on the wire: people, departments and tags, group targets with their
//! write-only robot credentials, and the owner.
use super::{SECRET_SET, at, optional, within};
use herald_core::FieldError;
use herald_core::domain::dingtalk::{
    DingtalkGroup, DingtalkRobot, DingtalkRobotCredentials, DingtalkRobotSigning,
    DingtalkRobotToken, DingtalkUserId,
};
use herald_core::domain::ids::ContactId;
use herald_core::domain::recipients::{
    FeishuChatId, FeishuOpenId, MAX_GROUPS_PER_LIST, MAX_IDS_PER_LIST, Owner, Recipients,
    WecomGroupId, WecomUserId, parse_list,
};
use herald_core::domain::robot::{GroupName, WecomGroup};
use herald_core::domain::task::{RobotKey, RobotWebhook};
use herald_core::services::robot_keys::KeptGroups;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A WeCom department or tag id, as a number or a string.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum GroupIdBody {
    Number(u64),
    Text(String),
}

impl GroupIdBody {
    fn text(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Text(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientsBody {
    #[serde(default)]
    pub wecom_users: Vec<String>,
    #[serde(default)]
    pub wecom_parties: Vec<GroupIdBody>,
    #[serde(default)]
    pub wecom_tags: Vec<GroupIdBody>,
    #[serde(default)]
    pub feishu_users: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    /// Contact ids (see the contacts API).
    #[serde(default)]
    pub contacts: Vec<String>,
    /// WeCom group chats, each through its group robot (tasks on the `wecom` channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wecom_robots: Vec<WecomRobotBody>,
    /// Feishu group chat ids (`oc_…`) the app's bot is in (tasks on the `feishu` channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feishu_chats: Vec<String>,
    /// DingTalk members' user ids: work notices through the corp app (tasks on the `dingtalk`
    /// channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dingtalk_users: Vec<String>,
    /// DingTalk group chats, each through its custom robot (tasks on the `dingtalk` channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dingtalk_robots: Vec<DingtalkRobotBody>,
}

/// A DingTalk group a task pushes to through the group's custom robot: its figures in markdown,
/// the page picture by a signed link.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DingtalkRobotBody {
    /// What people call the group (1-64 characters): how records name it.
    pub name: String,
    /// The robot's access_token or full webhook URL. Write-only: reads show `"set"`; sending
    /// `"set"` keeps the robot stored for this name (with its secret).
    pub access_token: String,
    /// The signing secret (`SEC…`) when the robot's security setting is signing. Write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A group robot as a body gives it: with its credentials, or sent back as `"set"` to keep the
/// stored one of that name.
pub enum Parsed<G> {
    Given(G),
    Kept(GroupName),
}

impl DingtalkRobotBody {
    /// The group, its fields named under `field` (`dingtalk_robots[0]`, `dingtalk_robot`).
    pub fn parse(&self, field: &str) -> Result<Parsed<DingtalkGroup>, FieldError> {
        let at_field = |part: &str| format!("{field}.{part}");
        let name = at(&at_field("name"), GroupName::parse(self.name.trim()))?;
        let new_secret = self.secret.as_deref().is_some_and(|s| !s.trim().is_empty());
        if self.access_token == SECRET_SET && new_secret {
            // The stored robot is kept whole or replaced whole: a secret alone would be dropped.
            return Err(FieldError::new(
                at_field("access_token"),
                "give the robot's access_token with its new secret (\"set\" keeps both as stored)",
            ));
        }
        if self.access_token == SECRET_SET {
            return Ok(Parsed::Kept(name));
        }
        let secret = self
            .secret
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| at(&at_field("secret"), DingtalkRobotSigning::parse(s)))
            .transpose()?;
        let access_token = at(
            &at_field("access_token"),
            DingtalkRobotToken::from_token_or_url(&self.access_token),
        )?;
        Ok(Parsed::Given(DingtalkGroup {
            name,
            robot: DingtalkRobot::Given(DingtalkRobotCredentials {
                access_token,
                secret,
            }),
        }))
    }
}

impl WecomRobotBody {
    /// The group, its fields named under `field` (`wecom_robots[0]`, `wecom_robot`).
    pub fn parse(&self, field: &str) -> Result<Parsed<WecomGroup>, FieldError> {
        let name = at(&format!("{field}.name"), GroupName::parse(self.name.trim()))?;
        if self.webhook_key == SECRET_SET {
            return Ok(Parsed::Kept(name));
        }
        let key = at(
            &format!("{field}.webhook_key"),
            RobotKey::from_key_or_url(&self.webhook_key),
        )?;
        Ok(Parsed::Given(WecomGroup {
            name,
            robot: RobotWebhook::Key { webhook_key: key },
        }))
    }
}

/// A WeCom group a task pushes to: the picture of the page and its figures, through the group's
/// robot.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WecomRobotBody {
    /// What people call the group (1-64 characters): how records name it.
    pub name: String,
    /// The robot's key or full webhook URL. Write-only: reads show `"set"`; sending `"set"` keeps
    /// the robot stored for this name.
    pub webhook_key: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wecom_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feishu_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The owner's DingTalk user id (tasks on the `dingtalk` channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dingtalk_user: Option<String>,
}

/// Groups sent back with `"set"`: (their place in the list, their name).
pub type Kept = Vec<(usize, GroupName)>;

fn group_ids(field: &str, items: &[GroupIdBody]) -> Result<Vec<WecomGroupId>, FieldError> {
    let texts: Vec<String> = items.iter().map(GroupIdBody::text).collect();
    within(
        field,
        parse_list(&texts, MAX_GROUPS_PER_LIST, |v| WecomGroupId::parse(v)),
    )
}

impl RecipientsBody {
    /// The recipients, and the WeCom and DingTalk groups sent back with `"set"` (kept from the
    /// stored task).
    pub(super) fn parse(&self) -> Result<(Recipients, KeptGroups), FieldError> {
        let (mut wecom_robots, mut kept) = (Vec::new(), Vec::new());
        for (i, group) in self.wecom_robots.iter().enumerate() {
            match group.parse(&format!("wecom_robots[{i}]"))? {
                Parsed::Kept(name) => kept.push((i, name)),
                Parsed::Given(group) => wecom_robots.push(group),
            }
        }
        let (dingtalk_robots, kept_dingtalk) = self.dingtalk_robots()?;
        let recipients = Recipients {
            wecom_users: within(
                "wecom_users",
                parse_list(&self.wecom_users, MAX_IDS_PER_LIST, |v| {
                    WecomUserId::parse(v)
                }),
            )?,
            wecom_parties: group_ids("wecom_parties", &self.wecom_parties)?,
            wecom_tags: group_ids("wecom_tags", &self.wecom_tags)?,
            feishu_users: within(
                "feishu_users",
                parse_list(&self.feishu_users, MAX_IDS_PER_LIST, |v| {
                    FeishuOpenId::parse(v)
                }),
            )?,
            emails: within(
                "emails",
                parse_list(&self.emails, MAX_IDS_PER_LIST, super::formats::email),
            )?,
            contacts: within(
                "contacts",
                parse_list(&self.contacts, MAX_IDS_PER_LIST, |v| ContactId::parse(v)),
            )?,
            wecom_robots,
            feishu_chats: within(
                "feishu_chats",
                parse_list(&self.feishu_chats, MAX_GROUPS_PER_LIST, |v| {
                    FeishuChatId::parse(v)
                }),
            )?,
            dingtalk_users: within(
                "dingtalk_users",
                parse_list(&self.dingtalk_users, MAX_IDS_PER_LIST, |v| {
                    DingtalkUserId::parse(v)
                }),
            )?,
            dingtalk_robots,
        };
        let kept = KeptGroups {
            wecom: kept,
            dingtalk: kept_dingtalk,
        };
        Ok((recipients, kept))
    }

    fn dingtalk_robots(&self) -> Result<(Vec<DingtalkGroup>, Kept), FieldError> {
        let (mut groups, mut kept) = (Vec::new(), Vec::new());
        for (i, group) in self.dingtalk_robots.iter().enumerate() {
            match group.parse(&format!("dingtalk_robots[{i}]"))? {
                Parsed::Kept(name) => kept.push((i, name)),
                Parsed::Given(group) => groups.push(group),
            }
        }
        Ok((groups, kept))
    }
}

impl OwnerBody {
    pub(super) fn parse(&self) -> Result<Owner, FieldError> {
        Ok(Owner {
            wecom_user: optional("wecom_user", &self.wecom_user, WecomUserId::parse)?,
            feishu_user: optional("feishu_user", &self.feishu_user, FeishuOpenId::parse)?,
            email: optional("email", &self.email, |v| super::formats::email(&v))?,
            contact: optional("contact", &self.contact, ContactId::parse)?,
            dingtalk_user: optional("dingtalk_user", &self.dingtalk_user, DingtalkUserId::parse)?,
        })
    }
}
