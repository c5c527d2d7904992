//! One table of a local import, driven by its checkpoint, in upstream's order of statuses:
//! data engines written (`ALL_WRITTEN`), closed (`CLOSED`) and imported (`IMPORTED`) one
//! after another, the index engine last (`INDEX_IMPORTED`), then `ALTERED_AUTO_INC`,
//! `CHECKSUMMED` and `ANALYZED` (or their `…_SKIPPED`). A rerun starts each step the
//! checkpoint does not show as done; a failure is recorded as the failed form of the last
//! status reached, so the next run refuses the table until `tidb-lightning-ctl` clears it.

use super::conflict::{self, Resolution};
use super::encode::{ChunkProgress, KvEncoder};
use super::{err, ingest_engine, post, Ctx};
use crate::checkpoint::{self, from_i64, to_i64};
use crate::limits::join_all;
use crate::reader::{read_chunk, ChunkRead};
use crate::task::TableSummary;
use crate::LightningError;
use lightning_checkpoint::{
    unique_table_name, CheckpointDiffs, CheckpointStatus as S, CheckpointUpdate, ChunkDiff,
    ChunkKey, EngineCheckpoint, Rebase, TableCheckpoint, WHOLE_TABLE_ENGINE_ID,
};
use lightning_cluster::{SchedulerPause, DEFAULT_PAUSE_TTL};
use lightning_config::{ConflictStrategy, PauseScope, PostOpLevel};
use lightning_encode::key::{decode_key, DecodedHandle, DecodedKey};
use lightning_encode::{Encoder, KvChecksum, MaxIds, TableInfo};
use lightning_engine::{engine_uuid, ClosedEngine, Engine, EngineError, INDEX_ENGINE_ID};
use lightning_source::{Chunk, TableSource};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// A table counts as done from this status on (the last post-restore step ran or was
/// skipped).
const DONE: S = S::ANALYZE_SKIPPED;

/// How often a chunk in progress makes its pairs durable and records its position; the
/// `TIDB_LIGHTNING_CHUNK_SAVE_INTERVAL_MS` environment variable overrides it (tests).
fn save_interval() -> Duration {
    std::env::var("TIDB_LIGHTNING_CHUNK_SAVE_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_secs(5), Duration::from_millis)
}

/// One table's import in progress.
struct TableRun {
    ctx: Arc<Ctx>,
    /// Unique name, as checkpoints know the table.
    name: String,
    info: Arc<TableInfo>,
    /// Every chunk's progress; the table's local checksum is their sum.
    progress: Mutex<BTreeMap<ChunkKey, ChunkProgress>>,
    /// Largest ids used, from the checkpoint and this run.
    max_ids: Mutex<MaxIds>,
    /// `[conflict] strategy = "replace"`: engines are resolved together before any is
    /// ingested, and kept until the checksum (which needs what the resolution removed).
    replace: bool,
    /// What the `replace` resolution removed.
    resolution: Mutex<Resolution>,
}

/// Imports one table (or finishes what an earlier run of the task left of it). `None`
/// when the checkpoint says it was done already.
pub(super) async fn import_table(
    ctx: Arc<Ctx>,
    src: TableSource,
    info: Arc<TableInfo>,
) -> Result<Option<TableSummary>, LightningError> {
    let started = Instant::now();
    let name = unique_table_name(&src.db, &src.name);
    let cp = ctx.cp.store.get(&name).await?;
    if cp.status >= DONE {
        tracing::info!(table = %name, "table finished by an earlier run; skipped");
        crate::status::table_ended(&name, &Ok(()));
        ctx.counters.tables_done.fetch_add(1, Ordering::Relaxed);
        return Ok(None);
    }
    let run = Arc::new(TableRun {
        ctx: ctx.clone(),
        name: name.clone(),
        info,
        progress: Mutex::new(BTreeMap::new()),
        max_ids: Mutex::new(MaxIds {
            row_id: cp.auto_row_id_base.max(cp.auto_incr_base),
            auto_random: cp.auto_rand_base,
        }),
        replace: ctx.cfg.conflict.strategy == ConflictStrategy::Replace,
        resolution: Mutex::new(Resolution::default()),
    });
    let mut reached = cp.status.max(S::LOADED);
    let res = run.import(&src, cp, &mut reached).await;
    crate::status::table_ended(&name, &res);
    crate::metrics::metrics()
        .import_seconds
        .observe(started.elapsed().as_secs_f64());
    match res {
        Ok((rows, bytes)) => {
            ctx.counters.tables_done.fetch_add(1, Ordering::Relaxed);
            let seconds = started.elapsed().as_secs_f64();
            tracing::info!(table = %name, rows, bytes, seconds, "table imported");
            Ok(Some(TableSummary {
                name,
                rows,
                bytes,
                seconds,
            }))
        }
        Err(LightningError::Cancelled) => Err(LightningError::Cancelled),
        Err(e) => {
            tracing::error!(table = %name, error = %e, "table failed; recording it in the checkpoint");
            if let Err(e2) = run.set_status(reached.into_failed()).await {
                tracing::error!(table = %name, error = %e2, "could not record the failure");
            }
            Err(e)
        }
    }
}

/// Chunks of one data engine.
type Layout = Vec<(i32, Vec<Chunk>)>;

impl TableRun {
    /// Every step the checkpoint does not show as done; returns rows encoded and source
    /// bytes read by this run. `reached` follows the table status recorded.
    async fn import(
        self: &Arc<Self>,
        src: &TableSource,
        cp: TableCheckpoint,
        reached: &mut S,
    ) -> Result<(u64, u64), LightningError> {
        let ctx = &self.ctx;
        let columns = self
            .info
            .columns
            .iter()
            .filter(|c| c.generated.is_none())
            .count();
        let mut chunks = lightning_source::make_chunks_for_columns(src, &ctx.cfg, columns)?;
        // What the table held before, for the checksum: recorded before anything is written.
        let before = if !cp.engines.is_empty() {
            checkpoint::from_stored(&cp.checksum)
        } else if !ctx.cfg.lightning.check_requirements
            && ctx.cfg.post_restore.checksum != PostOpLevel::Off
        {
            // Unchecked, the table may hold rows already (an incremental import).
            let b = post::remote_checksum(ctx, &self.name, &src.db, &src.name, &self.info).await?;
            if b.kvs > 0 {
                tracing::info!(table = %self.name, kvs = b.kvs, "the table holds data already; its checksum counts in the comparison");
                let sum = CheckpointUpdate::TableChecksum(checkpoint::to_stored(&b));
                ctx.cp.save(&self.name, sum).await?;
            }
            b
        } else {
            KvChecksum::new()
        };
        if cp.engines.is_empty() {
            // Row ids continue above the table's allocator base, as TiDB's own inserts would.
            let base = row_id_base(&self.info);
            for c in &mut chunks {
                c.row_id_base += base;
                c.row_id_max += base;
            }
        }
        let layout = self.plan(chunks, &cp).await?;
        let positions = layout
            .iter()
            .flat_map(|(_, c)| c)
            .map(|c| (c, self.progress_of(c).pos));
        crate::status::table_chunks(&self.name, positions);
        let engine_ids: Vec<i32> = layout.iter().map(|(id, _)| *id).collect();
        let status_of = |id: i32| cp.engines.get(&id).map_or(S::LOADED, |e| e.status);
        let index_status = status_of(INDEX_ENGINE_ID);
        tracing::info!(table = %self.name, table_id = self.info.id, engines = layout.len(), bytes = src.total_size, status = ?cp.status, "encoding table");

        let to_ingest =
            index_status < S::IMPORTED || layout.iter().any(|(id, _)| status_of(*id) < S::IMPORTED);
        let pause = if to_ingest
            && ctx.cfg.tikv_importer.pause_pd_scheduler_scope == PauseScope::Table
        {
            let (start, end) = post::table_range(self.info.id);
            Some(
                SchedulerPause::key_range(ctx.cluster.pd_http(), &start, &end, DEFAULT_PAUSE_TTL)
                    .await
                    .map_err(|e| {
                        err(format!(
                            "{}: pausing PD scheduling on the table's range: {e}",
                            self.name
                        ))
                    })?,
            )
        } else {
            None
        };
        let ingested = self.write_and_ingest(layout, &status_of, reached).await;
        if let Some(p) = pause {
            if let Err(e) = p.resume().await {
                tracing::warn!(table = %self.name, error = %e, "resuming PD scheduling failed; the label rule's TTL will lift it");
            }
        }
        let (rows, bytes) = ingested?;

        let max_ids = *self.max_ids.lock().unwrap_or_else(|e| e.into_inner());
        if *reached < S::ALTERED_AUTO_INC {
            post::rebase_auto_ids(ctx, &self.name, &self.info, max_ids).await?;
            self.advance(reached, S::ALTERED_AUTO_INC).await?;
        }
        if *reached < S::CHECKSUM_SKIPPED {
            let mut local = before;
            for p in self
                .progress
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .values()
            {
                local.merge(&p.checksum);
            }
            local.remove(
                &self
                    .resolution
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .removed,
            );
            post::checksum(ctx, &self.name, &src.db, &src.name, &self.info, &local).await?;
            let done = match ctx.cfg.post_restore.checksum {
                PostOpLevel::Off => S::CHECKSUM_SKIPPED,
                _ => S::CHECKSUMMED,
            };
            self.advance(reached, done).await?;
        }
        if self.replace {
            for id in engine_ids.into_iter().chain([INDEX_ENGINE_ID]) {
                self.remove(id)?;
            }
        }
        if *reached < DONE {
            post::analyze(ctx, &self.name).await?;
            let done = match ctx.cfg.post_restore.analyze {
                PostOpLevel::Off => S::ANALYZE_SKIPPED,
                _ => S::ANALYZED,
            };
            self.advance(reached, done).await?;
        }
        Ok((rows, bytes))
    }

    /// Assigns chunks to data engines: as the checkpoint recorded them, or (first run)
    /// in file order, a new engine whenever `batch-size` source bytes are reached, and
    /// records that. Fills `progress` with every chunk's recorded position.
    async fn plan(
        &self,
        chunks: Vec<Chunk>,
        cp: &TableCheckpoint,
    ) -> Result<Layout, LightningError> {
        let ctx = &self.ctx;
        let mut progress = BTreeMap::new();
        let mut layout: Layout = Vec::new();
        if cp.engines.is_empty() {
            // Nothing recorded: what an earlier run left under these engines is stale.
            let stale = chunks.len() as i32 + 1;
            for id in std::iter::once(INDEX_ENGINE_ID).chain(0..stale) {
                self.remove(id)?;
            }
            let batch = ctx.cfg.mydumper.batch_size.max(1);
            let (mut id, mut size) = (0, 0u64);
            for c in chunks {
                let len = c.end.min(c.file.size).saturating_sub(c.offset);
                if size > 0 && size + len > batch {
                    id += 1;
                    size = 0;
                }
                size += len;
                progress.insert(checkpoint::chunk_key(&c), start_of(&c));
                match layout.last_mut() {
                    Some((last, cs)) if *last == id => cs.push(c),
                    _ => layout.push((id, vec![c])),
                }
            }
            let now = checkpoint::now_secs();
            let mut engines = BTreeMap::new();
            for (id, cs) in &layout {
                let mut chunks: Vec<_> = cs.iter().map(|c| checkpoint::new_chunk(c, now)).collect();
                chunks.sort_by(|a, b| a.key.cmp(&b.key));
                engines.insert(
                    *id,
                    EngineCheckpoint {
                        status: S::LOADED,
                        chunks,
                    },
                );
            }
            engines.insert(
                INDEX_ENGINE_ID,
                EngineCheckpoint {
                    status: S::LOADED,
                    chunks: Vec::new(),
                },
            );
            ctx.cp.store.insert_engines(&self.name, &engines).await?;
        } else {
            let mut by_key: BTreeMap<ChunkKey, Chunk> = chunks
                .into_iter()
                .map(|c| (checkpoint::chunk_key(&c), c))
                .collect();
            for (id, e) in cp.engines.iter().filter(|(id, _)| **id >= 0) {
                let mut cs = Vec::new();
                for c in &e.chunks {
                    let chunk = by_key
                        .remove(&c.key)
                        .ok_or_else(|| layout_mismatch(&self.name, &c.key))?;
                    progress.insert(
                        c.key.clone(),
                        ChunkProgress {
                            pos: from_i64(c.chunk.offset),
                            row_id: from_i64(c.chunk.prev_rowid_max),
                            checksum: checkpoint::from_stored(&c.checksum),
                            max_ids: MaxIds::default(),
                        },
                    );
                    cs.push(chunk);
                }
                cs.sort_by_key(|c| (c.file.rel.clone(), c.offset));
                layout.push((*id, cs));
            }
            if let Some(key) = by_key.keys().next() {
                return Err(checkpoint::layout_changed(&self.name, key));
            }
        }
        *self.progress.lock().unwrap_or_else(|e| e.into_inner()) = progress;
        Ok(layout)
    }

    /// Encodes, closes and ingests every engine not done yet: data engines in turn (each
    /// ingested in the background while the next is encoded), the index engine last.
    async fn write_and_ingest(
        self: &Arc<Self>,
        layout: Layout,
        status_of: &(dyn Fn(i32) -> S + Sync),
        reached: &mut S,
    ) -> Result<(u64, u64), LightningError> {
        let ctx = &self.ctx;
        let index_status = status_of(INDEX_ENGINE_ID);
        let index = if index_status < S::CLOSED {
            Some(self.open(INDEX_ENGINE_ID)?)
        } else {
            None
        };
        let mut imports = JoinSet::new();
        let (mut rows, mut bytes) = (0, 0);
        let mut failed = None;
        // `replace`: every closed engine, and whether it was imported already.
        let resolving = self.replace && *reached < S::CHECKSUM_SKIPPED;
        let mut deferred: Vec<(i32, ClosedEngine, bool)> = Vec::new();
        for (id, chunks) in layout {
            let status = status_of(id);
            if status >= S::IMPORTED {
                if resolving {
                    deferred.push((id, self.close(self.open(id)?).await?, true));
                } else {
                    // Killed between recording the import and removing the engine.
                    self.remove(id)?;
                }
                continue;
            }
            let closed = if status < S::CLOSED {
                let Some(index) = &index else {
                    failed = Some(err(format!(
                        "{}: the index engine was closed before data engine {id}",
                        self.name
                    )));
                    break;
                };
                let engine = self.open(id)?;
                match self.encode_engine(id, &engine, index, chunks).await {
                    Ok((r, b)) => {
                        rows += r;
                        bytes += b;
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
                self.set_engine_status(id, S::ALL_WRITTEN).await?;
                let closed = self.close(engine).await?;
                self.set_engine_status(id, S::CLOSED).await?;
                closed
            } else {
                self.close(self.open(id)?).await?
            };
            if resolving {
                deferred.push((id, closed, false));
            } else {
                imports.spawn(self.clone().ingest(id, closed));
            }
        }
        if failed.is_none() {
            if *reached < S::ALL_WRITTEN {
                self.advance(reached, S::ALL_WRITTEN).await?;
            }
            let index = if let Some(index) = index {
                let closed = self.close(index).await?;
                self.set_engine_status(INDEX_ENGINE_ID, S::CLOSED).await?;
                self.advance(reached, S::CLOSED).await?;
                tracing::info!(table = %self.name, rows, "engines closed; importing");
                Some((closed, false))
            } else if index_status < S::IMPORTED || resolving {
                let closed = self.close(self.open(INDEX_ENGINE_ID)?).await?;
                Some((closed, index_status >= S::IMPORTED))
            } else {
                self.remove(INDEX_ENGINE_ID)?;
                None
            };
            let losers = match (resolving, &index) {
                (true, Some((index, _))) => Some(self.resolve(&deferred, index).await?.losers),
                _ => None,
            };
            let view = |c: ClosedEngine| match &losers {
                Some(l) if !l.is_empty() => c.excluding(l.clone()),
                _ => c,
            };
            for (id, closed, imported) in deferred.drain(..) {
                if !imported {
                    imports.spawn(self.clone().ingest(id, view(closed)));
                }
            }
            if let Some((closed, false)) = index {
                let closed = view(closed);
                imports.spawn(self.clone().ingest(INDEX_ENGINE_ID, closed));
            }
        }
        // Engines already closed finish their ingest even when encoding failed: their
        // progress is kept for the rerun.
        let import_err = join_all(&mut imports, &ctx.stop, |()| ()).await;
        // A failed ingest stops the encoders: its error, not their `Cancelled`, is the cause.
        let first = match (failed, import_err) {
            (Some(LightningError::Cancelled), Some(e)) => Some(e),
            (f, i) => f.or(i),
        };
        if let Some(e) = first {
            return Err(e);
        }
        if *reached < S::INDEX_IMPORTED {
            self.advance(reached, S::INDEX_IMPORTED).await?;
        }
        Ok((rows, bytes))
    }

    /// Ingests a closed engine, records it imported and removes it (under `replace`, only
    /// after the checksum).
    async fn ingest(self: Arc<Self>, id: i32, closed: ClosedEngine) -> Result<(), LightningError> {
        let ctx = &self.ctx;
        ingest_engine(&ctx.cluster, &ctx.stop, &self.name, &closed).await?;
        self.set_engine_status(id, S::IMPORTED).await?;
        // The engine can only be removed once no handle holds it.
        drop(closed);
        if self.replace {
            return Ok(());
        }
        self.remove(id)
    }

    /// `replace`: finds the rows later rows replace across the table's engines and keeps
    /// what they remove for the checksum.
    async fn resolve(
        self: &Arc<Self>,
        data: &[(i32, ClosedEngine, bool)],
        index: &ClosedEngine,
    ) -> Result<Resolution, LightningError> {
        let this = self.clone();
        let data: Vec<ClosedEngine> = data.iter().map(|(_, e, _)| e.clone()).collect();
        let index = index.clone();
        let res = tokio::task::spawn_blocking(move || {
            let c = &this.ctx.cfg.conflict;
            conflict::resolve(
                &this.name,
                &this.info,
                &data,
                &index,
                c.threshold,
                c.max_record_rows,
            )
        })
        .await
        .map_err(|e| LightningError::Internal(e.to_string()))??;
        let ctx = &self.ctx;
        conflict::record(ctx, &self.name, &self.info, ctx.task_id, &res.records).await?;
        *self.resolution.lock().unwrap_or_else(|e| e.into_inner()) = res.clone();
        Ok(res)
    }

    /// Deletes an engine's files (nothing when it is gone already).
    fn remove(&self, id: i32) -> Result<(), LightningError> {
        let u = engine_uuid(&self.name, id);
        self.ctx
            .engines
            .remove_engine(u)
            .map_err(|e| err(format!("{}: removing engine {u}: {e}", self.name)))
    }

    /// Writes every unfinished chunk of one data engine, `region-concurrency` at once.
    async fn encode_engine(
        self: &Arc<Self>,
        engine_id: i32,
        data: &Engine,
        index: &Engine,
        chunks: Vec<Chunk>,
    ) -> Result<(u64, u64), LightningError> {
        let mut set = JoinSet::new();
        for chunk in chunks {
            let start = self.progress_of(&chunk);
            if start.pos >= chunk.end {
                continue;
            }
            if start.pos > chunk.offset {
                tracing::info!(table = %self.name, chunk = %checkpoint::chunk_key(&chunk), pos = start.pos, "resuming chunk");
            }
            let (run, data, index) = (self.clone(), data.clone(), index.clone());
            set.spawn(async move {
                let name = run.name.clone();
                let res = run.encode_chunk(engine_id, data, index, chunk, start).await;
                crate::status::chunk_ended(&name, &res);
                res
            });
        }
        let (mut rows, mut bytes) = (0, 0);
        match join_all(&mut set, &self.ctx.stop, |(r, b)| {
            rows += r;
            bytes += b;
        })
        .await
        {
            Some(e) => Err(e),
            None => Ok((rows, bytes)),
        }
    }

    fn progress_of(&self, c: &Chunk) -> ChunkProgress {
        let map = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&checkpoint::chunk_key(c))
            .copied()
            .unwrap_or_else(|| start_of(c))
    }

    /// One chunk: a blocking thread reads, parses, encodes and appends to the engines,
    /// handing back progress whenever it made its pairs durable; this task records it.
    async fn encode_chunk(
        self: Arc<Self>,
        engine_id: i32,
        data: Engine,
        index: Engine,
        chunk: Chunk,
        start: ChunkProgress,
    ) -> Result<(u64, u64), LightningError> {
        let ctx = self.ctx.clone();
        crate::pause::pauser().wait(&ctx.stop).await;
        let _permit = crate::limits::permit(&ctx.region, &ctx.stop).await?;
        let _busy = crate::status::chunk_running();
        let key = checkpoint::chunk_key(&chunk);
        let (end, offset) = (chunk.end, chunk.offset);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<ChunkProgress>(4);
        let run = self.clone();
        let producer = tokio::task::spawn_blocking(move || {
            let ctx = &run.ctx;
            let file = chunk.file.rel.clone();
            let engine_err = |e| err(format!("{file}: local engine: {e}"));
            let enc = Encoder::new(&run.info, ctx.encode.clone())
                .map_err(|e| err(format!("`{}`: {e}", run.info.name)))?;
            let mut kv = KvEncoder::new(
                enc,
                data.writer().map_err(engine_err)?,
                index.writer().map_err(engine_err)?,
                file.clone(),
                run.name.clone(),
                start,
                ctx.cp.enabled.then(save_interval),
                ctx.errors.clone(),
                ctx.counters.clone(),
                ctx.quota_gate.clone(),
            );
            let job = ChunkRead::new(
                &chunk,
                &ctx.formats,
                &ctx.cfg,
                &ctx.errors,
                &ctx.io,
                &ctx.stop,
                start.pos,
            );
            let read = match read_chunk(job, &mut kv, &tx) {
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
                data, index, rows, ..
            } = kv;
            data.close().map_err(engine_err)?;
            index.close().map_err(engine_err)?;
            Ok((rows, read, last))
        });
        let saved = async {
            while let Some(p) = rx.recv().await {
                self.save_chunk(engine_id, &key, p).await?;
            }
            Ok::<(), LightningError>(())
        }
        .await;
        // Closing the channel makes a reader still sending stop with `Cancelled`.
        drop(rx);
        let produced = producer
            .await
            .map_err(|e| LightningError::Internal(e.to_string()))?;
        saved?;
        let (rows, read, mut last) = produced?;
        // What no row spans (statement heads, separators, the tail) is done too.
        let tail = if end == u64::MAX { offset + read } else { end };
        crate::status::restored(&self.name, tail.saturating_sub(last.pos), 0);
        // The whole chunk is in: record its end (compressed chunks end at `u64::MAX`).
        last.pos = end;
        self.save_chunk(engine_id, &key, last).await?;
        Ok((rows, read))
    }

    /// Records a chunk's progress (and the ids it used) in memory and in the checkpoint.
    async fn save_chunk(
        &self,
        engine_id: i32,
        key: &ChunkKey,
        p: ChunkProgress,
    ) -> Result<(), LightningError> {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.clone(), p);
        {
            let mut m = self.max_ids.lock().unwrap_or_else(|e| e.into_inner());
            m.row_id = m.row_id.max(p.max_ids.row_id);
            m.auto_random = m.auto_random.max(p.max_ids.auto_random);
        }
        let mut d = CheckpointDiffs::new();
        d.merge(
            &self.name,
            &CheckpointUpdate::Chunk {
                engine_id,
                key: key.clone(),
                diff: ChunkDiff {
                    pos: to_i64(p.pos),
                    real_pos: to_i64(p.pos),
                    row_id: to_i64(p.row_id),
                    checksum: checkpoint::to_stored(&p.checksum),
                    column_permutation: Vec::new(),
                },
            },
        );
        d.merge(
            &self.name,
            &CheckpointUpdate::Rebase(Rebase {
                auto_rand_base: p.max_ids.auto_random,
                auto_incr_base: p.max_ids.row_id,
                auto_row_id_base: p.max_ids.row_id,
            }),
        );
        self.ctx.cp.store.update(&d).await?;
        Ok(())
    }

    fn open(&self, id: i32) -> Result<Engine, LightningError> {
        let u = engine_uuid(&self.name, id);
        crate::metrics::Metrics::inc(&crate::metrics::metrics().importer_engine, "open", 1);
        self.ctx
            .engines
            .open_engine(u)
            .map_err(|e| err(format!("{}: opening engine {u}: {e}", self.name)))
    }

    /// Closes (sorts) an engine on a blocking thread; duplicate keys are named decoded.
    async fn close(&self, e: Engine) -> Result<ClosedEngine, LightningError> {
        let closed = tokio::task::spawn_blocking(move || e.close())
            .await
            .map_err(|j| LightningError::Internal(j.to_string()))?;
        let m = crate::metrics::metrics();
        crate::metrics::Metrics::inc(&m.importer_engine, "closed", 1);
        let result = if closed.is_ok() { "success" } else { "failure" };
        m.engines.with_label_values(&["closed", result]).inc();
        closed.map_err(|e| match e {
            EngineError::Duplicates { duplicates, .. } => {
                let keys: Vec<String> = duplicates
                    .iter()
                    .map(|d| describe_key(&self.info, &d.key))
                    .collect();
                err(format!(
                    "{}: duplicate keys found and [conflict] strategy = \"error\": {}",
                    self.name,
                    keys.join("; ")
                ))
            }
            e => err(format!("{}: closing engine: {e}", self.name)),
        })
    }

    async fn set_engine_status(&self, id: i32, status: S) -> Result<(), LightningError> {
        if status != S::CLOSED {
            let m = &crate::metrics::metrics().engines;
            m.with_label_values(&[status.metric_name(), "success"])
                .inc();
        }
        self.ctx.cp.save_engine_status(&self.name, id, status).await
    }

    async fn set_status(&self, status: S) -> Result<(), LightningError> {
        self.ctx
            .cp
            .save_engine_status(&self.name, WHOLE_TABLE_ENGINE_ID, status)
            .await
    }

    /// Records the table at `status` and remembers it as reached.
    async fn advance(&self, reached: &mut S, status: S) -> Result<(), LightningError> {
        self.set_status(status).await?;
        crate::status::table_state(status.metric_name());
        *reached = status;
        Ok(())
    }
}

/// The last id TiDB's allocator handed out for the table, as its schema says
/// (`AUTO_INCREMENT=n` / `AUTO_RANDOM_BASE=n` make `n` the next id).
fn row_id_base(info: &TableInfo) -> u64 {
    let next = if info.auto_random_column().is_some() {
        info.auto_random_base
    } else {
        info.auto_increment_base
    };
    next.unwrap_or(0).saturating_sub(1)
}

/// A chunk nothing of which was imported.
fn start_of(c: &Chunk) -> ChunkProgress {
    ChunkProgress {
        pos: c.offset,
        row_id: c.row_id_base,
        ..ChunkProgress::default()
    }
}

fn layout_mismatch(name: &str, key: &ChunkKey) -> LightningError {
    LightningError::Unsupported(format!(
        "checkpoint of table {name} has chunk {key}, which the source no longer has: the chunk layout changed (region size or files); run `tidb-lightning-ctl --checkpoint-error-destroy='{name}'` or `--checkpoint-remove='{name}'` (and drop the table) to import it from scratch"
    ))
}

/// The name of index `id` of the table, if it has one by that id.
pub(super) fn index_name(info: &TableInfo, id: i64) -> Option<&str> {
    info.indices
        .iter()
        .find(|i| i.id == id)
        .map(|i| i.name.as_str())
}

/// A duplicate key as a user reads it: the index (or primary key) and its values.
pub(super) fn describe_key(info: &TableInfo, key: &[u8]) -> String {
    let values = |v: &[lightning_encode::Datum]| {
        v.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match decode_key(key) {
        Ok(DecodedKey::Record {
            handle: DecodedHandle::Int(h),
            ..
        }) => {
            format!("PRIMARY (handle {h})")
        }
        Ok(DecodedKey::Record {
            handle: DecodedHandle::Common(v),
            ..
        }) => {
            format!("PRIMARY ({})", values(&v))
        }
        Ok(DecodedKey::Index {
            index_id,
            values: v,
            ..
        }) => {
            let name = index_name(info, index_id)
                .map_or_else(|| format!("index id {index_id}"), |n| format!("`{n}`"));
            format!("{name} ({})", values(&v))
        }
        _ => format!(
            "key {}",
            key.iter().map(|b| format!("{b:02X}")).collect::<String>()
        ),
    }
}
