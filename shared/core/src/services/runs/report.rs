//! A task's report read now: each chart's check and figure, the page snapshot, and the message
//! for a channel. The push and the preview both go through [`Reporter`], so a preview shows
//! exactly what a push sends.
use crate::domain::attachment::Sheet;
use crate::domain::contact::Language;
use crate::domain::ids::ProjectId;
use crate::domain::image::{Image, ImageRef};
use crate::domain::report::{ChartOutcome, ChartReport, ChartRows, Figure, PageReport};
use crate::domain::run::{ChartCheck, ChartState, RunKind};
use crate::domain::task::{Channel, Chart as ChartSpec, TaskSpec, Template};
use crate::ports::{ChartReading, ChartSource, ImageStore, PictureRenderer, StoreError};
use crate::report::facts::ReadChart;
use crate::report::figures::figure_of;
use crate::report::render::{
    GroupBody, PushView, RenderError, RenderedPush, format_run_at, render_group, render_push,
};
use crate::report::variables;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Why a run's page snapshot is missing (the run goes on without it and says why).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the picture renderer stopped: {0}")]
    Stopped(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Drawing(#[from] crate::ports::PictureError),
    #[error("the snapshot could not be stored: {0}")]
    Storing(#[source] StoreError),
}

/// The snapshot's name: its `cid:` in mail and its file name in records.
pub const SNAPSHOT: &str = "snapshot";

/// What reading a task's page found.
#[derive(Debug, Clone)]
pub struct PageRead {
    pub checks: Vec<ChartCheck>,
    pub figures: Vec<Option<Figure>>,
    /// Each chart's first row's numbers, by key (what conditions and message variables read).
    pub first_rows: Vec<Vec<(String, f64)>>,
    /// The task's texts with their message variables filled for this run.
    pub texts: Texts,
    /// The attached charts' rows, for those read (`content.attachments`).
    pub sheets: Vec<Sheet>,
}

/// A task's title, beginning and ending as a run's message shows them.
#[derive(Debug, Clone, Default)]
pub struct Texts {
    pub title: String,
    pub beginning: Option<String>,
    pub ending: Option<String>,
}

impl Texts {
    /// `spec`'s texts filled for a run at `at` (in the task's zone) from what `read` found.
    pub fn filled(spec: &TaskSpec, read: &PageRead, at: DateTime<chrono_tz::Tz>) -> Self {
        let charts = read.charts(spec);
        let language = spec.content.language_for(spec.page.title.as_str());
        let fill = |text: &str| variables::fill(text, at, &charts, language);
        Self {
            title: fill(spec.page.title.as_str()),
            beginning: spec.content.beginning.as_ref().map(|t| fill(t.as_str())),
            ending: spec.content.ending.as_ref().map(|t| fill(t.as_str())),
        }
    }
}

impl PageRead {
    /// The page's charts as conditions and message variables read them.
    pub fn charts<'a>(&'a self, spec: &'a TaskSpec) -> Vec<ReadChart<'a>> {
        spec.page
            .charts
            .iter()
            .zip(&self.checks)
            .zip(self.figures.iter().zip(&self.first_rows))
            .map(|((chart, check), (figure, first_row))| ReadChart {
                name: &chart.name,
                fields: &chart.fields,
                state: &check.state,
                figure: figure.as_ref(),
                first_row,
            })
            .collect()
    }
}

/// The numbers of the rows' first row, by key.
fn first_row_numbers(rows: &ChartRows) -> Vec<(String, f64)> {
    let Some(first) = rows.head.first().or(rows.sample.first()) else {
        return Vec::new();
    };
    rows.keys
        .iter()
        .zip(first)
        .filter_map(|(key, cell)| Some((key.clone(), cell.as_ref()?.number()?)))
        .collect()
}

/// A report rendered for one channel.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub message: Result<RenderedPush, RenderError>,
    /// The stored snapshot, when the channel shows it.
    pub snapshot: Option<ImageRef>,
    /// Why there is no snapshot although the channel shows one (drawing or storing failed).
    pub snapshot_problem: Option<String>,
}

/// Reads pages, draws snapshots and renders messages.
#[derive(Clone)]
pub struct Reporter {
    pub charts: Arc<dyn ChartSource>,
    pub sources: crate::services::sources::SourceDirectory,
    pub pictures: Arc<dyn PictureRenderer>,
    pub images: Arc<dyn ImageStore>,
    pub sheets: Arc<dyn crate::ports::SheetWriter>,
}

/// Whether `channel` with `template` shows pictures: WeCom and DingTalk always (an image message of
/// its own, and a DingTalk group's picture link), Feishu cards and posts, HTML mail.
pub fn shows_pictures(channel: Channel, template: Template) -> bool {
    matches!(channel, Channel::Wecom | Channel::Dingtalk) || template != Template::Text
}

/// Each chart's figure from its rows; a chart whose rows do not fit its display gets a shape error.
pub fn figures_of(spec: &TaskSpec, readings: Vec<ChartReading>) -> PageRead {
    let mut checks = Vec::with_capacity(readings.len());
    let mut figures = Vec::with_capacity(readings.len());
    let mut first_rows = Vec::with_capacity(readings.len());
    let mut sheets = Vec::new();
    for (reading, chart) in readings.into_iter().zip(&spec.page.charts) {
        let mut check = reading.check;
        first_rows.push(
            reading
                .rows
                .as_ref()
                .map(first_row_numbers)
                .unwrap_or_default(),
        );
        let rows = reading.rows;
        let figure = match (&check.state, &rows) {
            (ChartState::Ok { .. }, Some(rows)) => match figure_of(chart, rows) {
                Ok(figure) => Some(figure),
                Err(shape) => {
                    check.state = ChartState::ShapeError {
                        field: shape.field,
                        reason: shape.reason,
                    };
                    None
                }
            },
            _ => None,
        };
        if let (Some(rows), ChartState::Ok { .. }) = (rows, &check.state)
            && attached(spec, chart)
        {
            sheets.push(sheet_of(chart, rows));
        }
        checks.push(check);
        figures.push(figure);
    }
    PageRead {
        checks,
        figures,
        first_rows,
        texts: Texts::default(),
        sheets,
    }
}

fn attached(spec: &TaskSpec, chart: &ChartSpec) -> bool {
    spec.content
        .attachments
        .as_ref()
        .is_some_and(|a| a.attaches(&chart.name))
}

/// An attached chart's rows as its sheet shows them.
fn sheet_of(chart: &ChartSpec, rows: ChartRows) -> Sheet {
    let formats = rows
        .keys
        .iter()
        .map(|key| {
            chart
                .fields
                .formats
                .iter()
                .find(|(k, _)| k.as_str() == key)
                .map(|(_, f)| f.clone())
        })
        .collect();
    Sheet {
        name: chart.name.to_string(),
        keys: rows.keys,
        formats,
        rows: rows.whole,
        total: rows.total,
    }
}

/// The page as its snapshot shows it.
pub fn page_report(spec: &TaskSpec, read: &PageRead, at: &str, language: Language) -> PageReport {
    let charts = read
        .checks
        .iter()
        .zip(&read.figures)
        .map(|(check, figure)| ChartReport {
            name: check.name.to_string(),
            outcome: match (&check.state, figure) {
                (_, Some(figure)) => ChartOutcome::Shown(figure.clone()),
                (ChartState::Empty, _) => ChartOutcome::Empty,
                (state, None) => ChartOutcome::Unreadable(
                    state.problem().unwrap_or_else(|| "no figure".to_owned()),
                ),
            },
        })
        .collect();
    PageReport {
        title: read.texts.title.clone(),
        subtitle: format!("{at} · {}", spec.name),
        language,
        charts,
    }
}

/// Which run a message is for: its kind, its time and, for test and manual runs, a short
/// reference to the run (shown with the time, so two such runs never send identical messages).
#[derive(Debug, Clone, Copy)]
pub struct RunStamp<'a> {
    pub kind: RunKind,
    pub at: DateTime<Utc>,
    pub reference: Option<&'a str>,
}

impl Reporter {
    /// Reads the page's charts (within their own deadlines, or `within` when it is sooner: a
    /// chart not read by then is an access error saying so).
    /// Date parameters are taken at `at` in the task's zone (the run's scheduled time).
    pub async fn read(
        &self,
        project: &crate::domain::ids::ProjectId,
        spec: &TaskSpec,
        at: DateTime<Utc>,
        within: Option<std::time::Duration>,
    ) -> PageRead {
        let at = at.with_timezone(&spec.schedule.timezone());
        let mut context = match self.sources.context(project, &spec.page.charts, at).await {
            Ok(context) => context,
            Err(err) => {
                // Charts naming a source are then access errors saying it could not be looked up.
                tracing::warn!(error = %err, "the report sources could not be read");
                crate::ports::ReadContext::at(at)
            }
        };
        context.within = within;
        if let Some(attachments) = &spec.content.attachments {
            let attached: Vec<_> = spec
                .page
                .charts
                .iter()
                .filter(|c| attachments.attaches(&c.name))
                .collect();
            let each = attachments.rows_each(attached.len());
            context.attached = attached
                .into_iter()
                .map(|c| (c.name.clone(), each))
                .collect();
        }
        let checking = self.charts.check_charts(&spec.page.charts, &context);
        let readings = match within {
            None => checking.await,
            // The reader ends each chart by `within` itself; this only guards against one that
            // does not (every chart is then unread).
            Some(within) => match tokio::time::timeout(within + READER_GRACE, checking).await {
                Ok(readings) => readings,
                Err(_) => not_read_within(spec, within),
            },
        };
        let mut read = figures_of(spec, readings);
        read.texts = Texts::filled(spec, &read, at);
        read
    }

    /// Draws the page snapshot off the async workers.
    pub async fn draw(&self, page: PageReport) -> Result<Image, SnapshotError> {
        let pictures = Arc::clone(&self.pictures);
        Ok(tokio::task::spawn_blocking(move || pictures.page_snapshot(&page)).await??)
    }

    /// Draws `spec`'s page as `read` found it for `stamp`'s run, and stores the picture for
    /// `project` until `expires_at`. The push, the preview and the empty-data alarm all draw it
    /// here.
    pub async fn snapshot(
        &self,
        project: &ProjectId,
        spec: &TaskSpec,
        read: &PageRead,
        stamp: RunStamp<'_>,
        expires_at: DateTime<Utc>,
    ) -> Result<ImageRef, SnapshotError> {
        let language = spec.content.language_for(spec.page.title.as_str());
        let shown_at = format_run_at(
            &stamp.at.with_timezone(&spec.schedule.timezone()),
            stamp.kind,
            stamp.reference,
        );
        let image = self
            .draw(page_report(spec, read, &shown_at, language))
            .await?;
        self.images
            .put_image(project, &image, expires_at)
            .await
            .map_err(SnapshotError::Storing)?;
        Ok(image.reference(project, SNAPSHOT))
    }

    /// Renders `spec`'s message for `channel` and `template` from what was read, with the
    /// snapshot drawn and stored when the channel shows pictures.
    #[allow(clippy::too_many_arguments)]
    pub async fn render(
        &self,
        project: &ProjectId,
        spec: &TaskSpec,
        (channel, template): (Channel, Template),
        read: &PageRead,
        stamp: RunStamp<'_>,
        expires_at: DateTime<Utc>,
    ) -> Rendered {
        let (snapshot, snapshot_problem) =
            if spec.content.snapshot && shows_pictures(channel, template) {
                match self.snapshot(project, spec, read, stamp, expires_at).await {
                    Ok(image) => (Some(image), None),
                    Err(problem) => (None, Some(problem.to_string())),
                }
            } else {
                (None, None)
            };
        Rendered {
            message: Self::message(spec, (channel, template), read, stamp, snapshot.as_ref()),
            snapshot,
            snapshot_problem,
        }
    }

    /// Renders `spec`'s message for `channel` and `template` from what was read, with the
    /// snapshot given (drawn once per run, whatever else is rendered from it).
    pub fn message(
        spec: &TaskSpec,
        (channel, template): (Channel, Template),
        read: &PageRead,
        stamp: RunStamp<'_>,
        snapshot: Option<&ImageRef>,
    ) -> Result<RenderedPush, RenderError> {
        let snapshot = snapshot.filter(|_| channel != Channel::Wecom);
        render_push(channel, template, &view_of(spec, read, stamp, snapshot))
    }

    /// Renders the message `spec`'s group chats get through their robots (fitted to a robot's
    /// limits; the picture is a message or a link of its own). `None` on a channel without robots.
    pub fn group_message(
        spec: &TaskSpec,
        read: &PageRead,
        stamp: RunStamp<'_>,
    ) -> Result<Option<GroupBody>, RenderError> {
        let view = view_of(spec, read, stamp, None);
        render_group(spec.channel, spec.template, &view)
    }
}

/// What a push of `spec` says, from what was read.
fn view_of<'a>(
    spec: &'a TaskSpec,
    read: &'a PageRead,
    stamp: RunStamp<'a>,
    snapshot: Option<&'a ImageRef>,
) -> PushView<'a> {
    PushView {
        task_name: spec.name.as_str(),
        page_title: &read.texts.title,
        share_url: spec
            .content
            .share_link
            .then_some(spec.page.share_url.as_str()),
        beginning: read.texts.beginning.as_deref(),
        ending: read.texts.ending.as_deref(),
        charts: &read.checks,
        figures: &read.figures,
        language: spec.content.language_for(spec.page.title.as_str()),
        snapshot,
        kind: stamp.kind,
        reference: stamp.reference,
        at: stamp.at.with_timezone(&spec.schedule.timezone()),
    }
}

/// How long past `within` a chart reader may take to hand back what it read by then.
const READER_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Every chart of the page as not read within `within` (a request that must answer in time).
fn not_read_within(spec: &TaskSpec, within: std::time::Duration) -> Vec<ChartReading> {
    spec.page
        .charts
        .iter()
        .map(|chart| ChartReading {
            check: ChartCheck {
                name: chart.name.clone(),
                state: ChartState::AccessError {
                    reason: format!(
                        "the page was not read within {:.1} s, the time a test push or a preview \
                         has to answer (a scheduled run waits for each chart's own timeout)",
                        within.as_secs_f64()
                    ),
                },
                elapsed_ms: u64::try_from(within.as_millis()).unwrap_or(u64::MAX),
            },
            rows: None,
        })
        .collect()
}
