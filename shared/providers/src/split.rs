//! Byte limits: split long text into pieces and truncate short fields, always on UTF-8 char boundaries.

/// The largest char boundary of `s` at or below `index`.
fn floor_boundary(s: &str, index: usize) -> usize {
    if index >= s.len() {
        return s.len();
    }
    let mut i = index;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Splits `text` into pieces of at most `max_bytes` bytes, never inside a character. A piece ends
/// after the last line break in its window when that keeps it at least half full, otherwise at the
/// last char boundary that fits. Empty input gives no pieces.
pub fn split_utf8(text: &str, max_bytes: usize) -> Vec<&str> {
    // A char is at most 4 bytes: smaller limits could not always make progress.
    let max_bytes = max_bytes.max(4);
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > max_bytes {
        let hard = floor_boundary(rest, max_bytes);
        let cut = match rest[..hard].rfind('\n') {
            Some(nl) if nl + 1 >= max_bytes / 2 => nl + 1,
            _ => hard,
        };
        let (piece, tail) = rest.split_at(cut);
        pieces.push(piece);
        rest = tail;
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

/// `text` if it fits in `max_bytes`, otherwise its longest prefix that fits together with `…`.
pub fn truncate_utf8(text: &str, max_bytes: usize) -> String {
    const ELLIPSIS: &str = "…";
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let keep = floor_boundary(text, max_bytes.saturating_sub(ELLIPSIS.len()));
    format!("{}{ELLIPSIS}", &text[..keep])
}

/// The first `max_chars` characters of `text`.
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_of_5000_bytes_makes_three_whole_pieces() {
        let text = "告警数据".repeat(417); // 12 bytes × 417 = 5004 bytes
        let pieces = split_utf8(&text, 2048);
        assert_eq!(pieces.len(), 3);
        assert!(pieces.iter().all(|p| p.len() <= 2048 && !p.is_empty()));
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn pieces_end_at_line_breaks_when_one_is_near() {
        let line = format!("{}\n", "x".repeat(99)); // 100 bytes a line
        let text = line.repeat(30);
        let pieces = split_utf8(&text, 1050);
        assert_eq!(pieces.len(), 3);
        assert!(pieces.iter().all(|p| p.ends_with('\n')));
        assert_eq!(pieces[0].len(), 1000);
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn a_far_line_break_is_ignored() {
        let text = format!("ab\n{}", "é".repeat(100));
        let pieces = split_utf8(&text, 50);
        assert_eq!(pieces[0].len(), 49); // "ab\n" + 23 × "é"
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn short_and_empty_text() {
        assert_eq!(split_utf8("hi", 2048), vec!["hi"]);
        assert!(split_utf8("", 2048).is_empty());
        assert_eq!(split_utf8(&"😀".repeat(3), 1), vec!["😀"; 3]);
    }

    #[test]
    fn truncation_keeps_chars_whole_and_adds_an_ellipsis() {
        assert_eq!(truncate_utf8("short", 128), "short");
        let title = "标题".repeat(50); // 300 bytes
        let cut = truncate_utf8(&title, 128);
        assert!(cut.len() <= 128);
        assert!(cut.ends_with('…'));
        assert_eq!(cut.len(), 123 + 3); // 41 whole chars and "…"
        assert_eq!(truncate_chars("查看详情报告", 4), "查看详情");
    }
}
