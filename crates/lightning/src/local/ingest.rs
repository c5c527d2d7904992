//! Ingesting one closed engine: split it into region-sized ranges, pre-split and scatter
//! the regions at their boundaries, then write and ingest every range at one commit ts.

use super::state::err;
use crate::limits::{join_all, StopFlag};
use crate::LightningError;
use lightning_cluster::Cluster;
use lightning_engine::ClosedEngine;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Splits `engine` into region-sized ranges, pre-splits and scatters the regions at their
/// boundaries and ingests every range, `range-concurrency` at once, at one commit ts.
/// `name` (a table, or an engine for the ctl) prefixes every error.
pub(crate) async fn ingest_engine(
    cluster: &Cluster,
    stop: &Arc<StopFlag>,
    name: &str,
    engine: &ClosedEngine,
) -> Result<(), LightningError> {
    let m = crate::metrics::metrics();
    let split_timer = m.sst_seconds.with_label_values(&["split"]).start_timer();
    let opts = cluster.options().clone();
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
    let split = cluster
        .split_and_scatter(&keys)
        .await
        .map_err(|e| err(format!("{name}: splitting regions: {e}")))?;
    let ts = cluster
        .commit_ts()
        .await
        .map_err(|e| err(format!("{name}: getting a commit ts from PD: {e}")))?;
    drop(split_timer);
    tracing::info!(table = %name, engine = %engine.uuid(), ranges = ranges.len(), new_regions = split.new_regions.len(), kvs = engine.total_kvs(), "ingesting engine");
    let ingest_timer = m.sst_seconds.with_label_values(&["ingest"]).start_timer();
    let slots = Arc::new(Semaphore::new(opts.range_concurrency.max(1)));
    let mut set = JoinSet::new();
    for range in ranges {
        crate::pause::pauser().wait(stop).await;
        if stop.is_stopped() {
            break;
        }
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| LightningError::Cancelled)?;
        let (cluster, engine, name) = (cluster.clone(), engine.clone(), name.to_string());
        let stop = stop.clone();
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
                // A range in flight is abandoned (its jobs cancelled), not waited for.
                () = stop.stopped() => return Err(LightningError::Cancelled),
            };
            let stats = res.map_err(|e| err(format!("{name}: ingesting a range: {e}")))?;
            if stats.pairs != range.kvs {
                return Err(err(format!(
                    "{name}: ingested {} pairs of a range holding {}",
                    stats.pairs, range.kvs
                )));
            }
            let m = crate::metrics::metrics();
            crate::metrics::Metrics::inc(&m.kv_pairs, "ingested", stats.pairs);
            Ok(stats.retries)
        });
    }
    let mut retries = 0;
    if let Some(e) = join_all(&mut set, stop, |r| retries += r).await {
        return Err(e);
    }
    if stop.is_stopped() {
        return Err(LightningError::Cancelled);
    }
    drop(ingest_timer);
    crate::metrics::Metrics::inc(&m.bytes, "imported", engine.total_size());
    tracing::info!(table = %name, engine = %engine.uuid(), retries, "engine ingested");
    Ok(())
}
