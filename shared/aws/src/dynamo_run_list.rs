//! A page of a project's runs, newest first. A filtered page reads the index of its first filter
//! (the others, and expiry, filter what it reads): filtering the project's partition read every run,
//! every ticket event's included, to fill a page — `Limit` counts items before the filter.
use crate::codec::{Item, n, parse_doc, s, unavailable};
use crate::dynamo::DynamoStore;
use crate::keys::{LIST_INDEXES, epoch, project_pk, run_sk};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use herald_core::domain::ids::ProjectId;
use herald_core::domain::run::{PushRun, RunId};
use herald_core::ports::{RunFilter, RunPage, StoreError};
use std::collections::HashMap;

enum ListError {
    // Boxed: the SDK's error is ten times the size of the other.
    Query(Box<SdkError<QueryError>>),
    Store(StoreError),
}

impl From<ListError> for StoreError {
    fn from(err: ListError) -> Self {
        match err {
            ListError::Query(err) => unavailable(*err),
            ListError::Store(err) => err,
        }
    }
}

/// DynamoDB refuses a query on an index the table does not have yet, or is still filling (a
/// stack upgraded while the index is added: CloudFormation does not wait for it).
fn index_unusable(err: &SdkError<QueryError>) -> bool {
    err.as_service_error().is_some_and(|e| {
        e.is_resource_not_found_exception() || e.code() == Some("ValidationException")
    })
}

impl DynamoStore {
    pub(crate) async fn list_project_runs(
        &self,
        project: &ProjectId,
        filter: &RunFilter,
        after: Option<&RunId>,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<RunPage, StoreError> {
        let given = [
            filter.task.map(|t| t.to_string()),
            filter.outcome.map(|o| o.as_str().to_owned()),
            filter.kind.map(|k| k.as_str().to_owned()),
        ];
        let read = |through_index| {
            let read = PageRead {
                project,
                filter,
                given: &given,
                through_index,
                now,
            };
            self.read_page(read, after, limit)
        };
        let items = match read(true).await {
            Err(ListError::Query(err))
                if given.iter().any(Option::is_some) && index_unusable(&err) =>
            {
                tracing::warn!(
                    error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err),
                    "a records-list index cannot be read (is it still being added?): filtering the project's runs"
                );
                read(false).await?
            }
            read => read?,
        };
        let mut items = items;
        let next_after = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|r| r.id)
        } else {
            None
        };
        Ok(RunPage { items, next_after })
    }

    /// Up to `limit + 1` runs of the page.
    async fn read_page(
        &self,
        read: PageRead<'_>,
        after: Option<&RunId>,
        limit: usize,
    ) -> Result<Vec<PushRun>, ListError> {
        let PageRead {
            project,
            filter,
            given,
            through_index,
            now,
        } = read;
        let low = run_sk(&filter.from.map_or_else(
            || RunId::lowest_at(DateTime::<Utc>::UNIX_EPOCH),
            RunId::lowest_at,
        ));
        let high = filter
            .to
            .map_or_else(|| "RUN#~".to_owned(), |t| run_sk(&RunId::highest_at(t)));
        let project_key = project_pk(project);
        let chosen = given
            .iter()
            .position(Option::is_some)
            .filter(|_| through_index);
        let mut conditions = vec!["expires_at > :now".to_owned()];
        let mut values: Vec<(String, AttributeValue)> = vec![
            (":low".into(), s(low)),
            (":high".into(), s(high)),
            (":now".into(), n(epoch(now))),
        ];
        let index = chosen.map(|i| &LIST_INDEXES[i]);
        let partition = match (index, chosen.and_then(|i| given[i].as_deref())) {
            (Some(index), Some(value)) => index.partition(project, value),
            _ => project_key.clone(),
        };
        values.push((":pk".into(), s(partition.clone())));
        for (i, (list, value)) in LIST_INDEXES.iter().zip(given).enumerate() {
            if let Some(value) = value.as_ref().filter(|_| Some(i) != chosen) {
                conditions.push(format!("{0} = :{0}", list.column));
                values.push((format!(":{}", list.column), s(value.clone())));
            }
        }
        let mut start = after.map(|id| {
            let mut key = HashMap::from([
                ("PK".to_owned(), s(project_key.clone())),
                ("SK".to_owned(), s(run_sk(id))),
            ]);
            if let Some(index) = index {
                key.insert(index.key.to_owned(), s(partition.clone()));
            }
            key
        });
        let partition_key = index.map_or("PK", |i| i.key);
        // The table's query answers the runs; an index's, their keys (read after, in one batch).
        let mut items = Vec::new();
        let mut keys: Vec<Item> = Vec::new();
        // A filter applies after Limit, so keep reading until a page is full or the range is done
        // (through an index only expired runs and a second filter are left out).
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(|i| i.name.to_owned()))
                .key_condition_expression(format!(
                    "{partition_key} = :pk AND SK BETWEEN :low AND :high"
                ))
                .filter_expression(conditions.join(" AND "))
                .scan_index_forward(false)
                // An index cannot be read consistently: a run that just finished may be listed
                // under its old outcome for a moment (its document, read after, is current).
                .consistent_read(index.is_none())
                .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            for (name, value) in &values {
                query = query.expression_attribute_values(name, value.clone());
            }
            let out = query
                .send()
                .await
                .map_err(|err| ListError::Query(Box::new(err)))?;
            for item in out.items() {
                if index.is_some() {
                    let key = ["PK", "SK"].map(|k| (k.to_owned(), item.get(k).cloned()));
                    keys.push(key.into_iter().filter_map(|(k, v)| Some((k, v?))).collect());
                } else {
                    items.push(parse_doc::<PushRun>(item).map_err(ListError::Store)?);
                }
            }
            match out.last_evaluated_key {
                Some(key) if items.len() + keys.len() <= limit => start = Some(key),
                _ => break,
            }
        }
        if keys.is_empty() {
            return Ok(items);
        }
        // In the index's order; a run gone since (expired) is left out.
        let order: Vec<Option<String>> = keys.iter().map(sort_key).collect();
        let mut found: HashMap<String, Item> = self
            .batch_get_items(keys)
            .await
            .map_err(ListError::Store)?
            .into_iter()
            .filter_map(|item| Some((sort_key(&item)?, item)))
            .collect();
        order
            .into_iter()
            .flatten()
            .filter_map(|sk| found.remove(&sk))
            .map(|item| parse_doc::<PushRun>(&item).map_err(ListError::Store))
            .collect()
    }
}

fn sort_key(item: &Item) -> Option<String> {
    item.get("SK").and_then(|v| v.as_s().ok()).cloned()
}

/// What one page read lists, and whether through an index.
struct PageRead<'a> {
    project: &'a ProjectId,
    filter: &'a RunFilter,
    given: &'a [Option<String>; 3],
    through_index: bool,
    now: DateTime<Utc>,
}
