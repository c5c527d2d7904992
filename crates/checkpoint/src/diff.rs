//! Progress updates and how they batch: the controller merges each [`CheckpointUpdate`]
//! into [`CheckpointDiffs`] as it happens and flushes the batch with
//! [`crate::CheckpointStore::update`] now and then (upstream's `TableCheckpointMerger`s).

use std::collections::BTreeMap;

use crate::model::{Checksum, ChunkKey, TableCheckpoint, WHOLE_TABLE_ENGINE_ID};
use crate::status::CheckpointStatus;

/// New values for one chunk.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChunkDiff {
    /// New resume position.
    pub pos: i64,
    /// New position in the file on disk.
    pub real_pos: i64,
    /// New last-used row id.
    pub row_id: i64,
    /// Checksum so far.
    pub checksum: Checksum,
    /// Column permutation.
    pub column_permutation: Vec<i32>,
}

/// Changes to one engine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineDiff {
    /// New status, if changed.
    pub status: Option<CheckpointStatus>,
    /// Chunk updates by key.
    pub chunks: BTreeMap<ChunkKey, ChunkDiff>,
}

/// Allocator bases, each only ever raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rebase {
    /// Auto-random base.
    pub auto_rand_base: i64,
    /// AUTO_INCREMENT base.
    pub auto_incr_base: i64,
    /// Row-id base.
    pub auto_row_id_base: i64,
}

impl Rebase {
    fn raise(&mut self, other: &Rebase) {
        self.auto_rand_base = self.auto_rand_base.max(other.auto_rand_base);
        self.auto_incr_base = self.auto_incr_base.max(other.auto_incr_base);
        self.auto_row_id_base = self.auto_row_id_base.max(other.auto_row_id_base);
    }
}

/// Every pending change to one table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableCheckpointDiff {
    /// New table status, if changed.
    pub status: Option<CheckpointStatus>,
    /// Raised allocator bases, if any.
    pub rebase: Option<Rebase>,
    /// New table checksum, if set.
    pub checksum: Option<Checksum>,
    /// Engine changes by id.
    pub engines: BTreeMap<i32, EngineDiff>,
}

/// One progress event, merged into a [`TableCheckpointDiff`]; later events win.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointUpdate {
    /// A status change of an engine, or of the table with [`WHOLE_TABLE_ENGINE_ID`].
    /// A failed engine status also fails the table, as upstream.
    Status {
        /// Engine id or [`WHOLE_TABLE_ENGINE_ID`].
        engine_id: i32,
        /// New status (use [`CheckpointStatus::into_failed`] for a failure).
        status: CheckpointStatus,
    },
    /// A chunk's new position and checksum.
    Chunk {
        /// Engine the chunk belongs to.
        engine_id: i32,
        /// The chunk.
        key: ChunkKey,
        /// Its new values.
        diff: ChunkDiff,
    },
    /// The table checksum taken before import.
    TableChecksum(Checksum),
    /// Raise allocator bases.
    Rebase(Rebase),
}

impl CheckpointUpdate {
    /// Folds this event into `diff`.
    pub fn merge_into(&self, diff: &mut TableCheckpointDiff) {
        match self {
            CheckpointUpdate::Status { engine_id, status } => {
                if *engine_id == WHOLE_TABLE_ENGINE_ID || status.is_failed() {
                    diff.status = Some(*status);
                }
                if *engine_id != WHOLE_TABLE_ENGINE_ID {
                    diff.engines.entry(*engine_id).or_default().status = Some(*status);
                }
            }
            CheckpointUpdate::Chunk {
                engine_id,
                key,
                diff: chunk,
            } => {
                let engine = diff.engines.entry(*engine_id).or_default();
                engine.chunks.insert(key.clone(), chunk.clone());
            }
            CheckpointUpdate::TableChecksum(c) => diff.checksum = Some(*c),
            CheckpointUpdate::Rebase(r) => diff.rebase.get_or_insert_with(Rebase::default).raise(r),
        }
    }
}

/// Pending changes of many tables, keyed by unique table name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckpointDiffs {
    /// Per table.
    pub tables: BTreeMap<String, TableCheckpointDiff>,
}

impl CheckpointDiffs {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges one event for `table`.
    pub fn merge(&mut self, table: &str, update: &CheckpointUpdate) {
        update.merge_into(self.tables.entry(table.to_string()).or_default());
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Takes the pending changes, leaving this empty (for a periodic flush).
    pub fn take(&mut self) -> CheckpointDiffs {
        std::mem::take(self)
    }
}

impl TableCheckpoint {
    /// Applies `diff`; engines and chunks it names but this checkpoint lacks are skipped.
    pub fn apply(&mut self, diff: &TableCheckpointDiff) {
        if let Some(s) = diff.status {
            self.status = s;
        }
        if let Some(r) = &diff.rebase {
            self.auto_rand_base = self.auto_rand_base.max(r.auto_rand_base);
            self.auto_incr_base = self.auto_incr_base.max(r.auto_incr_base);
            self.auto_row_id_base = self.auto_row_id_base.max(r.auto_row_id_base);
        }
        if let Some(c) = diff.checksum {
            self.checksum = c;
        }
        for (id, ed) in &diff.engines {
            let Some(engine) = self.engines.get_mut(id) else {
                continue;
            };
            if let Some(s) = ed.status {
                engine.status = s;
            }
            for (key, cd) in &ed.chunks {
                let Ok(i) = engine.chunks.binary_search_by(|c| c.key.cmp(key)) else {
                    continue;
                };
                let c = &mut engine.chunks[i];
                c.chunk.offset = cd.pos;
                c.chunk.real_offset = cd.real_pos;
                c.chunk.prev_rowid_max = cd.row_id;
                c.checksum = cd.checksum;
                c.column_permutation = cd.column_permutation.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChunkCheckpoint, EngineCheckpoint};

    fn key(p: &str) -> ChunkKey {
        ChunkKey {
            path: p.into(),
            offset: 0,
        }
    }

    #[test]
    fn engine_failure_fails_table_but_engine_progress_does_not() {
        let mut d = CheckpointDiffs::new();
        let t = "`db`.`t`";
        d.merge(
            t,
            &CheckpointUpdate::Status {
                engine_id: 0,
                status: CheckpointStatus::CLOSED,
            },
        );
        assert_eq!(d.tables[t].status, None);
        assert_eq!(
            d.tables[t].engines[&0].status,
            Some(CheckpointStatus::CLOSED)
        );
        let failed = CheckpointStatus::IMPORTED.into_failed();
        d.merge(
            t,
            &CheckpointUpdate::Status {
                engine_id: 0,
                status: failed,
            },
        );
        assert_eq!(d.tables[t].status, Some(failed));
        assert_eq!(d.tables[t].engines[&0].status, Some(failed));
        d.merge(
            t,
            &CheckpointUpdate::Status {
                engine_id: WHOLE_TABLE_ENGINE_ID,
                status: CheckpointStatus::ANALYZED,
            },
        );
        assert_eq!(d.tables[t].status, Some(CheckpointStatus::ANALYZED));
        assert!(!d.tables[t].engines.contains_key(&WHOLE_TABLE_ENGINE_ID));
    }

    #[test]
    fn later_chunk_update_wins_and_rebase_only_rises() {
        let mut d = TableCheckpointDiff::default();
        for pos in [10, 20] {
            CheckpointUpdate::Chunk {
                engine_id: 1,
                key: key("a"),
                diff: ChunkDiff {
                    pos,
                    ..Default::default()
                },
            }
            .merge_into(&mut d);
        }
        assert_eq!(d.engines[&1].chunks[&key("a")].pos, 20);
        let r = |v| Rebase {
            auto_rand_base: v,
            auto_incr_base: 100 - v,
            auto_row_id_base: v,
        };
        CheckpointUpdate::Rebase(r(70)).merge_into(&mut d);
        CheckpointUpdate::Rebase(r(40)).merge_into(&mut d);
        assert_eq!(
            d.rebase,
            Some(Rebase {
                auto_rand_base: 70,
                auto_incr_base: 60,
                auto_row_id_base: 70
            })
        );
    }

    #[test]
    fn apply_skips_unknown_engines_and_chunks() {
        let mut cp = TableCheckpoint::default();
        cp.engines.insert(
            0,
            EngineCheckpoint {
                status: CheckpointStatus::LOADED,
                chunks: vec![
                    ChunkCheckpoint {
                        key: key("a"),
                        ..Default::default()
                    },
                    ChunkCheckpoint {
                        key: key("b"),
                        ..Default::default()
                    },
                ],
            },
        );
        let mut d = TableCheckpointDiff::default();
        for (e, k) in [(0, "b"), (0, "zz"), (5, "a")] {
            CheckpointUpdate::Chunk {
                engine_id: e,
                key: key(k),
                diff: ChunkDiff {
                    pos: 9,
                    column_permutation: vec![1, 0],
                    ..Default::default()
                },
            }
            .merge_into(&mut d);
        }
        cp.apply(&d);
        assert_eq!(cp.engines.len(), 1);
        let chunks = &cp.engines[&0].chunks;
        assert_eq!((chunks[0].chunk.offset, chunks[1].chunk.offset), (0, 9));
        assert_eq!(chunks[1].column_permutation, [1, 0]);
    }
}
