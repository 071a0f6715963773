//! Judging a task's conditions against what a run read: whether the push goes out, and each rule's
//! finding in words ("GMV 98万 is below 100万"), which a skipped run records as its reason and a
//! test push or a preview shows.
use super::facts::ReadChart;
use super::numbers::shown;
use crate::domain::conditions::{Comparison, Conditions, Rule, When};
use crate::domain::contact::Language;
use crate::domain::report::Figure;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// One rule's finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub holds: bool,
    pub said: String,
}

/// Whether a task's conditions hold, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub holds: bool,
    /// `any` or `all`.
    pub when: &'static str,
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// The verdict in one line: the findings that decided it.
    pub fn reason(&self) -> String {
        let deciding: Vec<&str> = self
            .findings
            .iter()
            .filter(|f| f.holds == self.holds)
            .map(|f| f.said.as_str())
            .collect();
        let deciding = if deciding.is_empty() {
            self.findings.iter().map(|f| f.said.as_str()).collect()
        } else {
            deciding
        };
        let head = if self.holds {
            "conditions met"
        } else {
            "conditions not met"
        };
        format!("{head} ({}): {}", self.when, deciding.join("; "))
    }
}

/// A digest of the data a page showed (not how it is formatted), so a later run can tell
/// whether it changed. A chart that could not be read counts as a change.
pub fn page_digest(figures: &[Option<Figure>]) -> String {
    fn data_only(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("format");
                map.values_mut().for_each(data_only);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(data_only),
            _ => {}
        }
    }
    let mut shown = serde_json::to_value(figures).unwrap_or_default();
    data_only(&mut shown);
    hex::encode(&Sha256::digest(shown.to_string().as_bytes())[..16])
}

/// Judges `conditions` against `charts` as read; `changed` says whether the page differs from
/// the last push's (true when nothing was pushed before), or why that could not be looked up (the
/// page then counts as changed: a push is better than a lost alert).
pub fn judge(
    conditions: &Conditions,
    charts: &[ReadChart<'_>],
    changed: Result<bool, String>,
    language: Language,
) -> Verdict {
    let findings: Vec<Finding> = conditions
        .rules
        .iter()
        .map(|rule| finding(rule, charts, &changed, language))
        .collect();
    let holds = match conditions.when {
        When::Any => findings.iter().any(|f| f.holds),
        When::All => findings.iter().all(|f| f.holds),
    };
    Verdict {
        holds,
        when: conditions.when.as_str(),
        findings,
    }
}

fn compared(holds: bool, op: Comparison, threshold: &str) -> String {
    let not = if holds { "" } else { "not " };
    format!("{not}{} {threshold}", op.words())
}

fn finding(
    rule: &Rule,
    charts: &[ReadChart<'_>],
    changed: &Result<bool, String>,
    language: Language,
) -> Finding {
    let chart = rule
        .chart()
        .and_then(|name| charts.iter().find(|c| c.name == name));
    let judged = match (rule, chart) {
        (Rule::Changed { .. }, _) => {
            let said = match changed {
                Ok(true) => "the page changed since the last push".to_owned(),
                Ok(false) => "the page is as the last push showed it".to_owned(),
                Err(why) => format!(
                    "the page counts as changed: the last push could not be looked up ({why})"
                ),
            };
            return Finding {
                holds: *changed != Ok(false),
                said,
            };
        }
        (_, None) => Err("it is not on the page".to_owned()),
        (
            Rule::Field {
                field, op, value, ..
            },
            Some(chart),
        ) => chart.value_of(field.as_str()).map(|now| {
            let format = chart.format_of(field.as_str());
            let holds = op.holds(now, value.get());
            let subject = if chart.headline_field() == Some(field.as_str()) {
                chart.name.to_string()
            } else {
                format!("{} {field}", chart.name)
            };
            let show = |v: f64| shown(v, format.as_ref(), language, true);
            let said = format!(
                "{subject} {} is {}",
                show(now),
                compared(holds, *op, &show(value.get()))
            );
            (holds, said)
        }),
        (
            Rule::Change {
                change, percent, ..
            },
            Some(chart),
        ) => chart.change_percent().map(|now| {
            let holds = change.holds(now, percent.get());
            let said = format!(
                "{} changed {now:+.1}%, {}",
                chart.name,
                compared(holds, *change, &format!("{}%", percent.get()))
            );
            (holds, said)
        }),
        (Rule::Rows { rows, value, .. }, Some(chart)) => chart.rows().map(|now| {
            let holds = rows.holds(now as f64, value.get());
            let said = format!(
                "{} has {now} rows, {}",
                chart.name,
                compared(holds, *rows, &value.get().to_string())
            );
            (holds, said)
        }),
    };
    match judged {
        Ok((holds, said)) => Finding { holds, said },
        Err(why) => Finding {
            holds: false,
            said: format!(
                "{} could not be judged: {why}",
                rule.chart().map(ToString::to_string).unwrap_or_default()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::conditions::Threshold;
    use crate::domain::number_format::{NumberFormat, NumberStyle};
    use crate::domain::report::{ChartFields, FieldKey};
    use crate::domain::run::ChartState;
    use crate::domain::text::ChartName;

    fn rule(field: &str, op: Comparison, value: f64) -> Rule {
        Rule::Field {
            chart: ChartName::parse("Rate".to_owned()).unwrap(),
            field: FieldKey::parse(field.to_owned()).unwrap(),
            op,
            value: Threshold::try_from(value).unwrap(),
        }
    }

    #[test]
    fn findings_read_numbers_in_the_fields_format_and_say_why_a_chart_could_not_be_judged() {
        let name = ChartName::parse("Rate".to_owned()).unwrap();
        let mut fields = ChartFields::default();
        fields.formats.insert(
            FieldKey::parse("rate".to_owned()).unwrap(),
            NumberFormat::new(NumberStyle::Percent, Some(1), None, None).unwrap(),
        );
        let ok = ChartState::Ok { rows: 4 };
        let first_row = [("rate".to_owned(), 0.0734)];
        let chart = ReadChart {
            name: &name,
            fields: &fields,
            state: &ok,
            figure: None,
            first_row: &first_row,
        };
        let conditions = Conditions {
            when: When::All,
            rules: vec![
                rule("rate", Comparison::Below, 0.08),
                rule("cost", Comparison::Above, 1.0),
            ],
        };
        let verdict = judge(&conditions, &[chart], Ok(true), Language::En);
        assert!(!verdict.holds);
        // The chart's one number is its headline: named by the chart alone.
        assert_eq!(verdict.findings[0].said, "Rate 7.3% is below 8.0%");
        assert_eq!(
            verdict.reason(),
            "conditions not met (all): Rate could not be judged: its first row has no number in 'cost'"
        );

        let broken = ChartState::AccessError {
            reason: "HTTP 503".to_owned(),
        };
        let unread = ReadChart {
            state: &broken,
            first_row: &[],
            ..chart
        };
        let any = Conditions {
            when: When::Any,
            rules: vec![rule("rate", Comparison::Below, 0.08)],
        };
        let verdict = judge(&any, &[unread], Ok(true), Language::En);
        assert!(!verdict.holds, "an unread chart meets no rule");
        assert_eq!(
            verdict.findings[0].said,
            "Rate could not be judged: it could not be read (HTTP 503)"
        );
    }

    #[test]
    fn the_digest_is_of_the_data_not_of_its_format() {
        let kpi = |format| {
            Some(Figure::Kpi {
                field: "gmv".into(),
                value: 980_000.0,
                previous: None,
                format,
            })
        };
        let yuan = NumberFormat::new(NumberStyle::Currency, None, None, None).ok();
        assert_eq!(page_digest(&[kpi(None)]), page_digest(&[kpi(yuan)]));
        assert_ne!(page_digest(&[kpi(None)]), page_digest(&[None]));
    }

    #[test]
    fn a_last_push_that_cannot_be_looked_up_counts_as_a_change() {
        let changed = Conditions {
            when: When::Any,
            rules: vec![Rule::Changed {
                changed_since_last_push: true,
            }],
        };
        let verdict = judge(&changed, &[], Err("store unavailable".into()), Language::Zh);
        assert!(verdict.holds);
        assert!(verdict.findings[0].said.contains("store unavailable"));
        assert!(!judge(&changed, &[], Ok(false), Language::Zh).holds);
    }
}
