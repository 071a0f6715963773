//! Contacts: the people tickets and tasks name, with every way Herald can reach them.
use super::ParseError;
use super::ids::ContactId;
use super::recipients::{EmailAddress, FeishuOpenId, WecomUserId};
use super::text::{check_text, string_newtype};
use crate::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

string_newtype!(
    /// A contact's display name: 1–100 characters.
    ContactName,
    |v| check_text(v, 100, false)
);
string_newtype!(
    /// A mobile number: digits with an optional leading `+` and country code, 5–20 characters.
    Mobile,
    |v| {
        let digits = v.strip_prefix('+').unwrap_or(v);
        if !(5..=20).contains(&v.len())
            || digits.is_empty()
            || !digits.chars().all(|c| c.is_ascii_digit())
        {
            return Err("must be a phone number of 5-20 characters such as 13800000000 or +85291234567".into());
        }
        Ok(())
    }
);

/// The language a contact reads their messages in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Zh,
    En,
}

impl Language {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        match value {
            "zh" => Ok(Self::Zh),
            "en" => Ok(Self::En),
            _ => Err("must be 'zh' or 'en'".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }
}

/// What a contact is made of, before it is checked to be reachable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDetails {
    pub name: ContactName,
    pub email: Option<EmailAddress>,
    pub mobile: Option<Mobile>,
    pub wecom_user: Option<WecomUserId>,
    pub feishu_open_id: Option<FeishuOpenId>,
    pub dingtalk_user: Option<super::dingtalk::DingtalkUserId>,
    pub language: Language,
}

/// A person in the contacts directory. Always has at least one way to reach them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ContactDoc")]
pub struct Contact {
    id: ContactId,
    name: ContactName,
    email: Option<EmailAddress>,
    mobile: Option<Mobile>,
    wecom_user: Option<WecomUserId>,
    feishu_open_id: Option<FeishuOpenId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dingtalk_user: Option<super::dingtalk::DingtalkUserId>,
    language: Language,
    updated_at: DateTime<Utc>,
}

/// The stored shape, checked again when read back.
#[derive(Deserialize)]
struct ContactDoc {
    id: ContactId,
    name: ContactName,
    email: Option<EmailAddress>,
    mobile: Option<Mobile>,
    wecom_user: Option<WecomUserId>,
    feishu_open_id: Option<FeishuOpenId>,
    #[serde(default)]
    dingtalk_user: Option<super::dingtalk::DingtalkUserId>,
    #[serde(default)]
    language: Language,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ContactDoc> for Contact {
    type Error = FieldError;
    fn try_from(doc: ContactDoc) -> Result<Self, Self::Error> {
        let details = ContactDetails {
            name: doc.name,
            email: doc.email,
            mobile: doc.mobile,
            wecom_user: doc.wecom_user,
            feishu_open_id: doc.feishu_open_id,
            dingtalk_user: doc.dingtalk_user,
            language: doc.language,
        };
        Contact::new(doc.id, details, doc.updated_at)
    }
}

impl Contact {
    /// A contact from its details; `FieldError` (field `email`) if there is no way to reach them.
    pub fn new(
        id: ContactId,
        details: ContactDetails,
        updated_at: DateTime<Utc>,
    ) -> Result<Self, FieldError> {
        let ContactDetails {
            name,
            email,
            mobile,
            wecom_user,
            feishu_open_id,
            dingtalk_user,
            language,
        } = details;
        if email.is_none()
            && mobile.is_none()
            && wecom_user.is_none()
            && feishu_open_id.is_none()
            && dingtalk_user.is_none()
        {
            return Err(FieldError::new(
                "email",
                "give at least one of email, mobile, wecom_user, feishu_open_id or dingtalk_user",
            ));
        }
        Ok(Self {
            id,
            name,
            email,
            mobile,
            wecom_user,
            feishu_open_id,
            dingtalk_user,
            language,
            updated_at,
        })
    }

    pub fn id(&self) -> &ContactId {
        &self.id
    }

    pub fn name(&self) -> &ContactName {
        &self.name
    }

    pub fn email(&self) -> Option<&EmailAddress> {
        self.email.as_ref()
    }

    pub fn mobile(&self) -> Option<&Mobile> {
        self.mobile.as_ref()
    }

    pub fn wecom_user(&self) -> Option<&WecomUserId> {
        self.wecom_user.as_ref()
    }

    pub fn feishu_open_id(&self) -> Option<&FeishuOpenId> {
        self.feishu_open_id.as_ref()
    }

    pub fn dingtalk_user(&self) -> Option<&super::dingtalk::DingtalkUserId> {
        self.dingtalk_user.as_ref()
    }

    pub fn language(&self) -> Language {
        self.language
    }

    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
}

/// `found` in the order of `ids`, each contact once: how stores answer a lookup of many ids.
pub fn in_order_of(ids: &[ContactId], found: Vec<Contact>) -> Vec<Contact> {
    let mut by_id: std::collections::HashMap<ContactId, Contact> =
        found.into_iter().map(|c| (c.id.clone(), c)).collect();
    ids.iter().filter_map(|id| by_id.remove(id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details() -> ContactDetails {
        ContactDetails {
            name: ContactName::parse("王五").unwrap(),
            email: None,
            mobile: None,
            wecom_user: None,
            feishu_open_id: None,
            dingtalk_user: None,
            language: Language::default(),
        }
    }

    #[test]
    fn mobile_numbers_are_digits_with_an_optional_country_code() {
        for good in ["13800000000", "+85291234567", "12345"] {
            assert!(Mobile::parse(good).is_ok(), "{good} was refused");
        }
        for bad in [
            "",
            "1234",
            "+1234a",
            "++12345",
            "138 0000 0000",
            &"1".repeat(21),
        ] {
            assert!(Mobile::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_contact_without_any_way_to_reach_them_is_refused() {
        let id = ContactId::parse("wang").unwrap();
        let err = Contact::new(id.clone(), details(), Utc::now()).unwrap_err();
        assert_eq!(err.field, "email");
        let mut reachable = details();
        reachable.mobile = Some(Mobile::parse("13800000000").unwrap());
        let contact = Contact::new(id, reachable, Utc::now()).unwrap();
        assert_eq!(contact.language(), Language::Zh);
    }

    #[test]
    fn stored_contacts_are_checked_again_when_read() {
        let mut reachable = details();
        reachable.email = Some(EmailAddress::parse("wang@example.com").unwrap());
        let contact =
            Contact::new(ContactId::parse("wang").unwrap(), reachable, Utc::now()).unwrap();
        let json = serde_json::to_value(&contact).unwrap();
        assert_eq!(json["language"], "zh");
        assert_eq!(
            serde_json::from_value::<Contact>(json.clone()).unwrap(),
            contact
        );
        let mut unreachable = json.clone();
        unreachable["email"] = serde_json::Value::Null;
        assert!(serde_json::from_value::<Contact>(unreachable).is_err());
        let mut bad_mobile = json;
        bad_mobile["mobile"] = "abc".into();
        assert!(serde_json::from_value::<Contact>(bad_mobile).is_err());
    }
}
