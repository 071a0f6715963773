//! What a chart's figure says in words: a headline ("1.23亿 (▲ 5.2% vs 1.17亿)", "3 rows"), row
//! lines for instant messages ("East · 1,234"), a plain-text table with aligned columns for the
//! mail's text part, and a table for HTML mail.
use crate::domain::contact::Language;
use crate::domain::number_format::NumberFormat;
use crate::domain::report::{Cell, Figure, Series};
use crate::domain::text::is_cjk;
use crate::report::numbers::{Trend, change_shown, full, shown};
use serde::Serialize;

/// The words of the message itself, in its language.
#[derive(Debug, Clone, Copy)]
pub(super) struct Words {
    pub language: Language,
}

impl Words {
    pub fn zh(&self) -> bool {
        self.language == Language::Zh
    }

    pub fn rows(&self, n: usize) -> String {
        match (self.zh(), n) {
            (true, n) => format!("共 {} 行", full(n as f64)),
            (false, 1) => "1 row".to_owned(),
            (false, n) => format!("{} rows", full(n as f64)),
        }
    }

    pub fn no_data(&self) -> &'static str {
        if self.zh() { "无数据" } else { "no data" }
    }

    pub fn unreadable(&self, reason: &str) -> String {
        match (self.zh(), reason.is_empty()) {
            (true, true) => "无法读取".to_owned(),
            (true, false) => format!("无法读取（{reason}）"),
            (false, true) => "could not be read".to_owned(),
            (false, false) => format!("could not be read ({reason})"),
        }
    }

    pub fn unshowable(&self, reason: &str) -> String {
        if self.zh() {
            format!("无法展示（{reason}）")
        } else {
            format!("could not be shown ({reason})")
        }
    }

    pub fn more_rows(&self, n: usize) -> String {
        if self.zh() {
            format!("…另有 {n} 行")
        } else {
            format!("…and {n} more rows")
        }
    }

    pub fn more_charts(&self, n: usize) -> String {
        if self.zh() {
            format!("…另有 {n} 个图表")
        } else {
            format!("…and {n} more")
        }
    }

    pub fn state(&self, state: &str) -> &'static str {
        match (self.zh(), state) {
            (true, "ok") => "正常",
            (true, "empty") => "无数据",
            (true, _) => "无法读取",
            (false, "ok") => "ok",
            (false, "empty") => "empty",
            (false, _) => "unreadable",
        }
    }

    pub fn view_report(&self) -> &'static str {
        if self.zh() {
            "查看报表"
        } else {
            "View report"
        }
    }

    /// The textcard button: WeCom takes at most 4 characters.
    pub fn button(&self) -> &'static str {
        if self.zh() { "详情" } else { "View" }
    }

    pub fn kind_label(&self, kind: crate::domain::run::RunKind) -> &'static str {
        use crate::domain::run::RunKind;
        match (self.zh(), kind) {
            (_, RunKind::Scheduled | RunKind::Ticket) => "",
            (true, RunKind::Manual) => "[手动] ",
            (true, RunKind::Test) => "[测试] ",
            (false, RunKind::Manual) => "[Manual] ",
            (false, RunKind::Test) => "[Test] ",
        }
    }

    fn was(&self, change: &str, previous: &str) -> String {
        if self.zh() {
            format!("（{change}，上期 {previous}）")
        } else {
            format!(" ({change} vs {previous})")
        }
    }

    fn latest(&self, latest: &str, change: Option<&str>, low: &str, high: &str) -> String {
        let change = change
            .map(|c| {
                if self.zh() {
                    format!("（{c}）")
                } else {
                    format!(" ({c})")
                }
            })
            .unwrap_or_default();
        if self.zh() {
            format!("最新 {latest}{change} · 最低 {low} · 最高 {high}")
        } else {
            format!("latest {latest}{change} · min {low} · max {high}")
        }
    }
}

/// A table for HTML mail: cells already formatted; `bars` are the first series' lengths in
/// percent of the largest (bar charts only).
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct HtmlTable {
    pub columns: Vec<HtmlColumn>,
    pub rows: Vec<Vec<String>>,
    pub bars: Vec<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct HtmlColumn {
    pub name: String,
    pub numeric: bool,
}

/// A KPI as HTML mail and Feishu tiles show it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct KpiView {
    pub value: String,
    /// "▲ 5.2%"; empty without a previous value.
    pub change: String,
    pub previous: String,
    /// `up`, `down` or `flat`.
    pub trend: &'static str,
    /// The colour of the change: red up and green down for Chinese readers, the reverse in English.
    pub color: &'static str,
}

/// Everything a chart's figure says.
#[derive(Debug, Clone, Default)]
pub(super) struct FigureText {
    pub kind: &'static str,
    pub headline: String,
    /// Instant-message row lines, all of them (the fitter shows the first few).
    pub rows: Vec<String>,
    /// "Region · GMV" above a table's rows.
    pub header: Option<String>,
    pub total_rows: usize,
    pub table: Option<HtmlTable>,
    pub kpi: Option<KpiView>,
}

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
                }),
                kpi: None,
            }
        }
        Figure::Bar(series) => bars(series, words),
        Figure::Line(series) => line(series, words),
    }
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
