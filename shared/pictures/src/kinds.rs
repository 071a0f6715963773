//! The chart kinds beyond tiles, tables, bars and lines: pies and donuts with their legend,
//! stacked bars, stacked areas, bars with a line on a second axis, and funnels; and the legend
//! every chart with several series shows.
use crate::style::{FAINT, GRID, INK, MUTED, PAD, PALETTE, TILE, more_line};
use crate::svg::{Anchor, Drawing, Style, width};
use herald_core::domain::contact::Language;
use herald_core::domain::number_format::NumberFormat;
use herald_core::domain::report::{Series, Shares};
use herald_core::report::numbers::shown;
use herald_core::report::shares::step_rates;

pub(crate) fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A row of swatches with names at `y`; the height it took (0 for fewer than two names).
pub(crate) fn legend(d: &mut Drawing, names: &[&str], y: f32, w: f32) -> f32 {
    if names.len() < 2 {
        return 0.0;
    }
    let mut x = PAD;
    let mut top = y;
    for (i, name) in names.iter().enumerate() {
        let text_w = width(name, 15.0).min(160.0);
        if x + 26.0 + text_w > w - PAD && x > PAD {
            x = PAD;
            top += 22.0;
        }
        d.rect(x, top + 4.0, 12.0, 12.0, color(i));
        d.text(x + 18.0, top + 15.0, name, Style::new(15.0, MUTED), 160.0);
        x += 30.0 + text_w;
    }
    top - y + 28.0
}

fn other_word(language: Language) -> &'static str {
    match language {
        Language::Zh => "其他",
        Language::En => "Other",
    }
}

/// A pie (or a donut, the total in its hole) on the left, the slices' legend with value and
/// share on the right.
pub(crate) fn shares(shares: &Shares, donut: bool, language: Language, w: f32) -> Drawing {
    let format = shares.format.as_ref();
    let slices: Vec<(String, f64)> = shares
        .slices
        .iter()
        .map(|s| (s.label.clone(), s.value))
        .chain(shares.other.map(|v| (other_word(language).to_owned(), v)))
        .collect();
    let radius: f32 = 96.0;
    let height = (64.0 + 2.0 * radius + 24.0).max(72.0 + slices.len() as f32 * 28.0);
    let mut d = Drawing::new(w as u32, height as u32);
    let centre = (PAD + radius + 4.0, 64.0 + radius + 4.0);
    let inner = if donut { radius * 0.58 } else { 0.0 };
    let full = std::f32::consts::TAU;
    let mut angle = 0.0_f32;
    for (i, (_, value)) in slices.iter().enumerate() {
        let sweep = (shares.percent(*value) / 100.0) as f32 * full;
        if sweep >= full - 1e-3 {
            // One slice is the whole: two halves (an arc cannot end where it starts).
            d.wedge(centre, (inner, radius), (0.0, full / 2.0), color(i));
            d.wedge(centre, (inner, radius), (full / 2.0, full), color(i));
        } else if sweep > 0.0 {
            d.wedge(centre, (inner, radius), (angle, angle + sweep), color(i));
        }
        angle += sweep;
    }
    if donut {
        let total = shown(shares.total, format, language, true);
        d.text(
            centre.0,
            centre.1 + 9.0,
            &total,
            Style::new(24.0, INK).anchored(Anchor::Middle),
            inner * 1.8,
        );
    }
    let x = centre.0 + radius + 28.0;
    for (i, (label, value)) in slices.iter().enumerate() {
        let y = 72.0 + i as f32 * 28.0;
        d.rect(x, y, 12.0, 12.0, color(i));
        let right = format!(
            "{} · {:.1}%",
            shown(*value, format, language, true),
            shares.percent(*value)
        );
        d.text(
            w - PAD,
            y + 11.0,
            &right,
            Style::new(15.0, INK).anchored(Anchor::End),
            150.0,
        );
        d.text(
            x + 18.0,
            y + 11.0,
            label,
            Style::new(15.0, MUTED),
            w - PAD - 150.0 - x - 26.0,
        );
    }
    d
}

/// Horizontal bars with each label's series stacked, the total at the bar's end.
pub(crate) fn stacked_bars(series: &Series, language: Language, w: f32) -> Drawing {
    let n = series.labels.len();
    let names: Vec<&str> = series.series.iter().map(|s| s.name.as_str()).collect();
    let mut probe = Drawing::new(w as u32, 0);
    let legend_h = legend(&mut probe, &names, 64.0, w);
    let row_h = 30.0;
    let more = if series.total_rows > n { 30.0 } else { 0.0 };
    let height = 64.0 + legend_h + n as f32 * row_h + more + PAD;
    let mut d = Drawing::new(w as u32, height.max(TILE) as u32);
    legend(&mut d, &names, 64.0, w);
    let (label_w, value_w) = (150.0, 96.0);
    let bar_x = PAD + label_w + 8.0;
    let bar_w = w - bar_x - value_w - PAD;
    let totals: Vec<f64> = (0..n)
        .map(|i| series.series.iter().map(|s| s.values[i].max(0.0)).sum())
        .collect();
    let max = totals.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
    let format = common_format(series);
    let mut y = 64.0 + legend_h;
    for (row, label) in series.labels.iter().enumerate() {
        let mid = y + row_h / 2.0;
        d.text(PAD, mid + 6.0, label, Style::new(16.0, MUTED), label_w);
        let mut x = bar_x;
        for (i, s) in series.series.iter().enumerate() {
            let len = (s.values[row].max(0.0) / max) as f32 * bar_w;
            d.rect(x, mid - 9.0, len, 18.0, color(i));
            x += len;
        }
        d.text(
            x + 6.0,
            mid + 6.0,
            &shown(totals[row], format, language, true),
            Style::new(15.0, INK),
            value_w + bar_x + bar_w - x,
        );
        y += row_h;
    }
    more_line(&mut d, y, n, series.total_rows, language);
    d
}

/// The format every series shares, if they share one (an axis or a total reads in it).
pub(crate) fn common_format(series: &Series) -> Option<&NumberFormat> {
    series
        .series
        .first()
        .and_then(|s| s.format.as_ref())
        .filter(|f| series.series.iter().all(|s| s.format.as_ref() == Some(*f)))
}

/// A plot area: its corners, and the value range its y axis spans.
struct Plot {
    left: f32,
    right: f32,
    top: f32,
    bottom: f32,
    lo: f64,
    hi: f64,
}

impl Plot {
    fn y(&self, v: f64) -> f32 {
        let span = if self.hi > self.lo {
            self.hi - self.lo
        } else {
            1.0
        };
        self.bottom - ((v - self.lo) / span) as f32 * (self.bottom - self.top)
    }

    fn x(&self, i: usize, n: usize) -> f32 {
        if n <= 1 {
            (self.left + self.right) / 2.0
        } else {
            self.left + (self.right - self.left) * i as f32 / (n - 1) as f32
        }
    }

    /// The low and high values on the axis at `x` (left or right).
    fn axis(
        &self,
        d: &mut Drawing,
        x: f32,
        anchor: Anchor,
        format: Option<&NumberFormat>,
        language: Language,
    ) {
        for v in [self.lo, self.hi] {
            d.text(
                x,
                self.y(v) + 5.0,
                &shown(v, format, language, true),
                Style::new(14.0, FAINT).anchored(anchor),
                self.left - PAD,
            );
        }
    }
}

fn first_and_last_labels(d: &mut Drawing, series: &Series, plot: &Plot, height: f32) {
    let (Some(first), Some(last)) = (series.labels.first(), series.labels.last()) else {
        return;
    };
    d.text(
        plot.left,
        height - 16.0,
        first,
        Style::new(14.0, FAINT),
        200.0,
    );
    if series.labels.len() > 1 {
        d.text(
            plot.right,
            height - 16.0,
            last,
            Style::new(14.0, FAINT).anchored(Anchor::End),
            200.0,
        );
    }
}

/// Areas stacked along x: each series filled between the ones below it and its own top.
pub(crate) fn areas(series: &Series, language: Language, w: f32) -> Drawing {
    let names: Vec<&str> = series.series.iter().map(|s| s.name.as_str()).collect();
    let mut probe = Drawing::new(w as u32, 0);
    let legend_h = legend(&mut probe, &names, 60.0, w);
    let height = 300.0 + legend_h;
    let mut d = Drawing::new(w as u32, height as u32);
    legend(&mut d, &names, 60.0, w);
    let n = series.labels.len();
    if n == 0 || series.series.is_empty() {
        return d;
    }
    // Each series' top: the sum of it and those before it.
    let mut tops: Vec<Vec<f64>> = Vec::with_capacity(series.series.len());
    for s in &series.series {
        let below = tops.last().cloned().unwrap_or_else(|| vec![0.0; n]);
        tops.push(below.iter().zip(&s.values).map(|(b, v)| b + v).collect());
    }
    let all = tops.iter().flatten().copied();
    let (lo, hi) = all.fold((0.0_f64, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let plot = Plot {
        left: PAD + 64.0,
        right: w - PAD,
        top: 72.0 + legend_h,
        bottom: height - 44.0,
        lo,
        hi,
    };
    for v in [lo, hi] {
        d.line((plot.left, plot.y(v)), (plot.right, plot.y(v)), GRID, 1.0);
    }
    plot.axis(
        &mut d,
        plot.left - 8.0,
        Anchor::End,
        common_format(series),
        language,
    );
    for (i, top) in tops.iter().enumerate() {
        let below: Vec<f64> = if i == 0 {
            vec![0.0; n]
        } else {
            tops[i - 1].clone()
        };
        let mut path = String::new();
        for (j, v) in top.iter().enumerate() {
            let cmd = if j == 0 { 'M' } else { 'L' };
            path.push_str(&format!("{cmd}{:.1},{:.1} ", plot.x(j, n), plot.y(*v)));
        }
        for (j, v) in below.iter().enumerate().rev() {
            path.push_str(&format!("L{:.1},{:.1} ", plot.x(j, n), plot.y(*v)));
        }
        path.push('Z');
        d.path(&path, color(i), 0.55);
        let line: Vec<(f32, f32)> = top
            .iter()
            .enumerate()
            .map(|(j, v)| (plot.x(j, n), plot.y(*v)))
            .collect();
        d.polyline(&line, color(i), 2.0);
    }
    first_and_last_labels(&mut d, series, &plot, height);
    d
}

/// Columns for every series but the last (left axis), the last as a line (right axis).
pub(crate) fn combo(series: &Series, language: Language, w: f32) -> Drawing {
    let names: Vec<&str> = series.series.iter().map(|s| s.name.as_str()).collect();
    let mut probe = Drawing::new(w as u32, 0);
    let legend_h = legend(&mut probe, &names, 60.0, w);
    let height = 310.0 + legend_h;
    let mut d = Drawing::new(w as u32, height as u32);
    legend(&mut d, &names, 60.0, w);
    let n = series.labels.len();
    let Some((line, bars)) = series.series.split_last() else {
        return d;
    };
    if n == 0 {
        return d;
    }
    let range = |values: &mut dyn Iterator<Item = f64>| {
        values.fold((0.0_f64, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
    };
    let (bar_lo, bar_hi) = range(&mut bars.iter().flat_map(|s| s.values.iter().copied()));
    let (line_lo, line_hi) = range(&mut line.values.iter().copied());
    let frame = |lo, hi| Plot {
        left: PAD + 64.0,
        right: w - PAD - 64.0,
        top: 72.0 + legend_h,
        bottom: height - 44.0,
        lo,
        hi,
    };
    let (left, right) = (frame(bar_lo, bar_hi), frame(line_lo, line_hi));
    d.line(
        (left.left, left.y(0.0)),
        (left.right, left.y(0.0)),
        GRID,
        1.0,
    );
    let bar_format = bars.first().and_then(|s| s.format.as_ref());
    left.axis(&mut d, left.left - 8.0, Anchor::End, bar_format, language);
    right.axis(
        &mut d,
        right.right + 8.0,
        Anchor::Start,
        line.format.as_ref(),
        language,
    );
    let slot = (left.right - left.left) / n as f32;
    let bar_w = (slot * 0.8 / bars.len() as f32).min(28.0);
    for j in 0..n {
        let centre = left.left + slot * (j as f32 + 0.5);
        let start = centre - bar_w * bars.len() as f32 / 2.0;
        for (i, s) in bars.iter().enumerate() {
            let (y0, y1) = (left.y(0.0), left.y(s.values[j]));
            d.rect(
                start + i as f32 * bar_w,
                y0.min(y1),
                bar_w - 1.0,
                (y0 - y1).abs().max(1.0),
                color(i),
            );
        }
    }
    let points: Vec<(f32, f32)> = line
        .values
        .iter()
        .enumerate()
        .map(|(j, v)| (left.left + slot * (j as f32 + 0.5), right.y(*v)))
        .collect();
    let line_color = color(bars.len());
    d.polyline(&points, line_color, 2.5);
    for p in &points {
        d.circle(*p, 3.5, line_color);
    }
    let labels = Plot {
        left: left.left + slot / 2.0,
        right: left.right - slot / 2.0,
        ..frame(0.0, 1.0)
    };
    first_and_last_labels(&mut d, series, &labels, height);
    d
}

/// Steps as centred bars narrowing with their values; each with its value and rates.
pub(crate) fn funnel(series: &Series, language: Language, w: f32) -> Drawing {
    let n = series.labels.len();
    let row_h = 40.0;
    let more = if series.total_rows > n { 30.0 } else { 0.0 };
    let height = 64.0 + n as f32 * row_h + more + PAD;
    let mut d = Drawing::new(w as u32, height.max(TILE) as u32);
    let Some(steps) = series.series.first() else {
        return d;
    };
    let values = &steps.values;
    let max = values.iter().copied().fold(f64::MIN_POSITIVE, f64::max);
    let (label_w, rate_w) = (120.0, 150.0);
    let (bar_left, bar_right) = (PAD + label_w + 8.0, w - PAD - rate_w);
    let centre = (bar_left + bar_right) / 2.0;
    let mut y = 64.0;
    for (i, label) in series.labels.iter().enumerate() {
        let mid = y + row_h / 2.0;
        d.text(PAD, mid + 6.0, label, Style::new(16.0, MUTED), label_w);
        let len = ((values[i] / max) as f32 * (bar_right - bar_left)).max(4.0);
        d.rect(centre - len / 2.0, mid - 14.0, len, 28.0, color(0));
        let value = shown(values[i], steps.format.as_ref(), language, true);
        // Inside the bar when it fits, else just after it.
        if width(&value, 15.0) + 12.0 <= len {
            d.text(
                centre,
                mid + 6.0,
                &value,
                Style::new(15.0, "#ffffff").anchored(Anchor::Middle),
                len,
            );
        } else {
            let end = centre + len / 2.0 + 6.0;
            d.text(
                end,
                mid + 6.0,
                &value,
                Style::new(15.0, INK),
                bar_right - end + rate_w / 3.0,
            );
        }
        let (before, first) = step_rates(values, i);
        if let Some(before) = before {
            let rates = match (first, language) {
                (Some(first), Language::Zh) => format!("{before:.1}% · 总 {first:.1}%"),
                (Some(first), Language::En) => format!("{before:.1}% · all {first:.1}%"),
                (None, _) => format!("{before:.1}%"),
            };
            d.text(
                w - PAD,
                mid + 6.0,
                &rates,
                Style::new(15.0, INK).anchored(Anchor::End),
                rate_w,
            );
        }
        y += row_h;
    }
    more_line(&mut d, y, n, series.total_rows, language);
    d
}
