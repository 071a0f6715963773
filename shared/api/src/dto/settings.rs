//! Channel settings on the wire. Secrets are write-only: reads show `"set"`, and a PUT that omits a
//! secret (or sends `"set"`) keeps the stored one.
use super::at;
use super::tasks::SECRET_SET;
use herald_core::FieldError;
use herald_core::domain::channels::{
    DingtalkSettings, FeishuSettings, SmtpSecurity, SmtpSettings, WecomSettings,
};
use herald_core::domain::contact::Mobile;
use herald_core::domain::dingtalk::DingtalkUserId;
use herald_core::domain::message::FeishuRecipient;
use herald_core::domain::recipients::WecomUserId;
use herald_core::domain::text::{HttpUrl, check_text};
use herald_core::services::channel_test::ChannelTestTarget;
use herald_core::services::settings::{Masked, SecretChange, SettingsView};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A secret from a request: absent or `"set"` keeps the stored one.
fn secret(value: &Option<String>) -> Option<SecretString> {
    value
        .as_deref()
        .filter(|v| *v != SECRET_SET)
        .map(|v| SecretString::from(v.to_owned()))
}

fn masked(set: bool) -> Option<String> {
    set.then(|| SECRET_SET.to_owned())
}

fn check_identifier(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty()
        || value.len() > max
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(FieldError::new(
            field,
            format!("must be 1-{max} letters, digits, '_' or '-'"),
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalSettingsBody {
    /// The base of ticket links (`{url_prefix}/projects/{project}/tickets/{id}`); null removes it.
    pub url_prefix: Option<String>,
}

impl GlobalSettingsBody {
    pub fn parse(&self) -> Result<Option<HttpUrl>, FieldError> {
        self.url_prefix
            .as_ref()
            .map(|u| {
                at(
                    "url_prefix",
                    super::formats::http_url(u.trim_end_matches('/')),
                )
            })
            .transpose()
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpBody {
    pub enabled: bool,
    pub host: String,
    #[serde(deserialize_with = "super::whole_number")]
    #[schema(value_type = u16)]
    pub port: u16,
    /// `starttls` (587), `tls` (465) or `none`.
    pub security: String,
    pub username: String,
    /// The mailbox's SMTP authorization code. Write-only.
    #[serde(default)]
    pub password: Option<String>,
    pub from: String,
}

impl SmtpBody {
    pub fn parse(&self) -> Result<(SmtpSettings, Option<SecretString>), FieldError> {
        let host = at("host", super::formats::host(&self.host))?;
        if self.port == 0 {
            return Err(FieldError::new("port", "must be 1-65535"));
        }
        let security = match self.security.as_str() {
            "starttls" => SmtpSecurity::Starttls,
            "tls" => SmtpSecurity::Tls,
            "none" => SmtpSecurity::None,
            other => {
                return Err(FieldError::new(
                    "security",
                    format!("unknown security '{other}' (use starttls, tls or none)"),
                ));
            }
        };
        at("username", check_text(&self.username, 254, false))?;
        let settings = SmtpSettings {
            enabled: self.enabled,
            host,
            port: self.port,
            security,
            username: self.username.trim().to_owned(),
            from: at("from", super::formats::email(&self.from))?,
        };
        Ok((settings, secret(&self.password)))
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WecomBody {
    pub enabled: bool,
    pub corp_id: String,
    /// The app's secret. Write-only.
    #[serde(default)]
    pub corp_secret: Option<String>,
    #[serde(deserialize_with = "super::whole_number")]
    pub agent_id: i64,
    /// Send with `safe=1` (no sharing, watermark).
    #[serde(default)]
    pub encrypted: bool,
    /// An HTTP(S) forward proxy for every WeCom call (for WeCom's trusted-IP rule). Write-only (it
    /// may hold a password): reads show `"set"`; omitted or `"set"` keeps it, `""` removes it.
    #[serde(default)]
    pub proxy: Option<String>,
}

impl WecomBody {
    pub fn parse(&self) -> Result<(WecomSettings, Option<SecretString>, SecretChange), FieldError> {
        check_identifier("corp_id", &self.corp_id, 64)?;
        if !(1..=i64::from(u32::MAX)).contains(&self.agent_id) {
            return Err(FieldError::new(
                "agent_id",
                "must be the app's positive AgentId",
            ));
        }
        let proxy = match self.proxy.as_deref() {
            None | Some(SECRET_SET) => SecretChange::Keep,
            Some("") => SecretChange::Clear,
            Some(url) => {
                at("proxy", super::formats::http_url(url))?;
                SecretChange::Set(SecretString::from(url.to_owned()))
            }
        };
        let settings = WecomSettings {
            enabled: self.enabled,
            corp_id: self.corp_id.clone(),
            agent_id: self.agent_id,
            encrypted: self.encrypted,
            proxy: None,
        };
        Ok((settings, secret(&self.corp_secret), proxy))
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeishuBody {
    pub enabled: bool,
    pub app_id: String,
    /// The app's secret. Write-only.
    #[serde(default)]
    pub app_secret: Option<String>,
}

impl FeishuBody {
    pub fn parse(&self) -> Result<(FeishuSettings, Option<SecretString>), FieldError> {
        check_identifier("app_id", &self.app_id, 64)?;
        Ok((
            FeishuSettings {
                enabled: self.enabled,
                app_id: self.app_id.clone(),
            },
            secret(&self.app_secret),
        ))
    }
}

/// A DingTalk corp app (企业内部应用) that sends work notices.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DingtalkBody {
    pub enabled: bool,
    /// The app's AppKey (Client ID).
    pub app_key: String,
    /// The app's AppSecret (Client Secret). Write-only.
    #[serde(default)]
    pub app_secret: Option<String>,
    /// The app's AgentId: work notices are sent as this app.
    #[serde(deserialize_with = "super::whole_number")]
    pub agent_id: i64,
}

impl DingtalkBody {
    pub fn parse(&self) -> Result<(DingtalkSettings, Option<SecretString>), FieldError> {
        check_identifier("app_key", &self.app_key, 64)?;
        if !(1..=i64::from(u32::MAX)).contains(&self.agent_id) {
            return Err(FieldError::new(
                "agent_id",
                "must be the app's positive AgentId",
            ));
        }
        Ok((
            DingtalkSettings {
                enabled: self.enabled,
                app_key: self.app_key.clone(),
                agent_id: self.agent_id,
            },
            secret(&self.app_secret),
        ))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSourceBody {
    /// The HMAC-SHA256 signing secret this source uses. Write-only.
    pub secret: String,
}

/// Global settings and each channel's status, secrets masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsResponse {
    pub url_prefix: Option<String>,
    pub channels: ChannelsResponse,
    /// Sources with a signing secret (native ticket format).
    pub webhook_sources: Vec<String>,
    /// SQLE sources (`PUT /v1/settings/webhook-sources/{source}/sqle`).
    pub sqle_sources: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelsResponse {
    pub smtp: Option<SmtpBody>,
    pub wecom: Option<WecomBody>,
    pub feishu: Option<FeishuBody>,
    pub dingtalk: Option<DingtalkBody>,
}

impl From<SettingsView> for SettingsResponse {
    fn from(view: SettingsView) -> Self {
        let wecom_proxy_set = view.wecom_proxy_set;
        let smtp = view.smtp.map(
            |Masked {
                 settings: s,
                 secret_set,
             }| SmtpBody {
                enabled: s.enabled,
                host: s.host,
                port: s.port,
                security: match s.security {
                    SmtpSecurity::Starttls => "starttls",
                    SmtpSecurity::Tls => "tls",
                    SmtpSecurity::None => "none",
                }
                .to_owned(),
                username: s.username,
                password: masked(secret_set),
                from: s.from.to_string(),
            },
        );
        let wecom = view.wecom.map(
            |Masked {
                 settings: s,
                 secret_set,
             }| WecomBody {
                enabled: s.enabled,
                corp_id: s.corp_id,
                corp_secret: masked(secret_set),
                agent_id: s.agent_id,
                encrypted: s.encrypted,
                proxy: masked(wecom_proxy_set),
            },
        );
        let feishu = view.feishu.map(
            |Masked {
                 settings: s,
                 secret_set,
             }| FeishuBody {
                enabled: s.enabled,
                app_id: s.app_id,
                app_secret: masked(secret_set),
            },
        );
        let dingtalk = view.dingtalk.map(
            |Masked {
                 settings: s,
                 secret_set,
             }| DingtalkBody {
                enabled: s.enabled,
                app_key: s.app_key,
                app_secret: masked(secret_set),
                agent_id: s.agent_id,
            },
        );
        Self {
            url_prefix: view.url_prefix.map(|u| u.to_string()),
            channels: ChannelsResponse {
                smtp,
                wecom,
                feishu,
                dingtalk,
            },
            webhook_sources: view.webhook_sources,
            sqle_sources: view.sqle_sources,
        }
    }
}

/// Whom a channel test goes to: smtp `{to}` (e-mail), wecom and dingtalk `{to}` (user id), feishu
/// `{mobile}` or `{email}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelTestBody {
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub mobile: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl ChannelTestBody {
    /// Refuses a field the channel's test does not use, so a body says one thing.
    fn only(&self, channel: &str, used: &[&str]) -> Result<(), FieldError> {
        let given = [
            ("to", &self.to),
            ("mobile", &self.mobile),
            ("email", &self.email),
        ];
        match given
            .iter()
            .find(|(field, value)| value.is_some() && !used.contains(field))
        {
            Some((field, _)) => Err(FieldError::new(
                *field,
                format!("is not used by a {channel} test"),
            )),
            None => Ok(()),
        }
    }

    fn to(&self) -> Result<&str, FieldError> {
        self.to
            .as_deref()
            .ok_or_else(|| FieldError::new("to", "is required"))
    }

    /// An e-mail test: `{to}`, an address.
    pub fn smtp(&self) -> Result<ChannelTestTarget, FieldError> {
        self.only("smtp", &["to"])?;
        Ok(ChannelTestTarget::Smtp(at(
            "to",
            super::formats::email(self.to()?),
        )?))
    }

    /// A WeCom test: `{to}`, a member's user id.
    pub fn wecom(&self) -> Result<ChannelTestTarget, FieldError> {
        self.only("wecom", &["to"])?;
        Ok(ChannelTestTarget::Wecom(at(
            "to",
            WecomUserId::parse(self.to()?),
        )?))
    }

    /// A DingTalk test: `{to}`, a member's user id (a work notice).
    pub fn dingtalk(&self) -> Result<ChannelTestTarget, FieldError> {
        self.only("dingtalk", &["to"])?;
        Ok(ChannelTestTarget::Dingtalk(at(
            "to",
            DingtalkUserId::parse(self.to()?),
        )?))
    }

    /// A Feishu test: exactly one of `{email}` or `{mobile}` (Feishu finds the user by either).
    pub fn feishu(&self) -> Result<ChannelTestTarget, FieldError> {
        self.only("feishu", &["email", "mobile"])?;
        let recipient = match (&self.email, &self.mobile) {
            (Some(email), None) => {
                FeishuRecipient::Email(at("email", super::formats::email(email))?)
            }
            (None, Some(mobile)) => {
                FeishuRecipient::Mobile(at("mobile", Mobile::parse(mobile.as_str()))?.to_string())
            }
            _ => {
                return Err(FieldError::new(
                    "email",
                    "give exactly one of email or mobile",
                ));
            }
        };
        Ok(ChannelTestTarget::Feishu(recipient))
    }
}

/// What the provider said to the test message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelTestResponse {
    pub delivered: bool,
    pub delivery_id: String,
    /// `delivered`, `dead` (refused), or `queued` (a retryable failure; it will be retried).
    pub status: String,
    pub attempts: u32,
    /// The provider's answer on success.
    pub provider_answer: Option<String>,
    /// The provider's error on failure: its code, words, and what to do about it.
    pub error: Option<ProviderErrorResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderErrorResponse {
    /// `rate_limited`, `transient`, `config`, `recipient` or `payload`.
    pub class: String,
    pub code: Option<i64>,
    pub message: String,
    pub hint: Option<String>,
}
