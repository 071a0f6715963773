//! One-off moves of items written by an earlier version, run once after a stack update
//! (infra/DEPLOY.md). Each is safe to run again and beside the functions at work.
use crate::codec::{Item, is_condition_failed, parse_doc, s, to_doc, unavailable};
use crate::dynamo::DynamoStore;
use crate::keys::{CHECK_PK, KEYS_PK, LIST_INDEXES, delivery_due_pk, due_sk, listed_by};
use herald_core::domain::auth::ApiKey;
use herald_core::domain::delivery::DeliveryId;
use herald_core::domain::message::Provider;
use herald_core::domain::run::PushRun;
use herald_core::domain::task::PushTask;
use herald_core::ports::{SecretStore, StoreError};

/// What an upgrade moved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Moved {
    pub deliveries: usize,
    pub runs: usize,
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

impl DynamoStore {
    /// Moves what is due from GSI1 (`DUE#{provider}`, `CHECK#runs`, where versions before the
    /// `Due` index listed it) into the `Due` index. A delivery's entry is made from its
    /// `next_due`, which claims keep current, so a claim made meanwhile is not undone.
    pub async fn move_due_entries(&self) -> Result<Moved, StoreError> {
        let mut moved = Moved::default();
        let old: Vec<String> = Provider::ALL
            .iter()
            .map(|p| format!("DUE#{}", p.as_str()))
            .chain([CHECK_PK.to_owned()])
            .collect();
        for partition in old {
            let mut after: Option<String> = None;
            loop {
                let items = self.gsi1_after(&partition, after.take(), 100).await?;
                // One more than asked when more follow.
                let more = items.len() > 100;
                let next = items
                    .last()
                    .and_then(|last| text(last, "GSI1SK"))
                    .map(str::to_owned);
                for item in &items {
                    let Some((pk, sk)) = text(item, "PK").zip(text(item, "SK")) else {
                        continue;
                    };
                    let entry = match pk.strip_prefix("DELIVERY#") {
                        Some(id) => {
                            let id = DeliveryId::parse(id).map_err(StoreError::Corrupt)?;
                            let provider = text(item, "provider")
                                .and_then(Provider::parse)
                                .ok_or_else(|| StoreError::Corrupt(format!("{pk} provider")))?;
                            let due = text(item, "next_due")
                                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                                .map(|t| t.to_utc());
                            due.map(|due| {
                                (delivery_due_pk(provider, &id), due_sk(due, &id.to_string()))
                            })
                        }
                        None => text(item, "GSI1SK").map(|sk| (CHECK_PK.to_owned(), sk.to_owned())),
                    };
                    let update = self
                        .client
                        .update_item()
                        .table_name(&self.table)
                        .key("PK", s(pk))
                        .key("SK", s(sk))
                        .condition_expression("GSI1PK = :old")
                        .expression_attribute_values(":old", s(partition.clone()));
                    let update = match &entry {
                        Some((due_pk, due_sk)) => update
                            .update_expression("SET DuePK = :pk, DueSK = :sk REMOVE GSI1PK, GSI1SK")
                            .expression_attribute_values(":pk", s(due_pk.clone()))
                            .expression_attribute_values(":sk", s(due_sk.clone())),
                        // Nothing due any more: it only leaves the old list.
                        None => update.update_expression("REMOVE GSI1PK, GSI1SK"),
                    };
                    match update.send().await {
                        Ok(_) if pk.starts_with("DELIVERY#") => moved.deliveries += 1,
                        Ok(_) => moved.runs += 1,
                        // Rewritten meanwhile by a function of the new version.
                        Err(err) if is_condition_failed(&err) => {}
                        Err(err) => return Err(unavailable(err)),
                    }
                }
                match next.filter(|_| more) {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(moved)
    }
}

/// What a backfill completed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Backfilled {
    /// Runs given the records-list index keys (`RunsByTaskPK`, `RunsByOutcomePK`, `RunsByKindPK`).
    pub runs: usize,
    /// API keys listed again in GSI1.
    pub api_keys: usize,
    /// Tasks whose alarm robot key moved from their document to the secret store.
    pub robot_keys: usize,
}

/// What an earlier version wrote and this one completes: runs without list-index keys, API keys
/// not in GSI1, tasks holding a robot key in their document.
const OLD_ITEMS: &str = "(begins_with(SK, :run) AND attribute_not_exists(RunsByTaskPK)) \
     OR (SK = :key AND attribute_not_exists(GSI1PK)) \
     OR (begins_with(SK, :task) AND contains(#doc, :robot_key))";

impl DynamoStore {
    /// Completes what items of an earlier version lack, in one Scan of the table (1 MB pages,
    /// each read once: the cost is the table's size, once in a stack's life). Each write is
    /// conditional on the item being as read, so a function that rewrote it meanwhile wins (it
    /// writes the new form), and running it again completes nothing.
    pub async fn backfill(&self, secrets: &dyn SecretStore) -> Result<Backfilled, StoreError> {
        let mut done = Backfilled::default();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(OLD_ITEMS)
                .expression_attribute_names("#doc", "doc")
                .expression_attribute_values(":run", s("RUN#"))
                .expression_attribute_values(":key", s("KEY"))
                .expression_attribute_values(":task", s("TASK#"))
                .expression_attribute_values(":robot_key", s("\"webhook_key\""))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            for item in page.items() {
                let sk = text(item, "SK").unwrap_or_default();
                let (completed, count) = if sk.starts_with("RUN#") {
                    (self.add_list_keys(item).await?, &mut done.runs)
                } else if sk == "KEY" {
                    (self.list_api_key(item).await?, &mut done.api_keys)
                } else {
                    (
                        self.move_robot_key(item, secrets).await?,
                        &mut done.robot_keys,
                    )
                };
                *count += usize::from(completed);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(done),
            }
        }
    }

    /// An update of `item` that applies only while its document is as read.
    fn update_as_read(
        &self,
        item: &Item,
    ) -> Result<
        aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
        StoreError,
    > {
        let (Some(pk), Some(sk), Some(doc)) = (item.get("PK"), item.get("SK"), item.get("doc"))
        else {
            return Err(StoreError::Corrupt("an item without PK, SK or doc".into()));
        };
        Ok(self
            .client
            .update_item()
            .table_name(&self.table)
            .key("PK", pk.clone())
            .key("SK", sk.clone())
            .condition_expression("#doc = :read")
            .expression_attribute_names("#doc", "doc")
            .expression_attribute_values(":read", doc.clone()))
    }

    async fn add_list_keys(&self, item: &Item) -> Result<bool, StoreError> {
        let run: PushRun = parse_doc(item)?;
        let mut update = self.update_as_read(item)?;
        let mut set = Vec::new();
        for (i, (index, value)) in LIST_INDEXES.iter().zip(listed_by(&run)).enumerate() {
            set.push(format!("{} = :k{i}", index.key));
            update = update.expression_attribute_values(
                format!(":k{i}"),
                s(index.partition(&run.project, &value)),
            );
        }
        applied(
            update
                .update_expression(format!("SET {}", set.join(", ")))
                .send()
                .await,
        )
    }

    async fn list_api_key(&self, item: &Item) -> Result<bool, StoreError> {
        let key: ApiKey = parse_doc(item)?;
        let update = self
            .update_as_read(item)?
            .update_expression("SET GSI1PK = :list, GSI1SK = :id")
            .expression_attribute_values(":list", s(KEYS_PK))
            .expression_attribute_values(":id", s(key.id.to_string()));
        applied(update.send().await)
    }

    /// Puts the key in the secret store first (named by its digest, so doing it twice is
    /// harmless), then leaves only the secret's name in the task.
    async fn move_robot_key(
        &self,
        item: &Item,
        secrets: &dyn SecretStore,
    ) -> Result<bool, StoreError> {
        let mut task: PushTask = parse_doc(item)?;
        let moved = herald_core::services::tasks::store_robot_key(secrets, &mut task.spec)
            .await
            .map_err(unavailable)?;
        if !moved {
            return Ok(false);
        }
        let update = self
            .update_as_read(item)?
            .update_expression("SET #doc = :doc")
            .expression_attribute_values(":doc", s(to_doc(&task)?));
        applied(update.send().await)
    }
}

/// Whether a conditional update applied (false: the item changed since it was read).
fn applied<T, E>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E>>,
) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if is_condition_failed(&err) => Ok(false),
        Err(err) => Err(unavailable(err)),
    }
}
