//! Channel settings (admin). Secrets go to the secret store first and are never read back out
//! through the API; a change that omits a secret keeps the stored one.
use crate::domain::auth::Principal;
use crate::domain::channels::{
    DingtalkCredentials, DingtalkSettings, FeishuCredentials, FeishuSettings, SmtpCredentials,
    SmtpSettings, WecomCredentials, WecomSettings,
};
use crate::domain::text::HttpUrl;
use crate::ports::{SecretStore, SettingsRecord, SettingsStore, StoreError};
use crate::{FieldError, ServiceError};
use secrecy::SecretString;
use std::sync::Arc;

pub mod calendars;
mod webhook_sources;

pub const SMTP_PASSWORD: &str = "channels/smtp/password";
pub const WECOM_CORP_SECRET: &str = "channels/wecom/corp_secret";
pub const FEISHU_APP_SECRET: &str = "channels/feishu/app_secret";
pub const DINGTALK_APP_SECRET: &str = "channels/dingtalk/app_secret";
/// The WeCom proxy URL (it may hold a password); [`NO_PROXY`] once removed.
pub const WECOM_PROXY: &str = "channels/wecom/proxy";
/// What a removed proxy's secret holds (Secrets Manager refuses an empty value).
const NO_PROXY: &str = "none";

/// What a settings write does to a write-only value that may also be removed.
#[derive(Debug, Clone)]
pub enum SecretChange {
    Keep,
    Clear,
    Set(SecretString),
}

/// The secret that signs a ticket webhook source's requests.
pub fn webhook_source_secret(source: &str) -> String {
    format!("webhook-sources/{source}")
}

/// The bearer token an SQLE source sends (`Authorization: Bearer <token>`).
pub fn sqle_source_token(source: &str) -> String {
    format!("sqle-sources/{source}/token")
}

/// A channel's settings as the API shows them: whether its secret is set, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked<T> {
    pub settings: T,
    pub secret_set: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsView {
    pub url_prefix: Option<HttpUrl>,
    pub smtp: Option<Masked<SmtpSettings>>,
    pub wecom: Option<Masked<WecomSettings>>,
    /// Whether WeCom calls go through a proxy (its URL is write-only).
    pub wecom_proxy_set: bool,
    pub feishu: Option<Masked<FeishuSettings>>,
    pub dingtalk: Option<Masked<DingtalkSettings>>,
    /// Sources with a signing secret (native ticket format).
    pub webhook_sources: Vec<String>,
    /// SQLE sources (token set, routing rules stored).
    pub sqle_sources: Vec<String>,
}

#[derive(Clone)]
pub struct SettingsService {
    store: Arc<dyn SettingsStore>,
    secrets: Arc<dyn SecretStore>,
    /// The settings as last read for sending, and when: every message needs its channel's
    /// settings, and reading them for each of 10,000 mails doubled the store calls of a push.
    for_sending: Arc<std::sync::Mutex<Option<(std::time::Instant, SettingsRecord)>>>,
}

/// How long the sending path reuses the settings it read. A change through this service takes
/// effect at once (it clears them); one made by another process within this time.
const SETTINGS_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(1);

impl SettingsService {
    pub fn new(store: Arc<dyn SettingsStore>, secrets: Arc<dyn SecretStore>) -> Self {
        Self {
            store,
            secrets,
            for_sending: Arc::default(),
        }
    }

    /// The settings for sending: read at most once a second (see `SETTINGS_FRESH_FOR`).
    async fn sending_settings(&self) -> Result<SettingsRecord, ServiceError> {
        let cached = self
            .for_sending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|(at, _)| at.elapsed() < SETTINGS_FRESH_FOR)
            .map(|(_, record)| record.clone());
        if let Some(record) = cached {
            return Ok(record);
        }
        let record = self.store.get_settings().await?;
        *self.for_sending.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((std::time::Instant::now(), record.clone()));
        Ok(record)
    }

    /// Drops the settings kept for sending: the next send reads the store.
    pub(crate) fn forget_sending_settings(&self) {
        *self.for_sending.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    async fn secret_set(&self, name: &str) -> Result<bool, ServiceError> {
        Ok(self
            .secrets
            .get_secret(name)
            .await
            .map_err(|e| ServiceError::unavailable("the secret store", e))?
            .is_some())
    }

    /// The robot key a task's alarm robot names (see `RobotKey::secret_name`).
    pub async fn robot_key(
        &self,
        secret: &crate::domain::task::RobotSecret,
    ) -> Result<Option<crate::domain::task::RobotKey>, ServiceError> {
        use secrecy::ExposeSecret;
        Ok(self
            .secret(secret.as_str())
            .await?
            .and_then(|key| crate::domain::task::RobotKey::parse(key.expose_secret()).ok()))
    }

    /// The token and signing secret a DingTalk group's robot is kept under.
    pub async fn dingtalk_robot(
        &self,
        secret: &crate::domain::robot::RobotSecret,
    ) -> Result<Option<crate::domain::dingtalk::DingtalkRobotCredentials>, ServiceError> {
        use secrecy::ExposeSecret;
        Ok(self
            .secret(secret.as_str())
            .await?
            .and_then(|stored| serde_json::from_str(stored.expose_secret()).ok()))
    }

    async fn secret(&self, name: &str) -> Result<Option<SecretString>, ServiceError> {
        self.secrets
            .get_secret(name)
            .await
            .map_err(|e| ServiceError::unavailable("the secret store", e))
    }

    pub async fn view(&self, who: &Principal) -> Result<SettingsView, ServiceError> {
        who.check_admin()?;
        let record = self.store.get_settings().await?;
        let smtp = match record.smtp {
            Some(settings) => Some(Masked {
                settings,
                secret_set: self.secret_set(SMTP_PASSWORD).await?,
            }),
            None => None,
        };
        let wecom = match record.wecom {
            Some(settings) => Some(Masked {
                settings,
                secret_set: self.secret_set(WECOM_CORP_SECRET).await?,
            }),
            None => None,
        };
        let feishu = match record.feishu {
            Some(settings) => Some(Masked {
                settings,
                secret_set: self.secret_set(FEISHU_APP_SECRET).await?,
            }),
            None => None,
        };
        let dingtalk = match record.dingtalk {
            Some(settings) => Some(Masked {
                settings,
                secret_set: self.secret_set(DINGTALK_APP_SECRET).await?,
            }),
            None => None,
        };
        let wecom_proxy_set = self
            .wecom_proxy(wecom.as_ref().map(|m| &m.settings))
            .await?
            .is_some();
        Ok(SettingsView {
            wecom_proxy_set,
            url_prefix: record.url_prefix,
            smtp,
            wecom,
            feishu,
            dingtalk,
            webhook_sources: record
                .webhook_sources
                .iter()
                .filter(|s| s.signed)
                .map(|s| s.name.clone())
                .collect(),
            sqle_sources: record
                .webhook_sources
                .iter()
                .filter(|s| s.sqle.is_some())
                .map(|s| s.name.clone())
                .collect(),
        })
    }

    /// Stores a secret (if given) and then applies `change` to the settings document.
    /// Without a new secret, one must already be stored: `secret_field` names it in the error.
    async fn update(
        &self,
        who: &Principal,
        secret: Option<(&str, &str, SecretString)>,
        change: impl Fn(&mut SettingsRecord),
    ) -> Result<(), ServiceError> {
        who.check_admin()?;
        if let Some((name, field, value)) = secret {
            if value.expose_secret_len() == 0 {
                return Err(FieldError::new(field, "must not be empty").into());
            }
            self.secrets
                .put_secret(name, &value)
                .await
                .map_err(|e| ServiceError::unavailable("the secret store", e))?;
            tracing::info!(secret = name, "secret stored");
        }
        // Settings writes are rare; retry a lost race a few times before giving up.
        change_settings(self.store.as_ref(), 3, "this write", |record| {
            change(record);
            Ok(true)
        })
        .await?;
        self.forget_sending_settings();
        Ok(())
    }

    async fn require_secret(
        &self,
        name: &str,
        field: &str,
        given: &Option<SecretString>,
    ) -> Result<(), ServiceError> {
        if given.is_none() && !self.secret_set(name).await? {
            return Err(FieldError::new(
                field,
                "is required the first time this channel is configured",
            )
            .into());
        }
        Ok(())
    }

    pub async fn put_url_prefix(
        &self,
        who: &Principal,
        url_prefix: Option<HttpUrl>,
    ) -> Result<(), ServiceError> {
        self.update(who, None, |r| r.url_prefix = url_prefix.clone())
            .await
    }

    pub async fn put_smtp(
        &self,
        who: &Principal,
        settings: SmtpSettings,
        password: Option<SecretString>,
    ) -> Result<(), ServiceError> {
        who.check_admin()?;
        self.require_secret(SMTP_PASSWORD, "password", &password)
            .await?;
        let secret = password.map(|p| (SMTP_PASSWORD, "password", p));
        self.update(who, secret, |r| r.smtp = Some(settings.clone()))
            .await
    }

    pub async fn put_wecom(
        &self,
        who: &Principal,
        mut settings: WecomSettings,
        corp_secret: Option<SecretString>,
        proxy: SecretChange,
    ) -> Result<(), ServiceError> {
        who.check_admin()?;
        self.require_secret(WECOM_CORP_SECRET, "corp_secret", &corp_secret)
            .await?;
        if corp_secret
            .as_ref()
            .is_some_and(|s| s.expose_secret_len() == 0)
        {
            return Err(FieldError::new("corp_secret", "must not be empty").into());
        }
        // A proxy kept from before proxies were secrets moves to the secret store now.
        let legacy = match &proxy {
            SecretChange::Keep => self
                .store
                .get_settings()
                .await?
                .wecom
                .and_then(|w| w.proxy)
                .map(SecretString::from),
            _ => None,
        };
        let proxy = match (proxy, legacy) {
            (SecretChange::Keep, Some(url)) | (SecretChange::Set(url), _) => Some(url),
            (SecretChange::Clear, _) => Some(SecretString::from(NO_PROXY)),
            (SecretChange::Keep, None) => None,
        };
        if let Some(url) = proxy {
            self.secrets
                .put_secret(WECOM_PROXY, &url)
                .await
                .map_err(|e| ServiceError::unavailable("the secret store", e))?;
        }
        settings.proxy = None;
        let secret = corp_secret.map(|s| (WECOM_CORP_SECRET, "corp_secret", s));
        self.update(who, secret, |r| r.wecom = Some(settings.clone()))
            .await
    }

    /// The proxy WeCom calls go through: the secret, else one stored before proxies were secrets.
    async fn wecom_proxy(
        &self,
        settings: Option<&WecomSettings>,
    ) -> Result<Option<SecretString>, ServiceError> {
        if let Some(url) = self.secret(WECOM_PROXY).await?.filter(|url| {
            use secrecy::ExposeSecret;
            !matches!(url.expose_secret().trim(), "" | NO_PROXY)
        }) {
            return Ok(Some(url));
        }
        Ok(settings
            .and_then(|s| s.proxy.clone())
            .map(SecretString::from))
    }

    pub async fn put_feishu(
        &self,
        who: &Principal,
        settings: FeishuSettings,
        app_secret: Option<SecretString>,
    ) -> Result<(), ServiceError> {
        who.check_admin()?;
        self.require_secret(FEISHU_APP_SECRET, "app_secret", &app_secret)
            .await?;
        let secret = app_secret.map(|s| (FEISHU_APP_SECRET, "app_secret", s));
        self.update(who, secret, |r| r.feishu = Some(settings.clone()))
            .await
    }

    pub async fn put_dingtalk(
        &self,
        who: &Principal,
        settings: DingtalkSettings,
        app_secret: Option<SecretString>,
    ) -> Result<(), ServiceError> {
        who.check_admin()?;
        self.require_secret(DINGTALK_APP_SECRET, "app_secret", &app_secret)
            .await?;
        let secret = app_secret.map(|s| (DINGTALK_APP_SECRET, "app_secret", s));
        self.update(who, secret, |r| r.dingtalk = Some(settings.clone()))
            .await
    }

    /// The base of links to tickets and run records, if configured.
    pub async fn url_prefix(&self) -> Result<Option<HttpUrl>, ServiceError> {
        Ok(self.store.get_settings().await?.url_prefix)
    }

    /// SMTP credentials if the channel is configured and enabled.
    pub async fn smtp(&self) -> Result<Option<SmtpCredentials>, ServiceError> {
        let Some(settings) = self.sending_settings().await?.smtp.filter(|s| s.enabled) else {
            return Ok(None);
        };
        Ok(self
            .secret(SMTP_PASSWORD)
            .await?
            .map(|password| SmtpCredentials { settings, password }))
    }

    pub async fn wecom(&self) -> Result<Option<WecomCredentials>, ServiceError> {
        let Some(settings) = self.sending_settings().await?.wecom.filter(|s| s.enabled) else {
            return Ok(None);
        };
        let Some(corp_secret) = self.secret(WECOM_CORP_SECRET).await? else {
            return Ok(None);
        };
        let proxy = self.wecom_proxy(Some(&settings)).await?;
        Ok(Some(WecomCredentials {
            settings,
            corp_secret,
            proxy,
        }))
    }

    pub async fn feishu(&self) -> Result<Option<FeishuCredentials>, ServiceError> {
        let Some(settings) = self.sending_settings().await?.feishu.filter(|s| s.enabled) else {
            return Ok(None);
        };
        Ok(self
            .secret(FEISHU_APP_SECRET)
            .await?
            .map(|app_secret| FeishuCredentials {
                settings,
                app_secret,
            }))
    }

    pub async fn dingtalk(&self) -> Result<Option<DingtalkCredentials>, ServiceError> {
        let Some(settings) = self
            .sending_settings()
            .await?
            .dingtalk
            .filter(|s| s.enabled)
        else {
            return Ok(None);
        };
        Ok(self
            .secret(DINGTALK_APP_SECRET)
            .await?
            .map(|app_secret| DingtalkCredentials {
                settings,
                app_secret,
            }))
    }
}

/// Length without exposing the value in any other way.
trait SecretLen {
    fn expose_secret_len(&self) -> usize;
}

impl SecretLen for SecretString {
    fn expose_secret_len(&self) -> usize {
        use secrecy::ExposeSecret;
        self.expose_secret().trim().len()
    }
}

/// Applies `change` to the settings document over the version it read, reading again when another
/// write came between (at most `attempts` times: then a conflict naming `during`). `change` answers
/// whether it changed anything; nothing is written when it did not. `Ok(true)` when written.
pub(crate) async fn change_settings(
    store: &dyn SettingsStore,
    attempts: usize,
    during: &str,
    change: impl Fn(&mut SettingsRecord) -> Result<bool, ServiceError>,
) -> Result<bool, ServiceError> {
    for _ in 0..attempts {
        let mut record = store.get_settings().await?;
        let expected = record.version;
        if !change(&mut record)? {
            return Ok(false);
        }
        record.version = expected + 1;
        match store.put_settings(&record, expected).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(ServiceError::Conflict(format!(
        "the settings changed during {during}; try again"
    )))
}
