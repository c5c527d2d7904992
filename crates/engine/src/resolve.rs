//! Duplicate resolution, applied wherever sorted data is written (a writer's spill, a
//! compaction, the final merge): among pairs with the same key the one with the highest
//! (sequence, write order) is kept; each other one is a *loser*, handled per
//! [`DuplicateMode`]. A pair written again under the same sequence is the same source row
//! written twice (a resumed chunk replays the rows after its last checkpoint, which may
//! already be in the engine): the later copy wins and it is no conflict.

use crate::error::{DuplicatePair, EngineError, Result};
use crate::files::{Files, Kind};
use crate::options::{DuplicateMode, EngineOptions};
use crate::run::{RunMeta, RunWriter};

/// Collects losers of one write pass.
pub(crate) struct Resolver<'a> {
    files: &'a Files,
    mode: DuplicateMode,
    block_size: usize,
    limit: usize,
    dups: Vec<DuplicatePair>,
    conflicts: Option<(u64, RunWriter)>,
}

impl<'a> Resolver<'a> {
    pub fn new(files: &'a Files, opts: &EngineOptions) -> Resolver<'a> {
        Resolver {
            files,
            mode: opts.duplicate_mode,
            block_size: opts.block_size,
            limit: opts.max_reported_duplicates,
            dups: Vec::new(),
            conflicts: None,
        }
    }

    /// Handles a dropped pair; `beaten_by` is the value and sequence of the pair that
    /// displaced it.
    pub fn loser(
        &mut self,
        key: &[u8],
        value: &[u8],
        seq: u64,
        beaten_by: (&[u8], u64),
    ) -> Result<()> {
        let (beaten_by, winner_seq) = beaten_by;
        if winner_seq == seq {
            return Ok(());
        }
        match self.mode {
            DuplicateMode::None => Ok(()),
            DuplicateMode::Error => {
                if self.dups.len() < self.limit {
                    self.dups.push(DuplicatePair {
                        key: key.to_vec(),
                        first_value: value.to_vec(),
                        second_value: beaten_by.to_vec(),
                    });
                }
                Ok(())
            }
            DuplicateMode::Replace => {
                if self.conflicts.is_none() {
                    let id = self.files.alloc();
                    let w = RunWriter::create(self.files.ctx(id, Kind::Dup), self.block_size)?;
                    self.conflicts = Some((id, w));
                }
                match &mut self.conflicts {
                    Some((_, w)) => w.add(key, value, seq),
                    None => Ok(()),
                }
            }
        }
    }

    /// True when the pass may stop early (error mode has enough duplicates to report).
    pub fn should_stop(&self) -> bool {
        self.dups.len() >= self.limit
    }

    /// Ends the pass: the duplicates error in `error` mode, else the conflict file
    /// written (fsynced when `sync`), if any.
    pub fn finish(mut self, sync: bool) -> Result<Option<RunMeta>> {
        if !self.dups.is_empty() {
            return Err(EngineError::Duplicates {
                engine: self.files.engine,
                duplicates: std::mem::take(&mut self.dups),
            });
        }
        match self.conflicts.take() {
            None => Ok(None),
            Some((id, w)) => {
                let (size, kvs, kv_bytes) = w.finish(sync)?;
                Ok(Some(RunMeta {
                    id,
                    size,
                    kvs,
                    kv_bytes,
                }))
            }
        }
    }

    /// Abandons the pass, deleting a partly written conflict file.
    pub fn abort(mut self) {
        if let Some((id, w)) = self.conflicts.take() {
            drop(w);
            let _ = self.files.remove(id, Kind::Dup);
        }
    }
}

/// Output of one write pass: the run written and its conflict file.
#[derive(Debug)]
pub(crate) struct Written {
    pub run: RunMeta,
    pub conflicts: Option<RunMeta>,
}

/// Runs `pass` writing a new run file; on any error deletes what it wrote.
pub(crate) fn write_pass(
    files: &Files,
    opts: &EngineOptions,
    sync: bool,
    pass: impl FnOnce(&mut RunWriter, &mut Resolver<'_>) -> Result<()>,
) -> Result<Written> {
    let id = files.alloc();
    let mut w = RunWriter::create(files.ctx(id, Kind::Run), opts.block_size)?;
    if sync {
        w = w.write_behind();
    }
    let mut res = Resolver::new(files, opts);
    let out = pass(&mut w, &mut res).and_then(|()| {
        let (size, kvs, kv_bytes) = w.finish(sync)?;
        Ok(RunMeta {
            id,
            size,
            kvs,
            kv_bytes,
        })
    });
    let out = match out {
        Ok(run) => res.finish(sync).map(|conflicts| Written { run, conflicts }),
        Err(e) => {
            res.abort();
            Err(e)
        }
    };
    if out.is_err() {
        let _ = files.remove(id, Kind::Run);
    }
    out
}
