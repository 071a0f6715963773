//! Exception control: from the chart checks and a task's rules, whether to push, pause and/or alarm.
//! For empty charts and for unreadable charts separately: a range (`fully`: every chart, `partially`:
//! some but not all) and two independent actions. Neither ticked means push anyway.
use crate::domain::run::{ChartCheck, ChartState, PauseReason};
use crate::domain::task::{ExceptionControl, ExceptionRule, Range};

/// What exception control decided for one run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// Set when the push is paused; access errors win over empty charts.
    pub pause: Option<PauseReason>,
    /// The reasons to alarm, in the order access errors, empty.
    pub alarms: Vec<PauseReason>,
}

/// How the checks relate to a rule's range: every chart, some of them, or none.
fn in_range(rule: &ExceptionRule, matching: usize, total: usize) -> bool {
    let fully = total > 0 && matching == total;
    let partially = matching > 0 && matching < total;
    (fully && rule.range.contains(&Range::Fully))
        || (partially && rule.range.contains(&Range::Partially))
}

pub fn decide(control: &ExceptionControl, checks: &[ChartCheck]) -> Decision {
    let total = checks.len();
    let count = |pred: fn(&ChartState) -> bool| checks.iter().filter(|c| pred(&c.state)).count();
    let unreadable = count(ChartState::is_unreadable);
    let empty = count(|s| matches!(s, ChartState::Empty));
    let mut decision = Decision::default();
    for (rule, matching, reason) in [
        (&control.access_error, unreadable, PauseReason::AccessError),
        (&control.empty, empty, PauseReason::Empty),
    ] {
        if !in_range(rule, matching, total) {
            continue;
        }
        if rule.pause && decision.pause.is_none() {
            decision.pause = Some(reason);
        }
        if rule.alarm {
            decision.alarms.push(reason);
        }
    }
    decision
}

/// The charts a reason is about.
pub fn charts_for(reason: PauseReason, checks: &[ChartCheck]) -> Vec<ChartCheck> {
    checks
        .iter()
        .filter(|c| match reason {
            PauseReason::Empty => matches!(c.state, ChartState::Empty),
            PauseReason::AccessError => c.state.is_unreadable(),
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::text::ChartName;

    fn check(state: ChartState) -> ChartCheck {
        ChartCheck {
            name: ChartName::parse("c").unwrap(),
            state,
            elapsed_ms: 1,
        }
    }
    fn ok() -> ChartCheck {
        check(ChartState::Ok { rows: 3 })
    }
    fn empty() -> ChartCheck {
        check(ChartState::Empty)
    }
    fn broken() -> ChartCheck {
        check(ChartState::AccessError {
            reason: "HTTP 503".into(),
        })
    }
    fn rule(ranges: &[Range], pause: bool, alarm: bool) -> ExceptionRule {
        ExceptionRule {
            range: ranges.to_vec(),
            pause,
            alarm,
        }
    }

    /// The whole matrix: chart situation × range × actions, for empty and for access errors.
    #[test]
    fn the_empty_and_access_error_matrix_behaves_as_specified() {
        use PauseReason::{AccessError, Empty};
        let situations: [(&str, Vec<ChartCheck>); 4] = [
            ("all fine", vec![ok(), ok()]),
            ("some", vec![ok(), empty()]),
            ("all", vec![empty(), empty()]),
            ("none at all", vec![]),
        ];
        for (kind, reason, make) in [
            ("empty", Empty, empty as fn() -> ChartCheck),
            ("access", AccessError, broken),
        ] {
            for (ranges, label) in [
                (&[Range::Fully][..], "fully"),
                (&[Range::Partially][..], "partially"),
                (&[Range::Fully, Range::Partially][..], "both"),
            ] {
                for (pause, alarm) in [(false, false), (true, false), (false, true), (true, true)] {
                    for (situation, charts) in &situations {
                        let charts: Vec<ChartCheck> = charts
                            .iter()
                            .map(|c| {
                                if c.state == ChartState::Empty {
                                    make()
                                } else {
                                    c.clone()
                                }
                            })
                            .collect();
                        let r = rule(ranges, pause, alarm);
                        let control = match reason {
                            Empty => ExceptionControl {
                                empty: r,
                                access_error: ExceptionRule::default(),
                            },
                            AccessError => ExceptionControl {
                                empty: ExceptionRule::default(),
                                access_error: r,
                            },
                        };
                        let matches = match *situation {
                            "some" => label != "fully",
                            "all" => label != "partially",
                            _ => false,
                        };
                        let expected = Decision {
                            pause: (matches && pause).then_some(reason),
                            alarms: if matches && alarm {
                                vec![reason]
                            } else {
                                vec![]
                            },
                        };
                        assert_eq!(
                            decide(&control, &charts),
                            expected,
                            "{kind} {label} pause={pause} alarm={alarm} {situation}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn access_errors_win_the_pause_and_both_alarm() {
        let control = ExceptionControl {
            empty: rule(&[Range::Partially], true, true),
            access_error: rule(&[Range::Partially], true, true),
        };
        let decision = decide(&control, &[ok(), empty(), broken()]);
        assert_eq!(decision.pause, Some(PauseReason::AccessError));
        assert_eq!(
            decision.alarms,
            vec![PauseReason::AccessError, PauseReason::Empty]
        );
    }

    #[test]
    fn unreadable_charts_are_not_counted_as_empty() {
        let control = ExceptionControl {
            empty: rule(&[Range::Fully], true, false),
            access_error: ExceptionRule::default(),
        };
        assert_eq!(
            decide(&control, &[empty(), broken()]).pause,
            None,
            "one empty of two is partial, not full"
        );
    }
}
