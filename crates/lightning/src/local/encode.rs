//! The local backend's row encoder: parsed rows → TiDB key-value pairs, written straight
//! into the table's engines (record pairs to the data engine, index pairs to the index
//! engine) on the chunk's reader thread, with the local checksum and the largest ids.

use crate::progress::Counters;
use lightning_backend::{BackendError, RowEncoder};
use lightning_encode::{Encoder, KvChecksum, KvPairs, MaxIds};
use lightning_engine::{EngineError, EngineWriter};
use lightning_parser::RowBatch;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Encodes one chunk's rows into engine writers. Row ids are `row_id_base + 1, + 2, …`
/// in the chunk's row order, as upstream's chunk row ids.
pub(crate) struct KvEncoder<'t> {
    pub enc: Encoder<'t>,
    pub data: EngineWriter,
    pub index: EngineWriter,
    pub file: String,
    pub next_row_id: i64,
    pub checksum: KvChecksum,
    pub rows: u64,
    /// The engine error behind a failed `encode`, kept with its type for the caller.
    pub engine_error: Option<EngineError>,
    columns: Option<Vec<String>>,
    kvs: KvPairs,
    counters: Arc<Counters>,
    /// Source offset just past the last row counted in `counters`.
    counted_to: u64,
}

impl<'t> KvEncoder<'t> {
    pub(crate) fn new(
        enc: Encoder<'t>,
        data: EngineWriter,
        index: EngineWriter,
        file: String,
        chunk: &lightning_source::Chunk,
        counters: Arc<Counters>,
    ) -> Self {
        KvEncoder {
            enc,
            data,
            index,
            file,
            next_row_id: chunk.row_id_base as i64 + 1,
            checksum: KvChecksum::new(),
            rows: 0,
            engine_error: None,
            columns: None,
            kvs: KvPairs::new(),
            counters,
            counted_to: chunk.offset,
        }
    }

    /// The largest ids the rows used.
    pub(crate) fn max_ids(&self) -> MaxIds {
        self.enc.max_ids
    }
}

impl RowEncoder for KvEncoder<'_> {
    /// Nothing crosses the channel: pairs go to the engines on this thread.
    type Encoded = ();

    fn encode(&mut self, batch: &RowBatch, _out: &mut Vec<()>) -> Result<(), BackendError> {
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
        let mut fields = Vec::new();
        for row in batch.rows() {
            fields.clear();
            fields.extend(row.fields());
            let row_id = self.next_row_id;
            self.next_row_id += 1;
            self.kvs.clear();
            self.enc
                .encode_row(&fields, row_id, &mut self.kvs)
                .map_err(|e| BackendError::Encode {
                    file: self.file.clone(),
                    end_offset: row.end_offset(),
                    message: e.to_string(),
                })?;
            for p in self.kvs.iter() {
                self.checksum.update(p.key, p.value);
            }
            let seq = row_id as u64;
            let written = self
                .data
                .append_records(&self.kvs, seq)
                .and_then(|()| self.index.append_indexes(&self.kvs, seq));
            if let Err(e) = written {
                let msg = format!("{}: writing the local engine failed: {e}", self.file);
                self.engine_error = Some(e);
                return Err(BackendError::Schema(msg));
            }
            self.rows += 1;
        }
        if let Some(last) = batch.rows().last() {
            let end = last.end_offset();
            let c = &self.counters;
            c.bytes
                .fetch_add(end.saturating_sub(self.counted_to), Ordering::Relaxed);
            c.rows.fetch_add(batch.len() as u64, Ordering::Relaxed);
            self.counted_to = end;
        }
        Ok(())
    }

    fn flush(&mut self) -> Option<()> {
        None
    }
}
