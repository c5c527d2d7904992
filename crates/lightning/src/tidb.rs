//! The logical `tidb` backend behind the seam: rows become batched `INSERT`/`REPLACE` (or
//! `LOAD DATA`) statements (`lightning_backend::tidb`) for any MySQL-compatible server.
//! Its one engine per table holds nothing: opening, closing and importing it are no-ops,
//! every statement commits as it is written, and the post-process steps are the server's
//! (ids) or skipped (checksum, analyze), except secondary indexes deferred to the end of
//! the table (`deferred`).
//!
//! Exactly-once on resume (see `checkpoint`): a chunk's position is recorded after each
//! committed batch. A table with a primary or unique key that an earlier run started is
//! written with `REPLACE` (the replayed window is identical rows), its position recorded
//! at most once a second, at the end of its run of committed batches (spare writers may
//! commit them out of order, `parallel_units`); a key-less table records each batch as in
//! flight before sending it, one batch per table at a time, and a resume settles that
//! batch by counting rows.

use crate::backend::{
    chunk_save_interval, Backend, Capabilities, ChunkProgress, ChunkRecorder, Ctx, EncodeEnd,
    TableRun, UnitDone,
};
use crate::checkpoint;
use crate::deferred::DeferredIndexes;
use crate::{schema, LightningError};
use lightning_backend::tidb::{
    FastPath, OnDuplicate, SqlBatch, SqlEncoder, SqlEncoderOptions, SqlWriter, TargetTable,
    TidbTarget,
};
use lightning_backend::RowWriter;
use lightning_checkpoint::{ChunkCheckpoint, ChunkKey};
use lightning_config::{Config, ConflictStrategy, TikvImporter};
use lightning_encode::{KvChecksum, MaxIds};
use lightning_source::{Chunk, Dump, TableSource};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a chunk of a table with a primary or unique key records its position (a
/// key-less table records it around every batch); see `chunk_save_interval`.
fn keyed_save_interval() -> Duration {
    chunk_save_interval(Duration::from_secs(1))
}

/// The logical backend of one task.
pub(crate) struct TidbBackend {
    encoder: SqlEncoderOptions,
    /// Where secondary indexes deferred to the end of their table are recorded.
    deferred: Option<DeferredIndexes>,
    /// `add-index-by-sql` applies (tables this task creates are created without them).
    defer: bool,
}

/// A target table of the logical backend.
pub(crate) struct TidbTable {
    target: Arc<TargetTable>,
    /// With a primary or unique key: how a replayed window is handled.
    keyed: bool,
    /// For a table without unique key: held across "record in flight, send, record done".
    serial: tokio::sync::Mutex<()>,
}

fn on_duplicate(s: ConflictStrategy) -> OnDuplicate {
    match s {
        ConflictStrategy::None | ConflictStrategy::Error => OnDuplicate::Error,
        ConflictStrategy::Replace => OnDuplicate::Replace,
        ConflictStrategy::Ignore => OnDuplicate::Ignore,
    }
}

/// The fastest batch form the target takes that the config allows: MariaDB's bulk
/// execution, else `LOAD DATA LOCAL`, else none (every row an `INSERT` literal).
fn fast_path(t: &TikvImporter, target: &TidbTarget) -> Option<FastPath> {
    if t.logical_import_bulk && target.accepts_bulk() {
        Some(FastPath::Bulk)
    } else if t.logical_import_load_data && target.accepts_local_infile() {
        Some(FastPath::Load)
    } else {
        None
    }
}

impl Backend for TidbBackend {
    type Table = TidbTable;
    type Engine = ();
    type Closed = ();
    type Unit = SqlBatch;
    type Encoder<'a> = SqlEncoder;
    type Writer = SqlWriter;
    type TaskGuard = ();
    type TableGuard = ();

    async fn open(cfg: &Arc<Config>, target: &TidbTarget) -> Result<Self, LightningError> {
        let defer = cfg.tikv_importer.add_index_by_sql() && !cfg.mydumper.no_schema;
        let deferred =
            DeferredIndexes::open(target, &cfg.lightning.task_info_schema_name, defer).await?;
        let t = &cfg.tikv_importer;
        Ok(TidbBackend {
            encoder: SqlEncoderOptions {
                on_duplicate: on_duplicate(cfg.conflict.strategy),
                max_bytes: t.logical_import_batch_size.max(1) as usize,
                max_rows: t.logical_import_batch_rows.max(1) as usize,
                no_backslash_escapes: target.no_backslash_escapes(),
                fast_path: fast_path(t, target),
            },
            deferred,
            defer,
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            batched_engines: false,
            import_phase: false,
            lazy_statuses: true,
            resolves_conflicts: false,
        }
    }

    async fn create_schemas(
        &self,
        target: &TidbTarget,
        dump: &Dump,
        charset: &str,
    ) -> Result<(), LightningError> {
        let d = self.deferred.as_ref().filter(|_| self.defer);
        schema::create_tables(target, dump, charset, d).await
    }

    async fn load_table(
        &self,
        target: &TidbTarget,
        src: &TableSource,
    ) -> Result<TidbTable, LightningError> {
        let table = target.load_table(&src.db, &src.name).await?;
        let keyed = checkpoint::has_unique_key(target, &table).await?;
        Ok(TidbTable {
            target: Arc::new(table),
            keyed,
            serial: tokio::sync::Mutex::new(()),
        })
    }

    /// Upstream's tidb backend checks none; we still refuse a non-empty table without a
    /// primary or unique key, where a plain INSERT would add a second copy of rows
    /// silently. A keyed table runs, and a conflicting row is reported by the server as a
    /// duplicate key (strategy "error"), as upstream does.
    async fn refuse_not_empty(
        &self,
        target: &TidbTarget,
        _src: &TableSource,
        table: &TidbTable,
    ) -> Result<Option<String>, LightningError> {
        let refuse = self.encoder.on_duplicate == OnDuplicate::Error
            && !table.keyed
            && !target.is_empty(&table.target).await?;
        Ok(refuse.then(|| table.target.qualified_name()))
    }

    fn not_empty_hint(&self) -> &'static str {
        "they have no primary or unique key, so a plain INSERT would add a second copy of any row already there. \
         If an earlier run of this task finished, it imported them (a finished run removes its checkpoint, \
         [checkpoint] keep-after-success = \"remove\"). Otherwise empty them, or set \
         check-requirements = false to append anyway"
    }

    async fn begin_task(_ctx: &Arc<Ctx<Self>>) -> Result<(), LightningError> {
        Ok(())
    }

    async fn end_task(
        _ctx: &Arc<Ctx<Self>>,
        _guard: (),
        _failure: &mut Option<LightningError>,
    ) -> Result<(), LightningError> {
        Ok(())
    }

    fn column_count(table: &TidbTable) -> usize {
        table.target.columns.iter().filter(|c| !c.generated).count()
    }

    /// A key-less table: the rows it held before (merging imports), which settling a
    /// batch in flight after a crash counts on top of.
    async fn before_first_run(run: &TableRun<Self>) -> Result<Option<KvChecksum>, LightningError> {
        let ctx = &run.ctx;
        if run.table.keyed || !ctx.cp.enabled {
            return Ok(None);
        }
        let rows = checkpoint::count_rows(&ctx.target, &run.table.target).await?;
        Ok(Some(KvChecksum {
            crc: 0,
            kvs: rows,
            bytes: 0,
        }))
    }

    async fn resume(
        run: &TableRun<Self>,
        before: &KvChecksum,
        stored: &[&ChunkCheckpoint],
    ) -> Result<(), LightningError> {
        if run.table.keyed {
            return Ok(());
        }
        settle_inflight(run, before.kvs, stored).await
    }

    async fn begin_table(_run: &TableRun<Self>, _ingest: bool) -> Result<(), LightningError> {
        Ok(())
    }

    async fn end_table(_run: &TableRun<Self>, _guard: ()) {}

    fn open_engine(_run: &TableRun<Self>, _id: i32) -> Result<(), LightningError> {
        Ok(())
    }

    async fn close_engine(_run: &TableRun<Self>, _engine: ()) -> Result<(), LightningError> {
        Ok(())
    }

    async fn import_engine(_run: &TableRun<Self>, _closed: &()) -> Result<(), LightningError> {
        Ok(())
    }

    fn cleanup_engine(_run: &TableRun<Self>, _id: i32) -> Result<(), LightningError> {
        Ok(())
    }

    fn encoder(
        run: &TableRun<Self>,
        _data: &(),
        _index: Option<&()>,
        chunk: &Chunk,
        start: ChunkProgress,
    ) -> Result<SqlEncoder, LightningError> {
        let mut opts = run.ctx.backend.encoder.clone();
        if run.resumed && run.table.keyed && opts.on_duplicate == OnDuplicate::Error {
            // The rows just past the saved position may be in the table already (committed,
            // then killed before the position was saved): write them again with REPLACE.
            opts.on_duplicate = OnDuplicate::Replace;
        }
        let table = run.table.target.clone();
        Ok(SqlEncoder::new(table, opts, &chunk.file.rel, start.pos))
    }

    fn end_encoder(
        _run: &TableRun<Self>,
        _encoder: SqlEncoder,
        read: Result<u64, LightningError>,
    ) -> Result<(u64, EncodeEnd), LightningError> {
        read.map(|r| (r, EncodeEnd::default()))
    }

    async fn writer(run: &TableRun<Self>) -> Result<SqlWriter, LightningError> {
        Ok(run.ctx.target.writer(run.table.target.clone()).await?)
    }

    /// A keyed table: a replayed unit is written again with `REPLACE` (see `encoder`).
    fn parallel_units(run: &TableRun<Self>) -> Option<Duration> {
        run.table.keyed.then(keyed_save_interval)
    }

    async fn send(
        run: &TableRun<Self>,
        writer: &mut SqlWriter,
        unit: SqlBatch,
    ) -> Result<UnitDone, LightningError> {
        hold(run, writer).await?;
        write_unit(writer, unit).await
    }

    async fn deliver(
        run: &TableRun<Self>,
        writer: &mut SqlWriter,
        unit: SqlBatch,
        rec: &mut ChunkRecorder<'_, Self>,
    ) -> Result<(), LightningError> {
        let Some(&(_, batch_end)) = unit.rows.last() else {
            return Ok(());
        };
        let n = unit.rows.len() as u64;
        hold(run, writer).await?;
        let keyed = run.table.keyed;
        let serial = if keyed || !run.ctx.cp.enabled {
            None
        } else {
            let guard = run.table.serial.lock().await;
            rec.save_inflight(batch_end, n).await?;
            Some(guard)
        };
        let done = write_unit(writer, unit).await?;
        let p = rec.progress.after(&done);
        if keyed {
            // A keyed table replays whatever lies past its saved position with REPLACE,
            // so its position need not be saved after every batch.
            rec.save_at_most_every(p, keyed_save_interval()).await?;
        } else {
            rec.save(p).await?;
        }
        drop(serial);
        rec.rows += done.rows;
        rec.restored(done.bytes, done.rows);
        run.ctx.errors.refuse(done.rejected)
    }

    /// The server allocates ids as it inserts.
    async fn rebase(_run: &TableRun<Self>, _max_ids: MaxIds) -> Result<(), LightningError> {
        Ok(())
    }

    /// Not supported by the logical backend, as upstream's.
    async fn checksum(_run: &TableRun<Self>, _local: KvChecksum) -> Result<bool, LightningError> {
        Ok(false)
    }

    /// Before the table is marked finished: a kill here adds them on the next run.
    async fn add_indexes(run: &TableRun<Self>) -> Result<bool, LightningError> {
        let Some(d) = &run.ctx.backend.deferred else {
            return Ok(false);
        };
        d.add_missing(&run.ctx.target, &run.src.db, &run.src.name)
            .await?;
        Ok(true)
    }

    /// Not run by the logical backend, as upstream's.
    async fn analyze(_run: &TableRun<Self>) -> Result<bool, LightningError> {
        Ok(false)
    }
}

/// Paused: holds a batch before anything of it is recorded or sent; a stop ends the wait
/// and the batch is not sent.
async fn hold(run: &TableRun<TidbBackend>, writer: &mut SqlWriter) -> Result<(), LightningError> {
    let ctx = &run.ctx;
    let paused = crate::pause::pauser().wait(&ctx.stop).await;
    if ctx.stop.is_stopped() {
        return Err(LightningError::Cancelled);
    }
    if paused {
        // The connection sat idle for as long as the pause: past the server's
        // `wait_timeout` it is gone, and nothing of this batch was sent yet.
        writer.check_alive().await?;
    }
    Ok(())
}

/// Sends one batch (committed when this returns) and counts it in the metrics.
async fn write_unit(writer: &mut SqlWriter, unit: SqlBatch) -> Result<UnitDone, LightningError> {
    let Some(&(_, end)) = unit.rows.last() else {
        return Ok(UnitDone::default());
    };
    let n = unit.rows.len() as u64;
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
    Ok(UnitDone {
        end,
        row_ids: n,
        rows: report.rows,
        bytes: report.bytes,
        rejected: report.rejected,
    })
}

/// For a table without unique key, decides whether the one batch recorded as in flight
/// committed: the table holds the rows of every recorded batch, plus those of the in-flight
/// one if it committed (nothing else writes the table while it is imported).
async fn settle_inflight(
    run: &TableRun<TidbBackend>,
    before: u64,
    stored: &[&ChunkCheckpoint],
) -> Result<(), LightningError> {
    let name = &run.name;
    let recorded: u64 = before
        + run
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|p| p.checksum.kvs)
            .sum::<u64>();
    let inflight: Vec<(ChunkKey, u64)> = stored
        .iter()
        .filter(|c| c.chunk.real_offset > c.chunk.offset)
        .map(|c| (c.key.clone(), c.checksum.crc))
        .collect();
    let actual = checkpoint::count_rows(&run.ctx.target, &run.table.target).await?;
    match inflight.as_slice() {
        [] if actual == recorded => Ok(()),
        [(key, n)] if actual == recorded || actual == recorded + n => {
            let stored = run
                .progress
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(key)
                .copied();
            let mut p = stored.ok_or_else(|| LightningError::Internal("in-flight chunk".into()))?;
            // The stored crc is the in-flight count, not part of the chunk's rows.
            p.checksum.crc = 0;
            if actual == recorded + n {
                tracing::info!(table = %name, chunk = %key, rows = n, "the batch in flight at the crash was committed");
                p.pos = p.inflight_end;
                p.checksum.kvs += n;
            } else {
                tracing::info!(table = %name, chunk = %key, "the batch in flight at the crash was not committed");
                p.inflight_end = p.pos;
            }
            let mut rec = ChunkRecorder::new(run, checkpoint::ENGINE, key.clone(), p);
            rec.save(p).await
        }
        _ => Err(LightningError::Unsupported(format!(
            "table {name} has {actual} rows but its checkpoint accounts for {recorded} (and {} in flight); it was changed outside this import. Run `tidb-lightning-ctl --checkpoint-error-destroy='{name}'` or `--checkpoint-remove='{name}'` (and drop the table) to import it from scratch",
            inflight.iter().map(|i| i.1).sum::<u64>()
        ))),
    }
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
        if COMMITS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 >= n {
            eprintln!("tidb-lightning: test crash point after {n} commits");
            std::process::abort();
        }
    }
}
