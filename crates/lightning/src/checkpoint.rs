//! The controller's side of checkpoints: the task's store checked against the dump, and
//! the helpers the controller and the backends record progress with.
//!
//! Exactly-once on resume, the tidb backend (`tidb`). It commits a batch, then the chunk's new position
//! is recorded; rows committed after the last recorded position are sent again on resume
//! (a resumed chunk is re-parsed from its start and rows ending at or before the saved
//! position are skipped, so SQL and CSV chunks restart on a statement/record boundary).
//! The replayed window must not duplicate rows:
//! * tables with a primary or unique key: every chunk of a table an earlier run started is
//!   written with `REPLACE` when the configured strategy is `error` (`ignore` and `replace`
//!   are idempotent already); the replayed rows are identical to the committed ones, so
//!   replacing them leaves the table as if written once. Their position is recorded at
//!   most once a second per chunk, and when the chunk ends, fails or is stopped.
//! * tables without any unique key: `REPLACE` cannot help, so their batches go through a
//!   per-table lock that spans "record the batch as in flight (start, end, rows) → send it
//!   → record it done"; at most one batch per such table is ever in flight. On resume, a
//!   chunk saved with a batch in flight is settled by counting the table's rows: the table
//!   holds exactly the rows of every recorded batch, plus the in-flight one if it committed.
//!   The in-flight state is kept in the chunk's `real_offset` (the position after the
//!   batch; `real_offset > offset` means "in flight"), unused by the tidb backend otherwise,
//!   `checksum.crc` the in-flight batch's row count, and `checksum.kvs` counts the rows the
//!   target accepted from the chunk so far (the tidb backend computes no KV checksum).

use crate::LightningError;
use lightning_backend::tidb::{TargetTable, TidbTarget};
use lightning_checkpoint::{
    CheckpointDiffs, CheckpointStore, CheckpointUpdate, Checksum, ChunkCheckpoint, ChunkKey,
    ChunkPosition, FileMeta, FileStamp, TableHash, TableInit, TaskCheckpoint,
};
use lightning_config::Config;
use lightning_encode::KvChecksum;
use lightning_source::{Chunk, DataFormat, Dump, TableSource};
use mysql_async::prelude::Queryable;
use std::collections::HashSet;

/// A task's checkpoint store, checked against the dump before anything is written.
pub(crate) struct TaskCheckpoints {
    pub store: Box<dyn CheckpointStore>,
    /// The id of the task the checkpoint belongs to (an earlier run's when resuming).
    pub task_id: i64,
    /// Unique names of the tables an earlier run of this task started.
    pub started: HashSet<String>,
}

/// Opens `[checkpoint]`'s store and initializes it with the dump's tables: a stored task
/// or table that no longer matches (config, schema, files) is refused here, and so is a
/// table that failed last time, until `tidb-lightning-ctl` clears it.
pub(crate) async fn open_task(
    cfg: &Config,
    dump: &Dump,
) -> Result<TaskCheckpoints, LightningError> {
    let store = lightning_checkpoint::open(cfg).await?;
    let task_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let task_cp = TaskCheckpoint::from_config(cfg, task_id, env!("CARGO_PKG_VERSION"));
    let mut inits = Vec::new();
    for table in dump.databases.iter().flat_map(|d| d.tables.iter()) {
        inits.push(table_init(table)?);
    }
    let stored = store
        .initialize(&task_cp, &inits, cfg.lightning.check_requirements)
        .await?;
    let mut started = HashSet::new();
    for init in &inits {
        let cp = store.get(&init.name).await?;
        lightning_checkpoint::verify::ensure_resumable(&init.name, &cp)?;
        if !cp.engines.is_empty() {
            started.insert(init.name.clone());
        }
    }
    Ok(TaskCheckpoints {
        store,
        task_id: stored.task_id,
        started,
    })
}

/// A chunk's checkpoint before anything of it was imported.
pub(crate) fn new_chunk(c: &Chunk, timestamp: i64) -> ChunkCheckpoint {
    ChunkCheckpoint {
        key: chunk_key(c),
        file: FileMeta {
            file_type: if c.file.format == DataFormat::Csv {
                4
            } else {
                3
            },
            compression: i32::from(c.file.compression != lightning_source::Compression::None),
            sort_key: c.file.key.clone(),
            file_size: to_i64(c.file.size),
        },
        column_permutation: Vec::new(),
        chunk: ChunkPosition {
            offset: to_i64(c.offset),
            real_offset: to_i64(c.offset),
            end_offset: to_i64(c.end),
            prev_rowid_max: to_i64(c.row_id_base),
            rowid_max: to_i64(c.row_id_max),
        },
        checksum: Default::default(),
        timestamp,
    }
}

/// A KV checksum as checkpoints store it.
pub(crate) fn to_stored(c: &KvChecksum) -> Checksum {
    Checksum {
        crc: c.crc,
        kvs: c.kvs,
        bytes: c.bytes,
    }
}

/// A stored checksum back as a KV checksum.
pub(crate) fn from_stored(c: &Checksum) -> KvChecksum {
    KvChecksum {
        crc: c.crc,
        kvs: c.kvs,
        bytes: c.bytes,
    }
}

/// How checkpoints name a chunk.
pub(crate) fn chunk_key(c: &Chunk) -> ChunkKey {
    ChunkKey {
        path: c.file.rel.clone(),
        offset: c.offset as i64,
    }
}

/// Unix seconds now.
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The error for a table whose checkpoint lacks a chunk the source now has.
pub(crate) fn layout_changed(name: &str, key: &ChunkKey) -> LightningError {
    LightningError::Unsupported(format!(
        "checkpoint of table {name} has no chunk {key}: the chunk layout changed (region size or files); run `tidb-lightning-ctl --checkpoint-error-destroy='{name}'` or `--checkpoint-remove='{name}'` (and drop the table) to import it from scratch"
    ))
}

/// The engine id every chunk of a tidb-backend table is recorded under.
pub(crate) const ENGINE: i32 = 0;

/// The store, and whether anything is recorded.
pub(crate) struct Checkpoints {
    pub store: Box<dyn CheckpointStore>,
    /// `[checkpoint] enable`: when off nothing is recorded, and nothing needs serializing.
    pub enabled: bool,
}

impl Checkpoints {
    /// Records one update, now.
    pub async fn save(&self, table: &str, update: CheckpointUpdate) -> Result<(), LightningError> {
        let mut d = CheckpointDiffs::new();
        d.merge(table, &update);
        self.store.update(&d).await?;
        Ok(())
    }

    /// After a failed import: flushes what the store holds (errors are only logged, the
    /// import's own error is the one to report).
    pub async fn close_after_failure(&self) {
        if let Err(e) = self.store.close().await {
            tracing::error!(error = %e, "flushing checkpoints");
        }
    }

    /// After a successful import: applies `keep-after-success` (when checkpoints are on)
    /// and closes the store.
    pub async fn finish(&self, cfg: &Config, task_id: i64) -> Result<(), LightningError> {
        if self.enabled {
            lightning_checkpoint::finish(
                self.store.as_ref(),
                cfg.checkpoint.keep_after_success,
                task_id,
            )
            .await?;
        }
        self.store.close().await?;
        Ok(())
    }
}

/// Offsets are stored as `i64`; `u64::MAX` (read to the end) becomes `i64::MAX`.
pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Back from `i64` (`i64::MAX` means "to the end").
pub(crate) fn from_i64(v: i64) -> u64 {
    if v == i64::MAX {
        u64::MAX
    } else {
        v.max(0) as u64
    }
}

/// What a table is recorded with: its name, and a fingerprint of its schema file and data
/// files (path, size, modification time), so a changed source is refused on resume.
pub(crate) fn table_init(t: &TableSource) -> Result<TableInit, LightningError> {
    let schema = match &t.schema_file {
        Some(f) => std::fs::read(&f.path).map_err(|e| LightningError::Io {
            file: f.rel.clone(),
            source: e,
        })?,
        None => Vec::new(),
    };
    let mut stamps = Vec::new();
    for f in &t.data_files {
        let meta = std::fs::metadata(&f.path).map_err(|e| LightningError::Io {
            file: f.rel.clone(),
            source: e,
        })?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        stamps.push((f.rel.as_str(), meta.len(), mtime));
    }
    let hash = TableHash::of(
        &schema,
        stamps
            .iter()
            .map(|&(path, size, mtime)| FileStamp { path, size, mtime }),
    );
    Ok(TableInit {
        name: lightning_checkpoint::unique_table_name(&t.db, &t.name),
        table_id: 0,
        hash,
        table_info: String::new(),
    })
}

/// True when the table has a primary key or a unique index.
pub(crate) async fn has_unique_key(
    target: &TidbTarget,
    table: &TargetTable,
) -> Result<bool, LightningError> {
    let mut conn = target.conn().await?;
    let n: Option<u64> = conn
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0",
            (&table.db, &table.name),
        )
        .await
        .map_err(|e| {
            LightningError::Internal(format!(
                "reading the keys of {}: {e}",
                table.qualified_name()
            ))
        })?;
    Ok(n.unwrap_or(0) > 0)
}

/// Rows in the table now.
pub(crate) async fn count_rows(
    target: &TidbTarget,
    table: &TargetTable,
) -> Result<u64, LightningError> {
    let mut conn = target.conn().await?;
    let n: Option<u64> = conn
        .query_first(format!("SELECT COUNT(*) FROM {}", table.qualified_name()))
        .await
        .map_err(|e| {
            LightningError::Internal(format!(
                "counting the rows of {}: {e}",
                table.qualified_name()
            ))
        })?;
    Ok(n.unwrap_or(0))
}
