//! The SQL of a page of a project's runs, newest first, with only the filters given: `x IS NULL
//! OR` would keep SQLite from using an index, and without statistics SQLite picks the id range
//! over a filter's index, reading all the project's runs (every ticket event is a run) to fill a
//! page of, say, failed ones. So a filtered list names the index of its most selective filter.
use rusqlite::types::Value;

pub(crate) const RUN_COLUMNS: &str = "r.doc, p.pushes, p.finished, p.delivered, p.refused";
const PROGRESS_JOIN: &str = "LEFT JOIN run_progress p ON p.project = r.project AND p.run_id = r.id";
pub(crate) const RUN_FROM: &str =
    "runs r LEFT JOIN run_progress p ON p.project = r.project AND p.run_id = r.id";

/// A page of a project's runs: ids in `lower..upper` (upper inclusive on the first page), not
/// expired at `now`, matching each filter given, at most `fetch`.
pub(crate) struct ListQuery {
    pub project: String,
    pub upper: String,
    pub inclusive_upper: bool,
    pub lower: String,
    pub now: String,
    pub task: Option<String>,
    pub outcome: Option<String>,
    pub kind: Option<String>,
    pub fetch: i64,
}

impl ListQuery {
    /// The statement and its parameters.
    pub(crate) fn sql(self) -> (String, Vec<Value>) {
        // A task's runs are fewest, then one outcome's (failed, sending), then one kind's.
        let index = if self.task.is_some() {
            " INDEXED BY runs_by_task"
        } else if self.outcome.is_some() {
            " INDEXED BY runs_by_outcome"
        } else if self.kind.is_some() {
            " INDEXED BY runs_by_kind"
        } else {
            ""
        };
        let mut sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r{index} {PROGRESS_JOIN}
             WHERE r.project = ?1 AND r.id {} ?2 AND r.id >= ?3 AND r.expires_at > ?4",
            if self.inclusive_upper { "<=" } else { "<" }
        );
        let mut values: Vec<Value> = [self.project, self.upper, self.lower, self.now]
            .map(Value::Text)
            .into();
        for (column, value) in [
            ("task_id", self.task),
            ("outcome", self.outcome),
            ("kind", self.kind),
        ] {
            if let Some(value) = value {
                values.push(Value::Text(value));
                sql.push_str(&format!(" AND r.{column} = ?{}", values.len()));
            }
        }
        values.push(Value::Integer(self.fetch));
        sql.push_str(&format!(" ORDER BY r.id DESC LIMIT ?{}", values.len()));
        (sql, values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(task: bool, outcome: bool, kind: bool) -> ListQuery {
        let given = |on: bool, value: &str| on.then(|| value.to_owned());
        ListQuery {
            project: "p".into(),
            upper: "~".into(),
            inclusive_upper: true,
            lower: String::new(),
            now: "2026".into(),
            task: given(task, "t"),
            outcome: given(outcome, "failed"),
            kind: given(kind, "ticket"),
            fetch: 51,
        }
    }

    /// How SQLite reads the runs table (its first step) for `q`, and sorts, if it does.
    fn plan(q: ListQuery) -> String {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::db::SCHEMA).unwrap();
        let (sql, values) = q.sql();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), |row| {
                row.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn each_filter_is_read_through_its_index_newest_first_without_sorting() {
        for (task, outcome, kind, index) in [
            (true, false, false, "runs_by_task"),
            (true, true, true, "runs_by_task"),
            (false, true, false, "runs_by_outcome"),
            (false, true, true, "runs_by_outcome"),
            (false, false, true, "runs_by_kind"),
        ] {
            let plan = plan(query(task, outcome, kind));
            assert!(
                plan.starts_with(&format!("SEARCH r USING INDEX {index} (project=? AND ")),
                "{task} {outcome} {kind}: {plan}"
            );
            // The index's own order is the page's order: no temporary B-tree to sort.
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
        // Without a filter the project's id range is the page.
        let plain = plan(query(false, false, false));
        assert!(
            plain.starts_with("SEARCH r USING PRIMARY KEY (project=? AND id"),
            "{plain}"
        );
    }

    #[test]
    fn only_the_filters_given_are_in_the_statement() {
        let (sql, values) = query(false, true, false).sql();
        assert!(
            sql.contains("r.outcome = ?5") && !sql.contains("task_id") && !sql.contains("kind =")
        );
        assert_eq!(values.len(), 6);
        assert!(sql.ends_with("ORDER BY r.id DESC LIMIT ?6"), "{sql}");
    }
}
