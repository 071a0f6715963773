//! Herald's HTTP provider clients: WeCom app messages, WeCom group robots, Feishu, DingTalk work
//! notices and DingTalk robots, with cached
//! single-flight tokens, client-side byte limits, rate limits callers wait on, and every failure
//! classified for the retry policy (see provider-apis.md).
//!
#![doc = include_str!("../NOTES.md")]
pub mod dingtalk;
pub mod error;
pub mod feishu;
pub mod http;
pub mod split;
pub mod time;
mod token;
pub mod wecom;
pub mod window;

pub use dingtalk::DINGTALK_BASE_URL;
pub use dingtalk::app::DingtalkAppClient;
pub use dingtalk::robot::DingtalkRobotClient;
pub use error::BuildError;
pub use feishu::client::{FEISHU_BASE_URL, FeishuClient, FeishuLimits};
pub use feishu::directory::LookupTtl;
pub use http::Timeouts;
pub use time::{ManualSleeper, Sleeper, Time, TokioSleeper};
pub use wecom::app::{WECOM_BASE_URL, WecomAppClient};
pub use wecom::errors::TRUSTED_IP_HINT;
pub use wecom::robot::WecomRobotClient;
pub use window::{Rate, SharedWindowsRef, WindowQuota};

use http::HttpClients;

/// Where the providers are and how the clients behave. `Default` is production.
#[derive(Debug, Clone)]
pub struct ProvidersConfig {
    /// WeCom API base (app and robot), e.g. a reverse proxy on a fixed-IP host.
    pub wecom_base_url: String,
    pub feishu_base_url: String,
    /// DingTalk's `oapi` (work notices and robots).
    pub dingtalk_base_url: String,
    pub timeouts: Timeouts,
    pub robot_quota: WindowQuota,
    /// WeCom app messages per member (30 a minute, 1,000 an hour): beyond, WeCom drops them.
    pub member_quota: WindowQuota,
    pub feishu: FeishuLimits,
    pub dingtalk_robot_quota: WindowQuota,
    /// DingTalk work notices per member (500 a day): beyond, DingTalk drops them.
    pub dingtalk_member_quota: WindowQuota,
    pub time: Time,
    /// Where the robots' minutes, Feishu's windows and WeCom's and DingTalk's per-member quotas are
    /// counted across processes (the delivery Lambdas); none: this process's own count (one
    /// herald-local).
    pub shared_windows: Option<SharedWindowsRef>,
}

impl Default for ProvidersConfig {
    fn default() -> Self {
        Self {
            wecom_base_url: WECOM_BASE_URL.to_owned(),
            feishu_base_url: FEISHU_BASE_URL.to_owned(),
            dingtalk_base_url: DINGTALK_BASE_URL.to_owned(),
            timeouts: Timeouts::default(),
            robot_quota: WindowQuota::wecom_robot(),
            member_quota: WindowQuota::wecom_member(),
            feishu: FeishuLimits::default(),
            dingtalk_robot_quota: WindowQuota::dingtalk_robot(),
            dingtalk_member_quota: WindowQuota::dingtalk_member(),
            time: Time::system(),
            shared_windows: None,
        }
    }
}

impl ProvidersConfig {
    /// Production settings with these base URLs and timeouts.
    pub fn new(wecom_base_url: &str, feishu_base_url: &str, timeouts: Timeouts) -> Self {
        Self {
            wecom_base_url: wecom_base_url.to_owned(),
            feishu_base_url: feishu_base_url.to_owned(),
            timeouts,
            ..Self::default()
        }
    }
}

/// The provider clients of one process, sharing one HTTP client (plus one per WeCom proxy).
#[derive(Debug)]
pub struct HttpProviders {
    pub wecom: WecomAppClient,
    pub robot: WecomRobotClient,
    pub feishu: FeishuClient,
    pub dingtalk: DingtalkAppClient,
    pub dingtalk_robot: DingtalkRobotClient,
}

impl HttpProviders {
    /// Builds the clients once per process; fails on an invalid base URL or TLS set-up. Pictures
    /// are read from `images`, and their uploads recorded there.
    pub fn new(
        config: ProvidersConfig,
        images: std::sync::Arc<dyn herald_core::ports::ImageStore>,
    ) -> Result<Self, BuildError> {
        let wecom_base = base_url("WeCom", &config.wecom_base_url)?;
        let feishu_base = base_url("Feishu", &config.feishu_base_url)?;
        let dingtalk_base = base_url("DingTalk", &config.dingtalk_base_url)?;
        let http = HttpClients::new(config.timeouts)?;
        let images = herald_core::services::images::Images::new(images, config.time.clock.clone());
        Ok(Self {
            wecom: WecomAppClient::new(
                wecom_base.clone(),
                http.clone(),
                config.time.clone(),
                images.clone(),
                config.member_quota,
                config.shared_windows.clone(),
            ),
            robot: WecomRobotClient::new(
                wecom_base,
                http.direct(),
                config.robot_quota,
                config.time.clone(),
                images.clone(),
                config.shared_windows.clone(),
            ),
            dingtalk: DingtalkAppClient::new(
                dingtalk_base.clone(),
                http.direct(),
                config.time.clone(),
                images.clone(),
                config.dingtalk_member_quota,
                config.shared_windows.clone(),
            ),
            dingtalk_robot: DingtalkRobotClient::new(
                dingtalk_base,
                http.direct(),
                config.dingtalk_robot_quota,
                config.time.clone(),
                config.shared_windows.clone(),
            ),
            feishu: FeishuClient::new(
                feishu_base,
                http.direct(),
                config.feishu,
                config.time,
                images,
                config.shared_windows,
            ),
        })
    }
}

/// A checked absolute base URL without its trailing slash (paths are appended to it).
fn base_url(name: &'static str, raw: &str) -> Result<String, BuildError> {
    let url = url::Url::parse(raw.trim()).map_err(|source| BuildError::BaseUrl { name, source })?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err(BuildError::BaseUrl {
            name,
            source: url::ParseError::RelativeUrlWithCannotBeABaseBase,
        });
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        assert_eq!(
            base_url("x", "https://proxy.example.com/wecom/").unwrap(),
            "https://proxy.example.com/wecom"
        );
        assert!(base_url("x", "not a url").is_err());
        assert!(base_url("x", "ftp://x.com").is_err());
        let db = herald_embedded::Db::in_memory().unwrap();
        let images = std::sync::Arc::new(herald_embedded::SqliteStore::new(db));
        assert!(HttpProviders::new(ProvidersConfig::default(), images).is_ok());
    }
}
