//! Recording progress: initialize, insert engines, apply diffs; each one transaction.

use std::collections::{BTreeMap, HashMap};

use mysql_async::prelude::Queryable;
use mysql_async::{Row, Transaction, TxOpts, Value};

use super::read::{col, task_from_row};
use super::MysqlStore;
use crate::diff::CheckpointDiffs;
use crate::error::CheckpointError;
use crate::model::{EngineCheckpoint, TableHash, TableInit, TaskCheckpoint};
use crate::store::Result;
use crate::verify::{verify_table, verify_task};

/// Positional parameters of mixed types.
macro_rules! vals {
    ($($v:expr),* $(,)?) => { vec![$(Value::from($v)),*] };
}

fn permutation_json(p: &[i32]) -> String {
    serde_json::to_string(p).unwrap_or_else(|_| "[]".into())
}

impl MysqlStore {
    pub(super) async fn begin(&self) -> Result<Transaction<'static>> {
        self.pool
            .start_transaction(TxOpts::default())
            .await
            .map_err(CheckpointError::mysql("starting a transaction"))
    }

    pub(super) async fn table_exists(
        tx: &mut Transaction<'_>,
        names: &super::sql::Names,
        table: &str,
    ) -> Result<()> {
        let found: Option<i64> = tx
            .exec_first(
                format!("SELECT 1 FROM {} WHERE table_name = ?", names.table),
                (table,),
            )
            .await
            .map_err(CheckpointError::mysql("looking up a table checkpoint"))?;
        match found {
            Some(_) => Ok(()),
            None => Err(CheckpointError::TableNotFound {
                table: table.to_string(),
            }),
        }
    }

    pub(super) async fn initialize_once(
        &self,
        task: &TaskCheckpoint,
        tables: &[TableInit],
        check_requirements: bool,
    ) -> Result<TaskCheckpoint> {
        let mut tx = self.begin().await?;
        let n = &self.names;
        let stored: Option<Row> = tx
            .exec_first(n.read_task(), ())
            .await
            .map_err(CheckpointError::mysql("reading the task checkpoint"))?;
        let mut task = task.clone();
        if let Some(row) = stored {
            let stored = task_from_row(row)?;
            verify_task(&task, &stored, check_requirements)?;
            task.task_id = stored.task_id;
        }
        let rows: Vec<Row> = tx
            .exec(
                format!("SELECT table_name, hash, table_id FROM {}", n.table),
                (),
            )
            .await
            .map_err(CheckpointError::mysql("reading table checkpoints"))?;
        let mut existing = HashMap::new();
        for mut r in rows {
            let name: String = col(&mut r, 0, super::sql::TABLE_TABLE, "table_name")?;
            let hash = TableHash::from_slice(&col::<Vec<u8>>(&mut r, 1, &name, "hash")?);
            let id: i64 = col(&mut r, 2, &name, "table_id")?;
            existing.insert(name, (hash, id));
        }
        for init in tables {
            if let Some((hash, id)) = existing.get(&init.name) {
                verify_table(init, hash, *id)?;
            }
        }
        let t = &task;
        let params = vals![
            t.task_id,
            t.source_dir.as_str(),
            t.backend.as_str(),
            t.importer_addr.as_str(),
            t.tidb_host.as_str(),
            t.tidb_port,
            t.pd_addr.as_str(),
            t.sorted_kv_dir.as_str(),
            t.lightning_ver.as_str(),
        ];
        let write = CheckpointError::mysql("recording the task");
        tx.exec_drop(n.replace_task(), params)
            .await
            .map_err(write)?;
        let update_task_id = format!("UPDATE {} SET task_id = ? WHERE table_name = ?", n.table);
        for init in tables {
            let write = CheckpointError::mysql("recording a table checkpoint");
            if existing.contains_key(&init.name) {
                tx.exec_drop(&update_task_id, (task.task_id, init.name.as_str()))
                    .await
                    .map_err(write)?;
            } else {
                let params = vals![
                    task.task_id,
                    init.name.as_str(),
                    init.hash.0.to_vec(),
                    init.table_id,
                    init.table_info.as_str(),
                ];
                tx.exec_drop(n.insert_table(), params)
                    .await
                    .map_err(write)?;
            }
        }
        tx.commit()
            .await
            .map_err(CheckpointError::mysql("committing the initialization"))?;
        Ok(task)
    }

    pub(super) async fn insert_engines_once(
        &self,
        table: &str,
        engines: &BTreeMap<i32, EngineCheckpoint>,
    ) -> Result<()> {
        let n = &self.names;
        let mut tx = self.begin().await?;
        Self::table_exists(&mut tx, n, table).await?;
        let delete_chunks = format!(
            "DELETE FROM {} WHERE table_name = ? AND engine_id = ?",
            n.chunk
        );
        for (id, engine) in engines {
            if *id < 0 && !engine.chunks.is_empty() {
                return Err(CheckpointError::BadValue {
                    table: table.to_string(),
                    column: "engine_id",
                    detail: format!("engine {id} has chunks but chunk engine ids are unsigned"),
                });
            }
            let write = CheckpointError::mysql("recording an engine checkpoint");
            tx.exec_drop(n.replace_engine(), (table, *id, engine.status.0))
                .await
                .map_err(write)?;
            tx.exec_drop(&delete_chunks, (table, *id))
                .await
                .map_err(CheckpointError::mysql("replacing chunk checkpoints"))?;
            for c in &engine.chunks {
                let params = vals![
                    table,
                    *id,
                    c.key.path.as_str(),
                    c.key.offset,
                    c.file.file_type,
                    c.file.compression,
                    c.file.sort_key.as_str(),
                    c.file.file_size,
                    permutation_json(&c.column_permutation),
                    c.chunk.offset,
                    c.chunk.real_offset,
                    c.chunk.end_offset,
                    c.chunk.prev_rowid_max,
                    c.chunk.rowid_max,
                    c.checksum.bytes,
                    c.checksum.kvs,
                    c.checksum.crc,
                    c.timestamp,
                ];
                tx.exec_drop(n.replace_chunk(), params)
                    .await
                    .map_err(CheckpointError::mysql("recording a chunk checkpoint"))?;
            }
        }
        tx.commit()
            .await
            .map_err(CheckpointError::mysql("committing engine checkpoints"))
    }

    pub(super) async fn update_once(&self, diffs: &CheckpointDiffs) -> Result<()> {
        let n = &self.names;
        let table_status = format!("UPDATE {} SET status = ? WHERE table_name = ?", n.table);
        let table_checksum = format!(
            "UPDATE {} SET kv_bytes = ?, kv_kvs = ?, kv_checksum = ? WHERE table_name = ?",
            n.table
        );
        let engine_status = format!(
            "UPDATE {} SET status = ? WHERE table_name = ? AND engine_id = ?",
            n.engine
        );
        let (update_rebase, update_chunk) = (n.update_rebase(), n.update_chunk());
        let mut tx = self.begin().await?;
        for (name, d) in &diffs.tables {
            let write = || CheckpointError::mysql("updating checkpoints");
            let name = name.as_str();
            if let Some(s) = d.status {
                tx.exec_drop(&table_status, (s.0, name))
                    .await
                    .map_err(write())?;
            }
            if let Some(r) = &d.rebase {
                let p = (r.auto_rand_base, r.auto_incr_base, r.auto_row_id_base, name);
                tx.exec_drop(&update_rebase, p).await.map_err(write())?;
            }
            if let Some(c) = &d.checksum {
                let p = (c.bytes, c.kvs, c.crc, name);
                tx.exec_drop(&table_checksum, p).await.map_err(write())?;
            }
            for (id, ed) in &d.engines {
                if let Some(s) = ed.status {
                    tx.exec_drop(&engine_status, (s.0, name, *id))
                        .await
                        .map_err(write())?;
                }
                for (key, cd) in &ed.chunks {
                    let params = vals![
                        cd.pos,
                        cd.real_pos,
                        cd.row_id,
                        cd.checksum.bytes,
                        cd.checksum.kvs,
                        cd.checksum.crc,
                        permutation_json(&cd.column_permutation),
                        name,
                        *id,
                        key.path.as_str(),
                        key.offset,
                    ];
                    tx.exec_drop(&update_chunk, params).await.map_err(write())?;
                }
            }
        }
        tx.commit()
            .await
            .map_err(CheckpointError::mysql("committing checkpoint updates"))
    }
}
