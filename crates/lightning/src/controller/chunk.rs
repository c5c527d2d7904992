//! Chunks of one engine, `region-concurrency` at once across tables: each is read, parsed
//! and encoded on a blocking thread (`reader`, the backend's encoder), and the encoded
//! units cross a bounded channel to the backend's writer on the I/O runtime, which
//! records progress as its writes become durable. Memory per chunk is a few units
//! whatever the file size.

use crate::backend::{Backend, ChunkProgress, ChunkRecorder, TableRun};
use crate::checkpoint;
use crate::limits::join_all;
use crate::reader::{read_chunk, ChunkRead};
use crate::LightningError;
use lightning_source::Chunk;
use std::sync::Arc;
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
    let delivered = async {
        let mut writer = B::writer(run).await?;
        while let Some(unit) = rx.recv().await {
            B::deliver(run, &mut writer, unit, &mut rec).await?;
        }
        Ok::<(), LightningError>(())
    }
    .await;
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
