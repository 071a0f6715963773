//! `make bench`, rendering: one chart picture and a 12-chart page snapshot, median wall time on
//! one thread (the renderer is single-threaded) and the peak RSS it adds; goals from the
//! report-content issue: a chart ≤ 20 ms, a 12-chart snapshot ≤ 250 ms, peak RSS growth ≤ 64 MiB;
//! and from the chart-kinds issue: a 12-chart page mixing every kind ≤ 150 ms.
use herald_core::domain::contact::Language;
use herald_core::domain::report::{
    Cell, ChartOutcome, ChartReport, Column, Figure, NamedValues, PageReport, Series,
};
use herald_core::ports::PictureRenderer;
use herald_pictures::Pictures;
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

fn bars(i: usize) -> ChartReport {
    ChartReport {
        name: format!("第{i}号 GMV by region 分区域销售额"),
        outcome: ChartOutcome::Shown(Figure::Bar(Series {
            label_field: "region".into(),
            labels: (0..10).map(|r| format!("华东区域 {r}")).collect(),
            series: vec![NamedValues {
                name: "gmv".into(),
                values: (0..10).map(|r| 1_000_000.0 / f64::from(r + 1)).collect(),
                format: None,
            }],
            total_rows: 24,
        })),
    }
}

fn chart(i: usize) -> ChartReport {
    match i % 4 {
        0 => ChartReport {
            name: format!("第{i}号 GMV 成交额"),
            outcome: ChartOutcome::Shown(Figure::Kpi {
                field: "gmv".into(),
                value: 123_456_789.0 + i as f64,
                previous: Some(117_000_000.0),
                format: None,
            }),
        },
        1 => bars(i),
        2 => ChartReport {
            name: format!("第{i}号 Top stores 门店"),
            outcome: ChartOutcome::Shown(Figure::Table {
                columns: ["store", "city", "orders", "gmv"]
                    .iter()
                    .enumerate()
                    .map(|(c, n)| Column {
                        name: (*n).into(),
                        numeric: c >= 2,
                        format: None,
                        rules: Vec::new(),
                    })
                    .collect(),
                rows: (0..10)
                    .map(|r| {
                        vec![
                            Cell::Text(format!("上海静安第{r}店")),
                            Cell::Text("上海".into()),
                            Cell::Number(1234.0 + f64::from(r)),
                            Cell::Number(98765.4 * f64::from(r)),
                        ]
                    })
                    .collect(),
                total_rows: 40,
            }),
        },
        _ => ChartReport {
            name: format!("第{i}号 Daily orders 日订单"),
            outcome: ChartOutcome::Shown(Figure::Line(Series {
                label_field: "day".into(),
                labels: (0..400).map(|d| format!("d{d}")).collect(),
                series: vec![NamedValues {
                    name: "orders".into(),
                    values: (0..400).map(|d| 900.0 + f64::from(d * 37 % 200)).collect(),
                    format: None,
                }],
                total_rows: 400,
            })),
        },
    }
}

fn worst_chart(i: usize) -> ChartReport {
    ChartReport {
        name: format!("第{i}号 分区域销售额"),
        outcome: ChartOutcome::Shown(Figure::Bar(Series {
            label_field: "region".into(),
            labels: (0..50).map(|r| format!("华东区域 {r}")).collect(),
            series: (0..6)
                .map(|s| NamedValues {
                    name: format!("series {s}"),
                    values: (0..50).map(|r| f64::from(r * (s + 1))).collect(),
                    format: None,
                })
                .collect(),
            total_rows: 50,
        })),
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this once as a smoke test.
    let (chart_reps, page_reps) = if std::env::args().any(|a| a == "--bench") {
        (30, 10)
    } else {
        (1, 1)
    };
    let pictures = Pictures::new();
    // The peak is measured from here: the font parsed, nothing drawn yet.
    let rss_before = proc_status_kib("VmRSS:").unwrap_or(0);
    let hwm_before = proc_status_kib("VmHWM:").unwrap_or(0);
    let page = PageReport {
        title: "销售日报 Sales overview".into(),
        subtitle: "2026-12-03 09:00 (Asia/Shanghai) · Daily sales".into(),
        language: Language::Zh,
        charts: (0..12).map(chart).collect(),
    };
    // Warm up (first use of the font's tables).
    let _ = pictures.page_snapshot(&page);

    let one = bars(1);
    let chart_times: Vec<Duration> = (0..chart_reps)
        .map(|_| {
            let started = Instant::now();
            let image = pictures.chart_picture(&one, Language::Zh).expect("drawn");
            std::hint::black_box(image);
            started.elapsed()
        })
        .collect();
    let mut snapshot_bytes = 0;
    let page_times: Vec<Duration> = (0..page_reps)
        .map(|_| {
            let started = Instant::now();
            let image = pictures.page_snapshot(&page).expect("drawn");
            snapshot_bytes = image.png.len();
            std::hint::black_box(image);
            started.elapsed()
        })
        .collect();
    // The 12-chart page mixing every kind (pies, donuts, stacked bars, areas, combos, funnels).
    let kinds = herald_pictures::samples::every_kind(Language::Zh);
    let kinds_times: Vec<Duration> = (0..page_reps)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(pictures.page_snapshot(&kinds).expect("drawn"));
            started.elapsed()
        })
        .collect();
    let kinds_ms = median(kinds_times).as_secs_f64() * 1000.0;
    let hwm_after = proc_status_kib("VmHWM:").unwrap_or(0);
    // The largest page a task may have (50 charts): once, for its time and size.
    let largest = PageReport {
        charts: (0..50).map(chart).collect(),
        ..page.clone()
    };
    let started = Instant::now();
    let image = pictures.page_snapshot(&largest).expect("drawn");
    let (largest_ms, largest_kib) = (
        started.elapsed().as_secs_f64() * 1000.0,
        image.png.len() / 1024,
    );
    let hwm_largest = proc_status_kib("VmHWM:").unwrap_or(0);
    let growth_mib = hwm_after.saturating_sub(hwm_before.max(rss_before)) as f64 / 1024.0;

    let (chart_ms, page_ms) = (
        median(chart_times).as_secs_f64() * 1000.0,
        median(page_times).as_secs_f64() * 1000.0,
    );
    let verdict = |ok: bool| if ok { "goal met" } else { "GOAL MISSED" };
    println!(
        "rendering: one chart (10 bars) median {chart_ms:.1} ms (goal ≤ 20 ms: {})",
        verdict(chart_ms <= 20.0)
    );
    println!(
        "rendering: 12-chart page snapshot median {page_ms:.1} ms, {} KiB PNG (goal ≤ 250 ms: {})",
        snapshot_bytes / 1024,
        verdict(page_ms <= 250.0)
    );
    println!(
        "rendering: 12-chart page of every kind median {kinds_ms:.1} ms (goal ≤ 150 ms: {})",
        verdict(kinds_ms <= 150.0)
    );
    println!(
        "rendering: peak RSS growth {growth_mib:.1} MiB over {} MiB after the font loaded (goal ≤ 64 MiB: {})",
        rss_before / 1024,
        verdict(growth_mib <= 64.0)
    );
    println!(
        "rendering: 50-chart page {largest_ms:.0} ms, {}×{} px, {largest_kib} KiB PNG, peak RSS growth {:.1} MiB",
        image.width,
        image.height,
        hwm_largest.saturating_sub(hwm_before.max(rss_before)) as f64 / 1024.0
    );
    // The worst page a task may have (50 charts × 50 bars × 6 series): within the pixel budget,
    // then 20 of it at once (20 previews), as many at a time as the renderer lets through.
    let worst = PageReport {
        charts: (0..50).map(worst_chart).collect(),
        ..page.clone()
    };
    let hwm_before_worst = proc_status_kib("VmHWM:").unwrap_or(0);
    let started = Instant::now();
    let image = pictures.page_snapshot(&worst).expect("drawn");
    let worst_ms = started.elapsed().as_secs_f64() * 1000.0;
    let hwm_worst = proc_status_kib("VmHWM:").unwrap_or(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..20 {
            scope.spawn(|| std::hint::black_box(pictures.page_snapshot(&worst).expect("drawn")));
        }
    });
    let twenty_ms = started.elapsed().as_secs_f64() * 1000.0;
    let hwm_twenty = proc_status_kib("VmHWM:").unwrap_or(0);
    let growth = |hwm: u64| hwm.saturating_sub(hwm_before.max(rss_before)) as f64 / 1024.0;
    println!(
        "rendering: worst page (50 charts × 50 bars × 6 series) {worst_ms:.0} ms, {}×{} px ({:.1} MP, budget {:.0} MP), peak RSS growth {:.1} MiB (goal ≤ 64 MiB: {}; {:.1} MiB before it)",
        image.width,
        image.height,
        f64::from(image.width) * f64::from(image.height) / 1e6,
        herald_pictures::MAX_PAGE_PIXELS as f64 / 1e6,
        growth(hwm_worst),
        verdict(growth(hwm_worst) <= 64.0),
        growth(hwm_before_worst),
    );
    println!(
        "rendering: 20 worst pages at once {twenty_ms:.0} ms, peak RSS {} MiB in all (goal: herald-local < 512 MiB: {})",
        hwm_twenty / 1024,
        verdict(hwm_twenty / 1024 < 512)
    );
    println!(
        "rendering: embedded font {:.1} MiB (WenQuanYi Micro Hei)",
        herald_pictures::FONT.len() as f64 / 1024.0 / 1024.0
    );
}
