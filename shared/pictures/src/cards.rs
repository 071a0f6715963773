//! Chart cards and the page grid. Every card is drawn at the origin and placed by the grid.
use crate::kinds;
use crate::style::{FAINT, GRID, INK, MUTED, PAD, TILE, more_line, words};
use crate::svg::{Anchor, Drawing, Style, width};
use herald_core::domain::contact::Language;
use herald_core::domain::number_format::NumberFormat;
use herald_core::domain::report::{
    Cell, ChartOutcome, ChartReport, Column, Figure, PageReport, Series,
};
use herald_core::report::numbers::{Trend, change_shown, full, shown};

const PAGE_WIDTH: f32 = 1200.0;
const MARGIN: f32 = 32.0;
const GAP: f32 = 24.0;
const CARD_WIDTH: f32 = (PAGE_WIDTH - 2.0 * MARGIN - GAP) / 2.0;
const HEADER: f32 = 112.0;
const ROW: f32 = 32.0;

const BACKGROUND: &str = "#f5f6f7";
const ORANGE: &str = "#de7802";
const RED: &str = "#f54a45";
const GREEN: &str = "#2ea121";

/// Up is red and down green for Chinese readers, the other way round for English ones.
fn trend_color(trend: Trend, language: Language) -> &'static str {
    match (trend, language) {
        (Trend::Flat, _) => MUTED,
        (Trend::Up, Language::Zh) | (Trend::Down, Language::En) => RED,
        (Trend::Down, Language::Zh) | (Trend::Up, Language::En) => GREEN,
    }
}

/// The most pixels a page snapshot may have (8 megapixels: 1200 × 6,666 px, a 32 MiB pixmap
/// while drawn). A taller page keeps its first charts and ends with "…N more charts": the text
/// message carries every chart's figures, and a picture taller than a phone's few screens is not
/// read anyway; a second picture would double the uploads and the quota each push costs.
pub const MAX_PAGE_PIXELS: u64 = 8_000_000;
/// The tallest page within [`MAX_PAGE_PIXELS`].
const MAX_PAGE_HEIGHT: f32 = (MAX_PAGE_PIXELS / PAGE_WIDTH as u64) as f32;
/// Room for the "…N more charts" line.
const MORE_CHARTS: f32 = 48.0;

/// The dashboard picture: title and time, then the charts in a two-column grid, page order, as
/// many as fit [`MAX_PAGE_PIXELS`].
pub fn page(page: &PageReport) -> Drawing {
    let mut rows: Vec<(f32, Vec<Drawing>)> = Vec::new();
    let mut grid = 0.0;
    let mut drawn = 0;
    for pair in page.charts.chunks(2) {
        let cards: Vec<Drawing> = pair
            .iter()
            .map(|chart| card(chart, page.language, CARD_WIDTH))
            .collect();
        let height = cards.iter().map(|c| c.height as f32).fold(0.0, f32::max);
        let left = page.charts.len() - drawn - pair.len();
        let room = if left > 0 { MORE_CHARTS } else { 0.0 };
        // The first row is always drawn (the rasteriser scales a page over budget down).
        if !rows.is_empty() && HEADER + grid + height + GAP + room + MARGIN > MAX_PAGE_HEIGHT {
            break;
        }
        grid += height + GAP;
        drawn += pair.len();
        rows.push((height, cards));
    }
    let hidden = page.charts.len() - drawn;
    let more = if hidden > 0 { MORE_CHARTS } else { 0.0 };
    let height = (HEADER + grid + more + MARGIN - GAP).max(HEADER + MARGIN);
    let mut out = Drawing::new(PAGE_WIDTH as u32, height.ceil() as u32);
    out.rect(0.0, 0.0, PAGE_WIDTH, height, BACKGROUND);
    let text_width = PAGE_WIDTH - 2.0 * MARGIN;
    out.text(MARGIN, 58.0, &page.title, Style::new(34.0, INK), text_width);
    out.text(
        MARGIN,
        92.0,
        &page.subtitle,
        Style::new(19.0, FAINT),
        text_width,
    );
    let mut y = HEADER;
    for (height, pair) in &rows {
        for (i, card) in pair.iter().enumerate() {
            let x = MARGIN + i as f32 * (CARD_WIDTH + GAP);
            out.card(x, y, CARD_WIDTH, *height);
            out.place(card, x, y);
        }
        y += height + GAP;
    }
    if hidden > 0 {
        let note = match page.language {
            Language::Zh => format!("…另有 {hidden} 个图表未画出，数据见消息正文"),
            Language::En => format!("…and {hidden} more charts: their figures are in the message"),
        };
        out.text(MARGIN, y + 24.0, &note, Style::new(19.0, MUTED), text_width);
    }
    out
}

/// One chart on its own, on the page background.
pub fn single(chart: &ChartReport, language: Language) -> Drawing {
    let inner = card(chart, language, CARD_WIDTH);
    let mut out = Drawing::new(
        (CARD_WIDTH + 2.0 * GAP) as u32,
        inner.height + 2 * GAP as u32,
    );
    out.rect(0.0, 0.0, out.width as f32, out.height as f32, BACKGROUND);
    out.card(GAP, GAP, CARD_WIDTH, inner.height as f32);
    out.place(&inner, GAP, GAP);
    out
}

/// A card's content (no frame), `w` wide; its height depends on what it shows.
fn card(chart: &ChartReport, language: Language, w: f32) -> Drawing {
    let words = words(language);
    let mut body = match &chart.outcome {
        ChartOutcome::Shown(Figure::Kpi {
            value,
            previous,
            format,
            ..
        }) => kpi(*value, *previous, format.as_ref(), language, w),
        ChartOutcome::Shown(Figure::Count { rows }) => {
            big_number(&format!("{} {}", full(*rows as f64), words.rows), w)
        }
        ChartOutcome::Shown(Figure::Bar(series)) => bars(series, language, w),
        ChartOutcome::Shown(Figure::Line(series)) => line(series, language, w),
        ChartOutcome::Shown(Figure::Pie(shares)) => kinds::shares(shares, false, language, w),
        ChartOutcome::Shown(Figure::Donut(shares)) => kinds::shares(shares, true, language, w),
        ChartOutcome::Shown(Figure::StackedBar(series)) => kinds::stacked_bars(series, language, w),
        ChartOutcome::Shown(Figure::Area(series)) => kinds::areas(series, language, w),
        ChartOutcome::Shown(Figure::Combo(series)) => kinds::combo(series, language, w),
        ChartOutcome::Shown(Figure::Funnel(series)) => kinds::funnel(series, language, w),
        ChartOutcome::Shown(Figure::Table {
            columns,
            rows,
            total_rows,
        }) => table(columns, rows, *total_rows, language, w),
        ChartOutcome::Empty => problem(words.no_data, None, ORANGE, w),
        ChartOutcome::Unreadable(reason) => problem(words.unreadable, Some(reason), RED, w),
    };
    body.text(
        PAD,
        PAD + 20.0,
        &chart.name,
        Style::new(21.0, INK),
        w - 2.0 * PAD,
    );
    body
}

fn big_number(text: &str, w: f32) -> Drawing {
    let mut d = Drawing::new(w as u32, TILE as u32);
    d.text(PAD, 112.0, text, Style::new(46.0, INK), w - 2.0 * PAD);
    d
}

fn kpi(
    value: f64,
    previous: Option<f64>,
    format: Option<&NumberFormat>,
    language: Language,
    w: f32,
) -> Drawing {
    let mut d = big_number(&shown(value, format, language, true), w);
    if let Some(previous) = previous {
        let change = change_shown(value, previous, format, language);
        let color = trend_color(change.trend, language);
        // The arrow is drawn, so it never depends on the font having ▲/▼.
        let percent = change.text.trim_start_matches(['▲', '▼', '—']).trim();
        let mut x = PAD;
        if change.trend != Trend::Flat {
            d.triangle((PAD + 8.0, 143.0), 16.0, change.trend == Trend::Up, color);
            x += 24.0;
        }
        d.text(x, 150.0, percent, Style::new(21.0, color), w / 2.0);
        let was = match language {
            Language::Zh => format!("上期 {}", shown(previous, format, language, true)),
            Language::En => format!("was {}", shown(previous, format, language, true)),
        };
        let right = x + width(percent, 21.0) + 16.0;
        d.text(right, 150.0, &was, Style::new(19.0, FAINT), w - right - PAD);
    }
    d
}

fn problem(headline: &str, reason: Option<&String>, color: &'static str, w: f32) -> Drawing {
    let mut d = Drawing::new(w as u32, TILE as u32);
    d.text(PAD, 100.0, headline, Style::new(30.0, color), w - 2.0 * PAD);
    if let Some(reason) = reason {
        d.text(PAD, 140.0, reason, Style::new(17.0, FAINT), w - 2.0 * PAD);
    }
    d
}

/// Horizontal bars: one row per label, one thin bar per series, the value at the bar's end.
fn bars(series: &Series, language: Language, w: f32) -> Drawing {
    let n = series.labels.len();
    let lanes = series.series.len().max(1);
    let row_h = (ROW - 8.0).max(10.0 * lanes as f32 + 14.0);
    let more = if series.total_rows > n { 30.0 } else { 0.0 };
    let names: Vec<&str> = series.series.iter().map(|s| s.name.as_str()).collect();
    let legend = kinds::legend(&mut Drawing::new(w as u32, 0), &names, 64.0, w);
    let height = 64.0 + legend + n as f32 * row_h + more + PAD;
    let mut d = Drawing::new(w as u32, height.max(TILE) as u32);
    let label_w = 150.0;
    let value_w = 96.0;
    let bar_x = PAD + label_w + 8.0;
    let bar_w = w - bar_x - value_w - PAD;
    let max = series
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0_f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    let mut y = 64.0 + kinds::legend(&mut d, &names, 64.0, w);
    for (row, label) in series.labels.iter().enumerate() {
        let mid = y + row_h / 2.0;
        d.text(PAD, mid + 6.0, label, Style::new(16.0, MUTED), label_w);
        let lane_h = ((row_h - 8.0) / lanes as f32).min(16.0);
        let top = mid - lane_h * lanes as f32 / 2.0;
        for (i, s) in series.series.iter().enumerate() {
            let v = s.values.get(row).copied().unwrap_or(0.0);
            let len = ((v.abs() / max) as f32 * bar_w).max(2.0);
            let lane_y = top + i as f32 * lane_h;
            d.rect(bar_x, lane_y + 1.0, len, lane_h - 2.0, kinds::color(i));
            if lanes == 1 || i == 0 {
                d.text(
                    bar_x + len + 6.0,
                    mid + 6.0,
                    &shown(v, s.format.as_ref(), language, true),
                    Style::new(15.0, INK),
                    value_w + bar_w - len,
                );
            }
        }
        y += row_h;
    }
    more_line(&mut d, y, n, series.total_rows, language);
    d
}

/// A line per series, with the latest value of the first series called out.
fn line(series: &Series, language: Language, w: f32) -> Drawing {
    let names: Vec<&str> = series.series.iter().map(|s| s.name.as_str()).collect();
    // Several lines get a legend under the latest value.
    let legend = kinds::legend(&mut Drawing::new(w as u32, 0), &names, 86.0, w);
    let height = 300.0 + legend;
    let mut d = Drawing::new(w as u32, height as u32);
    kinds::legend(&mut d, &names, 86.0, w);
    let (left, right, top, bottom) = (PAD + 64.0, w - PAD, 92.0 + legend, height - 44.0);
    let values = series.series.iter().flat_map(|s| s.values.iter().copied());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() || series.labels.is_empty() {
        return d;
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = series.labels.len();
    let x_of = |i: usize| {
        if n <= 1 {
            (left + right) / 2.0
        } else {
            left + (right - left) * i as f32 / (n - 1) as f32
        }
    };
    let y_of = |v: f64| bottom - ((v - lo) / span) as f32 * (bottom - top);
    // The axis reads as its series do when they share one format (a percent and a count on one
    // axis read as plain numbers).
    let axis_format = series
        .series
        .first()
        .and_then(|s| s.format.as_ref())
        .filter(|f| series.series.iter().all(|s| s.format.as_ref() == Some(*f)));
    for v in [lo, hi] {
        let y = y_of(v);
        d.line((left, y), (right, y), GRID, 1.0);
        d.text(
            left - 8.0,
            y + 5.0,
            &shown(v, axis_format, language, true),
            Style::new(14.0, FAINT).anchored(Anchor::End),
            left - PAD,
        );
    }
    for (i, s) in series.series.iter().enumerate() {
        let points: Vec<(f32, f32)> = s
            .values
            .iter()
            .enumerate()
            .map(|(j, v)| (x_of(j), y_of(*v)))
            .collect();
        d.polyline(&points, kinds::color(i), 2.5);
        if let Some(last) = points.last() {
            d.circle(*last, 4.0, kinds::color(i));
        }
    }
    let first_label = &series.labels[0];
    let last_label = &series.labels[n - 1];
    d.text(
        left,
        height - 16.0,
        first_label,
        Style::new(14.0, FAINT),
        200.0,
    );
    d.text(
        right,
        height - 16.0,
        last_label,
        Style::new(14.0, FAINT).anchored(Anchor::End),
        200.0,
    );
    if let Some(first) = series.series.first()
        && let Some(latest) = first.values.last()
    {
        let format = first.format.as_ref();
        let latest_text = shown(*latest, format, language, true);
        d.text(PAD, 76.0, &latest_text, Style::new(28.0, INK), w / 2.0);
        if n >= 2 {
            let before = first.values[first.values.len() - 2];
            let change = change_shown(*latest, before, format, language);
            d.text(
                PAD + width(&latest_text, 28.0) + 14.0,
                76.0,
                &change.text,
                Style::new(17.0, trend_color(change.trend, language)),
                w / 2.0,
            );
        }
    }
    d
}

fn cell_text(cell: &Cell, format: Option<&NumberFormat>, language: Language) -> String {
    match cell {
        Cell::Number(n) => shown(*n, format, language, false),
        Cell::Text(t) => t.clone(),
        Cell::Bool(b) => b.to_string(),
        Cell::Empty => String::new(),
    }
}

/// A table: the header, then one line per row; numbers right-aligned.
fn table(
    columns: &[Column],
    rows: &[Vec<Cell>],
    total: usize,
    language: Language,
    w: f32,
) -> Drawing {
    let more = if total > rows.len() { 30.0 } else { 0.0 };
    let height = 60.0 + (rows.len() + 1) as f32 * ROW + more + PAD / 2.0;
    let mut d = Drawing::new(w as u32, height.max(TILE) as u32);
    if columns.is_empty() {
        return d;
    }
    let inner = w - 2.0 * PAD;
    // The first column is twice as wide as the others.
    let units = columns.len() as f32 + 1.0;
    let col_w = |i: usize| inner / units * if i == 0 { 2.0 } else { 1.0 };
    let col_x = |i: usize| PAD + (0..i).map(col_w).sum::<f32>();
    let mut y = 60.0;
    d.rect(PAD, y, inner, ROW, "#f2f3f5");
    let draw_row = |d: &mut Drawing, y: f32, cells: Vec<(String, &'static str)>| {
        for (i, ((text, color), column)) in cells.iter().zip(columns).enumerate() {
            let (x, anchor) = if column.numeric {
                (col_x(i) + col_w(i) - 8.0, Anchor::End)
            } else {
                (col_x(i) + 8.0, Anchor::Start)
            };
            d.text(
                x,
                y + 21.0,
                text,
                Style::new(15.0, color).anchored(anchor),
                col_w(i) - 16.0,
            );
        }
    };
    draw_row(
        &mut d,
        y,
        columns.iter().map(|c| (c.name.clone(), MUTED)).collect(),
    );
    y += ROW;
    for row in rows {
        // A cell whose number meets its column's rule takes the rule's colour.
        let cells = row
            .iter()
            .zip(columns)
            .map(|(cell, column)| {
                let color = column.color_of(cell).map_or(INK, |c| c.hex());
                (cell_text(cell, column.format.as_ref(), language), color)
            })
            .collect();
        draw_row(&mut d, y, cells);
        y += ROW;
        d.line((PAD, y), (PAD + inner, y), GRID, 1.0);
    }
    more_line(&mut d, y, rows.len(), total, language);
    d
}
