//! Console sessions: a signed, expiring cookie naming the API key it was opened with (its id and
//! hash, never the key itself). The key is checked again on every request, so revoking a key ends
//! its sessions; nothing is stored per session, which is what stateless Lambdas need.
use super::auth::KeyHash;
use super::ids::KeyId;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const VERSION: &str = "v1";

/// How long a session lasts after sign-in (a working day).
pub const SESSION_HOURS: i64 = 12;

/// The key that signs session cookies and derives their CSRF tokens: 32 random bytes, kept in the
/// secret store so every instance signs alike.
#[derive(Clone)]
pub struct SigningKey([u8; 32]);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// What a session cookie says once its signature and expiry are checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// `None` for the configured admin key, which has no stored record.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
    #[serde(rename = "h")]
    pub key_hash: KeyHash,
    /// Unix seconds.
    #[serde(rename = "e")]
    pub expires: i64,
    /// Random per session: the CSRF token is derived from it.
    #[serde(rename = "n")]
    pub nonce: String,
    /// The key's session epoch when it opened: "sign out everywhere" moves the key's epoch on,
    /// ending every session opened before (see `SettingsRecord::session_epochs`).
    #[serde(rename = "g", default)]
    pub epoch: u64,
}

/// A session ended on the server before it expires (signed out). Kept until it would have
/// expired anyway, so the list is as long as the last 12 hours' sign-outs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedSession {
    pub key_hash: KeyHash,
    pub nonce: String,
    /// Unix seconds: when this entry may be forgotten.
    pub until: i64,
}

impl EndedSession {
    pub fn of(session: &Session) -> Self {
        Self {
            key_hash: session.key_hash.clone(),
            nonce: session.nonce.clone(),
            until: session.expires,
        }
    }

    pub fn ends(&self, session: &Session) -> bool {
        self.key_hash == session.key_hash && self.nonce == session.nonce
    }
}

impl Session {
    /// A session for the presented key, from `now` for [`SESSION_HOURS`].
    pub fn open_for(token: &str, now: DateTime<Utc>) -> Self {
        Self {
            key_id: super::auth::key_id_of(token),
            key_hash: KeyHash::of(token),
            expires: (now + chrono::Duration::hours(SESSION_HOURS)).timestamp(),
            nonce: B64.encode(rand::random::<[u8; 16]>()),
            epoch: 0,
        }
    }

    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.expires, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl SigningKey {
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// A key as the secret store keeps it (base64url of 32 bytes).
    pub fn parse(stored: &str) -> Result<Self, super::ParseError> {
        let bytes = B64
            .decode(stored.trim())
            .map_err(|_| "is not base64url".to_owned())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must be 32 bytes".to_owned())?;
        Ok(Self(key))
    }

    pub fn to_stored(&self) -> String {
        B64.encode(self.0)
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        // An HMAC accepts keys of any length: this cannot fail for 32 bytes.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in parts {
            mac.update(part);
        }
        mac
    }

    /// The cookie value: `v1.<claims>.<signature>`.
    pub fn seal(&self, session: &Session) -> String {
        let claims = B64.encode(serde_json::to_vec(session).unwrap_or_default());
        let signature = self.mac(&[VERSION.as_bytes(), b".", claims.as_bytes()]);
        format!(
            "{VERSION}.{claims}.{}",
            B64.encode(signature.finalize().into_bytes())
        )
    }

    /// The session a cookie names, if this key signed it and it has not expired.
    pub fn open(&self, cookie: &str, now: DateTime<Utc>) -> Option<Session> {
        let mut parts = cookie.trim().split('.');
        let (version, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if version != VERSION || parts.next().is_some() {
            return None;
        }
        let signature = B64.decode(signature).ok()?;
        self.mac(&[VERSION.as_bytes(), b".", claims.as_bytes()])
            .verify_slice(&signature)
            .ok()?;
        let session: Session = serde_json::from_slice(&B64.decode(claims).ok()?).ok()?;
        (session.expires > now.timestamp()).then_some(session)
    }

    /// The CSRF token of a session: pages carry it in their forms; a write without it is refused.
    pub fn csrf_token(&self, session: &Session) -> String {
        B64.encode(
            self.mac(&[b"csrf.", session.nonce.as_bytes()])
                .finalize()
                .into_bytes(),
        )
    }

    /// Compares in constant time.
    pub fn csrf_matches(&self, session: &Session, presented: &str) -> bool {
        let expected = self.csrf_token(session);
        expected
            .as_bytes()
            .ct_eq(presented.trim().as_bytes())
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-01T09:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_sealed_session_opens_until_it_expires_and_only_with_its_key() {
        let key = SigningKey::generate();
        let session = Session::open_for("hk_0123456789abcdef_secret", now());
        let cookie = key.seal(&session);
        assert!(!cookie.contains("secret"), "the key is never in the cookie");
        assert_eq!(key.open(&cookie, now()), Some(session.clone()));
        let later = now() + chrono::Duration::hours(SESSION_HOURS);
        assert_eq!(key.open(&cookie, later), None, "expired");
        assert_eq!(
            SigningKey::generate().open(&cookie, now()),
            None,
            "another key"
        );
        let stored = SigningKey::parse(&key.to_stored()).unwrap();
        assert_eq!(stored.open(&cookie, now()), Some(session));
    }

    #[test]
    fn a_changed_cookie_does_not_open() {
        let key = SigningKey::generate();
        let mut session = Session::open_for("admin-token", now());
        let cookie = key.seal(&session);
        // Claims with a later expiry, under the old signature.
        session.expires += 3600;
        let forged = key.seal(&session);
        let (_, forged_claims) = forged.split_once('.').unwrap();
        let (forged_claims, _) = forged_claims.split_once('.').unwrap();
        let signature = cookie.rsplit('.').next().unwrap();
        let spliced = format!("v1.{forged_claims}.{signature}");
        assert_eq!(key.open(&spliced, now()), None);
        for broken in ["", "v1", "v1..", "v2.a.b", &format!("{cookie}.x")] {
            assert_eq!(key.open(broken, now()), None, "{broken}");
        }
    }

    #[test]
    fn the_csrf_token_belongs_to_one_session() {
        let key = SigningKey::generate();
        let one = Session::open_for("admin-token", now());
        let two = Session::open_for("admin-token", now());
        let token = key.csrf_token(&one);
        assert!(key.csrf_matches(&one, &token));
        assert!(!key.csrf_matches(&two, &token));
        assert!(!key.csrf_matches(&one, ""));
    }
}
