//! The knobs and the fake providers every scenario (Herald's and Apprise's) talks to.
use crate::env_usize;
use herald_core::domain::channels::{
    FeishuCredentials, FeishuSettings, SmtpCredentials, SmtpSecurity, SmtpSettings,
    WecomCredentials, WecomSettings,
};
use herald_core::domain::recipients::EmailAddress;
use herald_fakes::{
    FakeFeishu, FakeSmtp, FakeWecom, FeishuConfig, SmtpSinkConfig, WecomConfig, feishu_router,
    serve, serve_smtp, wecom_router,
};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const CORP_ID: &str = "ww_bench_corp";
pub const CORP_SECRET: &str = "bench-corp-secret";
pub const AGENT_ID: i64 = 1_000_002;
pub const FEISHU_APP_ID: &str = "cli_bench_app";
pub const FEISHU_SECRET: &str = "bench-app-secret";
pub const SMTP_USER: &str = "mailer@herald.bench";
pub const SMTP_PASSWORD: &str = "bench-auth-code";
/// The robot Herald's real-time (scaled) run uses, on a fake whose per-minute limit is off.
pub const ROBOT_KEY_SCALED: &str = "11111111-aaaa-4bbb-8ccc-000000000001";
/// Robots on the main fake (real 20/min): Apprise unthrottled, Apprise default throttle.
pub const ROBOT_KEY_APPRISE: &str = "22222222-aaaa-4bbb-8ccc-000000000002";
pub const ROBOT_KEY_APPRISE_SLOW: &str = "33333333-aaaa-4bbb-8ccc-000000000003";
/// The robot of the manual-clock run.
pub const ROBOT_KEY_MANUAL: &str = "44444444-aaaa-4bbb-8ccc-000000000004";

#[derive(Debug, Clone)]
pub struct Knobs {
    pub users: usize,
    pub mails: usize,
    pub smtp_concurrency: usize,
    pub feishu_messages: usize,
    /// Repetitions of the (short) WeCom app runs; the median is reported.
    pub reps: usize,
    /// Robot: real-time scaled quota (max per window) and messages sent.
    pub robot_max: usize,
    pub robot_window: Duration,
    pub robot_messages: usize,
    /// Apprise samples.
    pub apprise_throttled_sample: usize,
    pub apprise_mail_sample: usize,
    pub python: String,
    pub out_dir: PathBuf,
}

impl Knobs {
    pub fn from_env() -> Self {
        Self {
            users: env_usize("HERALD_BENCH_USERS", 10_000).max(1),
            mails: env_usize("HERALD_BENCH_MAILS", 10_000).max(1),
            smtp_concurrency: env_usize("HERALD_BENCH_SMTP_CONCURRENCY", 16).max(1),
            feishu_messages: env_usize("HERALD_BENCH_FEISHU_MESSAGES", 500).max(2),
            reps: env_usize("HERALD_BENCH_REPS", 5).max(1),
            robot_max: 20,
            robot_window: Duration::from_millis(
                env_usize("HERALD_BENCH_ROBOT_WINDOW_MS", 2000).max(100) as u64,
            ),
            // A whole number of windows, so "messages after the first burst / span" is the rate.
            robot_messages: env_usize("HERALD_BENCH_ROBOT_MESSAGES", 80)
                .max(40)
                .div_ceil(20)
                * 20,
            apprise_throttled_sample: env_usize("HERALD_BENCH_APPRISE_THROTTLED_SAMPLE", 5).max(2),
            apprise_mail_sample: env_usize("HERALD_BENCH_APPRISE_MAIL_SAMPLE", 500).max(1),
            python: std::env::var("HERALD_BENCH_PYTHON")
                .unwrap_or_else(|_| ".venv/bin/python".into()),
            out_dir: std::env::var("HERALD_BENCH_OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from("target/bench")),
        }
    }

    /// `HERALD_BENCH_ONLY=wecom,smtp,feishu,robot,apprise` runs a subset (development).
    pub fn runs(&self, scenario: &str) -> bool {
        match std::env::var("HERALD_BENCH_ONLY") {
            Ok(only) if !only.trim().is_empty() => only.split(',').any(|s| s.trim() == scenario),
            _ => true,
        }
    }

    pub fn user_ids(&self) -> Vec<String> {
        (0..self.users)
            .map(|i| format!("bench_user_{i:06}"))
            .collect()
    }
}

/// The fake servers, up for the whole run.
pub struct Fakes {
    /// WeCom with the N users and the Apprise robots (real 20/min robot limit).
    pub wecom: FakeWecom,
    pub wecom_url: String,
    /// WeCom whose robot limit is off: Herald's scaled-window run is checked from its timestamps.
    pub wecom_scaled: FakeWecom,
    pub wecom_scaled_url: String,
    pub feishu: FakeFeishu,
    pub feishu_url: String,
    pub smtp: FakeSmtp,
    pub smtp_addr: SocketAddr,
    _servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Fakes {
    pub async fn start(knobs: &Knobs) -> std::io::Result<Self> {
        let wecom = FakeWecom::new(
            WecomConfig::new(CORP_ID, CORP_SECRET, AGENT_ID)
                .with_users(knobs.user_ids())
                .with_robot_key(ROBOT_KEY_APPRISE)
                .with_robot_key(ROBOT_KEY_APPRISE_SLOW),
        );
        let mut scaled_config =
            WecomConfig::new(CORP_ID, CORP_SECRET, AGENT_ID).with_robot_key(ROBOT_KEY_SCALED);
        scaled_config.robot_per_minute = usize::MAX;
        let wecom_scaled = FakeWecom::new(scaled_config);
        let feishu =
            FakeFeishu::new(FeishuConfig::new(FEISHU_APP_ID, FEISHU_SECRET).open_directory());
        let smtp = FakeSmtp::new(SmtpSinkConfig {
            username: SMTP_USER.into(),
            password: SMTP_PASSWORD.into(),
        });
        let (wecom_url, s1) = serve(wecom_router(wecom.clone())).await?;
        let (wecom_scaled_url, s2) = serve(wecom_router(wecom_scaled.clone())).await?;
        let (feishu_url, s3) = serve(feishu_router(feishu.clone())).await?;
        let (smtp_addr, s4) = serve_smtp(smtp.clone()).await?;
        Ok(Self {
            wecom,
            wecom_url,
            wecom_scaled,
            wecom_scaled_url,
            feishu,
            feishu_url,
            smtp,
            smtp_addr,
            _servers: vec![s1, s2, s3, s4],
        })
    }
}

pub fn wecom_settings() -> WecomSettings {
    WecomSettings {
        enabled: true,
        corp_id: CORP_ID.into(),
        agent_id: AGENT_ID,
        encrypted: false,
        proxy: None,
    }
}

pub fn wecom_creds() -> WecomCredentials {
    WecomCredentials {
        settings: wecom_settings(),
        corp_secret: SecretString::from(CORP_SECRET),
        proxy: None,
    }
}

pub fn feishu_creds() -> FeishuCredentials {
    FeishuCredentials {
        settings: FeishuSettings {
            enabled: true,
            app_id: FEISHU_APP_ID.into(),
        },
        app_secret: SecretString::from(FEISHU_SECRET),
    }
}

pub fn smtp_settings(addr: SocketAddr) -> SmtpSettings {
    SmtpSettings {
        enabled: true,
        host: addr.ip().to_string(),
        port: addr.port(),
        security: SmtpSecurity::None,
        username: SMTP_USER.into(),
        from: EmailAddress::parse(SMTP_USER).expect("from address"),
    }
}

pub fn smtp_creds(addr: SocketAddr) -> SmtpCredentials {
    SmtpCredentials {
        settings: smtp_settings(addr),
        password: SecretString::from(SMTP_PASSWORD),
    }
}

/// The most timestamps (seconds, sorted) in any half-open window `[t, t + window)`.
pub fn max_in_window(sorted: &[f64], window: f64) -> usize {
    let mut best = 0;
    let mut i = 0;
    for j in 0..sorted.len() {
        while sorted[j] - sorted[i] >= window {
            i += 1;
        }
        best = best.max(j - i + 1);
    }
    best
}

pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// A picture store for clients that never send pictures (an in-memory SQLite database).
pub fn image_store() -> std::sync::Arc<dyn herald_core::ports::ImageStore> {
    let db = herald_embedded::Db::in_memory().expect("in-memory database");
    std::sync::Arc::new(herald_embedded::SqliteStore::new(db))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_half_open() {
        assert_eq!(max_in_window(&[0.0, 0.5, 1.0, 1.5], 1.0), 2);
        assert_eq!(max_in_window(&[0.0, 0.0, 0.0, 0.999], 1.0), 4);
        assert_eq!(max_in_window(&[], 1.0), 0);
    }
}
