use super::*;
use Weekday::*;
use chrono::SecondsFormat;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}
fn at(s: &str) -> TimeOfDay {
    TimeOfDay::parse(s).unwrap()
}
fn daily(t: &str) -> Recurrence {
    Recurrence::Daily { at: at(t) }
}
fn weekly(days: &[Weekday], t: &str) -> Recurrence {
    Recurrence::Weekly {
        days: days.to_vec(),
        at: at(t),
    }
}
fn monthly(day: MonthDay, t: &str) -> Recurrence {
    Recurrence::Monthly { day, at: at(t) }
}
fn cron(s: &str) -> Recurrence {
    Recurrence::Cron(CronExpr::parse(s).unwrap())
}
fn sched(r: Recurrence, tz: &str, start: &str) -> Schedule {
    Schedule::new(r, parse_timezone(tz).unwrap(), start.parse().unwrap()).unwrap()
}
/// The next `n` runs after `from`, as space-separated RFC 3339 instants.
fn runs(s: &Schedule, from: &str, n: usize) -> String {
    let runs = s.upcoming(utc(from), n).into_iter();
    let runs: Vec<_> = runs
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .collect();
    runs.join(" ")
}

#[test]
fn time_of_day_and_timezone_parsing() {
    assert_eq!(at("09:05"), TimeOfDay::new(9, 5).unwrap());
    assert_eq!(
        (at("23:59").hour(), at("23:59").to_string()),
        (23, "23:59".into())
    );
    for bad in [
        "25:00", "9:5", "24:00", "12:60", "0900", " 09:00", "+9:00", "",
    ] {
        assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
    }
    assert!(TimeOfDay::new(24, 0).is_err());
    assert_eq!(
        parse_timezone("Asia/Shanghai"),
        Ok(chrono_tz::Asia::Shanghai)
    );
    let err = parse_timezone("Mars/Base").unwrap_err().to_string();
    let want = "unknown time zone 'Mars/Base' (use an IANA name such as Asia/Shanghai)";
    assert_eq!(err, want);
}

#[test]
fn generated_expressions() {
    let cases = [
        (Recurrence::Hourly { minute: 5 }, "cron(5 * * * ? *)"),
        (daily("10:00"), "cron(0 10 * * ? *)"),
        (
            weekly(&[Thu, Mon, Thu], "10:00"),
            "cron(0 10 ? * MON,THU *)",
        ),
        (monthly(MonthDay::Day(15), "09:30"), "cron(30 9 15 * ? *)"),
        (monthly(MonthDay::Last, "18:00"), "cron(0 18 L * ? *)"),
        (
            cron(" cron(0/5  8-17 ? * mon-fri *) "),
            "cron(0/5 8-17 ? * MON-FRI *)",
        ),
    ];
    for (r, want) in cases {
        assert_eq!(sched(r, "UTC", "2026-01-01").expression(), want);
    }
}

#[test]
fn every_generated_expression_parses() {
    let mut count = 0;
    for (h, m) in (0..24u8).flat_map(|h| (0..60u8).step_by(7).map(move |m| (h, m))) {
        let t = &TimeOfDay::new(h, m).unwrap().to_string();
        let mut all = vec![Recurrence::Hourly { minute: m }, daily(t)];
        all.push(monthly(MonthDay::Last, t));
        all.push(monthly(MonthDay::Day(h + m % 8 + 1), t));
        for mask in [1u8, 9, 42, 96, 127, 1 << (h % 7)] {
            let days = [Mon, Tue, Wed, Thu, Fri, Sat, Sun].into_iter().enumerate();
            let days: Vec<_> = days.filter(|(i, _)| mask & (1 << i) != 0).collect();
            all.push(weekly(
                &days.into_iter().map(|(_, d)| d).collect::<Vec<_>>(),
                t,
            ));
        }
        for r in all {
            let expression = sched(r, "Europe/Berlin", "2026-01-01").expression();
            assert_eq!(
                CronExpr::parse(&expression).map(|c| c.to_string()),
                Ok(expression)
            );
            count += 1;
        }
    }
    assert!(count > 1000);
}

#[test]
fn invalid_recurrences_are_rejected() {
    let new = |r| Schedule::new(r, chrono_tz::UTC, NaiveDate::MIN).unwrap_err();
    let err = new(Recurrence::Hourly { minute: 60 }).to_string();
    assert_eq!(err, "minute must be 0-59");
    assert_eq!(new(weekly(&[], "10:00")), ScheduleError::NoWeekdays);
    for day in [0, 32] {
        assert_eq!(
            new(monthly(MonthDay::Day(day), "10:00")),
            ScheduleError::DayOfMonth
        );
    }
}

#[test]
fn aws_documented_valid_expressions() {
    let valid = "cron(0 10 * * ? *); cron(15 12 * * ? *); cron(0 18 ? * MON-FRI *); \
        cron(0 8 1 * ? *); cron(0/15 * * * ? *); cron(0/10 * ? * MON-FRI *); \
        cron(0/5 8-17 ? * MON-FRI *); cron(0 9 ? * 2#1 *); cron(0 0 L * ? *); \
        cron(0 0 ? * 6L *); cron(0 0 LW * ? *); cron(0 12 15W * ? 2027); 0 10 * * ? *; \
        cron(0 0 1 JAN-MAR,dec ? 2026-2030/2); cron(*/20 1,2 ? * sun,SAT *); \
        cron(0 0 ? * FRI#3 *)";
    for s in valid.split("; ") {
        let c = CronExpr::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(CronExpr::parse(&c.to_string()), Ok(c));
    }
}

#[test]
fn invalid_expressions_are_rejected() {
    use ScheduleError::*;
    let err = |s: &str| CronExpr::parse(s).unwrap_err();
    assert_eq!(err("cron(0 10 * * * *)"), BothDaysSet);
    let msg = "day-of-week and day-of-month cannot both be set: use ? in one of them";
    assert_eq!(BothDaysSet.to_string(), msg);
    assert_eq!(err("cron(0 10 ? * ? *)"), NoDaySet);
    assert_eq!(err("0 10 * *"), FieldCount(4));
    assert_eq!(err("0 10 * * ?"), FieldCount(5));
    assert_eq!(err("cron(0 0 10 * * ? *)"), FieldCount(7));
    assert_eq!(err("rate(5 minutes)"), FieldCount(2));
    let msg = "invalid minutes field '60': 60 is outside 0-59";
    assert_eq!(err("cron(60 10 * * ? *)").to_string(), msg);
    let invalid = "cron(0 24 * * ? *); cron(0 10 * 13 ? *); cron(0 10 ? * 8 *); \
        cron(0 10 ? * FOO *); cron(0 10 * * ? 1969); cron(0/0 * * * ? *); \
        cron(0 10 ? * 0 *); cron(0 10 0 * ? *); cron(0,,5 10 * * ? *); cron(0 10 ? * L *); \
        cron(0 10 ? * 2#6 *); cron(0 10 ? * MON/2 *); cron(0 10 32W * ? *); \
        cron(0 10 * * ? 2200); cron(5-1 * * * ? *); cron(? 10 * * ? *); \
        cron(0 10 ?,1 * ? *); cron(0 10 L-2 * ? *); cron(0 10 * * ? *";
    for s in invalid.split("; ") {
        assert!(
            matches!(err(s), Field { .. }),
            "{s}: {:?}",
            CronExpr::parse(s)
        );
    }
}

#[test]
fn serde_round_trips_and_validates() {
    let weekly = sched(weekly(&[Mon, Thu], "10:00"), "Asia/Shanghai", "2026-12-01");
    let weekly_json = r#"{"recurrence":{"every":"week","days":["Mon","Thu"],"at":"10:00"},"timezone":"Asia/Shanghai","start":"2026-12-01"}"#;
    let cron = sched(cron("0 9 ? * 2#1 *"), "UTC", "2026-01-01");
    let cron_json = r#"{"recurrence":{"every":"cron","expression":"cron(0 9 ? * 2#1 *)"},"timezone":"UTC","start":"2026-01-01"}"#;
    for (s, json) in [(weekly, weekly_json), (cron, cron_json)] {
        assert_eq!(serde_json::to_string(&s).unwrap(), json);
        assert_eq!(serde_json::from_str::<Schedule>(json).unwrap(), s);
    }
    let json = r#"{"every":"month","day":{"day":31},"at":"09:00"}"#;
    let monthly = monthly(MonthDay::Day(31), "09:00");
    assert_eq!(serde_json::from_str::<Recurrence>(json).unwrap(), monthly);
    assert_eq!(serde_json::to_string(&MonthDay::Last).unwrap(), r#""last""#);
    for (recurrence, timezone) in [
        (r#"{"every":"hour","minute":60}"#, "UTC"),
        (r#"{"every":"day","at":"24:00"}"#, "UTC"),
        (r#"{"every":"week","days":[],"at":"10:00"}"#, "UTC"),
        (r#"{"every":"cron","expression":"0 10 * * * *"}"#, "UTC"),
        (r#"{"every":"hour","minute":1}"#, "Mars/Base"),
    ] {
        let json = format!(
            r#"{{"recurrence":{recurrence},"timezone":"{timezone}","start":"2026-01-01"}}"#
        );
        assert!(serde_json::from_str::<Schedule>(&json).is_err(), "{json}");
    }
}

#[test]
fn shanghai_weekly_respects_start() {
    let s = sched(weekly(&[Mon, Thu], "10:00"), "Asia/Shanghai", "2026-12-01");
    assert_eq!(s.start_instant(), utc("2026-11-30T16:00:00Z"));
    let want = "2026-12-03T02:00:00Z 2026-12-07T02:00:00Z 2026-12-10T02:00:00Z";
    assert_eq!(runs(&s, "2026-11-30T00:00:00Z", 3), want);
    // Monday 2026-11-30 10:00 local is before the start date, so skipped.
    assert_eq!(runs(&s, "2026-11-01T00:00:00Z", 1), "2026-12-03T02:00:00Z");
    // A run at exactly the start instant counts.
    let midnight = sched(daily("00:00"), "Asia/Shanghai", "2026-12-01");
    assert_eq!(
        runs(&midnight, "2026-01-01T00:00:00Z", 1),
        "2026-11-30T16:00:00Z"
    );
}

#[test]
fn berlin_daily_across_dst_changes() {
    let s = sched(daily("02:30"), "Europe/Berlin", "2026-01-01");
    // Spring 2027-03-28: 02:30 does not exist, so that day has no run.
    let want = "2027-03-27T01:30:00Z 2027-03-29T00:30:00Z 2027-03-30T00:30:00Z";
    assert_eq!(runs(&s, "2027-03-26T12:00:00Z", 3), want);
    // Fall 2026-10-25: 02:30 happens twice; only the first (CEST) runs.
    let want = "2026-10-25T00:30:00Z 2026-10-26T01:30:00Z 2026-10-27T01:30:00Z";
    assert_eq!(runs(&s, "2026-10-24T12:00:00Z", 3), want);
    assert_eq!(runs(&s, "2026-10-25T00:45:00Z", 1), "2026-10-26T01:30:00Z");
    // 10:00 local is 09:00Z in winter and 08:00Z in summer.
    let s = sched(daily("10:00"), "Europe/Berlin", "2026-01-01");
    let want = "2027-03-27T09:00:00Z 2027-03-28T08:00:00Z";
    assert_eq!(runs(&s, "2027-03-26T12:00:00Z", 2), want);
    let want = "2026-10-24T08:00:00Z 2026-10-25T09:00:00Z";
    assert_eq!(runs(&s, "2026-10-23T12:00:00Z", 2), want);
}

#[test]
fn berlin_hourly_across_dst_changes() {
    let s = sched(
        Recurrence::Hourly { minute: 30 },
        "Europe/Berlin",
        "2026-01-01",
    );
    // Local 01:30 CEST, 02:30 CEST, (02:30 CET does not run), 03:30 CET, 04:30 CET.
    let want =
        "2026-10-24T23:30:00Z 2026-10-25T00:30:00Z 2026-10-25T02:30:00Z 2026-10-25T03:30:00Z";
    assert_eq!(runs(&s, "2026-10-24T23:00:00Z", 4), want);
    // Local 01:30 CET, (02:30 does not exist), 03:30 CEST.
    let want = "2027-03-28T00:30:00Z 2027-03-28T01:30:00Z";
    assert_eq!(runs(&s, "2027-03-28T00:00:00Z", 2), want);
}

#[test]
fn monthly_last_and_day_31() {
    let last = sched(
        monthly(MonthDay::Last, "18:00"),
        "Asia/Shanghai",
        "2026-01-01",
    );
    assert_eq!(
        runs(&last, "2027-02-01T00:00:00Z", 1),
        "2027-02-28T10:00:00Z"
    );
    let d31 = sched(
        monthly(MonthDay::Day(31), "18:00"),
        "Asia/Shanghai",
        "2026-01-01",
    );
    let want = "2027-03-31T10:00:00Z 2027-05-31T10:00:00Z 2027-07-31T10:00:00Z";
    assert_eq!(runs(&d31, "2027-01-31T12:00:00Z", 3), want);
}

#[test]
fn next_run_is_strictly_after() {
    let s = sched(daily("10:00"), "Asia/Shanghai", "2026-01-01");
    assert_eq!(runs(&s, "2026-12-03T02:00:00Z", 1), "2026-12-04T02:00:00Z");
    assert_eq!(runs(&s, "2026-12-03T01:59:59Z", 1), "2026-12-03T02:00:00Z");
}

#[test]
fn user_cron_special_days() {
    let first_monday = sched(cron("cron(0 9 ? * 2#1 *)"), "Asia/Shanghai", "2026-12-01");
    assert_eq!(
        runs(&first_monday, "2026-11-30T00:00:00Z", 1),
        "2026-12-07T01:00:00Z"
    );
    let last_friday = sched(cron("cron(0 0 ? * 6L *)"), "UTC", "2026-01-01");
    assert_eq!(
        runs(&last_friday, "2026-12-01T00:00:00Z", 1),
        "2026-12-25T00:00:00Z"
    );
    // 2027-01-31 is a Sunday, so the last weekday is Friday the 29th.
    let lw = sched(cron("cron(0 0 LW * ? *)"), "UTC", "2026-01-01");
    assert_eq!(runs(&lw, "2027-01-01T00:00:00Z", 1), "2027-01-29T00:00:00Z");
    // 2027-05-15 is a Saturday, so 15W is Friday the 14th.
    let w = sched(cron("cron(0 12 15W * ? 2027)"), "UTC", "2026-01-01");
    assert_eq!(runs(&w, "2027-05-01T00:00:00Z", 1), "2027-05-14T12:00:00Z");
}

#[test]
fn never_firing_returns_none() {
    for c in [
        "cron(0 0 30 2 ? *)",
        "cron(0 0 1 1 ? 2020)",
        "cron(0 0 1 1 ? 2199)",
    ] {
        let s = sched(cron(c), "Europe/Berlin", "2026-01-01");
        assert_eq!(s.next_run_after(utc("2199-01-02T00:00:00Z")), None, "{c}");
        assert!(s.upcoming(utc("2199-01-02T00:00:00Z"), 5).is_empty());
    }
    let s = sched(cron("cron(0 0 30 2 ? *)"), "UTC", "2026-01-01");
    assert_eq!(s.next_run_after(utc("2026-01-01T00:00:00Z")), None);
}

#[test]
fn start_instant_in_dst_gap_at_midnight() {
    // Chile springs forward at 00:00 -> 01:00 on 2026-09-06.
    let s = sched(daily("00:00"), "America/Santiago", "2026-09-06");
    assert_eq!(s.start_instant(), utc("2026-09-06T04:00:00Z"));
    // That day's 00:00 run does not exist, so the first run is the next day.
    assert_eq!(runs(&s, "2026-09-01T00:00:00Z", 1), "2026-09-07T03:00:00Z");
}
