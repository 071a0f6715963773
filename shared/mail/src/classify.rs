//! Maps lettre's SMTP errors onto Herald's failure classes (provider-apis.md §6).
use herald_core::domain::channels::SmtpSecurity;
use herald_core::ports::{SendError, SendFailure};
use lettre::transport::smtp::Error as SmtpError;
use std::error::Error as _;

/// The longest provider text kept in an error message.
const MAX_MESSAGE: usize = 500;

const AUTH_HINT: &str = "the server refused the login: use the mailbox's full address as username and its \
SMTP authorization code (授权码, created where IMAP/SMTP is enabled), not the web password";

/// Where a connection went, for hints.
pub(crate) struct Target<'a> {
    pub host: &'a str,
    pub port: u16,
    pub security: SmtpSecurity,
}

pub(crate) fn security_name(security: SmtpSecurity) -> &'static str {
    match security {
        SmtpSecurity::Starttls => "starttls",
        SmtpSecurity::Tls => "tls",
        SmtpSecurity::None => "none",
    }
}

impl Target<'_> {
    fn tls_hint(&self) -> String {
        format!(
            "TLS failed with security `{}` on {}:{}: use `tls` for implicit-TLS ports (465), `starttls` \
             for 587/25, and check that the server's certificate is valid for this host",
            security_name(self.security),
            self.host,
            self.port
        )
    }
}

fn error(
    failure: SendFailure,
    code: Option<i64>,
    message: String,
    hint: Option<String>,
) -> SendError {
    let mut message = message;
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    SendError {
        failure,
        code,
        message,
        hint,
    }
}

/// The class and hint for an SMTP reply code.
pub(crate) fn classify_code(code: u16) -> (SendFailure, Option<&'static str>) {
    match code {
        400..=499 => (SendFailure::Transient, None),
        530 | 534 | 535 | 538 => (SendFailure::Config, Some(AUTH_HINT)),
        550 => (
            SendFailure::Recipient,
            Some(
                "if every recipient is refused, the mailbox may not allow SMTP sending (e.g. 163 `User has no permission`) or `from` may differ from the login",
            ),
        ),
        551 | 553 | 521 | 556 => (SendFailure::Recipient, None),
        552 | 554 => (SendFailure::Payload, None),
        500..=504 => (
            SendFailure::Config,
            Some(
                "the server refused an SMTP command: check that host and port name an SMTP submission server",
            ),
        ),
        _ => (SendFailure::Payload, None),
    }
}

/// True when the error comes from the TLS layer (handshake, certificate, protocol mismatch).
fn is_tls_failure(err: &SmtpError) -> bool {
    if err.is_tls() {
        return true;
    }
    let mut source = err.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            // tokio-rustls reports every rustls error as InvalidData.
            return io.kind() == std::io::ErrorKind::InvalidData;
        }
        source = e.source();
    }
    false
}

/// Classifies a failed SMTP exchange.
pub(crate) fn classify(err: &SmtpError, target: &Target<'_>) -> SendError {
    let text = format!("smtp: {err}");
    if let Some(code) = err.status() {
        let code = u16::from(code);
        let (failure, hint) = classify_code(code);
        return error(
            failure,
            Some(i64::from(code)),
            text,
            hint.map(str::to_owned),
        );
    }
    if is_tls_failure(err) {
        return error(SendFailure::Config, None, text, Some(target.tls_hint()));
    }
    if err.is_timeout() {
        return error(SendFailure::Transient, None, text, None);
    }
    if err.is_client() {
        let (failure, hint) = if text.contains("authentication mechanism") {
            (
                SendFailure::Config,
                format!(
                    "the server on {}:{} offers no AUTH PLAIN/LOGIN with security `{}`: most servers offer AUTH only over TLS",
                    target.host,
                    target.port,
                    security_name(target.security)
                ),
            )
        } else if text.contains("STARTTLS") {
            (
                SendFailure::Config,
                format!(
                    "the server on {}:{} does not offer STARTTLS: use security `tls` for implicit-TLS ports (465)",
                    target.host, target.port
                ),
            )
        } else if text.contains("8BITMIME") || text.contains("SMTPUTF8") {
            (
                SendFailure::Payload,
                "the server takes only ASCII addresses".to_owned(),
            )
        } else {
            (
                SendFailure::Config,
                "the SMTP client refused to go on; check the channel settings".to_owned(),
            )
        };
        return error(failure, None, text, Some(hint));
    }
    if err.is_response() {
        return error(
            SendFailure::Transient,
            None,
            text,
            Some(format!(
                "the server's reply was not SMTP: check that security `{}` matches port {}",
                security_name(target.security),
                target.port
            )),
        );
    }
    // Connection refused or reset, network errors, a shut-down pool: all may pass.
    error(SendFailure::Transient, None, text, None)
}

/// The TCP connection could not be opened (refused, unreachable, unresolvable, timed out).
pub(crate) fn connect(err: &std::io::Error) -> SendError {
    error(
        SendFailure::Transient,
        None,
        format!("smtp: Connection error: {err}"),
        None,
    )
}

/// The exchange did not finish within the deadline.
pub(crate) fn deadline(target: &Target<'_>, secs: u64) -> SendError {
    error(
        SendFailure::Transient,
        None,
        format!(
            "smtp: no answer from {}:{} within {secs} s",
            target.host, target.port
        ),
        Some(format!(
            "if this persists, check that security `{}` matches port {} (a plain or STARTTLS client on an \
             implicit-TLS port such as 465 waits for a greeting that never comes)",
            security_name(target.security),
            target.port
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes_map_to_classes() {
        for code in [421, 450, 451, 452, 454] {
            assert_eq!(classify_code(code).0, SendFailure::Transient, "{code}");
        }
        for code in [530, 535] {
            let (failure, hint) = classify_code(code);
            assert_eq!(failure, SendFailure::Config);
            assert!(hint.is_some_and(|h| h.contains("授权码")));
        }
        for code in [550, 551, 553] {
            assert_eq!(classify_code(code).0, SendFailure::Recipient, "{code}");
        }
        for code in [552, 554, 557] {
            assert_eq!(classify_code(code).0, SendFailure::Payload, "{code}");
        }
        assert_eq!(classify_code(502).0, SendFailure::Config);
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let e = error(SendFailure::Transient, None, "日".repeat(400), None);
        assert!(e.message.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(e.message.ends_with('…'));
    }
}
