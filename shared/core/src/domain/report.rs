//! How a chart shows in a push (`display`, `fields`, `max_rows`), the rows a chart reader keeps,
//! and the figures a chart becomes: a KPI with its change, a table, bars, a line, or a row count.
use super::ParseError;
pub use super::comparison::{Comparison, Threshold};
pub use super::number_format::NumberFormat;
use super::text::string_newtype;
use serde::{Deserialize, Serialize};

/// How a chart shows in the message and the page snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Display {
    /// `kpi` for one row with one number, `bar` for a label and numbers, `table` otherwise.
    #[default]
    Auto,
    Kpi,
    Table,
    /// Bars by label; several `values` are grouped bars with a legend.
    Bar,
    /// Lines along x; several `values` are several lines with a legend.
    Line,
    /// Only the number of rows.
    Count,
    /// Shares of a whole with percentages, small slices grouped as "other".
    Pie,
    /// A pie with the total in its hole.
    Donut,
    /// Bars by label with the `values` stacked, and each bar's total.
    StackedBar,
    /// A line with the area under it filled (several `values` stack).
    Area,
    /// Bars of every value but the last, and the last as a line on a second axis.
    Combo,
    /// Conversion steps in row order, each with its rate of the step before and of the first.
    Funnel,
}

impl Display {
    pub const ALL: [Self; 12] = [
        Self::Auto,
        Self::Kpi,
        Self::Table,
        Self::Bar,
        Self::Line,
        Self::Count,
        Self::Pie,
        Self::Donut,
        Self::StackedBar,
        Self::Area,
        Self::Combo,
        Self::Funnel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Kpi => "kpi",
            Self::Table => "table",
            Self::Bar => "bar",
            Self::Line => "line",
            Self::Count => "count",
            Self::Pie => "pie",
            Self::Donut => "donut",
            Self::StackedBar => "stacked_bar",
            Self::Area => "area",
            Self::Combo => "combo",
            Self::Funnel => "funnel",
        }
    }

    pub fn parse(value: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == value)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|d| d.as_str()).collect();
                format!("unknown display '{value}' (use {})", names.join(", "))
            })
    }
}

string_newtype!(
    /// A key of the chart's row objects, as `fields` names it.
    FieldKey,
    |v| {
        if v.is_empty() || v.chars().count() > 64 {
            return Err("must be a row key of 1 to 64 characters".into());
        }
        if v.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        Ok(())
    }
);

/// The most value series one chart may name.
pub const MAX_VALUE_FIELDS: usize = 6;

/// Which row keys a chart shows: `label` (category or x), `values` (numeric series) and
/// `compare` (a KPI's previous value). All optional: `auto` finds them from the first row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<FieldKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<FieldKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<FieldKey>,
    /// How each field's numbers read, by key (`{"rate": {"style": "percent"}}`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub formats: std::collections::BTreeMap<FieldKey, NumberFormat>,
    /// The colours a table's cells take by their numbers, by key; the first rule met wins.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub thresholds: std::collections::BTreeMap<FieldKey, Vec<CellRule>>,
}

/// The most field formats one chart may give (and the most fields with colour rules).
pub const MAX_FORMATS: usize = 20;
/// The most colour rules one field may have.
pub const MAX_CELL_RULES: usize = 5;

/// A table cell's colour when its number meets the rule (`{"op": "<", "value": 0.05, "color":
/// "red"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellRule {
    pub op: Comparison,
    pub value: Threshold,
    pub color: CellColor,
}

impl CellRule {
    /// The colour of the first of `rules` that `value` meets.
    pub fn color_of(rules: &[CellRule], value: f64) -> Option<CellColor> {
        rules
            .iter()
            .find(|rule| rule.op.holds(value, rule.value.get()))
            .map(|rule| rule.color)
    }
}

/// The colours a cell may take: what each channel can show (WeCom and DingTalk show them in the
/// page picture, mail and Feishu in their tables too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellColor {
    Red,
    Orange,
    Green,
    Grey,
}

impl CellColor {
    pub const ALL: [Self; 4] = [Self::Red, Self::Orange, Self::Green, Self::Grey];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Red => "red",
            Self::Orange => "orange",
            Self::Green => "green",
            Self::Grey => "grey",
        }
    }

    pub fn parse(value: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == value)
            .ok_or_else(|| format!("unknown colour '{value}' (use red, orange, green or grey)"))
    }

    /// The colour as pictures and HTML mail draw it.
    pub fn hex(self) -> &'static str {
        match self {
            Self::Red => "#d83931",
            Self::Orange => "#de7802",
            Self::Green => "#2ea121",
            Self::Grey => "#8f959e",
        }
    }
}

impl ChartFields {
    /// Whether it names no field (formats alone choose no field to show).
    pub fn is_empty(&self) -> bool {
        self.label.is_none() && self.values.is_empty() && self.compare.is_none()
    }

    /// The colour rules of `key`'s cells.
    pub fn thresholds_of(&self, key: &str) -> Vec<CellRule> {
        self.thresholds
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, rules)| rules.clone())
            .unwrap_or_default()
    }

    /// The format of `key`'s numbers, if one is given.
    pub fn format_of(&self, key: &str) -> Option<NumberFormat> {
        self.formats
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, f)| f.clone())
    }

    /// Every key named, in order: label, values, compare.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        let named = self
            .label
            .iter()
            .chain(&self.values)
            .chain(&self.compare)
            .map(|k| k.as_str().to_owned());
        for key in named {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys
    }
}

/// Defines a count newtype holding 1 to `$max` (default `$default`), checked when built and
/// when read back (serde goes through the same check).
macro_rules! bounded_count {
    ($(#[$meta:meta])* $name:ident, default $default:expr, max $max:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "u32", into = "u32")]
        pub struct $name(u32);

        impl $name {
            pub const DEFAULT: Self = Self($default);
            pub const MAX: u32 = $max;

            pub fn parse(value: u32) -> Result<Self, ParseError> {
                if (1..=Self::MAX).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(format!("must be between 1 and {}", Self::MAX))
                }
            }

            pub fn get(self) -> usize {
                self.0 as usize
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::DEFAULT
            }
        }

        impl TryFrom<u32> for $name {
            type Error = ParseError;
            fn try_from(value: u32) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for u32 {
            fn from(value: $name) -> u32 {
                value.0
            }
        }
    };
}
pub(crate) use bounded_count;

bounded_count!(
    /// How many rows a table or bar chart shows: 1–50, default 10.
    MaxRows,
    default 10,
    max 50
);

/// The most columns kept of a row when `fields` does not name them.
pub const MAX_COLUMNS: usize = 8;
/// The most points of a line kept; longer series are thinned evenly while they are read.
pub const MAX_LINE_POINTS: usize = 400;
/// The most bytes of one text cell kept.
pub const MAX_CELL_BYTES: usize = 200;

/// What a chart reader keeps of the rows, so memory stays bounded whatever the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSelection {
    /// The first rows kept whole (for KPIs, tables and bars).
    pub head: usize,
    /// The keys kept; `None` keeps the first row's first `MAX_COLUMNS` keys.
    pub keys: Option<Vec<String>>,
    /// Keep an evenly thinned sample of every row (at most `MAX_LINE_POINTS`), for lines.
    pub series: bool,
    /// The first rows kept for an attachment (`content.attachments`), apart from what the
    /// chart shows.
    pub whole: usize,
}

/// One value of a row, as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Number(f64),
    Text(String),
    Bool(bool),
    /// `null`, or an object or array (not shown).
    Empty,
}

impl Cell {
    /// The number this cell holds: a JSON number, or a string that reads as one ("1,234.5", "12%"
    /// reads 12).
    pub fn number(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Text(s) => {
                let cleaned: String = s
                    .trim()
                    .trim_end_matches('%')
                    .chars()
                    .filter(|c| *c != ',' && *c != '_')
                    .collect();
                cleaned.parse::<f64>().ok().filter(|n| n.is_finite())
            }
            _ => None,
        }
    }
}

/// A row: one optional cell per key of [`ChartRows::keys`] (absent when the row lacks the key).
pub type Row = Vec<Option<Cell>>;

/// What a chart reader kept of a chart's rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartRows {
    /// How many rows the chart has.
    pub total: usize,
    /// The keys kept, in order.
    pub keys: Vec<String>,
    /// The first rows (at most `RowSelection::head`).
    pub head: Vec<Row>,
    /// An even sample of all rows, in order (only when `RowSelection::series`).
    pub sample: Vec<Row>,
    /// The first rows for an attachment (at most `RowSelection::whole`).
    pub whole: Vec<Row>,
}

impl ChartRows {
    pub fn key_index(&self, key: &str) -> Option<usize> {
        self.keys.iter().position(|k| k == key)
    }
}

/// What a chart shows, worked out from its rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "display", rename_all = "snake_case")]
pub enum Figure {
    /// One number, with the previous value it is compared with.
    Kpi {
        field: String,
        value: f64,
        previous: Option<f64>,
        /// How the field's numbers read (`fields.formats`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<NumberFormat>,
    },
    /// The first rows as a table.
    Table {
        columns: Vec<Column>,
        rows: Vec<Vec<Cell>>,
        total_rows: usize,
    },
    /// Categories with one or more numeric series.
    Bar(Series),
    /// Points along x with one or more numeric series.
    Line(Series),
    Count {
        rows: usize,
    },
    /// Shares of a whole (a pie).
    Pie(Shares),
    /// Shares of a whole with the total in the middle.
    Donut(Shares),
    /// Bars with their series stacked.
    StackedBar(Series),
    /// Lines with the area under them filled, stacked.
    Area(Series),
    /// Bars, and the last series as a line on its own axis.
    Combo(Series),
    /// Conversion steps.
    Funnel(Series),
}

/// Shares of a whole: the slices in order of size, the small ones summed as `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shares {
    pub label_field: String,
    /// The value field's key.
    pub value_field: String,
    pub slices: Vec<Slice>,
    /// The sum of the slices grouped as "other" (too small or too many to draw apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<f64>,
    /// The sum of every slice read.
    pub total: f64,
    pub total_rows: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<NumberFormat>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    pub label: String,
    pub value: f64,
}

impl Shares {
    /// A value's share of the total, in percent.
    pub fn percent(&self, value: f64) -> f64 {
        if self.total > 0.0 {
            value / self.total * 100.0
        } else {
            0.0
        }
    }
}

/// A table column: its key, and whether its cells are numbers (right-aligned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub numeric: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<NumberFormat>,
    /// The colours its cells take by their numbers (`fields.thresholds`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<CellRule>,
}

impl Column {
    /// The colour `cell` takes, if its number meets a rule.
    pub fn color_of(&self, cell: &Cell) -> Option<CellColor> {
        CellRule::color_of(&self.rules, cell.number()?)
    }
}

/// Labelled numeric series (bars or a line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub label_field: String,
    pub labels: Vec<String>,
    pub series: Vec<NamedValues>,
    pub total_rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedValues {
    pub name: String,
    pub values: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<NumberFormat>,
}

impl Figure {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Kpi { .. } => "kpi",
            Self::Table { .. } => "table",
            Self::Bar(_) => "bar",
            Self::Line(_) => "line",
            Self::Count { .. } => "count",
            Self::Pie(_) => "pie",
            Self::Donut(_) => "donut",
            Self::StackedBar(_) => "stacked_bar",
            Self::Area(_) => "area",
            Self::Combo(_) => "combo",
            Self::Funnel(_) => "funnel",
        }
    }
}

/// A row key that is missing or not a number where a number is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// The field path within the chart, e.g. `fields.values[0]`.
    pub field: String,
    pub reason: String,
}

/// A page as its snapshot shows it: the title, the time in the task's zone, every chart.
#[derive(Debug, Clone, PartialEq)]
pub struct PageReport {
    pub title: String,
    /// "2026-12-03 10:00 (Asia/Shanghai)", and the task's name.
    pub subtitle: String,
    pub language: super::contact::Language,
    pub charts: Vec<ChartReport>,
}

/// One chart as a picture shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartReport {
    pub name: String,
    pub outcome: ChartOutcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChartOutcome {
    Shown(Figure),
    Empty,
    /// Why it could not be read or shown.
    Unreadable(String),
}
