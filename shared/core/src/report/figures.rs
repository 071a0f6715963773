//! Turns the rows a chart reader kept into what the chart shows ([`Figure`]): `auto` picks a KPI
//! for one row with one number, bars for a label and numbers, a table otherwise. A key that is
//! missing, or not a number where one is needed, is a [`ShapeError`] naming the field.
use super::shares::{combo_of, funnel_of, shares_of};
use crate::domain::number_format::NumberStyle;
use crate::domain::report::{
    Cell, ChartRows, Column, Display, Figure, MAX_VALUE_FIELDS, NamedValues, Row, Series,
    ShapeError,
};
use crate::domain::task::Chart;

/// How many numeric series `auto` shows at most.
const AUTO_MAX_SERIES: usize = 3;

/// What `chart` shows of `rows` (which hold at least one row).
pub fn figure_of(chart: &Chart, rows: &ChartRows) -> Result<Figure, ShapeError> {
    let reader = Reader { chart, rows };
    match reader.display() {
        Display::Count => Ok(Figure::Count { rows: rows.total }),
        Display::Kpi => reader.kpi(),
        Display::Table | Display::Auto => reader.table(),
        Display::Bar => reader.series(&rows.head).map(Figure::Bar),
        Display::Line => reader.series(&rows.sample).map(Figure::Line),
        Display::StackedBar => reader.series(&rows.head).map(Figure::StackedBar),
        Display::Area => reader.series(&rows.sample).map(Figure::Area),
        Display::Combo => reader
            .series(&rows.head)
            .and_then(combo_of)
            .map(Figure::Combo),
        Display::Funnel => reader
            .series(&rows.head)
            .and_then(funnel_of)
            .map(Figure::Funnel),
        Display::Pie => reader
            .series(&rows.head)
            .and_then(shares_of)
            .map(Figure::Pie),
        Display::Donut => reader
            .series(&rows.head)
            .and_then(shares_of)
            .map(Figure::Donut),
    }
}

struct Reader<'a> {
    chart: &'a Chart,
    rows: &'a ChartRows,
}

fn shape(field: impl Into<String>, reason: impl Into<String>) -> ShapeError {
    ShapeError {
        field: field.into(),
        reason: reason.into(),
    }
}

impl Reader<'_> {
    fn first(&self) -> Option<&Row> {
        self.rows.head.first().or(self.rows.sample.first())
    }

    fn cell<'r>(&self, row: &'r Row, key: &str) -> Option<&'r Cell> {
        self.rows
            .key_index(key)
            .and_then(|i| row.get(i))
            .and_then(Option::as_ref)
    }

    /// The first row's keys holding numbers, and the first holding text that is not a number.
    fn numeric_and_label(&self) -> (Vec<String>, Option<String>) {
        let Some(first) = self.first() else {
            return (Vec::new(), None);
        };
        let mut numeric = Vec::new();
        let mut label = None;
        for (key, cell) in self.rows.keys.iter().zip(first) {
            match cell {
                Some(c) if c.number().is_some() => numeric.push(key.clone()),
                Some(Cell::Text(_)) if label.is_none() => label = Some(key.clone()),
                _ => {}
            }
        }
        (numeric, label)
    }

    /// `auto` resolved from the fields named or the first row.
    fn display(&self) -> Display {
        let fields = &self.chart.fields;
        if self.chart.display != Display::Auto {
            return self.chart.display;
        }
        if !fields.values.is_empty() {
            return if fields.label.is_some() {
                Display::Bar
            } else if self.rows.total == 1 || fields.compare.is_some() {
                Display::Kpi
            } else {
                Display::Table
            };
        }
        let (numeric, label) = self.numeric_and_label();
        let label = fields.label.as_ref().map(|l| l.to_string()).or(label);
        if self.rows.total == 1 && numeric.len() == 1 {
            Display::Kpi
        } else if label.is_some() && !numeric.is_empty() {
            Display::Bar
        } else {
            Display::Table
        }
    }

    /// The value series: the named `values`, else the first row's numeric keys.
    fn value_keys(&self, max: usize) -> Result<Vec<(String, String)>, ShapeError> {
        let named = &self.chart.fields.values;
        if !named.is_empty() {
            return Ok(named
                .iter()
                .enumerate()
                .map(|(i, k)| (k.to_string(), format!("fields.values[{i}]")))
                .collect());
        }
        let label = self.chart.fields.label.as_ref().map(|l| l.as_str());
        let numeric: Vec<(String, String)> = self
            .numeric_and_label()
            .0
            .into_iter()
            .filter(|k| Some(k.as_str()) != label)
            .take(max)
            .map(|k| (k, "fields.values".to_owned()))
            .collect();
        if numeric.is_empty() {
            return Err(shape(
                "fields.values",
                "the first row has no numeric key: name one in fields.values",
            ));
        }
        Ok(numeric)
    }

    /// The number `cell` holds for `key`: a percent-style field's text "7.3%" is the ratio 0.073
    /// (what its format shows as 7.3%); other text reads as [`Cell::number`] does.
    fn value_of(&self, cell: &Cell, key: &str) -> Option<f64> {
        let percent = self
            .chart
            .fields
            .format_of(key)
            .is_some_and(|f| f.style == NumberStyle::Percent);
        match cell {
            Cell::Text(t) if percent && t.trim_end().ends_with('%') => {
                cell.number().map(|n| n / 100.0)
            }
            _ => cell.number(),
        }
    }

    /// The number at `key` in `row` (row numbers count from 1 for people).
    fn number(&self, row: &Row, n: usize, key: &str, field: &str) -> Result<f64, ShapeError> {
        match self.cell(row, key) {
            None => Err(shape(field, format!("row {n} has no key '{key}'"))),
            Some(cell) => self.value_of(cell, key).ok_or_else(|| {
                shape(
                    field,
                    format!("row {n}: '{key}' is {}, not a number", describe(cell)),
                )
            }),
        }
    }

    fn kpi(&self) -> Result<Figure, ShapeError> {
        let (key, field) = self
            .value_keys(1)?
            .into_iter()
            .next()
            .ok_or_else(|| shape("fields.values", "names no key"))?;
        let row = self
            .first()
            .ok_or_else(|| shape("rows", "there is no row to read"))?;
        let value = self.number(row, 1, &key, &field)?;
        let previous = match &self.chart.fields.compare {
            Some(compare) => Some(self.number(row, 1, compare.as_str(), "fields.compare")?),
            None => None,
        };
        Ok(Figure::Kpi {
            format: self.chart.fields.format_of(&key),
            field: key,
            value,
            previous,
        })
    }

    fn table(&self) -> Result<Figure, ShapeError> {
        let fields = &self.chart.fields;
        // Named values must be numbers; other columns show as they are.
        let mut numeric_named = Vec::new();
        for (i, key) in fields.values.iter().enumerate() {
            for (n, row) in self.rows.head.iter().enumerate() {
                self.number(row, n + 1, key.as_str(), &format!("fields.values[{i}]"))?;
            }
            numeric_named.push(key.as_str());
        }
        let keys: Vec<String> = if fields.is_empty() {
            self.rows.keys.clone()
        } else {
            fields.keys()
        };
        // A column with a format shows its numbers formatted, numbers written as text included.
        let formatted = |k: &str| fields.format_of(k).is_some();
        let rows: Vec<Vec<Cell>> = self
            .rows
            .head
            .iter()
            .map(|row| {
                keys.iter()
                    .map(|k| match self.cell(row, k) {
                        Some(cell) if formatted(k) => self
                            .value_of(cell, k)
                            .map_or_else(|| cell.clone(), Cell::Number),
                        Some(cell) => cell.clone(),
                        None => Cell::Empty,
                    })
                    .collect()
            })
            .collect();
        let columns = keys
            .iter()
            .enumerate()
            .map(|(i, name)| Column {
                format: fields.format_of(name),
                rules: fields.thresholds_of(name),
                name: name.clone(),
                numeric: numeric_named.contains(&name.as_str())
                    || (rows.iter().any(|r| !matches!(r[i], Cell::Empty))
                        && rows
                            .iter()
                            .all(|r| matches!(r[i], Cell::Empty | Cell::Number(_)))),
            })
            .collect();
        Ok(Figure::Table {
            columns,
            rows,
            total_rows: self.rows.total,
        })
    }

    fn series(&self, rows: &[Row]) -> Result<Series, ShapeError> {
        let label_field = match &self.chart.fields.label {
            Some(label) => label.to_string(),
            None => self.numeric_and_label().1.ok_or_else(|| {
                shape(
                    "fields.label",
                    "the first row has no text key for the labels: name one in fields.label",
                )
            })?,
        };
        let values = self.value_keys(AUTO_MAX_SERIES.min(MAX_VALUE_FIELDS))?;
        let mut labels = Vec::with_capacity(rows.len());
        let mut series: Vec<NamedValues> = values
            .iter()
            .map(|(name, _)| NamedValues {
                name: name.clone(),
                values: Vec::with_capacity(rows.len()),
                format: self.chart.fields.format_of(name),
            })
            .collect();
        for (n, row) in rows.iter().enumerate() {
            let label = match self.cell(row, &label_field) {
                Some(Cell::Text(t)) => t.clone(),
                Some(Cell::Number(x)) => super::numbers::full(*x),
                Some(Cell::Bool(b)) => b.to_string(),
                Some(Cell::Empty) => String::new(),
                None => {
                    return Err(shape(
                        "fields.label",
                        format!("row {} has no key '{label_field}'", n + 1),
                    ));
                }
            };
            labels.push(label);
            for ((key, field), out) in values.iter().zip(series.iter_mut()) {
                out.values.push(self.number(row, n + 1, key, field)?);
            }
        }
        Ok(Series {
            label_field,
            labels,
            series,
            total_rows: self.rows.total,
        })
    }
}

fn describe(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => {
            let short: String = t.chars().take(40).collect();
            format!("\"{short}\"")
        }
        Cell::Bool(b) => b.to_string(),
        Cell::Number(n) => n.to_string(),
        Cell::Empty => "null".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::{ChartFields, FieldKey, MaxRows};
    use crate::domain::text::{ChartName, HttpUrl, RowsPointer};

    fn chart(display: Display, fields: ChartFields) -> Chart {
        Chart {
            name: ChartName::parse("GMV").unwrap(),
            origin: crate::domain::task::ChartOrigin::Url {
                data_url: HttpUrl::parse("https://bi.example.com/c/1").unwrap(),
            },
            rows: RowsPointer::parse("").unwrap(),
            display,
            fields,
            max_rows: MaxRows::DEFAULT,
        }
    }

    fn key(k: &str) -> FieldKey {
        FieldKey::parse(k).unwrap()
    }

    fn rows(keys: &[&str], head: Vec<Vec<Option<Cell>>>) -> ChartRows {
        ChartRows {
            total: head.len(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            sample: head.clone(),
            head,
            whole: Vec::new(),
        }
    }

    fn n(x: f64) -> Option<Cell> {
        Some(Cell::Number(x))
    }

    fn t(s: &str) -> Option<Cell> {
        Some(Cell::Text(s.to_owned()))
    }

    #[test]
    fn auto_picks_a_kpi_for_one_row_with_one_number() {
        let data = rows(&["gmv"], vec![vec![n(1234.0)]]);
        let figure = figure_of(&chart(Display::Auto, ChartFields::default()), &data).unwrap();
        assert_eq!(
            figure,
            Figure::Kpi {
                field: "gmv".into(),
                value: 1234.0,
                previous: None,
                format: None,
            }
        );
    }

    #[test]
    fn auto_picks_bars_for_a_label_and_numbers() {
        let data = rows(
            &["region", "gmv"],
            vec![vec![t("East"), n(3.0)], vec![t("West"), t("1,200.5")]],
        );
        let Figure::Bar(series) =
            figure_of(&chart(Display::Auto, ChartFields::default()), &data).unwrap()
        else {
            panic!("not bars");
        };
        assert_eq!(series.labels, ["East", "West"]);
        assert_eq!(series.series[0].values, [3.0, 1200.5]);
    }

    #[test]
    fn auto_picks_a_table_otherwise() {
        let data = rows(
            &["a", "b"],
            vec![vec![t("x"), t("y")], vec![t("z"), n(1.0)]],
        );
        let figure = figure_of(&chart(Display::Auto, ChartFields::default()), &data).unwrap();
        assert_eq!(figure.kind(), "table");
    }

    #[test]
    fn a_kpi_compares_with_its_previous_value() {
        let fields = ChartFields {
            values: vec![key("gmv")],
            compare: Some(key("gmv_prev")),
            ..ChartFields::default()
        };
        let data = rows(&["gmv", "gmv_prev"], vec![vec![n(110.0), t("100")]]);
        let figure = figure_of(&chart(Display::Kpi, fields), &data).unwrap();
        assert_eq!(
            figure,
            Figure::Kpi {
                field: "gmv".into(),
                value: 110.0,
                previous: Some(100.0),
                format: None,
            }
        );
    }

    #[test]
    fn a_missing_or_non_numeric_key_is_a_shape_error_naming_the_field() {
        let fields = ChartFields {
            label: Some(key("region")),
            values: vec![key("gmv"), key("orders")],
            ..ChartFields::default()
        };
        let data = rows(
            &["region", "gmv", "orders"],
            vec![
                vec![t("East"), n(1.0), n(2.0)],
                vec![t("West"), n(1.0), t("n/a")],
            ],
        );
        let err = figure_of(&chart(Display::Bar, fields.clone()), &data).unwrap_err();
        assert_eq!(err.field, "fields.values[1]");
        assert!(err.reason.contains("row 2") && err.reason.contains("\"n/a\""));

        let data = rows(&["region", "gmv"], vec![vec![t("East"), n(1.0)]]);
        let err = figure_of(&chart(Display::Bar, fields), &data).unwrap_err();
        assert_eq!(err.field, "fields.values[1]");
        assert!(err.reason.contains("no key 'orders'"));

        let data = rows(&["region"], vec![vec![t("East")]]);
        let err = figure_of(&chart(Display::Kpi, ChartFields::default()), &data).unwrap_err();
        assert_eq!(err.field, "fields.values");
    }

    #[test]
    fn count_shows_only_the_rows() {
        let mut data = rows(&[], vec![]);
        data.total = 42;
        let figure = figure_of(&chart(Display::Count, ChartFields::default()), &data).unwrap();
        assert_eq!(figure, Figure::Count { rows: 42 });
    }
}
