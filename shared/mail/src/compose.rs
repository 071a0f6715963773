//! Builds the MIME message for one recipient: From, To, Subject, Message-ID, text (+ HTML).
use herald_core::domain::image::ImageRef;
use herald_core::domain::message::EmailMessage;
use herald_core::ports::{SendError, SendFailure};
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// A stored picture or file, with its bytes.
pub(crate) type StoredFile<'a> = (&'a ImageRef, Arc<Vec<u8>>);

/// A mail's body before its attachments.
enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

/// The longest idempotency key used verbatim in a Message-ID; longer keys are hashed.
const MAX_KEY_IN_ID: usize = 128;

/// The Message-ID for a delivery: the same key gives the same id, so a retried send carries it.
/// Keys that are not a safe dot-atom are replaced by their SHA-256 (hex).
pub(crate) fn message_id(idempotency_key: &str, from: &str) -> String {
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| is_dot_atom(d))
        .unwrap_or("herald");
    let left = if is_dot_atom(idempotency_key) && idempotency_key.len() <= MAX_KEY_IN_ID {
        idempotency_key.to_owned()
    } else {
        hex::encode(Sha256::digest(idempotency_key.as_bytes()))
    };
    format!("<{left}@{domain}>")
}

fn is_dot_atom(s: &str) -> bool {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    !s.is_empty()
        && s.split('.')
            .all(|part| !part.is_empty() && part.chars().all(atext))
}

/// Control characters (CR, LF, …) have no place in a header; they become spaces.
fn clean_subject(subject: &str) -> String {
    subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn mailbox(address: &str, failure: SendFailure, what: &str) -> Result<Mailbox, SendError> {
    address.parse::<Mailbox>().map_err(|e| SendError {
        failure,
        code: None,
        message: format!("{what} address {address:?} is not usable for SMTP: {e}"),
        hint: None,
    })
}

/// The message `from` sends to `message.to`, with the Message-ID derived from the key. With
/// pictures: `multipart/alternative` of the text and a `multipart/related` of the HTML and each
/// picture inline (`Content-ID: <name>`, which the HTML refers to as `cid:name`). With
/// attachments, all of that is the first part of a `multipart/mixed`, each file a part after it.
pub(crate) fn compose(
    from: &str,
    message: &EmailMessage,
    (inline, attached): (&[StoredFile], &[StoredFile]),
    message_id: String,
) -> Result<Message, SendError> {
    let builder = Message::builder()
        .from(mailbox(from, SendFailure::Config, "the From")?)
        .to(mailbox(
            message.to.as_str(),
            SendFailure::Recipient,
            "the recipient",
        )?)
        .subject(clean_subject(&message.subject))
        .message_id(Some(message_id));
    let payload = |e: String| SendError {
        failure: SendFailure::Payload,
        code: None,
        message: e,
        hint: None,
    };
    let kind = |file: &ImageRef| {
        ContentType::parse(&file.content_type)
            .map_err(|e| payload(format!("bad type of {}: {e}", file.name)))
    };
    let body = match &message.html {
        Some(html) if !inline.is_empty() => {
            let mut related = MultiPart::related().singlepart(SinglePart::html(html.clone()));
            for (image, bytes) in inline {
                related = related.singlepart(
                    Attachment::new_inline(image.name.clone())
                        .body(bytes.as_ref().clone(), kind(image)?),
                );
            }
            Body::Multi(
                MultiPart::alternative()
                    .singlepart(SinglePart::plain(message.text.clone()))
                    .multipart(related),
            )
        }
        Some(html) => Body::Multi(MultiPart::alternative_plain_html(
            message.text.clone(),
            html.clone(),
        )),
        None => Body::Single(SinglePart::plain(message.text.clone())),
    };
    let built = match (body, attached) {
        (Body::Multi(body), []) => builder.multipart(body),
        (Body::Single(body), []) => builder.singlepart(body),
        (body, files) => {
            let mut mixed = match body {
                Body::Multi(body) => MultiPart::mixed().multipart(body),
                Body::Single(body) => MultiPart::mixed().singlepart(body),
            };
            for (file, bytes) in files {
                mixed = mixed.singlepart(
                    Attachment::new(file.name.clone()).body(bytes.as_ref().clone(), kind(file)?),
                );
            }
            builder.multipart(mixed)
        }
    };
    built.map_err(|e| SendError {
        failure: SendFailure::Payload,
        code: None,
        message: format!("could not build the e-mail: {e}"),
        hint: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_keeps_a_safe_key_and_hashes_others() {
        assert_eq!(
            message_id("run-1.abc_2", "herald@example.com"),
            "<run-1.abc_2@example.com>"
        );
        let hashed = message_id("key with <spaces>@x", "herald@example.com");
        assert_eq!(hashed.len(), 1 + 64 + "@example.com>".len());
        assert_eq!(
            hashed,
            message_id("key with <spaces>@x", "herald@example.com")
        );
        assert!(message_id(&"k".repeat(200), "a@b.c").starts_with('<'));
        assert_eq!(message_id("k", "no-at-sign"), "<k@herald>");
    }

    #[test]
    fn subject_loses_control_characters() {
        assert_eq!(clean_subject("a\r\nBcc: x\t日报"), "a  Bcc: x 日报");
    }
}
