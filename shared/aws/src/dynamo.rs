//! Tasks and keys in one DynamoDB table (`PK`/`SK`); conditional writes give optimistic concurrency.
use crate::codec::{Item, is_condition_failed, n, parse_doc, query_up_to, s, to_doc, unavailable};
use crate::keys::{KEYS_PK, key_pk, project_pk, task_sk};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use herald_core::domain::auth::ApiKey;
use herald_core::domain::ids::{KeyId, ProjectId, TaskId};
use herald_core::domain::task::PushTask;
use herald_core::ports::{KeyPage, KeyStore, Page, StoreError, TaskStore};
use std::collections::HashMap;

/// The DynamoDB store. Holds one SDK client, created once per process.
#[derive(Clone)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: String,
    /// How long deliveries (and the contents they name) are kept: the record retention.
    pub(crate) delivery_retention: chrono::Duration,
    pub(crate) recent_contents: std::sync::Arc<crate::recent_contents::RecentContents>,
}

pub(crate) fn task_item(task: &PushTask) -> Result<Item, StoreError> {
    Ok(HashMap::from([
        ("PK".to_owned(), s(project_pk(&task.project))),
        ("SK".to_owned(), s(task_sk(&task.id))),
        ("kind".to_owned(), s("task")),
        ("project".to_owned(), s(task.project.to_string())),
        ("task_id".to_owned(), s(task.id.to_string())),
        ("version".to_owned(), n(task.version)),
        ("state".to_owned(), s(task.state.as_str())),
        ("created_at".to_owned(), s(task.created_at.to_rfc3339())),
        ("updated_at".to_owned(), s(task.updated_at.to_rfc3339())),
        ("doc".to_owned(), s(to_doc(task)?)),
    ]))
}

impl DynamoStore {
    /// Up to `limit + 1` items of GSI1's partition `pk` after the sort key `after`, in order (one
    /// extra item tells if a next page exists). A query page may stop early at 1 MB, so this
    /// reads on until there are enough items or no more.
    pub(crate) async fn gsi1_after(
        &self,
        pk: &str,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(true);
        let query = match &after {
            Some(after) => query
                .key_condition_expression("GSI1PK = :pk AND GSI1SK > :after")
                .expression_attribute_values(":after", s(after.clone())),
            None => query.key_condition_expression("GSI1PK = :pk"),
        };
        query_up_to(query, None, limit.saturating_add(1)).await
    }

    /// Writes `item` if `condition` holds: `Ok(false)` when it does not (nothing written).
    pub(crate) async fn put_if(
        &self,
        item: Item,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<bool, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        for (name, value) in values {
            put = put.expression_attribute_values(*name, value.clone());
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failed(&err) => Ok(false),
            Err(err) => Err(unavailable(err)),
        }
    }

    /// One item by key, read consistently.
    pub(crate) async fn get_item(
        &self,
        pk: AttributeValue,
        sk: AttributeValue,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", pk)
            .key("SK", sk)
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            delivery_retention: chrono::Duration::days(90),
            recent_contents: Default::default(),
        }
    }

    /// Keeps deliveries as long as run records (`RecordRetentionDays`), not the default 90 days.
    pub fn keeping_deliveries_for(mut self, retention: chrono::Duration) -> Self {
        self.delivery_retention = retention;
        self
    }

    /// Creates the table as `template.yaml` declares it (for local tooling and tests).
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(unavailable)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(unavailable)
        };
        let gsi = |name: &str, hash: &str, range: &str, projection: Projection| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash)?)
                .key_schema(key(range, KeyType::Range)?)
                .projection(projection)
                .build()
                .map_err(unavailable)
        };
        let all = || {
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build()
        };
        // The list indexes keep keys and what a list filters on, not the run's document.
        let listed = || {
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .set_non_key_attributes(Some(
                    crate::keys::LISTED_ATTRIBUTES.map(str::to_owned).to_vec(),
                ))
                .build()
        };
        // What is due (deliveries to try, runs to check): keys only, the time in the sort key.
        let keys_only = || {
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build()
        };
        let created = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("PK")?)
            .attribute_definitions(attr("SK")?)
            .attribute_definitions(attr("GSI1PK")?)
            .attribute_definitions(attr("GSI1SK")?)
            .attribute_definitions(attr("RunsByTaskPK")?)
            .attribute_definitions(attr("RunsByOutcomePK")?)
            .attribute_definitions(attr("RunsByKindPK")?)
            .attribute_definitions(attr("DuePK")?)
            .attribute_definitions(attr("DueSK")?)
            .key_schema(key("PK", KeyType::Hash)?)
            .key_schema(key("SK", KeyType::Range)?)
            .global_secondary_indexes(gsi("GSI1", "GSI1PK", "GSI1SK", all())?)
            // A project's runs by task, outcome or kind (dynamo_run_list.rs), newest first.
            .global_secondary_indexes(gsi("RunsByTask", "RunsByTaskPK", "SK", listed())?)
            .global_secondary_indexes(gsi("RunsByOutcome", "RunsByOutcomePK", "SK", listed())?)
            .global_secondary_indexes(gsi("RunsByKind", "RunsByKindPK", "SK", listed())?)
            .global_secondary_indexes(gsi("Due", "DuePK", "DueSK", keys_only())?)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .map_err(unavailable)?,
            )
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                return Ok(());
            }
            Err(err) => return Err(unavailable(err)),
        }
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("expires_at")
                    .build()
                    .map_err(unavailable)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn item_exists(&self, pk: String, sk: String) -> Result<bool, StoreError> {
        let item = self.get_item(s(pk), s(sk)).await?;
        Ok(item.is_some())
    }

    /// After a lost conditional write: `Conflict` if the item is there (another version), else `NotFound`.
    async fn lost_condition(&self, pk: String, sk: String) -> StoreError {
        match self.item_exists(pk, sk).await {
            Ok(true) => StoreError::Conflict,
            Ok(false) => StoreError::NotFound,
            Err(err) => err,
        }
    }
}

#[async_trait]
impl TaskStore for DynamoStore {
    async fn insert_task(&self, task: &PushTask) -> Result<(), StoreError> {
        match self
            .put_if(task_item(task)?, "attribute_not_exists(PK)", &[])
            .await?
        {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }

    async fn get_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
    ) -> Result<Option<PushTask>, StoreError> {
        let item = self
            .get_item(s(project_pk(project)), s(task_sk(id)))
            .await?;
        item.as_ref().map(parse_doc).transpose()
    }

    async fn list_tasks(
        &self,
        project: &ProjectId,
        after: Option<&TaskId>,
        limit: usize,
    ) -> Result<Page<PushTask>, StoreError> {
        let start = after.map(|id| {
            HashMap::from([
                ("PK".to_owned(), s(project_pk(project))),
                ("SK".to_owned(), s(task_sk(id))),
            ])
        });
        // Task ids are UUIDv7, so descending SK order is newest first.
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(project_pk(project)))
            .expression_attribute_values(":prefix", s("TASK#"))
            .scan_index_forward(false)
            .consistent_read(true);
        let mut items = query_up_to(query, start, limit + 1)
            .await?
            .iter()
            .map(parse_doc::<PushTask>)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|t| t.id)
        } else {
            None
        };
        Ok(Page { items, next_after })
    }

    async fn replace_task(&self, task: &PushTask, expected_version: u64) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(task_item(task)?))
            .condition_expression("attribute_exists(PK) AND version = :expected")
            .expression_attribute_values(":expected", n(expected_version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Err(self
                .lost_condition(project_pk(&task.project), task_sk(&task.id))
                .await),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn delete_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(project_pk(project)))
            .key("SK", s(task_sk(id)))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(expected_version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => {
                Err(self.lost_condition(project_pk(project), task_sk(id)).await)
            }
            Err(err) => Err(unavailable(err)),
        }
    }
}

#[async_trait]
impl KeyStore for DynamoStore {
    async fn insert_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let item = HashMap::from([
            ("PK".to_owned(), s(key_pk(&key.id))),
            ("SK".to_owned(), s("KEY")),
            // Listed by admins through GSI1, in id order.
            ("GSI1PK".to_owned(), s(KEYS_PK)),
            ("GSI1SK".to_owned(), s(key.id.to_string())),
            ("kind".to_owned(), s("api_key")),
            ("doc".to_owned(), s(to_doc(key)?)),
        ]);
        match self.put_if(item, "attribute_not_exists(PK)", &[]).await? {
            true => Ok(()),
            false => Err(StoreError::Conflict),
        }
    }

    async fn get_key(&self, id: &KeyId) -> Result<Option<ApiKey>, StoreError> {
        let item = self.get_item(s(key_pk(id)), s("KEY")).await?;
        item.as_ref().map(parse_doc).transpose()
    }

    async fn delete_key(&self, id: &KeyId) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(key_pk(id)))
            .key("SK", s("KEY"))
            .condition_expression("attribute_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if is_condition_failed(&err) => Err(StoreError::NotFound),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn list_keys(&self, after: Option<&KeyId>, limit: usize) -> Result<KeyPage, StoreError> {
        let items = self
            .gsi1_after(KEYS_PK, after.map(ToString::to_string), limit)
            .await?
            .iter()
            .map(parse_doc::<ApiKey>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeyPage::of(items, limit))
    }
}
