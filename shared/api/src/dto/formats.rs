//! Formats a request's URLs, host names and e-mail addresses must have, written once as patterns
//! that both the parsers here and the OpenAPI document use, so what the document allows is what
//! the API accepts (schemathesis checks both ways).
//!
//! They are stricter than the domain types, which also read back what was stored before: a host is
//! written in ASCII (an international domain in its `xn--` form) or as an IPv4 address, and an
//! e-mail address is ASCII (what every SMTP server takes).
use herald_core::domain::recipients::EmailAddress;
use herald_core::domain::text::HttpUrl;
use regex::Regex;
use std::sync::LazyLock;

/// A DNS name of ASCII labels whose last label starts with a letter (so it is never read as an
/// IPv4 address), or a dotted-quad IPv4 address.
macro_rules! host {
    () => {
        concat!(
            "(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*",
            "[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
            "|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}",
            "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))"
        )
    };
}

/// A host name or IPv4 address (an SMTP server's `host`).
pub const HOST_PATTERN: &str = concat!("^", host!(), "$");

/// An absolute http(s) URL: optional user information, a host, a port 1–65535 and then any
/// printable ASCII (a path, query or fragment).
pub const HTTP_URL_PATTERN: &str = concat!(
    "^https?://(?:[A-Za-z0-9._~%!$&'()*+,;=:-]+@)?",
    host!(),
    "(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?",
    "(?:[/?#][\\x21-\\x7E]*)?$"
);
pub const HTTP_URL_MAX: usize = 2048;

/// An ASCII addr-spec: a dot-atom-text local part of 1–64 characters, `@`, a domain of at least
/// two labels.
pub const EMAIL_PATTERN: &str = concat!(
    "^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@",
    "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+",
    "[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
);
pub const EMAIL_MAX: usize = 254;

fn compiled(pattern: &'static str) -> Regex {
    // The patterns are constants that a unit test compiles.
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("{pattern}: {e}"))
}

static HOST: LazyLock<Regex> = LazyLock::new(|| compiled(HOST_PATTERN));
static HTTP_URL: LazyLock<Regex> = LazyLock::new(|| compiled(HTTP_URL_PATTERN));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| compiled(EMAIL_PATTERN));

/// A host name such as `smtp.qq.com`, or an IPv4 address.
pub fn host(value: &str) -> Result<String, String> {
    if value.len() > 253 || !HOST.is_match(value) {
        return Err("must be a host name such as smtp.qq.com (international names in their xn-- form) or an IPv4 address".into());
    }
    Ok(value.to_owned())
}

/// An absolute http(s) URL such as `https://bi.example.com/report`.
pub fn http_url(value: &str) -> Result<HttpUrl, String> {
    if value.len() > HTTP_URL_MAX {
        return Err(format!("must be at most {HTTP_URL_MAX} characters"));
    }
    if !HTTP_URL.is_match(value) {
        return Err("must be an http or https URL with a host name or IPv4 address, such as https://bi.example.com/report (international names in their xn-- form; no spaces)".into());
    }
    HttpUrl::parse(value)
}

/// An e-mail address such as `wang@example.com`.
pub fn email(value: &str) -> Result<EmailAddress, String> {
    if value.len() > EMAIL_MAX || !EMAIL.is_match(value) {
        return Err(
            "must be an e-mail address such as wang@example.com (ASCII, international domains in their xn-- form)"
                .into(),
        );
    }
    EmailAddress::parse(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_patterns_accept_the_domain_types_accept() {
        for url in [
            "https://bi.example.com/share/abc?x=1#y",
            "http://127.0.0.1:8080/x",
            "http://user:p%40ss@proxy.corp:3128",
            "https://a",
            "http://xn--fiqs8s.example/",
        ] {
            assert!(http_url(url).is_ok(), "{url}");
        }
        for url in [
            "HTTP://a.b/",
            "ftp://a.b/",
            "http://",
            "http://a b/",
            "http://256.1.1.1/",
            "http://1.2.3/",
            "http://a.b:0/",
            "http://a.b:65536/",
            "http://[::1]/",
            "http://例子.中国/",
            "https://a.b/ c",
            "https://a.b\n",
        ] {
            assert!(http_url(url).is_err(), "{url:?}");
        }
        for address in ["wang@example.com", "a.b+c@x-y.example.cn", "o'neil@a.io"] {
            assert!(email(address).is_ok(), "{address}");
        }
        for address in [
            "wang",
            "wang@localhost",
            "王@例子.中国",
            "a b@x.cn",
            "a@-x.cn",
            "a@x.cn\n",
        ] {
            assert!(email(address).is_err(), "{address:?}");
        }
        for name in ["smtp.qq.com", "mail", "10.0.0.1"] {
            assert!(host(name).is_ok(), "{name}");
        }
        for name in ["", "smtp.qq.com:25", " smtp", "a/b", "1.2.3", "-a.b"] {
            assert!(host(name).is_err(), "{name:?}");
        }
    }
}
