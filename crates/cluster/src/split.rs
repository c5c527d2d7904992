//! Pre-splitting regions at an engine's range boundaries, scattering the new regions
//! and waiting for the scatter, following BR's split client (br/pkg/restore/split
//! client.go SplitKeysAndScatter / SplitWaitAndScatter / WaitRegionsScattered):
//! - split keys go raw to TiKV's SplitRegion on the region's leader (TiKV encodes them,
//!   `is_raw_kv = false`), at most `region-split-batch-size` keys and 6 MiB per request;
//! - keys already at a region start are skipped, so splitting again is harmless;
//! - new regions are scattered with one ScatterRegion of their ids, unless the cluster
//!   has fewer stores than replicas or a single store (client.go checkNeedScatter);
//! - scatter is awaited through GetOperator; an operator that is gone, not a scatter,
//!   or SUCCESS counts as done, TIMEOUT/CANCEL/REPLACE as to scatter again.

use crate::cluster::Cluster;
use crate::error::{ClusterError, HexKey, RegionErrorKind, Result};
use crate::keys::{next_key, KeyRange, RegionInfo};
use crate::regions::scan_range;
use lightning_kvproto::{kvrpcpb, pdpb};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// TiKV's raft entry limit is 8 MiB; BR keeps a split request under 6 MiB of keys.
const MAX_BATCH_SPLIT_BYTES: usize = 6 << 20;
/// Attempts of one SplitRegion request on leader changes and busy stores.
const SPLIT_REGION_ATTEMPTS: u32 = 4;

/// What a [`Cluster::split_and_scatter`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitOutcome {
    /// Ids of the regions the splits created.
    pub new_regions: Vec<u64>,
    /// Whether they were scattered (see the module doc).
    pub scattered: bool,
    /// Regions whose scatter had not finished when waiting stopped.
    pub unscattered: usize,
}

impl Cluster {
    /// Splits the regions at raw `keys` (any order, duplicates allowed), scatters the
    /// new regions and waits for the scatter (at most `scatter_wait`).
    pub async fn split_and_scatter(&self, keys: &[Vec<u8>]) -> Result<SplitOutcome> {
        let mut keys: Vec<Vec<u8>> = keys.iter().filter(|k| !k.is_empty()).cloned().collect();
        keys.sort();
        keys.dedup();
        let scatter = self.need_scatter().await;
        let mut out = SplitOutcome {
            scattered: scatter,
            ..Default::default()
        };
        let batch = self.options().region_split_batch_size.max(1);
        for chunk in keys.chunks(batch) {
            let new = self.split_keys(chunk).await?;
            if scatter && !new.is_empty() {
                if let Err(e) = self.pd().scatter_regions(&new).await {
                    // BR logs and goes on: an unscattered region only slows the import.
                    tracing::warn!(error = %e, "scattering regions failed; going on");
                }
                out.unscattered += self.wait_scattered(&new).await;
            }
            out.new_regions.extend(new);
        }
        tracing::info!(
            keys = keys.len(),
            new = out.new_regions.len(),
            unscattered = out.unscattered,
            "split and scatter done"
        );
        Ok(out)
    }

    /// Scatter only pays off with at least as many stores as replicas and more than one.
    async fn need_scatter(&self) -> bool {
        let stores = self.tikv_stores().await.map(|s| s.len());
        let replicas = self.pd_http().max_replicas().await;
        match (stores, replicas) {
            (Ok(s), Ok(r)) => s as u64 >= r && s > 1,
            // client.go: "use permissive strategy: always scatter".
            _ => true,
        }
    }

    /// Splits at sorted `keys` until every one is a region start; returns new region ids.
    async fn split_keys(&self, keys: &[Vec<u8>]) -> Result<Vec<u64>> {
        let mut pending = keys.to_vec();
        let mut created = Vec::new();
        let policy = self.options().retry.clone();
        let mut attempt = 0;
        while let (Some(first), Some(last)) = (pending.first(), pending.last()) {
            let range = KeyRange::new(first, &next_key(last));
            let regions = self
                .retrying("scan regions", &range, || scan_range(self, &range))
                .await?;
            let mut groups: Vec<(RegionInfo, Vec<Vec<u8>>)> = Vec::new();
            let mut i = 0;
            let mut last_err = None;
            for k in std::mem::take(&mut pending) {
                while i < regions.len() && !regions[i].raw.contains(&k) {
                    i += 1;
                }
                // scan_range covers the keys, so this is only a safety net.
                let Some(r) = regions.get(i) else {
                    last_err = Some(ClusterError::NoRegion {
                        key: HexKey(k.clone()),
                    });
                    pending.push(k);
                    continue;
                };
                if r.raw.start == k {
                    continue; // already split here
                }
                match groups.last_mut() {
                    Some((g, ks)) if g.id() == r.id() => ks.push(k),
                    _ => groups.push((r.clone(), vec![k])),
                }
            }
            let mut set = JoinSet::new();
            for (region, ks) in groups {
                while set.len() >= self.options().region_split_concurrency.max(1) {
                    if let Some(r) = set.join_next().await {
                        collect(r, &mut created, &mut pending, &mut last_err)?;
                    }
                }
                let c = self.clone();
                set.spawn(async move {
                    let r = c.split_region(region, &ks).await;
                    (r, ks)
                });
            }
            while let Some(r) = set.join_next().await {
                collect(r, &mut created, &mut pending, &mut last_err)?;
            }
            if let Some(e) = last_err {
                attempt += 1;
                if !e.is_retryable() || attempt >= policy.max_attempts {
                    return Err(e);
                }
                tracing::debug!(error = %e, left = pending.len(), "split incomplete; retrying");
                tokio::time::sleep(policy.backoff(attempt)).await;
                pending.sort();
            }
        }
        Ok(created)
    }

    /// Splits one region at `keys` (all strictly inside it), in size-bounded requests,
    /// continuing each time in the part holding the remaining keys.
    async fn split_region(&self, mut region: RegionInfo, keys: &[Vec<u8>]) -> Result<Vec<u64>> {
        let mut created = Vec::new();
        let per_req = self.options().region_split_batch_size.max(1);
        let mut rest = keys;
        while !rest.is_empty() {
            let (mut n, mut bytes) = (0, 0);
            while n < rest.len()
                && n < per_req
                && (n == 0 || bytes + rest[n].len() <= MAX_BATCH_SPLIT_BYTES)
            {
                bytes += rest[n].len();
                n += 1;
            }
            let parts = self.split_request(&mut region, &rest[..n]).await?;
            let leader_store = region.leader.map(|l| l.store_id);
            created.extend(parts.iter().filter(|p| p.id != region.id()).map(|p| p.id));
            rest = &rest[n..];
            // Continue in the part holding the next key; assume its leader stayed on the
            // same store, as BR does.
            if let Some(next) = rest.first() {
                let mut found = None;
                for p in parts {
                    let leader = p
                        .peers
                        .iter()
                        .find(|x| Some(x.store_id) == leader_store)
                        .copied();
                    let info = RegionInfo::new(p, leader)?;
                    if info.raw.contains(next) {
                        found = Some(info);
                        break;
                    }
                }
                region = found.ok_or_else(|| ClusterError::NoRegion {
                    key: HexKey(next.clone()),
                })?;
            }
        }
        Ok(created)
    }

    /// One SplitRegion to the leader, following NotLeader hints and retrying busy stores.
    async fn split_request(
        &self,
        region: &mut RegionInfo,
        keys: &[Vec<u8>],
    ) -> Result<Vec<lightning_kvproto::metapb::Region>> {
        let range = KeyRange::new(&keys[0], &next_key(&keys[keys.len() - 1]));
        let mut last = None;
        for attempt in 1..=SPLIT_REGION_ATTEMPTS {
            let peer = region
                .leader
                .or_else(|| region.region.peers.first().copied())
                .unwrap_or_default();
            let conn = self.stores().conn(peer.store_id).await?;
            let req = kvrpcpb::SplitRegionRequest {
                context: Some(kvrpcpb::Context {
                    region_id: region.id(),
                    region_epoch: Some(region.epoch()),
                    peer: Some(peer),
                    ..Default::default()
                }),
                split_keys: keys.to_vec(),
                is_raw_kv: false,
                ..Default::default()
            };
            let resp = conn
                .tikv()
                .split_region(req)
                .await
                .map_err(|st| conn.error("SplitRegion", st))?
                .into_inner();
            let Some(e) = resp.region_error else {
                return Ok(resp.regions);
            };
            let err = ClusterError::region("SplitRegion", region.id(), range.clone(), &e);
            match err.region_error() {
                Some(RegionErrorKind::NotLeader { leader: Some(l) }) => region.leader = Some(*l),
                Some(RegionErrorKind::ServerIsBusy | RegionErrorKind::StaleCommand) => {
                    tokio::time::sleep(self.options().retry.backoff(attempt)).await;
                }
                _ => return Err(err),
            }
            last = Some(err);
        }
        Err(last.unwrap_or(ClusterError::NoRegion {
            key: HexKey(keys[0].clone()),
        }))
    }

    /// Waits for the scatter operators of `ids`; returns how many had not finished by
    /// `scatter_wait`.
    pub async fn wait_scattered(&self, ids: &[u64]) -> usize {
        let deadline = Instant::now() + self.options().scatter_wait;
        let mut pending = ids.to_vec();
        let mut pause = Duration::from_millis(50);
        while !pending.is_empty() {
            let mut still = Vec::new();
            let mut rescatter = Vec::new();
            for id in pending {
                match self.pd().get_operator(id).await {
                    Ok(resp) => match scatter_state(&resp) {
                        Scatter::Done => {}
                        Scatter::Unknown(why) => {
                            tracing::warn!(
                                region = id,
                                why,
                                "cannot follow the scatter; not waiting for it"
                            );
                        }
                        Scatter::Running => still.push(id),
                        Scatter::Failed => {
                            still.push(id);
                            rescatter.push(id);
                        }
                    },
                    Err(e) if e.is_retryable() => still.push(id),
                    Err(e) => {
                        tracing::warn!(region = id, error = %e, "cannot follow the scatter; not waiting for it");
                    }
                }
            }
            if !rescatter.is_empty() {
                if let Err(e) = self.pd().scatter_regions(&rescatter).await {
                    tracing::warn!(error = %e, "scattering again failed");
                }
            }
            pending = still;
            if pending.is_empty() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
        pending.len()
    }
}

/// A finished split of one region: the new region ids (or the error) and its keys.
type SplitDone = std::result::Result<(Result<Vec<u64>>, Vec<Vec<u8>>), tokio::task::JoinError>;

fn collect(
    r: SplitDone,
    created: &mut Vec<u64>,
    pending: &mut Vec<Vec<u8>>,
    last_err: &mut Option<ClusterError>,
) -> Result<()> {
    let (r, keys) = r.map_err(|e| ClusterError::Task(e.to_string()))?;
    match r {
        Ok(ids) => created.extend(ids),
        Err(e) => {
            // Keys a partial success already split are skipped on the next round.
            pending.extend(keys);
            *last_err = Some(e);
        }
    }
    Ok(())
}

enum Scatter {
    Done,
    Running,
    Failed,
    Unknown(String),
}

/// BR's isScatterRegionFinished.
fn scatter_state(resp: &pdpb::GetOperatorResponse) -> Scatter {
    if let Some(e) = resp.header.as_ref().and_then(|h| h.error.as_ref()) {
        // No operator on the region: nothing left to wait for.
        return if e.r#type == pdpb::ErrorType::RegionNotFound as i32 {
            Scatter::Done
        } else {
            Scatter::Unknown(e.message.clone())
        };
    }
    if resp.desc != b"scatter-region" {
        return Scatter::Done;
    }
    match pdpb::OperatorStatus::try_from(resp.status) {
        Ok(pdpb::OperatorStatus::Success) => Scatter::Done,
        Ok(pdpb::OperatorStatus::Running) => Scatter::Running,
        _ => Scatter::Failed,
    }
}
