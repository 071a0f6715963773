//! Text from outside Herald — chart cells, column and chart names, ticket titles, a task's own words
//! — shown as text in each sink's markup: never a link, a mention, a tag or a font. Only Herald's
//! own links (the share link, a record or ticket link) are links, through [`link`].
//!
//! WeCom documents no escape syntax for its markdown, `text` (which renders `<a href>`) or textcard
//! (`<div class>`), and Feishu's `<at>` works in text and markdown alike, so the characters that
//! start markup are replaced with their full-width forms (＜ ＞ ［ ］ ＊ …), which every client shows
//! as they are; addresses are defanged (`https[:]//evil[.]example`) because clients turn bare
//! addresses into links by themselves.
use std::borrow::Cow;

/// The markup a template writes, chosen by its file name (see `sink_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// WeCom app and robot markdown, Feishu card markdown (and DingTalk markdown).
    Markdown,
    /// WeCom text (which renders `<a>`) and textcard (`<div>`), Feishu text and post (`<at>`).
    Text,
    /// A mail's subject and plain part: shown as they are, only addresses defanged.
    Plain,
    /// HTML mail.
    Html,
}

/// Top-level domains that clients link without a scheme.
const LINKED_TLDS: &[&str] = &[
    "com", "cn", "net", "org", "io", "co", "me", "info", "biz", "xyz", "top", "cc", "tv", "app",
    "dev", "site", "online", "club", "vip", "shop", "ai", "link", "ly", "to", "hk", "tw", "jp",
    "uk", "us", "ru", "de", "fr", "edu", "gov", "mobi", "pro", "work", "tech", "icu", "ink",
    "live", "store", "sg", "kr", "eu", "in", "ca", "au", "asia", "fun", "space", "website", "xin",
    "ltd", "group", "cloud", "email", "news", "blog", "art", "wang", "life", "world", "today",
    "mo", "nz", "gg", "so", "im", "li", "page", "run", "host", "ren", "red", "kim",
];

/// `https://a.example/x` → `https[:]//a[.]example/x`; `www.a.com`, `a.com`, `x@a.com` → dots as `[.]`.
pub fn defang(text: &str) -> Cow<'_, str> {
    if !text.contains("://") && !text.contains('.') {
        return Cow::Borrowed(text);
    }
    let schemes = text.replace("://", "[:]//");
    let mut out = String::with_capacity(schemes.len() + 8);
    let mut rest = schemes.as_str();
    while !rest.is_empty() {
        let start = rest.find(is_host_char).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_host_char(c)).unwrap_or(rest.len());
        let word = &rest[..end];
        if looks_like_host(word, out.ends_with("[:]//") || out.ends_with('@')) {
            let host = word.trim_end_matches('.');
            out.push_str(&host.replace('.', "[.]"));
            out.push_str(&word[host.len()..]);
        } else {
            out.push_str(word);
        }
        rest = &rest[end..];
    }
    if out == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(out)
    }
}

fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

/// A word of letters, digits, dots and dashes that a client would link: after a scheme or `@`,
/// starting with `www.`, or ending in a linked top-level domain (`evil.com`, not `v1.2` or `e.g`).
fn looks_like_host(word: &str, after_scheme: bool) -> bool {
    let word = word.trim_end_matches('.');
    let Some((head, tld)) = word.rsplit_once('.') else {
        return false;
    };
    if head.is_empty() || !head.chars().any(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    after_scheme
        || word.to_ascii_lowercase().starts_with("www.")
        || LINKED_TLDS.contains(&tld.to_ascii_lowercase().as_str())
}

/// Text for a markdown sink.
pub fn markdown(text: &str) -> String {
    let defanged = defang(text);
    let mut out = String::with_capacity(defanged.len() + 8);
    let mut line_start = true;
    for c in defanged.chars() {
        match c {
            '\\' => out.push('＼'),
            '*' => out.push('＊'),
            '`' => out.push('｀'),
            '~' => out.push('～'),
            '[' => out.push('［'),
            ']' => out.push('］'),
            '<' => out.push('＜'),
            '>' => out.push('＞'),
            '#' if line_start => out.push('＃'),
            other => out.push(other),
        }
        line_start = c == '\n' || (line_start && c.is_whitespace());
    }
    out
}

/// Text for a plain-text sink (WeCom text renders `<a>`, Feishu text `<at>`).
pub fn text(text: &str) -> String {
    defang(text).replace('<', "＜").replace('>', "＞")
}

/// Text for HTML, defanged and escaped.
pub fn html(text: &str) -> String {
    html_escaped(&defang(text))
}

/// HTML-escaped as minijinja escapes (`/` too, so no `</script>` can close an element).
fn html_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            other => out.push(other),
        }
    }
    out
}

/// One of Herald's own links as `sink` writes it: the address as the URL standard serializes it
/// (spaces, quotes, `<` and `>` percent-encoded, line breaks gone), then made safe for the sink.
/// Something that is no `http(s)` URL is shown as text, never as a link.
pub fn link(url: &str, sink: Sink) -> String {
    let parsed = match url::Url::parse(url.trim()) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => parsed,
        _ => return sink.escape(url),
    };
    let url = parsed.as_str();
    match sink {
        // A markdown link ends at `)` or a space; `<` would open a tag.
        Sink::Markdown => url
            .replace(' ', "%20")
            .replace('(', "%28")
            .replace(')', "%29")
            .replace('<', "%3C")
            .replace('>', "%3E"),
        Sink::Text | Sink::Plain => url.to_owned(),
        Sink::Html => html_escaped(url),
    }
}

/// The sink a template writes, by its file name.
pub(crate) fn sink_of(template: &str) -> Sink {
    if template.ends_with(".html") {
        Sink::Html
    } else if template.ends_with(".md") {
        Sink::Markdown
    } else if template.ends_with(".plain") {
        Sink::Plain
    } else {
        Sink::Text
    }
}

impl Sink {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Sink::Markdown => "markdown",
            Sink::Text => "text",
            Sink::Plain => "plain",
            Sink::Html => "html",
        }
    }

    pub(crate) fn from_name(name: &str) -> Self {
        match name {
            "markdown" => Sink::Markdown,
            "html" => Sink::Html,
            "plain" => Sink::Plain,
            _ => Sink::Text,
        }
    }

    pub(crate) fn escape(self, value: &str) -> String {
        match self {
            Sink::Markdown => markdown(value),
            Sink::Text => text(value),
            Sink::Plain => defang(value).into_owned(),
            Sink::Html => html(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_defanged_and_other_dots_kept() {
        assert_eq!(
            defang("点此https://evil.example/verify?a=1验证"),
            "点此https[:]//evil[.]example/verify?a=1验证"
        );
        assert_eq!(defang("www.evil.io"), "www[.]evil[.]io");
        assert_eq!(defang("see evil.com."), "see evil[.]com.");
        assert_eq!(defang("ops@corp.cn"), "ops@corp[.]cn");
        assert_eq!(defang("v1.2, 3.5%, e.g. Q4"), "v1.2, 3.5%, e.g. Q4");
        assert_eq!(defang("plain text"), "plain text");
    }

    #[test]
    fn markdown_markup_is_shown_as_text() {
        let hostile = "[账号异常，点此验证](https://evil.example) <font color=\"warning\">x</font> <@all> **b** `c`";
        let out = markdown(hostile);
        for markup in ["[", "](", "<font", "<@", "**", "`", "https://"] {
            assert!(!out.contains(markup), "{markup} in {out}");
        }
        assert_eq!(
            markdown("# title\n  # again, a # b"),
            "＃ title\n  ＃ again, a # b"
        );
    }

    #[test]
    fn text_has_no_tags() {
        let out = text("<a href=\"https://evil.example\">x</a> <at user_id=\"all\"></at>");
        assert!(!out.contains('<') && !out.contains("https://"), "{out}");
    }

    #[test]
    fn a_link_cannot_carry_markup_into_the_message() {
        let hostile = "https://bi.example.com/x <a href=\"https://evil.example\">验证</a>\n[x](https://evil.example)";
        for sink in [Sink::Markdown, Sink::Text, Sink::Plain, Sink::Html] {
            let out = link(hostile, sink);
            assert!(
                !out.contains("<a") && !out.contains('\n') && !out.contains(' '),
                "{sink:?}: {out}"
            );
        }
        // One link to bi.example.com: its brackets cannot close a markdown link early.
        assert!(!link(hostile, Sink::Markdown).contains("]("));
        assert_eq!(
            link("javascript:alert(1)", Sink::Markdown),
            "javascript:alert(1)"
        );
    }

    #[test]
    fn links_stay_links_in_their_sink() {
        let url = "https://bi.example.com/share/a(b)?x=1&y=\"2\"";
        assert_eq!(
            link(url, Sink::Markdown),
            "https://bi.example.com/share/a%28b%29?x=1&y=%222%22"
        );
        assert_eq!(
            link(url, Sink::Html),
            "https:&#x2f;&#x2f;bi.example.com&#x2f;share&#x2f;a(b)?x=1&amp;y=%222%22"
        );
    }
}
