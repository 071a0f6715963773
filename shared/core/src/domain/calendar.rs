//! Working-day calendars: Monday to Friday are working days and weekends are off, except the days
//! a calendar lists. `cn-workdays` ships mainland China's public holidays and make-up working days
//! (调休) from the State Council's arrangements (`data/cn-workdays.tsv`, with its sources); an admin
//! may set or correct days of it, or make calendars of their own, which the settings keep.
use super::ParseError;
use super::text::string_newtype;
use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The calendar Herald ships.
pub const CN_WORKDAYS: &str = "cn-workdays";
/// The most days admins may set over all calendars (they live in the settings document).
pub const MAX_SET_DAYS: usize = 500;
/// The most characters of a day's name.
pub const MAX_DAY_NAME: usize = 40;

fn check_calendar_name(value: &str) -> Result<(), ParseError> {
    let ok = (1..=40).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err("must be 1–40 of a-z, 0-9 and -, starting with a letter or digit".into())
    }
}

string_newtype!(
    /// A calendar's name: `cn-workdays`, or one an admin made.
    CalendarName,
    check_calendar_name
);

/// Whether a listed day is off or a working day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DayKind {
    Off,
    Work,
}

impl DayKind {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "off" => Ok(Self::Off),
            "work" => Ok(Self::Work),
            other => Err(format!("must be off or work (got '{other}')")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Work => "work",
        }
    }
}

/// A listed day: off (a holiday) or a working day (a make-up day), with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    pub kind: DayKind,
    #[serde(default)]
    pub name: String,
}

impl CalendarDay {
    pub fn new(kind: DayKind, name: String) -> Result<Self, ParseError> {
        super::text::check_text(&name, MAX_DAY_NAME, true)?;
        if name.chars().any(char::is_control) {
            return Err("must be one line, without control characters".into());
        }
        Ok(Self {
            kind,
            name: name.trim().to_owned(),
        })
    }
}

/// The days an admin set on one calendar.
pub type CalendarDays = BTreeMap<NaiveDate, CalendarDay>;

/// Whether a day is worked, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workday {
    Working,
    Off { reason: String },
}

/// `cn-workdays` as shipped.
static SHIPPED: LazyLock<CalendarDays> = LazyLock::new(|| {
    include_str!("../../data/cn-workdays.tsv")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let date = NaiveDate::parse_from_str(parts.next()?, "%Y-%m-%d").ok()?;
            let kind = DayKind::parse(parts.next()?).ok()?;
            let name = parts.next().unwrap_or_default().to_owned();
            Some((date, CalendarDay { kind, name }))
        })
        .collect()
});

/// One calendar: the shipped days (for `cn-workdays`) under the days an admin set.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub name: CalendarName,
    pub set: CalendarDays,
}

impl Calendar {
    pub fn new(name: CalendarName, set: CalendarDays) -> Self {
        Self { name, set }
    }

    pub fn is_shipped(name: &CalendarName) -> bool {
        name.as_str() == CN_WORKDAYS
    }

    /// The zone whose dates the calendar lists: mainland China's for `cn-workdays` (a task in
    /// UTC at 23:00 runs on the next day there); a task's own for calendars admins make.
    pub fn zone(&self) -> Option<chrono_tz::Tz> {
        Self::is_shipped(&self.name).then_some(chrono_tz::Asia::Shanghai)
    }

    fn shipped(&self) -> Option<&'static CalendarDays> {
        Self::is_shipped(&self.name).then(|| &*SHIPPED)
    }

    /// The day as listed: an admin's setting first, then the shipped one; and whether it was set.
    pub fn listed(&self, date: NaiveDate) -> Option<(&CalendarDay, bool)> {
        self.set
            .get(&date)
            .map(|day| (day, true))
            .or_else(|| self.shipped()?.get(&date).map(|day| (day, false)))
    }

    /// Every listed day, in date order: (date, day, set by an admin).
    pub fn days(&self) -> Vec<(NaiveDate, &CalendarDay, bool)> {
        let mut dates: Vec<NaiveDate> = self
            .set
            .keys()
            .chain(self.shipped().into_iter().flat_map(|s| s.keys()))
            .copied()
            .collect();
        dates.sort();
        dates.dedup();
        dates
            .into_iter()
            .filter_map(|date| self.listed(date).map(|(day, set)| (date, day, set)))
            .collect()
    }

    /// Whether `date` is a working day, and why not ("national holiday: 国庆节", "weekend").
    pub fn workday(&self, date: NaiveDate) -> Workday {
        match self.listed(date) {
            Some((day, _)) if day.kind == DayKind::Work => Workday::Working,
            Some((day, set)) => {
                let what = if Self::is_shipped(&self.name) && !set {
                    "national holiday"
                } else {
                    "day off"
                };
                Workday::Off {
                    reason: if day.name.is_empty() {
                        what.to_owned()
                    } else {
                        format!("{what}: {}", day.name)
                    },
                }
            }
            None if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) => Workday::Off {
                reason: format!("weekend ({})", date.format("%A")),
            },
            None => Workday::Working,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn cn() -> Calendar {
        Calendar::new(
            CalendarName::parse(CN_WORKDAYS).unwrap(),
            CalendarDays::new(),
        )
    }

    #[test]
    fn the_2026_arrangement_has_its_holidays_off_and_its_make_up_weekends_on() {
        let cn = cn();
        assert_eq!(
            cn.workday(day(2026, 10, 1)),
            Workday::Off {
                reason: "national holiday: 国庆节".into()
            }
        );
        for make_up in [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)] {
            let date = day(2026, make_up.0, make_up.1);
            assert!(matches!(date.weekday(), Weekday::Sat | Weekday::Sun));
            assert_eq!(cn.workday(date), Workday::Working, "{date}");
        }
        assert_eq!(cn.workday(day(2026, 12, 7)), Workday::Working, "a Monday");
        assert_eq!(
            cn.workday(day(2026, 12, 6)),
            Workday::Off {
                reason: "weekend (Sunday)".into()
            }
        );
        // 2025 holds 28 days off and 5 make-up days, 2026 33 and 6.
        let count = |year: i32, kind: DayKind| {
            cn.days()
                .iter()
                .filter(|(d, day, _)| d.year() == year && day.kind == kind)
                .count()
        };
        assert_eq!(
            (count(2025, DayKind::Off), count(2025, DayKind::Work)),
            (28, 5)
        );
        assert_eq!(
            (count(2026, DayKind::Off), count(2026, DayKind::Work)),
            (33, 6)
        );
    }

    #[test]
    fn every_line_of_the_shipped_data_is_a_day() {
        let lines = include_str!("../../data/cn-workdays.tsv")
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .count();
        assert_eq!(
            SHIPPED.len(),
            lines,
            "a line that does not parse is dropped"
        );
    }

    #[test]
    fn an_admins_day_wins_over_the_shipped_one() {
        let mut set = CalendarDays::new();
        set.insert(
            day(2026, 10, 1),
            CalendarDay::new(DayKind::Work, "值班".into()).unwrap(),
        );
        set.insert(
            day(2026, 12, 7),
            CalendarDay::new(DayKind::Off, "公司年会".into()).unwrap(),
        );
        let cn = Calendar::new(CalendarName::parse(CN_WORKDAYS).unwrap(), set);
        assert_eq!(cn.workday(day(2026, 10, 1)), Workday::Working);
        assert_eq!(
            cn.workday(day(2026, 12, 7)),
            Workday::Off {
                reason: "day off: 公司年会".into()
            }
        );
        assert!(CalendarName::parse("Team A").is_err());
        assert!(CalendarDay::new(DayKind::Off, "x".repeat(41)).is_err());
    }
}
