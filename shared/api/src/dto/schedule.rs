//! The schedule of a task on the wire: `every` plus the fields that kind needs.
use super::at;
use chrono::{NaiveDate, Weekday};
use herald_core::FieldError;
use herald_core::domain::calendar::CalendarName;
use herald_core::domain::schedule::{
    CronExpr, MonthDay, Recurrence, Schedule, TimeOfDay, parse_timezone,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// When a task runs. `every` is `hour` (with `minute`), `day` (with `at`), `week` (with `days` and `at`),
/// `month` (with `day_of_month`: 1-31 or `"last"`, and `at`) or `cron` (with an EventBridge `cron`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    #[schema(example = "week")]
    pub every: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minute: Option<u8>,
    /// `HH:MM`, 24-hour, in `timezone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "10:00")]
    pub at: Option<String>,
    /// `mon` … `sun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, example = 15)]
    pub day_of_month: Option<DayOfMonthBody>,
    /// An EventBridge cron expression, `cron(0 10 ? * MON-FRI *)` or its six fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// IANA time zone name.
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    /// First day a push may run (`YYYY-MM-DD`); default today in `timezone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Run only on this calendar's working days: `cn-workdays` (mainland China: weekends and
    /// public holidays off, make-up working days on) or one an admin made (`/v1/calendars`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "cn-workdays")]
    pub calendar: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum DayOfMonthBody {
    Day(u8),
    Last(String),
}

const KINDS: &str = "hour, day, week, month or cron";

impl ScheduleBody {
    /// Parses into a schedule; `today` gives the default start for a time zone.
    pub fn parse(
        &self,
        today: impl Fn(chrono_tz::Tz) -> NaiveDate,
    ) -> Result<Schedule, FieldError> {
        let timezone = at(
            "timezone",
            parse_timezone(&self.timezone).map_err(|e| e.to_string()),
        )?;
        let start = match &self.start {
            Some(raw) => at(
                "start",
                NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map_err(|_| format!("'{raw}' is not a date: use YYYY-MM-DD")),
            )?,
            None => today(timezone),
        };
        let allowed: &[&str] = match self.every.as_str() {
            "hour" => &["minute"],
            "day" => &["at"],
            "week" => &["days", "at"],
            "month" => &["day_of_month", "at"],
            "cron" => &["cron"],
            other => {
                return Err(FieldError::new(
                    "every",
                    format!("unknown schedule kind '{other}' (use {KINDS})"),
                ));
            }
        };
        let given = [
            ("minute", self.minute.is_some()),
            ("at", self.at.is_some()),
            ("days", self.days.is_some()),
            ("day_of_month", self.day_of_month.is_some()),
            ("cron", self.cron.is_some()),
        ];
        for (field, present) in given {
            if present && !allowed.contains(&field) {
                return Err(FieldError::new(
                    field,
                    format!("is not used with every = {}; remove it", self.every),
                ));
            }
        }
        let recurrence = match self.every.as_str() {
            "hour" => {
                let minute = self.minute.ok_or_else(|| {
                    FieldError::new("minute", "is required with every = hour (0-59)")
                })?;
                if minute > 59 {
                    return Err(FieldError::new("minute", "must be 0-59"));
                }
                Recurrence::Hourly { minute }
            }
            "day" => Recurrence::Daily {
                at: self.time_of_day()?,
            },
            "week" => Recurrence::Weekly {
                days: self.weekdays()?,
                at: self.time_of_day()?,
            },
            "month" => Recurrence::Monthly {
                day: self.month_day()?,
                at: self.time_of_day()?,
            },
            _ => {
                let raw = self
                    .cron
                    .as_deref()
                    .ok_or_else(|| FieldError::new("cron", "is required with every = cron"))?;
                Recurrence::Cron(at("cron", CronExpr::parse(raw).map_err(|e| e.to_string()))?)
            }
        };
        let calendar = super::optional("calendar", &self.calendar, CalendarName::parse)?;
        Schedule::new(recurrence, timezone, start)
            .and_then(|schedule| schedule.with_calendar(calendar))
            .map_err(|e| FieldError::new("every", e.to_string()))
    }

    fn time_of_day(&self) -> Result<TimeOfDay, FieldError> {
        let raw = self
            .at
            .as_deref()
            .ok_or_else(|| FieldError::new("at", "is required: HH:MM"))?;
        at("at", TimeOfDay::parse(raw).map_err(|e| e.to_string()))
    }

    fn weekdays(&self) -> Result<Vec<Weekday>, FieldError> {
        let raw = self
            .days
            .as_deref()
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                FieldError::new(
                    "days",
                    "is required with every = week: e.g. [\"mon\", \"thu\"]",
                )
            })?;
        let mut days = Vec::new();
        for (i, day) in raw.iter().enumerate() {
            let parsed = match day.to_ascii_lowercase().as_str() {
                "mon" => Weekday::Mon,
                "tue" => Weekday::Tue,
                "wed" => Weekday::Wed,
                "thu" => Weekday::Thu,
                "fri" => Weekday::Fri,
                "sat" => Weekday::Sat,
                "sun" => Weekday::Sun,
                _ => {
                    return Err(FieldError::new(
                        format!("days[{i}]"),
                        format!("'{day}' is not a day: use mon … sun"),
                    ));
                }
            };
            if !days.contains(&parsed) {
                days.push(parsed);
            }
        }
        days.sort_by_key(Weekday::num_days_from_monday);
        Ok(days)
    }

    fn month_day(&self) -> Result<MonthDay, FieldError> {
        match &self.day_of_month {
            Some(DayOfMonthBody::Day(day @ 1..=31)) => Ok(MonthDay::Day(*day)),
            Some(DayOfMonthBody::Last(last)) if last == "last" => Ok(MonthDay::Last),
            Some(_) => Err(FieldError::new("day_of_month", "must be 1-31 or \"last\"")),
            None => Err(FieldError::new(
                "day_of_month",
                "is required with every = month: 1-31 or \"last\"",
            )),
        }
    }
}

fn weekday_name(day: &Weekday) -> String {
    day.to_string().to_ascii_lowercase()
}

/// The schedule as answered: the request's fields (as [`ScheduleBody`] documents them) plus
/// what EventBridge gets. Its own fields, not a flattened body: the body's schema is closed
/// (unknown fields are refused), so `expression` could not be added to it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    #[schema(example = "week")]
    pub every: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minute: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "10:00")]
    pub at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>, example = 15)]
    pub day_of_month: Option<DayOfMonthBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    #[schema(example = "Asia/Shanghai")]
    pub timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "cn-workdays")]
    pub calendar: Option<String>,
    /// The expression EventBridge Scheduler evaluates in `timezone` (with a calendar, a schedule
    /// on every weekday fires every day: the trigger skips the days off, so make-up working
    /// weekends run).
    #[schema(example = "cron(0 10 ? * MON,THU *)")]
    pub expression: String,
}

impl From<&Schedule> for ScheduleView {
    fn from(schedule: &Schedule) -> Self {
        let mut view = ScheduleView {
            every: String::new(),
            minute: None,
            at: None,
            days: None,
            day_of_month: None,
            cron: None,
            timezone: schedule.timezone().name().to_owned(),
            start: Some(schedule.start().format("%Y-%m-%d").to_string()),
            calendar: schedule.calendar().map(ToString::to_string),
            expression: schedule.expression(),
        };
        let (every, at_time) = match schedule.recurrence() {
            Recurrence::Hourly { minute } => {
                view.minute = Some(*minute);
                ("hour", None)
            }
            Recurrence::Daily { at } => ("day", Some(at)),
            Recurrence::Weekly { days, at } => {
                view.days = Some(days.iter().map(weekday_name).collect());
                ("week", Some(at))
            }
            Recurrence::Monthly { day, at } => {
                view.day_of_month = Some(match day {
                    MonthDay::Day(d) => DayOfMonthBody::Day(*d),
                    MonthDay::Last => DayOfMonthBody::Last("last".into()),
                });
                ("month", Some(at))
            }
            Recurrence::Cron(cron) => {
                view.cron = Some(cron.to_string());
                ("cron", None)
            }
        };
        view.every = every.to_owned();
        view.at = at_time.map(ToString::to_string);
        view
    }
}
