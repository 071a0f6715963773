//! Shares (pie, donut) and funnels in words: a line per slice with its percentage, a line per
//! step with its rates, and their tables for HTML mail and Feishu cards.
use super::words::{FigureText, HtmlColumn, HtmlTable, Words};
use crate::domain::report::{Series, Shares};
use crate::report::numbers::shown;
use crate::report::shares::step_rates;

fn percent(p: f64) -> String {
    format!("{p:.1}%")
}

/// A pie or donut: the total, then each slice (largest first, "other" last) with its share.
pub(super) fn shares(shares: &Shares, words: Words) -> FigureText {
    let language = words.language;
    let format = shares.format.as_ref();
    let slices: Vec<(String, f64)> = shares
        .slices
        .iter()
        .map(|s| (super::one_line(&s.label), s.value))
        .chain(shares.other.map(|v| (words.other().to_owned(), v)))
        .collect();
    let rows: Vec<String> = slices
        .iter()
        .map(|(label, v)| {
            format!(
                "{label}: {} ({})",
                shown(*v, format, language, true),
                percent(shares.percent(*v))
            )
        })
        .collect();
    let table = HtmlTable {
        columns: vec![
            HtmlColumn {
                name: shares.label_field.clone(),
                numeric: false,
            },
            HtmlColumn {
                name: shares.value_field.clone(),
                numeric: true,
            },
            HtmlColumn {
                name: words.share().to_owned(),
                numeric: true,
            },
        ],
        rows: slices
            .iter()
            .map(|(label, v)| {
                vec![
                    label.clone(),
                    shown(*v, format, language, false),
                    percent(shares.percent(*v)),
                ]
            })
            .collect(),
        bars: slices
            .iter()
            .map(|(_, v)| shares.percent(*v).round() as u32)
            .collect(),
        colors: Vec::new(),
    };
    FigureText {
        kind: "share",
        headline: format!(
            "{} {}",
            words.total(),
            shown(shares.total, format, language, true)
        ),
        total_rows: rows.len(),
        rows,
        header: None,
        table: Some(table),
        kpi: None,
    }
}

/// A funnel: the overall conversion, then each step with its rate of the step before and of
/// the first.
pub(super) fn funnel(series: &Series, words: Words) -> FigureText {
    let language = words.language;
    let Some(steps) = series.series.first() else {
        return FigureText::default();
    };
    let format = steps.format.as_ref();
    let values = &steps.values;
    let rate = |r: Option<f64>| r.map(percent).unwrap_or_else(|| "—".to_owned());
    let rows: Vec<String> = series
        .labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let value = shown(values[i], format, language, true);
            let label = super::one_line(label);
            if i == 0 {
                return format!("{label}: {value}");
            }
            let (before, first) = step_rates(values, i);
            if words.zh() {
                format!(
                    "{label}: {value}（{} {}，{} {}）",
                    words.of_previous(),
                    rate(before),
                    words.of_first(),
                    rate(first)
                )
            } else {
                format!(
                    "{label}: {value} ({} {}, {} {})",
                    rate(before),
                    words.of_previous(),
                    rate(first),
                    words.of_first()
                )
            }
        })
        .collect();
    let last = values.len().saturating_sub(1);
    let overall = rate(step_rates(values, last).1);
    let (first, final_step) = (
        values.first().map(|v| shown(*v, format, language, true)),
        values.last().map(|v| shown(*v, format, language, true)),
    );
    let headline = match (first, final_step, words.zh()) {
        (Some(a), Some(b), true) if last > 0 => format!("转化率 {overall}（{a} → {b}）"),
        (Some(a), Some(b), false) if last > 0 => format!("conversion {overall} ({a} → {b})"),
        _ => words.rows(series.total_rows),
    };
    let table = HtmlTable {
        columns: vec![
            HtmlColumn {
                name: series.label_field.clone(),
                numeric: false,
            },
            HtmlColumn {
                name: steps.name.clone(),
                numeric: true,
            },
            HtmlColumn {
                name: words.of_previous().to_owned(),
                numeric: true,
            },
            HtmlColumn {
                name: words.of_first().to_owned(),
                numeric: true,
            },
        ],
        rows: series
            .labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let (before, first) = step_rates(values, i);
                vec![
                    super::one_line(label),
                    shown(values[i], format, language, false),
                    if i == 0 { String::new() } else { rate(before) },
                    if i == 0 { String::new() } else { rate(first) },
                ]
            })
            .collect(),
        bars: values
            .iter()
            .map(|v| {
                step_rates(&[values[0], *v], 1)
                    .0
                    .map_or(0, |p| p.round() as u32)
            })
            .collect(),
        colors: Vec::new(),
    };
    FigureText {
        kind: "funnel",
        headline,
        total_rows: series.total_rows,
        rows,
        header: None,
        table: Some(table),
        kpi: None,
    }
}
