//! The sandbox: fake WeCom, Feishu, DingTalk and SMTP servers inside herald-local, with the channels pointed at
//! them, so a new user sees a push arrive without any account. `GET /sandbox/messages` shows them.
use axum::routing::get;
use axum::{Json, Router};
use herald_core::ServiceError;
use herald_core::domain::auth::Principal;
use herald_core::domain::channels::{FeishuSettings, SmtpSecurity, SmtpSettings, WecomSettings};
use herald_core::domain::recipients::EmailAddress;
use herald_core::ports::SettingsRecord;
use herald_core::services::settings::SettingsService;
use herald_fakes::{FakeFeishu, FakeSmtp, FakeWecom, FeishuConfig, SmtpSinkConfig, WecomConfig};
use secrecy::SecretString;
use std::net::SocketAddr;

pub const CORP_ID: &str = "sandbox";
pub const CORP_SECRET: &str = "sandbox-corp-secret";
pub const AGENT_ID: i64 = 1_000_002;
pub const APP_ID: &str = "cli_sandbox";
pub const APP_SECRET: &str = "sandbox-app-secret";
pub const SMTP_USER: &str = "sandbox@herald.local";
pub const SMTP_PASSWORD: &str = "sandbox-auth-code";
pub const DINGTALK_APP_KEY: &str = "dingsandbox";
pub const DINGTALK_APP_SECRET: &str = "sandbox-dingtalk-secret";
pub const DINGTALK_AGENT_ID: i64 = 3_000_001;

/// Whether the stored settings name a real channel (then the sandbox stays off by default).
pub fn has_real_channel(record: &SettingsRecord) -> bool {
    record.wecom.as_ref().is_some_and(|w| w.corp_id != CORP_ID)
        || record.feishu.as_ref().is_some_and(|f| f.app_id != APP_ID)
        || record
            .dingtalk
            .as_ref()
            .is_some_and(|d| d.app_key != DINGTALK_APP_KEY)
        || record
            .smtp
            .as_ref()
            .is_some_and(|s| s.username != SMTP_USER)
}

#[derive(Clone)]
pub struct Sandbox {
    pub wecom: FakeWecom,
    pub feishu: FakeFeishu,
    pub dingtalk: herald_fakes::FakeDingtalk,
    pub smtp: FakeSmtp,
    pub smtp_addr: SocketAddr,
}

impl Sandbox {
    /// Starts the fakes; the SMTP sink listens on its own loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let wecom =
            FakeWecom::new(WecomConfig::new(CORP_ID, CORP_SECRET, AGENT_ID).open_directory());
        let feishu = FakeFeishu::new(FeishuConfig::new(APP_ID, APP_SECRET).open_directory());
        let dingtalk = herald_fakes::FakeDingtalk::new(herald_fakes::DingtalkConfig {
            app_key: DINGTALK_APP_KEY.into(),
            app_secret: DINGTALK_APP_SECRET.into(),
            agent_id: DINGTALK_AGENT_ID,
            ..herald_fakes::DingtalkConfig::default().open_directory()
        });
        let smtp = FakeSmtp::new(SmtpSinkConfig {
            username: SMTP_USER.into(),
            password: SMTP_PASSWORD.into(),
        });
        let (smtp_addr, _server) = herald_fakes::serve_smtp(smtp.clone()).await?;
        Ok(Self {
            wecom,
            feishu,
            dingtalk,
            smtp,
            smtp_addr,
        })
    }

    /// The provider base URLs (WeCom, Feishu, DingTalk) for a server listening on `addr`.
    pub fn base_urls(addr: SocketAddr) -> (String, String, String) {
        (
            format!("http://{addr}/sandbox/wecom"),
            format!("http://{addr}/sandbox/feishu"),
            format!("http://{addr}/sandbox/dingtalk"),
        )
    }

    /// The fakes' APIs (herald-local calls them at its own address) and the inbox. When the
    /// server listens beyond loopback, the inbox (every message sent) needs the admin key.
    pub fn router(&self, inbox: InboxGuard) -> Router {
        let messages = self.inbox();
        Router::new()
            .nest(
                "/sandbox/wecom",
                herald_fakes::wecom_router(self.wecom.clone()),
            )
            .nest(
                "/sandbox/feishu",
                herald_fakes::feishu_router(self.feishu.clone()),
            )
            .nest(
                "/sandbox/dingtalk",
                herald_fakes::dingtalk_router(self.dingtalk.clone()),
            )
            .nest(
                "/sandbox/smtp",
                herald_fakes::smtp_inspection_router(self.smtp.clone()),
            )
            .route(
                "/sandbox/messages",
                get(move || {
                    let body = (messages.0)();
                    async move { Json(body) }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(inbox, guard_inbox))
    }

    /// What the fakes caught, for the console's inbox page (as `/sandbox/messages` answers).
    pub fn inbox(&self) -> herald_console::SandboxInbox {
        let (wecom, feishu, smtp) = (self.wecom.clone(), self.feishu.clone(), self.smtp.clone());
        let dingtalk = self.dingtalk.clone();
        herald_console::SandboxInbox(std::sync::Arc::new(move || {
            serde_json::json!({
                "wecom": wecom.messages(),
                "feishu": feishu.messages(),
                "dingtalk": dingtalk.messages(),
                "email": smtp.messages(),
            })
        }))
    }

    /// Points every channel that has no real settings at the sandbox.
    pub async fn configure_channels(&self, settings: &SettingsService) -> Result<(), ServiceError> {
        let admin = Principal::Admin;
        let view = settings.view(&admin).await?;
        if view.wecom.is_none_or(|w| w.settings.corp_id == CORP_ID) {
            let wecom = WecomSettings {
                enabled: true,
                corp_id: CORP_ID.into(),
                agent_id: AGENT_ID,
                encrypted: false,
                proxy: None,
            };
            settings
                .put_wecom(
                    &admin,
                    wecom,
                    Some(SecretString::from(CORP_SECRET)),
                    herald_core::services::settings::SecretChange::Keep,
                )
                .await?;
        }
        if view.feishu.is_none_or(|f| f.settings.app_id == APP_ID) {
            let feishu = FeishuSettings {
                enabled: true,
                app_id: APP_ID.into(),
            };
            settings
                .put_feishu(&admin, feishu, Some(SecretString::from(APP_SECRET)))
                .await?;
        }
        if view
            .dingtalk
            .is_none_or(|d| d.settings.app_key == DINGTALK_APP_KEY)
        {
            let dingtalk = herald_core::domain::channels::DingtalkSettings {
                enabled: true,
                app_key: DINGTALK_APP_KEY.into(),
                agent_id: DINGTALK_AGENT_ID,
            };
            settings
                .put_dingtalk(
                    &admin,
                    dingtalk,
                    Some(SecretString::from(DINGTALK_APP_SECRET)),
                )
                .await?;
        }
        if view.smtp.is_none_or(|s| s.settings.username == SMTP_USER) {
            let smtp = SmtpSettings {
                enabled: true,
                host: self.smtp_addr.ip().to_string(),
                port: self.smtp_addr.port(),
                security: SmtpSecurity::None,
                username: SMTP_USER.into(),
                from: EmailAddress::parse("herald@herald.local").map_err(|m| {
                    ServiceError::FailedPrecondition {
                        field: None,
                        message: m,
                    }
                })?,
            };
            settings
                .put_smtp(&admin, smtp, Some(SecretString::from(SMTP_PASSWORD)))
                .await?;
        }
        Ok(())
    }
}

/// Who may read the sandbox's inbox (`/sandbox/messages` and the fakes' `/_fake/` pages).
#[derive(Clone)]
pub struct InboxGuard {
    /// The server listens on loopback only: whoever reaches it is on this machine.
    pub loopback: bool,
    /// The address the server is bound to (a `Host` naming it is this server).
    pub addr: std::net::SocketAddr,
    pub admin: herald_core::domain::auth::KeyHash,
}

/// Whether `Host` names this server: a loopback name or address, or the bound address. A page the
/// developer visits may rebind its own name to 127.0.0.1 (DNS rebinding); its requests then carry
/// that name, never one of these.
fn names_this_server(host: &str, addr: std::net::SocketAddr) -> bool {
    let name = match host.rsplit_once(':') {
        // `[::1]:8080`, `127.0.0.1:8080`, `localhost:8080`; a bare `::1` is not a valid Host.
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback() || ip == addr.ip())
}

fn is_inbox(path: &str) -> bool {
    path == "/sandbox/messages" || path.contains("/_fake/")
}

async fn guard_inbox(
    axum::extract::State(inbox): axum::extract::State<InboxGuard>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !is_inbox(request.uri().path()) {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    // On loopback anyone on this machine may read the inbox, but only under this server's own
    // names; beyond loopback the admin key is asked for, which a rebound page cannot send.
    if inbox.loopback && !names_this_server(host, inbox.addr) {
        return (
            axum::http::StatusCode::FORBIDDEN,
            Json(serde_json::json!({"error": {
                "code": "permission_denied",
                "message": "the sandbox inbox answers only requests addressed to this server (Host: localhost, a loopback address or the address it listens on)",
            }})),
        )
            .into_response();
    }
    if inbox.loopback {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token) if inbox.admin.matches(token) => next.run(request).await,
        _ => (
            axum::http::StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": {
                "code": "unauthenticated",
                "message": "the sandbox inbox holds every message sent: on an address beyond loopback it needs the admin key (Authorization: Bearer <key>)",
            }})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_names_of_this_server_reach_the_inbox() {
        let addr: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        for host in [
            "localhost:8080",
            "LOCALHOST",
            "127.0.0.1:8080",
            "127.0.0.2",
            "[::1]:8080",
        ] {
            assert!(super::names_this_server(host, addr), "{host}");
        }
        for host in [
            "evil.example:8080",
            "evil.example",
            "",
            "localhost.evil.example:8080",
            "10.0.0.1:8080",
        ] {
            assert!(!super::names_this_server(host, addr), "{host}");
        }
        let lan: std::net::SocketAddr = "192.0.2.7:8080".parse().unwrap();
        assert!(super::names_this_server("192.0.2.7:8080", lan));
    }
}
