//! The cluster-side checksum of key ranges through TiKV's coprocessor, as
//! `ADMIN CHECKSUM TABLE` computes it (br/pkg/checksum executor; TiKV
//! src/coprocessor/checksum.rs): each region's leader answers a request of type 105
//! (`tipb.ChecksumRequest`, CRC64-XOR) over the raw key ranges inside it at `start_ts`;
//! the answers merge by XOR of the checksums and sums of pairs and bytes.

use crate::cluster::Cluster;
use crate::error::{ClusterError, Result};
use crate::keys::{KeyRange, RegionInfo};
use crate::regions::scan_range;
use lightning_encode::KvChecksum;
use lightning_kvproto::{coprocessor, kvrpcpb, tipb, REQ_TYPE_CHECKSUM};
use prost::Message;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The (region, part of a range inside it) pieces of `range`.
async fn pieces(cluster: &Cluster, range: &KeyRange) -> Result<Vec<(RegionInfo, KeyRange)>> {
    let regions = cluster
        .retrying("scan regions", range, || scan_range(cluster, range))
        .await?;
    Ok(regions
        .into_iter()
        .map(|r| {
            let part = r.clip(range);
            (r, part)
        })
        .filter(|(_, p)| p.end.is_empty() || p.start < p.end)
        .collect())
}

/// One coprocessor checksum request on the region's leader.
async fn checksum_piece(
    cluster: &Cluster,
    region: &RegionInfo,
    part: &KeyRange,
    start_ts: u64,
) -> Result<KvChecksum> {
    let leader = region.leader.ok_or_else(|| ClusterError::NoRegion {
        key: crate::error::HexKey(part.start.clone()),
    })?;
    let conn = cluster.stores().conn(leader.store_id).await?;
    let data = tipb::ChecksumRequest {
        scan_on: Some(tipb::ChecksumScanOn::Table as i32),
        algorithm: Some(tipb::ChecksumAlgorithm::Crc64Xor as i32),
        ..Default::default()
    }
    .encode_to_vec();
    let req = coprocessor::Request {
        context: Some(kvrpcpb::Context {
            region_id: region.id(),
            region_epoch: Some(region.epoch()),
            peer: Some(leader),
            ..Default::default()
        }),
        tp: REQ_TYPE_CHECKSUM,
        data,
        start_ts,
        ranges: vec![coprocessor::KeyRange {
            start: part.start.clone(),
            end: part.end.clone(),
        }],
        ..Default::default()
    };
    let resp = conn
        .tikv()
        .coprocessor(req)
        .await
        .map_err(|st| conn.error("Coprocessor", st))?
        .into_inner();
    if let Some(e) = resp.region_error {
        return Err(ClusterError::region(
            "Coprocessor",
            region.id(),
            part.clone(),
            &e,
        ));
    }
    if !resp.other_error.is_empty() {
        return Err(ClusterError::Coprocessor {
            region_id: region.id(),
            message: resp.other_error,
        });
    }
    let c =
        tipb::ChecksumResponse::decode(resp.data.as_slice()).map_err(|e| ClusterError::Decode {
            what: "checksum response",
            reason: e.to_string(),
        })?;
    Ok(KvChecksum {
        crc: c.checksum.unwrap_or(0),
        kvs: c.total_kvs.unwrap_or(0),
        bytes: c.total_bytes.unwrap_or(0),
    })
}

/// Checksums one piece; on a region error, re-reads the regions of the piece and
/// checksums their parts instead.
async fn checksum_with_retry(
    cluster: Cluster,
    region: RegionInfo,
    part: KeyRange,
    start_ts: u64,
) -> Result<KvChecksum> {
    let policy = cluster.options().retry.clone();
    let mut sum = KvChecksum::new();
    let mut work = vec![(region, part, 0u32)];
    while let Some((region, part, failures)) = work.pop() {
        match checksum_piece(&cluster, &region, &part, start_ts).await {
            Ok(c) => sum.merge(&c),
            Err(e) if !e.is_retryable() => return Err(e),
            Err(e) => {
                let failures = failures + 1;
                if failures >= policy.max_attempts {
                    return Err(ClusterError::RetriesExhausted {
                        op: "checksum",
                        range: part,
                        attempts: failures,
                        last: Box::new(e),
                    });
                }
                tracing::debug!(region = region.id(), error = %e, "checksum retries");
                tokio::time::sleep(policy.backoff(failures)).await;
                for (r, p) in pieces(&cluster, &part).await? {
                    work.push((r, p, failures));
                }
            }
        }
    }
    Ok(sum)
}

impl Cluster {
    /// The checksum of every pair visible at `start_ts` in the raw `ranges` (TiDB's
    /// record and index ranges of a table), region by region, `range-concurrency`
    /// regions at once.
    pub async fn checksum_ranges(&self, ranges: &[KeyRange], start_ts: u64) -> Result<KvChecksum> {
        let slots = Arc::new(Semaphore::new(self.options().range_concurrency.max(1)));
        let mut set = JoinSet::new();
        for range in ranges {
            for (region, part) in pieces(self, range).await? {
                let permit = slots
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|e| ClusterError::Task(e.to_string()))?;
                let c = self.clone();
                set.spawn(async move {
                    let r = checksum_with_retry(c, region, part, start_ts).await;
                    drop(permit);
                    r
                });
            }
        }
        let mut total = KvChecksum::new();
        while let Some(r) = set.join_next().await {
            total.merge(&r.map_err(|e| ClusterError::Task(e.to_string()))??);
        }
        Ok(total)
    }
}
