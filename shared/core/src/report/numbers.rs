//! Numbers for people: thousands separators, sensible decimals, 万/亿 for Chinese readers and
//! K/M/B for English ones where a big number reads better short, and a KPI's change as ▲/▼ with a
//! percentage.
use crate::domain::contact::Language;
use crate::domain::number_format::{NumberFormat, NumberStyle};

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
    match short_unit_rounded(value, language, 2) {
        Some((divisor, unit)) => format!("{}{unit}", full(round2(value / divisor))),
        None => full(value),
    }
}

/// `value` as its field's `format` says; without one, [`compact`] where short reads better (KPIs,
/// bars, axes) and [`full`] elsewhere. Money and plain numbers keep 万/亿 (K/M/B) when short, with
/// the format's decimals if it gives them; percentages never shorten.
pub fn shown(value: f64, format: Option<&NumberFormat>, language: Language, short: bool) -> String {
    let Some(format) = format else {
        return if short {
            compact(value, language)
        } else {
            full(value)
        };
    };
    if !value.is_finite() {
        return full(value);
    }
    let money = format
        .currency
        .filter(|_| format.style == NumberStyle::Currency);
    let decimals = format
        .decimals
        .or(money.map(|currency| currency.decimals()));
    let text = match format.style {
        NumberStyle::Percent => format!("{}%", fixed(value * 100.0, decimals.unwrap_or(1))),
        // Short, only the format's own decimals hold: without them 万/亿 drop trailing zeros.
        _ => match (
            short.then(|| short_unit(value, language)).flatten(),
            format.decimals,
            decimals,
        ) {
            (Some(_), Some(d), _) => match short_unit_rounded(value, language, d) {
                Some((divisor, unit)) => format!("{}{unit}", fixed(value / divisor, d)),
                None => fixed(value, d),
            },
            (Some(_), None, _) => compact(value, language),
            (None, _, Some(d)) => fixed(value, d),
            (None, _, None) => full(value),
        },
    };
    let text = match money {
        Some(currency) => match text.strip_prefix('-') {
            Some(abs) => format!("-{}{abs}", currency.sign()),
            None => format!("{}{text}", currency.sign()),
        },
        None => text,
    };
    match &format.unit {
        // "120 ms", but "120元": a space before a word in Latin letters only.
        Some(unit) if unit.starts_with(|c: char| c.is_ascii_alphabetic()) => {
            format!("{text} {unit}")
        }
        Some(unit) => format!("{text}{unit}"),
        None => text,
    }
}

/// The short unit a number reads better in (divisor and suffix), as [`compact`] picks it.
fn short_unit(value: f64, language: Language) -> Option<(f64, &'static str)> {
    let abs = value.abs();
    match language {
        Language::Zh if abs >= 1e8 => Some((1e8, "亿")),
        Language::Zh if abs >= 1e5 => Some((1e4, "万")),
        Language::En if abs >= 1e9 => Some((1e9, "B")),
        Language::En if abs >= 1e6 => Some((1e6, "M")),
        _ => None,
    }
}

/// The short unit `value` reads in once rounded to `decimals` in it: 99,999,999.5 is "1亿", not
/// "10,000万".
fn short_unit_rounded(value: f64, language: Language, decimals: u8) -> Option<(f64, &'static str)> {
    let (divisor, _) = short_unit(value, language)?;
    short_unit(
        round_half_away(value / divisor, decimals) * divisor,
        language,
    )
}

/// `value` rounded half away from zero to `decimals` (as people round: 0.125 → 0.13, where
/// `format!` rounds a tie to even).
fn round_half_away(value: f64, decimals: u8) -> f64 {
    let scale = 10f64.powi(i32::from(decimals));
    (value * scale).round() / scale
}

/// `value` with exactly `decimals` decimals, grouped in thousands.
fn fixed(value: f64, decimals: u8) -> String {
    let rounded = round_half_away(value, decimals);
    let text = format!("{:.*}", usize::from(decimals), rounded.abs());
    let (int, frac) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let negative = rounded < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0');
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{}", group(int))
    } else {
        format!("{sign}{}.{frac}", group(int))
    }
}

/// A KPI's change as its field reads: a percentage's in points ("▲ 0.8pp", "▲ 0.8个百分点"; a
/// change that rounds to nothing is flat), any other's as [`change`].
pub fn change_shown(
    value: f64,
    previous: f64,
    format: Option<&NumberFormat>,
    language: Language,
) -> Change {
    let Some(format) = format.filter(|f| f.style == NumberStyle::Percent) else {
        let mut change = change(value, previous, language);
        // Against nothing the change is an amount: in the field's own money or unit.
        if previous == 0.0 && value != 0.0 && format.is_some() {
            let arrow = change.text.split(' ').next().unwrap_or("—").to_owned();
            let sign = if value > 0.0 { "+" } else { "" };
            change.text = format!("{arrow} {sign}{}", shown(value, format, language, true));
        }
        return change;
    };
    let decimals = format.decimals.unwrap_or(1);
    let points = round_half_away((value - previous) * 100.0, decimals);
    let (trend, arrow) = if points > 0.0 {
        (Trend::Up, "▲")
    } else if points < 0.0 {
        (Trend::Down, "▼")
    } else {
        (Trend::Flat, "—")
    };
    let points = fixed(points.abs(), decimals);
    let text = match language {
        Language::Zh => format!("{arrow} {points}个百分点"),
        Language::En => format!("{arrow} {points}pp"),
    };
    Change { trend, text }
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

    #[test]
    fn a_fields_format_decides_how_its_numbers_read() {
        use crate::domain::number_format::{Currency, NumberFormat, NumberStyle};
        let percent = NumberFormat::new(NumberStyle::Percent, Some(1), None, None).unwrap();
        let yuan =
            NumberFormat::new(NumberStyle::Currency, None, Some(Currency::Cny), None).unwrap();
        let ms = NumberFormat::new(NumberStyle::Number, Some(0), None, Some("ms".into())).unwrap();
        let pieces = NumberFormat::new(NumberStyle::Number, None, None, Some("件".into())).unwrap();
        assert_eq!(shown(0.0734, Some(&percent), Language::Zh, true), "7.3%");
        assert_eq!(shown(0.0734, Some(&percent), Language::En, false), "7.3%");
        assert_eq!(
            shown(123_456_789.0, Some(&yuan), Language::Zh, true),
            "¥1.23亿"
        );
        assert_eq!(shown(1234.5, Some(&yuan), Language::Zh, false), "¥1,234.50");
        assert_eq!(shown(-98.0, Some(&yuan), Language::En, true), "-¥98.00");
        assert_eq!(shown(119.6, Some(&ms), Language::En, true), "120 ms");
        assert_eq!(shown(12.0, Some(&pieces), Language::Zh, true), "12件");
        assert_eq!(shown(0.0734, None, Language::Zh, true), "0.0734");
        assert_eq!(
            change_shown(0.081, 0.073, Some(&percent), Language::Zh).text,
            "▲ 0.8个百分点"
        );
        assert_eq!(
            change_shown(0.065, 0.073, Some(&percent), Language::En).text,
            "▼ 0.8pp"
        );
        assert_eq!(
            change_shown(110.0, 100.0, Some(&yuan), Language::En).text,
            "▲ 10%"
        );
    }
}
