//! The physical `local` backend, end to end (upstream's "data flow of one table"):
//!
//! 1. Schemas are created through SQL; each table's model (with TiDB's ids) is read from
//!    TiDB's status port (`/schema/{db}/{table}`).
//! 2. Chunks are read and parsed on blocking threads (`region-concurrency` at once) and
//!    encoded by [`lightning_encode::Encoder`] with row ids from the chunk's
//!    `row_id_base`; record pairs go to the table's data engine (engine 0), index pairs to
//!    its index engine ([`INDEX_ENGINE_ID`]), under `sorted-kv-dir`, while the local
//!    [`KvChecksum`] accumulates.
//! 3. The engines are closed (sorted); with every store in import mode and PD scheduling
//!    paused on the table's key range, each engine is split into region-sized ranges, the
//!    regions are split and scattered at the range boundaries, and the ranges are ingested
//!    (`range-concurrency` at once) at a commit ts from PD's TSO.
//! 4. Post-restore: checksum (coprocessor, or `ADMIN CHECKSUM TABLE` with
//!    `checksum-via-sql`) compared with the local one, `ANALYZE TABLE`, auto-id rebase;
//!    the engines are removed. Import mode is always reverted, also on errors and stops.

mod encode;
mod post;

use crate::limits::{join_all, BlockingSemaphore, StopFlag};
use crate::progress::{Counters, Progress};
use crate::reader::{read_chunk, ChunkRead, Formats};
use crate::task::{connect_options, ImportSummary, TableSummary};
use crate::{schema, LightningError};
use encode::KvEncoder;
use lightning_backend::tidb::TidbTarget;
use lightning_cluster::{Cluster, ImportModeGuard, SchedulerPause, DEFAULT_PAUSE_TTL};
use lightning_config::Config;
use lightning_encode::{EncodeOptions, Encoder, KvChecksum, MaxIds, SqlMode, TableInfo, TimeZone};
use lightning_engine::{
    engine_uuid, ClosedEngine, Engine, EngineManager, EngineOptions, INDEX_ENGINE_ID,
};
use lightning_source::{Chunk, TableSource};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

fn err(m: impl Into<String>) -> LightningError {
    LightningError::Local(m.into())
}

/// What every table of a local import shares.
struct Ctx {
    cfg: Arc<Config>,
    target: TidbTarget,
    cluster: Cluster,
    engines: EngineManager,
    region: Semaphore,
    io: BlockingSemaphore,
    stop: Arc<StopFlag>,
    formats: Formats,
    encode: EncodeOptions,
    counters: Arc<Counters>,
}

/// Runs an import with the local backend.
pub(crate) async fn run(cfg: Config, stop: Arc<StopFlag>) -> Result<ImportSummary, LightningError> {
    let started = Instant::now();
    let cfg = Arc::new(cfg);
    let scan_cfg = cfg.clone();
    let dump = tokio::task::spawn_blocking(move || lightning_source::scan(&scan_cfg))
        .await
        .map_err(|e| LightningError::Internal(e.to_string()))??;
    let target = TidbTarget::connect(&connect_options(&cfg)).await?;
    tracing::info!(version = %target.version(), "connected to TiDB");
    let charset = cfg.mydumper.character_set.clone();
    if !cfg.mydumper.no_schema {
        schema::create_tables(&target, &dump, &charset).await?;
    }
    let cluster = Cluster::from_config(&cfg)
        .await
        .map_err(|e| err(format!("connecting to PD {}: {e}", cfg.tidb.pd_addr)))?;
    let t = &cfg.tikv_importer;
    let engine_opts = EngineOptions {
        engine_mem_cache_size: t.engine_mem_cache_size as usize,
        local_writer_mem_cache_size: t.local_writer_mem_cache_size as usize,
        ..EngineOptions::default()
    };
    let engines = EngineManager::new(&t.sorted_kv_dir, engine_opts)
        .map_err(|e| err(format!("sorted-kv-dir {}: {e}", t.sorted_kv_dir)))?;

    // Ingested pairs overwrite what the keys held: the tables must start empty.
    let mut work = Vec::new();
    let mut not_empty = Vec::new();
    for table in dump.databases.iter().flat_map(|d| d.tables.iter()) {
        let info = post::fetch_table_info(&cfg, &table.db, &table.name).await?;
        if cfg.lightning.check_requirements {
            let target_table = target.load_table(&table.db, &table.name).await?;
            if !target.is_empty(&target_table).await? {
                not_empty.push(target_table.qualified_name());
            }
        }
        work.push((table.clone(), Arc::new(info)));
    }
    if !not_empty.is_empty() {
        return Err(LightningError::TablesNotEmpty { tables: not_empty });
    }

    let mut encode = EncodeOptions::default();
    if !cfg.tidb.sql_mode.is_empty() {
        encode.sql_mode = SqlMode::parse(&cfg.tidb.sql_mode);
    }
    // TIMESTAMP values are read in the session time zone: UTC as the dumps write them,
    // unless `[tidb.session-vars] time_zone` says otherwise (as for the tidb backend).
    if let Some((_, tz)) = cfg
        .tidb
        .session_vars
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("time_zone"))
    {
        encode.time_zone = TimeZone::parse(tz)
            .map_err(|e| err(format!("[tidb.session-vars] time_zone = {tz:?}: {e}")))?;
    }
    encode.timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let progress = Progress::for_tables(work.iter().map(|(t, _)| t), cfg.cron.log_progress)?;
    let ctx = Arc::new(Ctx {
        counters: progress.counters().clone(),
        target: target.clone(),
        cluster: cluster.clone(),
        engines,
        region: Semaphore::new(cfg.lightning.region_concurrency.max(1)),
        io: BlockingSemaphore::new(cfg.lightning.io_concurrency),
        stop: stop.clone(),
        formats: Formats::new(&cfg, target.no_backslash_escapes())?,
        encode,
        cfg: cfg.clone(),
    });

    let guard = ImportModeGuard::enter(&cluster, cfg.cron.switch_mode, false)
        .await
        .map_err(|e| err(format!("switching TiKV to import mode: {e}")))?;
    let tables = Arc::new(Semaphore::new(cfg.lightning.table_concurrency.max(1)));
    let mut set = JoinSet::new();
    for (src, info) in work {
        let (ctx, tables) = (ctx.clone(), tables.clone());
        set.spawn(async move {
            let _permit = tables
                .acquire_owned()
                .await
                .map_err(|_| LightningError::Cancelled)?;
            if ctx.stop.is_stopped() {
                return Err(LightningError::Cancelled);
            }
            import_table(ctx, src, info).await
        });
    }
    let mut summary = ImportSummary::default();
    let first_err = join_all(&mut set, &stop, |t| summary.tables.push(t)).await;
    drop(progress);
    // Normal mode is essential: always switch back, whatever happened.
    let finished = guard.finish().await;
    if let Some(e) = first_err {
        if let Err(f) = finished {
            tracing::error!(error = %f, "switching TiKV back to normal mode failed; run tidb-lightning-ctl --switch-mode=normal");
        }
        tracing::error!(error = %e, imported_tables = summary.tables.len(), "import failed");
        return Err(e);
    }
    finished.map_err(|e| err(format!("switching TiKV back to normal mode: {e}")))?;
    if !cfg.mydumper.no_schema {
        schema::create_views(&target, &dump, &charset).await?;
    }
    drop(ctx);
    target.close().await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// What encoding a table's chunks produced.
#[derive(Default)]
struct Encoded {
    rows: u64,
    bytes: u64,
    checksum: KvChecksum,
    max_ids: MaxIds,
}

/// One table: encode every chunk into the engines, close, ingest, post-process.
async fn import_table(
    ctx: Arc<Ctx>,
    src: TableSource,
    info: Arc<TableInfo>,
) -> Result<TableSummary, LightningError> {
    let started = Instant::now();
    let name = format!("`{}`.`{}`", src.db, src.name);
    let data_uuid = engine_uuid(&name, 0);
    let index_uuid = engine_uuid(&name, INDEX_ENGINE_ID);
    // No checkpoints on this path yet: what an earlier run left is stale, start afresh.
    let open = |u| {
        ctx.engines
            .remove_engine(u)
            .and_then(|()| ctx.engines.open_engine(u))
            .map_err(|e| err(format!("{name}: opening engine {u}: {e}")))
    };
    let (data, index) = (open(data_uuid)?, open(index_uuid)?);
    let columns = info
        .columns
        .iter()
        .filter(|c| c.generated.is_none())
        .count();
    let chunks = lightning_source::make_chunks_for_columns(&src, &ctx.cfg, columns)?;
    tracing::info!(table = %name, table_id = info.id, chunks = chunks.len(), bytes = src.total_size, "encoding table");
    let mut set = JoinSet::new();
    for chunk in chunks {
        set.spawn(encode_chunk(
            ctx.clone(),
            info.clone(),
            data.clone(),
            index.clone(),
            chunk,
        ));
    }
    let mut total = Encoded::default();
    if let Some(e) = join_all(&mut set, &ctx.stop, |c: Encoded| {
        total.rows += c.rows;
        total.bytes += c.bytes;
        total.checksum.merge(&c.checksum);
        total.max_ids.row_id = total.max_ids.row_id.max(c.max_ids.row_id);
        total.max_ids.auto_random = total.max_ids.auto_random.max(c.max_ids.auto_random);
    })
    .await
    {
        return Err(e);
    }
    let close = |e: Engine| {
        let name = name.clone();
        async move {
            tokio::task::spawn_blocking(move || e.close())
                .await
                .map_err(|j| LightningError::Internal(j.to_string()))?
                .map_err(|e| err(format!("{name}: closing engine: {e}")))
        }
    };
    let closed = [close(data).await?, close(index).await?];
    tracing::info!(table = %name, rows = total.rows, kvs = total.checksum.kvs, "engines closed; importing");

    let (start, end) = post::table_range(info.id);
    let pause = SchedulerPause::key_range(ctx.cluster.pd_http(), &start, &end, DEFAULT_PAUSE_TTL)
        .await
        .map_err(|e| {
            err(format!(
                "{name}: pausing PD scheduling on the table's range: {e}"
            ))
        })?;
    // Data and index keys are disjoint ranges: ingest both engines at once (the cluster's
    // job slots still bound the region jobs in flight).
    let (data_done, index_done) = tokio::join!(
        ingest_engine(&ctx, &name, &closed[0]),
        ingest_engine(&ctx, &name, &closed[1])
    );
    let ingested = data_done.and(index_done);
    let resumed = pause.resume().await;
    // The engines can only be removed once no handle holds them.
    drop(closed);
    ingested?;
    if let Err(e) = resumed {
        tracing::warn!(table = %name, error = %e, "resuming PD scheduling failed; the label rule's TTL will lift it");
    }

    post::checksum(&ctx, &name, &src.db, &src.name, &info, &total.checksum).await?;
    post::analyze(&ctx, &name).await?;
    post::rebase_auto_ids(&ctx, &name, &info, total.max_ids).await?;
    for u in [data_uuid, index_uuid] {
        ctx.engines
            .remove_engine(u)
            .map_err(|e| err(format!("{name}: removing engine {u}: {e}")))?;
    }
    ctx.counters.tables_done.fetch_add(1, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    tracing::info!(table = %name, rows = total.rows, bytes = total.bytes, seconds, "table imported");
    Ok(TableSummary {
        name,
        rows: total.rows,
        bytes: total.bytes,
        seconds,
    })
}

/// One chunk, on a blocking thread: read, parse, encode, append to the engines.
async fn encode_chunk(
    ctx: Arc<Ctx>,
    info: Arc<TableInfo>,
    data: Engine,
    index: Engine,
    chunk: Chunk,
) -> Result<Encoded, LightningError> {
    let _permit = ctx
        .region
        .acquire()
        .await
        .map_err(|_| LightningError::Cancelled)?;
    if ctx.stop.is_stopped() {
        return Err(LightningError::Cancelled);
    }
    let ctx2 = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let ctx = ctx2;
        let file = chunk.file.rel.clone();
        let engine_err = |e| err(format!("{file}: local engine: {e}"));
        let enc = Encoder::new(&info, ctx.encode.clone())
            .map_err(|e| err(format!("`{}`: {e}", info.name)))?;
        let mut kv = KvEncoder::new(
            enc,
            data.writer().map_err(engine_err)?,
            index.writer().map_err(engine_err)?,
            file.clone(),
            &chunk,
            ctx.counters.clone(),
        );
        // Nothing is sent: the encoder writes the engines itself.
        let (tx, _rx) = tokio::sync::mpsc::channel::<()>(1);
        let job = ChunkRead {
            chunk: &chunk,
            format: ctx.formats.of(&chunk),
            read_block_size: ctx.cfg.mydumper.read_block_size as usize,
            io: &ctx.io,
            stop: &ctx.stop,
            data_charset: &ctx.cfg.mydumper.data_character_set,
            // No checkpoints on this backend yet: every chunk is read whole.
            skip_through: 0,
        };
        let read = match read_chunk(job, &mut kv, &tx) {
            Ok(n) => n,
            Err(e) => {
                return Err(match kv.engine_error.take() {
                    Some(ee) => engine_err(ee),
                    None => e,
                })
            }
        };
        let max_ids = kv.max_ids();
        let KvEncoder {
            data,
            index,
            checksum,
            rows,
            ..
        } = kv;
        data.close().map_err(engine_err)?;
        index.close().map_err(engine_err)?;
        Ok(Encoded {
            rows,
            bytes: read,
            checksum,
            max_ids,
        })
    })
    .await
    .map_err(|e| LightningError::Internal(e.to_string()))?
}

/// Splits a closed engine into region-sized ranges, pre-splits and scatters the regions at
/// their boundaries and ingests every range, `range-concurrency` at once, at one commit ts.
async fn ingest_engine(
    ctx: &Arc<Ctx>,
    name: &str,
    engine: &ClosedEngine,
) -> Result<(), LightningError> {
    let opts = ctx.cluster.options().clone();
    let e2 = engine.clone();
    let ranges = tokio::task::spawn_blocking(move || {
        e2.split_ranges(opts.region_split_size, opts.region_split_keys)
    })
    .await
    .map_err(|e| LightningError::Internal(e.to_string()))?
    .map_err(|e| err(format!("{name}: splitting engine {}: {e}", engine.uuid())))?;
    let Some(last) = ranges.last() else {
        return Ok(());
    };
    let mut keys: Vec<Vec<u8>> = ranges.iter().map(|r| r.start.clone()).collect();
    keys.push(last.end.clone());
    let split = ctx
        .cluster
        .split_and_scatter(&keys)
        .await
        .map_err(|e| err(format!("{name}: splitting regions: {e}")))?;
    let ts = ctx
        .cluster
        .commit_ts()
        .await
        .map_err(|e| err(format!("{name}: getting a commit ts from PD: {e}")))?;
    tracing::info!(table = %name, engine = %engine.uuid(), ranges = ranges.len(), new_regions = split.new_regions.len(), kvs = engine.total_kvs(), "ingesting engine");
    let slots = Arc::new(Semaphore::new(opts.range_concurrency.max(1)));
    let mut set = JoinSet::new();
    for range in ranges {
        if ctx.stop.is_stopped() {
            break;
        }
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| LightningError::Cancelled)?;
        let (cluster, engine, name) = (ctx.cluster.clone(), engine.clone(), name.to_string());
        let stop = ctx.stop.clone();
        set.spawn(async move {
            let _permit = permit;
            let (tx, rx) = tokio::sync::mpsc::channel(1024);
            let r = range.clone();
            tokio::task::spawn_blocking(move || {
                for item in engine.iter_range(&r) {
                    if tx.blocking_send(item).is_err() {
                        break;
                    }
                }
            });
            let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
            let res = tokio::select! {
                r = cluster.ingest_range(&range.start, &range.end, stream, ts) => r,
                () = stopped(&stop) => return Err(LightningError::Cancelled),
            };
            let stats = res.map_err(|e| err(format!("{name}: ingesting a range: {e}")))?;
            if stats.pairs != range.kvs {
                return Err(err(format!(
                    "{name}: ingested {} pairs of a range holding {}",
                    stats.pairs, range.kvs
                )));
            }
            Ok(stats.retries)
        });
    }
    let mut retries = 0;
    if let Some(e) = join_all(&mut set, &ctx.stop, |r| retries += r).await {
        return Err(e);
    }
    if ctx.stop.is_stopped() {
        return Err(LightningError::Cancelled);
    }
    tracing::info!(table = %name, engine = %engine.uuid(), retries, "engine ingested");
    Ok(())
}

/// Resolves once the import is asked to stop (polled: the flag is a plain atomic), so a
/// range in flight is abandoned (its jobs cancelled) rather than waited for.
async fn stopped(stop: &StopFlag) {
    while !stop.is_stopped() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
