//! A run's conditions judged against what it read, with the page's digest compared to the last
//! push's when a rule asks whether the page changed.
use super::*;
use crate::domain::conditions::Rule;
use crate::domain::task::TaskSpec;
use crate::ports::RunFilter;
use crate::report::conditions::{Verdict, judge, page_digest};

/// How many of a task's latest runs are looked through for its last push.
const RUNS_LOOKED_AT: usize = 20;

impl PushService {
    /// Whether `spec`'s conditions hold for what `read` found; `None` when it has none. `task` is
    /// the stored task whose last push a `changed_since_last_push` rule compares with (a draft
    /// has none), `this_run` the run judging (not a push before itself).
    pub(super) async fn judge_conditions(
        &self,
        (project, task, spec): (&ProjectId, Option<&TaskId>, &TaskSpec),
        read: &PageRead,
        this_run: Option<&RunId>,
    ) -> Option<Verdict> {
        let conditions = spec.conditions.as_ref()?;
        let asks_changed = conditions
            .rules
            .iter()
            .any(|rule| matches!(rule, Rule::Changed { .. }));
        let changed = match task {
            Some(task) if asks_changed => {
                self.changed_since_last_push((project, task), read, this_run)
                    .await
            }
            _ => Ok(true),
        };
        let language = spec.content.language_for(spec.page.title.as_str());
        Some(judge(conditions, &read.charts(spec), changed, language))
    }

    /// Whether the page differs from what the task's last push (scheduled or manual) showed;
    /// true when there was none.
    async fn changed_since_last_push(
        &self,
        (project, task): (&ProjectId, &TaskId),
        read: &PageRead,
        this_run: Option<&RunId>,
    ) -> Result<bool, String> {
        let digest = page_digest(&read.figures);
        let filter = RunFilter {
            task: Some(*task),
            ..RunFilter::default()
        };
        let page = self
            .ledger
            .runs
            .list_runs(project, &filter, None, RUNS_LOOKED_AT, self.now())
            .await
            .map_err(|err| err.to_string())?;
        Ok(page
            .items
            .iter()
            .filter(|earlier| Some(&earlier.id) != this_run && earlier.kind != RunKind::Test)
            .find(|earlier| pushed(&earlier.outcome) && earlier.page_digest.is_some())
            .is_none_or(|earlier| earlier.page_digest.as_deref() != Some(digest.as_str())))
    }
}

/// Whether a run's push went out (or is going out).
fn pushed(outcome: &RunOutcome) -> bool {
    matches!(
        outcome,
        RunOutcome::Sending | RunOutcome::Delivered | RunOutcome::PartiallyDelivered
    )
}
