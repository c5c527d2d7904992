//! The physical `local` backend behind the seam (upstream's "data flow of one table"):
//!
//! 1. Schemas are created through SQL; each table's model (with TiDB's ids) is read from
//!    TiDB's status port (`/schema/{db}/{table}`).
//! 2. The controller groups a table's chunks into data engines of about `[mydumper]
//!    batch-size` source bytes each (engine 0, 1, …) plus one index engine
//!    (`INDEX_ENGINE_ID`). Chunks are encoded by [`lightning_encode::Encoder`] with chunk
//!    row ids on their reader threads (`encode`): record pairs go to the chunk's data
//!    engine, index pairs to the index engine, under `sorted-kv-dir`, while the local
//!    `KvChecksum` accumulates. Progress is durable once the engine writers flush.
//! 3. A closed (sorted) engine is ingested (`ingest`): with every store in import mode and
//!    PD scheduling paused on the table's key range (or globally), it is split into
//!    region-sized ranges, the regions split and scattered at the range boundaries, and
//!    the ranges written and ingested (`range-concurrency` at once) at a commit ts from PD.
//!    `[conflict] strategy = "replace"` resolves duplicates across the table's engines
//!    first (`conflict`); `disk-quota` imports the largest engines early (`quota`).
//! 4. Post-process (`post`), as upstream's order: auto-id rebase, checksum (coprocessor, or
//!    `ADMIN CHECKSUM TABLE` with `checksum-via-sql`) against the local one, `ANALYZE`.
//!
//! Import mode is always reverted, also on errors and stops.

mod conflict;
mod encode;
mod ingest;
mod post;
mod quota;
mod state;

pub(crate) use ingest::ingest_engine;
pub(crate) use state::{engine_manager, LocalBackend};

use crate::backend::{Backend, Capabilities, ChunkProgress, ChunkRecorder, EncodeEnd, TableRun};
use crate::limits::keep_cause;
use crate::{schema, LightningError};
use conflict::{describe_key, Resolution};
use encode::KvEncoder;
use lightning_backend::tidb::TidbTarget;
use lightning_cluster::{Cluster, ImportModeGuard, SchedulerPause, DEFAULT_PAUSE_TTL};
use lightning_config::{Config, ConflictStrategy, PauseScope, PostOpLevel};
use lightning_encode::{Encoder, KvChecksum, MaxIds, TableInfo};
use lightning_engine::{engine_uuid, ClosedEngine, Engine, EngineError, EngineManager};
use lightning_source::{Chunk, Dump, TableSource};
use state::{encode_options, err, save_interval, Ctx};
use std::sync::{Arc, Mutex};

/// A table in progress, as the local backend's modules see it.
type Run = TableRun<LocalBackend>;

/// A target table of the local backend: TiDB's model of it.
pub(crate) struct LocalTable {
    info: Arc<TableInfo>,
    /// What the `replace` resolution removed.
    resolution: Mutex<Resolution>,
}

/// Held for the whole task: import mode, a global scheduler pause, the disk-quota check.
pub(crate) struct TaskGuard {
    mode: ImportModeGuard,
    pause: Option<SchedulerPause>,
    quota: Option<quota::QuotaTask>,
}

impl Backend for LocalBackend {
    type Table = LocalTable;
    type Engine = Engine;
    type Closed = ClosedEngine;
    type Unit = ChunkProgress;
    type Encoder<'a> = KvEncoder<'a>;
    type Writer = ();
    type TaskGuard = TaskGuard;
    type TableGuard = Option<SchedulerPause>;

    async fn open(cfg: &Arc<Config>, _target: &TidbTarget) -> Result<Self, LightningError> {
        let engines = engine_manager(cfg)?;
        let cluster = Cluster::from_config(cfg)
            .await
            .map_err(|e| err(format!("connecting to PD {}: {e}", cfg.tidb.pd_addr)))?;
        Ok(LocalBackend {
            cfg: cfg.clone(),
            cluster,
            engines,
            encode: encode_options(cfg)?,
            quota_gate: Arc::default(),
            replace: cfg.conflict.strategy == ConflictStrategy::Replace,
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            batched_engines: true,
            import_phase: true,
            lazy_statuses: false,
            resolves_conflicts: self.replace,
        }
    }

    async fn create_schemas(
        &self,
        target: &TidbTarget,
        dump: &Dump,
        charset: &str,
    ) -> Result<(), LightningError> {
        schema::create_tables(target, dump, charset, None).await
    }

    async fn load_table(
        &self,
        _target: &TidbTarget,
        src: &TableSource,
    ) -> Result<LocalTable, LightningError> {
        let info = post::fetch_table_info(&self.cfg, &src.db, &src.name).await?;
        Ok(LocalTable {
            info: Arc::new(info),
            resolution: Mutex::new(Resolution::default()),
        })
    }

    /// Ingested pairs overwrite what the keys held: the tables must start empty.
    async fn refuse_not_empty(
        &self,
        target: &TidbTarget,
        src: &TableSource,
        _table: &LocalTable,
    ) -> Result<Option<String>, LightningError> {
        let target_table = target.load_table(&src.db, &src.name).await?;
        let empty = target.is_empty(&target_table).await?;
        Ok((!empty).then(|| target_table.qualified_name()))
    }

    fn not_empty_hint(&self) -> &'static str {
        "empty them: the local backend writes keys directly, so rows already there are neither replaced nor checked for conflicts (check-requirements = false skips this check, for an incremental import without conflicts)"
    }

    fn precheck(&self, _cfg: &Config, tables: &[&TableSource]) -> Result<(), LightningError> {
        check_free_space(&self.engines, tables.iter().copied())
    }

    async fn begin_task(ctx: &Arc<Ctx>) -> Result<TaskGuard, LightningError> {
        let (cfg, cluster) = (&ctx.cfg, &ctx.backend.cluster);
        let mode = ImportModeGuard::enter(cluster, cfg.cron.switch_mode, false)
            .await
            .map_err(|e| err(format!("switching TiKV to import mode: {e}")))?;
        let pause = match cfg.tikv_importer.pause_pd_scheduler_scope {
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
        Ok(TaskGuard {
            mode,
            pause,
            quota: quota::QuotaTask::start(ctx),
        })
    }

    async fn end_task(
        _ctx: &Arc<Ctx>,
        guard: TaskGuard,
        failure: &mut Option<LightningError>,
    ) -> Result<(), LightningError> {
        if let Some(q) = guard.quota {
            // An early import's failure stopped the tables: it is the cause.
            if let Some(e) = q.finish().await {
                keep_cause(failure, e);
            }
        }
        if let Some(p) = guard.pause {
            if let Err(e) = p.resume().await {
                tracing::warn!(error = %e, "resuming PD scheduling failed; the pause's TTL will lift it");
            }
        }
        // Normal mode is essential: always switch back, whatever happened.
        let finished = guard.mode.finish().await;
        match (finished, failure.is_some()) {
            (Ok(()), _) => Ok(()),
            (Err(f), true) => {
                tracing::error!(error = %f, "switching TiKV back to normal mode failed; run tidb-lightning-ctl --switch-mode=normal");
                Ok(())
            }
            (Err(f), false) => Err(err(format!("switching TiKV back to normal mode: {f}"))),
        }
    }

    fn column_count(table: &LocalTable) -> usize {
        let columns = &table.info.columns;
        columns.iter().filter(|c| c.generated.is_none()).count()
    }

    /// The last id TiDB's allocator handed out for the table, as its schema says
    /// (`AUTO_INCREMENT=n` / `AUTO_RANDOM_BASE=n` make `n` the next id).
    fn row_id_base(table: &LocalTable) -> u64 {
        let info = &table.info;
        let next = if info.auto_random_column().is_some() {
            info.auto_random_base
        } else {
            info.auto_increment_base
        };
        next.unwrap_or(0).saturating_sub(1)
    }

    /// Unchecked (`check-requirements = false`), the table may hold rows already (an
    /// incremental import): their checksum counts in the comparison.
    async fn before_first_run(run: &Run) -> Result<Option<KvChecksum>, LightningError> {
        let cfg = &run.ctx.cfg;
        if cfg.lightning.check_requirements || cfg.post_restore.checksum == PostOpLevel::Off {
            return Ok(None);
        }
        let (db, table) = (&run.src.db, &run.src.name);
        let b = post::remote_checksum(&run.ctx, &run.name, db, table, &run.table.info).await?;
        if b.kvs == 0 {
            return Ok(None);
        }
        tracing::info!(table = %run.name, kvs = b.kvs, "the table holds data already; its checksum counts in the comparison");
        Ok(Some(b))
    }

    async fn begin_table(
        run: &Run,
        ingest: bool,
    ) -> Result<Option<SchedulerPause>, LightningError> {
        let ctx = &run.ctx;
        if !ingest || ctx.cfg.tikv_importer.pause_pd_scheduler_scope != PauseScope::Table {
            return Ok(None);
        }
        let (start, end) = post::table_range(run.table.info.id);
        let pd = ctx.backend.cluster.pd_http();
        let pause = SchedulerPause::key_range(pd, &start, &end, DEFAULT_PAUSE_TTL)
            .await
            .map_err(|e| {
                err(format!(
                    "{}: pausing PD scheduling on the table's range: {e}",
                    run.name
                ))
            })?;
        Ok(Some(pause))
    }

    async fn end_table(run: &Run, guard: Option<SchedulerPause>) {
        if let Some(p) = guard {
            if let Err(e) = p.resume().await {
                tracing::warn!(table = %run.name, error = %e, "resuming PD scheduling failed; the label rule's TTL will lift it");
            }
        }
    }

    fn open_engine(run: &Run, id: i32) -> Result<Engine, LightningError> {
        let u = engine_uuid(&run.name, id);
        let engines = &run.ctx.backend.engines;
        engines
            .open_engine(u)
            .map_err(|e| err(format!("{}: opening engine {u}: {e}", run.name)))
    }

    /// Closes (sorts) an engine on a blocking thread; duplicate keys are named decoded.
    async fn close_engine(run: &Run, e: Engine) -> Result<ClosedEngine, LightningError> {
        let closed = tokio::task::spawn_blocking(move || e.close())
            .await
            .map_err(|j| LightningError::Internal(j.to_string()))?;
        closed.map_err(|e| engine_error(&run.table.info, &run.name, "closing engine", e))
    }

    async fn import_engine(run: &Run, closed: &ClosedEngine) -> Result<(), LightningError> {
        let ctx = &run.ctx;
        ingest_engine(&ctx.backend.cluster, &ctx.stop, &run.name, closed).await
    }

    fn cleanup_engine(run: &Run, id: i32) -> Result<(), LightningError> {
        let u = engine_uuid(&run.name, id);
        let engines = &run.ctx.backend.engines;
        engines
            .remove_engine(u)
            .map_err(|e| err(format!("{}: removing engine {u}: {e}", run.name)))
    }

    /// `replace`: finds the rows later rows replace across the table's engines, keeps what
    /// they remove for the checksum, and leaves them out of every engine's import.
    async fn resolve(
        run: &Run,
        data: Vec<ClosedEngine>,
        index: ClosedEngine,
    ) -> Result<(Vec<ClosedEngine>, ClosedEngine), LightningError> {
        let (name, info) = (run.name.clone(), run.table.info.clone());
        let c = run.ctx.cfg.conflict.clone();
        let (d, i) = (data.clone(), index.clone());
        let res = tokio::task::spawn_blocking(move || {
            conflict::resolve(&name, &info, &d, &i, c.threshold, c.max_record_rows)
        })
        .await
        .map_err(|e| LightningError::Internal(e.to_string()))??;
        let ctx = &run.ctx;
        let info = &run.table.info;
        conflict::record(ctx, &run.name, info, ctx.task_id, &res.records).await?;
        let losers = res.losers.clone();
        *run.table
            .resolution
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = res;
        if losers.is_empty() {
            return Ok((data, index));
        }
        let view = |c: ClosedEngine| c.excluding(losers.clone());
        Ok((data.into_iter().map(view).collect(), view(index)))
    }

    fn encoder<'a>(
        run: &'a Run,
        data: &Engine,
        index: Option<&Engine>,
        chunk: &Chunk,
        start: ChunkProgress,
    ) -> Result<KvEncoder<'a>, LightningError> {
        let ctx = &run.ctx;
        let file = chunk.file.rel.clone();
        let engine_err = |e| err(format!("{file}: local engine: {e}"));
        let index = index.ok_or_else(|| LightningError::Internal("no index engine".into()))?;
        let info = &run.table.info;
        let enc = Encoder::new(info, ctx.backend.encode.clone())
            .map_err(|e| err(format!("`{}`: {e}", info.name)))?;
        Ok(KvEncoder::new(
            enc,
            data.writer().map_err(engine_err)?,
            index.writer().map_err(engine_err)?,
            file.clone(),
            run.name.clone(),
            start,
            ctx.cp.enabled.then(save_interval),
            ctx.errors.clone(),
            ctx.counters.clone(),
            ctx.backend.quota_gate.clone(),
        ))
    }

    fn end_encoder(
        run: &Run,
        mut kv: KvEncoder<'_>,
        read: Result<u64, LightningError>,
    ) -> Result<(u64, EncodeEnd), LightningError> {
        let info = &run.table.info;
        let file = kv.file.clone();
        let engine_err = |e| engine_error(info, &file, "local engine", e);
        let read = match read {
            Ok(n) => n,
            Err(e) => {
                return Err(match (kv.engine_error.take(), kv.budget_error.take()) {
                    (Some(ee), _) => engine_err(ee),
                    (None, Some(be)) => be,
                    (None, None) => e,
                })
            }
        };
        // Durable before the chunk is recorded as finished.
        let last = kv.make_durable().map_err(engine_err)?;
        let KvEncoder {
            data,
            index,
            rows,
            start,
            ..
        } = kv;
        data.close().map_err(engine_err)?;
        index.close().map_err(engine_err)?;
        let restored = last.pos.saturating_sub(start);
        Ok((
            read,
            EncodeEnd {
                rows: Some(rows),
                last: Some(last),
                restored,
            },
        ))
    }

    async fn writer(_run: &Run) -> Result<(), LightningError> {
        Ok(())
    }

    /// The encoder made the pairs durable before handing this progress over.
    async fn deliver(
        _run: &Run,
        _writer: &mut (),
        unit: ChunkProgress,
        rec: &mut ChunkRecorder<'_, Self>,
    ) -> Result<(), LightningError> {
        rec.save(unit).await
    }

    async fn rebase(run: &Run, max_ids: MaxIds) -> Result<(), LightningError> {
        post::rebase_auto_ids(&run.ctx, &run.name, &run.table.info, max_ids).await
    }

    async fn checksum(run: &Run, mut local: KvChecksum) -> Result<bool, LightningError> {
        local.remove(
            &run.table
                .resolution
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .removed,
        );
        let (db, table) = (&run.src.db, &run.src.name);
        post::checksum(&run.ctx, &run.name, db, table, &run.table.info, &local).await?;
        Ok(run.ctx.cfg.post_restore.checksum != PostOpLevel::Off)
    }

    async fn analyze(run: &Run) -> Result<bool, LightningError> {
        post::analyze(&run.ctx, &run.name).await?;
        Ok(run.ctx.cfg.post_restore.analyze != PostOpLevel::Off)
    }
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

/// An engine's error, prefixed with `name` (a table or a file): duplicate keys (strategy
/// "error") are named decoded, as a user reads them; others with what was being done.
fn engine_error(info: &TableInfo, name: &str, doing: &str, e: EngineError) -> LightningError {
    match e {
        EngineError::Duplicates { duplicates, .. } => {
            let keys: Vec<String> = duplicates
                .iter()
                .map(|d| describe_key(info, &d.key))
                .collect();
            err(format!(
                "{name}: duplicate keys found and [conflict] strategy = \"error\": {}",
                keys.join("; ")
            ))
        }
        e => err(format!("{name}: {doing}: {e}")),
    }
}
