//! Date parameters in a chart's query and address (`{{ yesterday }}`, `{{ today | add_days(-7) |
//! date("%Y%m%d") }}`), taken at the run's scheduled time in the task's zone, so a retried or
//! replayed run reads the same period. Only expressions: no blocks, no loops.
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, context};
use std::sync::LazyLock;

/// The names a parameter may use.
pub const NAMES: [&str; 8] = [
    "today",
    "yesterday",
    "week_start",
    "last_week_start",
    "month_start",
    "last_month_start",
    "last_month_end",
    "scheduled_at",
];

/// An engine that knows the date filters (`add_days`, `date`) and refuses unknown names; date
/// parameters and message variables are both rendered by one.
pub(crate) fn date_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_filter("add_days", add_days);
    env.add_filter("date", format_date);
    env
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(date_environment);

const DAY: &str = "%Y-%m-%d";

fn parse_day(value: &str) -> Result<DateTime<chrono::FixedOffset>, Error> {
    let at = DateTime::parse_from_rfc3339(value).ok().or_else(|| {
        NaiveDate::parse_from_str(value, DAY)
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|d| {
                chrono::FixedOffset::east_opt(0)?
                    .from_local_datetime(&d)
                    .single()
            })
    });
    // Years a report can mean; also keeps `add_days` far from chrono's limits.
    at.filter(|at| (1..=9999).contains(&at.year()))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("'{value}' is not a date of the years 1 to 9999"),
            )
        })
}

fn add_days(value: String, days: i64) -> Result<String, Error> {
    if days.abs() > 3660 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "add_days takes at most ±3660 days",
        ));
    }
    let at = parse_day(&value)?
        .checked_add_signed(Duration::days(days))
        .filter(|at| (1..=9999).contains(&at.year()))
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "the date is out of range"))?;
    Ok(if value.len() == 10 {
        at.format(DAY).to_string()
    } else {
        at.to_rfc3339()
    })
}

fn format_date(value: String, format: String) -> Result<String, Error> {
    use std::fmt::Write;
    let at = parse_day(&value)?;
    let mut out = String::new();
    // A bad format is an error here, not a panic in chrono's Display.
    write!(
        out,
        "{}",
        at.format_with_items(chrono::format::StrftimeItems::new(&format))
    )
    .map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("'{format}' is not a date format"),
        )
    })?;
    Ok(out)
}

/// The dates a run at `at` (its scheduled time, in the task's zone) names, by name ([`NAMES`]).
pub fn dates(at: DateTime<Tz>) -> minijinja::Value {
    let day = at.date_naive();
    let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let month_start = day.with_day(1).unwrap_or(day);
    let last_month_end = month_start - Duration::days(1);
    let last_month_start = last_month_end.with_day(1).unwrap_or(last_month_end);
    let show = |d: NaiveDate| d.format(DAY).to_string();
    context! {
        today => show(day),
        yesterday => show(day - Duration::days(1)),
        week_start => show(monday),
        last_week_start => show(monday - Duration::days(7)),
        month_start => show(month_start),
        last_month_start => show(last_month_start),
        last_month_end => show(last_month_end),
        scheduled_at => at.to_rfc3339(),
    }
}

/// Whether `text` has template syntax at all; only `{{ … }}` expressions are allowed.
pub fn expressions_only(text: &str) -> Result<bool, String> {
    if text.contains("{%") || text.contains("{#") {
        return Err("may use only {{ … }} parameters, not {% … %} or {# … #}".into());
    }
    Ok(text.contains("{{"))
}

/// Fills `text`'s parameters for a run at `at` (its scheduled time, in the task's zone).
pub fn fill(text: &str, at: DateTime<Tz>) -> Result<String, String> {
    if !expressions_only(text)? {
        return Ok(text.to_owned());
    }
    ENV.render_str(text, dates(at)).map_err(|e| match e.kind() {
        ErrorKind::UndefinedError => format!(
            "uses an unknown parameter (known: {}): {}",
            NAMES.join(", "),
            e.detail().unwrap_or_default()
        ),
        _ => format!(
            "has a parameter that does not work: {}",
            e.detail().unwrap_or(&e.to_string())
        ),
    })
}

/// The time parameters are checked at on save.
pub fn check_time() -> Result<DateTime<Tz>, String> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .ok_or_else(|| "no check time".to_owned())
}

/// Checks `text`'s parameters on save (rendered at a fixed time).
pub fn check(text: &str) -> Result<(), String> {
    fill(text, check_time()?).map(drop)
}

/// Fills every string inside a JSON value.
pub fn fill_json(value: &serde_json::Value, at: DateTime<Tz>) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match value {
        J::String(text) => J::String(fill(text, at)?),
        J::Array(items) => J::Array(
            items
                .iter()
                .map(|v| fill_json(v, at))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(map) => J::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), fill_json(v, at)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Tz> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, 9, 0, 0)
            .unwrap()
    }

    #[test]
    fn dates_are_taken_in_the_tasks_zone_at_the_scheduled_time() {
        // Wednesday 2026-03-04.
        let at = at(2026, 3, 4);
        assert_eq!(fill("{{ today }}", at).unwrap(), "2026-03-04");
        assert_eq!(fill("{{ yesterday }}", at).unwrap(), "2026-03-03");
        assert_eq!(fill("{{ week_start }}", at).unwrap(), "2026-03-02");
        assert_eq!(fill("{{ last_week_start }}", at).unwrap(), "2026-02-23");
        assert_eq!(fill("{{ month_start }}", at).unwrap(), "2026-03-01");
        assert_eq!(fill("{{ last_month_start }}", at).unwrap(), "2026-02-01");
        assert_eq!(fill("{{ last_month_end }}", at).unwrap(), "2026-02-28");
        assert_eq!(
            fill(
                "d={{ yesterday | date(\"%Y%m%d\") }}&w={{ today | add_days(-7) }}",
                at
            )
            .unwrap(),
            "d=20260303&w=2026-02-25"
        );
        assert_eq!(
            fill("{{ scheduled_at }}", at).unwrap(),
            "2026-03-04T09:00:00+08:00"
        );
        // Just after midnight in Shanghai is still the previous day in UTC: the zone decides.
        let early = chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 1, 1, 0, 30, 0)
            .unwrap();
        assert_eq!(fill("{{ yesterday }}", early).unwrap(), "2025-12-31");
    }

    #[test]
    fn unknown_names_blocks_and_bad_formats_are_refused() {
        assert!(
            check("{{ tomorrow }}")
                .unwrap_err()
                .contains("unknown parameter")
        );
        assert!(check("{% for i in range(9) %}x{% endfor %}").is_err());
        assert!(check("{{ today | add_days(99999) }}").is_err());
        assert!(check("{{ \"+262142-12-31\" | add_days(3660) }}").is_err());
        assert!(check("{{ \"9999-12-31\" | add_days(1) }}").is_err());
        assert!(check("{{ today | date(\"%Q\") }}").is_err());
        assert!(check("plain text, no parameters").is_ok());
        assert!(check("{{ today | date(\"%Y/%m/%d\") }}").is_ok());
    }
}
