//! Message variables in a task's title, beginning and ending: the run's dates in the task's zone
//! (`{{ scheduled_at | date("%m月%d日") }}`, the same names as date parameters) and each chart's
//! figures as the message shows them (`{{ charts["GMV"].value }}`, `.change`, `.rows`). Only
//! expressions, in a sandbox with a fuel limit; a chart that was not read shows "—", and a text
//! that still fails at run time is sent as written, never as a template error.
use super::facts::ReadChart;
use super::numbers::{change_shown, shown};
use crate::domain::contact::Language;
use crate::domain::parameters::{self, NAMES};
use crate::domain::report::Figure;
use chrono::DateTime;
use chrono_tz::Tz;
use minijinja::{Environment, ErrorKind, Value};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// How much work one text may make the engine do (a title's few expressions take well under 100).
const FUEL: u64 = 5_000;
/// The most characters a filled text keeps.
const MAX_FILLED_CHARS: usize = 4_000;
/// What a figure that is not there shows.
pub const MISSING: &str = "—";

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = parameters::date_environment();
    env.set_fuel(Some(FUEL));
    env
});

/// One chart's figures as text.
#[derive(Debug, Clone, serde::Serialize)]
struct ChartFigures {
    value: String,
    change: String,
    rows: String,
}

impl ChartFigures {
    fn of(chart: &ReadChart<'_>, language: Language) -> Self {
        let field = chart.headline_field();
        let format = field.and_then(|f| chart.format_of(f));
        let value = chart
            .value()
            .map(|v| match chart.figure {
                Some(Figure::Count { .. }) => shown(v, None, language, false),
                _ => shown(v, format.as_ref(), language, true),
            })
            .unwrap_or_else(|_| MISSING.to_owned());
        let change = match chart.figure {
            Some(Figure::Kpi {
                value,
                previous: Some(previous),
                format,
                ..
            }) => change_shown(*value, *previous, format.as_ref(), language).text,
            _ => MISSING.to_owned(),
        };
        let rows = chart
            .rows()
            .map(|n| shown(n as f64, None, language, false))
            .unwrap_or_else(|_| MISSING.to_owned());
        Self {
            value,
            change,
            rows,
        }
    }

    fn missing() -> Self {
        Self {
            value: MISSING.to_owned(),
            change: MISSING.to_owned(),
            rows: MISSING.to_owned(),
        }
    }
}

fn render(
    text: &str,
    at: DateTime<Tz>,
    charts: BTreeMap<String, ChartFigures>,
) -> Result<String, String> {
    let mut context = BTreeMap::new();
    let dates = parameters::dates(at);
    for name in NAMES {
        if let Ok(value) = dates.get_attr(name) {
            context.insert(name.to_owned(), value);
        }
    }
    context.insert(
        "charts".to_owned(),
        Value::from(minijinja::value::Serde(&charts)),
    );
    ENV.render_str(text, context).map_err(|e| match e.kind() {
        ErrorKind::UndefinedError => format!(
            "uses an unknown name (known: {} and charts[\"<chart name>\"].value, .change, .rows): {}",
            NAMES.join(", "),
            e.detail().unwrap_or("undefined value")
        ),
        ErrorKind::OutOfFuel => "does too much work for a message text".to_owned(),
        _ => format!(
            "has a variable that does not work: {}",
            e.detail().unwrap_or(&e.to_string())
        ),
    })
}

/// Checks `text`'s variables on save against the page's chart names.
pub fn check<'a>(text: &str, chart_names: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    if !parameters::expressions_only(text)? {
        return Ok(());
    }
    let charts = chart_names
        .into_iter()
        .map(|name| (name.to_owned(), ChartFigures::missing()))
        .collect();
    render(text, parameters::check_time()?, charts).map(drop)
}

/// `text` with its variables filled for a run at `at` (in the task's zone) from what it read; as
/// written if it cannot be filled (a task saved before variables existed, say).
pub fn fill(text: &str, at: DateTime<Tz>, charts: &[ReadChart<'_>], language: Language) -> String {
    match parameters::expressions_only(text) {
        Ok(true) => {}
        _ => return text.to_owned(),
    }
    let figures = charts
        .iter()
        .map(|chart| (chart.name.to_string(), ChartFigures::of(chart, language)))
        .collect();
    match render(text, at, figures) {
        Ok(filled) if filled.chars().count() > MAX_FILLED_CHARS => {
            filled.chars().take(MAX_FILLED_CHARS).collect()
        }
        Ok(filled) => filled,
        Err(why) => {
            tracing::warn!(why = %why, "a message text was sent as written");
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::ChartFields;
    use crate::domain::run::ChartState;
    use crate::domain::text::ChartName;
    use chrono::TimeZone;

    fn at() -> DateTime<Tz> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 12, 7, 9, 0, 0)
            .unwrap()
    }

    #[test]
    fn a_title_reads_the_runs_date_and_a_kpis_figures_and_a_failed_chart_shows_a_dash() {
        let (gmv, errors) = (
            ChartName::parse("GMV".to_owned()).unwrap(),
            ChartName::parse("Errors".to_owned()).unwrap(),
        );
        let fields = ChartFields::default();
        let ok = ChartState::Ok { rows: 1 };
        let kpi = Figure::Kpi {
            field: "gmv".to_owned(),
            value: 1_234_567.0,
            previous: Some(1_000_000.0),
            format: None,
        };
        let broken = ChartState::AccessError {
            reason: "HTTP 503".to_owned(),
        };
        let charts = [
            ReadChart {
                name: &gmv,
                fields: &fields,
                state: &ok,
                figure: Some(&kpi),
                first_row: &[],
            },
            ReadChart {
                name: &errors,
                fields: &fields,
                state: &broken,
                figure: None,
                first_row: &[],
            },
        ];
        let title = "{{ scheduled_at | date(\"%m月%d日\") }} GMV {{ charts[\"GMV\"].value }}（{{ charts[\"GMV\"].change }}），错误 {{ charts[\"Errors\"].rows }}";
        assert_eq!(
            fill(title, at(), &charts, Language::Zh),
            "12月07日 GMV 123.46万（▲ 23.5%），错误 —"
        );
        assert_eq!(
            fill("{{ yesterday }}", at(), &charts, Language::En),
            "2026-12-06"
        );
        // A text that cannot be filled goes as written.
        assert_eq!(
            fill("{{ charts[\"Gone\"].value }}", at(), &charts, Language::En),
            "{{ charts[\"Gone\"].value }}"
        );
    }

    #[test]
    fn unknown_names_charts_and_figures_blocks_and_runaway_work_are_refused_on_save() {
        let names = ["GMV"];
        assert!(check("{{ charts[\"GMV\"].value }} {{ today }}", names).is_ok());
        assert!(check("plain", names).is_ok());
        for (text, says) in [
            ("{{ tomorrow }}", "unknown name"),
            ("{{ charts[\"Revenue\"].value }}", "unknown name"),
            ("{{ charts[\"GMV\"].median }}", "unknown name"),
            ("{% if true %}x{% endif %}", "only {{ … }}"),
            ("{{ range(10000) | join(',') }}", "too much work"),
        ] {
            let refused = check(text, names).unwrap_err();
            assert!(refused.contains(says), "{text}: {refused}");
        }
    }
}
