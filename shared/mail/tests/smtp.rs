//! SmtpSender against a real SMTP server (aiosmtpd, tests/smtp/server.py).
mod support;

use herald_core::domain::channels::SmtpSecurity;
use herald_core::domain::message::EmailMessage;
use herald_core::domain::recipients::EmailAddress;
use herald_core::ports::SendFailure;
use herald_mail::SmtpSender;
use std::time::Duration;
use support::{PASSWORD, SmtpServer, USER};

fn mail(to: &str, html: bool) -> EmailMessage {
    EmailMessage {
        to: EmailAddress::parse(to).expect("a valid address"),
        subject: "日报 – daily report".to_owned(),
        text: "你好, the report is ready.".to_owned(),
        html: html.then(|| "<p>你好, the <b>report</b> is ready.</p>".to_owned()),
    }
}

fn sender(server: &SmtpServer) -> SmtpSender {
    SmtpSender::with_root_certificates(&server.ca_pem).expect("the test CA parses")
}

async fn delivers_over(security: SmtpSecurity, listener: &str) {
    let server = SmtpServer::start();
    let sender = sender(&server);
    let creds = server.credentials(security, PASSWORD);
    let receipt = sender
        .send(&creds, &mail("reader@example.com", true), "delivery-42.1")
        .await
        .expect("the mail is accepted");
    assert!(receipt.answer.starts_with("250 "), "{}", receipt.answer);
    assert_eq!(receipt.message_ids[0], "<delivery-42.1@example.com>");

    let got = server.received(listener);
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert!(
        receipt
            .answer
            .ends_with(&format!("queued as {}", receipt.message_ids[1]))
    );
    assert_eq!(m["mail_from"], USER);
    assert_eq!(m["rcpt_tos"], serde_json::json!(["reader@example.com"]));
    assert_eq!(m["from"], USER);
    assert_eq!(m["to"], "reader@example.com");
    assert_eq!(m["subject"], "日报 – daily report");
    assert_eq!(m["message_id"], "<delivery-42.1@example.com>");
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(
        m["text"].as_str().map(str::trim_end),
        Some("你好, the report is ready.")
    );
    assert_eq!(
        m["html"].as_str().map(str::trim_end),
        Some("<p>你好, the <b>report</b> is ready.</p>")
    );
}

#[tokio::test]
async fn delivers_without_tls() {
    delivers_over(SmtpSecurity::None, "plain").await;
}

#[tokio::test]
async fn delivers_over_starttls() {
    delivers_over(SmtpSecurity::Starttls, "starttls").await;
}

#[tokio::test]
async fn delivers_over_implicit_tls() {
    delivers_over(SmtpSecurity::Tls, "tls").await;
}

#[tokio::test]
async fn plain_text_mail_has_one_part_and_a_retry_keeps_its_message_id() {
    let server = SmtpServer::start();
    let sender = sender(&server);
    let creds = server.credentials(SmtpSecurity::Starttls, PASSWORD);
    for _ in 0..2 {
        sender
            .send(
                &creds,
                &mail("reader@example.com", false),
                "run 7 / chart <3>",
            )
            .await
            .expect("accepted");
    }
    let got = server.received("starttls");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["content_type"], "text/plain");
    assert!(got[0]["html"].is_null());
    assert_eq!(got[0]["message_id"], got[1]["message_id"]);
    let id = got[0]["message_id"].as_str().unwrap_or_default();
    assert!(
        id.starts_with('<') && id.ends_with("@example.com>") && !id.contains(' '),
        "{id}"
    );
}

#[tokio::test]
async fn wrong_password_is_a_config_error_with_a_hint_and_no_secret() {
    let server = SmtpServer::start();
    let sender = sender(&server);
    let secret = "web-password-Secret-987";
    for security in [
        SmtpSecurity::None,
        SmtpSecurity::Starttls,
        SmtpSecurity::Tls,
    ] {
        let creds = server.credentials(security, secret);
        let err = sender
            .send(&creds, &mail("reader@example.com", true), "k1")
            .await
            .expect_err("535");
        assert_eq!(err.failure, SendFailure::Config, "{err:?}");
        assert_eq!(err.code, Some(535));
        assert!(
            err.hint.as_deref().is_some_and(|h| h.contains("授权码")),
            "{err:?}"
        );
        for shown in [format!("{err}"), format!("{err:?}")] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let err = sender.test_connection(&creds).await.expect_err("535");
        assert_eq!(
            (err.failure.clone(), err.code),
            (SendFailure::Config, Some(535))
        );
    }
    assert!(server.received("plain").is_empty());
}

#[tokio::test]
async fn changed_credentials_get_a_new_transport() {
    let server = SmtpServer::start();
    let sender = sender(&server);
    let good = server.credentials(SmtpSecurity::Tls, PASSWORD);
    sender
        .test_connection(&good)
        .await
        .expect("the right code logs in");
    // A pooled, logged-in connection exists now; a changed password must not reuse it.
    let bad = server.credentials(SmtpSecurity::Tls, "a-changed-code");
    let err = sender
        .send(&bad, &mail("reader@example.com", true), "k")
        .await
        .expect_err("535");
    assert_eq!(err.code, Some(535));
    sender
        .send(&good, &mail("reader@example.com", true), "k")
        .await
        .expect("accepted");
    assert_eq!(server.received("tls").len(), 1);
}

#[tokio::test]
async fn reply_codes_are_classified() {
    let server = SmtpServer::start();
    let sender = sender(&server);
    let creds = server.credentials(SmtpSecurity::Starttls, PASSWORD);
    let cases = [
        ("fail451@example.com", SendFailure::Transient, 451),
        ("fail421@example.com", SendFailure::Transient, 421),
        ("reject550@example.com", SendFailure::Recipient, 550),
        ("spam@example.com", SendFailure::Payload, 554),
        ("big552@example.com", SendFailure::Payload, 552),
    ];
    for (to, failure, code) in cases {
        let err = sender
            .send(&creds, &mail(to, true), "k")
            .await
            .expect_err(to);
        assert_eq!(
            (err.failure.clone(), err.code),
            (failure, Some(code)),
            "{to}: {err:?}"
        );
        assert!(err.message.contains(&code.to_string()), "{err:?}");
    }
    // The sender recovers: the next mail goes through.
    sender
        .send(&creds, &mail("reader@example.com", true), "k")
        .await
        .expect("accepted");
    assert_eq!(server.received("starttls").len(), 1);
}

#[tokio::test]
async fn nothing_listening_is_transient() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let creds = support::credentials(SmtpSecurity::None, port, PASSWORD);
    let err = SmtpSender::new()
        .send(&creds, &mail("reader@example.com", true), "k")
        .await
        .expect_err("refused");
    assert_eq!(
        (err.failure.clone(), err.code),
        (SendFailure::Transient, None),
        "{err:?}"
    );
}

#[tokio::test]
async fn untrusted_certificate_is_a_config_error_naming_security_and_port() {
    let server = SmtpServer::start();
    let creds = server.credentials(SmtpSecurity::Tls, PASSWORD);
    let err = SmtpSender::new() // webpki roots only: the test CA is unknown
        .send(&creds, &mail("reader@example.com", true), "k")
        .await
        .expect_err("untrusted");
    assert_eq!(err.failure, SendFailure::Config, "{err:?}");
    let hint = err.hint.unwrap_or_default();
    assert!(
        hint.contains("`tls`") && hint.contains(&server.tls.to_string()),
        "{hint}"
    );
    assert!(server.received("tls").is_empty());
}

#[tokio::test]
async fn tls_against_a_plain_port_is_a_config_error() {
    let server = SmtpServer::start();
    let creds = support::credentials(SmtpSecurity::Tls, server.plain, PASSWORD);
    let err = sender(&server)
        .send(&creds, &mail("reader@example.com", true), "k")
        .await
        .expect_err("mismatch");
    assert_eq!(err.failure, SendFailure::Config, "{err:?}");
    assert!(
        err.hint
            .unwrap_or_default()
            .contains(&server.plain.to_string())
    );
}

#[tokio::test]
async fn starttls_against_an_implicit_tls_port_hits_the_deadline() {
    let server = SmtpServer::start();
    let sender = sender(&server).with_timeouts(Duration::from_secs(2), Duration::from_secs(2));
    let creds = support::credentials(SmtpSecurity::Starttls, server.tls, PASSWORD);
    let err = sender
        .send(&creds, &mail("reader@example.com", true), "k")
        .await
        .expect_err("no greeting");
    assert_eq!(err.failure, SendFailure::Transient, "{err:?}");
    assert!(err.hint.unwrap_or_default().contains("`starttls`"));
    // The sender still works for the right settings afterwards.
    let good = server.credentials(SmtpSecurity::Tls, PASSWORD);
    sender
        .send(&good, &mail("reader@example.com", true), "k")
        .await
        .expect("accepted");
}

#[tokio::test]
async fn twenty_mails_share_a_pooled_connection() {
    let server = SmtpServer::start();
    let sender = sender(&server);
    let creds = server.credentials(SmtpSecurity::Starttls, PASSWORD);
    sender.test_connection(&creds).await.expect("connects");
    for i in 0..20 {
        let to = format!("reader{i}@example.com");
        sender
            .send(&creds, &mail(&to, true), &format!("batch-{i}"))
            .await
            .expect("accepted");
    }
    let got = server.received("starttls");
    assert_eq!(got.len(), 20);
    let connections = server.connections("starttls");
    assert!(
        (1..20).contains(&connections),
        "{connections} connections for 20 mails"
    );
}
