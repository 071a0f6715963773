//! A message as the stores keep it: whom it goes to, apart from what it says. What it says (a
//! mail's subject, text and HTML; a card; a markdown body) is the same for every recipient of a
//! run's channel, so a store keeps it once, by its SHA-256, and each delivery keeps only its
//! address and that id: a push to 1,000 addresses stores one 130 KB body, not 1,000, and a
//! delivery's item stays small however large its mail.
use super::message::{OutboundMessage, Provider};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Content smaller than this stays with its delivery: a second item or row would cost more than
/// the bytes it saves.
pub const SHARED_CONTENT_MIN_BYTES: usize = 1024;

/// The field of a stored address that names its content.
const CONTENT_ID: &str = "content_id";

/// The fields that say whom a message goes to, per provider; everything else is its content.
fn address_fields(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::WecomApp => &["provider", "to_users", "to_parties", "to_tags"],
        Provider::WecomRobot => &["provider", "key", "group"],
        Provider::Feishu | Provider::Smtp => &["provider", "to"],
        Provider::DingtalkApp => &["provider", "to_users"],
        Provider::DingtalkRobot => &["provider", "robot", "group"],
    }
}

/// The SHA-256 of a content's JSON, in hex: the same content has the same id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId(String);

impl ContentId {
    pub fn of(json: &str) -> Self {
        Self(hex::encode(Sha256::digest(json.as_bytes())))
    }

    pub fn parse(value: &str) -> Option<Self> {
        (value.len() == 64
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ContentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Content kept apart from its deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedContent {
    pub id: ContentId,
    /// The message's JSON without its address fields.
    pub json: String,
}

/// A message split for storing.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// The address fields and `content_id` when the content is kept apart; the whole message when
    /// it is small.
    pub address: Value,
    pub content: Option<SharedContent>,
}

impl StoredMessage {
    pub fn of(message: &OutboundMessage) -> Result<Self, serde_json::Error> {
        let whole = serde_json::to_value(message)?;
        let Value::Object(mut content) = whole else {
            return Ok(Self {
                address: whole,
                content: None,
            });
        };
        let mut address = Map::new();
        for field in address_fields(message.provider()) {
            if let Some(value) = content.remove(*field) {
                address.insert((*field).to_owned(), value);
            }
        }
        let json = serde_json::to_string(&content)?;
        if json.len() < SHARED_CONTENT_MIN_BYTES {
            address.extend(content);
            return Ok(Self {
                address: Value::Object(address),
                content: None,
            });
        }
        let id = ContentId::of(&json);
        address.insert(CONTENT_ID.to_owned(), Value::String(id.to_string()));
        Ok(Self {
            address: Value::Object(address),
            content: Some(SharedContent { id, json }),
        })
    }
}

/// The content a stored message refers to, if it is kept apart (`None` for a whole message).
pub fn content_id(stored: &Value) -> Option<ContentId> {
    stored.get(CONTENT_ID)?.as_str().and_then(ContentId::parse)
}

/// The whole message's JSON again from a stored address and its content's JSON.
pub fn join(stored: Value, content_json: &str) -> Result<Value, serde_json::Error> {
    let Value::Object(mut address) = stored else {
        return Ok(stored);
    };
    address.remove(CONTENT_ID);
    let content: Map<String, Value> = serde_json::from_str(content_json)?;
    address.extend(content);
    Ok(Value::Object(address))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::message::{EmailMessage, FeishuBody, FeishuMessage, FeishuRecipient};
    use crate::domain::recipients::EmailAddress;

    fn mail(to: &str, html: &str) -> OutboundMessage {
        OutboundMessage::Email(EmailMessage {
            to: EmailAddress::parse(to).expect("address"),
            subject: "日报".into(),
            text: "text".into(),
            html: Some(html.to_owned()),
            images: Vec::new(),
            attachments: Vec::new(),
        })
    }

    fn back(stored: &StoredMessage) -> OutboundMessage {
        let value = match &stored.content {
            Some(content) => join(stored.address.clone(), &content.json).expect("join"),
            None => stored.address.clone(),
        };
        serde_json::from_value(value).expect("message")
    }

    #[test]
    fn recipients_of_one_body_share_its_content_and_keep_their_own_address() {
        let body = "<p>row</p>".repeat(500);
        let (a, b) = (mail("a@example.com", &body), mail("b@example.com", &body));
        let (sa, sb) = (
            StoredMessage::of(&a).unwrap(),
            StoredMessage::of(&b).unwrap(),
        );
        let (ca, cb) = (sa.content.clone().unwrap(), sb.content.clone().unwrap());
        assert_eq!(ca, cb);
        assert!(!ca.json.contains("example.com"));
        assert_eq!(content_id(&sa.address), Some(ca.id.clone()));
        assert!(sa.address.to_string().len() < 200, "{}", sa.address);
        assert_eq!((back(&sa), back(&sb)), (a, b));
        // Another body is another content.
        let other = StoredMessage::of(&mail("a@example.com", &body.replace("row", "col"))).unwrap();
        assert_ne!(other.content.unwrap().id, ca.id);
    }

    #[test]
    fn a_small_message_stays_whole() {
        let small = OutboundMessage::Feishu(FeishuMessage {
            to: FeishuRecipient::Email(EmailAddress::parse("a@example.com").unwrap()),
            body: FeishuBody::Text { text: "hi".into() },
        });
        let stored = StoredMessage::of(&small).unwrap();
        assert_eq!(stored.content, None);
        assert_eq!(content_id(&stored.address), None);
        assert_eq!(back(&stored), small);
    }
}
