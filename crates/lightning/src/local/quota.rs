//! `[tikv-importer] disk-quota`: every `[cron] check-disk-quota`, when the engines under
//! `sorted-kv-dir` hold more than the quota, the largest engines still being written
//! import what they hold on disk early and drop it (upstream's "import and reset"), while
//! their writers wait. A soft limit, as upstream: the directory may pass the quota by what
//! is written between two checks.
//!
//! Imported early, a part's rows are not compared with the rest of its engine for
//! duplicates, so the quota is not applied under `[conflict] strategy = "error"` or
//! `"replace"`, which need each engine whole.

use super::ingest::ingest_engine;
use super::state::{err, Ctx};
use crate::LightningError;
use lightning_config::{ConflictStrategy, UNLIMITED};
use std::sync::Arc;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The background check, running until [`QuotaTask::finish`].
pub(super) struct QuotaTask {
    done: Arc<Notify>,
    handle: JoinHandle<Result<(), LightningError>>,
}

impl QuotaTask {
    /// Starts the check when a quota is set and applies.
    pub fn start(ctx: &Arc<Ctx>) -> Option<QuotaTask> {
        let quota = ctx.cfg.tikv_importer.disk_quota;
        if quota == UNLIMITED || quota == 0 {
            return None;
        }
        if ctx.cfg.conflict.strategy != ConflictStrategy::None {
            tracing::warn!(
                strategy = ctx.cfg.conflict.strategy.as_str(),
                "disk-quota is not applied: [conflict] detection needs every engine whole"
            );
            return None;
        }
        let done = Arc::new(Notify::new());
        let handle = tokio::spawn(run(ctx.clone(), quota, done.clone()));
        Some(QuotaTask { done, handle })
    }

    /// Stops the check; its error, if an early import failed.
    pub async fn finish(self) -> Option<LightningError> {
        self.done.notify_one();
        match self.handle.await {
            Ok(r) => r.err(),
            Err(e) => Some(LightningError::Internal(e.to_string())),
        }
    }
}

async fn run(ctx: Arc<Ctx>, quota: u64, done: Arc<Notify>) -> Result<(), LightningError> {
    let mut tick = tokio::time::interval(ctx.cfg.cron.check_disk_quota);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = done.notified() => return Ok(()),
        }
        if ctx.stop.is_stopped() {
            return Ok(());
        }
        if let Err(e) = check(&ctx, quota).await {
            // The tables stop; this error, not their cancellation, is the cause.
            ctx.stop.stop();
            return Err(e);
        }
    }
}

/// One check: imports parts of the largest open engines until the rest fits the quota.
async fn check(ctx: &Ctx, quota: u64) -> Result<(), LightningError> {
    let sizes = ctx.backend.engines.engine_file_sizes();
    let total: u64 = sizes.iter().map(|s| s.disk_size).sum();
    if total <= quota {
        return Ok(());
    }
    let mut over = total - quota;
    let mut picked = Vec::new();
    for s in sizes.iter().filter(|s| !s.closed && s.disk_size > 0) {
        if over == 0 {
            break;
        }
        picked.push(s.uuid);
        over = over.saturating_sub(s.disk_size);
    }
    tracing::warn!(
        quota,
        total,
        engines = picked.len(),
        "disk quota exceeded; importing the largest engines early"
    );
    // Writers wait (as upstream) until the parts are imported and removed.
    let _paused = ctx.backend.quota_gate.write().await;
    for uuid in picked {
        let Some(engine) = ctx.backend.engines.get_open(uuid) else {
            continue;
        };
        let name = format!("engine {uuid} (disk quota)");
        let part = tokio::task::spawn_blocking(move || engine.take_part())
            .await
            .map_err(|e| LightningError::Internal(e.to_string()))?
            .map_err(|e| err(format!("{name}: {e}")))?;
        let Some(part) = part else {
            continue;
        };
        let bytes = part.disk_size();
        if let Some(closed) = part.engine() {
            ingest_engine(&ctx.backend.cluster, &ctx.stop, &name, closed).await?;
        }
        tokio::task::spawn_blocking(move || part.release())
            .await
            .map_err(|e| LightningError::Internal(e.to_string()))?
            .map_err(|e| err(format!("{name}: {e}")))?;
        tracing::info!(engine = %uuid, bytes, "engine part imported and removed");
    }
    Ok(())
}
