//! The physical `local` backend, end to end (upstream's "data flow of one table"):
//!
//! 1. Schemas are created through SQL; each table's model (with TiDB's ids) is read from
//!    TiDB's status port (`/schema/{db}/{table}`).
//! 2. A table's chunks are grouped into data engines of about `[mydumper] batch-size` source
//!    bytes each (engine 0, 1, …) plus one index engine (`INDEX_ENGINE_ID`), recorded in
//!    the checkpoint. Chunks are read and parsed on blocking threads (`region-concurrency`
//!    at once) and encoded by [`lightning_encode::Encoder`] with chunk row ids; record
//!    pairs go to the chunk's data engine, index pairs to the index engine, under
//!    `sorted-kv-dir`, while the local `KvChecksum` accumulates (`encode`).
//! 3. A data engine is closed (sorted) once its chunks are written, and ingested in the
//!    background while the next engine is encoded; the index engine once the whole table
//!    is written (`table`). Ingest (`ingest`): with every store in import mode and PD
//!    scheduling paused on the table's key range (or globally), the engine is split into
//!    region-sized ranges, the regions split and scattered at the range boundaries, and
//!    the ranges written and ingested (`range-concurrency` at once) at a commit ts from PD.
//! 4. Post-restore (`post`), as upstream's order: auto-id rebase, checksum (coprocessor, or
//!    `ADMIN CHECKSUM TABLE` with `checksum-via-sql`) against the local one, `ANALYZE`.
//!
//! Checkpoints record each chunk's position, row id and checksum after its pairs are made
//! durable in the engines, and each engine's and table's status; a rerun reopens the
//! engines (closed ones are not re-encoded, imported ones not re-imported) and resumes
//! chunks where they stood. Import mode is always reverted, also on errors and stops.

mod conflict;
mod encode;
mod ingest;
mod post;
mod quota;
mod table;

pub(crate) use ingest::ingest_engine;

use crate::checkpoint::Checkpoints;
use crate::limits::{join_all, keep_cause, BlockingSemaphore, ErrorBudget, StopFlag};
use crate::progress::{Counters, Progress};
use crate::reader::Formats;
use crate::task::{connect_options, ImportSummary};
use crate::{schema, LightningError};
use lightning_backend::tidb::TidbTarget;
use lightning_checkpoint::unique_table_name;
use lightning_cluster::{Cluster, ImportModeGuard, SchedulerPause, DEFAULT_PAUSE_TTL};
use lightning_config::{Config, ConflictStrategy, PauseScope};
use lightning_encode::{EncodeOptions, SqlMode, TimeZone};
use lightning_engine::{DuplicateMode, EngineManager, EngineOptions};
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
    errors: Arc<ErrorBudget>,
    cp: Checkpoints,
    /// Encoders write under it shared; `disk-quota`'s early import takes it exclusively.
    quota_gate: Arc<tokio::sync::RwLock<()>>,
    /// The task's id (its checkpoint's), for the conflicts it records.
    task_id: i64,
}

/// The engine options `[tikv-importer]` and `[conflict]` ask for.
pub(crate) fn engine_options(cfg: &Config) -> Result<EngineOptions, LightningError> {
    let t = &cfg.tikv_importer;
    let duplicate_mode = match cfg.conflict.strategy {
        ConflictStrategy::None => DuplicateMode::None,
        ConflictStrategy::Error => DuplicateMode::Error,
        ConflictStrategy::Replace => DuplicateMode::Replace,
        ConflictStrategy::Ignore => {
            return Err(LightningError::Unsupported(
                "[conflict] strategy = \"ignore\" is not supported by the local backend (as upstream's physical mode); use \"replace\" (later rows win), \"error\" (stop at the first duplicate key) or \"\" (no detection)".into(),
            ))
        }
    };
    Ok(EngineOptions {
        engine_mem_cache_size: t.engine_mem_cache_size as usize,
        local_writer_mem_cache_size: t.local_writer_mem_cache_size as usize,
        duplicate_mode,
        ..EngineOptions::default()
    })
}

/// The engines under `sorted-kv-dir`.
pub(crate) fn engine_manager(cfg: &Config) -> Result<EngineManager, LightningError> {
    let dir = &cfg.tikv_importer.sorted_kv_dir;
    EngineManager::new(dir, engine_options(cfg)?)
        .map_err(|e| err(format!("sorted-kv-dir {dir}: {e}")))
}

/// Runs an import with the local backend.
pub(crate) async fn run(cfg: Config, stop: Arc<StopFlag>) -> Result<ImportSummary, LightningError> {
    let started = Instant::now();
    let cfg = Arc::new(cfg);
    let engines = engine_manager(&cfg)?;
    let scan_cfg = cfg.clone();
    let dump = tokio::task::spawn_blocking(move || lightning_source::scan(&scan_cfg))
        .await
        .map_err(|e| LightningError::Internal(e.to_string()))??;
    let task_cp = crate::checkpoint::open_task(&cfg, &dump).await?;
    let target = TidbTarget::connect(&connect_options(&cfg)).await?;
    tracing::info!(version = %target.version(), "connected to TiDB");
    let charset = cfg.mydumper.character_set.clone();
    if !cfg.mydumper.no_schema {
        schema::create_tables(&target, &dump, &charset, None).await?;
    }
    let cluster = Cluster::from_config(&cfg)
        .await
        .map_err(|e| err(format!("connecting to PD {}: {e}", cfg.tidb.pd_addr)))?;

    // Ingested pairs overwrite what the keys held: the tables must start empty (unless an
    // earlier run of this task started them).
    let mut work = Vec::new();
    let mut not_empty = Vec::new();
    for table in dump.databases.iter().flat_map(|d| d.tables.iter()) {
        let info = post::fetch_table_info(&cfg, &table.db, &table.name).await?;
        let resumed = task_cp
            .started
            .contains(&unique_table_name(&table.db, &table.name));
        if cfg.lightning.check_requirements && !resumed {
            let target_table = target.load_table(&table.db, &table.name).await?;
            if !target.is_empty(&target_table).await? {
                not_empty.push(target_table.qualified_name());
            }
        }
        work.push((table.clone(), Arc::new(info)));
    }
    if !not_empty.is_empty() {
        return Err(LightningError::TablesNotEmpty {
            tables: not_empty,
            hint: "empty them: the local backend writes keys directly, so rows already there are neither replaced nor checked for conflicts (check-requirements = false skips this check, for an incremental import without conflicts)",
        });
    }
    if cfg.lightning.check_requirements {
        check_free_space(&engines, work.iter().map(|(t, _)| t))?;
    }

    let total = crate::status::task_started(work.iter().map(|(t, _)| t), &cfg);
    let progress = Progress::start(
        Arc::default(),
        total,
        work.len(),
        cfg.cron.log_progress,
        true,
    );
    let ctx = Arc::new(Ctx {
        counters: progress.counters().clone(),
        target: target.clone(),
        cluster: cluster.clone(),
        engines,
        region: Semaphore::new(cfg.lightning.region_concurrency.max(1)),
        io: BlockingSemaphore::new(cfg.lightning.io_concurrency),
        stop: stop.clone(),
        formats: Formats::new(&cfg, target.no_backslash_escapes())?,
        encode: encode_options(&cfg)?,
        errors: Arc::new(ErrorBudget::new(cfg.lightning.max_error.type_)),
        cp: Checkpoints {
            store: task_cp.store,
            enabled: cfg.checkpoint.enable,
        },
        quota_gate: Arc::default(),
        task_id: task_cp.task_id,
        cfg: cfg.clone(),
    });

    let guard = ImportModeGuard::enter(&cluster, cfg.cron.switch_mode, false)
        .await
        .map_err(|e| err(format!("switching TiKV to import mode: {e}")))?;
    let global_pause = match cfg.tikv_importer.pause_pd_scheduler_scope {
        PauseScope::Global => {
            let stores = cluster.tikv_stores().await.map_or(1, |s| s.len());
            Some(
                SchedulerPause::global(cluster.pd_http(), stores, DEFAULT_PAUSE_TTL)
                    .await
                    .map_err(|e| err(format!("pausing PD scheduling: {e}")))?,
            )
        }
        PauseScope::Table => None,
    };
    let quota = quota::QuotaTask::start(&ctx);
    let tables = Arc::new(Semaphore::new(cfg.lightning.table_concurrency.max(1)));
    let mut set = JoinSet::new();
    for (src, info) in work {
        let (ctx, tables) = (ctx.clone(), tables.clone());
        set.spawn(async move {
            let _permit = tables
                .acquire_owned()
                .await
                .map_err(|_| LightningError::Cancelled)?;
            let _busy = crate::status::busy("table");
            if ctx.stop.is_stopped() {
                return Err(LightningError::Cancelled);
            }
            table::import_table(ctx, src, info).await
        });
    }
    let mut summary = ImportSummary::default();
    let mut first_err = join_all(&mut set, &stop, |t| summary.tables.extend(t)).await;
    if let Some(q) = quota {
        // An early import's failure stopped the tables: it is the cause.
        if let Some(e) = q.finish().await {
            keep_cause(&mut first_err, e);
        }
    }
    drop(progress);
    summary.refused_rows = ctx.errors.count();
    if let Some(p) = global_pause {
        if let Err(e) = p.resume().await {
            tracing::warn!(error = %e, "resuming PD scheduling failed; the pause's TTL will lift it");
        }
    }
    // Normal mode is essential: always switch back, whatever happened.
    let finished = guard.finish().await;
    if let Some(e) = first_err {
        if let Err(f) = finished {
            tracing::error!(error = %f, "switching TiKV back to normal mode failed; run tidb-lightning-ctl --switch-mode=normal");
        }
        ctx.cp.close_after_failure().await;
        tracing::error!(error = %e, imported_tables = summary.tables.len(), "import failed");
        return Err(e);
    }
    finished.map_err(|e| err(format!("switching TiKV back to normal mode: {e}")))?;
    if !cfg.mydumper.no_schema {
        schema::create_views(&target, &dump, &charset).await?;
    }
    ctx.cp.finish(&cfg, task_cp.task_id).await?;
    drop(ctx);
    target.close().await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Precheck: `sorted-kv-dir` must have room for the sorted data, estimated as the source
/// size (the encoded pairs are about as large; see the benchmark figures in the README).
fn check_free_space<'a>(
    engines: &EngineManager,
    tables: impl Iterator<Item = &'a lightning_source::TableSource>,
) -> Result<(), LightningError> {
    let mut need = 0;
    for t in tables {
        for f in &t.data_files {
            need += lightning_source::estimate_size_for_totals(f);
        }
    }
    let dir = engines.dir().display();
    let free = engines
        .available_space()
        .map_err(|e| err(format!("precheck: free space of sorted-kv-dir {dir}: {e}")))?;
    if free < need {
        return Err(err(format!(
            "precheck: sorted-kv-dir {dir} has {free} bytes free, but the sorted data needs about {need} (the source size); free space there, point sorted-kv-dir at a larger disk, or set [lightning] check-requirements = false"
        )));
    }
    tracing::info!(sorted_kv_dir = %dir, free, need, "precheck: sorted-kv-dir has room");
    Ok(())
}

/// How rows are encoded: `[tidb] sql-mode`, the session time zone, "now".
fn encode_options(cfg: &Config) -> Result<EncodeOptions, LightningError> {
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
    Ok(encode)
}
