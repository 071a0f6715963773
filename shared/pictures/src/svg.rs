//! A small SVG writer: rectangles, text (escaped, cut to a width), lines and polylines.
use herald_core::domain::text::is_cjk;
use std::fmt::Write;

/// An SVG picture being drawn, in pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawing {
    pub width: u32,
    pub height: u32,
    body: String,
}

/// Where text is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Middle => "middle",
            Self::End => "end",
        }
    }
}

/// How a piece of text looks.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub size: f32,
    pub color: &'static str,
    pub anchor: Anchor,
}

impl Style {
    pub const fn new(size: f32, color: &'static str) -> Self {
        Self {
            size,
            color,
            anchor: Anchor::Start,
        }
    }

    pub const fn anchored(self, anchor: Anchor) -> Self {
        Self { anchor, ..self }
    }
}

impl Drawing {
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            body: String::new(),
        }
    }

    pub fn to_svg(&self) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{body}</svg>"#,
            w = self.width,
            h = self.height,
            body = self.body
        )
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: &str) {
        let _ = write!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{fill}"/>"#
        );
    }

    /// A card: a rounded rectangle with a thin border.
    pub fn card(&mut self, x: f32, y: f32, w: f32, h: f32) {
        let _ = write!(
            self.body,
            r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="10" fill="#ffffff" stroke="#e5e6eb" stroke-width="1"/>"##
        );
    }

    /// Text on the baseline `y`, cut with "…" to fit `max_width`.
    pub fn text(&mut self, x: f32, y: f32, text: &str, style: Style, max_width: f32) {
        let text = fit(text, style.size, max_width);
        if text.is_empty() {
            return;
        }
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{size:.1}" fill="{color}" text-anchor="{anchor}">{text}</text>"#,
            size = style.size,
            color = style.color,
            anchor = style.anchor.as_str(),
            text = escape(&text),
        );
    }

    pub fn line(&mut self, (x1, y1): (f32, f32), (x2, y2): (f32, f32), stroke: &str, width: f32) {
        let _ = write!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width:.1}"/>"#
        );
    }

    pub fn polyline(&mut self, points: &[(f32, f32)], stroke: &str, width: f32) {
        let mut list = String::with_capacity(points.len() * 12);
        for (x, y) in points {
            let _ = write!(list, "{x:.1},{y:.1} ");
        }
        let _ = write!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width:.1}" stroke-linejoin="round" stroke-linecap="round"/>"#,
            list.trim_end()
        );
    }

    pub fn circle(&mut self, (x, y): (f32, f32), r: f32, fill: &str) {
        let _ = write!(
            self.body,
            r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{fill}"/>"#
        );
    }

    /// A filled triangle pointing up or down (the KPI's trend), centred on `(x, y)`.
    pub fn triangle(&mut self, (x, y): (f32, f32), size: f32, up: bool, fill: &str) {
        let h = size * 0.5;
        let (tip, base) = if up { (y - h, y + h) } else { (y + h, y - h) };
        let _ = write!(
            self.body,
            r#"<path d="M{x:.1},{tip:.1} L{r:.1},{base:.1} L{l:.1},{base:.1} Z" fill="{fill}"/>"#,
            r = x + h,
            l = x - h,
        );
    }

    /// A filled path (`d` in SVG path syntax, built from numbers only), at `opacity`.
    pub fn path(&mut self, d: &str, fill: &str, opacity: f32) {
        let _ = write!(
            self.body,
            r#"<path d="{d}" fill="{fill}" fill-opacity="{opacity:.2}"/>"#
        );
    }

    /// A ring segment or a wedge: from angle `a0` to `a1` (radians, clockwise from 12 o'clock)
    /// between radii `inner` (0: a wedge) and `outer`, around `(cx, cy)`.
    pub fn wedge(
        &mut self,
        (cx, cy): (f32, f32),
        (inner, outer): (f32, f32),
        (a0, a1): (f32, f32),
        fill: &str,
    ) {
        let at = |r: f32, a: f32| (cx + r * a.sin(), cy - r * a.cos());
        let large = u8::from(a1 - a0 > std::f32::consts::PI);
        let (x0, y0) = at(outer, a0);
        let (x1, y1) = at(outer, a1);
        let mut d = format!("M{x0:.2},{y0:.2} A{outer:.2},{outer:.2} 0 {large} 1 {x1:.2},{y1:.2} ");
        if inner > 0.0 {
            let (x2, y2) = at(inner, a1);
            let (x3, y3) = at(inner, a0);
            let _ = write!(
                d,
                "L{x2:.2},{y2:.2} A{inner:.2},{inner:.2} 0 {large} 0 {x3:.2},{y3:.2} Z"
            );
        } else {
            let _ = write!(d, "L{cx:.2},{cy:.2} Z");
        }
        self.path(&d, fill, 1.0);
    }

    /// Draws `other` shifted by `(dx, dy)`.
    pub fn place(&mut self, other: &Drawing, dx: f32, dy: f32) {
        let _ = write!(
            self.body,
            r#"<g transform="translate({dx:.1},{dy:.1})">{}</g>"#,
            other.body
        );
    }
}

/// How wide `text` is drawn at `size` pixels: CJK characters one em, others about half.
pub fn width(text: &str, size: f32) -> f32 {
    text.chars().map(|c| char_width(c) * size).sum()
}

fn char_width(c: char) -> f32 {
    if is_cjk(c) {
        1.0
    } else if c.is_ascii_uppercase() || matches!(c, 'm' | 'w' | 'M' | 'W' | '%' | '@') {
        0.68
    } else if matches!(
        c,
        'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '!' | '|' | '\'' | ' '
    ) {
        0.3
    } else {
        0.56
    }
}

/// `text` on one line, cut with "…" so it is drawn within `max_width`.
pub fn fit(text: &str, size: f32, max_width: f32) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if width(&text, size) <= max_width {
        return text;
    }
    let budget = max_width - width("…", size);
    let mut out = String::new();
    let mut used = 0.0;
    for c in text.chars() {
        let w = char_width(c) * size;
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    if out.is_empty() {
        return String::new();
    }
    format!("{}…", out.trim_end())
}

/// XML-escapes text content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_cut_to_its_width() {
        assert_eq!(escape("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
        assert_eq!(fit("销售额", 20.0, 100.0), "销售额");
        let cut = fit(&"销售额".repeat(10), 20.0, 100.0);
        assert!(cut.ends_with('…') && width(&cut, 20.0) <= 100.0, "{cut}");
        assert_eq!(fit("abc", 20.0, 1.0), "");
    }
}
