//! Checkpoint stores: where the import controller records how far each table, engine and
//! chunk got, so a killed run resumes without redoing or duplicating work, and a failed
//! table stays refused until `tidb-lightning-ctl` clears it.
//!
//! Flow: the controller opens a [`CheckpointStore`] from `[checkpoint]` ([`open`]), calls
//! [`CheckpointStore::initialize`] with the task and its tables (a checkpoint that no longer
//! matches the config, schema or files is refused, see [`verify`]), [`CheckpointStore::get`]s
//! each table ([`verify::ensure_resumable`] refuses failed ones) and
//! [`CheckpointStore::insert_engines`] for new ones, then merges progress events
//! ([`CheckpointUpdate`]) into [`CheckpointDiffs`] and flushes them with
//! [`CheckpointStore::update`]. After success, [`finish`] applies `keep-after-success`.
//! `tidb-lightning-ctl` uses the maintenance methods (remove, ignore/destroy errors, dump).
//!
//! Drivers: [`FileStore`] (`driver = "file"`, one JSON file replaced atomically) and
//! [`MysqlStore`] (`driver = "mysql"`, upstream's `task_v2`/`table_v10`/`engine_v5`/`chunk_v6`
//! tables); [`NullStore`] when checkpoints are disabled. Status codes are upstream's
//! ([`CheckpointStatus`]).
//!
//! ```
//! use lightning_checkpoint::{CheckpointDiffs, CheckpointStatus, CheckpointUpdate, ChunkDiff, ChunkKey};
//! let mut diffs = CheckpointDiffs::new();
//! let key = ChunkKey { path: "db.t.0.sql".into(), offset: 0 };
//! diffs.merge("`db`.`t`", &CheckpointUpdate::Chunk { engine_id: 0, key, diff: ChunkDiff { pos: 4096, ..Default::default() } });
//! diffs.merge("`db`.`t`", &CheckpointUpdate::Status { engine_id: 0, status: CheckpointStatus::CLOSED.into_failed() });
//! // A failed engine fails its table.
//! assert_eq!(diffs.tables["`db`.`t`"].status, Some(CheckpointStatus(9)));
//! ```

#![warn(missing_docs)]

mod diff;
mod dump;
mod error;
mod file;
mod model;
mod mysql;
mod null;
mod status;
mod store;
pub mod verify;

pub use diff::{
    CheckpointDiffs, CheckpointUpdate, ChunkDiff, EngineDiff, Rebase, TableCheckpointDiff,
};
pub use dump::{CHUNK_COLUMNS, ENGINE_COLUMNS, TABLE_COLUMNS};
pub use error::{CheckpointError, TableChange};
pub use file::{dsn_path, FileStore, CRASH_POINTS};
pub use model::{
    unique_table_name, Checksum, ChunkCheckpoint, ChunkKey, ChunkPosition, DestroyedTable,
    EngineCheckpoint, FileMeta, FileStamp, TableCheckpoint, TableHash, TableInit, TableSelector,
    TaskCheckpoint, INDEX_ENGINE_ID, WHOLE_TABLE_ENGINE_ID,
};
pub use mysql::{sql as mysql_tables, MysqlParams, MysqlStore, TlsMode};
pub use null::NullStore;
pub use status::CheckpointStatus;
pub use store::{finish, CheckpointStore, Result};

/// Opens the store `[checkpoint]` describes: [`NullStore`] when disabled, else the file or
/// MySQL driver (an empty DSN means `/tmp/<schema>.pb`, or the `[tidb]` server).
pub async fn open(cfg: &lightning_config::Config) -> Result<Box<dyn CheckpointStore>> {
    let c = &cfg.checkpoint;
    if !c.enable {
        return Ok(Box::new(NullStore));
    }
    match c.driver.to_ascii_lowercase().as_str() {
        "" | "file" => {
            let path = if c.dsn.is_empty() {
                std::path::PathBuf::from(format!("/tmp/{}.pb", c.schema))
            } else {
                dsn_path(&c.dsn)?
            };
            Ok(Box::new(FileStore::open(path).await?))
        }
        "mysql" => Ok(Box::new(MysqlStore::from_config(cfg).await?)),
        other => Err(CheckpointError::UnknownDriver {
            driver: other.to_string(),
        }),
    }
}
