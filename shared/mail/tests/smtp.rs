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
        images: Vec::new(),
        attachments: Vec::new(),
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

#[tokio::test]
async fn two_hundred_mails_with_sixteen_in_flight_use_at_most_sixteen_connections() {
    use futures::StreamExt;

    const MAILS: usize = 200;
    const IN_FLIGHT: usize = 16;
    let server = SmtpServer::start();
    let sender = sender(&server);
    let creds = server.credentials(SmtpSecurity::None, PASSWORD);
    let started = std::time::Instant::now();
    let results: Vec<_> = futures::stream::iter(0..MAILS)
        .map(|i| {
            let sender = &sender;
            let creds = &creds;
            async move {
                let to = format!("reader{i}@example.com");
                sender
                    .send(creds, &mail(&to, true), &format!("burst-{i}"))
                    .await
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    println!(
        "{MAILS} mails, {IN_FLIGHT} in flight: {:.0} mails/s ({:.1} ms each on average)",
        MAILS as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / MAILS as f64
    );
    assert_eq!(server.received("plain").len(), MAILS);
    let connections = server.connections("plain");
    assert!(
        (1..=16).contains(&connections),
        "{connections} connections for {MAILS} mails with {IN_FLIGHT} in flight"
    );
}

/// A minimal SMTP server on 127.0.0.1 that accepts one message per connection and then closes it,
/// as a server does with a connection it considers idle. Counts connections and messages.
fn one_mail_per_connection_server() -> (
    u16,
    std::sync::Arc<std::sync::atomic::AtomicU32>,
    std::sync::Arc<std::sync::atomic::AtomicU32>,
) {
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let connections = Arc::new(AtomicU32::new(0));
    let messages = Arc::new(AtomicU32::new(0));
    let (c, m) = (connections.clone(), messages.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut write) = stream else { return };
            c.fetch_add(1, Ordering::SeqCst);
            let m = m.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                let Ok(read) = write.try_clone() else { return };
                let _ = write.write_all(b"220 fake ESMTP\r\n");
                let mut in_data = false;
                for line in std::io::BufReader::new(read).lines() {
                    let Ok(line) = line else { return };
                    let reply: &[u8] = if in_data {
                        if line != "." {
                            continue;
                        }
                        m.fetch_add(1, Ordering::SeqCst);
                        let _ = write.write_all(b"250 2.0.0 Ok: queued as F1\r\n");
                        return; // closes the connection after one message
                    } else {
                        match line
                            .get(..4)
                            .unwrap_or_default()
                            .to_ascii_uppercase()
                            .as_str()
                        {
                            "EHLO" => b"250-fake\r\n250-8BITMIME\r\n250 AUTH PLAIN LOGIN\r\n",
                            "AUTH" => b"235 2.7.0 Authentication successful\r\n",
                            "DATA" => {
                                in_data = true;
                                b"354 go ahead\r\n"
                            }
                            "QUIT" => b"221 bye\r\n",
                            _ => b"250 ok\r\n",
                        }
                    };
                    let _ = write.write_all(reply);
                }
            });
        }
    });
    (port, connections, messages)
}

#[tokio::test]
async fn a_pooled_connection_the_server_closed_is_replaced_once() {
    use std::sync::atomic::Ordering;

    let (port, connections, messages) = one_mail_per_connection_server();
    let creds = support::credentials(SmtpSecurity::None, port, PASSWORD);
    let sender = SmtpSender::new();
    for i in 0..3 {
        sender
            .send(&creds, &mail("reader@example.com", false), &format!("k{i}"))
            .await
            .expect("accepted over a fresh connection after the pooled one failed");
        // Let the server's close reach the pooled connection.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(messages.load(Ordering::SeqCst), 3);
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}
