//! A task's conditions (alerts) on the wire, and whether they hold in a preview.
use super::{at, within};
use herald_core::FieldError;
use herald_core::domain::conditions::{Comparison, Conditions, MAX_RULES, Rule, Threshold, When};
use herald_core::domain::report::FieldKey;
use herald_core::domain::text::ChartName;
use herald_core::report::conditions::Verdict;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// When a scheduled run pushes: `any` (default) or `all` of the rules hold; otherwise it sends
/// nothing and is recorded `skipped` with the reason. Exception control decides first; test and
/// manual pushes send anyway and show whether the conditions hold.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionsBody {
    #[serde(default = "default_when")]
    #[schema(example = "any")]
    pub when: String,
    /// 1 to 10 rules.
    pub rules: Vec<ConditionRuleBody>,
}

fn default_when() -> String {
    "any".into()
}

/// One rule, of one of four kinds: `{"chart", "field", "op", "value"}` (the field's value in the
/// chart's first row, a KPI's value); `{"chart", "change", "percent"}` (a KPI's change against
/// `fields.compare`, in percent); `{"chart", "rows", "value"}` (its row count, 0 when empty);
/// `{"changed_since_last_push": true}`. Comparisons: `<`, `<=`, `>`, `>=`, `==`, `!=`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionRuleBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "GMV")]
    pub chart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "as_written"
    )]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "as_written"
    )]
    pub percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_since_last_push: Option<bool>,
}

/// A whole number as a whole number (`1000000`, not `1000000.0`), so a rule reads back as written.
fn as_written<S: serde::Serializer>(value: &Option<f64>, out: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => out.serialize_i64(*v as i64),
        Some(v) => out.serialize_f64(*v),
        None => out.serialize_none(),
    }
}

fn required<T: Clone>(field: &str, value: &Option<T>, kind: &str) -> Result<T, FieldError> {
    value
        .clone()
        .ok_or_else(|| FieldError::new(field, format!("is required in a {kind} rule")))
}

fn number(field: &str, value: &Option<f64>, kind: &str) -> Result<Threshold, FieldError> {
    at(field, Threshold::try_from(required(field, value, kind)?))
}

impl ConditionRuleBody {
    fn parse(&self) -> Result<Rule, FieldError> {
        let chart = |kind: &str| -> Result<ChartName, FieldError> {
            at(
                "chart",
                ChartName::parse(required("chart", &self.chart, kind)?),
            )
        };
        let stray = |fields: &[(&str, bool)], kind: &str| -> Result<(), FieldError> {
            match fields.iter().find(|(_, given)| *given) {
                Some((name, _)) => Err(FieldError::new(
                    *name,
                    format!("does not belong in a {kind} rule"),
                )),
                None => Ok(()),
            }
        };
        match (
            &self.field,
            &self.change,
            &self.rows,
            self.changed_since_last_push,
        ) {
            (Some(field), None, None, None) => {
                stray(&[("percent", self.percent.is_some())], "field")?;
                Ok(Rule::Field {
                    chart: chart("field")?,
                    field: at("field", FieldKey::parse(field.clone()))?,
                    op: at("op", Comparison::parse(&required("op", &self.op, "field")?))?,
                    value: number("value", &self.value, "field")?,
                })
            }
            (None, Some(change), None, None) => {
                stray(
                    &[("op", self.op.is_some()), ("value", self.value.is_some())],
                    "change",
                )?;
                Ok(Rule::Change {
                    chart: chart("change")?,
                    change: at("change", Comparison::parse(change))?,
                    percent: number("percent", &self.percent, "change")?,
                })
            }
            (None, None, Some(rows), None) => {
                stray(
                    &[
                        ("op", self.op.is_some()),
                        ("percent", self.percent.is_some()),
                    ],
                    "rows",
                )?;
                Ok(Rule::Rows {
                    chart: chart("rows")?,
                    rows: at("rows", Comparison::parse(rows))?,
                    value: number("value", &self.value, "rows")?,
                })
            }
            (None, None, None, Some(true)) => {
                stray(
                    &[
                        ("chart", self.chart.is_some()),
                        ("op", self.op.is_some()),
                        ("value", self.value.is_some()),
                        ("percent", self.percent.is_some()),
                    ],
                    "changed_since_last_push",
                )?;
                Ok(Rule::Changed {
                    changed_since_last_push: true,
                })
            }
            (None, None, None, Some(false)) => Err(FieldError::new(
                "changed_since_last_push",
                "may only be true (leave the rule out otherwise)",
            )),
            (None, None, None, None) => Err(FieldError::new(
                "",
                "must give field, change, rows or changed_since_last_push",
            )),
            _ => Err(FieldError::new(
                "",
                "must give only one of field, change, rows and changed_since_last_push",
            )),
        }
    }

    fn view(rule: &Rule) -> Self {
        match rule {
            Rule::Field {
                chart,
                field,
                op,
                value,
            } => Self {
                chart: Some(chart.to_string()),
                field: Some(field.to_string()),
                op: Some(op.as_str().to_owned()),
                value: Some(value.get()),
                ..Self::default()
            },
            Rule::Change {
                chart,
                change,
                percent,
            } => Self {
                chart: Some(chart.to_string()),
                change: Some(change.as_str().to_owned()),
                percent: Some(percent.get()),
                ..Self::default()
            },
            Rule::Rows { chart, rows, value } => Self {
                chart: Some(chart.to_string()),
                rows: Some(rows.as_str().to_owned()),
                value: Some(value.get()),
                ..Self::default()
            },
            Rule::Changed { .. } => Self {
                changed_since_last_push: Some(true),
                ..Self::default()
            },
        }
    }
}

impl ConditionsBody {
    pub fn parse(&self) -> Result<Conditions, FieldError> {
        if self.rules.is_empty() || self.rules.len() > MAX_RULES {
            return Err(FieldError::new(
                "rules",
                format!(
                    "must hold 1 to {MAX_RULES} rules (got {})",
                    self.rules.len()
                ),
            ));
        }
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| within(&format!("rules[{i}]"), rule.parse()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Conditions {
            when: at("when", When::parse(&self.when))?,
            rules,
        })
    }

    pub fn view(conditions: &Conditions) -> Self {
        Self {
            when: conditions.when.as_str().to_owned(),
            rules: conditions
                .rules
                .iter()
                .map(ConditionRuleBody::view)
                .collect(),
        }
    }
}

/// Whether a task's conditions hold now, and each rule's finding in words.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConditionsView {
    pub holds: bool,
    #[schema(example = "any")]
    pub when: String,
    /// One line: the findings that decided.
    #[schema(example = "conditions not met (any): GMV 120万 is not below 100万")]
    pub reason: String,
    pub findings: Vec<FindingView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingView {
    pub holds: bool,
    pub said: String,
}

impl ConditionsView {
    pub fn new(verdict: &Verdict) -> Self {
        Self {
            holds: verdict.holds,
            when: verdict.when.to_owned(),
            reason: verdict.reason(),
            findings: verdict
                .findings
                .iter()
                .map(|f| FindingView {
                    holds: f.holds,
                    said: f.said.clone(),
                })
                .collect(),
        }
    }
}
