//! The pictures as a reader sees them: Chinese glyphs (not boxes), every kind of chart, a
//! deterministic snapshot compared with the golden picture kept in the repository.
use herald_core::domain::contact::Language;
use herald_core::domain::report::{
    Cell, ChartOutcome, ChartReport, Column, Figure, NamedValues, PageReport, Series,
};
use herald_core::ports::PictureRenderer;
use herald_pictures::Pictures;
use resvg::tiny_skia::Pixmap;
use std::path::PathBuf;

fn sample_page(language: Language) -> PageReport {
    let kpi = ChartReport {
        name: "GMV 成交额".into(),
        outcome: ChartOutcome::Shown(Figure::Kpi {
            field: "gmv".into(),
            value: 123_456_789.0,
            previous: Some(117_000_000.0),
            format: None,
        }),
    };
    let bars = ChartReport {
        name: "GMV by region 分区域".into(),
        outcome: ChartOutcome::Shown(Figure::Bar(Series {
            label_field: "region".into(),
            labels: vec!["华东 East".into(), "华北 North".into(), "华南 South".into()],
            series: vec![NamedValues {
                name: "gmv".into(),
                values: vec![5_230_000.0, 3_100_000.0, 1_870_000.0],
                format: None,
            }],
            total_rows: 3,
        })),
    };
    let table = ChartReport {
        name: "Top stores 门店".into(),
        outcome: ChartOutcome::Shown(Figure::Table {
            columns: vec![
                Column {
                    name: "store".into(),
                    numeric: false,
                    format: None,
                    rules: Vec::new(),
                },
                Column {
                    name: "orders".into(),
                    numeric: true,
                    format: None,
                    rules: Vec::new(),
                },
            ],
            rows: vec![
                vec![Cell::Text("上海静安店".into()), Cell::Number(1234.0)],
                vec![Cell::Text("北京朝阳店".into()), Cell::Number(987.0)],
            ],
            total_rows: 12,
        }),
    };
    let line = ChartReport {
        name: "Daily orders 日订单".into(),
        outcome: ChartOutcome::Shown(Figure::Line(Series {
            label_field: "day".into(),
            labels: (1..=30).map(|d| format!("11-{d:02}")).collect(),
            series: vec![NamedValues {
                name: "orders".into(),
                values: (1..=30)
                    .map(|d| 900.0 + f64::from(d * 37 % 200) + f64::from(d) * 10.0)
                    .collect(),
                format: None,
            }],
            total_rows: 30,
        })),
    };
    let empty = ChartReport {
        name: "Refunds 退款".into(),
        outcome: ChartOutcome::Empty,
    };
    let broken = ChartReport {
        name: "Inventory 库存".into(),
        outcome: ChartOutcome::Unreadable("HTTP 503".into()),
    };
    PageReport {
        title: "销售日报 Sales overview".into(),
        subtitle: "2026-12-03 09:00 (Asia/Shanghai) · Daily sales".into(),
        language,
        charts: vec![kpi, bars, table, line, empty, broken],
    }
}

fn pixmap(png: &[u8]) -> Pixmap {
    Pixmap::decode_png(png).expect("a valid PNG")
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pictures");
    std::fs::create_dir_all(&dir).expect("target/pictures");
    dir
}

/// Dark pixels (text ink) in a region.
fn ink(p: &Pixmap, x0: u32, y0: u32, w: u32, h: u32) -> usize {
    let mut n = 0;
    for y in y0..(y0 + h).min(p.height()) {
        for x in x0..(x0 + w).min(p.width()) {
            let c = p.pixel(x, y).expect("in bounds");
            if u32::from(c.red()) + u32::from(c.green()) + u32::from(c.blue()) < 300 {
                n += 1;
            }
        }
    }
    n
}

fn single(name: &str) -> Pixmap {
    let chart = ChartReport {
        name: name.into(),
        outcome: ChartOutcome::Empty,
    };
    let image = Pictures::new()
        .chart_picture(&chart, Language::Zh)
        .expect("drawn");
    pixmap(&image.png)
}

#[test]
fn chinese_labels_are_glyphs_not_boxes() {
    // Three different characters, and a private-use code point no font has (drawn as the
    // .notdef box): real glyphs have ink, differ from each other and from the box.
    let [a, b, c, tofu] = ["销销销", "售售售", "额额额", "\u{E000}\u{E000}\u{E000}"].map(single);
    let title = |p: &Pixmap| (ink(p, 40, 24, 200, 30), p.data().to_vec());
    let (ink_a, data_a) = title(&a);
    let (ink_b, data_b) = title(&b);
    let (ink_c, data_c) = title(&c);
    let (_, data_tofu) = title(&tofu);
    assert!(
        ink_a > 60 && ink_b > 60 && ink_c > 60,
        "{ink_a} {ink_b} {ink_c}"
    );
    assert_ne!(data_a, data_b);
    assert_ne!(data_b, data_c);
    for data in [&data_a, &data_b, &data_c] {
        assert_ne!(
            data, &data_tofu,
            "a CJK character was drawn as the missing-glyph box"
        );
    }
}

#[test]
fn a_snapshot_shows_every_chart_and_is_deterministic() {
    let pictures = Pictures::new();
    let first = pictures
        .page_snapshot(&sample_page(Language::Zh))
        .expect("drawn");
    let again = pictures
        .page_snapshot(&sample_page(Language::Zh))
        .expect("drawn");
    assert_eq!(first.id, again.id, "same figures, same picture");
    assert_eq!(first.width, 1200);
    assert!(first.height > 600, "{}", first.height);
    assert!(first.png.len() < herald_pictures::MAX_PNG_BYTES);
    std::fs::write(out_dir().join("snapshot-zh.png"), &first.png).expect("written");
    let en = pictures
        .page_snapshot(&sample_page(Language::En))
        .expect("drawn");
    std::fs::write(out_dir().join("snapshot-en.png"), &en.png).expect("written");
    assert_ne!(first.id, en.id, "numbers read differently in each language");

    // Every card got ink: no chart is blank.
    let p = pixmap(&first.png);
    // Rows of this page: KPI and bars (176 px), table and line (300 px), two problem tiles.
    let rows = [112u32, 112 + 176 + 24, 112 + 176 + 24 + 300 + 24];
    for (i, _) in sample_page(Language::Zh).charts.iter().enumerate() {
        let x = 32 + (i as u32 % 2) * 580;
        let y = rows.get(i / 2).copied().unwrap_or(112);
        assert!(ink(&p, x, y, 556, 60) > 50, "chart {i} has no title");
    }
}

/// Compares with the golden picture kept in the repository; `HERALD_BLESS=1` rewrites it.
#[test]
fn the_snapshot_matches_the_golden_picture() {
    let image = Pictures::new()
        .page_snapshot(&sample_page(Language::Zh))
        .expect("drawn");
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/snapshot-zh.png");
    if std::env::var_os("HERALD_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().expect("dir")).expect("dir");
        std::fs::write(&golden, &image.png).expect("written");
    }
    let expected =
        pixmap(&std::fs::read(&golden).expect("the golden picture (HERALD_BLESS=1 writes it)"));
    let actual = pixmap(&image.png);
    assert_eq!(
        (actual.width(), actual.height()),
        (expected.width(), expected.height())
    );
    // Tolerance: anti-aliasing may differ by a few levels between builds; count pixels that
    // differ clearly.
    let differing = actual
        .pixels()
        .iter()
        .zip(expected.pixels())
        .filter(|(a, b)| {
            let d = |x: u8, y: u8| (i16::from(x) - i16::from(y)).unsigned_abs();
            d(a.red(), b.red()) + d(a.green(), b.green()) + d(a.blue(), b.blue()) > 48
        })
        .count();
    let allowed = (actual.width() * actual.height()) as usize / 1000;
    assert!(
        differing <= allowed,
        "{differing} pixels differ (allowed {allowed})"
    );
}

/// The worst page a task may have: 50 charts of 50 bars in 6 series each.
fn worst_page(language: Language) -> PageReport {
    let chart = |i: usize| ChartReport {
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
    };
    PageReport {
        title: "Worst case".into(),
        subtitle: "2026-12-03 09:00".into(),
        language,
        charts: (0..50).map(chart).collect(),
    }
}

#[test]
fn the_worst_page_stays_within_the_pixel_budget_and_says_what_it_left_out() {
    let pictures = Pictures::new();
    for (language, note) in [
        (
            Language::En,
            "more charts: their figures are in the message",
        ),
        (Language::Zh, "个图表未画出"),
    ] {
        let page = worst_page(language);
        let svg = pictures.page_svg(&page);
        assert!(
            u64::from(svg.width) * u64::from(svg.height) <= herald_pictures::MAX_PAGE_PIXELS,
            "{}×{}",
            svg.width,
            svg.height
        );
        assert!(
            svg.to_svg().contains(note),
            "the page says charts were left out"
        );
        let image = pictures.page_snapshot(&page).expect("drawn");
        assert!(
            u64::from(image.width) * u64::from(image.height) <= herald_pictures::MAX_PAGE_PIXELS
        );
    }
    // A page that fits keeps every chart and no note.
    let svg = pictures.page_svg(&sample_page(Language::En)).to_svg();
    assert!(!svg.contains("more charts"));
}

#[test]
fn the_snapshot_reads_numbers_as_their_fields_formats_say() {
    use herald_core::domain::number_format::{Currency, NumberFormat, NumberStyle};
    let yuan = NumberFormat::new(NumberStyle::Currency, None, Some(Currency::Cny), None).unwrap();
    let percent = NumberFormat::new(NumberStyle::Percent, Some(1), None, None).unwrap();
    let page = PageReport {
        title: "销售日报".into(),
        subtitle: "2026-12-07 09:00 (Asia/Shanghai)".into(),
        language: Language::Zh,
        charts: vec![
            ChartReport {
                name: "GMV".into(),
                outcome: ChartOutcome::Shown(Figure::Kpi {
                    field: "gmv".into(),
                    value: 123_456_789.0,
                    previous: Some(110_000_000.0),
                    format: Some(yuan),
                }),
            },
            ChartReport {
                name: "转化率".into(),
                outcome: ChartOutcome::Shown(Figure::Kpi {
                    field: "rate".into(),
                    value: 0.081,
                    previous: Some(0.073),
                    format: Some(percent.clone()),
                }),
            },
            ChartReport {
                name: "各步转化".into(),
                outcome: ChartOutcome::Shown(Figure::Bar(Series {
                    label_field: "step".into(),
                    labels: vec!["下单".into(), "支付".into()],
                    series: vec![NamedValues {
                        name: "rate".into(),
                        values: vec![0.0611, 0.0512],
                        format: Some(percent),
                    }],
                    total_rows: 2,
                })),
            },
        ],
    };
    let svg = Pictures::new().page_svg(&page).to_svg();
    // The KPIs' values and changes, and each bar's own value.
    for shown in ["¥1.23亿", "¥1.1亿", "8.1%", "0.8个百分点", "6.1%", "5.1%"] {
        assert!(svg.contains(shown), "{shown} is drawn");
    }
    assert!(!svg.contains("0.0611") && !svg.contains("0.081"));
}

#[test]
fn a_line_axis_shared_by_a_percentage_and_a_count_reads_as_plain_numbers() {
    use herald_core::domain::number_format::{NumberFormat, NumberStyle};
    let percent = NumberFormat::new(NumberStyle::Percent, Some(1), None, None).unwrap();
    let page = PageReport {
        title: "转化".into(),
        subtitle: "2026-12-07 09:00 (Asia/Shanghai)".into(),
        language: Language::Zh,
        charts: vec![ChartReport {
            name: "转化与订单".into(),
            outcome: ChartOutcome::Shown(Figure::Line(Series {
                label_field: "day".into(),
                labels: vec!["12-05".into(), "12-06".into()],
                series: vec![
                    NamedValues {
                        name: "rate".into(),
                        values: vec![0.05, 0.081],
                        format: Some(percent),
                    },
                    NamedValues {
                        name: "orders".into(),
                        values: vec![100.0, 900.0],
                        format: None,
                    },
                ],
                total_rows: 2,
            })),
        }],
    };
    let svg = Pictures::new().page_svg(&page).to_svg();
    // The callout reads as its own series; the axis (0.05 to 900) as plain numbers.
    assert!(svg.contains("8.1%"), "the latest rate");
    assert!(!svg.contains("90,000.0%"), "the axis is no percentage");
    assert!(
        svg.contains(">900<") || svg.contains(">900 <"),
        "the axis top reads 900"
    );
}
