//! Push tasks and API keys.
use super::*;

/// Push tasks, keyed by project and task id.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Writes a new task; `Conflict` if one with its id exists.
    async fn insert_task(&self, task: &PushTask) -> Result<(), StoreError>;
    async fn get_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
    ) -> Result<Option<PushTask>, StoreError>;
    /// Tasks of a project, newest first, starting after `after`.
    async fn list_tasks(
        &self,
        project: &ProjectId,
        after: Option<&TaskId>,
        limit: usize,
    ) -> Result<Page<PushTask>, StoreError>;
    /// Replaces a task if its stored version is `expected_version`: `Conflict` otherwise, `NotFound` if gone.
    async fn replace_task(&self, task: &PushTask, expected_version: u64) -> Result<(), StoreError>;
    /// Deletes a task if its stored version is `expected_version`; `NotFound` if it is gone.
    async fn delete_task(
        &self,
        project: &ProjectId,
        id: &TaskId,
        expected_version: u64,
    ) -> Result<(), StoreError>;
}

/// API keys, by id.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// `Conflict` if the id exists.
    async fn insert_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn get_key(&self, id: &KeyId) -> Result<Option<ApiKey>, StoreError>;
    /// `NotFound` if there was no such key.
    async fn delete_key(&self, id: &KeyId) -> Result<(), StoreError>;
    /// Keys in id order after `after`, at most `limit`.
    async fn list_keys(&self, after: Option<&KeyId>, limit: usize) -> Result<KeyPage, StoreError>;
}
