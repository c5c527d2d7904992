//! The local backend's row encoder: parsed rows → TiDB key-value pairs, written straight
//! into the table's engines (record pairs to the chunk's data engine, index pairs to the
//! index engine) on the chunk's reader thread, with the local checksum and the largest ids.
//!
//! Checkpoints: every `save_every` the encoder flushes both engine writers (the pairs so far
//! become durable) and hands a [`ChunkProgress`] to the chunk's async side, which records
//! it. A resumed chunk re-encodes the rows after its recorded position with the same row
//! ids, so the same pairs under the same sequences, which the engine counts once.

use crate::backend::ChunkProgress;
use crate::limits::ErrorBudget;
use crate::progress::Counters;
use crate::LightningError;
use lightning_backend::{BackendError, RejectedRow, RowEncoder};
use lightning_encode::{Encoder, KvPairs};
use lightning_engine::{EngineError, EngineWriter};
use lightning_parser::RowBatch;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Encodes one chunk's rows into engine writers. Row ids are `row_id + 1, + 2, …` from the
/// chunk's recorded progress, in row order, as upstream's chunk row ids.
pub(crate) struct KvEncoder<'t> {
    pub enc: Encoder<'t>,
    pub data: EngineWriter,
    pub index: EngineWriter,
    pub file: String,
    /// The table's unique name, for progress and metrics.
    table: String,
    /// Progress so far (rows encoded; durable once flushed).
    pub progress: ChunkProgress,
    /// Where the chunk started, in this run.
    pub start: u64,
    /// Rows encoded by this run.
    pub rows: u64,
    /// The engine error behind a failed `encode`, kept with its type for the caller.
    pub engine_error: Option<EngineError>,
    /// The `max-error` overflow behind a failed `encode`, kept whole for the caller.
    pub budget_error: Option<LightningError>,
    /// How often to flush and report progress; `None` without checkpoints.
    save_every: Option<Duration>,
    saved_at: Instant,
    errors: Arc<ErrorBudget>,
    columns: Option<Vec<String>>,
    kvs: KvPairs,
    counters: Arc<Counters>,
    /// Held (shared) while a batch is written; `disk-quota` takes it exclusively while it
    /// imports engines early, so the engines stop growing meanwhile.
    gate: Arc<tokio::sync::RwLock<()>>,
}

impl<'t> KvEncoder<'t> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        enc: Encoder<'t>,
        data: EngineWriter,
        index: EngineWriter,
        file: String,
        table: String,
        start: ChunkProgress,
        save_every: Option<Duration>,
        errors: Arc<ErrorBudget>,
        counters: Arc<Counters>,
        gate: Arc<tokio::sync::RwLock<()>>,
    ) -> Self {
        KvEncoder {
            enc,
            data,
            index,
            file,
            table,
            progress: start,
            start: start.pos,
            rows: 0,
            engine_error: None,
            budget_error: None,
            save_every,
            saved_at: Instant::now(),
            errors,
            columns: None,
            kvs: KvPairs::new(),
            counters,
            gate,
        }
    }

    /// Makes every pair appended so far durable; the progress it stands for.
    pub(crate) fn make_durable(&mut self) -> Result<ChunkProgress, EngineError> {
        self.data.flush()?;
        self.index.flush()?;
        self.saved_at = Instant::now();
        Ok(self.progress)
    }

    fn engine_failed(&mut self, e: EngineError) -> BackendError {
        let msg = format!("{}: writing the local engine failed: {e}", self.file);
        self.engine_error = Some(e);
        BackendError::Schema(msg)
    }
}

impl RowEncoder for KvEncoder<'_> {
    /// Progress to record: pairs go to the engines on this thread.
    type Encoded = ChunkProgress;

    fn encode(
        &mut self,
        batch: &RowBatch,
        out: &mut Vec<ChunkProgress>,
    ) -> Result<(), BackendError> {
        if batch.columns != self.columns {
            self.enc
                .set_columns(batch.columns.as_deref())
                .map_err(|e| BackendError::Encode {
                    file: self.file.clone(),
                    end_offset: batch.rows().next().map_or(0, |r| r.end_offset()),
                    message: e.to_string(),
                })?;
            self.columns.clone_from(&batch.columns);
        }
        let gate = self.gate.clone();
        let _writing = gate.blocking_read();
        let mut fields = Vec::new();
        let start = self.progress.pos;
        let (mut pairs, mut pair_bytes) = (0u64, 0u64);
        for row in batch.rows() {
            fields.clear();
            fields.extend(row.fields());
            // A row that cannot be encoded still uses its row id, as upstream.
            self.progress.row_id += 1;
            let row_id = self.progress.row_id as i64;
            self.progress.pos = row.end_offset();
            self.kvs.clear();
            if let Err(e) = self.enc.encode_row(&fields, row_id, &mut self.kvs) {
                // Counted against `max-error` (type errors), logged with file and offset.
                let refused = self.errors.refuse(vec![RejectedRow {
                    file: self.file.clone(),
                    end_offset: row.end_offset(),
                    code: 0,
                    message: e.to_string(),
                }]);
                if let Err(over) = refused {
                    let msg = over.to_string();
                    self.budget_error = Some(over);
                    return Err(BackendError::Schema(msg));
                }
                continue;
            }
            for p in self.kvs.iter() {
                self.progress.checksum.update(p.key, p.value);
                pairs += 1;
                pair_bytes += (p.key.len() + p.value.len()) as u64;
            }
            let seq = row_id as u64;
            let written = self
                .data
                .append_records(&self.kvs, seq)
                .and_then(|()| self.index.append_indexes(&self.kvs, seq));
            if let Err(e) = written {
                return Err(self.engine_failed(e));
            }
            self.rows += 1;
        }
        self.progress.max_ids.row_id = self.progress.max_ids.row_id.max(self.enc.max_ids.row_id);
        self.progress.max_ids.auto_random = self
            .progress
            .max_ids
            .auto_random
            .max(self.enc.max_ids.auto_random);
        let c = &self.counters;
        let read = self.progress.pos.saturating_sub(start);
        c.bytes.fetch_add(read, Ordering::Relaxed);
        c.rows.fetch_add(batch.len() as u64, Ordering::Relaxed);
        crate::status::restored(&self.table, read, batch.len() as u64);
        let m = crate::metrics::metrics();
        crate::metrics::Metrics::inc(&m.kv_pairs, "written", pairs);
        crate::metrics::Metrics::inc(&m.bytes, "written", pair_bytes);
        if self
            .save_every
            .is_some_and(|every| self.saved_at.elapsed() >= every)
        {
            match self.make_durable() {
                Ok(p) => out.push(p),
                Err(e) => return Err(self.engine_failed(e)),
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Option<ChunkProgress> {
        None
    }
}
