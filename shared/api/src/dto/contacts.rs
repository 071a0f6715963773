//! Contacts on the wire: the body of `PUT /v1/contacts/{user}` and the contact answered.
use super::at;
use chrono::{DateTime, Utc};
use herald_core::FieldError;
use herald_core::domain::contact::{Contact, ContactDetails, ContactName, Language, Mobile};
use herald_core::domain::dingtalk::DingtalkUserId;
use herald_core::domain::recipients::{FeishuOpenId, WecomUserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A contact as an admin writes it. At least one of `email`, `mobile`, `wecom_user`,
/// `feishu_open_id` or `dingtalk_user` is required.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// 1-100 characters.
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Digits with an optional leading `+` and country code, 5-20 characters.
    #[serde(default)]
    pub mobile: Option<String>,
    /// The person's WeCom `userid`.
    #[serde(default)]
    pub wecom_user: Option<String>,
    /// The person's Feishu `open_id` (`ou_…`).
    #[serde(default)]
    pub feishu_open_id: Option<String>,
    /// The person's DingTalk `userid` in the corp (work notices).
    #[serde(default)]
    pub dingtalk_user: Option<String>,
    /// `zh` (default) or `en`: the language of the messages they get.
    #[serde(default)]
    pub language: Option<String>,
}

fn optional<T>(
    field: &str,
    value: &Option<String>,
    parse: impl Fn(String) -> Result<T, String>,
) -> Result<Option<T>, FieldError> {
    value.clone().map(|v| at(field, parse(v))).transpose()
}

impl ContactBody {
    pub fn parse(&self) -> Result<ContactDetails, FieldError> {
        Ok(ContactDetails {
            name: at("name", ContactName::parse(self.name.clone()))?,
            email: optional("email", &self.email, |v| super::formats::email(&v))?,
            mobile: optional("mobile", &self.mobile, Mobile::parse)?,
            wecom_user: optional("wecom_user", &self.wecom_user, WecomUserId::parse)?,
            feishu_open_id: optional("feishu_open_id", &self.feishu_open_id, FeishuOpenId::parse)?,
            dingtalk_user: optional("dingtalk_user", &self.dingtalk_user, DingtalkUserId::parse)?,
            language: self
                .language
                .as_deref()
                .map(|l| at("language", Language::parse(l)))
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// A contact as the API answers it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactView {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub wecom_user: Option<String>,
    pub feishu_open_id: Option<String>,
    pub dingtalk_user: Option<String>,
    /// `zh` or `en`.
    pub language: String,
    pub updated_at: DateTime<Utc>,
}

impl From<&Contact> for ContactView {
    fn from(c: &Contact) -> Self {
        Self {
            id: c.id().to_string(),
            name: c.name().to_string(),
            email: c.email().map(ToString::to_string),
            mobile: c.mobile().map(ToString::to_string),
            wecom_user: c.wecom_user().map(ToString::to_string),
            feishu_open_id: c.feishu_open_id().map(ToString::to_string),
            dingtalk_user: c.dingtalk_user().map(ToString::to_string),
            language: c.language().as_str().to_owned(),
            updated_at: c.updated_at(),
        }
    }
}

/// A page of contacts, in id order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    pub items: Vec<ContactView>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
