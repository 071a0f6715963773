//! What the fake Feishu knows: the app, its directory of users and the chats its bot is in.
use std::time::Duration;

/// A user in the fake tenant's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeishuUser {
    pub open_id: String,
    pub user_id: Option<String>,
    pub union_id: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    /// Inside the app's availability scope (false → 230013 on send, no id from batch_get_id).
    pub available: bool,
}

impl FeishuUser {
    pub fn new(open_id: &str) -> Self {
        Self {
            open_id: open_id.to_owned(),
            user_id: None,
            union_id: None,
            email: None,
            mobile: None,
            available: true,
        }
    }
    pub fn email(mut self, email: &str) -> Self {
        self.email = Some(email.to_owned());
        self
    }
    pub fn mobile(mut self, mobile: &str) -> Self {
        self.mobile = Some(mobile.to_owned());
        self
    }
    pub fn user_id(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_owned());
        self
    }
    pub fn union_id(mut self, union_id: &str) -> Self {
        self.union_id = Some(union_id.to_owned());
        self
    }
    pub fn unavailable(mut self) -> Self {
        self.available = false;
        self
    }
}

/// What the fake Feishu knows.
#[derive(Debug, Clone)]
pub struct FeishuConfig {
    pub app_id: String,
    pub app_secret: String,
    pub tenant_key: String,
    pub users: Vec<FeishuUser>,
    /// Sandbox mode: every e-mail and mobile belongs to a user (with an open id derived from it),
    /// every `ou_` open id can be messaged, and the bot is in every `oc_` chat.
    pub open_directory: bool,
    /// Chat ids the bot is in (`receive_id_type=chat_id`).
    pub chats: Vec<String>,
    /// Chats that were dissolved: a message to one is refused with 232009.
    pub dissolved_chats: Vec<String>,
    /// `expire` of a fresh tenant token (default 7200 s).
    pub token_lifetime: Duration,
    /// Enforce the per-app send quotas (50 a second and `rate_limit_per_minute` a minute) with
    /// 429 / 99991400. Off by default.
    pub enforce_send_rate_limit: bool,
    /// Feishu's per-app minute quota for sends (1,000).
    pub rate_limit_per_minute: usize,
}

impl Default for FeishuConfig {
    fn default() -> Self {
        Self::new("cli_fake_app", "fake-app-secret")
    }
}

impl FeishuConfig {
    pub fn new(app_id: &str, app_secret: &str) -> Self {
        Self {
            app_id: app_id.to_owned(),
            app_secret: app_secret.to_owned(),
            tenant_key: "fake_tenant".to_owned(),
            users: Vec::new(),
            open_directory: false,
            chats: Vec::new(),
            dissolved_chats: Vec::new(),
            token_lifetime: Duration::from_secs(7200),
            enforce_send_rate_limit: false,
            rate_limit_per_minute: 1000,
        }
    }
    /// Accept every recipient (the local sandbox, where users type their own addresses).
    pub fn open_directory(mut self) -> Self {
        self.open_directory = true;
        self
    }

    /// The user the open directory has for an e-mail or mobile: a stable open id derived from it.
    pub fn open_user(key: &str) -> FeishuUser {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(key.trim().to_ascii_lowercase().as_bytes());
        FeishuUser::new(&format!("ou_{}", hex::encode(&digest[..12])))
    }

    pub fn with_user(mut self, user: FeishuUser) -> Self {
        self.users.push(user);
        self
    }
    pub fn with_chat(mut self, chat_id: &str) -> Self {
        self.chats.push(chat_id.to_owned());
        self
    }
    pub fn with_dissolved_chat(mut self, chat_id: &str) -> Self {
        self.dissolved_chats.push(chat_id.to_owned());
        self
    }
}
