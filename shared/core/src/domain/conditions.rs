//! Conditions (alerts): a scheduled run pushes only when its task's conditions hold, else it is
//! recorded `skipped` with the reason. Rules read a chart's figures as the run read them: a
//! field's value in the first row (a KPI's value), a KPI's change against its `compare`, a chart's
//! row count, or whether the page changed since the last push.
pub use super::comparison::{Comparison, Threshold};
use super::report::{ChartFields, FieldKey};
use super::text::ChartName;
use crate::FieldError;
use serde::{Deserialize, Serialize};

/// The most rules one task may have.
pub const MAX_RULES: usize = 10;

/// When a run pushes: any or all of the rules hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    pub when: When,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    #[default]
    Any,
    All,
}

/// What a rule may read of a chart: its named fields, and whether it keeps rows (a `count` keeps
/// none, only their number).
pub struct ChartShape<'a> {
    pub fields: &'a ChartFields,
    pub keeps_rows: bool,
    /// It may show as a KPI (`kpi`, or `auto`), the one figure with a change.
    pub may_be_kpi: bool,
}

impl Conditions {
    /// Checks each rule against the page's charts (`shape_of` finds one by name), so a rule that
    /// could never be judged is refused on save, naming its field.
    pub fn check<'a>(
        &self,
        shape_of: impl Fn(&ChartName) -> Option<ChartShape<'a>>,
    ) -> Result<(), FieldError> {
        if self.rules.is_empty() || self.rules.len() > MAX_RULES {
            return Err(FieldError::new(
                "rules",
                format!(
                    "must hold 1 to {MAX_RULES} rules (got {})",
                    self.rules.len()
                ),
            ));
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let at = |field: &str, message: String| {
                FieldError::new(format!("rules[{i}].{field}"), message)
            };
            let Some(name) = rule.chart() else {
                continue;
            };
            let shape = shape_of(name)
                .ok_or_else(|| at("chart", format!("no chart of the page is named '{name}'")))?;
            match rule {
                Rule::Field { field, .. } => {
                    if !shape.keeps_rows {
                        return Err(at(
                            "field",
                            format!("chart '{name}' shows a count and keeps no rows: use \"rows\""),
                        ));
                    }
                    let named = shape.fields.keys();
                    if !named.is_empty() && !named.iter().any(|k| k == field.as_str()) {
                        return Err(at(
                            "field",
                            format!(
                                "chart '{name}' reads only its fields ({}): name one of them",
                                named.join(", ")
                            ),
                        ));
                    }
                }
                Rule::Change { .. } if !shape.may_be_kpi => {
                    return Err(at(
                        "change",
                        format!(
                            "chart '{name}' is not shown as a KPI, the one figure with a change"
                        ),
                    ));
                }
                Rule::Change { .. } if shape.fields.compare.is_none() => {
                    return Err(at(
                        "change",
                        format!(
                            "chart '{name}' has no fields.compare (the previous value a change is taken against)"
                        ),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl When {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "any" => Ok(Self::Any),
            "all" => Ok(Self::All),
            other => Err(format!("must be any or all (got '{other}')")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::All => "all",
        }
    }
}

/// One rule. Stored in the shape the API takes (the keys tell the kinds apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rule {
    /// A field's value in the chart's first row (a KPI's value) compared with a number.
    Field {
        chart: ChartName,
        field: FieldKey,
        op: Comparison,
        value: Threshold,
    },
    /// A KPI's change against its previous value (`fields.compare`), in percent.
    Change {
        chart: ChartName,
        change: Comparison,
        percent: Threshold,
    },
    /// How many rows the chart has (an empty chart has 0).
    Rows {
        chart: ChartName,
        rows: Comparison,
        value: Threshold,
    },
    /// Whether what the page shows differs from what the last push showed.
    Changed { changed_since_last_push: bool },
}

impl Rule {
    /// The chart the rule reads, if it reads one.
    pub fn chart(&self) -> Option<&ChartName> {
        match self {
            Self::Field { chart, .. } | Self::Change { chart, .. } | Self::Rows { chart, .. } => {
                Some(chart)
            }
            Self::Changed { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_stored_in_the_shape_the_api_takes_and_read_back_as_their_kind() {
        let rules = serde_json::json!([
            {"chart": "GMV", "field": "gmv", "op": "<", "value": 1000000.0},
            {"chart": "GMV", "change": "<", "percent": -10.0},
            {"chart": "Errors", "rows": ">", "value": 0.0},
            {"changed_since_last_push": true}
        ]);
        let read: Vec<Rule> = serde_json::from_value(rules.clone()).unwrap();
        assert!(matches!(
            read[0],
            Rule::Field {
                op: Comparison::Below,
                ..
            }
        ));
        assert!(matches!(read[1], Rule::Change { .. }));
        assert!(matches!(read[2], Rule::Rows { .. }));
        assert!(matches!(read[3], Rule::Changed { .. }));
        assert_eq!(serde_json::to_value(&read).unwrap(), rules);
    }

    #[test]
    fn comparisons_read_their_symbols_and_compare() {
        assert_eq!(Comparison::parse("=").unwrap(), Comparison::Equal);
        assert!(
            Comparison::parse("<>")
                .unwrap_err()
                .contains("< <= > >= == !=")
        );
        assert!(Comparison::Below.holds(980_000.0, 1_000_000.0));
        assert!(!Comparison::Below.holds(1_200_000.0, 1_000_000.0));
        assert!(Comparison::AtLeast.holds(1.0, 1.0));
        assert!(Threshold::try_from(f64::NAN).is_err());
    }
}
