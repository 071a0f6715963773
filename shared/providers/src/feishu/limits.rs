//! The limits the Feishu client keeps to.
use super::directory::LookupTtl;
use crate::window::WindowQuota;
use std::time::Duration;

/// Limits the Feishu client keeps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeishuLimits {
    /// Calls per app and API in any window (Feishu: 50 a second and 1,000 a minute); callers wait
    /// for a slot. Sliding windows, not a token bucket: a bucket's burst would put up to twice the
    /// limit into one second, which Feishu answers with 99991400.
    pub quota: WindowQuota,
    /// A rate-limit answer whose reset is at most this far away is waited out and the call retried;
    /// a longer one is returned as `RateLimited`.
    pub max_inline_wait: Duration,
    pub lookup_ttl: LookupTtl,
}

impl Default for FeishuLimits {
    fn default() -> Self {
        Self {
            quota: WindowQuota::feishu_app(),
            max_inline_wait: Duration::from_secs(10),
            lookup_ttl: LookupTtl::default(),
        }
    }
}
