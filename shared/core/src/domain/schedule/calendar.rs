//! A schedule on a working-day calendar: it runs at its times on the calendar's working days.
//!
//! EventBridge knows no calendar, so the schedule still fires on its cron and the trigger skips a
//! day off (recorded `skipped` with the reason). A make-up working day is usually a Saturday or a
//! Sunday, which a Monday-to-Friday cron never fires on: a schedule that runs on every weekday is
//! therefore given to EventBridge as every day, at the same times (`widened`), and the weekends
//! that are not make-up days are skipped like holidays. A schedule on some weekdays only (Mondays
//! and Thursdays) keeps its days: a make-up Saturday is nobody's Monday.
use super::{DAYS, Schedule};
use crate::domain::calendar::{Calendar, Workday};
use chrono::{DateTime, Utc};

/// How many days off in a row are passed over looking for the next working day (an admin's
/// calendar may be off for long; beyond, the schedule has no next run).
const MAX_DAYS_OFF: usize = 800;

/// The weekdays (index 1 = SUN … 7 = SAT) a day-of-week field names; `None` when it says more
/// than names, numbers and ranges (`#`, `L`, `/`), so it is left as it is.
fn weekdays(field: &str) -> Option<[bool; 8]> {
    let day = |token: &str| -> Option<usize> {
        DAYS.iter()
            .position(|d| *d == token)
            .map(|i| i + 1)
            .or_else(|| token.parse::<usize>().ok().filter(|n| (1..=7).contains(n)))
    };
    let mut named = [false; 8];
    for token in field.to_ascii_uppercase().split(',') {
        match token.split_once('-') {
            _ if token == "*" => named[1..].fill(true),
            Some((from, to)) => {
                let (from, to) = (day(from)?, day(to)?);
                named.get_mut(from..=to)?.fill(true);
            }
            None => named[day(token)?] = true,
        }
    }
    Some(named)
}

/// The six cron fields with the day of week widened to every day when they run on every weekday
/// (MON–FRI) and leave the day of month open.
pub(super) fn widened(fields: &str) -> String {
    let mut parts: Vec<&str> = fields.split_whitespace().collect();
    let every_weekday = parts.len() == 6
        && parts[2] == "?"
        && weekdays(parts[4]).is_some_and(|days| days[2..=6].iter().all(|d| *d));
    if every_weekday {
        parts[4] = "*";
    }
    parts.join(" ")
}

/// The last second of the day `at` falls on in `zone` (as UTC).
fn end_of_day(at: DateTime<Utc>, zone: chrono_tz::Tz) -> DateTime<Utc> {
    use chrono::TimeZone;
    let next_day = at.with_timezone(&zone).date_naive().succ_opt();
    next_day
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|midnight| zone.from_local_datetime(&midnight).earliest())
        .map_or(at, |midnight| {
            midnight.with_timezone(&Utc) - chrono::TimeDelta::seconds(1)
        })
}

impl Schedule {
    /// The first firing strictly after `after` on a working day of `calendar` (the day taken in
    /// the schedule's zone).
    pub fn next_working_run_after(
        &self,
        after: DateTime<Utc>,
        calendar: &Calendar,
    ) -> Option<DateTime<Utc>> {
        let mut cursor = after;
        for _ in 0..MAX_DAYS_OFF {
            let at = self.next_run_after(cursor)?;
            if self.workday(at, calendar) == Workday::Working {
                return Some(at);
            }
            // The rest of a day off is off too: go on from the end of that day (a schedule
            // firing every minute would otherwise be stepped through minute by minute).
            cursor = end_of_day(at, calendar.zone().unwrap_or(self.timezone)).max(at);
        }
        None
    }

    /// Whether the day a firing at `at` falls on is worked (the day in the calendar's zone,
    /// else the schedule's).
    pub fn workday(&self, at: DateTime<Utc>, calendar: &Calendar) -> Workday {
        let zone = calendar.zone().unwrap_or(self.timezone);
        calendar.workday(at.with_timezone(&zone).date_naive())
    }

    /// The next `n` runs strictly after `after`: on `calendar`'s working days when the schedule
    /// has a calendar and it is given.
    pub fn upcoming_on(
        &self,
        after: DateTime<Utc>,
        n: usize,
        calendar: Option<&Calendar>,
    ) -> Vec<DateTime<Utc>> {
        match calendar.filter(|_| self.calendar.is_some()) {
            Some(calendar) => {
                std::iter::successors(self.next_working_run_after(after, calendar), |t| {
                    self.next_working_run_after(*t, calendar)
                })
                .take(n)
                .collect()
            }
            None => self.upcoming(after, n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::{CN_WORKDAYS, CalendarDays, CalendarName};
    use crate::domain::schedule::{Recurrence, TimeOfDay};
    use chrono::{NaiveDate, TimeZone};

    fn cn() -> Calendar {
        Calendar::new(
            CalendarName::parse(CN_WORKDAYS).unwrap(),
            CalendarDays::new(),
        )
    }

    fn on_cn(recurrence: Recurrence) -> Schedule {
        Schedule::new(
            recurrence,
            chrono_tz::Asia::Shanghai,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        )
        .unwrap()
        .with_calendar(Some(CalendarName::parse(CN_WORKDAYS).unwrap()))
        .unwrap()
    }

    fn shanghai(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn weekday_schedules_fire_every_day_and_others_keep_their_days() {
        assert_eq!(widened("0 9 ? * MON-FRI *"), "0 9 ? * * *");
        assert_eq!(widened("0 9 ? * MON,TUE,WED,THU,FRI *"), "0 9 ? * * *");
        assert_eq!(widened("0 9 ? * 2-6 *"), "0 9 ? * * *");
        assert_eq!(widened("0 9 ? * MON,THU *"), "0 9 ? * MON,THU *");
        assert_eq!(widened("0 9 1 * ? *"), "0 9 1 * ? *");
        assert_eq!(widened("0 9 ? * 2#1 *"), "0 9 ? * 2#1 *");
        let at = TimeOfDay::new(9, 0).unwrap();
        let weekdays = on_cn(Recurrence::Weekly {
            days: vec![
                chrono::Weekday::Mon,
                chrono::Weekday::Tue,
                chrono::Weekday::Wed,
                chrono::Weekday::Thu,
                chrono::Weekday::Fri,
            ],
            at,
        });
        assert_eq!(weekdays.expression(), "cron(0 9 ? * * *)");
    }

    #[test]
    fn a_daily_cn_workdays_schedule_runs_on_make_up_weekends_and_not_on_national_day() {
        let daily = on_cn(Recurrence::Daily {
            at: TimeOfDay::new(9, 0).unwrap(),
        });
        let runs = daily.upcoming_on(shanghai(2026, 9, 18), 12, Some(&cn()));
        let days: Vec<String> = runs
            .iter()
            .map(|t| {
                t.with_timezone(&chrono_tz::Asia::Shanghai)
                    .format("%m-%d")
                    .to_string()
            })
            .collect();
        // Sat 19 off, Sun 20 a make-up day, 25–27 Mid-Autumn, 1–7 October National Day, Sat 10
        // a make-up day.
        assert_eq!(
            days,
            [
                "09-20", "09-21", "09-22", "09-23", "09-24", "09-28", "09-29", "09-30", "10-08",
                "10-09", "10-10", "10-12"
            ]
        );
        // Without the calendar it is every day.
        assert_eq!(daily.upcoming_on(shanghai(2026, 9, 30), 2, None).len(), 2);
        assert_eq!(
            daily.upcoming_on(shanghai(2026, 9, 30), 1, None)[0],
            shanghai(2026, 10, 1)
        );
    }
}
