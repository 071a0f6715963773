use super::*;
use calamine::{Data, Reader, Xlsx};
use herald_core::domain::number_format::Currency;

fn format(style: NumberStyle, decimals: Option<u8>, currency: Option<Currency>) -> NumberFormat {
    NumberFormat::new(style, decimals, currency, None).unwrap()
}

fn sheet(name: &str, rows: usize, total: usize) -> Sheet {
    Sheet {
        name: name.to_owned(),
        keys: vec!["区域".into(), "gmv".into(), "rate".into(), "note".into()],
        formats: vec![
            None,
            Some(format(NumberStyle::Currency, None, Some(Currency::Cny))),
            Some(format(NumberStyle::Percent, Some(1), None)),
            None,
        ],
        rows: (0..rows)
            .map(|i| {
                vec![
                    Some(Cell::Text(format!("华东{i}"))),
                    Some(Cell::Number(1_000.5 * i as f64)),
                    Some(Cell::Number(0.0734)),
                    (i == 0).then(|| Cell::Text("=HYPERLINK(\"http://x\")".into())),
                ]
            })
            .collect(),
        total,
    }
}

#[test]
fn excel_formats_follow_the_fields_formats() {
    let cny = format(NumberStyle::Currency, None, Some(Currency::Cny));
    assert_eq!(excel_format(&cny), "\"¥\"#,##0.00");
    assert_eq!(
        excel_format(&format(NumberStyle::Percent, None, None)),
        "0.0%"
    );
    assert_eq!(
        excel_format(&format(NumberStyle::Number, Some(0), None)),
        "#,##0"
    );
    let ms = NumberFormat::new(NumberStyle::Number, Some(0), None, Some("ms".into())).unwrap();
    assert_eq!(excel_format(&ms), "#,##0\" ms\"");
    let yuan = NumberFormat::new(NumberStyle::Number, Some(1), None, Some("元".into())).unwrap();
    assert_eq!(excel_format(&yuan), "#,##0.0\"元\"");
}

#[test]
fn a_workbook_reads_back_with_its_rows_formats_and_notes() {
    let bytes = Sheets
        .workbook(
            &[sheet("GMV/区域", 3, 3), sheet("GMV/区域", 2, 5)],
            Language::Zh,
        )
        .unwrap();
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), vec!["GMV_区域", "GMV_区域 (2)"]);
    let first = book.worksheet_range("GMV_区域").unwrap();
    assert_eq!(first.get((0, 0)), Some(&Data::String("区域".into())));
    assert_eq!(first.get((2, 1)), Some(&Data::Float(1000.5)));
    // A string cell: Excel shows it, never runs it (only CSV needs the apostrophe).
    assert_eq!(
        first.get((1, 3)),
        Some(&Data::String("=HYPERLINK(\"http://x\")".into()))
    );
    assert_eq!(first.height(), 4, "a header and three rows, no note");
    let cut = book.worksheet_range("GMV_区域 (2)").unwrap();
    assert_eq!(
        cut.get((4, 0)),
        Some(&Data::String("共 5 行，此处为前 2 行".into()))
    );
    // The number formats are the fields' own.
    let styles = book.worksheet_style("GMV_区域").unwrap();
    let rate = styles.get((1, 2)).and_then(|s| s.number_format.as_ref());
    assert_eq!(rate.map(|f| f.format_code.as_str()), Some("0.0%"));
    let gmv = styles.get((1, 1)).and_then(|s| s.number_format.as_ref());
    assert_eq!(gmv.map(|f| f.format_code.as_str()), Some("\"¥\"#,##0.00"));
}

#[test]
fn csv_starts_with_a_bom_quotes_and_keeps_formulas_inert() {
    let bytes = Sheets.csv(&sheet("GMV", 2, 2)).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(
        text,
        "\u{feff}区域,gmv,rate,note\n华东0,0,0.0734,\"'=HYPERLINK(\"\"http://x\"\")\"\n华东1,1000.5,0.0734,\n"
    );
}
