//! Every chart kind as a reader sees it: the README's page against its golden picture (with
//! tolerance), colour-blind-safe colours where the series are, and the edge cases a pie has.
use herald_core::domain::contact::Language;
use herald_core::domain::report::{ChartOutcome, ChartReport, Figure, Shares, Slice};
use herald_core::ports::PictureRenderer;
use herald_pictures::Pictures;
use herald_pictures::samples::every_kind;
use resvg::tiny_skia::Pixmap;
use std::path::PathBuf;

fn pixmap(png: &[u8]) -> Pixmap {
    Pixmap::decode_png(png).expect("a valid PNG")
}

/// Pixels within a few levels of `rgb` (a series' colour, anti-aliasing aside).
fn pixels_of(p: &Pixmap, rgb: (u8, u8, u8)) -> usize {
    p.pixels()
        .iter()
        .filter(|c| {
            let d = |a: u8, b: u8| (i16::from(a) - i16::from(b)).unsigned_abs();
            d(c.red(), rgb.0) + d(c.green(), rgb.1) + d(c.blue(), rgb.2) < 12
        })
        .count()
}

const BLUE: (u8, u8, u8) = (0x00, 0x72, 0xb2);
const ORANGE: (u8, u8, u8) = (0xe6, 0x9f, 0x00);
const GREEN: (u8, u8, u8) = (0x00, 0x9e, 0x73);

fn chart(report: &ChartReport) -> Pixmap {
    let image = Pictures::new()
        .chart_picture(report, Language::Zh)
        .expect("drawn");
    pixmap(&image.png)
}

/// Compares with the golden picture kept in the repository; `HERALD_BLESS=1` rewrites it.
#[test]
fn the_page_of_every_kind_matches_its_golden_picture() {
    let image = Pictures::new()
        .page_snapshot(&every_kind(Language::Zh))
        .expect("drawn");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pictures");
    std::fs::create_dir_all(&out).expect("target/pictures");
    std::fs::write(out.join("kinds-zh.png"), &image.png).expect("written");
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/kinds-zh.png");
    if std::env::var_os("HERALD_BLESS").is_some() {
        std::fs::write(&golden, &image.png).expect("written");
    }
    let expected =
        pixmap(&std::fs::read(&golden).expect("the golden picture (HERALD_BLESS=1 writes it)"));
    let actual = pixmap(&image.png);
    assert_eq!(
        (actual.width(), actual.height()),
        (expected.width(), expected.height())
    );
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
    // Both languages draw every kind.
    let en = Pictures::new()
        .page_snapshot(&every_kind(Language::En))
        .expect("drawn");
    assert_eq!(en.width, image.width);
}

#[test]
fn each_series_and_slice_gets_its_own_colour_blind_safe_colour() {
    let page = every_kind(Language::Zh);
    let by_name = |name: &str| {
        page.charts
            .iter()
            .find(|c| c.name == name)
            .expect("chart on the page")
    };
    // Two lines (this year, last year): blue and orange, each with its legend swatch.
    let lines = chart(by_name("日订单（今年 vs 去年）"));
    assert!(pixels_of(&lines, BLUE) > 100, "this year's line");
    assert!(pixels_of(&lines, ORANGE) > 100, "last year's line");
    // Stacked bars of three channels, a pie of four slices and other.
    let stacked = chart(by_name("分区域、分渠道订单"));
    for colour in [BLUE, ORANGE, GREEN] {
        assert!(pixels_of(&stacked, colour) > 200, "{colour:?}");
    }
    let pie = chart(by_name("渠道占比"));
    for colour in [BLUE, ORANGE, GREEN] {
        assert!(pixels_of(&pie, colour) > 300, "{colour:?}");
    }
    // The largest slice takes about 47% of the disc: more blue than orange, and much more than
    // the 11% slice (green).
    let (blue, orange, green) = (
        pixels_of(&pie, BLUE),
        pixels_of(&pie, ORANGE),
        pixels_of(&pie, GREEN),
    );
    assert!(
        blue > orange && orange > green * 2,
        "{blue} {orange} {green}"
    );
}

#[test]
fn a_pie_of_one_slice_is_a_whole_disc_and_a_donut_shows_its_total() {
    let whole = |donut: bool| ChartReport {
        name: "只有一个渠道".into(),
        outcome: {
            let shares = Shares {
                label_field: "channel".into(),
                value_field: "orders".into(),
                slices: vec![Slice {
                    label: "App".into(),
                    value: 5.0,
                }],
                other: None,
                total: 5.0,
                total_rows: 1,
                format: None,
            };
            ChartOutcome::Shown(if donut {
                Figure::Donut(shares)
            } else {
                Figure::Pie(shares)
            })
        },
    };
    let pie = chart(&whole(false));
    let donut = chart(&whole(true));
    // A disc of radius 96 is about 29,000 pixels; the donut's hole takes about a third.
    let (disc, ring) = (pixels_of(&pie, BLUE), pixels_of(&donut, BLUE));
    assert!(disc > 25_000, "{disc}");
    assert!(ring < disc * 3 / 4 && ring > disc / 2, "{ring} of {disc}");
}

#[test]
fn a_tables_cells_take_the_colour_of_the_first_rule_they_meet() {
    use herald_core::domain::report::{Cell, CellColor, CellRule, Column, Comparison, Threshold};
    let table = |rules: Vec<CellRule>| ChartReport {
        name: "门店转化".into(),
        outcome: ChartOutcome::Shown(Figure::Table {
            columns: vec![
                Column {
                    name: "store".into(),
                    numeric: false,
                    format: None,
                    rules: Vec::new(),
                },
                Column {
                    name: "rate".into(),
                    numeric: true,
                    format: None,
                    rules,
                },
            ],
            rows: vec![
                vec![Cell::Text("静安".into()), Cell::Number(3.0)],
                vec![Cell::Text("朝阳".into()), Cell::Number(12.0)],
            ],
            total_rows: 2,
        }),
    };
    // Red ink: anti-aliased text is red where it is clearly more red than anything else.
    let reddish = |p: &Pixmap| {
        p.pixels()
            .iter()
            .filter(|c| {
                let (r, g, b) = (
                    i16::from(c.red()),
                    i16::from(c.green()),
                    i16::from(c.blue()),
                );
                r - g > 60 && r - b > 60
            })
            .count()
    };
    let plain = chart(&table(Vec::new()));
    let coloured = chart(&table(vec![CellRule {
        op: Comparison::Below,
        value: Threshold::try_from(5.0).expect("finite"),
        color: CellColor::Red,
    }]));
    assert_eq!(reddish(&plain), 0);
    assert!(
        reddish(&coloured) > 10,
        "the 3 in red: {}",
        reddish(&coloured)
    );
}
