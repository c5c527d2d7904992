//! The file driver's whole state, serialized as one JSON document, and the operations on
//! it; pure (no I/O), so the store can apply them to a copy and save before committing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::diff::CheckpointDiffs;
use crate::dump::{format_unix_utc, DumpRows};
use crate::error::CheckpointError;
use crate::model::{
    DestroyedTable, EngineCheckpoint, TableCheckpoint, TableInit, TableSelector, TaskCheckpoint,
};
use crate::status::CheckpointStatus;
use crate::verify::{verify_table, verify_task};

/// Written into every file, checked when reading.
pub(crate) const FORMAT: &str = "lightning-checkpoint/1";

/// One table as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredTable {
    pub task_id: i64,
    pub create_time: i64,
    pub update_time: i64,
    pub checkpoint: TableCheckpoint,
}

/// Everything in the checkpoint file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FileModel {
    pub format: String,
    pub task: Option<TaskCheckpoint>,
    pub tables: BTreeMap<String, StoredTable>,
}

impl Default for FileModel {
    fn default() -> Self {
        FileModel {
            format: FORMAT.to_string(),
            task: None,
            tables: BTreeMap::new(),
        }
    }
}

fn not_found(table: &str) -> CheckpointError {
    CheckpointError::TableNotFound {
        table: table.to_string(),
    }
}

impl FileModel {
    pub fn initialize(
        &mut self,
        task: &TaskCheckpoint,
        tables: &[TableInit],
        check_requirements: bool,
        now: i64,
    ) -> Result<TaskCheckpoint, CheckpointError> {
        let mut task = task.clone();
        if let Some(stored) = &self.task {
            verify_task(&task, stored, check_requirements)?;
            task.task_id = stored.task_id;
        }
        for init in tables {
            if let Some(t) = self.tables.get(&init.name) {
                verify_table(init, &t.checkpoint.hash, t.checkpoint.table_id)?;
            }
        }
        for init in tables {
            let entry = self
                .tables
                .entry(init.name.clone())
                .or_insert_with(|| StoredTable {
                    task_id: task.task_id,
                    create_time: now,
                    update_time: now,
                    checkpoint: TableCheckpoint {
                        status: CheckpointStatus::LOADED,
                        hash: init.hash,
                        table_id: init.table_id,
                        table_info: init.table_info.clone(),
                        ..Default::default()
                    },
                });
            entry.task_id = task.task_id;
        }
        self.task = Some(task.clone());
        Ok(task)
    }

    pub fn get(&self, table: &str) -> Result<TableCheckpoint, CheckpointError> {
        self.tables
            .get(table)
            .map(|t| t.checkpoint.clone())
            .ok_or_else(|| not_found(table))
    }

    pub fn insert_engines(
        &mut self,
        table: &str,
        engines: &BTreeMap<i32, EngineCheckpoint>,
        now: i64,
    ) -> Result<(), CheckpointError> {
        let t = self.tables.get_mut(table).ok_or_else(|| not_found(table))?;
        for (id, engine) in engines {
            let mut engine = engine.clone();
            engine.chunks.sort_by(|a, b| a.key.cmp(&b.key));
            engine.chunks.dedup_by(|a, b| a.key == b.key);
            t.checkpoint.engines.insert(*id, engine);
        }
        t.update_time = now;
        Ok(())
    }

    pub fn update(&mut self, diffs: &CheckpointDiffs, now: i64) {
        for (name, diff) in &diffs.tables {
            if let Some(t) = self.tables.get_mut(name) {
                t.checkpoint.apply(diff);
                t.update_time = now;
            }
        }
    }

    /// Removes one table (`All` is handled by the store: it deletes the file).
    pub fn remove_table(&mut self, table: &str) -> Result<(), CheckpointError> {
        self.tables
            .remove(table)
            .map(|_| ())
            .ok_or_else(|| not_found(table))
    }

    fn check_selected(&self, sel: &TableSelector) -> Result<(), CheckpointError> {
        match sel {
            TableSelector::Table(t) if !self.tables.contains_key(t) => Err(not_found(t)),
            _ => Ok(()),
        }
    }

    pub fn ignore_error(&mut self, sel: &TableSelector, now: i64) -> Result<(), CheckpointError> {
        self.check_selected(sel)?;
        let selected = self.tables.iter_mut().filter(|(n, _)| sel.matches(n));
        for t in selected.map(|(_, t)| t) {
            let cp = &mut t.checkpoint;
            let mut touched = false;
            if cp.status.is_failed() {
                cp.status = CheckpointStatus::LOADED;
                touched = true;
            }
            for e in cp.engines.values_mut().filter(|e| e.status.is_failed()) {
                e.status = CheckpointStatus::LOADED;
                touched = true;
            }
            if touched {
                t.update_time = now;
            }
        }
        Ok(())
    }

    pub fn destroy_error(
        &mut self,
        sel: &TableSelector,
    ) -> Result<Vec<DestroyedTable>, CheckpointError> {
        self.check_selected(sel)?;
        let destroyed: Vec<DestroyedTable> = self
            .tables
            .iter()
            .filter(|(n, t)| sel.matches(n) && t.checkpoint.status.is_failed())
            .map(|(n, t)| {
                let ids = &t.checkpoint.engines;
                DestroyedTable {
                    table_name: n.clone(),
                    min_engine_id: ids.keys().next().copied().unwrap_or(0),
                    max_engine_id: ids.keys().next_back().copied().unwrap_or(-1),
                }
            })
            .collect();
        for d in &destroyed {
            self.tables.remove(&d.table_name);
        }
        Ok(destroyed)
    }

    pub fn local_storing_tables(&self) -> BTreeMap<String, Vec<i32>> {
        let live = |s: CheckpointStatus, below: CheckpointStatus| !s.is_failed() && s < below;
        let mut out = BTreeMap::new();
        for (name, t) in &self.tables {
            let cp = &t.checkpoint;
            if !live(cp.status, CheckpointStatus::INDEX_IMPORTED) {
                continue;
            }
            let ids: Vec<i32> = cp
                .engines
                .iter()
                .filter(|(_, e)| live(e.status, CheckpointStatus::IMPORTED))
                .filter(|(_, e)| e.chunks.iter().any(|c| c.chunk.offset > c.key.offset))
                .map(|(id, _)| *id)
                .collect();
            if !ids.is_empty() {
                out.insert(name.clone(), ids);
            }
        }
        out
    }

    pub fn dump_rows(&self) -> DumpRows {
        let mut rows = DumpRows::default();
        for (name, t) in &self.tables {
            let cp = &t.checkpoint;
            let (created, updated) = (
                format_unix_utc(t.create_time),
                format_unix_utc(t.update_time),
            );
            rows.tables.push(vec![
                t.task_id.to_string(),
                name.clone(),
                cp.hash.to_hex(),
                cp.status.0.to_string(),
                created.clone(),
                updated.clone(),
                cp.auto_rand_base.to_string(),
                cp.auto_incr_base.to_string(),
                cp.auto_row_id_base.to_string(),
            ]);
            for (id, e) in &cp.engines {
                rows.engines.push(vec![
                    name.clone(),
                    id.to_string(),
                    e.status.0.to_string(),
                    created.clone(),
                    updated.clone(),
                ]);
                for c in &e.chunks {
                    let perm = serde_json::to_string(&c.column_permutation).unwrap_or_default();
                    rows.chunks.push(vec![
                        name.clone(),
                        id.to_string(),
                        c.key.path.clone(),
                        c.key.offset.to_string(),
                        c.file.file_type.to_string(),
                        c.file.compression.to_string(),
                        c.file.sort_key.clone(),
                        c.file.file_size.to_string(),
                        perm,
                        c.chunk.offset.to_string(),
                        c.chunk.real_offset.to_string(),
                        c.chunk.end_offset.to_string(),
                        c.chunk.prev_rowid_max.to_string(),
                        c.chunk.rowid_max.to_string(),
                        c.checksum.bytes.to_string(),
                        c.checksum.kvs.to_string(),
                        c.checksum.crc.to_string(),
                        format_unix_utc(c.timestamp),
                        updated.clone(),
                    ]);
                }
            }
        }
        rows
    }
}
