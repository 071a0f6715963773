//! Fitting a message's chart lines to its provider's byte limit: summaries, row caps, cuts.
use super::*;

/// A chart's state as the templates see it; the order is the order problem charts are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum LineState {
    Unreadable,
    Empty,
    Ok,
}

impl LineState {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Unreadable => "error",
            Self::Empty => "empty",
            Self::Ok => "ok",
        }
    }
}

/// One chart as the message tells it: "GMV by region: 3 rows" and its top rows.
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub(super) name: String,
    pub(super) state: LineState,
    /// The headline: a KPI's value and change, a table's row count, a line's latest value.
    pub(super) detail: String,
    pub(super) figure: FigureText,
}

/// How many rows of each table or bar chart a shape shows: as many as the chart allows, then
/// fewer until the message fits.
pub(super) const ROW_CAPS: [usize; 5] = [usize::MAX, 5, 3, 1, 0];

impl Line {
    pub(super) fn new(check: &ChartCheck, figure: Option<&Figure>, words: Words) -> Self {
        let mut text = FigureText::default();
        let (state, detail) = match &check.state {
            ChartState::Ok { rows } => match figure {
                Some(figure) => {
                    text = figures::describe(figure, words);
                    (LineState::Ok, text.headline.clone())
                }
                None => (LineState::Ok, words.rows(*rows)),
            },
            ChartState::Empty => (LineState::Empty, words.no_data().to_owned()),
            ChartState::AccessError { reason } => {
                let reason = one_line(reason);
                let reason = ellipsize(reason.trim(), REASON_MAX_BYTES);
                (LineState::Unreadable, words.unreadable(&reason))
            }
            ChartState::ShapeError { field, reason } => {
                let reason = one_line(&format!("{field}: {reason}"));
                let reason = ellipsize(reason.trim(), REASON_MAX_BYTES);
                (LineState::Unreadable, words.unshowable(&reason))
            }
        };
        Self {
            name: one_line(check.name.as_str()),
            state,
            detail,
            figure: text,
        }
    }

    /// The line for the templates, with at most `row_cap` rows of its table or bars.
    pub(super) fn value(&self, row_cap: usize, words: Words) -> Value {
        let f = &self.figure;
        let shown = f.rows.len().min(row_cap);
        let hidden = if matches!(f.kind, "table" | "bar" | "funnel") {
            f.total_rows.saturating_sub(shown)
        } else {
            0
        };
        let more_rows = (shown > 0 && hidden > 0).then(|| words.more_rows(hidden));
        let table = f.table.as_ref().map(|t| {
            let mut t = t.clone();
            t.rows.truncate(row_cap);
            t.bars.truncate(row_cap);
            t.colors.truncate(row_cap);
            t
        });
        let aligned = f
            .table
            .as_ref()
            .filter(|_| shown > 0)
            .map(|t| figures::aligned(t, row_cap))
            .unwrap_or_default();
        context! {
            name => self.name.as_str(),
            state => self.state.as_str(),
            detail => self.detail.as_str(),
            kind => f.kind,
            rows => serialized(&f.rows[..shown]),
            header => f.header.as_deref().filter(|_| shown > 0),
            more_rows => more_rows,
            aligned => aligned,
            table => table.filter(|t| !t.rows.is_empty()).map(serialized),
            kpi => f.kpi.as_ref().map(serialized),
        }
    }
}

/// "48 ok · 1 empty · 1 unreadable" (zero counts left out).
pub(super) fn summary(lines: &[Line], words: Words) -> String {
    let count = |state| lines.iter().filter(|l| l.state == state).count();
    [LineState::Ok, LineState::Empty, LineState::Unreadable]
        .into_iter()
        .map(|state| (count(state), words.state(state.as_str())))
        .filter(|(n, _)| *n > 0)
        .map(|(n, label)| format!("{n} {label}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// What one attempt at a message shows.
pub(super) struct Shape<'a> {
    pub(super) lines: Vec<&'a Line>,
    pub(super) summary: Option<&'a str>,
    pub(super) more: usize,
    pub(super) beginning: Option<Cow<'a, str>>,
    pub(super) ending: Option<Cow<'a, str>>,
    /// The most rows shown of each table or bar chart.
    pub(super) row_cap: usize,
    pub(super) words: Words,
}

impl Shape<'_> {
    pub(super) fn lines_value(&self) -> Value {
        Value::from(
            self.lines
                .iter()
                .map(|l| l.value(self.row_cap, self.words))
                .collect::<Vec<_>>(),
        )
    }

    pub(super) fn more_text(&self) -> Option<String> {
        (self.more > 0).then(|| self.words.more_charts(self.more))
    }
}

/// Renders the largest shape whose measure is within `limit`: every chart in page order with
/// all its rows, then with fewer rows (5, 3, 1, none); else the summary with problem charts first
/// and as many as fit (the beginning and ending capped at a quarter of the limit each); else no
/// chart lines and shorter beginning and ending; else the smallest rendering cut to the limit.
pub(super) fn fit(
    lines: &[Line],
    (beginning, ending): (Option<&str>, Option<&str>),
    words: Words,
    limit: usize,
    render: &dyn Fn(&Shape) -> Result<String, RenderError>,
    measure: &dyn Fn(&str) -> usize,
) -> Result<String, RenderError> {
    for row_cap in ROW_CAPS {
        let all = Shape {
            lines: lines.iter().collect(),
            summary: None,
            more: 0,
            beginning: beginning.map(Cow::Borrowed),
            ending: ending.map(Cow::Borrowed),
            row_cap,
            words,
        };
        let out = render(&all)?;
        if measure(&out) <= limit {
            return Ok(out);
        }
        if !lines.iter().any(|l| !l.figure.rows.is_empty()) {
            break;
        }
    }

    let mut by_priority: Vec<&Line> = lines.iter().collect();
    by_priority.sort_by_key(|l| l.state); // stable: page order within each state
    let summary_text = summary(lines, words);
    let shape = |shown: usize, text_cap: usize| Shape {
        lines: by_priority[..shown].to_vec(),
        summary: (!summary_text.is_empty()).then_some(summary_text.as_str()),
        more: lines.len() - shown,
        beginning: beginning
            .map(|b| ellipsize(b, text_cap))
            .filter(|b| !b.is_empty()),
        ending: ending
            .map(|e| ellipsize(e, text_cap))
            .filter(|e| !e.is_empty()),
        row_cap: 0,
        words,
    };

    let quarter = limit / 4;
    for shown in (0..=lines.len()).rev() {
        let out = render(&shape(shown, quarter))?;
        if measure(&out) <= limit {
            return Ok(out);
        }
    }
    let mut cap = quarter;
    let mut out = render(&shape(0, cap))?;
    while measure(&out) > limit && cap > 0 {
        cap /= 2;
        out = render(&shape(0, cap))?;
    }
    Ok(cut_to(out, limit, measure))
}

/// Cuts `text` (on a character boundary, ending with "…") until its measure is within `limit`.
pub(super) fn cut_to(mut text: String, limit: usize, measure: &dyn Fn(&str) -> usize) -> String {
    loop {
        let size = measure(&text);
        if size <= limit || text.is_empty() {
            return text;
        }
        let keep = text.len().saturating_sub(size - limit + "…".len());
        text = format!("{}…", floor_boundary(&text, keep));
        if keep == 0 {
            return String::new();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Push messages
