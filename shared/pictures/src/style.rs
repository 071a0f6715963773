//! What every card shares: paddings, inks, the series' colours, the card's own words and the
//! "…and N more" line.
use crate::svg::{Drawing, Style};
use herald_core::domain::contact::Language;

pub(crate) const PAD: f32 = 20.0;
/// The shortest card (KPI, count, problems).
pub(crate) const TILE: f32 = 176.0;
pub(crate) const INK: &str = "#1f2329";
pub(crate) const MUTED: &str = "#646a73";
pub(crate) const FAINT: &str = "#8f959e";
pub(crate) const GRID: &str = "#eff0f1";

/// Okabe and Ito's colours, told apart by readers with any common colour-vision deficiency
/// (<https://jfly.uni-koeln.de/color/>), strongest first, black last.
pub(crate) const PALETTE: [&str; 8] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
];

pub(crate) struct Words {
    pub rows: &'static str,
    pub no_data: &'static str,
    pub unreadable: &'static str,
    pub more: fn(usize) -> String,
}

pub(crate) fn words(language: Language) -> Words {
    match language {
        Language::Zh => Words {
            rows: "行",
            no_data: "无数据",
            unreadable: "无法读取",
            more: |n| format!("…另有 {n} 行"),
        },
        Language::En => Words {
            rows: "rows",
            no_data: "No data",
            unreadable: "Could not be read",
            more: |n| format!("…and {n} more"),
        },
    }
}

pub(crate) fn more_line(
    d: &mut Drawing,
    y: f32,
    shown: usize,
    total: usize,
    language: Language,
) -> f32 {
    if total > shown {
        let more = (words(language).more)(total - shown);
        d.text(PAD, y + 22.0, &more, Style::new(16.0, FAINT), 400.0);
        return 30.0;
    }
    0.0
}
