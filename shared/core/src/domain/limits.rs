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
