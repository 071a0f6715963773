//! A daily page with every chart kind, as a Chinese business team would push it: the page the
//! README shows, the golden picture's, and the rendering benchmark's.
use herald_core::domain::contact::Language;
use herald_core::domain::number_format::{Currency, NumberFormat, NumberStyle};
use herald_core::domain::report::{
    Cell, ChartOutcome, ChartReport, Column, Figure, NamedValues, PageReport, Series, Shares, Slice,
};

fn values(name: &str, values: Vec<f64>, format: Option<NumberFormat>) -> NamedValues {
    NamedValues {
        name: name.into(),
        values,
        format,
    }
}

fn series(label_field: &str, labels: &[&str], series: Vec<NamedValues>) -> Series {
    Series {
        label_field: label_field.into(),
        labels: labels.iter().map(|l| (*l).to_owned()).collect(),
        series,
        total_rows: labels.len(),
    }
}

fn shown(name: &str, figure: Figure) -> ChartReport {
    ChartReport {
        name: name.into(),
        outcome: ChartOutcome::Shown(figure),
    }
}

fn yuan() -> Option<NumberFormat> {
    NumberFormat::new(NumberStyle::Currency, None, Some(Currency::Cny), None).ok()
}

fn percent() -> Option<NumberFormat> {
    NumberFormat::new(NumberStyle::Percent, Some(1), None, None).ok()
}

/// Twelve charts: KPIs in yuan and percent, grouped and stacked bars, two lines (this year and
/// last), stacked areas, bars with a line, a pie, a donut, a funnel, a table and a count.
pub fn every_kind(language: Language) -> PageReport {
    let regions = ["华东", "华北", "华南", "西南", "东北"];
    let days: Vec<String> = (1..=30).map(|d| format!("11-{d:02}")).collect();
    let day_labels: Vec<&str> = days.iter().map(String::as_str).collect();
    let wave = |base: f64, k: u32| -> Vec<f64> {
        (1..=30u32)
            .map(|d| base + f64::from(d * k % 97) * base / 400.0 + f64::from(d) * base / 100.0)
            .collect()
    };
    let charts = vec![
        shown(
            "GMV 成交额",
            Figure::Kpi {
                field: "gmv".into(),
                value: 123_456_789.0,
                previous: Some(117_000_000.0),
                format: yuan(),
            },
        ),
        shown(
            "支付转化率",
            Figure::Kpi {
                field: "rate".into(),
                value: 0.0734,
                previous: Some(0.0652),
                format: percent(),
            },
        ),
        shown(
            "分区域 GMV（今年 vs 去年）",
            Figure::Bar(series(
                "region",
                &regions,
                vec![
                    values(
                        "今年",
                        vec![523.0e4, 310.0e4, 187.0e4, 120.0e4, 64.0e4],
                        yuan(),
                    ),
                    values(
                        "去年",
                        vec![470.0e4, 330.0e4, 150.0e4, 98.0e4, 70.0e4],
                        yuan(),
                    ),
                ],
            )),
        ),
        shown(
            "分区域、分渠道订单",
            Figure::StackedBar(series(
                "region",
                &regions,
                vec![
                    values("App", vec![5200.0, 3100.0, 2400.0, 1500.0, 800.0], None),
                    values("小程序", vec![3100.0, 2500.0, 1900.0, 900.0, 600.0], None),
                    values("H5", vec![900.0, 700.0, 650.0, 300.0, 200.0], None),
                ],
            )),
        ),
        shown(
            "日订单（今年 vs 去年）",
            Figure::Line(series(
                "day",
                &day_labels,
                vec![
                    values("今年", wave(9000.0, 37), None),
                    values("去年", wave(7600.0, 53), None),
                ],
            )),
        ),
        shown(
            "分渠道访客",
            Figure::Area(series(
                "day",
                &day_labels,
                vec![
                    values("App", wave(42000.0, 31), None),
                    values("小程序", wave(26000.0, 17), None),
                ],
            )),
        ),
        shown(
            "GMV 与转化率",
            Figure::Combo(series(
                "region",
                &regions,
                vec![
                    values(
                        "GMV",
                        vec![523.0e4, 310.0e4, 187.0e4, 120.0e4, 64.0e4],
                        yuan(),
                    ),
                    values("转化率", vec![0.081, 0.069, 0.074, 0.058, 0.049], percent()),
                ],
            )),
        ),
        shown(
            "渠道占比",
            Figure::Pie(Shares {
                label_field: "channel".into(),
                value_field: "orders".into(),
                slices: [
                    ("App", 11800.0),
                    ("小程序", 9000.0),
                    ("H5", 2750.0),
                    ("线下", 1200.0),
                ]
                .iter()
                .map(|(l, v)| Slice {
                    label: (*l).into(),
                    value: *v,
                })
                .collect(),
                other: Some(310.0),
                total: 25060.0,
                total_rows: 6,
                format: None,
            }),
        ),
        shown(
            "品类销售额",
            Figure::Donut(Shares {
                label_field: "category".into(),
                value_field: "gmv".into(),
                slices: [
                    ("服饰", 4.6e7),
                    ("数码", 3.9e7),
                    ("美妆", 2.1e7),
                    ("食品", 1.4e7),
                ]
                .iter()
                .map(|(l, v)| Slice {
                    label: (*l).into(),
                    value: *v,
                })
                .collect(),
                other: None,
                total: 1.2e8,
                total_rows: 4,
                format: yuan(),
            }),
        ),
        shown(
            "下单漏斗",
            Figure::Funnel(series(
                "step",
                &["访问", "浏览商品", "加入购物车", "提交订单", "支付成功"],
                vec![values(
                    "users",
                    vec![120_000.0, 64_000.0, 21_000.0, 9_800.0, 8_800.0],
                    None,
                )],
            )),
        ),
        shown(
            "Top 门店",
            Figure::Table {
                columns: vec![
                    Column {
                        name: "门店".into(),
                        numeric: false,
                        format: None,
                        rules: Vec::new(),
                    },
                    Column {
                        name: "GMV".into(),
                        numeric: true,
                        format: yuan(),
                        rules: Vec::new(),
                    },
                ],
                rows: [
                    ("上海静安店", 1_234_567.0),
                    ("北京朝阳店", 987_654.0),
                    ("深圳南山店", 876_543.0),
                ]
                .iter()
                .map(|(s, v)| vec![Cell::Text((*s).into()), Cell::Number(*v)])
                .collect(),
                total_rows: 12,
            },
        ),
        shown("待处理工单", Figure::Count { rows: 37 }),
    ];
    PageReport {
        title: "销售日报 Sales daily".into(),
        subtitle: "2026-12-03 09:00 (Asia/Shanghai) · 每日销售".into(),
        language,
        charts,
    }
}
