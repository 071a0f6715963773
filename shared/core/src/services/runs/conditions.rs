//! A run's conditions judged against what it read, with the page's digest compared to the last
//! push's when a rule asks whether the page changed.
use super::*;
use crate::domain::conditions::Rule;
use crate::domain::run::OutcomeName;
use crate::domain::task::TaskSpec;
use crate::ports::RunFilter;
use crate::report::conditions::{Verdict, judge, page_digest};

/// How many of a task's latest delivered runs are looked through for its last push (test pushes,
/// to the owner only, are passed over).
const RUNS_LOOKED_AT: usize = 10;

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
            None if asks_changed => {
                Err("a task not yet saved has no last push to compare with".to_owned())
            }
            _ => Ok(true),
        };
        let language = spec.content.language_for(spec.page.title.as_str());
        Some(judge(conditions, &read.charts(spec), changed, language))
    }

    /// Whether the page differs from what the task's last push (scheduled or manual, delivered
    /// to some or all) showed; true when there was none. Runs skipped or paused in between are
    /// not read: the records are listed by outcome, newest first.
    async fn changed_since_last_push(
        &self,
        (project, task): (&ProjectId, &TaskId),
        read: &PageRead,
        this_run: Option<&RunId>,
    ) -> Result<bool, String> {
        let digest = page_digest(&read.figures);
        let mut last: Option<PushRun> = None;
        for outcome in [OutcomeName::Delivered, OutcomeName::PartiallyDelivered] {
            let filter = RunFilter {
                task: Some(*task),
                outcome: Some(outcome),
                ..RunFilter::default()
            };
            let page = self
                .ledger
                .runs
                .list_runs(project, &filter, None, RUNS_LOOKED_AT, self.now())
                .await
                .map_err(|err| err.to_string())?;
            let found = page.items.into_iter().find(|earlier| {
                Some(&earlier.id) != this_run
                    && earlier.kind != RunKind::Test
                    && earlier.page_digest.is_some()
            });
            if let Some(found) = found
                && last
                    .as_ref()
                    .is_none_or(|l| found.started_at > l.started_at)
            {
                last = Some(found);
            }
        }
        Ok(last.is_none_or(|earlier| earlier.page_digest.as_deref() != Some(digest.as_str())))
    }
}
