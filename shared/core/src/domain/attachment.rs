//! Attachments (`content.attachments`): the charts' rows as read — not only the rows a chart
//! shows — sent with the push as one workbook (a sheet per chart) or one CSV file per chart.
use super::ParseError;
use super::number_format::NumberFormat;
use super::report::{Row, bounded_count};
use super::text::ChartName;
use serde::{Deserialize, Serialize};

/// The file kind readers get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentFormat {
    /// One workbook, a sheet per chart, numbers formatted as the chart's `fields.formats` say.
    Xlsx,
    /// One UTF-8 file per chart (with a byte-order mark, so Excel reads Chinese right).
    Csv,
}

impl AttachmentFormat {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        match value {
            "xlsx" => Ok(Self::Xlsx),
            "csv" => Ok(Self::Csv),
            other => Err(format!("unknown format '{other}' (use xlsx or csv)")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// Which charts are attached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttachedCharts {
    /// `"all"`.
    All(AllCharts),
    /// Charts by name, each on the page.
    Named(Vec<ChartName>),
}

/// The word `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllCharts {
    All,
}

bounded_count!(
    /// The rows of one chart an attachment carries at most: 1–20,000, default 10,000.
    AttachedRows,
    default 10_000,
    max 20_000
);

/// The rows a push attaches in all, whatever the number of charts: a page's rows stay well inside
/// a Lambda's memory (200,000 rows × 8 columns are some 60 MiB while read); more charts share it.
pub const MAX_ROWS_IN_ALL: usize = 200_000;

/// What a push attaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachments {
    pub format: AttachmentFormat,
    pub charts: AttachedCharts,
    #[serde(default)]
    pub max_rows: AttachedRows,
}

impl Attachments {
    /// How many rows each of `charts` attached charts keeps: `max_rows`, or an even share of
    /// [`MAX_ROWS_IN_ALL`] when there are many.
    pub fn rows_each(&self, charts: usize) -> usize {
        self.max_rows.get().min(MAX_ROWS_IN_ALL / charts.max(1))
    }

    /// Whether `chart` is attached.
    pub fn attaches(&self, chart: &ChartName) -> bool {
        match &self.charts {
            AttachedCharts::All(_) => true,
            AttachedCharts::Named(names) => names.contains(chart),
        }
    }
}

/// One chart's rows, as a sheet (or a CSV file) shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The chart's name.
    pub name: String,
    /// The column headers: the row keys kept.
    pub keys: Vec<String>,
    /// Each column's number format, from the chart's `fields.formats`.
    pub formats: Vec<Option<NumberFormat>>,
    pub rows: Vec<Row>,
    /// How many rows the chart has (more than `rows` when the attachment is cut).
    pub total: usize,
}

impl Sheet {
    /// What the sheet leaves out, for a note under its rows: "10,000 of 25,000 rows".
    pub fn cut_note(&self) -> Option<String> {
        (self.rows.len() < self.total).then(|| {
            format!(
                "{} of {} rows (the rest left out)",
                self.rows.len(),
                self.total
            )
        })
    }
}

/// A file made for a push, before it is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct AttachmentFile {
    pub name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for AttachmentFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentFile")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl AttachmentFile {
    pub fn new(name: String, format: AttachmentFormat, bytes: Vec<u8>) -> Self {
        Self {
            name,
            content_type: format.content_type(),
            bytes,
        }
    }

    /// How messages and records refer to the file once it is stored for `project`.
    pub fn reference(&self, project: &super::ids::ProjectId) -> super::image::ImageRef {
        super::image::ImageRef {
            project: project.clone(),
            id: super::image::ImageId::of(&self.bytes),
            name: self.name.clone(),
            content_type: self.content_type.to_owned(),
            width: 0,
            height: 0,
            size: self.bytes.len(),
        }
    }
}

/// A file name from free text: characters a file system or a MIME header trips on become `_`,
/// and it is cut to 80 characters.
pub fn file_stem(text: &str) -> String {
    let stem: String = text
        .chars()
        .map(|c| {
            if c.is_control() || "/\\:*?\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .take(80)
        .collect();
    let stem = stem.trim().trim_matches('.').to_owned();
    if stem.is_empty() {
        "report".to_owned()
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_read_all_or_names() {
        let all: Attachments = serde_json::from_str(r#"{"format":"xlsx","charts":"all"}"#).unwrap();
        assert_eq!(all.max_rows, AttachedRows::DEFAULT);
        assert!(all.attaches(&ChartName::parse("GMV").unwrap()));
        let named: Attachments =
            serde_json::from_str(r#"{"format":"csv","charts":["GMV"],"max_rows":5}"#).unwrap();
        assert!(named.attaches(&ChartName::parse("GMV").unwrap()));
        assert!(!named.attaches(&ChartName::parse("Orders").unwrap()));
        assert_eq!(
            serde_json::to_string(&all.charts).unwrap(),
            r#""all""#.to_owned()
        );
        assert!(
            serde_json::from_str::<Attachments>(r#"{"format":"csv","charts":"some"}"#).is_err()
        );
        assert!(AttachedRows::parse(0).is_err() && AttachedRows::parse(20_001).is_err());
    }

    #[test]
    fn file_stems_lose_what_file_systems_refuse() {
        assert_eq!(file_stem("销售日报 12/07: GMV"), "销售日报 12_07_ GMV");
        assert_eq!(file_stem(" .. "), "report");
        assert_eq!(file_stem(&"x".repeat(100)).len(), 80);
    }
}
