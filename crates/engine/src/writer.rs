//! [`EngineWriter`]: buffers unsorted pairs, sorts and spills them as runs.
//!
//! A writer's buffer is bounded by `local-writer-mem-cache-size` and by its share of
//! `engine-mem-cache-size` (the engine budget divided among open writers); memory is
//! reserved from the engine before it is allocated. When the budget is exhausted the
//! writer spills; a writer with an empty buffer may go over budget by one pair and one
//! allocation chunk, so it always makes progress.

use crate::buffer::SortBuffer;
use crate::engine::Inner;
use crate::error::Result;
use crate::merge::write_buffer;
use crate::resolve::write_pass;
use lightning_encode::KvPairs;
use std::sync::Arc;
use uuid::Uuid;

/// Appends pairs to an engine. `Send`; use each writer from one thread at a time.
///
/// Pairs carry a caller-chosen sequence number: among pairs with the same key the one
/// with the highest sequence is kept (on a tie, the one appended last by the same
/// writer; across writers, ties are resolved deterministically but unspecified).
pub struct EngineWriter {
    inner: Arc<Inner>,
    buf: SortBuffer,
}

impl EngineWriter {
    pub(crate) fn new(inner: Arc<Inner>) -> Result<EngineWriter> {
        inner.add_writer()?;
        let chunk = inner.opts.chunk_size();
        Ok(EngineWriter {
            inner,
            buf: SortBuffer::new(chunk),
        })
    }

    /// The engine written to.
    pub fn engine_uuid(&self) -> Uuid {
        self.inner.files.engine
    }

    /// Appends one pair.
    pub fn put(&mut self, key: &[u8], value: &[u8], seq: u64) -> Result<()> {
        let len = key.len() + value.len();
        let mut extra = self.buf.extra_for(len);
        if extra > 0 {
            if !self.buf.is_empty() && self.buf.mem() + extra > self.inner.writer_limit() {
                self.spill()?;
                extra = self.buf.extra_for(len);
            }
            if !self.inner.try_reserve(extra) {
                if !self.buf.is_empty() {
                    self.spill()?;
                    extra = self.buf.extra_for(len);
                }
                if !self.inner.try_reserve(extra) {
                    self.inner.force_reserve(extra);
                }
            }
        }
        self.buf.push(key, value, seq);
        Ok(())
    }

    /// Appends every pair of an encoded batch with sequence `seq`.
    pub fn append(&mut self, pairs: &KvPairs, seq: u64) -> Result<()> {
        for p in pairs.iter() {
            self.put(p.key, p.value, seq)?;
        }
        Ok(())
    }

    /// Appends the record (row) pairs of an encoded batch: what a data engine takes.
    pub fn append_records(&mut self, pairs: &KvPairs, seq: u64) -> Result<()> {
        for p in pairs.iter().filter(|p| p.index_id.is_none()) {
            self.put(p.key, p.value, seq)?;
        }
        Ok(())
    }

    /// Appends the index pairs of an encoded batch: what an index engine takes.
    pub fn append_indexes(&mut self, pairs: &KvPairs, seq: u64) -> Result<()> {
        for p in pairs.iter().filter(|p| p.index_id.is_some()) {
            self.put(p.key, p.value, seq)?;
        }
        Ok(())
    }

    /// Appends `(key, value)` pairs with sequence `seq`.
    pub fn append_iter<I, K, V>(&mut self, pairs: I, seq: u64) -> Result<()>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        for (k, v) in pairs {
            self.put(k.as_ref(), v.as_ref(), seq)?;
        }
        Ok(())
    }

    /// Key + value bytes buffered and not yet spilled.
    pub fn buffered_bytes(&self) -> usize {
        self.buf.data_bytes()
    }

    /// Sorts the buffer and writes it as a run (not yet durable).
    fn spill(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.buf.sort();
        let buf = &self.buf;
        let inner = &self.inner;
        let res = write_pass(&inner.files, &inner.opts, false, |w, r| {
            write_buffer(buf, w, r)
        });
        // Keep the buffer's memory for the next fill unless the writer's share shrank.
        let mem = self.buf.mem();
        if mem > self.inner.writer_limit() || res.is_err() {
            self.buf.clear_free();
            self.inner.release(mem);
        } else {
            self.buf.clear_keep();
            self.inner.release(mem - self.buf.mem());
        }
        self.inner.add_pending(res?);
        Ok(())
    }

    /// Makes everything appended so far durable: after this returns, a reopened engine
    /// holds these pairs even if the process is killed.
    pub fn flush(&mut self) -> Result<()> {
        self.spill()?;
        self.inner.sync()
    }

    /// Flushes and releases the writer.
    pub fn close(mut self) -> Result<()> {
        self.flush()
    }
}

impl Drop for EngineWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            tracing::warn!(
                engine = %self.inner.files.engine,
                pairs = self.buf.len(),
                "engine writer dropped without flush; its buffered pairs are discarded"
            );
        }
        let mem = self.buf.mem();
        self.buf.clear_free();
        self.inner.release(mem);
        self.inner.remove_writer();
    }
}
