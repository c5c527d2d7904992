//! One region job: write its pairs to every peer of the region, then ingest them on
//! the leader, reacting to each failure as Lightning's region_job.go does.
//!
//! Upstream's reactions (writeToTiKV / convertStageOnIngestError), kept here:
//! - Write fails with `RequestTooNew`: retry the write on the same region later;
//!   any other retryable write failure (store down, stream broken, busy): re-read the
//!   region(s) and rewrite;
//! - ingest `NotLeader` naming a peer of the region: ingest again on it (every peer
//!   staged the files); without a usable leader: re-read and rewrite;
//! - `ServerIsBusy`: back off, ingest again; `DiskFull`: stop, not retryable;
//! - `EpochNotMatch`, `KeyNotInRegion`, `RegionNotFound`, stale or other errors:
//!   re-read the regions of the job's keys, split the job along them, rewrite.
//!
//! A job's pairs stay with it (or its parts) until their ingest succeeds, so no pair is
//! skipped; a rewrite after a failed attempt re-ingests the same pairs at the same
//! commit ts, which TiKV treats as the same versions.

use crate::cluster::Cluster;
use crate::error::{ClusterError, HexKey, RegionErrorKind, Result};
use crate::keys::{encode_key, next_key, KeyRange, RegionInfo};
use crate::pause::uuid_v4;
use crate::regions::scan_range;
use lightning_kvproto::import_sstpb::{
    self, pair::Op, write_request::Chunk, MultiIngestRequest, SstMeta, WriteBatch, WriteRequest,
};
use lightning_kvproto::kvrpcpb;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_stream::wrappers::ReceiverStream;

/// Sorted pairs bound for one region.
pub(crate) struct Job {
    pub region: RegionInfo,
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Job {
    fn range(&self) -> KeyRange {
        let first = self.pairs.first().map(|p| p.0.clone()).unwrap_or_default();
        let last = self
            .pairs
            .last()
            .map(|p| next_key(&p.0))
            .unwrap_or_default();
        KeyRange {
            start: first,
            end: last,
        }
    }
}

/// What to do after a failed attempt.
enum Next {
    /// Try the same region again after a backoff.
    Again,
    /// Re-read the regions of the job's keys and split the job along them.
    Rescan,
}

/// Counters of one finished job.
#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct JobStats {
    pub ingests: u64,
    pub retries: u64,
}

/// Runs `job` until all its pairs are ingested, or a failure is final.
pub(crate) async fn run(cluster: &Cluster, job: Job, commit_ts: u64) -> Result<JobStats> {
    let policy = cluster.options().retry.clone();
    let mut stats = JobStats::default();
    let mut work = vec![(job, 0u32)];
    while let Some((mut job, mut failures)) = work.pop() {
        loop {
            let (err, next) = match attempt(cluster, &mut job, commit_ts, &mut stats).await {
                Ok(()) => {
                    stats.ingests += 1;
                    break;
                }
                Err((err, _)) if !err.is_retryable() => return Err(err),
                Err(failed) => failed,
            };
            failures += 1;
            stats.retries += 1;
            if failures >= policy.max_attempts {
                return Err(ClusterError::RetriesExhausted {
                    op: "write and ingest",
                    range: job.range(),
                    attempts: failures,
                    last: Box::new(err),
                });
            }
            tracing::debug!(region = job.region.id(), failures, error = %err, "region job retries");
            tokio::time::sleep(policy.backoff(failures)).await;
            if let Next::Rescan = next {
                match split_by_regions(cluster, std::mem::take(&mut job.pairs)).await {
                    Ok(parts) => {
                        work.extend(parts.into_iter().map(|j| (j, failures)));
                        break;
                    }
                    Err((e, pairs)) if e.is_retryable() => {
                        tracing::debug!(error = %e, "rescanning regions failed; retrying");
                        job.pairs = pairs;
                    }
                    Err((e, _)) => return Err(e),
                }
            }
        }
    }
    Ok(stats)
}

/// Re-reads the regions covering `pairs` and cuts them into one job per region. On
/// failure the pairs come back untouched.
async fn split_by_regions(
    cluster: &Cluster,
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
) -> std::result::Result<Vec<Job>, (ClusterError, Vec<(Vec<u8>, Vec<u8>)>)> {
    let range = KeyRange {
        start: pairs.first().map(|p| p.0.clone()).unwrap_or_default(),
        end: pairs.last().map(|p| next_key(&p.0)).unwrap_or_default(),
    };
    let regions = match scan_range(cluster, &range).await {
        Ok(r) => r,
        Err(e) => return Err((e, pairs)),
    };
    // Assign every pair first, so nothing is consumed unless all have a region.
    let mut owner = Vec::with_capacity(pairs.len());
    let mut i = 0;
    for (k, _) in &pairs {
        while i < regions.len() && !regions[i].raw.contains(k) {
            i += 1;
        }
        if i == regions.len() {
            let e = ClusterError::NoRegion {
                key: HexKey(k.clone()),
            };
            return Err((e, pairs));
        }
        owner.push(i);
    }
    let mut jobs: Vec<Job> = Vec::new();
    let mut last = usize::MAX;
    for (p, o) in pairs.into_iter().zip(owner) {
        if o != last {
            jobs.push(Job {
                region: regions[o].clone(),
                pairs: Vec::new(),
            });
            last = o;
        }
        if let Some(j) = jobs.last_mut() {
            j.pairs.push(p);
        }
    }
    Ok(jobs)
}

type Attempt = std::result::Result<(), (ClusterError, Next)>;

async fn attempt(
    cluster: &Cluster,
    job: &mut Job,
    commit_ts: u64,
    stats: &mut JobStats,
) -> Attempt {
    if job.pairs.is_empty() {
        return Ok(());
    }
    if job.region.leader.is_none() {
        let key = job.pairs[0].0.clone();
        let e = ClusterError::NoRegion { key: HexKey(key) };
        return Err((e, Next::Rescan));
    }
    let metas = match write(cluster, job, commit_ts).await {
        Ok(m) => m,
        Err(e) => {
            let too_new = matches!(&e, ClusterError::StoreRpc { status, .. } if status.message().contains("RequestTooNew"));
            let next = if too_new { Next::Again } else { Next::Rescan };
            return Err((e, next));
        }
    };
    let policy = cluster.options().retry.clone();
    let mut tries = 0;
    loop {
        tries += 1;
        let Err(e) = ingest(cluster, job, &metas).await else {
            return Ok(());
        };
        match e.region_error() {
            Some(RegionErrorKind::NotLeader { leader: Some(l) })
                if job.region.region.peers.iter().any(|p| p.id == l.id) && tries < 3 =>
            {
                job.region.leader = Some(*l);
            }
            Some(RegionErrorKind::ServerIsBusy) if tries < policy.max_attempts => {
                tokio::time::sleep(policy.backoff(tries)).await;
            }
            _ => return Err((e, Next::Rescan)),
        }
        // Ingest again with the files already staged on every peer.
        stats.retries += 1;
    }
}

/// The pairs cut into Write batches of about `send-kv-size` bytes each.
fn batches(
    pairs: &[(Vec<u8>, Vec<u8>)],
    commit_ts: u64,
    batch_bytes: u64,
) -> Vec<(WriteBatch, u64)> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut size = 0u64;
    for (k, v) in pairs {
        size += (k.len() + v.len()) as u64;
        cur.push(import_sstpb::Pair {
            key: k.clone(),
            value: v.clone(),
            op: Op::Put as i32,
        });
        if size >= batch_bytes {
            out.push((
                WriteBatch {
                    commit_ts,
                    pairs: std::mem::take(&mut cur),
                },
                size,
            ));
            size = 0;
        }
    }
    if !cur.is_empty() {
        out.push((
            WriteBatch {
                commit_ts,
                pairs: cur,
            },
            size,
        ));
    }
    out
}

/// Streams the job's pairs to every peer; returns the SST metas the leader staged.
/// The SST range is the encoded first and last key, both inclusive (region_job.go
/// doWrite: `codec.EncodeBytes` of both); the pairs themselves travel as raw keys.
async fn write(cluster: &Cluster, job: &Job, commit_ts: u64) -> Result<Vec<SstMeta>> {
    let region = &job.region;
    let (first, last) = match (job.pairs.first(), job.pairs.last()) {
        (Some(f), Some(l)) => (&f.0, &l.0),
        _ => return Ok(Vec::new()),
    };
    let meta = SstMeta {
        uuid: uuid_v4().to_vec(),
        range: Some(import_sstpb::Range {
            start: encode_key(first),
            end: encode_key(last),
        }),
        region_id: region.id(),
        region_epoch: Some(region.epoch()),
        ..Default::default()
    };
    let batches = Arc::new(batches(
        &job.pairs,
        commit_ts,
        cluster.options().send_kv_size,
    ));
    let mut calls = JoinSet::new();
    for peer in &region.region.peers {
        let conn = cluster.stores().conn(peer.store_id).await?;
        let (tx, rx) = mpsc::channel(4);
        let (c, b, m, store) = (
            cluster.clone(),
            batches.clone(),
            meta.clone(),
            peer.store_id,
        );
        // The producer runs apart from the RPC so a call that fails early (dropped
        // stream, refusal) never leaves us blocked on a full channel.
        let producer = tokio::spawn(async move {
            let first = WriteRequest {
                chunk: Some(Chunk::Meta(m)),
                context: None,
            };
            if tx.send(first).await.is_err() {
                return;
            }
            for (batch, size) in b.iter() {
                c.limiter().wait(store, *size).await;
                let req = WriteRequest {
                    chunk: Some(Chunk::Batch(batch.clone())),
                    context: None,
                };
                if tx.send(req).await.is_err() {
                    return;
                }
            }
        });
        let is_leader = region.leader.is_some_and(|l| l.id == peer.id);
        calls.spawn(async move {
            let r = conn.import().write(ReceiverStream::new(rx)).await;
            producer.abort();
            (conn, is_leader, r)
        });
    }
    let mut leader_metas = None;
    let mut first_err = None;
    while let Some(done) = calls.join_next().await {
        let (conn, is_leader, r) = done.map_err(|e| ClusterError::Task(e.to_string()))?;
        let resp = match r {
            Ok(r) => r.into_inner(),
            Err(st) => {
                first_err.get_or_insert(conn.error("Write", st));
                continue;
            }
        };
        if let Some(e) = resp.error {
            let busy = e
                .store_error
                .as_ref()
                .is_some_and(|s| s.server_is_busy.is_some());
            first_err.get_or_insert(ClusterError::WriteRefused {
                store_id: conn.id,
                region_id: region.id(),
                busy,
                message: e.message,
            });
        } else if is_leader {
            leader_metas = Some(resp.metas);
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    match leader_metas {
        Some(m) if !m.is_empty() => Ok(m),
        // Lightning: "write to tikv no leader" -> retry with fresh region info.
        _ => Err(ClusterError::NoRegion {
            key: HexKey(first.clone()),
        }),
    }
}

/// Ingests the staged files on the leader (MultiIngest).
async fn ingest(cluster: &Cluster, job: &Job, metas: &[SstMeta]) -> Result<()> {
    let leader = job.region.leader.unwrap_or_default();
    let conn = cluster.stores().conn(leader.store_id).await?;
    let req = MultiIngestRequest {
        context: Some(kvrpcpb::Context {
            region_id: job.region.id(),
            region_epoch: Some(job.region.epoch()),
            peer: Some(leader),
            ..Default::default()
        }),
        ssts: metas.to_vec(),
    };
    let resp = conn
        .import()
        .multi_ingest(req)
        .await
        .map_err(|st| conn.error("MultiIngest", st))?
        .into_inner();
    match resp.error {
        None => Ok(()),
        Some(e) => Err(ClusterError::region(
            "MultiIngest",
            job.region.id(),
            job.range(),
            &e,
        )),
    }
}
