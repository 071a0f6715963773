//! Just enough RFC 5322 / RFC 2047 to show a received mail's subject: the `Subject` header,
//! unfolded, with UTF-8 / US-ASCII `B` and `Q` encoded words decoded (others left as sent).
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The decoded `Subject` header of a raw message, if it has one.
pub(crate) fn subject(data: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in data.lines() {
        if line.is_empty() {
            break; // end of the header section
        }
        if line.starts_with([' ', '\t']) {
            // Unfolding: the CRLF goes, the whitespace stays.
            if let Some(value) = value.as_mut() {
                value.push_str(line);
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((name, rest)) = line.split_once(':')
            && name.trim_end().eq_ignore_ascii_case("subject")
        {
            value = Some(rest.to_owned());
        }
    }
    value.map(|v| decode_words(v.trim()))
}

/// Decodes RFC 2047 encoded words in `text`; whitespace between adjacent words is dropped and
/// their bytes are joined before UTF-8 decoding (a character may span two words).
pub(crate) fn decode_words(text: &str) -> String {
    let mut out = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut gap = String::new();
    let mut rest = text;
    while let Some(ch) = rest.chars().next() {
        if ch == '='
            && let Some((bytes, len)) = encoded_word(rest)
        {
            gap.clear();
            pending.extend(bytes);
            rest = &rest[len..];
            continue;
        }
        if ch.is_whitespace() && !pending.is_empty() {
            gap.push(ch);
        } else {
            flush(&mut out, &mut pending);
            out.push_str(&gap);
            gap.clear();
            out.push(ch);
        }
        rest = &rest[ch.len_utf8()..];
    }
    flush(&mut out, &mut pending);
    out.push_str(&gap);
    out
}

fn flush(out: &mut String, pending: &mut Vec<u8>) {
    if !pending.is_empty() {
        out.push_str(&String::from_utf8_lossy(pending));
        pending.clear();
    }
}

/// `=?charset?enc?payload?=` at the start of `s`: its decoded bytes and its length in `s`.
fn encoded_word(s: &str) -> Option<(Vec<u8>, usize)> {
    let body = s.strip_prefix("=?")?;
    let (charset, after) = body.split_once('?')?;
    let (encoding, after) = after.split_once('?')?;
    let end = after.find("?=")?;
    let payload = &after[..end];
    if [charset, encoding, payload]
        .iter()
        .any(|part| part.contains(char::is_whitespace))
    {
        return None;
    }
    // RFC 2231 allows `charset*language`.
    let name = charset.split('*').next().unwrap_or_default();
    if !["utf-8", "utf8", "us-ascii"]
        .iter()
        .any(|known| name.eq_ignore_ascii_case(known))
    {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => STANDARD.decode(payload).ok()?,
        "Q" | "q" => q_decode(payload),
        _ => return None,
    };
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((bytes, len))
}

fn q_decode(payload: &str) -> Vec<u8> {
    let bytes = payload.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'='),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_subject_is_kept() {
        let data = "From: a@x\r\nSubject:  Hello world \r\nTo: b@x\r\n\r\nSubject: body\r\n";
        assert_eq!(subject(data).as_deref(), Some("Hello world"));
    }

    #[test]
    fn missing_subject_is_none() {
        assert_eq!(subject("From: a@x\r\n\r\nSubject: in body\r\n"), None);
    }

    #[test]
    fn folded_b_words_are_joined() {
        // "你好，世界" split across two words in the middle of a character.
        let full = "你好，世界".as_bytes();
        let (a, b) = full.split_at(4);
        let data = format!(
            "SUBJECT: =?UTF-8?B?{}?=\r\n =?utf-8?b?{}?= !\r\nTo: x\r\n\r\n",
            STANDARD.encode(a),
            STANDARD.encode(b)
        );
        assert_eq!(subject(&data).as_deref(), Some("你好，世界 !"));
    }

    #[test]
    fn q_words_and_plain_text_mix() {
        assert_eq!(
            decode_words("Re: =?utf-8?q?caf=C3=A9_au_lait?= now"),
            "Re: café au lait now"
        );
        assert_eq!(decode_words("=?utf-8?q?a=?="), "a=");
    }

    #[test]
    fn unknown_charsets_and_broken_words_stay_as_sent() {
        let text = "=?iso-8859-1?q?caf=E9?= =?utf-8?x?abc?= =?utf-8?b?!!!?= =?oops";
        assert_eq!(decode_words(text), text);
    }
}
