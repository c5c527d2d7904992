//! `driver = "mysql"`: checkpoints in schema `[checkpoint] schema` of any MySQL-compatible
//! server, in upstream's tables ([`sql`]), so upstream's tools can read them. Every
//! operation is one transaction, retried on transient errors.

mod dsn;
mod manage;
mod read;
pub mod sql;
mod write;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Pool};

pub use dsn::{MysqlParams, TlsMode};

use crate::diff::CheckpointDiffs;
use crate::error::CheckpointError;
use crate::model::{
    DestroyedTable, EngineCheckpoint, TableCheckpoint, TableInit, TableSelector, TaskCheckpoint,
};
use crate::store::{CheckpointStore, Result};

/// The MySQL checkpoint store.
pub struct MysqlStore {
    pool: Pool,
    schema: String,
    names: sql::Names,
}

const ATTEMPTS: u32 = 3;

/// Runs `op` again (up to [`ATTEMPTS`] times, backing off) while it fails retryably.
async fn retry<T, F, Fut>(what: &str, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                tracing::warn!(what, attempt, error = %e, "checkpoint database error, retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            r => return r,
        }
    }
}

impl MysqlStore {
    /// Connects and creates the schema and its tables when missing.
    pub async fn connect(params: &MysqlParams, schema: &str) -> Result<Self> {
        let store = MysqlStore {
            pool: Pool::new(params.to_opts()),
            schema: schema.to_string(),
            names: sql::Names::new(schema),
        };
        retry("creating checkpoint tables", || async {
            let mut conn = store.conn().await?;
            for q in store.names.create() {
                conn.query_drop(q)
                    .await
                    .map_err(CheckpointError::mysql("creating checkpoint tables"))?;
            }
            Ok(())
        })
        .await?;
        Ok(store)
    }

    /// Connects as `[checkpoint]` says: its DSN, or the `[tidb]` server when empty.
    pub async fn from_config(cfg: &lightning_config::Config) -> Result<Self> {
        let c = &cfg.checkpoint;
        let params = if c.dsn.is_empty() {
            MysqlParams::from_tidb(cfg)?
        } else {
            MysqlParams::parse_dsn(&c.dsn)?
        };
        Self::connect(&params, &c.schema).await
    }

    /// The checkpoint schema.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    async fn conn(&self) -> Result<Conn> {
        self.pool.get_conn().await.map_err(CheckpointError::mysql(
            "connecting to the checkpoint database",
        ))
    }
}

#[async_trait]
impl CheckpointStore for MysqlStore {
    async fn initialize(
        &self,
        task: &TaskCheckpoint,
        tables: &[TableInit],
        check_requirements: bool,
    ) -> Result<TaskCheckpoint> {
        retry("initialize", || {
            self.initialize_once(task, tables, check_requirements)
        })
        .await
    }

    async fn task_checkpoint(&self) -> Result<Option<TaskCheckpoint>> {
        retry("read task", || self.task_once()).await
    }

    async fn table_names(&self) -> Result<Vec<String>> {
        retry("list tables", || self.names_once()).await
    }

    async fn get(&self, table: &str) -> Result<TableCheckpoint> {
        retry("get", || self.get_once(table)).await
    }

    async fn insert_engines(
        &self,
        table: &str,
        engines: &BTreeMap<i32, EngineCheckpoint>,
    ) -> Result<()> {
        retry("insert engines", || {
            self.insert_engines_once(table, engines)
        })
        .await
    }

    async fn update(&self, diffs: &CheckpointDiffs) -> Result<()> {
        retry("update", || self.update_once(diffs)).await
    }

    async fn remove(&self, tables: &TableSelector) -> Result<()> {
        retry("remove", || self.remove_once(tables)).await
    }

    async fn move_checkpoints(&self, task_id: i64) -> Result<()> {
        // Not retried: the renames are separate statements.
        self.move_once(task_id).await
    }

    async fn local_storing_tables(&self) -> Result<BTreeMap<String, Vec<i32>>> {
        retry("local storing tables", || self.local_storing_once()).await
    }

    async fn ignore_error(&self, tables: &TableSelector) -> Result<()> {
        retry("ignore error", || self.ignore_once(tables)).await
    }

    async fn destroy_error(&self, tables: &TableSelector) -> Result<Vec<DestroyedTable>> {
        retry("destroy error", || self.destroy_once(tables)).await
    }

    async fn dump(&self, dir: &Path) -> Result<()> {
        retry("dump", || self.dump_once(dir)).await
    }

    async fn close(&self) -> Result<()> {
        self.pool
            .clone()
            .disconnect()
            .await
            .map_err(CheckpointError::mysql("closing checkpoint connections"))
    }
}
