//! The SMTP sink over real TCP on loopback: raw protocol details, then lettre end to end.
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use herald_fakes::{
    FakeSmtp, SMTP_MAX_MESSAGE_SIZE, SmtpSinkConfig, serve, serve_smtp, smtp_inspection_router,
};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const USER: &str = "mailer@x.com";
const PASS: &str = "s3cret";
const WAIT: Duration = Duration::from_secs(10);

fn config() -> SmtpSinkConfig {
    SmtpSinkConfig {
        username: USER.to_owned(),
        password: PASS.to_owned(),
    }
}

async fn sink() -> (FakeSmtp, SocketAddr) {
    let sink = FakeSmtp::new(config());
    let (addr, _server) = serve_smtp(sink.clone()).await.expect("serve smtp");
    (sink, addr)
}

fn plain(user: &str, pass: &str) -> String {
    STANDARD.encode(format!("\0{user}\0{pass}"))
}

struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Client {
    /// Connects and checks the greeting.
    async fn connect(addr: SocketAddr) -> Self {
        let (read, writer) = TcpStream::connect(addr)
            .await
            .expect("connect")
            .into_split();
        let mut client = Self {
            reader: BufReader::new(read),
            writer,
        };
        assert_eq!(
            client.reply().await,
            (220, vec!["herald-sandbox ESMTP".to_owned()])
        );
        client
    }

    /// Connects, says EHLO and authenticates with AUTH PLAIN.
    async fn authed(addr: SocketAddr) -> Self {
        let mut client = Self::connect(addr).await;
        client.expect("EHLO client.test", 250).await;
        client
            .expect(&format!("AUTH PLAIN {}", plain(USER, PASS)), 235)
            .await;
        client
    }

    /// Reads one (possibly multi-line) reply: its code and the text of each line.
    async fn reply(&mut self) -> (u16, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(WAIT, self.reader.read_line(&mut line))
                .await
                .expect("reply in time")
                .expect("read reply");
            assert!(n > 0, "connection closed while waiting for a reply");
            assert!(line.ends_with("\r\n"), "{line:?}");
            let code = line[..3].parse().expect("reply code");
            lines.push(line[4..line.len() - 2].to_owned());
            if line.as_bytes()[3] == b' ' {
                return (code, lines);
            }
            assert_eq!(line.as_bytes()[3], b'-', "{line:?}");
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
    }

    /// Sends a command line and returns the reply code and its last line.
    async fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(format!("{line}\r\n").as_bytes()).await;
        let (code, mut lines) = self.reply().await;
        (code, lines.pop().unwrap_or_default())
    }

    async fn expect(&mut self, line: &str, code: u16) -> String {
        let (got, text) = self.cmd(line).await;
        assert_eq!(got, code, "{line} -> {got} {text}");
        text
    }

    /// Runs one MAIL/RCPT/DATA transaction; returns the final reply text.
    async fn mail(&mut self, from: &str, to: &[&str], body: &str) -> String {
        self.expect(&format!("MAIL FROM:<{from}>"), 250).await;
        for rcpt in to {
            self.expect(&format!("RCPT TO:<{rcpt}>"), 250).await;
        }
        self.expect("DATA", 354).await;
        self.send(body.as_bytes()).await;
        self.send(b".\r\n").await;
        let (code, mut lines) = self.reply().await;
        assert_eq!(code, 250, "{lines:?}");
        lines.pop().unwrap_or_default()
    }

    /// True when the server closed the connection.
    async fn closed(&mut self) -> bool {
        let mut rest = String::new();
        let n = tokio::time::timeout(WAIT, self.reader.read_line(&mut rest))
            .await
            .expect("close in time")
            .expect("read");
        n == 0
    }
}

#[tokio::test]
async fn ehlo_advertises_auth_and_extensions() {
    let (_sink, addr) = sink().await;
    let mut client = Client::connect(addr).await;
    client.send(b"EHLO client.test\r\n").await;
    let (code, lines) = client.reply().await;
    assert_eq!(code, 250);
    assert_eq!(lines[0], "herald-sandbox greets client.test");
    for ext in ["AUTH PLAIN LOGIN", "8BITMIME", "SMTPUTF8", "SIZE 10485760"] {
        assert!(lines.iter().any(|l| l == ext), "{ext} missing: {lines:?}");
    }
    client.expect("HELO client.test", 250).await;
    client.expect("EHLO", 501).await;
    client.expect("NOOP", 250).await;
    assert_eq!(client.cmd("QUIT").await, (221, "2.0.0 Bye".to_owned()));
    assert!(client.closed().await);
}

#[tokio::test]
async fn auth_plain_checks_credentials() {
    let (_sink, addr) = sink().await;
    let mut client = Client::connect(addr).await;
    client
        .expect(&format!("AUTH PLAIN {}", plain(USER, PASS)), 503)
        .await;
    client.expect("EHLO client.test", 250).await;
    let text = client
        .expect(&format!("AUTH PLAIN {}", plain(USER, "wrong")), 535)
        .await;
    assert_eq!(text, "5.7.8 Authentication credentials invalid");
    client
        .expect(&format!("AUTH PLAIN {}", plain("other", PASS)), 535)
        .await;
    client.expect("AUTH PLAIN not-base64!", 501).await;
    client.expect("AUTH CRAM-MD5", 504).await;
    // No initial response: the credentials come on the continuation line.
    assert_eq!(client.cmd("AUTH PLAIN").await, (334, String::new()));
    client.expect(&plain(USER, PASS), 235).await;
    client
        .expect(&format!("AUTH PLAIN {}", plain(USER, PASS)), 503)
        .await;
}

#[tokio::test]
async fn auth_plain_continuation_can_be_cancelled() {
    let (_sink, addr) = sink().await;
    let mut client = Client::connect(addr).await;
    client.expect("EHLO client.test", 250).await;
    client.expect("AUTH PLAIN", 334).await;
    client.expect("*", 501).await;
    client.expect("MAIL FROM:<a@x.com>", 530).await;
}

#[tokio::test]
async fn auth_login_asks_username_then_password() {
    let (sink, addr) = sink().await;
    let mut client = Client::connect(addr).await;
    client.expect("EHLO client.test", 250).await;
    let challenge = client.expect("AUTH LOGIN", 334).await;
    assert_eq!(STANDARD.decode(challenge).expect("b64"), b"Username:");
    let challenge = client.expect(&STANDARD.encode(USER), 334).await;
    assert_eq!(STANDARD.decode(challenge).expect("b64"), b"Password:");
    client.expect(&STANDARD.encode("nope"), 535).await;
    // With the user name as initial response.
    let challenge = client
        .expect(&format!("AUTH LOGIN {}", STANDARD.encode(USER)), 334)
        .await;
    assert_eq!(STANDARD.decode(challenge).expect("b64"), b"Password:");
    client.expect(&STANDARD.encode(PASS), 235).await;
    client
        .mail("a@x.com", &["b@y.com"], "Subject: hi\r\n\r\nbody\r\n")
        .await;
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn commands_out_of_order_are_refused() {
    let (sink, addr) = sink().await;
    let mut client = Client::connect(addr).await;
    client.expect("MAIL FROM:<a@x.com>", 503).await;
    client.expect("EHLO client.test", 250).await;
    let text = client.expect("MAIL FROM:<a@x.com>", 530).await;
    assert_eq!(text, "5.7.0 Authentication required");
    client
        .expect(&format!("AUTH PLAIN {}", plain(USER, PASS)), 235)
        .await;
    client.expect("RCPT TO:<b@y.com>", 503).await;
    client.expect("DATA", 503).await;
    client.expect("MAIL FROM a@x.com", 501).await;
    client.expect("MAIL FROM:<a@x.com> FOO=1", 555).await;
    client
        .expect("MAIL FROM:<a@x.com> BODY=8BITMIME", 250)
        .await;
    client.expect("MAIL FROM:<a@x.com>", 503).await;
    client.expect("DATA", 503).await;
    client.expect("RCPT TO:<>", 501).await;
    client.expect("RSET", 250).await;
    client.expect("RCPT TO:<b@y.com>", 503).await;
    client.expect("XYZZY", 500).await;
    client.expect("VRFY b@y.com", 502).await;
    client.expect("STARTTLS", 502).await;
    let long = format!("NOOP {}", "x".repeat(20_000));
    assert_eq!(
        client.cmd(&long).await,
        (500, "5.5.2 Line too long".to_owned())
    );
    client.expect("NOOP", 250).await;
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn two_messages_on_one_connection() {
    let (sink, addr) = sink().await;
    let mut client = Client::authed(addr).await;
    let first = client
        .mail(
            "a@x.com",
            &["b@y.com", "c@z.com"],
            "From: a@x.com\r\nSubject: =?UTF-8?B?5L2g5aW9?= there\r\n\r\nfirst\r\n",
        )
        .await;
    let second = client
        .mail("", &["d@y.com"], "Subject: second\r\n\r\nsecond\r\n")
        .await;
    client.expect("QUIT", 221).await;
    assert!(client.closed().await);

    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(sink.connections(), 1);
    let (a, b) = (&messages[0], &messages[1]);
    assert_eq!((a.seq, b.seq), (1, 2));
    assert_eq!(a.from, "a@x.com");
    assert_eq!(a.to, ["b@y.com", "c@z.com"]);
    assert_eq!(a.subject.as_deref(), Some("你好 there"));
    assert_eq!(
        a.data,
        "From: a@x.com\r\nSubject: =?UTF-8?B?5L2g5aW9?= there\r\n\r\nfirst\r\n"
    );
    assert_eq!(first, format!("2.0.0 OK queued as {}", a.queue_id));
    assert_eq!(second, format!("2.0.0 OK queued as {}", b.queue_id));
    assert_ne!(a.queue_id, b.queue_id);
    assert_eq!(b.from, "");
    assert_eq!(b.to, ["d@y.com"]);
    assert_eq!(b.subject.as_deref(), Some("second"));
    assert!(a.at <= b.at);

    sink.reset_records();
    assert!(sink.messages().is_empty());
    assert_eq!(sink.connections(), 0);
}

#[tokio::test]
async fn data_is_dot_unstuffed_until_the_lone_dot() {
    let (sink, addr) = sink().await;
    let mut client = Client::authed(addr).await;
    let body = "Subject: dots\r\n\r\n..leading dot\r\n...\r\n.. \r\nend.\r\n";
    client.mail("a@x.com", &["b@y.com"], body).await;
    let data = &sink.messages()[0].data;
    assert_eq!(
        data,
        "Subject: dots\r\n\r\n.leading dot\r\n..\r\n. \r\nend.\r\n"
    );
}

#[tokio::test]
async fn oversized_messages_get_552() {
    let (sink, addr) = sink().await;
    let mut client = Client::authed(addr).await;
    let too_big = format!("MAIL FROM:<a@x.com> SIZE={}", SMTP_MAX_MESSAGE_SIZE + 1);
    client.expect(&too_big, 552).await;
    client.expect("MAIL FROM:<a@x.com> SIZE=100", 250).await;
    client.expect("RCPT TO:<b@y.com>", 250).await;
    client.expect("DATA", 354).await;
    let line = format!("{}\r\n", "x".repeat(998));
    let chunk = line.repeat(1024); // ~1 MB
    for _ in 0..11 {
        client.send(chunk.as_bytes()).await;
    }
    client.send(b".\r\n").await;
    let (code, lines) = client.reply().await;
    assert_eq!(code, 552, "{lines:?}");
    // The connection is still usable and the transaction was reset.
    client.expect("RCPT TO:<b@y.com>", 503).await;
    client
        .mail("a@x.com", &["b@y.com"], "Subject: ok\r\n\r\nsmall\r\n")
        .await;
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn idle_connections_are_closed_with_421() {
    let sink = FakeSmtp::with_idle_timeout(config(), Duration::from_millis(200));
    let (addr, _server) = serve_smtp(sink.clone()).await.expect("serve smtp");
    let mut client = Client::connect(addr).await;
    client.expect("EHLO client.test", 250).await;
    let (code, lines) = client.reply().await;
    assert_eq!(code, 421, "{lines:?}");
    assert!(client.closed().await);
}

#[tokio::test]
async fn stopping_the_server_closes_open_connections() {
    let sink = FakeSmtp::new(config());
    let (addr, server) = serve_smtp(sink.clone()).await.expect("serve smtp");
    let mut client = Client::connect(addr).await;
    server.abort();
    assert!(client.closed().await);
}

#[tokio::test]
async fn inspection_router_lists_messages_newest_last() {
    let (sink, addr) = sink().await;
    let mut client = Client::authed(addr).await;
    client
        .mail("a@x.com", &["b@y.com"], "Subject: one\r\n\r\n1\r\n")
        .await;
    client
        .mail(
            "a@x.com",
            &["c@y.com"],
            "Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\n2\r\n",
        )
        .await;
    let (base, _http) = serve(smtp_inspection_router(sink.clone()))
        .await
        .expect("serve http");
    let resp = reqwest::get(format!("{base}/_fake/messages"))
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    let list = body.as_array().expect("array");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["subject"], "one");
    assert_eq!(list[1]["subject"], "café");
    assert_eq!(list[1]["from"], "a@x.com");
    assert_eq!(list[1]["to"], serde_json::json!(["c@y.com"]));
    assert_eq!(list[1]["queue_id"], sink.messages()[1].queue_id.as_str());
    assert_eq!(
        list[1]["data"],
        "Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\n2\r\n"
    );
    assert!(list[1]["at"].is_string());
    let stats: Value = reqwest::get(format!("{base}/_fake/stats"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(stats, serde_json::json!({"connections": 1, "messages": 2}));
}

#[test]
fn config_debug_hides_the_password() {
    let shown = format!("{:?}", config());
    assert!(shown.contains(USER), "{shown}");
    assert!(!shown.contains(PASS), "{shown}");
}

mod with_lettre {
    use super::*;
    use lettre::message::header::ContentType;
    use lettre::message::{Mailbox, MultiPart, SinglePart};
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    fn transport(addr: SocketAddr, pass: &str) -> AsyncSmtpTransport<Tokio1Executor> {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(addr.ip().to_string())
            .port(addr.port())
            .credentials(Credentials::new(USER.to_owned(), pass.to_owned()))
            .timeout(Some(WAIT))
            .build()
    }

    fn message(subject: &str) -> Message {
        let from: Mailbox = "Herald <mailer@x.com>".parse().expect("from");
        Message::builder()
            .from(from)
            .to("Alice <alice@y.com>".parse().expect("to"))
            .to("bob@z.com".parse().expect("to"))
            .subject(subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body("纯文本正文".to_owned()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body("<p>HTML 正文</p>".to_owned()),
                    ),
            )
            .expect("message")
    }

    #[tokio::test]
    async fn lettre_multipart_arrives_with_decoded_subject() {
        let (sink, addr) = sink().await;
        let mailer = transport(addr, PASS);
        let subject = "部署通知：服务 herald 已上线 — 请查收 ✅";
        let response = mailer.send(message(subject)).await.expect("send");
        assert!(response.is_positive());
        let reply = response.message().collect::<Vec<_>>().join(" ");
        // lettre hands the connection back to its pool from a spawned task: let it run.
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        mailer.send(message("second")).await.expect("send again");

        let messages = sink.messages();
        assert_eq!(messages.len(), 2);
        let mail = &messages[0];
        assert_eq!(reply, format!("2.0.0 OK queued as {}", mail.queue_id));
        assert_eq!(mail.subject.as_deref(), Some(subject));
        // lettre sent it RFC 2047 encoded (and folded).
        assert!(
            mail.data.contains("\r\nSubject: =?utf-8?b?"),
            "{}",
            mail.data
        );
        assert_eq!(mail.from, "mailer@x.com");
        assert_eq!(mail.to, ["alice@y.com", "bob@z.com"]);
        assert!(mail.data.contains("multipart/alternative"), "{}", mail.data);
        assert!(
            mail.data.contains("Content-Type: text/html"),
            "{}",
            mail.data
        );
        assert_eq!(messages[1].subject.as_deref(), Some("second"));
        // lettre pools connections: both messages went over one.
        assert_eq!(sink.connections(), 1);
    }

    #[tokio::test]
    async fn lettre_with_a_wrong_password_gets_535() {
        let (sink, addr) = sink().await;
        let err = transport(addr, "wrong")
            .send(message("nope"))
            .await
            .expect_err("must fail");
        assert!(err.is_permanent(), "{err}");
        assert!(
            err.to_string()
                .contains("5.7.8 Authentication credentials invalid"),
            "{err}"
        );
        assert!(sink.messages().is_empty());
    }
}
