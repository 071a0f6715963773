//! `make bench`, attachments: an xlsx of 10 charts × 10,000 rows (8 columns: text, numbers with
//! currency and percent formats), median wall time on one thread and the peak RSS it adds, next
//! to the same rows as CSV; goal from the report-readers issue: the xlsx ≤ 1 s.
use herald_core::domain::attachment::Sheet;
use herald_core::domain::contact::Language;
use herald_core::domain::number_format::{Currency, NumberFormat, NumberStyle};
use herald_core::domain::report::Cell;
use herald_core::ports::SheetWriter;
use herald_sheets::Sheets;
use std::time::{Duration, Instant};

fn proc_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn sheet(i: usize, rows: usize) -> Sheet {
    let money = NumberFormat::new(NumberStyle::Currency, None, Some(Currency::Cny), None).ok();
    let percent = NumberFormat::new(NumberStyle::Percent, Some(1), None, None).ok();
    Sheet {
        name: format!("第{i}号 分区域销售额"),
        keys: [
            "日期", "region", "store", "orders", "gmv", "rate", "cost", "note",
        ]
        .map(String::from)
        .to_vec(),
        formats: vec![None, None, None, None, money, percent, None, None],
        rows: (0..rows)
            .map(|r| {
                vec![
                    Some(Cell::Text(format!("2026-12-{:02}", r % 28 + 1))),
                    Some(Cell::Text(format!("华东区域 {}", r % 17))),
                    Some(Cell::Text(format!("上海静安店 {r}"))),
                    Some(Cell::Number((r * 7 % 1000) as f64)),
                    Some(Cell::Number(123_456.78 + r as f64)),
                    Some(Cell::Number(0.0734 + (r % 10) as f64 / 1000.0)),
                    Some(Cell::Number(r as f64 * 0.5)),
                    (r % 3 == 0).then(|| Cell::Text("补货".into())),
                ]
            })
            .collect(),
        total: rows,
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let sheets: Vec<Sheet> = (0..10).map(|i| sheet(i, 10_000)).collect();
    let before = proc_status_kib("VmHWM:").unwrap_or(0);
    let mut xlsx_times = Vec::new();
    let mut csv_times = Vec::new();
    let mut size = (0, 0);
    for _ in 0..5 {
        let started = Instant::now();
        let book = Sheets.workbook(&sheets, Language::Zh).expect("workbook");
        xlsx_times.push(started.elapsed());
        let started = Instant::now();
        let csv: usize = sheets
            .iter()
            .map(|s| Sheets.csv(s).expect("csv").len())
            .sum();
        csv_times.push(started.elapsed());
        size = (book.len(), csv);
    }
    let peak = proc_status_kib("VmHWM:").unwrap_or(0);
    let xlsx = median(xlsx_times);
    println!(
        "xlsx of 10 charts × 10,000 rows × 8 columns: median {:.0} ms (goal ≤ 1000 ms), {:.1} MiB; as CSV: median {:.0} ms, {:.1} MiB; peak RSS growth {:.0} MiB",
        xlsx.as_secs_f64() * 1000.0,
        size.0 as f64 / 1024.0 / 1024.0,
        median(csv_times).as_secs_f64() * 1000.0,
        size.1 as f64 / 1024.0 / 1024.0,
        peak.saturating_sub(before) as f64 / 1024.0,
    );
}
