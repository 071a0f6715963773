//! What a chart's figure says in words: a headline ("1.23亿 (▲ 5.2% vs 1.17亿)", "3 rows"), row
//! lines for instant messages ("East · 1,234"), a plain-text table with aligned columns for the
//! mail's text part, and a table for HTML mail.
use super::words::CellTone;
pub(super) use super::words::{FigureText, HtmlColumn, HtmlTable, KpiView, Words};
use crate::domain::contact::Language;
use crate::domain::number_format::NumberFormat;
use crate::domain::report::{Cell, Column, Figure, Series};
use crate::domain::text::is_cjk;
use crate::report::numbers::{Trend, change_shown, shown};

pub(super) fn trend_color(trend: Trend, language: Language) -> &'static str {
    match (trend, language) {
        (Trend::Flat, _) => "#646a73",
        (Trend::Up, Language::Zh) | (Trend::Down, Language::En) => "#d83931",
        (Trend::Down, Language::Zh) | (Trend::Up, Language::En) => "#2ea121",
    }
}

fn trend_name(trend: Trend) -> &'static str {
    match trend {
        Trend::Up => "up",
        Trend::Down => "down",
        Trend::Flat => "flat",
    }
}

/// A table cell as its column's format says (numbers in full: a table shows the figure whole).
pub(super) fn cell_text(cell: &Cell, format: Option<&NumberFormat>, language: Language) -> String {
    match cell {
        Cell::Number(n) => shown(*n, format, language, false),
        Cell::Text(t) => super::one_line(t),
        Cell::Bool(b) => b.to_string(),
        Cell::Empty => String::new(),
    }
}

/// What `figure` says in `words`' language.
pub(super) fn describe(figure: &Figure, words: Words) -> FigureText {
    let language = words.language;
    match figure {
        Figure::Kpi {
            value,
            previous,
            format,
            ..
        } => {
            let format = format.as_ref();
            let value_text = shown(*value, format, language, true);
            let kpi = match previous {
                Some(previous) => {
                    let c = change_shown(*value, *previous, format, language);
                    KpiView {
                        value: value_text.clone(),
                        change: c.text.clone(),
                        previous: shown(*previous, format, language, true),
                        trend: trend_name(c.trend),
                        color: trend_color(c.trend, language),
                    }
                }
                None => KpiView {
                    value: value_text.clone(),
                    change: String::new(),
                    previous: String::new(),
                    trend: "flat",
                    color: trend_color(Trend::Flat, language),
                },
            };
            let headline = if kpi.change.is_empty() {
                value_text
            } else {
                format!("{value_text}{}", words.was(&kpi.change, &kpi.previous))
            };
            FigureText {
                kind: "kpi",
                headline,
                total_rows: 1,
                kpi: Some(kpi),
                ..FigureText::default()
            }
        }
        Figure::Count { rows } => FigureText {
            kind: "count",
            headline: words.rows(*rows),
            total_rows: *rows,
            ..FigureText::default()
        },
        Figure::Table {
            columns,
            rows,
            total_rows,
        } => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .zip(columns)
                        .map(|(cell, column)| cell_text(cell, column.format.as_ref(), language))
                        .collect()
                })
                .collect();
            FigureText {
                kind: "table",
                headline: words.rows(*total_rows),
                rows: cells.iter().map(|r| r.join(" · ")).collect(),
                header: Some(
                    columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" · "),
                ),
                total_rows: *total_rows,
                table: Some(HtmlTable {
                    columns: columns
                        .iter()
                        .map(|c| HtmlColumn {
                            name: c.name.clone(),
                            numeric: c.numeric,
                        })
                        .collect(),
                    rows: cells,
                    bars: Vec::new(),
                    colors: cell_colors(columns, rows),
                }),
                kpi: None,
            }
        }
        Figure::Bar(series) | Figure::Combo(series) => bars(series, words),
        Figure::StackedBar(series) => with_totals(bars(series, words), series, words),
        Figure::Line(series) | Figure::Area(series) => line(series, words),
        Figure::Pie(shares) | Figure::Donut(shares) => super::shapes::shares(shares, words),
        Figure::Funnel(series) => super::shapes::funnel(series, words),
    }
}

/// Each cell's colour by its column's rules; none when no column has rules.
fn cell_colors(columns: &[Column], rows: &[Vec<Cell>]) -> Vec<Vec<Option<CellTone>>> {
    if columns.iter().all(|c| c.rules.is_empty()) {
        return Vec::new();
    }
    rows.iter()
        .map(|row| {
            row.iter()
                .zip(columns)
                .map(|(cell, column)| column.color_of(cell).map(CellTone::from))
                .collect()
        })
        .collect()
}

/// Stacked bars: each label's total after its values, and a total column.
fn with_totals(mut text: FigureText, series: &Series, words: Words) -> FigureText {
    let language = words.language;
    let format = series
        .series
        .first()
        .and_then(|s| s.format.as_ref())
        .filter(|f| series.series.iter().all(|s| s.format.as_ref() == Some(*f)));
    let totals: Vec<f64> = (0..series.labels.len())
        .map(|i| series.series.iter().map(|s| s.values[i]).sum())
        .collect();
    for (row, total) in text.rows.iter_mut().zip(&totals) {
        row.push_str(&format!(
            " · {} {}",
            words.total(),
            shown(*total, format, language, true)
        ));
    }
    if let Some(table) = text.table.as_mut() {
        table.columns.push(HtmlColumn {
            name: words.total().to_owned(),
            numeric: true,
        });
        for (row, total) in table.rows.iter_mut().zip(&totals) {
            row.push(shown(*total, format, language, false));
        }
    }
    text
}

fn bars(series: &Series, words: Words) -> FigureText {
    let language = words.language;
    let one = series.series.len() == 1;
    let rows = series
        .labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let values: Vec<String> = series
                .series
                .iter()
                .map(|s| {
                    let v = shown(s.values[i], s.format.as_ref(), language, true);
                    if one { v } else { format!("{} {v}", s.name) }
                })
                .collect();
            format!("{}: {}", super::one_line(label), values.join(" · "))
        })
        .collect();
    let max = series
        .series
        .first()
        .map(|s| s.values.iter().fold(0.0_f64, |m, v| m.max(v.abs())))
        .unwrap_or(0.0);
    let table = HtmlTable {
        columns: std::iter::once(HtmlColumn {
            name: series.label_field.clone(),
            numeric: false,
        })
        .chain(series.series.iter().map(|s| HtmlColumn {
            name: s.name.clone(),
            numeric: true,
        }))
        .collect(),
        rows: series
            .labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                std::iter::once(super::one_line(label))
                    .chain(
                        series
                            .series
                            .iter()
                            .map(|s| shown(s.values[i], s.format.as_ref(), language, false)),
                    )
                    .collect()
            })
            .collect(),
        bars: series
            .series
            .first()
            .map(|s| {
                s.values
                    .iter()
                    .map(|v| {
                        if max > 0.0 {
                            ((v.abs() / max) * 100.0).round() as u32
                        } else {
                            0
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
        colors: Vec::new(),
    };
    FigureText {
        kind: "bar",
        headline: words.rows(series.total_rows),
        rows,
        header: None,
        total_rows: series.total_rows,
        table: Some(table),
        kpi: None,
    }
}

fn line(series: &Series, words: Words) -> FigureText {
    let language = words.language;
    let headline = series
        .series
        .iter()
        .filter_map(|s| {
            let latest = *s.values.last()?;
            let (low, high) = s
                .values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(*v), hi.max(*v))
                });
            let before = s.values.len().checked_sub(2).map(|i| s.values[i]);
            let format = s.format.as_ref();
            let c = before.map(|b| change_shown(latest, b, format, language).text);
            let text = words.latest(
                &shown(latest, format, language, true),
                c.as_deref(),
                &shown(low, format, language, true),
                &shown(high, format, language, true),
            );
            Some(if series.series.len() > 1 {
                format!("{} {text}", s.name)
            } else {
                text
            })
        })
        .collect::<Vec<_>>()
        .join("; ");
    FigureText {
        kind: "line",
        headline,
        total_rows: series.total_rows,
        ..FigureText::default()
    }
}

/// How many columns `text` takes in a fixed-width font: CJK characters take two.
fn columns_of(text: &str) -> usize {
    text.chars().map(|c| if is_cjk(c) { 2 } else { 1 }).sum()
}

/// A plain-text table: header, rule, rows; numbers right-aligned, columns padded.
pub(super) fn aligned(table: &HtmlTable, max_rows: usize) -> Vec<String> {
    let rows: Vec<&Vec<String>> = table.rows.iter().take(max_rows).collect();
    let widths: Vec<usize> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|t| columns_of(t))
                .chain(std::iter::once(columns_of(&c.name)))
                .max()
                .unwrap_or(0)
                .min(40)
        })
        .collect();
    let pad = |text: &str, i: usize| {
        let text: String = super::ellipsize(text, 80).into_owned();
        let fill = " ".repeat(widths[i].saturating_sub(columns_of(&text)));
        if table.columns[i].numeric {
            format!("{fill}{text}")
        } else {
            format!("{text}{fill}")
        }
    };
    let line = |cells: Vec<String>| cells.join("  ").trim_end().to_owned();
    let mut out = vec![line(
        table
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| pad(&c.name, i))
            .collect(),
    )];
    out.push(line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.push(line(
            (0..table.columns.len())
                .map(|i| pad(row.get(i).map(String::as_str).unwrap_or(""), i))
                .collect(),
        ));
    }
    out
}
