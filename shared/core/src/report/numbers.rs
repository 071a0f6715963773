//! Numbers for people: thousands separators, sensible decimals, 万/亿 for Chinese readers and
//! K/M/B for English ones where a big number reads better short, and a KPI's change as ▲/▼ with a
//! percentage.
use crate::domain::contact::Language;

/// `1234567` → "1,234,567"; `1234.5` → "1,234.5"; `0.01234` → "0.0123"; at most 2 decimals
/// (4 below 1), trailing zeros dropped.
pub fn full(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let decimals = if value.abs() < 1.0 { 4 } else { 2 };
    let text = format!("{:.*}", decimals, value);
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f.trim_end_matches('0')),
        None => (text.as_str(), ""),
    };
    let (sign, digits) = match int.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", int),
    };
    let grouped = group(digits);
    let sign = if grouped == "0" && frac.is_empty() {
        ""
    } else {
        sign
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// A KPI or bar value, short where that reads better: Chinese `12.35万` from 100,000 and `1.23亿`
/// from 100,000,000; English `1.23M` from a million and `4.5B` from a billion; else [`full`].
pub fn compact(value: f64, language: Language) -> String {
    if !value.is_finite() {
        return full(value);
    }
    let abs = value.abs();
    let scaled = |divisor: f64, unit: &str| format!("{}{unit}", full(round2(value / divisor)));
    match language {
        Language::Zh if abs >= 1e8 => scaled(1e8, "亿"),
        Language::Zh if abs >= 1e5 => scaled(1e4, "万"),
        Language::En if abs >= 1e9 => scaled(1e9, "B"),
        Language::En if abs >= 1e6 => scaled(1e6, "M"),
        _ => full(value),
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// "1234567" → "1,234,567".
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Which way a KPI moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Up,
    Down,
    Flat,
}

/// A KPI's change against its previous value.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub trend: Trend,
    /// "▲ 12.3%", "▼ 4%", "— 0%"; against 0: "▲ +120".
    pub text: String,
}

/// The change from `previous` to `value`.
pub fn change(value: f64, previous: f64, language: Language) -> Change {
    let delta = value - previous;
    let trend = if delta > 0.0 {
        Trend::Up
    } else if delta < 0.0 {
        Trend::Down
    } else {
        Trend::Flat
    };
    let arrow = match trend {
        Trend::Up => "▲",
        Trend::Down => "▼",
        Trend::Flat => "—",
    };
    let text = if previous == 0.0 {
        if delta == 0.0 {
            format!("{arrow} 0%")
        } else {
            let sign = if delta > 0.0 { "+" } else { "" };
            format!("{arrow} {sign}{}", compact(delta, language))
        }
    } else {
        let pct = (delta / previous.abs() * 100.0).abs();
        let pct = if pct >= 100.0 {
            format!("{pct:.0}")
        } else {
            full((pct * 10.0).round() / 10.0)
        };
        format!("{arrow} {pct}%")
    };
    Change { trend, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_numbers_have_separators_and_few_decimals() {
        assert_eq!(full(1_234_567.0), "1,234,567");
        assert_eq!(full(1234.5), "1,234.5");
        assert_eq!(full(1234.567), "1,234.57");
        assert_eq!(full(-9876.0), "-9,876");
        assert_eq!(full(0.012345), "0.0123");
        assert_eq!(full(0.0), "0");
        assert_eq!(full(-0.00001), "0");
        assert_eq!(full(999.999), "1,000");
        assert_eq!(full(f64::NAN), "–");
    }

    #[test]
    fn chinese_readers_get_wan_and_yi() {
        assert_eq!(compact(12_345.0, Language::Zh), "12,345");
        assert_eq!(compact(123_456.0, Language::Zh), "12.35万");
        assert_eq!(compact(12_345_678.0, Language::Zh), "1,234.57万");
        assert_eq!(compact(123_456_789.0, Language::Zh), "1.23亿");
        assert_eq!(compact(-250_000_000.0, Language::Zh), "-2.5亿");
    }

    #[test]
    fn english_readers_get_millions_and_billions() {
        assert_eq!(compact(123_456.0, Language::En), "123,456");
        assert_eq!(compact(1_234_567.0, Language::En), "1.23M");
        assert_eq!(compact(4_500_000_000.0, Language::En), "4.5B");
    }

    #[test]
    fn changes_show_an_arrow_and_a_percentage() {
        assert_eq!(change(112.3, 100.0, Language::En).text, "▲ 12.3%");
        assert_eq!(change(96.0, 100.0, Language::En).trend, Trend::Down);
        assert_eq!(change(96.0, 100.0, Language::En).text, "▼ 4%");
        assert_eq!(change(350.0, 100.0, Language::En).text, "▲ 250%");
        assert_eq!(change(5.0, 5.0, Language::En).text, "— 0%");
        assert_eq!(change(120.0, 0.0, Language::En).text, "▲ +120");
        assert_eq!(change(-50.0, -100.0, Language::En).text, "▲ 50%");
    }
}
