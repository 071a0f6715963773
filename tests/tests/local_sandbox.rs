//! herald-local's sandbox inbox holds every message sent: on loopback anyone on the machine may
//! read it; listening beyond loopback, only with the admin key.
use herald_tests::local_server::HeraldLocal;
use reqwest::StatusCode;

const ADMIN_TOKEN: &str = "sandbox-inbox-admin-token-of-32-chars";

async fn inbox_status(base: &str, token: Option<&str>, path: &str) -> StatusCode {
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("answer").status()
}

#[tokio::test]
async fn beyond_loopback_the_inbox_needs_the_admin_key() {
    let herald = HeraldLocal::start("0.0.0.0", ADMIN_TOKEN, &[]).await;
    for path in [
        "/sandbox/messages",
        "/sandbox/smtp/_fake/messages",
        "/sandbox/wecom/_fake/messages",
    ] {
        assert_eq!(
            inbox_status(&herald.base, None, path).await,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            inbox_status(&herald.base, Some("guess"), path).await,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
        assert_eq!(
            inbox_status(&herald.base, Some(ADMIN_TOKEN), path).await,
            StatusCode::OK,
            "{path}"
        );
    }
    // The fakes' own APIs stay open: herald-local calls them at its own address.
    let token = reqwest::get(format!(
        "{}/sandbox/wecom/cgi-bin/gettoken?corpid=sandbox&corpsecret=sandbox-corp-secret",
        herald.base
    ))
    .await
    .expect("answer");
    assert_eq!(token.status(), StatusCode::OK);
}

#[tokio::test]
async fn on_loopback_the_inbox_is_open_to_this_machine() {
    let herald = HeraldLocal::start("127.0.0.1", ADMIN_TOKEN, &[]).await;
    assert_eq!(
        inbox_status(&herald.base, None, "/sandbox/messages").await,
        StatusCode::OK
    );
}

/// A page the developer visits can rebind its own name to 127.0.0.1: its requests carry that
/// name as Host, and the inbox does not answer them.
#[tokio::test]
async fn on_loopback_the_inbox_answers_only_its_own_names() {
    let herald = HeraldLocal::start("127.0.0.1", ADMIN_TOKEN, &[]).await;
    let port = herald.base.rsplit(':').next().expect("a port").to_owned();
    let with_host = |host: String, path: &'static str| {
        let base = herald.base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}{path}"))
                .header(reqwest::header::HOST, host)
                .send()
                .await
                .expect("answer")
                .status()
        }
    };
    for path in ["/sandbox/messages", "/sandbox/smtp/_fake/messages"] {
        assert_eq!(
            with_host(format!("rebound.evil.example:{port}"), path).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
        assert_eq!(
            with_host(format!("localhost:{port}"), path).await,
            StatusCode::OK,
            "{path}"
        );
    }
}
