//! The import controller, one for every backend: scan → checkpoints → schemas →
//! prechecks → tables (`table`) → chunks (`chunk`) → post-process → views → checkpoint
//! cleanup. It drives a [`Backend`] through the engine lifecycle and never asks which
//! backend it is; what differs is behind the trait and its [`Capabilities`].
//!
//! [`Capabilities`]: crate::backend::Capabilities

mod chunk;
mod table;

use crate::backend::{Backend, Ctx};
use crate::checkpoint::Checkpoints;
use crate::connect::connect_options;
use crate::limits::{join_all, BlockingSemaphore, ErrorBudget, FairSlots, StopFlag};
use crate::progress::Progress;
use crate::reader::Formats;
use crate::summary::ImportSummary;
use crate::{schema, LightningError};
use lightning_backend::tidb::TidbTarget;
use lightning_checkpoint::unique_table_name;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Runs an import to completion with backend `B`.
pub(crate) async fn run<B: Backend>(
    cfg: lightning_config::Config,
    stop: Arc<StopFlag>,
) -> Result<ImportSummary, LightningError> {
    let started = Instant::now();
    let cfg = Arc::new(cfg);
    let scan_cfg = cfg.clone();
    let dump = tokio::task::spawn_blocking(move || lightning_source::scan(&scan_cfg))
        .await
        .map_err(|e| LightningError::Internal(e.to_string()))??;
    let task_cp = crate::checkpoint::open_task(&cfg, &dump).await?;
    let target = TidbTarget::connect(&connect_options(&cfg)).await?;
    tracing::info!(version = %target.version(), "connected to the target");
    let backend = B::open(&cfg, &target).await?;
    let charset = cfg.mydumper.character_set.clone();
    if !cfg.mydumper.no_schema {
        backend.create_schemas(&target, &dump, &charset).await?;
    }

    // Load every target table, then check the ones that must be empty are (a table an
    // earlier run of this task started holds that run's rows).
    let mut work = Vec::new();
    let mut not_empty = Vec::new();
    for src in dump.databases.iter().flat_map(|d| d.tables.iter()) {
        let table = backend.load_table(&target, src).await?;
        let resumed = task_cp
            .started
            .contains(&unique_table_name(&src.db, &src.name));
        if cfg.lightning.check_requirements && !resumed {
            if let Some(name) = backend.refuse_not_empty(&target, src, &table).await? {
                not_empty.push(name);
            }
        }
        work.push((src.clone(), Arc::new(table)));
    }
    if !not_empty.is_empty() {
        return Err(LightningError::TablesNotEmpty {
            tables: not_empty,
            hint: backend.not_empty_hint(),
        });
    }
    if cfg.lightning.check_requirements {
        let sources: Vec<_> = work.iter().map(|(s, _)| s).collect();
        backend.precheck(&cfg, &sources)?;
    }

    let total = crate::status::task_started(work.iter().map(|(t, _)| t), &cfg);
    let progress = Progress::start(
        Arc::default(),
        total,
        work.len(),
        cfg.cron.log_progress,
        backend.capabilities().import_phase,
    );
    let ctx = Arc::new(Ctx {
        counters: progress.counters().clone(),
        target: target.clone(),
        region: FairSlots::new(cfg.lightning.region_concurrency),
        io: BlockingSemaphore::new(cfg.lightning.io_concurrency),
        stop: stop.clone(),
        formats: Formats::new(&cfg, target.no_backslash_escapes())?,
        errors: Arc::new(ErrorBudget::new(cfg.lightning.max_error.type_)),
        cp: Checkpoints {
            store: task_cp.store,
            enabled: cfg.checkpoint.enable,
        },
        task_id: task_cp.task_id,
        backend,
        cfg: cfg.clone(),
    });

    let guard = B::begin_task(&ctx).await?;
    let tables = Arc::new(Semaphore::new(cfg.lightning.table_concurrency.max(1)));
    let mut set = JoinSet::new();
    // Longest first: the table whose largest chunk is largest (a chunk has one writer, so
    // that is the least time its table takes), then the largest tables, so the small ones
    // fill in at the end instead of one long chunk starting late and running alone. Each
    // table takes its slot after the one before it (a chain of turns), so the order holds
    // whatever order the tasks are polled in.
    work.sort_by_cached_key(|(src, _)| {
        let largest = lightning_source::largest_chunk_size(src, &cfg);
        std::cmp::Reverse((largest, src.total_size))
    });
    let mut turn: Option<tokio::sync::oneshot::Receiver<()>> = None;
    for (src, table) in work {
        let (ctx, tables) = (ctx.clone(), tables.clone());
        let (mine, next) = tokio::sync::oneshot::channel::<()>();
        let before = turn.replace(next);
        set.spawn(async move {
            if let Some(before) = before {
                // Err: the table before ended without a slot (stopped); go on all the same.
                let _ = before.await;
            }
            let _permit = tables
                .acquire_owned()
                .await
                .map_err(|_| LightningError::Cancelled)?;
            drop(mine);
            let _busy = crate::status::busy("table");
            if ctx.stop.is_stopped() {
                return Err(LightningError::Cancelled);
            }
            table::import_table(ctx, src, table).await
        });
    }
    let mut summary = ImportSummary::default();
    let mut first_err = join_all(&mut set, &stop, |t| summary.tables.extend(t)).await;
    let ended = B::end_task(&ctx, guard, &mut first_err).await;
    drop(progress);
    summary.refused_rows = ctx.errors.count();
    if let Some(e) = first_err {
        ctx.cp.close_after_failure().await;
        tracing::error!(error = %e, imported_tables = summary.tables.len(), "import failed");
        return Err(e);
    }
    ended?;
    if !cfg.mydumper.no_schema {
        schema::create_views(&target, &dump, &charset).await?;
    }
    ctx.cp.finish(&cfg, ctx.task_id).await?;
    drop(ctx);
    target.close().await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
