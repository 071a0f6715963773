//! Properties of the schedule: for EventBridge cron expressions built from a grammar, the next run
//! Herald computes is the one a plain day-by-day search finds. The search is independent of the
//! parser and of croner: the generator knows which values each field allows, because it chose them.
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use herald_core::domain::schedule::{CronExpr, Recurrence, Schedule};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// One field: its text, and the values it allows.
#[derive(Debug, Clone)]
struct Field {
    text: String,
    allows: BTreeSet<u32>,
}

/// A list item over `lo..=hi`: a value, a range or a stepped range.
fn item(lo: u32, hi: u32, steps: bool) -> BoxedStrategy<(String, BTreeSet<u32>)> {
    let value = (lo..=hi).prop_map(|v| (v.to_string(), BTreeSet::from([v])));
    let range = (lo..=hi, lo..=hi).prop_map(|(a, b)| {
        let (a, b) = (a.min(b), a.max(b));
        (format!("{a}-{b}"), (a..=b).collect())
    });
    let stepped = (lo..=hi, lo..=hi, 1..=(hi - lo + 1)).prop_map(|(a, b, n)| {
        let (a, b) = (a.min(b), a.max(b));
        (
            format!("{a}-{b}/{n}"),
            (a..=b).step_by(n as usize).collect(),
        )
    });
    if steps {
        prop_oneof![4 => value, 2 => range, 2 => stepped].boxed()
    } else {
        prop_oneof![4 => value, 2 => range].boxed()
    }
}

/// `*`, `*/n`, or a list of one to three items (a `*` stands alone: croner refuses it in a list).
fn field(lo: u32, hi: u32, steps: bool) -> BoxedStrategy<Field> {
    let list = prop::collection::vec(item(lo, hi, steps), 1..=3).prop_map(|items| Field {
        text: items
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join(","),
        allows: items.into_iter().flat_map(|(_, v)| v).collect(),
    });
    let star = Just(Field {
        text: "*".to_owned(),
        allows: (lo..=hi).collect(),
    });
    let star_step = (1..=(hi - lo + 1)).prop_map(move |n| Field {
        text: format!("*/{n}"),
        allows: (lo..=hi).step_by(n as usize).collect(),
    });
    if steps {
        prop_oneof![6 => list, 1 => star, 1 => star_step].boxed()
    } else {
        prop_oneof![6 => list, 1 => star].boxed()
    }
}

#[derive(Debug, Clone)]
struct Expression {
    minutes: Field,
    hours: Field,
    /// Day of month, or `None` for `?` (then the weekday field counts).
    days: Option<Field>,
    months: Field,
    /// 1 = Sunday … 7 = Saturday, or `None` for `?`.
    weekdays: Option<Field>,
    years: Field,
}

impl Expression {
    fn text(&self) -> String {
        let or_any = |f: &Option<Field>| f.as_ref().map_or("?".to_owned(), |f| f.text.clone());
        format!(
            "cron({} {} {} {} {} {})",
            self.minutes.text,
            self.hours.text,
            or_any(&self.days),
            self.months.text,
            or_any(&self.weekdays),
            self.years.text
        )
    }

    fn allows_day(&self, date: NaiveDate) -> bool {
        let day_ok = match (&self.days, &self.weekdays) {
            (Some(days), _) => days.allows.contains(&date.day()),
            (None, Some(weekdays)) => weekdays
                .allows
                .contains(&(date.weekday().num_days_from_sunday() + 1)),
            (None, None) => unreachable!("one day field is set"),
        };
        day_ok
            && self.months.allows.contains(&date.month())
            && self.years.allows.contains(&(date.year() as u32))
    }

    /// The first firing after `now`, searched day by day over `days` days: in a spring-forward
    /// gap a time does not exist and is skipped; in a fall-back hour it runs once, the first time.
    fn next_after(&self, zone: Tz, now: DateTime<Utc>, days: i64) -> Option<DateTime<Utc>> {
        let first = now.with_timezone(&zone).date_naive() - Duration::days(1);
        (0..days)
            .map(|d| first + Duration::days(d))
            .filter(|date| self.allows_day(*date))
            .find_map(|date| {
                self.hours.allows.iter().find_map(|h| {
                    self.minutes.allows.iter().find_map(|m| {
                        let local = date.and_hms_opt(*h, *m, 0)?;
                        let at = match zone.from_local_datetime(&local) {
                            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t,
                            LocalResult::None => return None,
                        };
                        let at = at.with_timezone(&Utc);
                        (at > now).then_some(at)
                    })
                })
            })
    }
}

fn expression() -> impl Strategy<Value = Expression> {
    (
        field(0, 59, true),
        field(0, 23, true),
        field(1, 31, true),
        field(1, 12, true),
        field(1, 7, false),
        prop_oneof![
            Just(Field {
                text: "*".into(),
                allows: (1970..=2199).collect()
            }),
            (2026u32..=2030, 0u32..=3).prop_map(|(a, n)| Field {
                text: format!("{a}-{}", a + n),
                allows: (a..=a + n).collect(),
            }),
        ],
        any::<bool>(),
    )
        .prop_map(
            |(minutes, hours, days, months, weekdays, years, by_day)| Expression {
                minutes,
                hours,
                days: by_day.then_some(days),
                months,
                weekdays: (!by_day).then_some(weekdays),
                years,
            },
        )
}

fn zone() -> impl Strategy<Value = Tz> {
    prop_oneof![
        Just(chrono_tz::UTC),
        Just(chrono_tz::Asia::Shanghai),
        Just(chrono_tz::America::New_York),
        Just(chrono_tz::Europe::London),
        Just(chrono_tz::Australia::Lord_Howe),
    ]
}

/// 2026-01-01 and some 3 years after, to the second; a quarter of them within three hours of a
/// daylight-saving change (New York, London, Lord Howe's half hour), where runs are skipped or
/// must not repeat.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let anywhere = (0i64..3 * 366 * 86_400).prop_map(move |s| start + Duration::seconds(s));
    let changes = [
        "2026-03-08T07:00:00Z",
        "2026-11-01T06:00:00Z",
        "2026-03-29T01:00:00Z",
        "2026-10-25T01:00:00Z",
        "2026-04-04T15:00:00Z",
        "2026-10-03T15:30:00Z",
    ]
    .map(|t| DateTime::parse_from_rfc3339(t).unwrap().to_utc());
    let near_a_change = (
        prop::sample::select(changes.to_vec()),
        -3 * 3600i64..3 * 3600,
    )
        .prop_map(|(at, s)| at + Duration::seconds(s));
    prop_oneof![3 => anywhere, 1 => near_a_change]
}

/// How far the search looks: every expression the grammar makes fires within this many days,
/// or never (a day the months do not have, or years already past).
const HORIZON_DAYS: i64 = 8 * 366;

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn the_next_run_is_the_first_time_the_expression_allows(
        expr in expression(),
        zone in zone(),
        now in instant(),
    ) {
        let text = expr.text();
        let cron = CronExpr::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let start = NaiveDate::from_ymd_opt(2025, 12, 1).unwrap();
        let schedule = Schedule::new(Recurrence::Cron(cron), zone, start)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        let ours = schedule.next_run_after(now);
        let theirs = expr.next_after(zone, now, HORIZON_DAYS);
        match theirs {
            Some(want) => prop_assert_eq!(ours, Some(want), "{} in {} after {}", text, zone, now),
            None => prop_assert!(
                ours.is_none_or(|t| t > now + Duration::days(HORIZON_DAYS - 2)),
                "{} in {} after {}: ours {:?}, the search found none", text, zone, now, ours
            ),
        }
        if let Some(t) = ours {
            prop_assert!(t > now);
            prop_assert_eq!(t.timestamp() % 60, 0);
        }
    }

    /// Every day, around each zone's own clock changes: a run in the skipped hour does not
    /// happen, a run in the repeated hour happens once.
    #[test]
    fn runs_around_a_clock_change_are_skipped_or_run_once(
        minutes in field(0, 59, true),
        hours in field(0, 23, true),
        (zone, now) in prop::sample::select(vec![
            (chrono_tz::America::New_York, "2026-03-08T07:00:00Z"),
            (chrono_tz::America::New_York, "2026-11-01T06:00:00Z"),
            (chrono_tz::Europe::London, "2026-03-29T01:00:00Z"),
            (chrono_tz::Europe::London, "2026-10-25T01:00:00Z"),
            (chrono_tz::Australia::Lord_Howe, "2026-04-04T15:00:00Z"),
            (chrono_tz::Australia::Lord_Howe, "2026-10-03T15:30:00Z"),
        ]),
        offset in -4 * 3600i64..2 * 3600,
    ) {
        let expr = Expression {
            minutes,
            hours,
            days: Some(Field { text: "*".into(), allows: (1..=31).collect() }),
            months: Field { text: "*".into(), allows: (1..=12).collect() },
            weekdays: None,
            years: Field { text: "*".into(), allows: (1970..=2199).collect() },
        };
        let now = DateTime::parse_from_rfc3339(now).unwrap().to_utc() + Duration::seconds(offset);
        let schedule = Schedule::new(
            Recurrence::Cron(CronExpr::parse(&expr.text()).expect("a valid expression")),
            zone,
            NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
        )
        .expect("a schedule");
        // The next five runs, each found the same way.
        let mut after = now;
        for _ in 0..5 {
            let want = expr.next_after(zone, after, 5);
            prop_assert_eq!(schedule.next_run_after(after), want, "{} in {} after {}", expr.text(), zone, after);
            match want {
                Some(t) => after = t,
                None => break,
            }
        }
    }

    #[test]
    fn any_text_parses_or_is_refused_without_a_panic(text in "\\PC{0,40}") {
        let _ = CronExpr::parse(&text);
    }
}
