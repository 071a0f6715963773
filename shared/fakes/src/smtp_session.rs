//! One SMTP connection of the fake sink: the RFC 5321 command loop, AUTH PLAIN / LOGIN
//! (RFC 4954) and DATA with dot-unstuffing. Lines are bounded and every read and write has the
//! sink's idle timeout, so a stuck client cannot hold a connection forever.
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::timeout;

use crate::smtp::{FakeSmtp, SMTP_HOSTNAME, SMTP_MAX_MESSAGE_SIZE};

/// Longest command line, CRLF included (RFC 4954 §4 raises RFC 5321's 512 to 12288 for AUTH).
const MAX_COMMAND_LINE: usize = 12_288;
const MAX_RECIPIENTS: usize = 100;
/// Failed commands tolerated on one connection before it is closed with 421.
const MAX_ERRORS: u32 = 20;

pub(crate) async fn run(sink: FakeSmtp, stream: TcpStream, peer: SocketAddr) {
    let (read, write) = stream.into_split();
    let mut session = Session {
        sink,
        reader: BufReader::new(read),
        writer: write,
        peer,
        greeted: false,
        user: None,
        from: None,
        to: Vec::new(),
        errors: 0,
    };
    tracing::debug!(%peer, "fake smtp: connection opened");
    match session.serve().await {
        Ok(()) => tracing::debug!(%peer, "fake smtp: connection closed"),
        Err(err) if err.kind() == io::ErrorKind::TimedOut => {
            tracing::info!(%peer, "fake smtp: idle timeout, closing connection");
            let _ = session
                .reply(421, "4.4.2 herald-sandbox Idle timeout, closing connection")
                .await;
        }
        Err(err) => tracing::debug!(%peer, %err, "fake smtp: connection dropped"),
    }
}

enum Line {
    /// The line without its line ending.
    Text(Vec<u8>),
    TooLong,
    Eof,
}

/// What the command loop does next.
enum Flow {
    Continue,
    Close,
}

struct Session {
    sink: FakeSmtp,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    peer: SocketAddr,
    greeted: bool,
    /// The authenticated user name.
    user: Option<String>,
    /// `MAIL FROM` of the current transaction.
    from: Option<String>,
    to: Vec<String>,
    errors: u32,
}

impl Session {
    async fn serve(&mut self) -> io::Result<()> {
        self.reply(220, &format!("{SMTP_HOSTNAME} ESMTP")).await?;
        loop {
            let flow = match self.read_line(MAX_COMMAND_LINE).await? {
                Line::Eof => return Ok(()),
                Line::TooLong => self.error(500, "5.5.2 Line too long").await?,
                Line::Text(line) => self.command(&String::from_utf8_lossy(&line)).await?,
            };
            if let Flow::Close = flow {
                return Ok(());
            }
        }
    }

    async fn command(&mut self, line: &str) -> io::Result<Flow> {
        let (verb, args) = line.split_once(' ').unwrap_or((line, ""));
        let verb = verb.to_ascii_uppercase();
        let args = args.trim();
        // Never log the arguments: AUTH lines carry credentials.
        tracing::debug!(peer = %self.peer, verb = %verb, "fake smtp: command");
        match verb.as_str() {
            "EHLO" | "HELO" => self.hello(&verb, args).await,
            "AUTH" => self.auth(args).await,
            "MAIL" => self.mail(args).await,
            "RCPT" => self.rcpt(args).await,
            "DATA" => self.data(args).await,
            "RSET" => {
                self.reset();
                self.ok(250, "2.0.0 OK").await
            }
            "NOOP" => self.ok(250, "2.0.0 OK").await,
            "QUIT" => {
                self.reply(221, "2.0.0 Bye").await?;
                Ok(Flow::Close)
            }
            "VRFY" | "EXPN" | "HELP" | "TURN" | "ETRN" | "STARTTLS" | "BDAT" => {
                self.error(502, "5.5.1 Command not implemented").await
            }
            _ => {
                self.error(500, "5.5.2 Syntax error, command unrecognized")
                    .await
            }
        }
    }

    async fn hello(&mut self, verb: &str, client: &str) -> io::Result<Flow> {
        if client.is_empty() {
            return self
                .error(501, &format!("5.5.4 Syntax: {verb} hostname"))
                .await;
        }
        self.reset();
        self.greeted = true;
        if verb == "HELO" {
            return self.ok(250, SMTP_HOSTNAME).await;
        }
        let text = format!(
            "250-{SMTP_HOSTNAME} greets {client}\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n\
             250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE {SMTP_MAX_MESSAGE_SIZE}\r\n"
        );
        self.write(text.as_bytes()).await?;
        self.errors = 0;
        Ok(Flow::Continue)
    }

    async fn auth(&mut self, args: &str) -> io::Result<Flow> {
        if !self.greeted {
            return self.error(503, "5.5.1 Error: send EHLO first").await;
        }
        if self.user.is_some() {
            return self.error(503, "5.5.1 Error: already authenticated").await;
        }
        if self.from.is_some() {
            return self
                .error(
                    503,
                    "5.5.1 Error: AUTH not allowed during a mail transaction",
                )
                .await;
        }
        let mut parts = args.split_whitespace();
        let mechanism = parts.next().unwrap_or_default().to_ascii_uppercase();
        let initial = parts.next();
        let (username, password) = match mechanism.as_str() {
            "" => {
                return self
                    .error(501, "5.5.4 Syntax: AUTH mechanism [initial-response]")
                    .await;
            }
            "PLAIN" => {
                let response = match self.response(initial, "").await? {
                    Ok(response) => response,
                    Err(flow) => return Ok(flow),
                };
                // authzid NUL authcid NUL passwd
                let mut fields = response.split(|b| *b == 0);
                match (fields.next(), fields.next(), fields.next(), fields.next()) {
                    (Some(_), Some(user), Some(pass), None) => (user.to_vec(), pass.to_vec()),
                    _ => return self.error(501, "5.5.2 Malformed AUTH PLAIN response").await,
                }
            }
            "LOGIN" => {
                let user = match self.response(initial, "VXNlcm5hbWU6").await? {
                    Ok(user) => user,
                    Err(flow) => return Ok(flow),
                };
                let pass = match self.response(None, "UGFzc3dvcmQ6").await? {
                    Ok(pass) => pass,
                    Err(flow) => return Ok(flow),
                };
                (user, pass)
            }
            _ => {
                return self
                    .error(504, "5.5.4 Unrecognized authentication type")
                    .await;
            }
        };
        let username = String::from_utf8_lossy(&username).into_owned();
        if self.sink.credentials_match(username.as_bytes(), &password) {
            tracing::info!(peer = %self.peer, %username, mechanism = %mechanism, "fake smtp: authenticated");
            self.user = Some(username);
            self.ok(235, "2.7.0 Authentication successful").await
        } else {
            tracing::warn!(peer = %self.peer, %username, mechanism = %mechanism, "fake smtp: authentication failed");
            self.error(535, "5.7.8 Authentication credentials invalid")
                .await
        }
    }

    /// One base64 AUTH response: `initial` if given, else asked for with `334 challenge`.
    /// `Err(flow)` when the exchange ended with an error already answered.
    async fn response(
        &mut self,
        initial: Option<&str>,
        challenge: &str,
    ) -> io::Result<Result<Vec<u8>, Flow>> {
        let line = match initial {
            Some(initial) => initial.to_owned(),
            None => {
                self.reply(334, challenge).await?;
                match self.read_line(MAX_COMMAND_LINE).await? {
                    Line::Text(line) => String::from_utf8_lossy(&line).trim().to_owned(),
                    Line::TooLong => {
                        let flow =
                            self.error(500, "5.5.6 Authentication exchange line is too long");
                        return Ok(Err(flow.await?));
                    }
                    Line::Eof => return Ok(Err(Flow::Close)),
                }
            }
        };
        if line == "*" {
            return Ok(Err(self
                .error(501, "5.0.0 Authentication cancelled")
                .await?));
        }
        // RFC 4954: a lone "=" is an empty initial response.
        let encoded = if line == "=" { "" } else { line.as_str() };
        match STANDARD.decode(encoded) {
            Ok(decoded) => Ok(Ok(decoded)),
            Err(_) => Ok(Err(self
                .error(501, "5.5.2 Cannot decode AUTH response")
                .await?)),
        }
    }

    async fn mail(&mut self, args: &str) -> io::Result<Flow> {
        if !self.greeted {
            return self.error(503, "5.5.1 Error: send HELO/EHLO first").await;
        }
        if self.user.is_none() {
            return self.error(530, "5.7.0 Authentication required").await;
        }
        if self.from.is_some() {
            return self.error(503, "5.5.1 Error: nested MAIL command").await;
        }
        let Some((from, params)) = path(args, "FROM:") else {
            return self.error(501, "5.5.4 Syntax: MAIL FROM:<address>").await;
        };
        for param in params.split_whitespace() {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key.to_ascii_uppercase().as_str() {
                "SIZE" => match value.parse::<usize>() {
                    Ok(size) if size > SMTP_MAX_MESSAGE_SIZE => {
                        return self
                            .error(552, "5.3.4 Message size exceeds fixed maximum message size")
                            .await;
                    }
                    Ok(_) => {}
                    Err(_) => return self.error(501, "5.5.4 Bad SIZE parameter").await,
                },
                "BODY" | "SMTPUTF8" | "AUTH" => {}
                _ => {
                    return self
                        .error(555, "5.5.4 MAIL FROM parameter not recognized")
                        .await;
                }
            }
        }
        self.from = Some(from.to_owned());
        self.ok(250, "2.1.0 OK").await
    }

    async fn rcpt(&mut self, args: &str) -> io::Result<Flow> {
        if self.from.is_none() {
            return self.error(503, "5.5.1 Error: need MAIL command").await;
        }
        let Some((to, params)) = path(args, "TO:").filter(|(to, _)| !to.is_empty()) else {
            return self.error(501, "5.5.4 Syntax: RCPT TO:<address>").await;
        };
        if !params.is_empty() {
            return self
                .error(555, "5.5.4 RCPT TO parameters not recognized")
                .await;
        }
        if self.to.len() >= MAX_RECIPIENTS {
            return self.error(452, "4.5.3 Too many recipients").await;
        }
        self.to.push(to.to_owned());
        self.ok(250, "2.1.5 OK").await
    }

    async fn data(&mut self, args: &str) -> io::Result<Flow> {
        if !args.is_empty() {
            return self.error(501, "5.5.4 Syntax: DATA").await;
        }
        if self.from.is_none() {
            return self.error(503, "5.5.1 Error: need MAIL command").await;
        }
        if self.to.is_empty() {
            return self.error(503, "5.5.1 Error: need RCPT command").await;
        }
        self.reply(354, "End data with <CR><LF>.<CR><LF>").await?;
        let mut data = Vec::new();
        let mut too_big = false;
        loop {
            let line = match self.read_line(SMTP_MAX_MESSAGE_SIZE + 2).await? {
                // The client left mid-message: nothing is delivered.
                Line::Eof => return Ok(Flow::Close),
                Line::TooLong => {
                    too_big = true;
                    continue;
                }
                Line::Text(line) => line,
            };
            if line == b"." {
                break;
            }
            let line = line.strip_prefix(b".").unwrap_or(&line);
            if too_big || data.len() + line.len() + 2 > SMTP_MAX_MESSAGE_SIZE {
                too_big = true;
                data = Vec::new();
                continue;
            }
            data.extend_from_slice(line);
            data.extend_from_slice(b"\r\n");
        }
        let from = self.from.take().unwrap_or_default();
        let to = std::mem::take(&mut self.to);
        if too_big {
            tracing::info!(peer = %self.peer, "fake smtp: message too big, rejected");
            return self
                .error(552, "5.3.4 Message size exceeds fixed maximum message size")
                .await;
        }
        let queue_id = self.sink.accept(from, to, &data);
        self.ok(250, &format!("2.0.0 OK queued as {queue_id}"))
            .await
    }

    fn reset(&mut self) {
        self.from = None;
        self.to.clear();
    }

    /// A success reply.
    async fn ok(&mut self, code: u16, text: &str) -> io::Result<Flow> {
        self.errors = 0;
        self.reply(code, text).await?;
        Ok(Flow::Continue)
    }

    /// An error reply; too many in a row close the connection.
    async fn error(&mut self, code: u16, text: &str) -> io::Result<Flow> {
        self.reply(code, text).await?;
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            tracing::info!(peer = %self.peer, "fake smtp: too many errors, closing connection");
            self.reply(
                421,
                "4.7.0 herald-sandbox Too many errors, closing connection",
            )
            .await?;
            return Ok(Flow::Close);
        }
        Ok(Flow::Continue)
    }

    async fn reply(&mut self, code: u16, text: &str) -> io::Result<()> {
        self.write(format!("{code} {text}\r\n").as_bytes()).await
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let idle = self.sink.idle_timeout();
        timeout(idle, self.writer.write_all(bytes))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "write timed out"))?
    }

    /// Reads one line (up to LF, CR LF stripped). A line longer than `max` bytes is consumed and
    /// reported as [`Line::TooLong`]; a partial line at end of stream counts as the end.
    async fn read_line(&mut self, max: usize) -> io::Result<Line> {
        let idle = self.sink.idle_timeout();
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let buf = timeout(idle, self.reader.fill_buf())
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "idle timeout"))??;
            if buf.is_empty() {
                return Ok(Line::Eof);
            }
            let (taken, done) = match buf.iter().position(|b| *b == b'\n') {
                Some(at) => (at + 1, true),
                None => (buf.len(), false),
            };
            if !too_long {
                if line.len() + taken > max {
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(&buf[..taken]);
                }
            }
            self.reader.consume(taken);
            if done {
                break;
            }
        }
        if too_long {
            return Ok(Line::TooLong);
        }
        line.pop(); // LF
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Line::Text(line))
    }
}

/// Parses `FROM:<path> params` / `TO:<path> params` (case-insensitive keyword, optional space
/// after the colon). Returns the address inside the brackets and the parameters.
fn path<'a>(args: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let head = args.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = args[keyword.len()..].trim_start().strip_prefix('<')?;
    let (address, params) = rest.split_once('>')?;
    if address.contains(char::is_whitespace) {
        return None;
    }
    Some((address, params.trim()))
}
