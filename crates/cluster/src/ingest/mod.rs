//! Ingesting one key range of sorted pairs: cut them into region jobs (one region's
//! keys, at most a region's worth of bytes and keys, like Lightning's partial writes),
//! and run up to `range-concurrency` jobs at once (see [`job`] for one job's life).
//!
//! Memory stays bounded: a job holds its pairs until they are ingested (so a retry
//! never needs to read them again), and reading waits while `range-concurrency` jobs
//! are in flight. Across every range read at once, the pairs held (filling, waiting or
//! in flight) stay within the client's `ingest_mem_budget`: a range that cannot reserve
//! more sends the job it is filling early (a smaller job), then waits for memory.

mod job;
pub mod limiter;

use crate::cluster::Cluster;
use crate::error::{ClusterError, HexKey, Result};
use crate::keys::{encode_key, KeyRange, RegionInfo};
use crate::regions::scan_range;
use job::Job;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_stream::{Stream, StreamExt};

/// What one [`Cluster::ingest_range`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestStats {
    /// Pairs ingested.
    pub pairs: u64,
    /// Key + value bytes ingested.
    pub bytes: u64,
    /// Successful ingests (one per region job or part of one).
    pub ingests: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
}

type JobResult = Result<job::JobStats>;

fn absorb(
    stats: &mut IngestStats,
    r: std::result::Result<JobResult, tokio::task::JoinError>,
) -> Result<()> {
    let s = r.map_err(|e| ClusterError::Task(e.to_string()))??;
    stats.ingests += s.ingests;
    stats.retries += s.retries;
    Ok(())
}

impl Cluster {
    /// Runs `f` until it succeeds or fails for good, backing off between attempts.
    pub(crate) async fn retrying<T, F, Fut>(
        &self,
        op: &'static str,
        range: &KeyRange,
        mut f: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let policy = &self.options().retry;
        let mut attempt = 0;
        loop {
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) if !e.is_retryable() => return Err(e),
                Err(e) => {
                    attempt += 1;
                    if attempt >= policy.max_attempts {
                        return Err(ClusterError::RetriesExhausted {
                            op,
                            range: range.clone(),
                            attempts: attempt,
                            last: Box::new(e),
                        });
                    }
                    tracing::debug!(op, attempt, error = %e, "retrying");
                    tokio::time::sleep(policy.backoff(attempt)).await;
                }
            }
        }
    }

    /// The region holding raw `key`: from `cached` (regions read at the start, in key
    /// order) if it is there, else asked from PD.
    async fn region_for(
        &self,
        cached: &mut VecDeque<RegionInfo>,
        key: &[u8],
    ) -> Result<RegionInfo> {
        while let Some(r) = cached.front() {
            if r.raw.contains(key) {
                return Ok(r.clone());
            }
            if !r.raw.end.is_empty() && r.raw.end.as_slice() <= key {
                cached.pop_front();
            } else {
                break;
            }
        }
        let range = KeyRange::new(key, &crate::keys::next_key(key));
        self.retrying("locate region", &range, || async {
            match self.pd().get_region(&encode_key(key)).await? {
                Some(r) if r.raw.contains(key) => Ok(r),
                _ => Err(ClusterError::NoRegion {
                    key: HexKey(key.to_vec()),
                }),
            }
        })
        .await
    }

    /// Writes and ingests the pairs of raw range `[start, end)` (empty end: unbounded),
    /// all at `commit_ts`. `pairs` must come in strictly increasing key order inside
    /// the range. Returns once every pair is ingested, or with the first final error
    /// (disk full, retries exhausted, bad input), cancelling the jobs in flight.
    pub async fn ingest_range<S, E>(
        &self,
        start: &[u8],
        end: &[u8],
        mut pairs: S,
        commit_ts: u64,
    ) -> Result<IngestStats>
    where
        S: Stream<Item = std::result::Result<(Vec<u8>, Vec<u8>), E>> + Unpin,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let range = KeyRange::new(start, end);
        if commit_ts == 0 {
            let reason = "commit ts must not be 0".to_string();
            return Err(ClusterError::Input { range, reason });
        }
        let opts = self.options().clone();
        let (max_bytes, max_keys) = (opts.job_max_bytes(), opts.region_split_keys);
        let mut cached: VecDeque<RegionInfo> = self
            .retrying("scan regions", &range, || scan_range(self, &range))
            .await?
            .into();
        let mut stats = IngestStats::default();
        let mut tasks: JoinSet<JobResult> = JoinSet::new();
        let mut cur: Option<(Job, u64)> = None;
        let mut mem = MemReservation::new(self.ingest_mem().clone(), opts.ingest_mem_budget);
        let mut prev: Option<Vec<u8>> = None;
        while let Some(item) = pairs.next().await {
            let (k, v) = item.map_err(|e| ClusterError::Source(e.into()))?;
            if !range.contains(&k) || prev.as_ref().is_some_and(|p| *p >= k) {
                let reason = format!("key {} is out of order or outside the range", HexKey(k));
                return Err(ClusterError::Input { range, reason });
            }
            prev = Some(k.clone());
            let full = cur.as_ref().is_some_and(|(j, bytes)| {
                !j.region.raw.contains(&k)
                    || *bytes >= max_bytes
                    || j.pairs.len() as u64 >= max_keys
            });
            let size = (k.len() + v.len()) as u64;
            if full {
                if let Some((j, _)) = cur.take() {
                    let held = mem.take();
                    self.dispatch(&mut tasks, &mut stats, j, held, commit_ts)
                        .await?;
                }
            }
            // What the pair costs in memory: its bytes plus the two vectors holding them.
            let cost = size + PAIR_OVERHEAD;
            if !mem.try_reserve(cost) {
                // The budget is used up: send what this range holds (a smaller job), then
                // wait for jobs in flight to give memory back.
                if let Some((j, _)) = cur.take() {
                    let held = mem.take();
                    self.dispatch(&mut tasks, &mut stats, j, held, commit_ts)
                        .await?;
                }
                mem.reserve(cost).await?;
            }
            if cur.is_none() {
                let region = self.region_for(&mut cached, &k).await?;
                cur = Some((
                    Job {
                        region,
                        pairs: Vec::new(),
                    },
                    0,
                ));
            }
            if let Some((j, bytes)) = cur.as_mut() {
                *bytes += size;
                stats.pairs += 1;
                stats.bytes += size;
                j.pairs.push((k, v));
            }
        }
        if let Some((j, _)) = cur.take() {
            let held = mem.take();
            self.dispatch(&mut tasks, &mut stats, j, held, commit_ts)
                .await?;
        }
        while let Some(r) = tasks.join_next().await {
            absorb(&mut stats, r)?;
        }
        tracing::debug!(range = %range, ?stats, "range ingested");
        Ok(stats)
    }

    /// [`Cluster::ingest_range`] over pairs already in memory.
    pub async fn ingest_pairs(
        &self,
        start: &[u8],
        end: &[u8],
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
        commit_ts: u64,
    ) -> Result<IngestStats> {
        let s = tokio_stream::iter(pairs.into_iter().map(Ok::<_, std::convert::Infallible>));
        self.ingest_range(start, end, s, commit_ts).await
    }

    /// Starts a job once a slot is free, reporting jobs that already failed.
    async fn dispatch(
        &self,
        tasks: &mut JoinSet<JobResult>,
        stats: &mut IngestStats,
        j: Job,
        mem: Option<OwnedSemaphorePermit>,
        commit_ts: u64,
    ) -> Result<()> {
        while let Some(r) = tasks.try_join_next() {
            absorb(stats, r)?;
        }
        let permit = loop {
            tokio::select! {
                p = self.job_slots().clone().acquire_owned() => {
                    break p.map_err(|e| ClusterError::Task(e.to_string()))?;
                }
                Some(r) = tasks.join_next(), if !tasks.is_empty() => absorb(stats, r)?,
            }
        };
        let c = self.clone();
        tasks.spawn(async move {
            let r = job::run(&c, j, commit_ts).await;
            drop(permit);
            // The job's pairs are gone: their memory goes back to the budget.
            drop(mem);
            r
        });
        Ok(())
    }
}

/// The budget a range has reserved for the job it is filling (permits of 1 KiB, taken in
/// steps of [`MEM_STEP`] KiB or what one pair needs).
struct MemReservation {
    budget: Arc<Semaphore>,
    /// Permits of the whole budget: a pair larger than it is let through alone.
    total: u32,
    held: Option<OwnedSemaphorePermit>,
    /// Bytes the job's pairs use of what is held.
    used: u64,
}

/// Bytes a held pair costs beyond its key and value: two `Vec` headers in the job and
/// the allocator's per-allocation overhead (small index pairs cost mostly this).
const PAIR_OVERHEAD: u64 = 80;

/// KiB reserved at a time.
const MEM_STEP: u32 = 1024;

impl MemReservation {
    fn new(budget: Arc<Semaphore>, total_bytes: u64) -> Self {
        let total = u32::try_from(crate::cluster::mem_permits(total_bytes)).unwrap_or(u32::MAX);
        MemReservation {
            budget,
            total,
            held: None,
            used: 0,
        }
    }

    fn held_bytes(&self) -> u64 {
        self.held
            .as_ref()
            .map_or(0, |p| p.num_permits() as u64 * 1024)
    }

    /// KiB to ask for so that `size` more bytes fit: a step, or more for a large pair,
    /// never more than the whole budget.
    fn want(&self, size: u64) -> u32 {
        let missing = (self.used + size).saturating_sub(self.held_bytes());
        let kib = u32::try_from(missing.div_ceil(1024)).unwrap_or(u32::MAX);
        kib.max(MEM_STEP).min(self.total)
    }

    fn add(&mut self, p: OwnedSemaphorePermit, size: u64) {
        match &mut self.held {
            Some(h) => h.merge(p),
            None => self.held = Some(p),
        }
        // A pair larger than the whole budget is counted as filling it.
        self.used = (self.used + size).min(self.held_bytes().max(size));
    }

    /// Makes room for `size` more bytes without waiting; false when the budget is used up.
    fn try_reserve(&mut self, size: u64) -> bool {
        if self.used + size <= self.held_bytes() {
            self.used += size;
            return true;
        }
        match self.budget.clone().try_acquire_many_owned(self.want(size)) {
            Ok(p) => {
                self.add(p, size);
                true
            }
            Err(_) => false,
        }
    }

    /// Makes room for `size` more bytes, waiting for memory.
    async fn reserve(&mut self, size: u64) -> Result<()> {
        let p = self
            .budget
            .clone()
            .acquire_many_owned(self.want(size))
            .await
            .map_err(|e| ClusterError::Task(e.to_string()))?;
        self.add(p, size);
        Ok(())
    }

    /// Hands over what is held (for a job sent off) and starts afresh.
    fn take(&mut self) -> Option<OwnedSemaphorePermit> {
        self.used = 0;
        self.held.take()
    }
}
