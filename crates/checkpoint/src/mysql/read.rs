//! Reading checkpoints back: the task row, a table with its engines and chunks, names.

use mysql_async::prelude::{FromValue, Queryable};
use mysql_async::{Row, TxOpts};

use super::MysqlStore;
use crate::error::CheckpointError;
use crate::model::{
    Checksum, ChunkCheckpoint, ChunkKey, ChunkPosition, FileMeta, TableCheckpoint, TableHash,
    TaskCheckpoint,
};
use crate::status::CheckpointStatus;
use crate::store::Result;

/// Column `i` of `row` as `T`, or a [`CheckpointError::BadValue`] naming it.
pub(super) fn col<T: FromValue>(
    row: &mut Row,
    i: usize,
    table: &str,
    column: &'static str,
) -> Result<T> {
    let bad = |detail: String| CheckpointError::BadValue {
        table: table.to_string(),
        column,
        detail,
    };
    match row.take_opt::<T, usize>(i) {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(bad(format!("{:?}", e.0))),
        None => Err(bad("missing".into())),
    }
}

/// Column permutation JSON; NULL, empty and `null` (Go's nil slice) are empty.
pub(super) fn parse_permutation(text: Option<String>, table: &str) -> Result<Vec<i32>> {
    match text.as_deref().map(str::trim) {
        None | Some("") | Some("null") => Ok(Vec::new()),
        Some(t) => serde_json::from_str(t).map_err(|e| CheckpointError::BadValue {
            table: table.to_string(),
            column: "columns",
            detail: e.to_string(),
        }),
    }
}

pub(super) fn task_from_row(mut r: Row) -> Result<TaskCheckpoint> {
    let t = super::sql::TASK_TABLE;
    Ok(TaskCheckpoint {
        task_id: col(&mut r, 0, t, "task_id")?,
        source_dir: col(&mut r, 1, t, "source_dir")?,
        backend: col(&mut r, 2, t, "backend")?,
        importer_addr: col::<Option<String>>(&mut r, 3, t, "importer_addr")?.unwrap_or_default(),
        tidb_host: col(&mut r, 4, t, "tidb_host")?,
        tidb_port: col(&mut r, 5, t, "tidb_port")?,
        pd_addr: col(&mut r, 6, t, "pd_addr")?,
        sorted_kv_dir: col(&mut r, 7, t, "sorted_kv_dir")?,
        lightning_ver: col(&mut r, 8, t, "lightning_ver")?,
    })
}

fn chunk_from_row(r: &mut Row, table: &str) -> Result<(i32, ChunkCheckpoint)> {
    let c = |r: &mut Row, i, name| col::<i64>(r, i, table, name);
    let engine_id = col::<i64>(r, 0, table, "engine_id")?;
    let engine_id = i32::try_from(engine_id).map_err(|_| CheckpointError::BadValue {
        table: table.to_string(),
        column: "engine_id",
        detail: engine_id.to_string(),
    })?;
    let chunk = ChunkCheckpoint {
        key: ChunkKey {
            path: col(r, 1, table, "path")?,
            offset: c(r, 2, "offset")?,
        },
        file: FileMeta {
            file_type: col(r, 3, table, "type")?,
            compression: col(r, 4, table, "compression")?,
            sort_key: col(r, 5, table, "sort_key")?,
            file_size: c(r, 6, "file_size")?,
        },
        column_permutation: parse_permutation(col(r, 7, table, "columns")?, table)?,
        chunk: ChunkPosition {
            offset: c(r, 8, "pos")?,
            real_offset: c(r, 9, "real_pos")?,
            end_offset: c(r, 10, "end_offset")?,
            prev_rowid_max: c(r, 11, "prev_rowid_max")?,
            rowid_max: c(r, 12, "rowid_max")?,
        },
        checksum: Checksum {
            bytes: col(r, 13, table, "kvc_bytes")?,
            kvs: col(r, 14, table, "kvc_kvs")?,
            crc: col(r, 15, table, "kvc_checksum")?,
        },
        timestamp: c(r, 16, "create_time")?,
    };
    Ok((engine_id, chunk))
}

impl MysqlStore {
    pub(super) async fn task_once(&self) -> Result<Option<TaskCheckpoint>> {
        let mut conn = self.conn().await?;
        let row: Option<Row> = conn
            .query_first(self.names.read_task())
            .await
            .map_err(CheckpointError::mysql("reading the task checkpoint"))?;
        row.map(task_from_row).transpose()
    }

    pub(super) async fn names_once(&self) -> Result<Vec<String>> {
        let mut conn = self.conn().await?;
        let mut names: Vec<String> = conn
            .query(format!("SELECT table_name FROM {}", self.names.table))
            .await
            .map_err(CheckpointError::mysql("listing table checkpoints"))?;
        names.sort();
        Ok(names)
    }

    pub(super) async fn get_once(&self, table: &str) -> Result<TableCheckpoint> {
        let mut tx = self
            .pool
            .start_transaction(TxOpts::default())
            .await
            .map_err(CheckpointError::mysql("starting a transaction"))?;
        let read = CheckpointError::mysql("reading a table checkpoint");
        let Some(mut r) = tx
            .exec_first::<Row, _, _>(self.names.read_table(), (table,))
            .await
            .map_err(read)?
        else {
            return Err(CheckpointError::TableNotFound {
                table: table.to_string(),
            });
        };
        let mut cp = TableCheckpoint {
            status: CheckpointStatus(col(&mut r, 0, table, "status")?),
            hash: TableHash::from_slice(&col::<Vec<u8>>(&mut r, 1, table, "hash")?),
            table_id: col(&mut r, 2, table, "table_id")?,
            table_info: col(&mut r, 3, table, "table_info")?,
            checksum: Checksum {
                bytes: col(&mut r, 4, table, "kv_bytes")?,
                kvs: col(&mut r, 5, table, "kv_kvs")?,
                crc: col(&mut r, 6, table, "kv_checksum")?,
            },
            auto_rand_base: col(&mut r, 7, table, "auto_rand_base")?,
            auto_incr_base: col(&mut r, 8, table, "auto_incr_base")?,
            auto_row_id_base: col(&mut r, 9, table, "auto_row_id_base")?,
            engines: Default::default(),
        };
        let engines: Vec<(i32, u8)> = tx
            .exec(self.names.read_engines(), (table,))
            .await
            .map_err(CheckpointError::mysql("reading engine checkpoints"))?;
        for (id, status) in engines {
            cp.engines.entry(id).or_default().status = CheckpointStatus(status);
        }
        let rows: Vec<Row> = tx
            .exec(self.names.read_chunks(), (table,))
            .await
            .map_err(CheckpointError::mysql("reading chunk checkpoints"))?;
        for mut r in rows {
            let (id, chunk) = chunk_from_row(&mut r, table)?;
            cp.engines.entry(id).or_default().chunks.push(chunk);
        }
        for e in cp.engines.values_mut() {
            e.chunks.sort_by(|a, b| a.key.cmp(&b.key));
        }
        tx.commit()
            .await
            .map_err(CheckpointError::mysql("ending a read transaction"))?;
        Ok(cp)
    }
}
