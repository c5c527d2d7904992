//! The store used with `[checkpoint] enable = false`: remembers nothing.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;

use crate::diff::CheckpointDiffs;
use crate::error::CheckpointError;
use crate::model::{
    DestroyedTable, EngineCheckpoint, TableCheckpoint, TableInit, TableSelector, TaskCheckpoint,
};
use crate::status::CheckpointStatus;
use crate::store::{CheckpointStore, Result};

/// Every table looks new; maintenance commands fail with [`CheckpointError::Disabled`].
#[derive(Debug, Default, Clone, Copy)]
pub struct NullStore;

#[async_trait]
impl CheckpointStore for NullStore {
    async fn initialize(
        &self,
        task: &TaskCheckpoint,
        _: &[TableInit],
        _: bool,
    ) -> Result<TaskCheckpoint> {
        Ok(task.clone())
    }
    async fn task_checkpoint(&self) -> Result<Option<TaskCheckpoint>> {
        Ok(None)
    }
    async fn table_names(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    async fn get(&self, _: &str) -> Result<TableCheckpoint> {
        Ok(TableCheckpoint {
            status: CheckpointStatus::LOADED,
            ..Default::default()
        })
    }
    async fn insert_engines(&self, _: &str, _: &BTreeMap<i32, EngineCheckpoint>) -> Result<()> {
        Ok(())
    }
    async fn update(&self, _: &CheckpointDiffs) -> Result<()> {
        Ok(())
    }
    async fn remove(&self, _: &TableSelector) -> Result<()> {
        Err(CheckpointError::Disabled {
            op: "remove checkpoints",
        })
    }
    async fn move_checkpoints(&self, _: i64) -> Result<()> {
        Err(CheckpointError::Disabled {
            op: "move checkpoints",
        })
    }
    async fn local_storing_tables(&self) -> Result<BTreeMap<String, Vec<i32>>> {
        Ok(BTreeMap::new())
    }
    async fn ignore_error(&self, _: &TableSelector) -> Result<()> {
        Err(CheckpointError::Disabled {
            op: "ignore checkpoint errors",
        })
    }
    async fn destroy_error(&self, _: &TableSelector) -> Result<Vec<DestroyedTable>> {
        Err(CheckpointError::Disabled {
            op: "destroy checkpoint errors",
        })
    }
    async fn dump(&self, _: &Path) -> Result<()> {
        Err(CheckpointError::Disabled {
            op: "dump checkpoints",
        })
    }
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}
