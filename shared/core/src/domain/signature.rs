//! A ticket webhook's signature: `X-Herald-Timestamp` (Unix seconds) and `X-Herald-Signature:
//! sha256=<hex>`, the HMAC-SHA256 of `timestamp.body` with the source's secret.
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The two headers, parsed; the signature is not checked yet (that needs the source's secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    timestamp: String,
    at: DateTime<Utc>,
    mac: Vec<u8>,
}

impl SignedRequest {
    /// Refuses, in words for the 401, a missing or garbled header.
    pub fn parse(timestamp: Option<&str>, signature: Option<&str>) -> Result<Self, &'static str> {
        const BAD_TIMESTAMP: &str = "missing or garbled timestamp";
        let timestamp = timestamp
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(BAD_TIMESTAMP)?;
        let mac = signature
            .and_then(|s| s.trim().strip_prefix("sha256="))
            .and_then(|h| hex::decode(h).ok())
            .ok_or("missing or garbled signature")?;
        let at = timestamp
            .parse::<i64>()
            .ok()
            .and_then(|t| DateTime::from_timestamp(t, 0))
            .ok_or(BAD_TIMESTAMP)?;
        Ok(Self {
            timestamp: timestamp.to_owned(),
            at,
            mac,
        })
    }

    /// When the sender says it signed.
    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// Whether `secret` signed `body` at this timestamp, compared in constant time.
    pub fn is_signed_by(&self, secret: &[u8], body: &[u8]) -> bool {
        let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
            return false;
        };
        mac.update(self.timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&self.mac).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header value a sender computes.
    fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret).unwrap();
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn a_signature_made_with_the_secret_is_accepted_and_any_change_refused() {
        let header = sign(b"s3cret", "1764550000", b"{\"a\":1}");
        let signed = SignedRequest::parse(Some("1764550000"), Some(&header)).unwrap();
        assert!(signed.is_signed_by(b"s3cret", b"{\"a\":1}"));
        assert!(!signed.is_signed_by(b"s3cret", b"{\"a\":2}"));
        assert!(!signed.is_signed_by(b"other", b"{\"a\":1}"));
        let later = SignedRequest::parse(Some("1764550001"), Some(&header)).unwrap();
        assert!(!later.is_signed_by(b"s3cret", b"{\"a\":1}"));
    }

    #[test]
    fn garbled_headers_are_named() {
        let parse = |t, s| SignedRequest::parse(t, s).unwrap_err();
        assert_eq!(
            parse(None, Some("sha256=00")),
            "missing or garbled timestamp"
        );
        assert_eq!(
            parse(Some("-1"), Some("sha256=00")),
            "missing or garbled timestamp"
        );
        assert_eq!(
            parse(Some("99999999999999999999"), Some("sha256=00")),
            "missing or garbled timestamp"
        );
        assert_eq!(
            parse(Some("1"), Some("md5=00")),
            "missing or garbled signature"
        );
        assert_eq!(
            parse(Some("1"), Some("sha256=zz")),
            "missing or garbled signature"
        );
    }
}
