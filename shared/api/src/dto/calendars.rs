//! Working-day calendars on the wire.
use herald_core::domain::calendar::{Calendar, CalendarDay, DayKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A day set on a calendar: `off` (a holiday) or `work` (a make-up working day).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayBody {
    #[schema(example = "off")]
    pub kind: String,
    /// What the day is (shown in a skipped run's reason), at most 40 characters.
    #[serde(default)]
    #[schema(example = "公司年会")]
    pub name: String,
}

impl DayBody {
    pub fn parse(&self) -> Result<CalendarDay, herald_core::FieldError> {
        let kind = super::at("kind", DayKind::parse(&self.kind))?;
        super::at("name", CalendarDay::new(kind, self.name.clone()))
    }
}

/// One listed day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    #[schema(example = "2026-10-01")]
    pub date: String,
    /// `off` or `work`.
    pub kind: String,
    pub name: String,
    /// Set by an admin (else shipped with Herald).
    pub set: bool,
}

impl DayView {
    pub fn new(date: chrono::NaiveDate, day: &CalendarDay, set: bool) -> Self {
        Self {
            date: date.format("%Y-%m-%d").to_string(),
            kind: day.kind.as_str().to_owned(),
            name: day.name.clone(),
            set,
        }
    }
}

/// A calendar: Monday to Friday worked and weekends off, except the days listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarView {
    #[schema(example = "cn-workdays")]
    pub name: String,
    /// Shipped with Herald (`cn-workdays`: the State Council's arrangements for 2025 and 2026,
    /// 2027's statutory holidays); admins' days win over shipped ones.
    pub shipped: bool,
    /// How many days admins set on it.
    pub days_set: usize,
    /// The listed days in date order (of `year` when asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<DayView>>,
}

impl CalendarView {
    pub fn new(calendar: &Calendar, days: Option<Option<i32>>) -> Self {
        use chrono::Datelike;
        Self {
            name: calendar.name.to_string(),
            shipped: Calendar::is_shipped(&calendar.name),
            days_set: calendar.set.len(),
            days: days.map(|year| {
                calendar
                    .days()
                    .into_iter()
                    .filter(|(date, _, _)| year.is_none_or(|y| date.year() == y))
                    .map(|(date, day, set)| DayView::new(date, day, set))
                    .collect()
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarList {
    pub items: Vec<CalendarView>,
}
