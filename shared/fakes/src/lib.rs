//! herald-fakes: faithful fake WeCom (app + group robot), Feishu and DingTalk (work notices +
//! custom robots) servers, for Herald's tests
//! and the local sandbox. Wire formats and error codes follow `provider-apis.md` §1–§3 and §7.
//! [`FakeSmtp`] is a plain-SMTP sink for the mail channel (see [`serve_smtp`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use herald_fakes::{FakeWecom, WecomConfig, serve, wecom_router};
//! let wecom = FakeWecom::new(WecomConfig::default().with_users(["alice"]));
//! let (base_url, _server) = serve(wecom_router(wecom.clone())).await?;
//! // point the client at base_url, then inspect wecom.delivered(), wecom.stats(), ...
//! # Ok(()) }
//! ```
use std::sync::{Mutex, MutexGuard, PoisonError};

mod bi;
mod clock;
mod dingtalk;
mod dingtalk_notice;
mod dingtalk_robot;
mod faults;
mod feishu;
mod feishu_config;
mod feishu_content;
mod feishu_files;
mod feishu_send;
mod feishu_users;
mod inspect;
mod record;
mod reply;
mod robot;
mod smtp;
mod smtp_mime;
mod smtp_session;
mod uploads;
mod wecom;
mod wecom_send;
mod wecom_validate;

pub use bi::{
    FakeMetabase, FakeRedash, METABASE_CARD, REDASH_QUERY, metabase_router, redash_router,
};
pub use clock::FakeClock;
pub use dingtalk::{DingtalkConfig, DingtalkRobot, FakeDingtalk, SendResult, dingtalk_router};
pub use dingtalk_robot::dingtalk_sign;
pub use faults::{DEFAULT_FAULT_SEED, Fault, FaultRule, When};
pub use feishu::{FakeFeishu, FeishuConfig, FeishuUser, feishu_router};
pub use record::{AcceptedMessage, Call, Endpoint, Stats};
pub use smtp::{
    FakeSmtp, ReceivedMail, SMTP_HOSTNAME, SMTP_IDLE_TIMEOUT, SMTP_MAX_MESSAGE_SIZE,
    SmtpSinkConfig, serve_smtp, smtp_inspection_router,
};
pub use uploads::{Upload, WECOM_MEDIA_LIFETIME, picture_format};
pub use wecom::{FakeWecom, WecomApp, WecomConfig, wecom_router};

/// Binds 127.0.0.1 on a free port and serves `router` there.
/// Returns the base URL (`http://127.0.0.1:PORT`) and the server task (abort it to stop).
pub async fn serve(router: axum::Router) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::error!(%err, "fake provider server stopped");
        }
    });
    tracing::info!(%addr, "fake provider server listening");
    Ok((format!("http://{addr}"), handle))
}

/// Locks a mutex, recovering from poisoning (a panicking test must not break other calls).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
