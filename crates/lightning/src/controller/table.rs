//! One table, driven by its checkpoint in upstream's order of statuses: data engines
//! written (`ALL_WRITTEN`), closed (`CLOSED`) and imported (`IMPORTED`) one after another,
//! the index engine last (`INDEX_IMPORTED`), then `ALTERED_AUTO_INC`, `CHECKSUMMED`,
//! `INDEX_ADDED` and `ANALYZED` (or their `…_SKIPPED`). A rerun starts each step the
//! checkpoint does not show as done; a failure is recorded as the failed form of the last
//! status reached, so the next run refuses the table until `tidb-lightning-ctl` clears it.

use super::chunk::encode_engine;
use crate::backend::{Backend, ChunkProgress, Ctx, TableRun};
use crate::checkpoint;
use crate::limits::join_all;
use crate::summary::TableSummary;
use crate::LightningError;
use lightning_checkpoint::{
    unique_table_name, CheckpointDiffs, CheckpointStatus as S, CheckpointUpdate, ChunkCheckpoint,
    ChunkKey, EngineCheckpoint, TableCheckpoint, WHOLE_TABLE_ENGINE_ID,
};
use lightning_encode::{KvChecksum, MaxIds};
use lightning_engine::INDEX_ENGINE_ID;
use lightning_source::{Chunk, TableSource};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::task::JoinSet;

/// A table counts as done from this status on (the last post-process step ran or was
/// skipped).
const DONE: S = S::ANALYZE_SKIPPED;

/// Hands each table import its [`FairSlots`](crate::limits::FairSlots) key.
static NEXT_SLOT_KEY: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Chunks of one engine, by engine id.
type Layout = Vec<(i32, Vec<Chunk>)>;

/// Imports one table (or finishes what an earlier run of the task left of it). `None`
/// when the checkpoint says it was done already.
pub(super) async fn import_table<B: Backend>(
    ctx: Arc<Ctx<B>>,
    src: TableSource,
    table: Arc<B::Table>,
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
        src,
        name: name.clone(),
        table,
        resumed: !cp.engines.is_empty(),
        slot_key: NEXT_SLOT_KEY.fetch_add(1, Ordering::Relaxed),
        progress: Mutex::new(BTreeMap::new()),
        max_ids: Mutex::new(MaxIds {
            row_id: cp.auto_row_id_base.max(cp.auto_incr_base),
            auto_random: cp.auto_rand_base,
        }),
        statuses: Mutex::new(CheckpointDiffs::new()),
    });
    let mut reached = cp.status.max(S::LOADED);
    let mut res = import(&run, cp, &mut reached).await;
    if let Err(e) = flush_statuses(&run).await {
        if res.is_ok() {
            res = Err(e);
        }
    }
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
            let failed = set_status(&run, reached.into_failed()).await;
            if let Err(e2) = failed.and(flush_statuses(&run).await) {
                tracing::error!(table = %name, error = %e2, "could not record the failure");
            }
            Err(e)
        }
    }
}

/// Every step the checkpoint does not show as done; returns rows written and source
/// bytes read by this run. `reached` follows the table status recorded.
async fn import<B: Backend>(
    run: &Arc<TableRun<B>>,
    cp: TableCheckpoint,
    reached: &mut S,
) -> Result<(u64, u64), LightningError> {
    let ctx = &run.ctx;
    let columns = B::column_count(&run.table);
    let mut chunks = lightning_source::make_chunks_for_columns(&run.src, &ctx.cfg, columns)?;
    // What the table held before: recorded before anything is written.
    let before = if run.resumed {
        checkpoint::from_stored(&cp.checksum)
    } else {
        match B::before_first_run(run).await? {
            Some(b) => {
                let sum = CheckpointUpdate::TableChecksum(checkpoint::to_stored(&b));
                ctx.cp.save(&run.name, sum).await?;
                b
            }
            None => KvChecksum::new(),
        }
    };
    if !run.resumed {
        // Row ids continue above the table's allocator base, as the target's own inserts would.
        let base = B::row_id_base(&run.table);
        for c in &mut chunks {
            c.row_id_base += base;
            c.row_id_max += base;
        }
    }
    let layout = plan(run, chunks, &cp).await?;
    if run.resumed {
        let stored: Vec<&ChunkCheckpoint> =
            cp.engines.values().flat_map(|e| e.chunks.iter()).collect();
        B::resume(run, &before, &stored).await?;
    }
    let positions = layout
        .iter()
        .flat_map(|(_, c)| c)
        .map(|c| (c, run.progress_of(c).pos));
    crate::status::table_chunks(&run.name, positions);
    let status_of = |id: i32| cp.engines.get(&id).map_or(S::LOADED, |e| e.status);
    let batched = ctx.backend.capabilities().batched_engines;
    let index_status = if batched {
        status_of(INDEX_ENGINE_ID)
    } else {
        S::INDEX_IMPORTED
    };
    tracing::info!(table = %run.name, engines = layout.len(), chunks = layout.iter().map(|(_, c)| c.len()).sum::<usize>(), bytes = run.src.total_size, status = ?cp.status, "importing table");

    let engine_ids: Vec<i32> = layout.iter().map(|(id, _)| *id).collect();
    let ingest =
        index_status < S::IMPORTED || layout.iter().any(|(id, _)| status_of(*id) < S::IMPORTED);
    let guard = B::begin_table(run, ingest).await?;
    let written = write_and_import(run, layout, &status_of, index_status, reached).await;
    B::end_table(run, guard).await;
    let (rows, bytes) = written?;

    let max_ids = *run.max_ids.lock().unwrap_or_else(|e| e.into_inner());
    if *reached < S::ALTERED_AUTO_INC {
        B::rebase(run, max_ids).await?;
        advance(run, reached, S::ALTERED_AUTO_INC).await?;
    }
    if *reached < S::CHECKSUM_SKIPPED {
        let mut local = before;
        for p in run
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            local.merge(&p.checksum);
        }
        let done = match B::checksum(run, local).await? {
            true => S::CHECKSUMMED,
            false => S::CHECKSUM_SKIPPED,
        };
        advance(run, reached, done).await?;
    }
    if ctx.backend.capabilities().resolves_conflicts {
        // Kept for the checksum, which needed what the resolution removed.
        for id in engine_ids.into_iter().chain([INDEX_ENGINE_ID]) {
            B::cleanup_engine(run, id)?;
        }
    }
    if *reached < S::INDEX_ADDED && B::add_indexes(run).await? {
        advance(run, reached, S::INDEX_ADDED).await?;
    }
    if *reached < DONE {
        let done = match B::analyze(run).await? {
            true => S::ANALYZED,
            false => S::ANALYZE_SKIPPED,
        };
        advance(run, reached, done).await?;
    }
    Ok((rows, bytes))
}

/// Assigns chunks to engines: as the checkpoint recorded them, or (first run) in file
/// order, a new data engine whenever `batch-size` source bytes are reached (batched
/// engines) or all in engine 0, and records that. Fills `progress` with every chunk's
/// recorded position.
async fn plan<B: Backend>(
    run: &TableRun<B>,
    chunks: Vec<Chunk>,
    cp: &TableCheckpoint,
) -> Result<Layout, LightningError> {
    let ctx = &run.ctx;
    let batched = ctx.backend.capabilities().batched_engines;
    let mut progress = BTreeMap::new();
    let mut layout: Layout = Vec::new();
    if cp.engines.is_empty() {
        // Nothing recorded: what an earlier run left under these engines is stale.
        let stale = chunks.len() as i32 + 1;
        for id in std::iter::once(INDEX_ENGINE_ID).chain(0..stale) {
            B::cleanup_engine(run, id)?;
        }
        let batch = if batched {
            ctx.cfg.mydumper.batch_size.max(1)
        } else {
            u64::MAX
        };
        let (mut id, mut size) = (0, 0u64);
        for c in chunks {
            let len = c.end.min(c.file.size).saturating_sub(c.offset);
            if size > 0 && size.saturating_add(len) > batch {
                id += 1;
                size = 0;
            }
            size = size.saturating_add(len);
            progress.insert(checkpoint::chunk_key(&c), ChunkProgress::start_of(&c));
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
        if batched {
            engines.insert(
                INDEX_ENGINE_ID,
                EngineCheckpoint {
                    status: S::LOADED,
                    chunks: Vec::new(),
                },
            );
        }
        ctx.cp.store.insert_engines(&run.name, &engines).await?;
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
                    .ok_or_else(|| layout_mismatch(&run.name, &c.key))?;
                progress.insert(c.key.clone(), ChunkProgress::from_stored(c));
                cs.push(chunk);
            }
            cs.sort_by_key(|c| (c.file.rel.clone(), c.offset));
            layout.push((*id, cs));
        }
        if let Some(key) = by_key.keys().next() {
            return Err(checkpoint::layout_changed(&run.name, key));
        }
    }
    *run.progress.lock().unwrap_or_else(|e| e.into_inner()) = progress;
    Ok(layout)
}

/// Writes, closes and imports every engine not done yet: data engines in turn (each
/// imported in the background while the next is written), the index engine last.
async fn write_and_import<B: Backend>(
    run: &Arc<TableRun<B>>,
    layout: Layout,
    status_of: &(dyn Fn(i32) -> S + Sync),
    index_status: S,
    reached: &mut S,
) -> Result<(u64, u64), LightningError> {
    let ctx = &run.ctx;
    let index = if index_status < S::CLOSED {
        Some(open(run, INDEX_ENGINE_ID)?)
    } else {
        None
    };
    let mut imports = JoinSet::new();
    let (mut rows, mut bytes) = (0, 0);
    let mut failed = None;
    // Conflicts resolved across engines: every closed engine, and whether it was imported.
    let keep = ctx.backend.capabilities().resolves_conflicts;
    let resolving = keep && *reached < S::CHECKSUM_SKIPPED;
    let mut deferred: Vec<(i32, B::Closed, bool)> = Vec::new();
    for (id, chunks) in layout {
        let status = status_of(id);
        if status >= S::IMPORTED {
            if resolving {
                deferred.push((id, close(run, open(run, id)?).await?, true));
            } else {
                // Killed between recording the import and removing the engine.
                B::cleanup_engine(run, id)?;
            }
            continue;
        }
        let closed = if status < S::CLOSED {
            if index.is_none() && index_status < S::INDEX_IMPORTED {
                failed = Some(LightningError::Local(format!(
                    "{}: the index engine was closed before data engine {id}",
                    run.name
                )));
                break;
            }
            let engine = open(run, id)?;
            match encode_engine(run, id, &engine, index.as_ref(), chunks).await {
                Ok((r, b)) => {
                    rows += r;
                    bytes += b;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            set_engine_status(run, id, S::ALL_WRITTEN).await?;
            let closed = close(run, engine).await?;
            set_engine_status(run, id, S::CLOSED).await?;
            closed
        } else {
            close(run, open(run, id)?).await?
        };
        if resolving {
            deferred.push((id, closed, false));
        } else {
            imports.spawn(import_engine(run.clone(), id, closed, keep));
        }
    }
    if failed.is_none() {
        if *reached < S::ALL_WRITTEN {
            advance(run, reached, S::ALL_WRITTEN).await?;
        }
        let index = if let Some(index) = index {
            let closed = close(run, index).await?;
            set_engine_status(run, INDEX_ENGINE_ID, S::CLOSED).await?;
            advance(run, reached, S::CLOSED).await?;
            tracing::info!(table = %run.name, rows, "engines closed; importing");
            Some((closed, false))
        } else if index_status < S::IMPORTED || resolving {
            let closed = close(run, open(run, INDEX_ENGINE_ID)?).await?;
            Some((closed, index_status >= S::IMPORTED))
        } else {
            B::cleanup_engine(run, INDEX_ENGINE_ID)?;
            None
        };
        let (data, index) = match (resolving, index) {
            (true, Some((index, index_imported))) => {
                let ids: Vec<(i32, bool)> = deferred.iter().map(|(id, _, i)| (*id, *i)).collect();
                let closed: Vec<B::Closed> = deferred.drain(..).map(|(_, c, _)| c).collect();
                let (views, index) = B::resolve(run, closed, index).await?;
                let data = ids
                    .into_iter()
                    .zip(views)
                    .map(|((id, i), c)| (id, c, i))
                    .collect();
                (data, Some((index, index_imported)))
            }
            (_, index) => (std::mem::take(&mut deferred), index),
        };
        for (id, closed, imported) in data {
            if !imported {
                imports.spawn(import_engine(run.clone(), id, closed, keep));
            }
        }
        if let Some((closed, false)) = index {
            imports.spawn(import_engine(run.clone(), INDEX_ENGINE_ID, closed, keep));
        }
    }
    // Engines already closed finish their import even when writing failed: their
    // progress is kept for the rerun.
    let import_err = join_all(&mut imports, &ctx.stop, |()| ()).await;
    // A failed import stops the writers: its error, not their `Cancelled`, is the cause.
    let first = match (failed, import_err) {
        (Some(LightningError::Cancelled), Some(e)) => Some(e),
        (f, i) => f.or(i),
    };
    if let Some(e) = first {
        return Err(e);
    }
    if *reached < S::INDEX_IMPORTED {
        advance(run, reached, S::INDEX_IMPORTED).await?;
    }
    Ok((rows, bytes))
}

/// Imports a closed engine, records it imported and removes it (unless `keep`: conflicts
/// resolved across engines keep them until the checksum).
async fn import_engine<B: Backend>(
    run: Arc<TableRun<B>>,
    id: i32,
    closed: B::Closed,
    keep: bool,
) -> Result<(), LightningError> {
    B::import_engine(&run, &closed).await?;
    set_engine_status(&run, id, S::IMPORTED).await?;
    // The engine can only be removed once no handle holds it.
    drop(closed);
    if !keep {
        B::cleanup_engine(&run, id)?;
    }
    Ok(())
}

fn open<B: Backend>(run: &TableRun<B>, id: i32) -> Result<B::Engine, LightningError> {
    crate::metrics::Metrics::inc(&crate::metrics::metrics().importer_engine, "open", 1);
    B::open_engine(run, id)
}

async fn close<B: Backend>(run: &TableRun<B>, e: B::Engine) -> Result<B::Closed, LightningError> {
    let closed = B::close_engine(run, e).await;
    let m = crate::metrics::metrics();
    crate::metrics::Metrics::inc(&m.importer_engine, "closed", 1);
    let result = if closed.is_ok() { "success" } else { "failure" };
    m.engines.with_label_values(&["closed", result]).inc();
    closed
}

async fn set_engine_status<B: Backend>(
    run: &TableRun<B>,
    id: i32,
    status: S,
) -> Result<(), LightningError> {
    if status != S::CLOSED {
        let m = &crate::metrics::metrics().engines;
        m.with_label_values(&[status.metric_name(), "success"])
            .inc();
    }
    record(
        run,
        CheckpointUpdate::Status {
            engine_id: id,
            status,
        },
    )
    .await
}

async fn set_status<B: Backend>(run: &TableRun<B>, status: S) -> Result<(), LightningError> {
    let engine_id = WHOLE_TABLE_ENGINE_ID;
    record(run, CheckpointUpdate::Status { engine_id, status }).await
}

/// Records a status now, or (lazy statuses) at [`flush_statuses`].
async fn record<B: Backend>(run: &TableRun<B>, u: CheckpointUpdate) -> Result<(), LightningError> {
    if !run.ctx.backend.capabilities().lazy_statuses {
        return run.ctx.cp.save(&run.name, u).await;
    }
    let mut pending = run.statuses.lock().unwrap_or_else(|e| e.into_inner());
    pending.merge(&run.name, &u);
    Ok(())
}

/// Records the statuses reached and not recorded yet, in one write.
async fn flush_statuses<B: Backend>(run: &TableRun<B>) -> Result<(), LightningError> {
    let pending = std::mem::take(&mut *run.statuses.lock().unwrap_or_else(|e| e.into_inner()));
    if pending.is_empty() {
        return Ok(());
    }
    run.ctx.cp.store.update(&pending).await?;
    Ok(())
}

/// Records the table at `status` and remembers it as reached.
async fn advance<B: Backend>(
    run: &TableRun<B>,
    reached: &mut S,
    status: S,
) -> Result<(), LightningError> {
    set_status(run, status).await?;
    crate::status::table_state(status.metric_name());
    *reached = status;
    Ok(())
}

fn layout_mismatch(name: &str, key: &ChunkKey) -> LightningError {
    LightningError::Unsupported(format!(
        "checkpoint of table {name} has chunk {key}, which the source no longer has: the chunk layout changed (region size or files); run `tidb-lightning-ctl --checkpoint-error-destroy='{name}'` or `--checkpoint-remove='{name}'` (and drop the table) to import it from scratch"
    ))
}
