//! Who hears a push: WeCom users, departments, tags and group chats, Feishu users and chats,
//! DingTalk users and groups, e-mail addresses, contacts.
use super::ParseError;
use super::ids::ContactId;
use super::text::string_newtype;
use serde::{Deserialize, Serialize};

string_newtype!(
    /// A WeCom member `userid`: 1–64 of letters, digits, `_ - @ .`.
    WecomUserId,
    |v| {
        if v.is_empty() || v.len() > 64 {
            return Err("must be 1-64 characters".into());
        }
        if !v.chars().all(|c| c.is_ascii_alphanumeric() || "_-@.".contains(c)) {
            return Err("may contain only letters, digits, '_', '-', '@' and '.'".into());
        }
        Ok(())
    }
);
string_newtype!(
    /// A WeCom department or tag id: a positive number.
    WecomGroupId,
    |v| match v.parse::<u32>() {
        Ok(n) if n > 0 && !v.starts_with('0') => Ok(()),
        _ => Err("must be a positive number".into()),
    }
);
string_newtype!(
    /// A Feishu group chat's `chat_id` (`oc_…`): a chat the app's bot is in.
    FeishuChatId,
    |v| {
        let rest = v.strip_prefix("oc_").ok_or("must start with 'oc_'")?;
        if rest.is_empty() || v.len() > 64 || !rest.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("must be 'oc_' followed by up to 61 letters or digits".into());
        }
        Ok(())
    }
);
string_newtype!(
    /// A Feishu user's `open_id` (`ou_…`).
    FeishuOpenId,
    |v| {
        let rest = v.strip_prefix("ou_").ok_or("must start with 'ou_'")?;
        if rest.is_empty() || v.len() > 64 || !rest.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err("must be 'ou_' followed by up to 61 letters or digits".into());
        }
        Ok(())
    }
);
string_newtype!(
    /// An e-mail address (addr-spec without display name), at most 254 bytes.
    EmailAddress,
    |v| {
        if v.len() > 254 {
            return Err("must be at most 254 bytes".into());
        }
        let (local, domain) = v.rsplit_once('@').ok_or("must contain '@'")?;
        let bad = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\@".contains(c);
        if local.is_empty() || local.len() > 64 || local.chars().any(bad) {
            return Err("has an invalid part before '@'".into());
        }
        let labels_ok = domain.split('.').all(|l| {
            !l.is_empty() && !l.starts_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if !domain.contains('.') || !labels_ok {
            return Err("has an invalid domain".into());
        }
        Ok(())
    }
);

/// The most ids one recipient list may hold (WeCom sends them in batches of 1,000).
pub const MAX_IDS_PER_LIST: usize = 10_000;
/// The most departments or tags (WeCom takes 100 per call; more are batched).
pub const MAX_GROUPS_PER_LIST: usize = 1_000;

/// The recipients of a push task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipients {
    pub wecom_users: Vec<WecomUserId>,
    pub wecom_parties: Vec<WecomGroupId>,
    pub wecom_tags: Vec<WecomGroupId>,
    pub feishu_users: Vec<FeishuOpenId>,
    pub emails: Vec<EmailAddress>,
    pub contacts: Vec<ContactId>,
    /// WeCom group chats, each through its group robot (tasks on the WeCom channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wecom_robots: Vec<super::robot::WecomGroup>,
    /// Feishu group chats the app's bot is in (tasks on the Feishu channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feishu_chats: Vec<FeishuChatId>,
    /// DingTalk members, through the corp app's work notices (tasks on the DingTalk channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dingtalk_users: Vec<super::dingtalk::DingtalkUserId>,
    /// DingTalk group chats, each through its custom robot (tasks on the DingTalk channel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dingtalk_robots: Vec<super::dingtalk::DingtalkGroup>,
}

/// The most group targets a task pushes to on one channel: each is a delivery (two with the
/// picture) and counts against the group's own quota.
pub const MAX_GROUPS_PER_TASK: usize = 50;

/// Who owns a task: receives test pushes and alarms. At least one way to reach them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub wecom_user: Option<WecomUserId>,
    pub feishu_user: Option<FeishuOpenId>,
    pub email: Option<EmailAddress>,
    pub contact: Option<ContactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dingtalk_user: Option<super::dingtalk::DingtalkUserId>,
}

/// Parses each item of a list, naming the index of the first bad one (`[3]`), and removes duplicates
/// while keeping the first occurrence's order.
pub fn parse_list<T: PartialEq>(
    items: &[String],
    max: usize,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Result<Vec<T>, crate::FieldError> {
    if items.len() > max {
        return Err(crate::FieldError::new(
            "",
            format!("must hold at most {max} entries (got {})", items.len()),
        ));
    }
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for (i, raw) in items.iter().enumerate() {
        let item = parse(raw).map_err(|m| crate::FieldError::new(format!("[{i}]"), m))?;
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_checked() {
        assert!(EmailAddress::parse("a.b+c@example.com").is_ok());
        for bad in [
            "",
            "a",
            "a@",
            "@x.com",
            "a b@x.com",
            "a@x",
            "a@-x.com",
            "a<b>@x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn list_errors_name_the_index_and_duplicates_are_dropped() {
        let items = vec![
            "zhangsan".to_owned(),
            "lisi".to_owned(),
            "zhangsan".to_owned(),
        ];
        let parsed = parse_list(&items, 10, |v| WecomUserId::parse(v)).unwrap();
        assert_eq!(parsed.len(), 2);
        let err = parse_list(&["ok".to_owned(), "bad id".to_owned()], 10, |v| {
            WecomUserId::parse(v)
        })
        .unwrap_err();
        assert_eq!(err.field, "[1]");
        let err = parse_list(&vec!["a".to_owned(); 3], 2, |v| WecomUserId::parse(v)).unwrap_err();
        assert!(err.message.contains("at most 2"));
    }

    #[test]
    fn wecom_group_ids_are_positive_numbers() {
        assert!(WecomGroupId::parse("12").is_ok());
        assert!(WecomGroupId::parse("0").is_err());
        assert!(WecomGroupId::parse("012").is_err());
        assert!(WecomGroupId::parse("x").is_err());
    }
}
