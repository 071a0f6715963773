//! Bounded text and URLs taken from users.
use super::ParseError;
use serde::{Deserialize, Serialize};

/// Defines a string newtype that can only hold values accepted by `$check`.
/// Serde goes through the same check, so a stored value is re-validated when read back.
macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, $crate::domain::ParseError> {
                let value: String = value.into();
                let check: fn(&str) -> Result<(), $crate::domain::ParseError> = $check;
                check(&value)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::domain::ParseError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use string_newtype;

/// Checks a human-readable text: not blank (unless allowed), at most `max` characters, no control characters
/// other than newlines and tabs.
pub fn check_text(value: &str, max: usize, allow_empty: bool) -> Result<(), ParseError> {
    if !allow_empty && value.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(format!("must be at most {max} characters (got {chars})"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// Checks an absolute http(s) URL with a host, at most 2048 bytes.
pub fn check_http_url(value: &str) -> Result<(), ParseError> {
    if value.len() > 2048 {
        return Err("must be at most 2048 bytes".into());
    }
    let url = url::Url::parse(value).map_err(|e| format!("is not a valid URL ({e})"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "must be an http or https URL, not {}:",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must have a host".into());
    }
    Ok(())
}

string_newtype!(
    /// A push task's name: 1–100 characters.
    TaskName,
    |v| check_text(v, 100, false)
);
string_newtype!(
    /// A page's title: 1–200 characters.
    PageTitle,
    |v| check_text(v, 200, false)
);
string_newtype!(
    /// A chart's name: 1–100 characters.
    ChartName,
    |v| check_text(v, 100, false)
);
string_newtype!(
    /// Free text put at the beginning or end of a message: up to 1000 characters.
    MessageText,
    |v| check_text(v, 1000, true)
);
string_newtype!(
    /// An absolute http(s) URL.
    HttpUrl,
    check_http_url
);
string_newtype!(
    /// A JSON Pointer (RFC 6901) to the rows of a chart's data: empty (the whole document) or starting with `/`.
    RowsPointer,
    |v| {
        if !v.is_empty() && !v.starts_with('/') {
            return Err("must be a JSON Pointer: empty or starting with '/'".into());
        }
        if v.len() > 256 {
            return Err("must be at most 256 bytes".into());
        }
        // `~` must be followed by 0 or 1 (RFC 6901 escapes).
        let bytes = v.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'~' && !matches!(bytes.get(i + 1), Some(b'0' | b'1')) {
                return Err("has a '~' that is not '~0' or '~1'".into());
            }
        }
        Ok(())
    }
);

/// Whether `c` is a CJK ideograph, kana, hangul or full-width form (drawn two columns wide).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_name_over_100_characters_is_refused() {
        assert!(TaskName::parse("名".repeat(100)).is_ok());
        let err = TaskName::parse("名".repeat(101)).unwrap_err();
        assert!(err.contains("at most 100"), "{err}");
        assert!(TaskName::parse("   ").is_err());
    }

    #[test]
    fn urls_must_be_http_or_https_with_host() {
        assert!(HttpUrl::parse("https://bi.example.com/share/abc").is_ok());
        assert!(HttpUrl::parse("http://127.0.0.1:8080/x").is_ok());
        for bad in [
            "ftp://x.com/a",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "/relative",
            "https://",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn rows_pointer_follows_rfc_6901() {
        assert!(RowsPointer::parse("").is_ok());
        assert!(RowsPointer::parse("/data/rows").is_ok());
        assert!(RowsPointer::parse("/a~1b").is_ok());
        assert!(RowsPointer::parse("data").is_err());
        assert!(RowsPointer::parse("/a~2").is_err());
    }

    #[test]
    fn stored_values_are_revalidated_when_read_back() {
        let err = serde_json::from_str::<TaskName>("\"\"").unwrap_err();
        assert!(err.to_string().contains("empty"));
    }
}
