//! The simulated PD's gRPC face (service `pdpb.PD`).

use super::state::State;
use super::Shared;
use lightning_kvproto::pdpb::ErrorType;
use lightning_kvproto::pdpb::{self, pd_server::Pd};
use std::pin::Pin;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

/// How long a scatter operator reports RUNNING before SUCCESS.
pub const SCATTER_DURATION: Duration = Duration::from_millis(150);

/// Implements `pdpb.PD` over the shared cluster state.
pub struct PdService {
    pub(crate) shared: Arc<Shared>,
}

impl PdService {
    fn state(&self) -> Result<MutexGuard<'_, State>, Status> {
        self.shared.lock()
    }
}

fn header(s: &State) -> Option<pdpb::ResponseHeader> {
    Some(pdpb::ResponseHeader {
        cluster_id: s.cluster_id,
        error: None,
    })
}

fn error_header(s: &State, ty: ErrorType, message: &str) -> Option<pdpb::ResponseHeader> {
    Some(pdpb::ResponseHeader {
        cluster_id: s.cluster_id,
        error: Some(pdpb::Error {
            r#type: ty as i32,
            message: message.into(),
        }),
    })
}

fn member(s: &State, addr: &str) -> pdpb::Member {
    pdpb::Member {
        name: "pd-sim".into(),
        member_id: s.cluster_id ^ 1,
        peer_urls: vec![format!("http://{addr}")],
        client_urls: vec![format!("http://{addr}")],
        binary_version: super::TIKV_VERSION.into(),
        ..Default::default()
    }
}

fn region_response(
    s: &State,
    region: Option<&super::state::RegionState>,
) -> pdpb::GetRegionResponse {
    match region {
        Some(r) => pdpb::GetRegionResponse {
            header: header(s),
            region: Some(r.meta.clone()),
            leader: Some(r.leader()),
            ..Default::default()
        },
        // PD's leader answers an unknown key with an empty response, not an error
        // (pkg/utils/grpcutil/cluster.go GetRegion).
        None => pdpb::GetRegionResponse {
            header: header(s),
            ..Default::default()
        },
    }
}

/// Splits at encoded keys across whichever regions contain them; returns the ids of
/// the newly created regions (PD's SplitRegions reports the new region ids).
pub(crate) fn split_keys(s: &mut State, keys: &[Vec<u8>]) -> Vec<u64> {
    let mut created = Vec::new();
    for k in keys {
        let Some(r) = s.region_by_key(k) else {
            continue;
        };
        if r.meta.start_key == *k {
            continue;
        }
        let id = r.meta.id;
        for reg in s.split(id, std::slice::from_ref(k)) {
            if reg.id != id {
                created.push(reg.id);
            }
        }
    }
    created
}

/// Starts a scatter operator on each region: its peers move to a random set of stores
/// (when there are more stores than replicas) and its leader to a random one of them;
/// GetOperator reports RUNNING for [`SCATTER_DURATION`], then SUCCESS.
pub(crate) fn scatter(s: &mut State, ids: &[u64]) {
    use rand::seq::SliceRandom;
    for id in ids {
        let Some(r) = s.regions.get(id) else { continue };
        let n = r.meta.peers.len();
        let mut stores: Vec<u64> = s.stores.keys().copied().collect();
        stores.shuffle(&mut s.rng);
        stores.truncate(n);
        let leader = stores[0];
        s.move_peers(*id, &stores, leader);
        s.operators.insert(
            *id,
            super::state::Operator {
                started: Instant::now(),
            },
        );
    }
}

type TsoStream = Pin<Box<dyn Stream<Item = Result<pdpb::TsoResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Pd for PdService {
    type TsoStream = TsoStream;

    async fn get_cluster_info(
        &self,
        _: Request<pdpb::GetClusterInfoRequest>,
    ) -> Result<Response<pdpb::GetClusterInfoResponse>, Status> {
        let s = self.state()?;
        Ok(Response::new(pdpb::GetClusterInfoResponse {
            header: header(&s),
            service_modes: vec![pdpb::ServiceMode::PdSvcMode as i32],
            tso_urls: vec![],
        }))
    }

    async fn get_members(
        &self,
        _: Request<pdpb::GetMembersRequest>,
    ) -> Result<Response<pdpb::GetMembersResponse>, Status> {
        let s = self.state()?;
        let me = member(&s, &self.shared.pd_addr);
        Ok(Response::new(pdpb::GetMembersResponse {
            header: header(&s),
            members: vec![me.clone()],
            leader: Some(me.clone()),
            etcd_leader: Some(me),
            ..Default::default()
        }))
    }

    async fn tso(
        &self,
        req: Request<Streaming<pdpb::TsoRequest>>,
    ) -> Result<Response<TsoStream>, Status> {
        let shared = self.shared.clone();
        let mut input = req.into_inner();
        let output = async_stream(move |tx| async move {
            while let Some(r) = input.next().await {
                let r = match r {
                    Ok(r) => r,
                    Err(e) => return drop(tx.send(Err(e)).await),
                };
                let resp = shared.lock().map(|mut s| {
                    let (physical, logical) = s.tso(r.count.max(1));
                    pdpb::TsoResponse {
                        header: header(&s),
                        count: r.count,
                        timestamp: Some(pdpb::Timestamp {
                            physical,
                            logical,
                            suffix_bits: 0,
                        }),
                    }
                });
                if tx.send(resp).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(output))
    }

    async fn alloc_id(
        &self,
        _: Request<pdpb::AllocIdRequest>,
    ) -> Result<Response<pdpb::AllocIdResponse>, Status> {
        let mut s = self.state()?;
        let id = s.alloc_id();
        Ok(Response::new(pdpb::AllocIdResponse {
            header: header(&s),
            id,
        }))
    }

    async fn get_store(
        &self,
        req: Request<pdpb::GetStoreRequest>,
    ) -> Result<Response<pdpb::GetStoreResponse>, Status> {
        let s = self.state()?;
        let id = req.get_ref().store_id;
        Ok(Response::new(match s.stores.get(&id) {
            Some(st) => pdpb::GetStoreResponse {
                header: header(&s),
                store: Some(st.meta.clone()),
            },
            None => pdpb::GetStoreResponse {
                header: error_header(
                    &s,
                    ErrorType::Unknown,
                    &format!("invalid store ID {id}, not found"),
                ),
                store: None,
            },
        }))
    }

    async fn get_all_stores(
        &self,
        _: Request<pdpb::GetAllStoresRequest>,
    ) -> Result<Response<pdpb::GetAllStoresResponse>, Status> {
        let s = self.state()?;
        Ok(Response::new(pdpb::GetAllStoresResponse {
            header: header(&s),
            stores: s.stores.values().map(|st| st.meta.clone()).collect(),
        }))
    }

    async fn get_region(
        &self,
        req: Request<pdpb::GetRegionRequest>,
    ) -> Result<Response<pdpb::GetRegionResponse>, Status> {
        let s = self.state()?;
        Ok(Response::new(region_response(
            &s,
            s.region_by_key(&req.get_ref().region_key),
        )))
    }

    async fn get_prev_region(
        &self,
        req: Request<pdpb::GetRegionRequest>,
    ) -> Result<Response<pdpb::GetRegionResponse>, Status> {
        let s = self.state()?;
        Ok(Response::new(region_response(
            &s,
            s.prev_region(&req.get_ref().region_key),
        )))
    }

    async fn get_region_by_id(
        &self,
        req: Request<pdpb::GetRegionByIdRequest>,
    ) -> Result<Response<pdpb::GetRegionResponse>, Status> {
        let s = self.state()?;
        Ok(Response::new(region_response(
            &s,
            s.regions.get(&req.get_ref().region_id),
        )))
    }

    async fn scan_regions(
        &self,
        req: Request<pdpb::ScanRegionsRequest>,
    ) -> Result<Response<pdpb::ScanRegionsResponse>, Status> {
        let s = self.state()?;
        let r = req.get_ref();
        let limit = if r.limit <= 0 {
            usize::MAX
        } else {
            r.limit as usize
        };
        // Regions overlapping [start_key, end_key), from the one containing start_key.
        let picked: Vec<_> = s
            .sorted_regions()
            .into_iter()
            .filter(|g| g.meta.end_key.is_empty() || g.meta.end_key > r.start_key)
            .filter(|g| r.end_key.is_empty() || g.meta.start_key < r.end_key)
            .take(limit)
            .collect();
        Ok(Response::new(pdpb::ScanRegionsResponse {
            header: header(&s),
            region_metas: picked.iter().map(|g| g.meta.clone()).collect(),
            leaders: picked.iter().map(|g| g.leader()).collect(),
            regions: picked
                .iter()
                .map(|g| pdpb::Region {
                    region: Some(g.meta.clone()),
                    leader: Some(g.leader()),
                    ..Default::default()
                })
                .collect(),
        }))
    }

    async fn scatter_region(
        &self,
        req: Request<pdpb::ScatterRegionRequest>,
    ) -> Result<Response<pdpb::ScatterRegionResponse>, Status> {
        let mut s = self.state()?;
        let r = req.into_inner();
        let mut ids = r.regions_id.clone();
        if ids.is_empty() {
            ids.push(r.region.as_ref().map_or(r.region_id, |g| g.id));
        }
        if let Some(missing) = ids.iter().find(|id| !s.regions.contains_key(id)) {
            let h = error_header(
                &s,
                ErrorType::RegionNotFound,
                &format!("region {missing} not found"),
            );
            return Ok(Response::new(pdpb::ScatterRegionResponse {
                header: h,
                finished_percentage: 0,
            }));
        }
        scatter(&mut s, &ids);
        Ok(Response::new(pdpb::ScatterRegionResponse {
            header: header(&s),
            finished_percentage: 100,
        }))
    }

    async fn get_operator(
        &self,
        req: Request<pdpb::GetOperatorRequest>,
    ) -> Result<Response<pdpb::GetOperatorResponse>, Status> {
        let s = self.state()?;
        let id = req.get_ref().region_id;
        // PD answers REGION_NOT_FOUND "Not Found" when the region has no operator
        // (server/grpc_service.go GetOperator); BR/Lightning take that as finished
        // (br/pkg/restore/split/split.go isScatterRegionFinished).
        let Some(op) = s.operators.get(&id) else {
            let h = error_header(&s, ErrorType::RegionNotFound, "Not Found");
            return Ok(Response::new(pdpb::GetOperatorResponse {
                header: h,
                ..Default::default()
            }));
        };
        let status = if op.started.elapsed() < SCATTER_DURATION {
            pdpb::OperatorStatus::Running
        } else {
            pdpb::OperatorStatus::Success
        };
        Ok(Response::new(pdpb::GetOperatorResponse {
            header: header(&s),
            region_id: id,
            desc: b"scatter-region".to_vec(),
            status: status as i32,
            kind: b"admin,region".to_vec(),
        }))
    }

    async fn split_regions(
        &self,
        req: Request<pdpb::SplitRegionsRequest>,
    ) -> Result<Response<pdpb::SplitRegionsResponse>, Status> {
        let mut s = self.state()?;
        let ids = split_keys(&mut s, &req.get_ref().split_keys);
        Ok(Response::new(pdpb::SplitRegionsResponse {
            header: header(&s),
            finished_percentage: 100,
            regions_id: ids,
        }))
    }

    async fn split_and_scatter_regions(
        &self,
        req: Request<pdpb::SplitAndScatterRegionsRequest>,
    ) -> Result<Response<pdpb::SplitAndScatterRegionsResponse>, Status> {
        let mut s = self.state()?;
        let ids = split_keys(&mut s, &req.get_ref().split_keys);
        scatter(&mut s, &ids);
        Ok(Response::new(pdpb::SplitAndScatterRegionsResponse {
            header: header(&s),
            split_finished_percentage: 100,
            scatter_finished_percentage: 100,
            regions_id: ids,
        }))
    }
}

/// A response stream fed by a task that gets the sending half of a channel.
pub(crate) fn async_stream<T, F, Fut>(f: F) -> Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<Result<T, Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(f(tx));
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}
