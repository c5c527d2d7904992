//! The one seam every checkpoint driver implements, and keep-after-success handling.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use lightning_config::KeepStrategy;

use crate::diff::CheckpointDiffs;
use crate::error::CheckpointError;
use crate::model::{
    DestroyedTable, EngineCheckpoint, TableCheckpoint, TableInit, TableSelector, TaskCheckpoint,
};

/// Shorthand for this crate's results.
pub type Result<T, E = CheckpointError> = std::result::Result<T, E>;

/// A checkpoint store (upstream's `checkpoints.DB`). Methods take `&self`; drivers
/// serialize writes internally, so one store may be shared by the controller's tasks.
///
/// After [`remove`](Self::remove) of [`TableSelector::All`] or
/// [`move_checkpoints`](Self::move_checkpoints) only [`close`](Self::close) is meaningful;
/// reopen the store to use it again.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// Records `task` and every table not yet present (status `LOADED`). Refuses a stored task
    /// or table that no longer matches ([`crate::verify`]). Returns the task as stored: when
    /// resuming, it keeps the earlier task id.
    async fn initialize(
        &self,
        task: &TaskCheckpoint,
        tables: &[TableInit],
        check_requirements: bool,
    ) -> Result<TaskCheckpoint>;

    /// The stored task, `None` when there is none.
    async fn task_checkpoint(&self) -> Result<Option<TaskCheckpoint>>;

    /// Unique names of every table with a checkpoint, sorted.
    async fn table_names(&self) -> Result<Vec<String>>;

    /// One table's checkpoint ([`CheckpointError::TableNotFound`] when absent).
    async fn get(&self, table: &str) -> Result<TableCheckpoint>;

    /// Stores these engines and their chunks for an initialized table, replacing engines
    /// with the same ids.
    async fn insert_engines(
        &self,
        table: &str,
        engines: &BTreeMap<i32, EngineCheckpoint>,
    ) -> Result<()>;

    /// Applies a batch of diffs atomically; unknown tables, engines and chunks are skipped.
    async fn update(&self, diffs: &CheckpointDiffs) -> Result<()>;

    /// Deletes the checkpoints of one table, or all checkpoints (the file or the schema).
    async fn remove(&self, tables: &TableSelector) -> Result<()>;

    /// Keeps the checkpoints under a name with `.{task_id}.bak` appended (keep-after-success
    /// = "rename").
    async fn move_checkpoints(&self, task_id: i64) -> Result<()>;

    /// Tables whose engines may hold local data (started, not yet imported): name -> engine ids.
    async fn local_storing_tables(&self) -> Result<BTreeMap<String, Vec<i32>>>;

    /// Resets failed statuses of the selected tables and their engines to `LOADED`,
    /// keeping the progress made (`--checkpoint-error-ignore`).
    async fn ignore_error(&self, tables: &TableSelector) -> Result<()>;

    /// Deletes the checkpoints of the selected *failed* tables so they start over; returns
    /// them so the caller drops their data and engines (`--checkpoint-error-destroy`).
    async fn destroy_error(&self, tables: &TableSelector) -> Result<Vec<DestroyedTable>>;

    /// Writes `tables.csv`, `engines.csv` and `chunks.csv` into `dir` (`--checkpoint-dump`).
    async fn dump(&self, dir: &Path) -> Result<()>;

    /// Flushes and releases the store.
    async fn close(&self) -> Result<()>;
}

/// What a successful run does with its checkpoints (`[checkpoint] keep-after-success`).
pub async fn finish(store: &dyn CheckpointStore, keep: KeepStrategy, task_id: i64) -> Result<()> {
    match keep {
        KeepStrategy::Remove => store.remove(&TableSelector::All).await,
        KeepStrategy::Rename => store.move_checkpoints(task_id).await,
        KeepStrategy::Origin => Ok(()),
    }
}
