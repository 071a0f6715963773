//! The words of a message in its language, and what a chart's figure says in them (the
//! text each renderer lays out).
use crate::domain::contact::Language;
use crate::domain::run::RunKind;
use crate::report::numbers::full;
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

    pub fn kind_label(&self, kind: RunKind) -> &'static str {
        match (self.zh(), kind) {
            (_, RunKind::Scheduled | RunKind::Ticket) => "",
            (true, RunKind::Manual) => "[手动] ",
            (true, RunKind::Test) => "[测试] ",
            (false, RunKind::Manual) => "[Manual] ",
            (false, RunKind::Test) => "[Test] ",
        }
    }

    pub fn total(&self) -> &'static str {
        if self.zh() { "合计" } else { "total" }
    }

    pub fn other(&self) -> &'static str {
        if self.zh() { "其他" } else { "other" }
    }

    pub fn share(&self) -> &'static str {
        if self.zh() { "占比" } else { "share" }
    }

    pub fn of_previous(&self) -> &'static str {
        if self.zh() {
            "较上一步"
        } else {
            "of previous"
        }
    }

    pub fn of_first(&self) -> &'static str {
        if self.zh() {
            "较第一步"
        } else {
            "of first"
        }
    }

    pub(super) fn was(&self, change: &str, previous: &str) -> String {
        if self.zh() {
            format!("（{change}，上期 {previous}）")
        } else {
            format!(" ({change} vs {previous})")
        }
    }

    pub(super) fn latest(
        &self,
        latest: &str,
        change: Option<&str>,
        low: &str,
        high: &str,
    ) -> String {
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
    /// Each cell's colour by its column's rules (`fields.thresholds`), when any column has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub colors: Vec<Vec<Option<CellTone>>>,
}

/// A cell's colour: its name (Feishu's) and how mail draws it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(super) struct CellTone {
    pub name: &'static str,
    pub hex: &'static str,
}

impl From<crate::domain::report::CellColor> for CellTone {
    fn from(color: crate::domain::report::CellColor) -> Self {
        Self {
            name: color.as_str(),
            hex: color.hex(),
        }
    }
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
