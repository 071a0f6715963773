//! Task schedules: one AWS EventBridge Scheduler schedule per task.
//!
//! [`TimeOfDay`], [`CronExpr`] and [`Schedule`] are valid by construction
//! (deserialising runs the same checks). Next runs follow EventBridge
//! Scheduler: a run whose local time falls in a spring-forward gap is skipped,
//! and a run in a repeated fall-back hour happens once.

use crate::domain::calendar::CalendarName;
use chrono::Weekday;
use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};
use std::{fmt, sync::Arc};

/// Last year EventBridge accepts; searches stop there.
const MAX_YEAR: i32 = 2199;
/// Most croner candidates examined per `next_run_after` call.
const MAX_CANDIDATES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ScheduleError {
    #[error("minute must be 0-59")]
    Minute,
    #[error("time of day must be HH:MM between 00:00 and 23:59, got '{0}'")]
    TimeOfDay(String),
    #[error("day of month must be 1-31 (or last)")]
    DayOfMonth,
    #[error("a weekly schedule needs at least one weekday")]
    NoWeekdays,
    #[error("unknown time zone '{0}' (use an IANA name such as Asia/Shanghai)")]
    UnknownTimeZone(String),
    #[error("cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {0}")]
    FieldCount(usize),
    #[error("invalid {field} field '{value}': {reason}")]
    Field {
        field: String,
        value: String,
        reason: String,
    },
    #[error("day-of-week and day-of-month cannot both be set: use ? in one of them")]
    BothDaysSet,
    #[error("day-of-week and day-of-month cannot both be ?: set one of them")]
    NoDaySet,
    #[error("cron expression '{0}' is not supported: {1}")]
    Unsupported(String, String),
}

/// Parses an IANA time zone name such as `Asia/Shanghai`.
pub fn parse_timezone(s: &str) -> Result<Tz, ScheduleError> {
    s.parse()
        .map_err(|_| ScheduleError::UnknownTimeZone(s.to_string()))
}

/// A wall-clock time of day, `00:00..=23:59`; serialised as `"HH:MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeOfDay {
    hour: u8,
    minute: u8,
}

impl TimeOfDay {
    pub fn new(hour: u8, minute: u8) -> Result<Self, ScheduleError> {
        match (hour, minute) {
            (0..=23, 0..=59) => Ok(Self { hour, minute }),
            _ => Err(ScheduleError::TimeOfDay(format!("{hour:02}:{minute:02}"))),
        }
    }

    /// Accepts exactly `HH:MM`.
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let err = || ScheduleError::TimeOfDay(s.to_string());
        match s.as_bytes() {
            &[h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(u8::is_ascii_digit) => {
                Self::new((h1 - b'0') * 10 + h2 - b'0', (m1 - b'0') * 10 + m2 - b'0')
                    .map_err(|_| err())
            }
            _ => Err(err()),
        }
    }

    pub fn hour(&self) -> u8 {
        self.hour
    }

    pub fn minute(&self) -> u8 {
        self.minute
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl TryFrom<String> for TimeOfDay {
    type Error = ScheduleError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TimeOfDay> for String {
    fn from(t: TimeOfDay) -> Self {
        t.to_string()
    }
}

/// Per field: name, lowest and highest value, names for 1.. (months, weekdays).
type Spec = (&'static str, u16, u16, &'static [&'static str]);
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MINUTES: Spec = ("minutes", 0, 59, &[]);
const DOM: Spec = ("day-of-month", 1, 31, &[]);
const DOW: Spec = ("day-of-week", 1, 7, &DAYS);
const FIELDS: [Spec; 6] = [
    MINUTES,
    ("hours", 0, 23, &[]),
    DOM,
    ("month", 1, 12, &MONTHS),
    DOW,
    ("year", 1970, MAX_YEAR as u16, &[]),
];

/// One number or name, checked against the field's range.
fn value((_, lo, hi, names): Spec, s: &str) -> Result<u16, String> {
    let v = match names.iter().position(|n| *n == s) {
        Some(i) => i as u16 + 1,
        None if (1..=4).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_digit()) => {
            s.parse::<u16>().map_err(|e| e.to_string())?
        }
        None => return Err(format!("'{s}' is not a valid value")),
    };
    if !(lo..=hi).contains(&v) {
        return Err(format!("{v} is outside {lo}-{hi}"));
    }
    Ok(v)
}

/// One list item, checked and returned in croner's numeric syntax.
fn item(spec: Spec, it: &str) -> Result<String, String> {
    let (lo, hi) = (spec.1, spec.2);
    match it {
        "" => return Err("empty list item".into()),
        "*" => return Ok(it.into()),
        "L" | "LW" if spec == DOM => return Ok(it.into()),
        "L" if spec == DOW => return Err("L needs a weekday, e.g. 6L for the last Friday".into()),
        _ => {}
    }
    if spec == DOM
        && let Some(d) = it.strip_suffix('W')
    {
        return Ok(format!("{}W", value(spec, d)?));
    }
    if spec == DOW {
        if let Some((d, n)) = it.split_once('#') {
            if !matches!(n, "1" | "2" | "3" | "4" | "5") {
                return Err(format!("'#{n}' must be #1 to #5"));
            }
            return Ok(format!("{}#{n}", value(spec, d)?));
        }
        if let Some(d) = it.strip_suffix('L') {
            return Ok(format!("{}L", value(spec, d)?));
        }
    }
    let (base, step) = match it.split_once('/') {
        Some(_) if spec == DOW => return Err("steps are not allowed here".into()),
        Some((b, s)) => match s.parse::<u16>() {
            Ok(n) if n >= 1 && n <= hi - lo + 1 => (b, format!("/{n}")),
            _ => return Err(format!("step '{s}' must be 1-{}", hi - lo + 1)),
        },
        None => (it, String::new()),
    };
    let base = match base.split_once('-') {
        _ if base == "*" && !step.is_empty() => base.to_string(),
        Some((a, b)) => match (value(spec, a)?, value(spec, b)?) {
            (a, b) if a > b => return Err(format!("range {a}-{b} runs backwards")),
            (a, b) => format!("{a}-{b}"),
        },
        None => value(spec, base)?.to_string(),
    };
    Ok(base + &step)
}

/// A valid EventBridge cron expression; compared by its normalised fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CronExpr {
    fields: String,
    cron: Arc<Cron>,
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.fields == other.fields
    }
}

impl Eq for CronExpr {}

impl CronExpr {
    /// Accepts `cron(f1 .. f6)` or the six bare fields; names are case-insensitive.
    pub fn parse(s: &str) -> Result<Self, ScheduleError> {
        let upper = s.trim().to_ascii_uppercase();
        // Without the closing `)`, "CRON(0" is reported as an invalid minutes field.
        let inner = upper
            .strip_prefix("CRON(")
            .and_then(|r| r.strip_suffix(')'));
        let inner = inner.unwrap_or(&upper);
        let parts: Vec<&str> = inner.split_whitespace().collect();
        if parts.len() != 6 {
            return Err(ScheduleError::FieldCount(parts.len()));
        }
        let mut numeric = String::from("0");
        for (spec, part) in FIELDS.into_iter().zip(&parts) {
            let items: Result<Vec<_>, _> = match *part {
                "?" if spec == DOM || spec == DOW => Ok(vec!["*".to_string()]),
                _ => part.split(',').map(|i| item(spec, i)).collect(),
            };
            let items = items.map_err(|reason| ScheduleError::Field {
                field: spec.0.into(),
                value: (*part).into(),
                reason,
            })?;
            numeric = numeric + " " + &items.join(",");
        }
        match (parts[2] == "?", parts[4] == "?") {
            (false, false) => return Err(ScheduleError::BothDaysSet),
            (true, true) => return Err(ScheduleError::NoDaySet),
            _ => {}
        }
        let fields = parts.join(" ");
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Required)
            .alternative_weekdays(true)
            .sloppy_ranges(true)
            .build()
            .parse(&numeric)
            .map_err(|e| ScheduleError::Unsupported(fields.clone(), e.to_string()))?;
        Ok(Self {
            fields,
            cron: Arc::new(cron),
        })
    }

    /// The six normalised fields, separated by single spaces.
    pub fn fields(&self) -> &str {
        &self.fields
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cron({})", self.fields)
    }
}

impl TryFrom<String> for CronExpr {
    type Error = ScheduleError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CronExpr> for String {
    fn from(c: CronExpr) -> Self {
        c.to_string()
    }
}

/// Serialised as `{"day": 15}` or `"last"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonthDay {
    /// 1..=31; months without that day are skipped.
    Day(u8),
    Last,
}

/// What a task repeats on. Plain data: [`Schedule::new`] checks ranges and
/// sorts/deduplicates weekdays (see [`Recurrence::normalize`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "every", rename_all = "lowercase")]
pub enum Recurrence {
    #[serde(rename = "hour")]
    Hourly { minute: u8 },
    #[serde(rename = "day")]
    Daily { at: TimeOfDay },
    #[serde(rename = "week")]
    Weekly { days: Vec<Weekday>, at: TimeOfDay },
    #[serde(rename = "month")]
    Monthly { day: MonthDay, at: TimeOfDay },
    /// Serialised as `{"every": "cron", "expression": "cron(...)"}`.
    #[serde(with = "cron_variant")]
    Cron(CronExpr),
}

/// Serde can only tag a newtype variant whose content is a map.
mod cron_variant {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Wrap<E> {
        expression: E,
    }

    pub fn serialize<S: Serializer>(c: &super::CronExpr, s: S) -> Result<S::Ok, S::Error> {
        Wrap { expression: c }.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<super::CronExpr, D::Error> {
        Wrap::deserialize(d).map(|w| w.expression)
    }
}

impl Recurrence {
    /// Checks ranges and sorts (Mon..Sun) and deduplicates weekdays.
    pub fn normalize(self) -> Result<Self, ScheduleError> {
        match self {
            Recurrence::Hourly { minute } if minute > 59 => Err(ScheduleError::Minute),
            Recurrence::Monthly {
                day: MonthDay::Day(0 | 32..),
                ..
            } => Err(ScheduleError::DayOfMonth),
            Recurrence::Weekly { mut days, at } => {
                days.sort_by_key(|d| d.num_days_from_monday());
                days.dedup();
                match days.is_empty() {
                    true => Err(ScheduleError::NoWeekdays),
                    false => Ok(Recurrence::Weekly { days, at }),
                }
            }
            other => Ok(other),
        }
    }

    /// The six EventBridge cron fields.
    fn fields(&self) -> String {
        let hm = |at: &TimeOfDay| format!("{} {}", at.minute, at.hour);
        match self {
            Recurrence::Hourly { minute } => format!("{minute} * * * ? *"),
            Recurrence::Daily { at } => format!("{} * * ? *", hm(at)),
            Recurrence::Weekly { days, at } => {
                let names: Vec<_> = days
                    .iter()
                    .map(|d| DAYS[d.num_days_from_sunday() as usize])
                    .collect();
                format!("{} ? * {} *", hm(at), names.join(","))
            }
            Recurrence::Monthly {
                day: MonthDay::Day(d),
                at,
            } => format!("{} {d} * ? *", hm(at)),
            Recurrence::Monthly {
                day: MonthDay::Last,
                at,
            } => format!("{} L * ? *", hm(at)),
            Recurrence::Cron(c) => c.fields().to_string(),
        }
    }
}

/// A task's schedule: recurrence, IANA time zone and first active local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScheduleRepr", into = "ScheduleRepr")]
pub struct Schedule {
    recurrence: Recurrence,
    timezone: Tz,
    start: NaiveDate,
    /// The working-day calendar whose days off it skips (see `calendar.rs`).
    calendar: Option<CalendarName>,
    /// `recurrence` as EventBridge cron, compiled (widened to every day for a calendar's make-up
    /// working days when it runs on every weekday).
    compiled: CronExpr,
}

#[derive(Serialize, Deserialize)]
struct ScheduleRepr {
    recurrence: Recurrence,
    timezone: String,
    start: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calendar: Option<CalendarName>,
}

impl TryFrom<ScheduleRepr> for Schedule {
    type Error = ScheduleError;
    fn try_from(r: ScheduleRepr) -> Result<Self, Self::Error> {
        Schedule::new(r.recurrence, parse_timezone(&r.timezone)?, r.start)?
            .with_calendar(r.calendar)
    }
}

impl From<Schedule> for ScheduleRepr {
    fn from(s: Schedule) -> Self {
        let timezone = s.timezone.name().to_string();
        ScheduleRepr {
            recurrence: s.recurrence,
            timezone,
            start: s.start,
            calendar: s.calendar,
        }
    }
}

impl Schedule {
    /// Normalises `recurrence` (see [`Recurrence::normalize`]).
    pub fn new(
        recurrence: Recurrence,
        timezone: Tz,
        start: NaiveDate,
    ) -> Result<Self, ScheduleError> {
        let recurrence = recurrence.normalize()?;
        let compiled = CronExpr::parse(&recurrence.fields())?;
        Ok(Self {
            recurrence,
            timezone,
            start,
            calendar: None,
            compiled,
        })
    }

    /// The schedule on `calendar`'s working days. One that runs on every weekday fires every day
    /// (on AWS too), so make-up working weekends run; the trigger skips the days off.
    pub fn with_calendar(mut self, calendar: Option<CalendarName>) -> Result<Self, ScheduleError> {
        let fields = self.recurrence.fields();
        self.compiled = match &calendar {
            Some(_) => CronExpr::parse(&calendar::widened(&fields))?,
            None => CronExpr::parse(&fields)?,
        };
        self.calendar = calendar;
        Ok(self)
    }

    pub fn calendar(&self) -> Option<&CalendarName> {
        self.calendar.as_ref()
    }

    pub fn recurrence(&self) -> &Recurrence {
        &self.recurrence
    }

    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// Exactly what EventBridge gets, e.g. `cron(0 10 ? * MON,THU *)`.
    pub fn expression(&self) -> String {
        self.compiled.to_string()
    }

    /// Start date 00:00 local time, as UTC; if midnight is in a DST gap, the
    /// first existing minute of that day.
    pub fn start_instant(&self) -> DateTime<Utc> {
        let midnight = self.start.and_time(NaiveTime::MIN);
        (0..24 * 60)
            .map(|m| {
                self.timezone
                    .from_local_datetime(&(midnight + TimeDelta::minutes(m)))
            })
            .find_map(|r| r.earliest())
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
    }

    /// First firing strictly after `after` and not before [`Self::start_instant`];
    /// `None` if there is none up to 2199.
    pub fn next_run_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let floor = self.start_instant() - TimeDelta::seconds(1);
        let mut cursor = after.max(floor).with_timezone(&self.timezone);
        for _ in 0..MAX_CANDIDATES {
            let t = self
                .compiled
                .cron
                .find_next_occurrence(&cursor, false)
                .ok()?;
            if t.year() > MAX_YEAR || t <= cursor {
                return None;
            }
            if self.fires_at(&t) {
                return Some(t.with_timezone(&Utc));
            }
            cursor = t;
        }
        None
    }

    /// Croner moves runs out of a spring-forward gap and may repeat them in a
    /// fall-back hour; EventBridge skips the former and runs the latter once.
    fn fires_at(&self, t: &DateTime<Tz>) -> bool {
        self.compiled.cron.is_time_matching(t).unwrap_or(false)
            && match self.timezone.from_local_datetime(&t.naive_local()) {
                LocalResult::Single(_) => true,
                LocalResult::Ambiguous(earlier, _) => earlier == *t,
                LocalResult::None => false,
            }
    }

    /// The next `n` firings strictly after `after` (fewer if it stops firing).
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        std::iter::successors(self.next_run_after(after), |t| self.next_run_after(*t))
            .take(n)
            .collect()
    }
}

mod calendar;
#[cfg(test)]
mod tests;
