//! The providers' message size rules (../shared/provider-apis.md §1.2, §2, §3.4), defined once:
//! the renderer fits messages to them and the provider clients check and split by them.

/// WeCom app messages (`message/send`).
pub mod wecom {
    /// `text` and `markdown` content.
    pub const CONTENT_MAX_BYTES: usize = 2048;
    pub const TEXTCARD_TITLE_MAX_BYTES: usize = 128;
    pub const TEXTCARD_DESCRIPTION_MAX_BYTES: usize = 512;
    pub const URL_MAX_BYTES: usize = 2048;
    /// A textcard's button text, in characters.
    pub const BUTTON_MAX_CHARS: usize = 4;
}

/// WeCom group robots (`webhook/send`).
pub mod wecom_robot {
    pub const TEXT_MAX_BYTES: usize = 2048;
    pub const MARKDOWN_MAX_BYTES: usize = 4096;
    /// An `image` message's picture, raw bytes before base64.
    pub const IMAGE_MAX_BYTES: usize = 2 * 1024 * 1024;
}

/// Feishu `im/v1/messages`: the whole request body.
pub mod feishu {
    pub const TEXT_REQUEST_MAX_BYTES: usize = 150 * 1024;
    /// `post` and `interactive` (card) requests.
    pub const RICH_REQUEST_MAX_BYTES: usize = 30 * 1024;
}

/// DingTalk (provider-apis.md §4; shared/providers/NOTES.md has the sources).
pub mod dingtalk {
    /// A work notice (`asyncsend_v2`) to at most this many user ids (the field's documented cap;
    /// other pages say 5,000).
    pub const NOTICE_MAX_USERS: usize = 100;
    /// A work notice's whole `msg` JSON.
    pub const NOTICE_MSG_MAX_BYTES: usize = 2048;
    /// A custom robot's request (`message too long, exceed 20000 bytes`).
    pub const ROBOT_MAX_BYTES: usize = 20_000;
    /// A markdown message's `title` (the chat list's preview).
    pub const TITLE_MAX_BYTES: usize = 128;
    /// A picture uploaded with `media/upload?type=image` (40006 says 1 MB; the upload page 20 MB).
    pub const IMAGE_MAX_BYTES: usize = 1024 * 1024;
    /// Work notices one app may send one member a day (beyond, DingTalk drops them silently).
    pub const NOTICES_PER_MEMBER_PER_DAY: usize = 500;
}

/// Files a push attaches (`content.attachments`), raw bytes. Sources in shared/providers/NOTES.md.
pub mod files {
    /// WeCom `media/upload?type=file`: more than 5 bytes, at most 20 MB.
    pub const WECOM_MAX_BYTES: usize = 20 * 1024 * 1024;
    /// Feishu `im/v1/files`: at most 30 MB, not empty.
    pub const FEISHU_MAX_BYTES: usize = 30 * 1024 * 1024;
    /// One e-mail's attachments and inline pictures together: base64 with its line breaks makes
    /// them 37% larger (8.2 MiB), leaving room for the text and HTML under the 10 MiB Exchange
    /// servers take unless told otherwise (most other servers take 25).
    pub const EMAIL_MAX_BYTES: usize = 6 * 1024 * 1024;
}
