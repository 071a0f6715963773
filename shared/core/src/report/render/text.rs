//! Text helpers: times as messages show them, one-line and ellipsized text, Feishu request sizes.
use super::*;

/// "2026-12-03 10:00 (Asia/Shanghai)".
pub(crate) fn format_at(at: &DateTime<Tz>) -> String {
    format!("{} ({})", at.format("%Y-%m-%d %H:%M"), at.timezone().name())
}

/// A run's time as its message shows it: for test and manual runs, which start whenever someone
/// clicks, to the second and with the run's reference ("2026-12-03 10:00:31 (Asia/Shanghai) ·
/// #a1b2c3"). Two of them within WeCom's duplicate-check interval then differ, and both are
/// delivered (WeCom swallows an identical request within 30 minutes), while a retried delivery of
/// the same run stays identical and is still delivered once.
pub(crate) fn format_run_at(at: &DateTime<Tz>, kind: RunKind, reference: Option<&str>) -> String {
    match kind {
        RunKind::Test | RunKind::Manual => {
            let reference = reference.map(|r| format!(" · #{r}")).unwrap_or_default();
            format!(
                "{} ({}){reference}",
                at.format("%Y-%m-%d %H:%M:%S"),
                at.timezone().name()
            )
        }
        RunKind::Scheduled | RunKind::Ticket => format_at(at),
    }
}

/// The text on one line: line breaks become spaces.
pub(super) fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub(super) fn floor_boundary(text: &str, max: usize) -> &str {
    if max >= text.len() {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` if it fits in `max` bytes, else its longest prefix that fits with "…" appended.
pub(super) fn ellipsize(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let ellipsis = "…";
    if max < ellipsis.len() {
        return Cow::Borrowed("");
    }
    let head = floor_boundary(text, max - ellipsis.len()).trim_end();
    Cow::Owned(format!("{head}{ellipsis}"))
}

/// Trims the text and its lines' ends, and collapses runs of blank lines into one.
pub(super) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.trim().lines() {
        let line = line.trim_end();
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
            continue;
        }
        blank = false;
        out.push_str(line);
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

/// A post in the im/v1 shape, as the Feishu client sends it.
pub(super) fn post_content(title: &str, paragraphs: &[Vec<PostRun>]) -> serde_json::Value {
    let content: Vec<Vec<serde_json::Value>> = paragraphs
        .iter()
        .map(|runs| {
            runs.iter()
                .map(|run| match &run.href {
                    Some(href) => serde_json::json!({ "tag": "a", "href": href, "text": run.text }),
                    None => serde_json::json!({ "tag": "text", "text": run.text }),
                })
                .collect()
        })
        .collect();
    serde_json::json!({ "zh_cn": { "title": title, "content": content } })
}

/// The size of a Feishu request carrying `content`: the content travels as a JSON string inside the
/// request JSON, so its quotes and line breaks are escaped twice.
pub(super) fn feishu_request_len(content: &serde_json::Value) -> usize {
    serde_json::Value::String(content.to_string())
        .to_string()
        .len()
        + FEISHU_REQUEST_OVERHEAD
}

pub(super) fn feishu_text_request_len(text: &str) -> usize {
    feishu_request_len(&serde_json::json!({ "text": text }))
}
