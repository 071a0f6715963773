//! The files a push attaches: the charts' rows as an xlsx workbook, a sheet per chart, or as one
//! CSV file per chart. Numbers stay numbers (a reader can sum them); the chart's
//! `fields.formats` become Excel number formats; a workbook's text is a string cell (never run),
//! and CSV text that a spreadsheet would take for a formula gets a leading apostrophe.
use herald_core::domain::attachment::Sheet;
use herald_core::domain::contact::Language;
use herald_core::domain::number_format::{NumberFormat, NumberStyle};
use herald_core::domain::report::Cell;
use herald_core::ports::{SheetError, SheetWriter};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

mod names;

/// Writes workbooks with rust_xlsxwriter and CSV with csv.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sheets;

fn failed(err: impl std::fmt::Display) -> SheetError {
    SheetError::Write(err.to_string())
}

/// Excel's number format for a field's format: grouped thousands, the decimals asked for (or
/// those the text form uses), the currency's sign before and the unit after.
pub fn excel_format(format: &NumberFormat) -> String {
    let default_decimals = match (format.style, format.currency) {
        (NumberStyle::Percent, _) => 1,
        (_, Some(currency)) => currency.decimals(),
        _ => 2,
    };
    let decimals = usize::from(format.decimals.unwrap_or(default_decimals));
    let fraction = if decimals == 0 {
        String::new()
    } else {
        format!(".{}", "0".repeat(decimals))
    };
    let quoted = |text: &str| format!("\"{}\"", text.replace('"', ""));
    let mut excel = match format.style {
        NumberStyle::Percent => format!("0{fraction}%"),
        NumberStyle::Number | NumberStyle::Currency => format!("#,##0{fraction}"),
    };
    if let Some(currency) = format.currency {
        excel = format!("{}{excel}", quoted(currency.sign()));
    }
    match &format.unit {
        // As the text form writes it: "120 ms", "120元".
        Some(unit) if unit.starts_with(|c: char| c.is_ascii_alphabetic()) => {
            excel.push_str(&quoted(&format!(" {unit}")));
        }
        Some(unit) => excel.push_str(&quoted(unit)),
        None => {}
    }
    excel
}

/// Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or a carriage return
/// first) gets a leading apostrophe, as OWASP's CSV-injection advice says.
fn inert(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// What a cut sheet's note says, under its rows.
fn cut_note(sheet: &Sheet, language: Language) -> Option<String> {
    sheet.cut_note()?;
    Some(match language {
        Language::Zh => format!("共 {} 行，此处为前 {} 行", sheet.total, sheet.rows.len()),
        Language::En => format!("The first {} of {} rows", sheet.rows.len(), sheet.total),
    })
}

/// The widest a column is made, in characters.
const MAX_WIDTH: usize = 40;
/// How many rows a column's width is judged from.
const WIDTH_ROWS: usize = 200;

fn column_width(sheet: &Sheet, column: usize) -> f64 {
    let width = |text: &str| {
        text.chars()
            .map(|c| if c.is_ascii() { 1 } else { 2 })
            .sum::<usize>()
    };
    let cells = sheet.rows.iter().take(WIDTH_ROWS).filter_map(|row| {
        row.get(column)
            .and_then(Option::as_ref)
            .map(|cell| match cell {
                Cell::Text(text) => width(text),
                Cell::Number(_) => 14,
                Cell::Bool(_) => 5,
                Cell::Empty => 0,
            })
    });
    let widest = cells
        .chain(std::iter::once(width(&sheet.keys[column])))
        .max()
        .unwrap_or(8);
    (widest.clamp(8, MAX_WIDTH) + 2) as f64
}

fn write_sheet(
    worksheet: &mut Worksheet,
    sheet: &Sheet,
    language: Language,
) -> Result<(), XlsxError> {
    let header = Format::new().set_bold();
    let formats: Vec<Option<Format>> = sheet
        .formats
        .iter()
        .map(|f| {
            f.as_ref()
                .map(|f| Format::new().set_num_format(excel_format(f)))
        })
        .collect();
    for (col, key) in sheet.keys.iter().enumerate() {
        let col = col as u16;
        worksheet.write_string_with_format(0, col, key, &header)?;
        worksheet.set_column_width(col, column_width(sheet, col.into()))?;
    }
    for (i, row) in sheet.rows.iter().enumerate() {
        let at = i as u32 + 1;
        for (col, cell) in row.iter().enumerate() {
            let Some(cell) = cell else { continue };
            let c = col as u16;
            match cell {
                Cell::Number(n) if n.is_finite() => match formats.get(col).and_then(Option::as_ref)
                {
                    Some(format) => worksheet.write_number_with_format(at, c, *n, format)?,
                    None => worksheet.write_number(at, c, *n)?,
                },
                Cell::Number(_) | Cell::Empty => worksheet,
                Cell::Text(text) => worksheet.write_string(at, c, text)?,
                Cell::Bool(b) => worksheet.write_boolean(at, c, *b)?,
            };
        }
    }
    if !sheet.keys.is_empty() {
        worksheet.set_freeze_panes(1, 0)?;
        let last_col = (sheet.keys.len() - 1) as u16;
        worksheet.autofilter(0, 0, sheet.rows.len() as u32, last_col)?;
    }
    if let Some(note) = cut_note(sheet, language) {
        worksheet.write_string(sheet.rows.len() as u32 + 2, 0, &note)?;
    }
    Ok(())
}

impl SheetWriter for Sheets {
    fn workbook(&self, sheets: &[Sheet], language: Language) -> Result<Vec<u8>, SheetError> {
        let mut workbook = Workbook::new();
        let mut taken = Vec::with_capacity(sheets.len());
        for sheet in sheets {
            let name = names::sheet_name(&sheet.name, &taken);
            // Rows go to a temporary file as they are written (in order), not into memory: a
            // page of 10 × 10,000 rows takes a few MiB instead of a hundred (`make bench`).
            let worksheet = workbook
                .add_worksheet_with_constant_memory()
                .map_err(failed)?;
            worksheet.set_name(&name).map_err(failed)?;
            taken.push(name);
            write_sheet(worksheet, sheet, language).map_err(failed)?;
        }
        if sheets.is_empty() {
            workbook.add_worksheet();
        }
        workbook.save_to_buffer().map_err(failed)
    }

    fn csv(&self, sheet: &Sheet) -> Result<Vec<u8>, SheetError> {
        // Excel reads a CSV as the system's code page unless it starts with a byte-order mark.
        let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        out.write_record(sheet.keys.iter().map(|k| inert(k).into_owned()))
            .map_err(failed)?;
        let mut record: Vec<String> = Vec::with_capacity(sheet.keys.len());
        for row in &sheet.rows {
            record.clear();
            record.extend(row.iter().map(|cell| match cell {
                Some(Cell::Number(n)) if n.is_finite() => n.to_string(),
                Some(Cell::Text(text)) => inert(text).into_owned(),
                Some(Cell::Bool(b)) => b.to_string(),
                Some(Cell::Number(_) | Cell::Empty) | None => String::new(),
            }));
            out.write_record(&record).map_err(failed)?;
        }
        out.into_inner().map_err(failed)
    }
}

#[cfg(test)]
mod tests;
