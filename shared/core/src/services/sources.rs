//! Report sources: admin-managed addresses and sign-ins of BI tools and APIs that charts read. The
//! sources live in the settings document (a deployment has a few), their secrets in the secret
//! store; a read gets both through [`SourceDirectory::context`].
use crate::domain::auth::Principal;
use crate::domain::ids::ProjectId;
use crate::domain::source::{Source, SourceName, SourceQuery};
use crate::domain::task::{Chart, ChartOrigin, Page};
use crate::ports::{ReadContext, SecretStore, SettingsStore, SourceAccess};
use crate::services::settings::SecretChange;
use crate::{FieldError, ServiceError};
use secrecy::SecretString;
use std::sync::Arc;

/// The most sources a deployment keeps (they share the settings document).
pub const MAX_SOURCES: usize = 100;

/// Reads sources and their secrets for chart reads and checks.
#[derive(Clone)]
pub struct SourceDirectory {
    pub(super) settings: Arc<dyn SettingsStore>,
    secrets: Arc<dyn SecretStore>,
}

impl SourceDirectory {
    pub fn new(settings: Arc<dyn SettingsStore>, secrets: Arc<dyn SecretStore>) -> Self {
        Self { settings, secrets }
    }

    async fn all(&self) -> Result<Vec<Source>, ServiceError> {
        Ok(self.settings.get_settings().await?.sources)
    }

    /// What reading `charts` for `project` at `at` needs: the sources they name that the project
    /// may use, with their secrets. One it may not use (or that is gone) is left out: that chart is
    /// then an access error saying so, like any chart that cannot be read.
    pub async fn context(
        &self,
        project: &ProjectId,
        charts: &[Chart],
        at: chrono::DateTime<chrono_tz::Tz>,
    ) -> Result<ReadContext, ServiceError> {
        let mut context = ReadContext::at(at);
        if charts.iter().all(|c| c.source().is_none()) {
            return Ok(context);
        }
        for source in self.all().await? {
            let used = charts.iter().any(|c| c.source() == Some(&source.name));
            if !used || !source.projects.allows(project) {
                continue;
            }
            let secret = self
                .secrets
                .get_secret(&Source::secret_name(&source.name))
                .await
                .map_err(|e| ServiceError::unavailable("the secret store", e))?;
            context
                .sources
                .insert(source.name.clone(), SourceAccess { source, secret });
        }
        Ok(context)
    }

    /// Checks that every chart of `page` names a source that exists, that `project` may use, and
    /// that answers its query: a 400 naming `page.charts[i].source` or `.query` otherwise.
    pub async fn check_page(&self, project: &ProjectId, page: &Page) -> Result<(), ServiceError> {
        if page.charts.iter().all(|c| c.source().is_none()) {
            return Ok(());
        }
        let sources = self.all().await?;
        for (i, chart) in page.charts.iter().enumerate() {
            let ChartOrigin::Source { source, query } = &chart.origin else {
                continue;
            };
            let field = |name: &str| format!("page.charts[{i}].{name}");
            let Some(found) = sources
                .iter()
                .find(|s| &s.name == source && s.projects.allows(project))
            else {
                return Err(FieldError::new(
                    field("source"),
                    format!("there is no source '{source}' this project may use"),
                )
                .into());
            };
            query
                .suits(found.kind)
                .map_err(|message| FieldError::new(field("query"), message))?;
        }
        Ok(())
    }
}

/// The sources a page's charts name.
pub fn sources_of(page: &Page) -> std::collections::BTreeSet<SourceName> {
    page.charts
        .iter()
        .filter_map(|c| c.source().cloned())
        .collect()
}

/// A source as the API shows it: whether its secret is set, never the secret.
#[derive(Debug, Clone)]
pub struct SourceView {
    pub source: Source,
    pub secret_set: bool,
}

/// The admin's source settings, and what editors may see of them.
#[derive(Clone)]
pub struct SourceService {
    directory: SourceDirectory,
    settings: Arc<dyn SettingsStore>,
    secrets: Arc<dyn SecretStore>,
    tasks: Arc<dyn crate::ports::TaskStore>,
    charts: Arc<dyn crate::ports::ChartSource>,
    clock: Arc<dyn crate::clock::Clock>,
}

/// What a source answered to a test read.
#[derive(Debug, Clone)]
pub struct SourceTest {
    pub reading: crate::ports::ChartReading,
}

impl SourceService {
    pub fn new(
        settings: Arc<dyn SettingsStore>,
        secrets: Arc<dyn SecretStore>,
        tasks: Arc<dyn crate::ports::TaskStore>,
        charts: Arc<dyn crate::ports::ChartSource>,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Self {
        Self {
            directory: SourceDirectory::new(settings.clone(), secrets.clone()),
            settings,
            secrets,
            tasks,
            charts,
            clock,
        }
    }

    /// Refuses a caller who may not test, browse or import `name` (before its request is read):
    /// 404 for a source its project may not use, 403 for a viewer.
    pub async fn authorize_use(
        &self,
        who: &Principal,
        name: &SourceName,
    ) -> Result<Source, ServiceError> {
        let source = self.get(who, name).await?.source;
        if let Principal::Member { project, .. } = who {
            who.check_write(project)?;
        }
        Ok(source)
    }

    /// The source as a reader uses it, for an admin or an editor whose project may use it.
    async fn access_for(
        &self,
        who: &Principal,
        name: &SourceName,
    ) -> Result<SourceAccess, ServiceError> {
        let source = self.authorize_use(who, name).await?;
        let secret = self
            .secrets
            .get_secret(&Source::secret_name(name))
            .await
            .map_err(|e| ServiceError::unavailable("the secret store", e))?;
        Ok(SourceAccess { source, secret })
    }

    /// What the BI holds that a chart can read, by name (so nobody types ids).
    pub async fn list_charts(
        &self,
        who: &Principal,
        name: &SourceName,
        search: &str,
    ) -> Result<Vec<CatalogChart>, ServiceError> {
        let access = self.access_for(who, name).await?;
        no_catalog(&access)?;
        let kind = access.source.kind;
        let listed = self
            .charts
            .list_source_charts(&access, search)
            .await
            .map_err(|e| catalog_failure(e, "source"))?;
        Ok(listed
            .into_iter()
            .filter_map(|chart| {
                let query = SourceQuery::of_saved(kind, chart.id)?;
                Some(CatalogChart { chart, query })
            })
            .collect())
    }

    /// A BI dashboard's charts as a draft page to paste into a task.
    pub async fn import(
        &self,
        who: &Principal,
        name: &SourceName,
        dashboard: &str,
    ) -> Result<crate::ports::DraftPage, ServiceError> {
        let access = self.access_for(who, name).await?;
        no_catalog(&access)?;
        self.charts
            .import_dashboard(&access, dashboard)
            .await
            .map_err(|e| catalog_failure(e, "dashboard"))
    }

    /// Reads `query` from the source once, now, as a chart would (its first rows kept). An admin
    /// may test any source, a project's editor those its project may use.
    pub async fn test(
        &self,
        who: &Principal,
        name: &SourceName,
        query: crate::domain::source::SourceQuery,
        rows: crate::domain::text::RowsPointer,
    ) -> Result<SourceTest, ServiceError> {
        let access = self.access_for(who, name).await?;
        query
            .suits(access.source.kind)
            .map_err(|message| FieldError::new("query", message))?;
        let chart = Chart {
            name: crate::domain::text::ChartName::parse(format!("{name} test"))
                .map_err(|m| FieldError::new("source", m))?,
            origin: ChartOrigin::Source {
                source: name.clone(),
                query,
            },
            rows,
            display: crate::domain::report::Display::Table,
            fields: Default::default(),
            max_rows: crate::domain::report::MaxRows::parse(5)
                .map_err(|m| FieldError::new("rows", m))?,
        };
        let mut context = ReadContext::at(self.clock.now().with_timezone(&chrono_tz::Tz::UTC));
        context.sources.insert(name.clone(), access);
        let reading = self
            .charts
            .check_charts(std::slice::from_ref(&chart), &context)
            .await
            .into_iter()
            .next()
            .ok_or_else(|| ServiceError::unavailable("the chart reader", "no answer"))?;
        Ok(SourceTest { reading })
    }

    pub fn directory(&self) -> &SourceDirectory {
        &self.directory
    }

    async fn secret_set(&self, name: &SourceName) -> Result<bool, ServiceError> {
        Ok(self
            .secrets
            .get_secret(&Source::secret_name(name))
            .await
            .map_err(|e| ServiceError::unavailable("the secret store", e))?
            .is_some())
    }

    /// Every source the caller may see: an admin all, a member those of its project.
    pub async fn list(&self, who: &Principal) -> Result<Vec<SourceView>, ServiceError> {
        let mut out = Vec::new();
        for source in self.directory.all().await? {
            if visible(who, &source) {
                let secret_set = self.secret_set(&source.name).await?;
                out.push(SourceView { source, secret_set });
            }
        }
        Ok(out)
    }

    /// One source, if the caller may see it (404 otherwise, as if it did not exist).
    pub async fn get(
        &self,
        who: &Principal,
        name: &SourceName,
    ) -> Result<SourceView, ServiceError> {
        let source = self
            .directory
            .all()
            .await?
            .into_iter()
            .find(|s| &s.name == name && visible(who, s))
            .ok_or(ServiceError::NotFound("source"))?;
        let secret_set = self.secret_set(&source.name).await?;
        Ok(SourceView { source, secret_set })
    }

    /// Creates or replaces a source; a secret omitted keeps the stored one (if the way of signing
    /// in still takes one of the same kind).
    pub async fn put(
        &self,
        who: &Principal,
        source: Source,
        secret: SecretChange,
    ) -> Result<SourceView, ServiceError> {
        who.check_admin()?;
        let field = source.auth.secret_field();
        let secret_name = Source::secret_name(&source.name);
        match (&secret, field) {
            (SecretChange::Set(value), Some(_)) => {
                if secrecy::ExposeSecret::expose_secret(value).is_empty() {
                    return Err(FieldError::new(
                        format!("auth.{}", field.unwrap_or("secret")),
                        "must not be empty",
                    )
                    .into());
                }
                self.secrets
                    .put_secret(&secret_name, value)
                    .await
                    .map_err(|e| ServiceError::unavailable("the secret store", e))?;
            }
            (SecretChange::Keep, Some(field)) => {
                let previous = self
                    .directory
                    .all()
                    .await?
                    .into_iter()
                    .find(|s| s.name == source.name);
                // The stored secret stays only where it was given: the same way of signing in
                // to the same scheme, host and port (never re-aimed at another server).
                let origin = |url: &crate::domain::text::HttpUrl| {
                    url::Url::parse(url.as_str())
                        .map(|u| u.origin().ascii_serialization())
                        .ok()
                };
                let same = previous.as_ref().is_some_and(|p| {
                    p.auth.type_name() == source.auth.type_name()
                        && origin(&p.base_url) == origin(&source.base_url)
                });
                if !same || !self.secret_set(&source.name).await? {
                    return Err(FieldError::new(
                        format!("auth.{field}"),
                        "is required when a source is added, or its address or way of signing in changes",
                    )
                    .into());
                }
            }
            _ => {}
        }
        self.change(|record| {
            let sources = &mut record.sources;
            sources.retain(|s| s.name != source.name);
            if sources.len() >= MAX_SOURCES {
                return Err(FieldError::new(
                    "source",
                    format!("at most {MAX_SOURCES} sources can be kept"),
                )
                .into());
            }
            sources.push(source.clone());
            sources.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(())
        })
        .await?;
        tracing::info!(source = %source.name, kind = source.kind.as_str(), "source stored");
        self.get(who, &source.name).await
    }

    /// Deletes a source that no task uses (409 naming those that do).
    pub async fn delete(&self, who: &Principal, name: &SourceName) -> Result<(), ServiceError> {
        who.check_admin()?;
        let source = self.get(who, name).await?.source;
        let users = self.users(&source).await?;
        if !users.is_empty() {
            return Err(ServiceError::Conflict(format!(
                "tasks still read charts from '{name}': {}; change them first",
                users.join(", ")
            )));
        }
        self.change(|record| {
            record.sources.retain(|s| &s.name != name);
            Ok(())
        })
        .await?;
        // Then look again: a task stored meanwhile is seen now (and the source comes back), or
        // its writer finds the source gone after its write and takes the write back
        // (`SourceDirectory::still_there`): never both a deletion and a task that names it.
        let users = self.users(&source).await?;
        if !users.is_empty() {
            self.change(|record| {
                if !record.sources.iter().any(|s| s.name == source.name) {
                    record.sources.push(source.clone());
                    record.sources.sort_by(|a, b| a.name.cmp(&b.name));
                }
                Ok(())
            })
            .await?;
            return Err(ServiceError::Conflict(format!(
                "tasks began to read charts from '{name}' while it was being deleted: {}; change them first",
                users.join(", ")
            )));
        }
        // The index's entries for it go with it (they named no task that reads it).
        self.change(|record| {
            record.source_users.remove(name);
            Ok(())
        })
        .await?;
        // The secret stays unreadable through the API; a new source of this name needs its own.
        let _ = self
            .secrets
            .put_secret(&Source::secret_name(name), &SecretString::from("deleted"))
            .await;
        Ok(())
    }

    /// The tasks (`project/task`) whose charts name `source`: those the use index lists that still
    /// do (an entry a task changed since, or a write that failed, left behind is passed over).
    async fn users(&self, source: &Source) -> Result<Vec<String>, ServiceError> {
        let listed = self
            .settings
            .get_settings()
            .await?
            .source_users
            .get(&source.name)
            .cloned()
            .unwrap_or_default();
        let mut users = Vec::new();
        for entry in listed {
            let parsed = entry.split_once('/').and_then(|(project, task)| {
                Some((
                    ProjectId::parse(project).ok()?,
                    crate::domain::ids::TaskId::parse(task).ok()?,
                ))
            });
            let Some((project, task)) = parsed else {
                continue;
            };
            let uses = self
                .tasks
                .get_task(&project, &task)
                .await?
                .is_some_and(|t| {
                    t.spec
                        .page
                        .charts
                        .iter()
                        .any(|c| c.source() == Some(&source.name))
                });
            if uses {
                users.push(entry);
            }
        }
        Ok(users)
    }

    /// Applies `change` to the settings document (its sources and their use index), retried
    /// when another write came between.
    async fn change(
        &self,
        change: impl Fn(&mut crate::ports::SettingsRecord) -> Result<(), ServiceError>,
    ) -> Result<(), ServiceError> {
        let changed = |record: &mut crate::ports::SettingsRecord| change(record).map(|()| true);
        super::settings::change_settings(self.settings.as_ref(), 5, "this write", changed).await?;
        Ok(())
    }
}

/// A source's answer as the caller's to act on: what it refused is named at `field` in its words
/// (422); what did not answer is the source's to retry (502).
fn catalog_failure(err: crate::ports::CatalogError, field: &str) -> ServiceError {
    match err {
        crate::ports::CatalogError::Answered(words) => ServiceError::FailedPrecondition {
            field: Some(field.to_owned()),
            message: words,
        },
        crate::ports::CatalogError::Unreachable(words) => ServiceError::Upstream {
            what: "the source",
            message: words,
        },
    }
}

/// A chart the BI holds, with the query a task's chart gives to read it.
#[derive(Debug, Clone)]
pub struct CatalogChart {
    pub chart: crate::ports::SourceChart,
    pub query: SourceQuery,
}

/// An http source is an API, not a BI: it has no charts or dashboards to list.
fn no_catalog(access: &SourceAccess) -> Result<(), ServiceError> {
    if access.source.kind == crate::domain::source::SourceKind::Http {
        return Err(ServiceError::FailedPrecondition {
            field: Some("source".into()),
            message: "an http source has no charts or dashboards to list: name its paths in the charts' queries".into(),
        });
    }
    Ok(())
}

/// An admin sees every source; a project member the sources its project may use.
fn visible(who: &Principal, source: &Source) -> bool {
    match who {
        Principal::Admin => true,
        Principal::Member { project, .. } => source.projects.allows(project),
    }
}
