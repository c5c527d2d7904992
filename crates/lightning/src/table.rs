//! Importing one table: its chunks in parallel, each a reader thread feeding a writer.

use crate::limits::{join_all, BlockingSemaphore, StopFlag};
use crate::progress::Counters;
use crate::reader::{read_chunk, ChunkRead, Format};
use crate::LightningError;
use lightning_backend::tidb::{SqlBatch, SqlEncoder, SqlEncoderOptions, TargetTable, TidbTarget};
use lightning_backend::{RejectedRow, RowWriter};
use lightning_source::{Chunk, DataFormat, TableSource};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

/// Encoded statements buffered between a chunk's reader and its writer: with batches of
/// `logical-import-batch-size`, the memory of a chunk in flight is a few batches.
const CHANNEL_UNITS: usize = 4;

/// What every table import shares.
pub(crate) struct Ctx {
    pub cfg: Arc<lightning_config::Config>,
    pub target: TidbTarget,
    pub region: Semaphore,
    pub io: BlockingSemaphore,
    pub stop: Arc<StopFlag>,
    pub counters: Arc<Counters>,
    pub encoder: SqlEncoderOptions,
    pub sql: Format,
    pub csv: Format,
    pub max_errors: u64,
    pub refused: Mutex<Refused>,
}

/// Rows the target refused so far.
#[derive(Default)]
pub(crate) struct Refused {
    pub count: u64,
    pub first: Option<RejectedRow>,
}

impl Ctx {
    /// Records refused rows; an error once more than `max-error` were refused.
    fn refuse(&self, rows: Vec<RejectedRow>) -> Result<(), LightningError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut r = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        for row in rows {
            tracing::warn!(file = %row.file, end_offset = row.end_offset, code = row.code, reason = %row.message, "row refused by the target");
            r.count += 1;
            r.first.get_or_insert(row);
        }
        if r.count > self.max_errors {
            let first = r
                .first
                .clone()
                .map(Box::new)
                .ok_or_else(|| LightningError::Internal("no refused row".into()))?;
            return Err(LightningError::TooManyErrors {
                count: r.count,
                limit: self.max_errors,
                first,
            });
        }
        Ok(())
    }
}

/// Rows and source bytes one table import wrote.
pub(crate) struct TableDone {
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
}

/// Imports every chunk of `src` into `table`.
pub(crate) async fn import_table(
    ctx: Arc<Ctx>,
    src: TableSource,
    table: Arc<TargetTable>,
) -> Result<TableDone, LightningError> {
    let started = Instant::now();
    let columns = table.columns.iter().filter(|c| !c.generated).count();
    let chunks = lightning_source::make_chunks_for_columns(&src, &ctx.cfg, columns)?;
    tracing::info!(table = %table.qualified_name(), chunks = chunks.len(), bytes = src.total_size, "importing table");
    let mut set = JoinSet::new();
    for chunk in chunks {
        set.spawn(import_chunk(ctx.clone(), table.clone(), chunk));
    }
    let (mut rows, mut bytes) = (0, 0);
    let first_err = join_all(&mut set, &ctx.stop, |(r, b)| {
        rows += r;
        bytes += b;
    })
    .await;
    match first_err {
        Some(e) => Err(e),
        None => Ok(TableDone {
            rows,
            bytes,
            seconds: started.elapsed().as_secs_f64(),
        }),
    }
}

/// One chunk: a blocking reader thread encodes, this task writes. Returns rows written
/// and source bytes read.
async fn import_chunk(
    ctx: Arc<Ctx>,
    table: Arc<TargetTable>,
    chunk: Chunk,
) -> Result<(u64, u64), LightningError> {
    let _permit = ctx
        .region
        .acquire()
        .await
        .map_err(|_| LightningError::Cancelled)?;
    if ctx.stop.is_stopped() {
        return Err(LightningError::Cancelled);
    }
    let (tx, mut rx) = mpsc::channel::<SqlBatch>(CHANNEL_UNITS);
    let mut encoder = SqlEncoder::new(
        table.clone(),
        ctx.encoder.clone(),
        &chunk.file.rel,
        chunk.offset,
    );
    let reader_ctx = ctx.clone();
    let producer = tokio::task::spawn_blocking(move || {
        let format = match chunk.file.format {
            DataFormat::Csv => &reader_ctx.csv,
            _ => &reader_ctx.sql,
        };
        let job = ChunkRead {
            chunk: &chunk,
            format,
            read_block_size: reader_ctx.cfg.mydumper.read_block_size as usize,
            io: &reader_ctx.io,
            stop: &reader_ctx.stop,
            data_charset: &reader_ctx.cfg.mydumper.data_character_set,
        };
        read_chunk(job, &mut encoder, &tx)
    });
    let written = async {
        let mut writer = ctx.target.writer(table).await?;
        let mut rows = 0;
        while let Some(unit) = rx.recv().await {
            let report = writer.write(unit).await?;
            rows += report.rows;
            ctx.counters
                .bytes
                .fetch_add(report.bytes, Ordering::Relaxed);
            ctx.counters.rows.fetch_add(report.rows, Ordering::Relaxed);
            ctx.refuse(report.rejected)?;
        }
        Ok::<u64, LightningError>(rows)
    }
    .await;
    // Closing the channel makes a reader still sending stop with `Cancelled`.
    drop(rx);
    let read = producer
        .await
        .map_err(|e| LightningError::Internal(e.to_string()))?;
    let rows = written?;
    Ok((rows, read?))
}
