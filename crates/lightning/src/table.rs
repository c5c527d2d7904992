//! Importing one table: its chunks in parallel, each a reader thread feeding a writer.

use crate::checkpoint::{self, Checkpoints, ChunkState};
use crate::deferred::DeferredIndexes;
use crate::limits::{join_all, BlockingSemaphore, ErrorBudget, FairSlots, StopFlag};
use crate::progress::Counters;
use crate::reader::{read_chunk, ChunkRead, Formats};
use crate::LightningError;
use lightning_backend::tidb::{
    OnDuplicate, SqlBatch, SqlEncoder, SqlEncoderOptions, TargetTable, TidbTarget,
};
use lightning_backend::RowWriter;
use lightning_checkpoint::{
    unique_table_name, CheckpointStatus, CheckpointUpdate, Checksum, ChunkCheckpoint, ChunkKey,
    EngineCheckpoint, TableCheckpoint,
};
use lightning_source::{Chunk, TableSource};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Encoded statements buffered between a chunk's reader and its writer: with batches of
/// `logical-import-batch-size`, the memory of a chunk in flight is a few batches.
const CHANNEL_UNITS: usize = 4;

/// How often a chunk of a table with a primary or unique key records its position (a
/// key-less table records it around every batch, see `checkpoint`).
const KEYED_SAVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Hands each table import its [`FairSlots`] key.
static NEXT_SLOT_KEY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What every table import shares.
pub(crate) struct Ctx {
    pub cfg: Arc<lightning_config::Config>,
    pub target: TidbTarget,
    pub region: FairSlots,
    pub io: BlockingSemaphore,
    pub stop: Arc<StopFlag>,
    pub counters: Arc<Counters>,
    pub encoder: SqlEncoderOptions,
    pub formats: Formats,
    pub refused: ErrorBudget,
    pub cp: Checkpoints,
    /// Where secondary indexes deferred to the end of their table are recorded.
    pub deferred: Option<DeferredIndexes>,
}

/// Rows and source bytes one table import wrote.
pub(crate) struct TableDone {
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// The checkpoint says the table was finished by an earlier run.
    pub skipped: bool,
}

/// What every chunk of one table shares.
struct TableJob {
    table: Arc<TargetTable>,
    /// Unique name, as checkpoints know the table.
    name: String,
    /// With a primary or unique key (see `checkpoint`: how a replayed window is handled).
    keyed: bool,
    /// An earlier run of this task started the table: any chunk may have committed a batch
    /// its checkpoint does not show yet.
    resumed: bool,
    /// For a table without unique key: held across "record in flight, send, record done".
    serial: tokio::sync::Mutex<()>,
    /// Names the table to [`FairSlots`].
    slot_key: usize,
}

/// Imports every chunk of `src` into `table`, resuming from its checkpoint. A failure other
/// than a stop is recorded in the checkpoint, so the next run refuses the table until
/// `tidb-lightning-ctl` clears it.
pub(crate) async fn import_table(
    ctx: Arc<Ctx>,
    src: TableSource,
    table: Arc<TargetTable>,
) -> Result<TableDone, LightningError> {
    let name = unique_table_name(&table.db, &table.name);
    let cp = ctx.cp.store.get(&name).await?;
    if cp.status >= checkpoint::FINISHED {
        tracing::info!(table = %name, "table finished by an earlier run; skipped");
        crate::status::table_ended(&name, &Ok(()));
        return Ok(TableDone {
            rows: 0,
            bytes: 0,
            seconds: 0.0,
            skipped: true,
        });
    }
    let (db, table_name) = (table.db.clone(), table.name.clone());
    let started = Instant::now();
    let mut res = import_table_inner(ctx.clone(), src, table, &name, cp).await;
    if let (Ok(_), Some(d)) = (&res, &ctx.deferred) {
        // Before the table is marked finished: a kill here adds them on the next run.
        if let Err(e) = d.add_missing(&ctx.target, &db, &table_name).await {
            res = Err(e);
        }
    }
    if res.is_ok() {
        crate::status::table_state("written");
        let m = crate::metrics::metrics();
        m.import_seconds.observe(started.elapsed().as_secs_f64());
    }
    crate::status::table_ended(&name, &res);
    match &res {
        Ok(_) => ctx.cp.save_status(&name, checkpoint::FINISHED).await?,
        Err(LightningError::Cancelled) => {}
        Err(e) => {
            tracing::error!(table = %name, error = %e, "table failed; recording it in the checkpoint");
            if let Err(e2) = ctx
                .cp
                .save_status(&name, CheckpointStatus::LOADED.into_failed())
                .await
            {
                tracing::error!(table = %name, error = %e2, "could not record the failure");
            }
        }
    }
    res
}

async fn import_table_inner(
    ctx: Arc<Ctx>,
    src: TableSource,
    table: Arc<TargetTable>,
    name: &str,
    cp: TableCheckpoint,
) -> Result<TableDone, LightningError> {
    let started = Instant::now();
    let columns = table.columns.iter().filter(|c| !c.generated).count();
    let chunks = lightning_source::make_chunks_for_columns(&src, &ctx.cfg, columns)?;
    let keyed = checkpoint::has_unique_key(&ctx.target, &table).await?;
    let key_of = checkpoint::chunk_key;
    let mut states: BTreeMap<ChunkKey, ChunkState> = BTreeMap::new();
    match cp.engines.get(&checkpoint::ENGINE) {
        None => {
            let now = checkpoint::now_secs();
            let mut engine = EngineCheckpoint {
                status: CheckpointStatus::LOADED,
                chunks: Vec::new(),
            };
            for c in &chunks {
                let st = ChunkState {
                    pos: c.offset,
                    inflight_end: c.offset,
                    row_id: c.row_id_base,
                    rows: 0,
                    bytes: 0,
                };
                engine.chunks.push(checkpoint::new_chunk(c, now));
                states.insert(key_of(c), st);
            }
            engine.chunks.sort_by(|a, b| a.key.cmp(&b.key));
            if !keyed && ctx.cp.enabled {
                // Rows the table held before (merging imports): settling a batch in flight
                // after a crash counts rows on top of these.
                let before = checkpoint::count_rows(&ctx.target, &table).await?;
                ctx.cp
                    .save(
                        name,
                        CheckpointUpdate::TableChecksum(Checksum {
                            crc: 0,
                            kvs: before,
                            bytes: 0,
                        }),
                    )
                    .await?;
            }
            ctx.cp
                .store
                .insert_engines(name, &BTreeMap::from([(checkpoint::ENGINE, engine)]))
                .await?;
        }
        Some(engine) => {
            for c in &engine.chunks {
                let pos = checkpoint::from_i64(c.chunk.offset);
                states.insert(
                    c.key.clone(),
                    ChunkState {
                        pos,
                        inflight_end: checkpoint::from_i64(c.chunk.real_offset).max(pos),
                        row_id: checkpoint::from_i64(c.chunk.prev_rowid_max),
                        rows: c.checksum.kvs,
                        bytes: c.checksum.bytes,
                    },
                );
            }
            for c in &chunks {
                if !states.contains_key(&key_of(c)) {
                    return Err(checkpoint::layout_changed(name, &key_of(c)));
                }
            }
            if !keyed {
                let before = cp.checksum.kvs;
                settle_inflight(
                    &ctx,
                    &table,
                    name,
                    before,
                    &mut states,
                    engine.chunks.iter(),
                )
                .await?;
            }
        }
    }
    tracing::info!(table = %name, chunks = chunks.len(), bytes = src.total_size, keyed, "importing table");
    let positions = chunks.iter().map(|c| (c, states[&key_of(c)].pos));
    crate::status::table_chunks(name, positions);
    let job = Arc::new(TableJob {
        table,
        name: name.to_string(),
        keyed,
        resumed: cp.engines.contains_key(&checkpoint::ENGINE),
        serial: tokio::sync::Mutex::new(()),
        slot_key: NEXT_SLOT_KEY.fetch_add(1, Ordering::Relaxed),
    });
    let mut set = JoinSet::new();
    for chunk in chunks {
        let st = states[&key_of(&chunk)];
        if st.pos >= chunk.end {
            continue;
        }
        let (ctx, job) = (ctx.clone(), job.clone());
        set.spawn(async move {
            let res = import_chunk(ctx, job.clone(), chunk, st).await;
            crate::status::chunk_ended(&job.name, &res);
            res
        });
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
            skipped: false,
        }),
    }
}

/// For a table without unique key, decides whether the one batch recorded as in flight
/// committed: the table holds the rows of every recorded batch, plus those of the in-flight
/// one if it committed (nothing else writes the table while it is imported).
async fn settle_inflight<'a>(
    ctx: &Ctx,
    table: &TargetTable,
    name: &str,
    before: u64,
    states: &mut BTreeMap<ChunkKey, ChunkState>,
    stored: impl Iterator<Item = &'a ChunkCheckpoint>,
) -> Result<(), LightningError> {
    let recorded: u64 = before + states.values().map(|s| s.rows).sum::<u64>();
    let inflight: Vec<(ChunkKey, u64)> = stored
        .filter(|c| c.chunk.real_offset > c.chunk.offset)
        .map(|c| (c.key.clone(), c.checksum.crc))
        .collect();
    let actual = checkpoint::count_rows(&ctx.target, table).await?;
    match inflight.as_slice() {
        [] if actual == recorded => Ok(()),
        [(key, n)] if actual == recorded || actual == recorded + n => {
            let st = states.get_mut(key).ok_or_else(|| LightningError::Internal("in-flight chunk".into()))?;
            if actual == recorded + n {
                tracing::info!(table = %name, chunk = %key, rows = n, "the batch in flight at the crash was committed");
                st.pos = st.inflight_end;
                st.rows += n;
            } else {
                tracing::info!(table = %name, chunk = %key, "the batch in flight at the crash was not committed");
                st.inflight_end = st.pos;
            }
            ctx.cp.save_chunk(name, key, st).await
        }
        _ => Err(LightningError::Unsupported(format!(
            "table {name} has {actual} rows but its checkpoint accounts for {recorded} (and {} in flight); it was changed outside this import. Run `tidb-lightning-ctl --checkpoint-error-destroy='{name}'` or `--checkpoint-remove='{name}'` (and drop the table) to import it from scratch",
            inflight.iter().map(|i| i.1).sum::<u64>()
        ))),
    }
}

/// One chunk: a blocking reader thread encodes, this task writes and records progress
/// after every batch (see `checkpoint` for why this is exactly-once). Returns rows
/// written and source bytes read.
async fn import_chunk(
    ctx: Arc<Ctx>,
    job: Arc<TableJob>,
    chunk: Chunk,
    mut st: ChunkState,
) -> Result<(u64, u64), LightningError> {
    crate::pause::pauser().wait(&ctx.stop).await;
    let _permit = ctx.region.acquire(job.slot_key, &ctx.stop).await?;
    let _busy = crate::status::chunk_running();
    let table = job.table.clone();
    let key = ChunkKey {
        path: chunk.file.rel.clone(),
        offset: chunk.offset as i64,
    };
    let mut opts = ctx.encoder.clone();
    if job.resumed && job.keyed && opts.on_duplicate == OnDuplicate::Error {
        // The rows just past the saved position may be in the table already (committed,
        // then killed before the position was saved): write them again with REPLACE.
        opts.on_duplicate = OnDuplicate::Replace;
    }
    if st.pos > chunk.offset {
        tracing::info!(table = %job.name, chunk = %key, pos = st.pos, "resuming chunk");
    }
    let (tx, mut rx) = mpsc::channel::<SqlBatch>(CHANNEL_UNITS);
    let mut encoder = SqlEncoder::new(table.clone(), opts, &chunk.file.rel, st.pos);
    let reader_ctx = ctx.clone();
    let skip_through = st.pos;
    let (end, chunk_offset) = (chunk.end, chunk.offset);
    let mut counted = 0;
    let producer = tokio::task::spawn_blocking(move || {
        let c = &reader_ctx;
        let job = ChunkRead::new(
            &chunk,
            &c.formats,
            &c.cfg,
            &c.refused,
            &c.io,
            &c.stop,
            skip_through,
        );
        read_chunk(job, &mut encoder, &tx)
    });
    let mut dirty = false;
    let written = async {
        let mut saved_at = Instant::now();
        let mut writer = ctx.target.writer(table).await?;
        let mut rows = 0;
        while let Some(unit) = rx.recv().await {
            let Some(&(_, batch_end)) = unit.rows.last() else {
                continue;
            };
            let n = unit.rows.len() as u64;
            // Paused: hold the batch before anything of it is recorded or sent; a stop
            // ends the wait and the batch is not sent.
            let paused = crate::pause::pauser().wait(&ctx.stop).await;
            if ctx.stop.is_stopped() {
                return Err(LightningError::Cancelled);
            }
            if paused {
                // The connection sat idle for as long as the pause: past the server's
                // `wait_timeout` it is gone, and nothing of this batch was sent yet.
                writer.check_alive().await?;
            }
            let _serial = if job.keyed || !ctx.cp.enabled {
                None
            } else {
                let guard = job.serial.lock().await;
                let mut inflight = st;
                inflight.inflight_end = batch_end;
                ctx.cp
                    .save_chunk_inflight(&job.name, &key, &inflight, n)
                    .await?;
                Some(guard)
            };
            let sent = Instant::now();
            let size = unit.sql.len() as u64;
            let report = writer.write(unit).await?;
            let m = crate::metrics::metrics();
            m.block_deliver_seconds
                .observe(sent.elapsed().as_secs_f64());
            m.block_deliver_bytes
                .with_label_values(&["data"])
                .observe(size as f64);
            m.block_deliver_kv_pairs
                .with_label_values(&["data"])
                .observe(n as f64);
            crate::metrics::Metrics::inc(&m.bytes, "written", size);
            crash_point_after_commit();
            st.pos = batch_end;
            st.inflight_end = batch_end;
            st.row_id += n;
            st.rows += report.rows;
            st.bytes += report.bytes;
            if job.keyed && saved_at.elapsed() < KEYED_SAVE_INTERVAL {
                // A keyed table replays whatever lies past its saved position with
                // REPLACE, so its position need not be saved after every batch.
                dirty = true;
            } else {
                ctx.cp.save_chunk(&job.name, &key, &st).await?;
                saved_at = Instant::now();
                dirty = false;
            }
            drop(_serial);
            rows += report.rows;
            ctx.counters
                .bytes
                .fetch_add(report.bytes, Ordering::Relaxed);
            ctx.counters.rows.fetch_add(report.rows, Ordering::Relaxed);
            crate::status::restored(&job.name, report.bytes, report.rows);
            counted += report.bytes;
            ctx.refused.refuse(report.rejected)?;
        }
        Ok::<u64, LightningError>(rows)
    }
    .await;
    // Closing the channel makes a reader still sending stop with `Cancelled`.
    drop(rx);
    if written.is_err() && dirty {
        // Stopped or failed: keep the progress made (the table may resume later).
        if let Err(e) = ctx.cp.save_chunk(&job.name, &key, &st).await {
            tracing::warn!(table = %job.name, chunk = %key, error = %e, "could not save the chunk position");
        }
    }
    let read = producer
        .await
        .map_err(|e| LightningError::Internal(e.to_string()))?;
    let rows = written?;
    let read = read?;
    // What no row spans (statement heads, separators, the tail) is done too.
    let last = if end == u64::MAX {
        chunk_offset + read
    } else {
        end
    };
    let span = last.saturating_sub(skip_through);
    crate::status::restored(&job.name, span.saturating_sub(counted), 0);
    // The whole chunk is in: mark it done (compressed chunks end at `u64::MAX`).
    st.pos = end;
    st.inflight_end = end;
    ctx.cp.save_chunk(&job.name, &key, &st).await?;
    Ok((rows, read))
}

/// Test hook for the crash tests: with `TIDB_LIGHTNING_TEST_ABORT_AFTER_COMMITS=n` in the
/// environment, the process aborts right after the n-th batch it committed and before
/// that batch's position is recorded: the window a resume must replay exactly once.
fn crash_point_after_commit() {
    static LIMIT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    static COMMITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let limit = LIMIT.get_or_init(|| {
        std::env::var("TIDB_LIGHTNING_TEST_ABORT_AFTER_COMMITS")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if let Some(n) = *limit {
        if COMMITS.fetch_add(1, Ordering::SeqCst) + 1 >= n {
            eprintln!("tidb-lightning: test crash point after {n} commits");
            std::process::abort();
        }
    }
}
