//! Chunks of one engine, `region-concurrency` at once across tables: each is read, parsed
//! and encoded on a blocking thread (`reader`, the backend's encoder), and the encoded
//! units cross a bounded channel to the backend's writer on the I/O runtime, which
//! records progress as its writes become durable. Where the backend allows it
//! (`parallel_units`), region slots no chunk waits for lend a chunk extra writers, so
//! the last chunks of an import do not run one writer each while slots sit idle. Memory
//! per chunk is a few units whatever the file size.

use crate::backend::{Backend, ChunkProgress, ChunkRecorder, TableRun, UnitDone};
use crate::checkpoint;
use crate::limits::join_all;
use crate::reader::{read_chunk, ChunkRead};
use crate::LightningError;
use lightning_source::Chunk;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Units buffered between a chunk's encoder and its writer.
const CHANNEL_UNITS: usize = 4;

/// Writes every unfinished chunk of one engine; returns rows written and source bytes read.
pub(super) async fn encode_engine<B: Backend>(
    run: &Arc<TableRun<B>>,
    engine_id: i32,
    data: &B::Engine,
    index: Option<&B::Engine>,
    chunks: Vec<Chunk>,
) -> Result<(u64, u64), LightningError> {
    let mut set = JoinSet::new();
    for chunk in chunks {
        let start = run.progress_of(&chunk);
        if start.pos >= chunk.end {
            continue;
        }
        if start.pos > chunk.offset {
            tracing::info!(table = %run.name, chunk = %checkpoint::chunk_key(&chunk), pos = start.pos, "resuming chunk");
        }
        let (run, data, index) = (run.clone(), data.clone(), index.cloned());
        set.spawn(async move {
            let res = import_chunk(&run, engine_id, data, index, chunk, start).await;
            crate::status::chunk_ended(&run.name, &res);
            res
        });
    }
    let (mut rows, mut bytes) = (0, 0);
    match join_all(&mut set, &run.ctx.stop, |(r, b)| {
        rows += r;
        bytes += b;
    })
    .await
    {
        Some(e) => Err(e),
        None => Ok((rows, bytes)),
    }
}

/// One chunk: a blocking thread reads and encodes, this task delivers and records.
async fn import_chunk<B: Backend>(
    run: &Arc<TableRun<B>>,
    engine_id: i32,
    data: B::Engine,
    index: Option<B::Engine>,
    chunk: Chunk,
    start: ChunkProgress,
) -> Result<(u64, u64), LightningError> {
    let ctx = &run.ctx;
    crate::pause::pauser().wait(&ctx.stop).await;
    let _permit = ctx.region.acquire(run.slot_key, &ctx.stop).await?;
    let _busy = crate::status::chunk_running();
    let key = checkpoint::chunk_key(&chunk);
    let (end, offset) = (chunk.end, chunk.offset);
    let (tx, mut rx) = mpsc::channel::<B::Unit>(CHANNEL_UNITS);
    let reader_run = run.clone();
    let producer = tokio::task::spawn_blocking(move || {
        let run = &reader_run;
        let c = &run.ctx;
        let mut encoder = B::encoder(run, &data, index.as_ref(), &chunk, start)?;
        let job = ChunkRead::new(
            &chunk, &c.formats, &c.cfg, &c.errors, &c.io, &c.stop, start.pos,
        );
        let read = read_chunk(job, &mut encoder, &tx);
        B::end_encoder(run, encoder, read)
    });
    let mut rec = ChunkRecorder::new(run, engine_id, key, start);
    let delivered = match B::parallel_units(run) {
        Some(every) => deliver_parallel(run, &mut rx, &mut rec, every).await,
        None => {
            async {
                let mut writer = B::writer(run).await?;
                while let Some(unit) = rx.recv().await {
                    B::deliver(run, &mut writer, unit, &mut rec).await?;
                }
                Ok::<(), LightningError>(())
            }
            .await
        }
    };
    // Closing the channel makes a reader still sending stop with `Cancelled`.
    drop(rx);
    if delivered.is_err() && rec.dirty {
        // Stopped or failed: keep the progress made (the table may resume later).
        let p = rec.progress;
        if let Err(e) = rec.save(p).await {
            tracing::warn!(table = %run.name, chunk = %rec.key, error = %e, "could not save the chunk position");
        }
    }
    let produced = producer
        .await
        .map_err(|e| LightningError::Internal(e.to_string()))?;
    delivered?;
    let (read, done) = produced?;
    // What no row spans (statement heads, separators, the tail) is done too.
    let tail = if end == u64::MAX { offset + read } else { end };
    let reported = rec.counted + done.restored;
    let span = tail.saturating_sub(start.pos);
    crate::status::restored(&run.name, span.saturating_sub(reported), 0);
    // The whole chunk is in: record its end (compressed chunks end at `u64::MAX`).
    let mut last = done.last.unwrap_or(rec.progress);
    last.pos = end;
    last.inflight_end = end;
    rec.save(last).await?;
    Ok((done.rows.unwrap_or(rec.rows), read))
}

/// Delivers a chunk's units with its own writer plus one more for each spare region slot
/// it gets ([`crate::limits::FairSlots::try_spare`]: while no chunk waits for a slot, and
/// units queue up for a writer), sending them in parallel. Records, at most `every`, the
/// end of the longest run of units all sent; a resume replays the rest. A spare writer
/// gives its slot back as soon as a chunk waits for one.
async fn deliver_parallel<B: Backend>(
    run: &Arc<TableRun<B>>,
    rx: &mut mpsc::Receiver<B::Unit>,
    rec: &mut ChunkRecorder<'_, B>,
    every: Duration,
) -> Result<(), LightningError> {
    let ctx = &run.ctx;
    // Writer `i` holds `spares[i]` (none for the chunk's own, writer 0).
    let mut spares = vec![None];
    let mut idle = vec![(0usize, B::writer(run).await?)];
    let mut busy = JoinSet::new();
    let mut sent = InOrder::default();
    let mut next = 0u64;
    let (mut open, mut lend) = (true, true);
    loop {
        if lend && open && idle.is_empty() && !rx.is_empty() {
            if let Some(slot) = ctx.region.try_spare(run.slot_key) {
                // A spare is a bonus: without a connection for it, go on without it.
                match B::writer(run).await {
                    Ok(writer) => {
                        idle.push((spares.len(), writer));
                        spares.push(Some(slot));
                        tracing::info!(table = %run.name, chunk = %rec.key, writers = spares.len(), "a spare region slot lends the chunk a writer");
                    }
                    Err(e) => {
                        tracing::warn!(table = %run.name, chunk = %rec.key, error = %e, "no connection for a spare writer; the chunk goes on with those it has");
                        lend = false;
                    }
                }
            }
        }
        tokio::select! {
            unit = rx.recv(), if open && !idle.is_empty() => {
                let Some(unit) = unit else {
                    open = false;
                    continue;
                };
                let Some((lane, mut writer)) = idle.pop() else {
                    continue;
                };
                let (run, seq) = (run.clone(), next);
                next += 1;
                busy.spawn(async move {
                    let res = B::send(&run, &mut writer, unit).await;
                    (lane, seq, writer, res)
                });
            }
            joined = busy.join_next(), if !busy.is_empty() => {
                let Some(joined) = joined else { continue };
                let (lane, seq, writer, res) =
                    joined.map_err(|e| LightningError::Internal(e.to_string()))?;
                let done = res?;
                rec.rows += done.rows;
                rec.restored(done.bytes, done.rows);
                let (p, rejected) = sent.push(seq, done, rec.progress);
                if p != rec.progress {
                    rec.save_at_most_every(p, every).await?;
                }
                ctx.errors.refuse(rejected)?;
                if lane > 0 && ctx.region.contended() {
                    // Another chunk waits: give the spare slot back.
                    spares[lane] = None;
                } else {
                    idle.push((lane, writer));
                }
            }
            else => break,
        }
    }
    Ok(())
}

/// Units sent in parallel, applied to the chunk's progress in their order: a unit counts
/// once every unit before it is sent too, so the recorded position never passes a unit
/// still in flight.
#[derive(Default)]
struct InOrder {
    /// The first unit not applied yet.
    next: u64,
    /// Units sent but waiting for an earlier one.
    waiting: BTreeMap<u64, UnitDone>,
}

impl InOrder {
    /// Unit `seq` was sent: returns `p` advanced over every unit now applicable, and the
    /// rows those units' targets refused.
    fn push(
        &mut self,
        seq: u64,
        done: UnitDone,
        mut p: ChunkProgress,
    ) -> (ChunkProgress, Vec<lightning_backend::RejectedRow>) {
        self.waiting.insert(seq, done);
        let mut rejected = Vec::new();
        while let Some(mut d) = self.waiting.remove(&self.next) {
            p = p.after(&d);
            rejected.append(&mut d.rejected);
            self.next += 1;
        }
        (p, rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(end: u64, rows: u64) -> UnitDone {
        UnitDone {
            end,
            row_ids: rows,
            rows,
            bytes: rows * 10,
            rejected: Vec::new(),
        }
    }

    #[test]
    fn progress_only_passes_units_all_sent_before_it() {
        let mut order = InOrder::default();
        let start = ChunkProgress {
            pos: 100,
            inflight_end: 100,
            row_id: 5,
            ..ChunkProgress::default()
        };
        // Units 0..3 end at 200, 300, 400; 2 and 1 come back before 0.
        let (p, _) = order.push(2, unit(400, 3), start);
        assert_eq!(p, start);
        let (p, _) = order.push(1, unit(300, 2), p);
        assert_eq!(p, start, "unit 0 is still in flight");
        let (p, _) = order.push(0, unit(200, 1), p);
        assert_eq!((p.pos, p.inflight_end, p.row_id), (400, 400, 11));
        assert_eq!((p.checksum.kvs, p.checksum.bytes), (6, 60));
        let (q, _) = order.push(4, unit(600, 1), p);
        assert_eq!(q, p, "unit 3 is missing");
        let (q, _) = order.push(3, unit(500, 1), q);
        assert_eq!(q.pos, 600);
    }
}
