//! Outbound messages, one per provider call: what the delivery engine hands to a provider client.
//! Each is already within its provider's limits (batch sizes); clients still enforce byte limits.
use super::image::ImageRef;
use super::recipients::{EmailAddress, FeishuOpenId, WecomGroupId, WecomUserId};
pub use super::robot::RobotAddress;
use serde::{Deserialize, Serialize};

/// The most user ids WeCom takes in one `touser`.
pub const WECOM_MAX_USERS_PER_CALL: usize = 1000;
/// The most departments or tags WeCom takes in one call.
pub const WECOM_MAX_GROUPS_PER_CALL: usize = 100;

/// One provider call's worth of message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum OutboundMessage {
    WecomApp(WecomAppMessage),
    WecomRobot(RobotMessage),
    Feishu(FeishuMessage),
    Email(EmailMessage),
    DingtalkNotice(DingtalkNotice),
    DingtalkRobot(DingtalkRobotMessage),
}

impl OutboundMessage {
    /// The people it names by id or address (a WeCom batch's users, the Feishu user, the mail's
    /// address); departments, tags and robots name nobody.
    pub fn recipient_ids(&self) -> std::collections::HashSet<&str> {
        match self {
            Self::WecomApp(m) => m.to_users.iter().map(|u| u.as_str()).collect(),
            Self::WecomRobot(_) | Self::DingtalkRobot(_) => std::collections::HashSet::new(),
            Self::DingtalkNotice(m) => m.to_users.iter().map(|u| u.as_str()).collect(),
            Self::Feishu(m) => std::collections::HashSet::from([m.to.as_str()]),
            Self::Email(m) => std::collections::HashSet::from([m.to.as_str()]),
        }
    }

    pub fn provider(&self) -> Provider {
        match self {
            Self::WecomApp(_) => Provider::WecomApp,
            Self::WecomRobot(_) => Provider::WecomRobot,
            Self::Feishu(_) => Provider::Feishu,
            Self::Email(_) => Provider::Smtp,
            Self::DingtalkNotice(_) => Provider::DingtalkApp,
            Self::DingtalkRobot(_) => Provider::DingtalkRobot,
        }
    }
}

/// Who sends: each provider has its own limits, tokens and failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    WecomApp,
    WecomRobot,
    Feishu,
    Smtp,
    DingtalkApp,
    DingtalkRobot,
}

impl Provider {
    pub const ALL: [Self; 6] = [
        Self::WecomApp,
        Self::WecomRobot,
        Self::Feishu,
        Self::Smtp,
        Self::DingtalkApp,
        Self::DingtalkRobot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WecomApp => "wecom_app",
            Self::WecomRobot => "wecom_robot",
            Self::Feishu => "feishu",
            Self::Smtp => "smtp",
            Self::DingtalkApp => "dingtalk_app",
            Self::DingtalkRobot => "dingtalk_robot",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
    }
}

/// A WeCom self-built app message (`message/send`) to at most 1000 users, 100 departments and 100 tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WecomAppMessage {
    pub to_users: Vec<WecomUserId>,
    pub to_parties: Vec<WecomGroupId>,
    pub to_tags: Vec<WecomGroupId>,
    pub body: WecomBody,
    /// The page snapshot, sent as an `image` message before the body (uploaded once per corp
    /// with `media/upload`, its media id shared by every batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
}

/// The message types Herald sends through a WeCom app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum WecomBody {
    /// ≤ 2048 bytes; longer text is split into several messages by the client.
    Text { content: String },
    /// title ≤ 128 bytes, description ≤ 512 bytes, url ≤ 2048 bytes, button text ≤ 4 characters.
    Textcard {
        title: String,
        description: String,
        url: String,
        btntxt: Option<String>,
    },
    /// ≤ 2048 bytes, WeCom's markdown subset.
    Markdown { content: String },
    /// An attachment, sent as a `file` message (uploaded once per corp with
    /// `media/upload?type=file`, its media id shared by every batch).
    File { file: ImageRef },
}

/// A WeCom group robot message (`webhook/send?key=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RobotMessage {
    pub key: RobotAddress,
    pub body: RobotBody,
    /// The group it goes to, by the name the task gives it (a push to a group; alarms have
    /// none): how the record names it, never by its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<super::robot::GroupName>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum RobotBody {
    /// ≤ 2048 bytes; `mentioned_list` takes user ids or `@all`.
    Text {
        content: String,
        mentioned_list: Vec<String>,
    },
    /// ≤ 4096 bytes.
    Markdown { content: String },
    /// A picture (JPG/PNG ≤ 2 MB), sent as base64 with its MD5; counts toward the 20/min.
    Image { image: ImageRef },
}

/// A Feishu message to one user (`im/v1/messages`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeishuMessage {
    pub to: FeishuRecipient,
    pub body: FeishuBody,
}

/// A Feishu user: by open id, or by e-mail or mobile looked up with `batch_get_id` (cached).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeishuRecipient {
    OpenId(FeishuOpenId),
    Email(EmailAddress),
    Mobile(String),
    /// A group chat (`receive_id_type=chat_id`).
    Chat(super::recipients::FeishuChatId),
}

impl FeishuRecipient {
    /// The id, address or number, as the provider gets it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::OpenId(id) => id.as_str(),
            Self::Email(email) => email.as_str(),
            Self::Mobile(mobile) => mobile,
            Self::Chat(chat) => chat.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msg_type", rename_all = "lowercase")]
pub enum FeishuBody {
    Text {
        text: String,
    },
    /// A rich-text post: a title and paragraphs of (text, optional link) runs.
    Post {
        title: String,
        paragraphs: Vec<Vec<PostRun>>,
        /// Shown as the post's first paragraph (uploaded with `im/v1/images`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<ImageRef>,
    },
    /// An attachment, sent as a `file` message (uploaded once per app with `im/v1/files`).
    File {
        file: ImageRef,
    },
    /// An interactive card, as the card JSON Feishu takes.
    Interactive {
        card: serde_json::Value,
        /// Put first among the card's elements once uploaded (`img` with its `img_key`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<ImageRef>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostRun {
    pub text: String,
    pub href: Option<String>,
}

/// One e-mail to one recipient (never a shared To header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    pub to: EmailAddress,
    pub subject: String,
    /// The plain-text alternative; always present.
    pub text: String,
    /// HTML body, already escaped by the renderer; `None` sends plain text only.
    pub html: Option<String>,
    /// Pictures the HTML shows inline: `multipart/related` parts with `Content-ID: <name>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageRef>,
    /// Files attached (`multipart/mixed`), by their names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<ImageRef>,
}

/// A DingTalk work notice (`topapi/message/corpconversation/asyncsend_v2`) to at most 100 users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DingtalkNotice {
    pub to_users: Vec<super::dingtalk::DingtalkUserId>,
    pub body: DingtalkBody,
    /// The page snapshot, sent as an `image` notice before the body (uploaded once per app with
    /// `media/upload`, its media id shared by every batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
}

/// What a DingTalk work notice or robot message says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum DingtalkBody {
    Text {
        content: String,
    },
    /// `title` shows in the chat list and the notification; `text` is DingTalk's markdown subset.
    Markdown {
        title: String,
        text: String,
    },
}

/// A DingTalk `msg` as the provider takes it: `{"msgtype":"markdown","markdown":{"title","text"}}`
/// or `{"msgtype":"text","text":{"content"}}` (the same shape for robots and work notices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum DingtalkMsg<'a> {
    Text { text: DingtalkText<'a> },
    Markdown { markdown: DingtalkMarkdown<'a> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DingtalkText<'a> {
    pub content: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DingtalkMarkdown<'a> {
    pub title: &'a str,
    pub text: &'a str,
}

impl<'a> DingtalkMsg<'a> {
    pub fn of(body: &'a DingtalkBody) -> Self {
        match body {
            DingtalkBody::Text { content } => Self::Text {
                text: DingtalkText { content },
            },
            DingtalkBody::Markdown { title, text } => Self::Markdown {
                markdown: DingtalkMarkdown { title, text },
            },
        }
    }
}

/// A DingTalk custom robot message (`robot/send?access_token=`, signed when the robot has a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DingtalkRobotMessage {
    pub robot: super::dingtalk::DingtalkRobotAddress,
    pub body: DingtalkBody,
    /// The group, by the name the task gives it: how the record names it, never by its token.
    pub group: super::robot::GroupName,
}
