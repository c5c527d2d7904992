//! PD's gRPC face: leader discovery, stores, regions, split/scatter, operators, TSO.
//!
//! Region keys here are PD's own, i.e. *encoded* (see [`crate::keys`]). Every request
//! carries the cluster id in its header; a transport failure makes the client look for
//! the leader again (GetMembers on every configured address) and retry.

use crate::error::{ClusterError, Result};
use crate::keys::RegionInfo;
use crate::security::{Transport, MAX_MESSAGE_SIZE};
use lightning_kvproto::metapb;
use lightning_kvproto::pdpb::{self, pd_client::PdClient as PdGrpc};
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tonic::transport::Channel;

/// PD's answer header error as a [`ClusterError`].
fn check_header(op: &'static str, h: Option<&pdpb::ResponseHeader>) -> Result<()> {
    match h.and_then(|h| h.error.as_ref()) {
        Some(e) if e.r#type != pdpb::ErrorType::Ok as i32 => Err(ClusterError::PdAnswer {
            op,
            kind: pdpb::ErrorType::try_from(e.r#type)
                .map(|t| t.as_str_name().to_string())
                .unwrap_or_else(|_| e.r#type.to_string()),
            message: e.message.clone(),
        }),
        _ => Ok(()),
    }
}

/// Composes a TSO answer into a timestamp (client-go oracle.ComposeTS: physical ms
/// shifted left by 18 logical bits).
pub fn compose_ts(physical: i64, logical: i64) -> u64 {
    ((physical as u64) << 18) + logical as u64
}

struct Leader {
    url: String,
    client: PdGrpc<Channel>,
}

struct Inner {
    addrs: Vec<String>,
    transport: Transport,
    cluster_id: u64,
    leader: RwLock<Leader>,
}

/// A PD client over gRPC; cheap to clone.
#[derive(Clone)]
pub struct PdClient {
    inner: Arc<Inner>,
}

/// Attempts of a PD call when the transport fails (BR pdutil pdRequestRetryTime).
const PD_RETRIES: u32 = 10;

async fn discover(addrs: &[String], transport: &Transport) -> Result<(u64, Leader)> {
    let mut last = String::from("no address given");
    for addr in addrs {
        let ep = transport.endpoint(addr)?.timeout(Duration::from_secs(10));
        let mut c = PdGrpc::new(ep.connect_lazy()).max_decoding_message_size(MAX_MESSAGE_SIZE);
        let m = match c.get_members(pdpb::GetMembersRequest::default()).await {
            Ok(m) => m.into_inner(),
            Err(e) => {
                last = format!("{addr}: {e}");
                continue;
            }
        };
        let cluster_id = m.header.as_ref().map_or(0, |h| h.cluster_id);
        let Some(url) = m.leader.and_then(|l| l.client_urls.into_iter().next()) else {
            last = format!("{addr}: no PD leader elected");
            continue;
        };
        let ep = transport.endpoint(&url)?.timeout(Duration::from_secs(30));
        let client = PdGrpc::new(ep.connect_lazy()).max_decoding_message_size(MAX_MESSAGE_SIZE);
        return Ok((cluster_id, Leader { url, client }));
    }
    Err(ClusterError::PdUnreachable {
        addrs: addrs.to_vec(),
        last,
    })
}

impl PdClient {
    /// Connects to the PD leader found through any of `addrs` (`host:port` or URLs).
    pub async fn connect(addrs: &[String], transport: Transport) -> Result<PdClient> {
        let (cluster_id, leader) = discover(addrs, &transport).await?;
        tracing::info!(cluster_id, leader = %leader.url, "connected to PD");
        Ok(PdClient {
            inner: Arc::new(Inner {
                addrs: addrs.to_vec(),
                transport,
                cluster_id,
                leader: RwLock::new(leader),
            }),
        })
    }

    /// The cluster id PD reported.
    pub fn cluster_id(&self) -> u64 {
        self.inner.cluster_id
    }

    /// The configured PD addresses.
    pub fn addrs(&self) -> &[String] {
        &self.inner.addrs
    }

    /// The connection settings (TLS or plain).
    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The URL of the PD leader in use.
    pub fn leader_url(&self) -> String {
        self.inner
            .leader
            .read()
            .map(|l| l.url.clone())
            .unwrap_or_default()
    }

    fn header(&self) -> Option<pdpb::RequestHeader> {
        Some(pdpb::RequestHeader {
            cluster_id: self.inner.cluster_id,
            sender_id: 0,
        })
    }

    fn client(&self) -> Option<PdGrpc<Channel>> {
        self.inner.leader.read().ok().map(|l| l.client.clone())
    }

    /// Runs one RPC on the leader; on a transport failure, rediscovers the leader and
    /// retries with a short backoff.
    async fn call<T, F, Fut>(&self, op: &'static str, f: F) -> Result<T>
    where
        F: Fn(PdGrpc<Channel>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut attempt = 0;
        loop {
            let client = self
                .client()
                .ok_or_else(|| ClusterError::Task("PD client lock poisoned".into()))?;
            let status = match f(client).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(status) => status,
            };
            let err = ClusterError::PdRpc {
                op,
                status: Box::new(status),
            };
            attempt += 1;
            if !err.is_retryable() || attempt >= PD_RETRIES {
                return Err(err);
            }
            tracing::warn!(op, attempt, error = %err, "PD call failed, looking for the leader again");
            tokio::time::sleep(Duration::from_millis(100 * attempt as u64)).await;
            if let Ok((_, leader)) = discover(&self.inner.addrs, &self.inner.transport).await {
                if let Ok(mut l) = self.inner.leader.write() {
                    *l = leader;
                }
            }
        }
    }

    /// Every store PD knows (tombstones excluded when asked).
    pub async fn get_all_stores(&self, exclude_tombstone: bool) -> Result<Vec<metapb::Store>> {
        let h = self.header();
        let r = self
            .call("GetAllStores", |mut c| {
                let req = pdpb::GetAllStoresRequest {
                    header: h,
                    exclude_tombstone_stores: exclude_tombstone,
                };
                async move { c.get_all_stores(req).await }
            })
            .await?;
        check_header("GetAllStores", r.header.as_ref())?;
        Ok(r.stores)
    }

    /// One store by id.
    pub async fn get_store(&self, store_id: u64) -> Result<metapb::Store> {
        let h = self.header();
        let r = self
            .call("GetStore", |mut c| {
                let req = pdpb::GetStoreRequest {
                    header: h,
                    store_id,
                };
                async move { c.get_store(req).await }
            })
            .await?;
        check_header("GetStore", r.header.as_ref())
            .map_err(|_| ClusterError::UnknownStore { store_id })?;
        r.store.ok_or(ClusterError::UnknownStore { store_id })
    }

    fn region_answer(r: pdpb::GetRegionResponse, op: &'static str) -> Result<Option<RegionInfo>> {
        check_header(op, r.header.as_ref())?;
        r.region.map(|g| RegionInfo::new(g, r.leader)).transpose()
    }

    /// The region containing `encoded_key` (None when PD has none).
    pub async fn get_region(&self, encoded_key: &[u8]) -> Result<Option<RegionInfo>> {
        let h = self.header();
        let r = self
            .call("GetRegion", |mut c| {
                let req = pdpb::GetRegionRequest {
                    header: h,
                    region_key: encoded_key.to_vec(),
                    need_buckets: false,
                };
                async move { c.get_region(req).await }
            })
            .await?;
        Self::region_answer(r, "GetRegion")
    }

    /// A region by id (None when PD has none).
    pub async fn get_region_by_id(&self, region_id: u64) -> Result<Option<RegionInfo>> {
        let h = self.header();
        let r = self
            .call("GetRegionByID", |mut c| {
                let req = pdpb::GetRegionByIdRequest {
                    header: h,
                    region_id,
                    need_buckets: false,
                };
                async move { c.get_region_by_id(req).await }
            })
            .await?;
        Self::region_answer(r, "GetRegionByID")
    }

    /// Up to `limit` (<= 0: all) regions overlapping encoded `[start, end)`, in key order.
    pub async fn scan_regions(
        &self,
        start: &[u8],
        end: &[u8],
        limit: i32,
    ) -> Result<Vec<RegionInfo>> {
        let h = self.header();
        let r = self
            .call("ScanRegions", |mut c| {
                let req = pdpb::ScanRegionsRequest {
                    header: h,
                    start_key: start.to_vec(),
                    end_key: end.to_vec(),
                    limit,
                };
                async move { c.scan_regions(req).await }
            })
            .await?;
        check_header("ScanRegions", r.header.as_ref())?;
        if !r.regions.is_empty() {
            return r
                .regions
                .into_iter()
                .filter_map(|g| g.region.map(|m| RegionInfo::new(m, g.leader)))
                .collect();
        }
        // Older PDs fill only the deprecated parallel lists.
        let mut leaders = r.leaders.into_iter();
        r.region_metas
            .into_iter()
            .map(|m| RegionInfo::new(m, leaders.next()))
            .collect()
    }

    /// PD-side split at encoded keys; returns the new region ids.
    pub async fn split_regions(&self, encoded_keys: Vec<Vec<u8>>) -> Result<Vec<u64>> {
        let h = self.header();
        let r = self
            .call("SplitRegions", |mut c| {
                let req = pdpb::SplitRegionsRequest {
                    header: h,
                    split_keys: encoded_keys.clone(),
                    retry_limit: 0,
                };
                async move { c.split_regions(req).await }
            })
            .await?;
        check_header("SplitRegions", r.header.as_ref())?;
        Ok(r.regions_id)
    }

    /// PD-side split and scatter at encoded keys; returns the new region ids.
    pub async fn split_and_scatter_regions(&self, encoded_keys: Vec<Vec<u8>>) -> Result<Vec<u64>> {
        let h = self.header();
        let r = self
            .call("SplitAndScatterRegions", |mut c| {
                let req = pdpb::SplitAndScatterRegionsRequest {
                    header: h,
                    split_keys: encoded_keys.clone(),
                    group: String::new(),
                    retry_limit: 0,
                };
                async move { c.split_and_scatter_regions(req).await }
            })
            .await?;
        check_header("SplitAndScatterRegions", r.header.as_ref())?;
        Ok(r.regions_id)
    }

    /// Starts scatter operators on regions, skipping the store limit as BR does
    /// (`pd.WithSkipStoreLimit()`); returns PD's finished percentage.
    pub async fn scatter_regions(&self, region_ids: &[u64]) -> Result<u64> {
        let h = self.header();
        let r = self
            .call("ScatterRegion", |mut c| {
                let req = pdpb::ScatterRegionRequest {
                    header: h,
                    regions_id: region_ids.to_vec(),
                    skip_store_limit: true,
                    ..Default::default()
                };
                async move { c.scatter_region(req).await }
            })
            .await?;
        check_header("ScatterRegion", r.header.as_ref())?;
        Ok(r.finished_percentage)
    }

    /// The operator running on a region (its header carries REGION_NOT_FOUND when none).
    pub async fn get_operator(&self, region_id: u64) -> Result<pdpb::GetOperatorResponse> {
        let h = self.header();
        self.call("GetOperator", |mut c| {
            let req = pdpb::GetOperatorRequest {
                header: h,
                region_id,
            };
            async move { c.get_operator(req).await }
        })
        .await
    }

    /// One timestamp from PD's TSO, composed as TiDB does ([`compose_ts`]).
    pub async fn tso(&self) -> Result<u64> {
        let h = self.header();
        let mut out = self
            .call("Tso", |mut c| {
                let req = pdpb::TsoRequest {
                    header: h,
                    count: 1,
                    dc_location: String::new(),
                };
                async move { c.tso(tokio_stream::once(req)).await }
            })
            .await?;
        let resp = out
            .message()
            .await
            .map_err(|status| ClusterError::PdRpc {
                op: "Tso",
                status: Box::new(status),
            })?
            .ok_or_else(|| ClusterError::Decode {
                what: "TSO stream",
                reason: "ended without a timestamp".into(),
            })?;
        check_header("Tso", resp.header.as_ref())?;
        let ts = resp.timestamp.ok_or_else(|| ClusterError::Decode {
            what: "TSO answer",
            reason: "no timestamp".into(),
        })?;
        Ok(compose_ts(ts.physical, ts.logical))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts_composition_matches_oracle() {
        assert_eq!(compose_ts(1, 0), 1 << 18);
        assert_eq!(compose_ts(1_700_000_000_000, 5) >> 18, 1_700_000_000_000);
        assert!(check_header("x", None).is_ok());
        let err = pdpb::ResponseHeader {
            cluster_id: 1,
            error: Some(pdpb::Error {
                r#type: pdpb::ErrorType::RegionNotFound as i32,
                message: "Not Found".into(),
            }),
        };
        match check_header("GetOperator", Some(&err)) {
            Err(ClusterError::PdAnswer { kind, .. }) => assert_eq!(kind, "REGION_NOT_FOUND"),
            other => panic!("{other:?}"),
        }
    }
}
