//! Reading charts, and what BI sources hold.
use super::*;

/// Reads a page's charts: every chart concurrently (bounded), each with its own timeout, all within
/// an overall deadline, response sizes capped, URLs checked against the SSRF rules. Never fails as a
/// whole: each chart gets a state, in the order given.
#[async_trait]
pub trait ChartSource: Send + Sync {
    async fn check_charts(
        &self,
        charts: &[crate::domain::task::Chart],
        context: &ReadContext,
    ) -> Vec<ChartReading>;

    /// What a BI source holds that a chart can read (Superset charts, Metabase questions, Redash
    /// queries), those whose names contain `search`; at most 100.
    async fn list_source_charts(
        &self,
        access: &SourceAccess,
        search: &str,
    ) -> Result<Vec<SourceChart>, CatalogError> {
        let _ = search;
        Err(CatalogError::Answered(format!(
            "a {} source has no list of charts",
            access.source.kind.as_str()
        )))
    }

    /// A BI dashboard's charts as a draft page (title, address, one chart per BI chart).
    async fn import_dashboard(
        &self,
        access: &SourceAccess,
        dashboard: &str,
    ) -> Result<DraftPage, CatalogError> {
        let _ = dashboard;
        Err(CatalogError::Answered(format!(
            "a {} source has no dashboards",
            access.source.kind.as_str()
        )))
    }
}

/// Why a BI source did not list its charts or a dashboard, in the source's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The source answered, and not with what was asked ("Metabase: 404 Not found."): asking
    /// again the same way will not help.
    #[error("{0}")]
    Answered(String),
    /// The source could not be reached or did not answer in time: try again.
    #[error("{0}")]
    Unreachable(String),
}

/// Something a BI source holds that a chart can read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceChart {
    pub id: u64,
    pub name: String,
    /// The BI's own kind of chart (`table`, `bar`, `big_number_total`, `scalar`, `query` …).
    pub kind: String,
}

/// A dashboard as a page to paste into a task: its charts with the query that reads each and a
/// display guessed from the BI's chart type.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftPage {
    pub title: String,
    pub share_url: String,
    pub charts: Vec<DraftChart>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DraftChart {
    pub name: String,
    pub query: crate::domain::source::SourceQuery,
    pub display: crate::domain::report::Display,
}

/// What a page's read needs besides its charts: the time its date parameters are taken at (the
/// run's scheduled time in the task's zone), and the report sources its charts name, with their
/// secrets. A chart naming a source not here is an access error saying so.
#[derive(Clone)]
pub struct ReadContext {
    pub at: chrono::DateTime<chrono_tz::Tz>,
    pub sources: std::collections::BTreeMap<crate::domain::source::SourceName, SourceAccess>,
    /// The time the whole page has, when a request must answer sooner than the reader's own
    /// deadline (a test push, a preview): a chart not read by then is an access error saying so,
    /// and those read before it keep their rows.
    pub within: Option<std::time::Duration>,
    /// The charts whose rows go out as an attachment, with how many of their first rows to keep.
    pub attached: std::collections::BTreeMap<crate::domain::text::ChartName, usize>,
}

impl ReadContext {
    /// A read at `at` of charts that name no source.
    pub fn at(at: chrono::DateTime<chrono_tz::Tz>) -> Self {
        Self {
            at,
            sources: Default::default(),
            within: None,
            attached: Default::default(),
        }
    }
}

/// A report source as a reader uses it: its settings and its secret.
#[derive(Clone)]
pub struct SourceAccess {
    pub source: crate::domain::source::Source,
    pub secret: Option<secrecy::SecretString>,
}

impl std::fmt::Debug for SourceAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceAccess")
            .field("source", &self.source)
            .field("secret", &self.secret.as_ref().map(|_| "set"))
            .finish()
    }
}

/// One chart's check, and the rows kept of it (what its display shows) when it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartReading {
    pub check: crate::domain::run::ChartCheck,
    pub rows: Option<crate::domain::report::ChartRows>,
}

/// The most deliveries one [`RunWrite`] carries: with the run, its progress, its claim and its task
/// it stays within one DynamoDB transaction (100 items). A run with more writes the rest with
/// [`RunStore::add_deliveries`] and claims its time last ([`RunStore::claim_run`]).
pub const MAX_DELIVERIES_PER_RUN_WRITE: usize = 90;
