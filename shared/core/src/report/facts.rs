//! What a run read of one chart, as conditions and message variables read it: its state, its
//! figure, and the numbers of its first row (a field's value "now", as Redash alerts read a
//! query's first row).
use crate::domain::number_format::NumberFormat;
use crate::domain::report::{ChartFields, Figure};
use crate::domain::run::ChartState;
use crate::domain::text::ChartName;

/// One chart as a run read it.
#[derive(Debug, Clone, Copy)]
pub struct ReadChart<'a> {
    pub name: &'a ChartName,
    pub fields: &'a ChartFields,
    pub state: &'a ChartState,
    pub figure: Option<&'a Figure>,
    /// The numbers of the chart's first row, by key.
    pub first_row: &'a [(String, f64)],
}

impl ReadChart<'_> {
    /// The field a chart is about: its KPI's, else the first value it names, else the first
    /// number of its first row.
    pub fn headline_field(&self) -> Option<&str> {
        match self.figure {
            Some(Figure::Kpi { field, .. }) => Some(field),
            _ => self
                .fields
                .values
                .first()
                .map(|k| k.as_str())
                .or_else(|| self.first_row.first().map(|(key, _)| key.as_str())),
        }
    }

    /// `field`'s value: the KPI's when it shows that field, else the first row's.
    pub fn value_of(&self, field: &str) -> Result<f64, String> {
        if let Some(Figure::Kpi {
            field: shown,
            value,
            ..
        }) = self.figure
            && shown == field
        {
            return Ok(*value);
        }
        self.readable()?;
        self.first_row
            .iter()
            .find(|(key, _)| key == field)
            .map(|(_, value)| *value)
            .ok_or_else(|| format!("its first row has no number in '{field}'"))
    }

    /// The headline value: the KPI's, a count's rows, else the first named value of the first row.
    pub fn value(&self) -> Result<f64, String> {
        if let Some(Figure::Count { rows }) = self.figure {
            return Ok(*rows as f64);
        }
        let field = self
            .headline_field()
            .ok_or_else(|| "it names no value field".to_owned())?;
        self.value_of(field)
    }

    /// The KPI's change against its previous value, in percent.
    pub fn change_percent(&self) -> Result<f64, String> {
        self.readable()?;
        match self.figure {
            Some(Figure::Kpi {
                value,
                previous: Some(previous),
                ..
            }) if *previous != 0.0 => Ok((value - previous) / previous.abs() * 100.0),
            Some(Figure::Kpi {
                previous: Some(_), ..
            }) => Err("its previous value is 0, so it has no change in percent".to_owned()),
            _ => Err("it is not shown as a KPI with a previous value (fields.compare)".to_owned()),
        }
    }

    /// How many rows the chart has; an empty one has 0.
    pub fn rows(&self) -> Result<usize, String> {
        match self.state {
            ChartState::Ok { rows } => Ok(*rows),
            ChartState::Empty => Ok(0),
            state => Err(state.problem().unwrap_or_default()),
        }
    }

    pub fn format_of(&self, field: &str) -> Option<NumberFormat> {
        self.fields.format_of(field)
    }

    fn readable(&self) -> Result<(), String> {
        match self.state {
            ChartState::Ok { .. } => Ok(()),
            ChartState::Empty => Err("it is empty".to_owned()),
            state => Err(format!(
                "it could not be read ({})",
                state.problem().unwrap_or_default()
            )),
        }
    }
}
