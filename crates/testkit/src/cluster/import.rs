//! One store's ImportSST service: Write stages data on any peer, Ingest (on the
//! leader) makes it visible on every replica that staged it, following TiKV's
//! src/import/sst_service.rs, src/import/ingest.rs and raftstore's
//! `check_sst_for_ingestion` (components/raftstore/src/store/fsm/apply.rs).

use super::faults::{Fault, Step};
use super::pd::async_stream;
use super::state::{encode_key, in_range, region_not_found, server_is_busy, State};
use super::Shared;
use lightning_encode::codec::bytes::decode_bytes;
use lightning_kvproto::import_sstpb::{
    self, import_sst_server::ImportSst, write_request::Chunk, SstMeta,
};
use lightning_kvproto::{errorpb, kvrpcpb, metapb};
use std::pin::Pin;
use std::sync::Arc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

/// Implements `import_sstpb.ImportSST` for one store.
pub struct ImportService {
    pub(crate) shared: Arc<Shared>,
    pub(crate) store: u64,
}

/// TiKV fails a Write stream with gRPC UNKNOWN carrying the error's Debug text
/// (sst_service.rs `send_rpc_response!` -> `make_rpc_error`).
fn rpc_error(debug: String) -> Status {
    Status::unknown(debug)
}

/// `a` is older than `b` in either component (raftstore util::is_epoch_stale).
fn is_epoch_stale(a: &metapb::RegionEpoch, b: &metapb::RegionEpoch) -> bool {
    a.version < b.version || a.conf_ver < b.conf_ver
}

/// The checks a Write stream's first message meets (sst_service.rs `check_local_region_stale`).
fn check_write_meta(s: &State, store: u64, meta: &SstMeta) -> Result<(), Status> {
    let id = meta.region_id;
    let Some(r) = s.regions.get(&id).filter(|r| r.peer_on(store).is_some()) else {
        return Err(rpc_error(format!(
            "RequestTooOld(\"region {id} is not found\")"
        )));
    };
    let (local, req) = (r.epoch(), meta.region_epoch.unwrap_or_default());
    if is_epoch_stale(&local, &req) {
        return Err(rpc_error(format!("RequestTooNew(\"request region {id} is ahead of local region, local epoch {local:?}, request epoch {req:?}, please retry write later\")")));
    }
    if is_epoch_stale(&req, &local) {
        return Err(rpc_error(format!("RequestTooOld(\"request region {id} is staler than local region, local epoch {local:?}, request epoch {req:?}\")")));
    }
    Ok(())
}

/// Raftstore's apply-time check of each SST (apply.rs `check_sst_for_ingestion`):
/// region id, full epoch, and both ends of the SST range inside the region.
/// The range is in encoded keys, as region bounds are (Lightning's region_job.go
/// sets it with `codec.EncodeBytes` of the first and last key); its end is inclusive.
fn check_sst(
    s: &State,
    region: &super::state::RegionState,
    sst: &SstMeta,
) -> Result<(), errorpb::Error> {
    if sst.region_id != region.meta.id {
        return Err(region_not_found(sst.region_id));
    }
    let (e, cur) = (sst.region_epoch.unwrap_or_default(), region.epoch());
    if e != cur {
        return Err(s.epoch_not_match(region, &format!("{e:?} != {cur:?}")));
    }
    let range = sst.range.clone().unwrap_or_default();
    for key in [&range.start, &range.end] {
        if !in_range(key, &region.meta.start_key, &region.meta.end_key) {
            return Err(errorpb::Error {
                message: format!("key {key:?} is not in region {}", region.meta.id),
                key_not_in_region: Some(errorpb::KeyNotInRegion {
                    key: key.clone(),
                    region_id: region.meta.id,
                    start_key: region.meta.start_key.clone(),
                    end_key: region.meta.end_key.clone(),
                }),
                ..Default::default()
            });
        }
    }
    Ok(())
}

/// Ingests `ssts` through the leader on `store`; the whole check-then-apply runs under
/// the cluster lock, so it is atomic across replicas.
fn ingest(
    s: &mut State,
    store: u64,
    ctx: &kvrpcpb::Context,
    ssts: &[SstMeta],
) -> Option<errorpb::Error> {
    if let Err(e) = s.check_context(store, ctx.region_id, ctx.region_epoch, ctx.peer.as_ref()) {
        return Some(e);
    }
    let st = s.stores.get(&store)?;
    // ingest.rs ingest_files_impl: a file missing on the leader (never written here, or
    // already ingested) is answered with StaleCommand.
    if ssts.iter().any(|m| !st.data.has_staged(m)) {
        return Some(errorpb::Error {
            message: "The file which would be ingested doest not exist.".into(),
            stale_command: Some(errorpb::StaleCommand {}),
            ..Default::default()
        });
    }
    let region = s.regions.get(&ctx.region_id)?.clone();
    for m in ssts {
        if let Err(e) = check_sst(s, &region, m) {
            return Some(e);
        }
    }
    for peer in &region.meta.peers {
        let Some(st) = s.stores.get_mut(&peer.store_id) else {
            continue;
        };
        for m in ssts {
            if !st.data.ingest(m) {
                s.missed
                    .push((peer.store_id, region.meta.id, m.uuid.clone()));
            }
        }
    }
    s.auto_split(region.meta.id);
    None
}

/// Pairs per DuplicateDetect response (duplicate_detect.rs MAX_SCAN_BATCH_COUNT).
const MAX_SCAN_BATCH_COUNT: usize = 4096;

type DupStream =
    Pin<Box<dyn Stream<Item = Result<import_sstpb::DuplicateDetectResponse, Status>> + Send>>;

impl ImportService {
    async fn ingest_with_faults(
        &self,
        ctx: kvrpcpb::Context,
        ssts: Vec<SstMeta>,
    ) -> Result<import_sstpb::IngestResponse, Status> {
        let fault = self.shared.enter(self.store, Step::Ingest).await?;
        let mut s = self.shared.lock()?;
        let error = match fault {
            Some(Fault::ServerIsBusy) => Some(server_is_busy()),
            Some(Fault::DiskFull) => Some(errorpb::Error {
                message: format!("propose failed: tikv disk full, store {}", self.store),
                disk_full: Some(errorpb::DiskFull {
                    store_id: vec![self.store],
                    reason: "disk full".into(),
                }),
                ..Default::default()
            }),
            other => {
                s.apply_region_fault(other.as_ref(), ctx.region_id, self.store);
                ingest(&mut s, self.store, &ctx, &ssts)
            }
        };
        Ok(import_sstpb::IngestResponse { error })
    }
}

#[tonic::async_trait]
impl ImportSst for ImportService {
    type DuplicateDetectStream = DupStream;

    async fn switch_mode(
        &self,
        req: Request<import_sstpb::SwitchModeRequest>,
    ) -> Result<Response<import_sstpb::SwitchModeResponse>, Status> {
        self.shared.enter(self.store, Step::SwitchMode).await?;
        let mut s = self.shared.lock()?;
        if let Some(st) = s.stores.get_mut(&self.store) {
            st.mode = req.get_ref().mode;
        }
        Ok(Response::new(import_sstpb::SwitchModeResponse {}))
    }

    async fn get_mode(
        &self,
        _: Request<import_sstpb::GetModeRequest>,
    ) -> Result<Response<import_sstpb::GetModeResponse>, Status> {
        self.shared.enter(self.store, Step::SwitchMode).await?;
        let s = self.shared.lock()?;
        let mode = s.stores.get(&self.store).map_or(0, |st| st.mode);
        Ok(Response::new(import_sstpb::GetModeResponse { mode }))
    }

    async fn write(
        &self,
        req: Request<Streaming<import_sstpb::WriteRequest>>,
    ) -> Result<Response<import_sstpb::WriteResponse>, Status> {
        let fault = self.shared.enter(self.store, Step::Write).await?;
        let mut input = req.into_inner();
        let first = input.message().await?;
        let Some(Chunk::Meta(meta)) = first.and_then(|r| r.chunk) else {
            return Err(rpc_error("InvalidChunk".into()));
        };
        match fault {
            // TiKV's Write checks the disk once the region is found (sst_service.rs
            // impl_write -> check_import_resources): a store whose disk is not Normal
            // answers Error::DiskSpaceNotEnough, a gRPC error like every import error
            // (Unknown with the Debug text), after a 1-2 s pause left out here.
            Some(Fault::DiskFull) => return Err(rpc_error("DiskSpaceNotEnough".into())),
            Some(Fault::DropWriteStream) => {
                return Err(Status::aborted("write stream dropped by the store"))
            }
            Some(Fault::ServerIsBusy) => {
                let error = import_sstpb::Error {
                    message: "server is busy".into(),
                    store_error: Some(server_is_busy()),
                };
                return Ok(Response::new(import_sstpb::WriteResponse {
                    error: Some(error),
                    metas: vec![],
                }));
            }
            other => {
                let mut s = self.shared.lock()?;
                s.apply_region_fault(other.as_ref(), meta.region_id, self.store);
                check_write_meta(&s, self.store, &meta)?;
            }
        }
        let mut pairs = Vec::new();
        while let Some(msg) = input.message().await? {
            let Some(Chunk::Batch(batch)) = msg.chunk else {
                return Err(rpc_error("InvalidChunk".into()));
            };
            // sst_writer.rs TxnSstWriter::write rejects a zero commit ts.
            if batch.commit_ts == 0 {
                return Err(rpc_error("BadFormat(\"invalid commit-ts 0\")".into()));
            }
            pairs.reserve(batch.pairs.len());
            for p in batch.pairs {
                let value = (p.op == import_sstpb::pair::Op::Put as i32).then_some(p.value);
                pairs.push((p.key, value, batch.commit_ts));
            }
        }
        let mut s = self.shared.lock()?;
        let st = s
            .stores
            .get_mut(&self.store)
            .ok_or_else(|| Status::internal("store vanished"))?;
        let metas = st.data.stage(&meta, pairs);
        Ok(Response::new(import_sstpb::WriteResponse {
            error: None,
            metas,
        }))
    }

    async fn ingest(
        &self,
        req: Request<import_sstpb::IngestRequest>,
    ) -> Result<Response<import_sstpb::IngestResponse>, Status> {
        let r = req.into_inner();
        // sst_service.rs turns Ingest into a MultiIngest of one file.
        Ok(Response::new(
            self.ingest_with_faults(r.context.unwrap_or_default(), r.sst.into_iter().collect())
                .await?,
        ))
    }

    async fn multi_ingest(
        &self,
        req: Request<import_sstpb::MultiIngestRequest>,
    ) -> Result<Response<import_sstpb::IngestResponse>, Status> {
        let r = req.into_inner();
        Ok(Response::new(
            self.ingest_with_faults(r.context.unwrap_or_default(), r.ssts)
                .await?,
        ))
    }

    async fn duplicate_detect(
        &self,
        req: Request<import_sstpb::DuplicateDetectRequest>,
    ) -> Result<Response<DupStream>, Status> {
        let fault = self.shared.enter(self.store, Step::DuplicateDetect).await?;
        let r = req.into_inner();
        let ctx = r.context.unwrap_or_default();
        let mut responses = Vec::new();
        {
            let s = self.shared.lock()?;
            let checked = match fault {
                Some(Fault::ServerIsBusy) => Err(server_is_busy()),
                _ => s
                    .check_context(
                        self.store,
                        ctx.region_id,
                        ctx.region_epoch,
                        ctx.peer.as_ref(),
                    )
                    .map(|r| (r.meta.start_key.clone(), r.meta.end_key.clone())),
            };
            match checked {
                Err(e) => responses.push(import_sstpb::DuplicateDetectResponse {
                    region_error: Some(e),
                    ..Default::default()
                }),
                Ok((region_start, region_end)) => {
                    let st = s
                        .stores
                        .get(&self.store)
                        .ok_or_else(|| Status::internal("store vanished"))?;
                    // The detector iterates a snapshot of this region only.
                    let dups: Vec<_> = st
                        .data
                        .duplicates(&r.start_key, &r.end_key, r.min_commit_ts)
                        .into_iter()
                        .filter(|(k, _)| in_range(&encode_key(k), &region_start, &region_end))
                        .collect();
                    for chunk in dups.chunks(MAX_SCAN_BATCH_COUNT) {
                        let pairs = chunk
                            .iter()
                            .map(|(k, v)| import_sstpb::KvPair {
                                key: k.clone(),
                                value: if r.key_only {
                                    vec![]
                                } else {
                                    v.value.clone().unwrap_or_default()
                                },
                                commit_ts: v.commit_ts,
                            })
                            .collect();
                        responses.push(import_sstpb::DuplicateDetectResponse {
                            pairs,
                            ..Default::default()
                        });
                    }
                }
            }
        }
        Ok(Response::new(async_stream(move |tx| async move {
            for r in responses {
                if tx.send(Ok(r)).await.is_err() {
                    return;
                }
            }
        })))
    }
}

impl State {
    /// Applies a region-level fault before a call: NotLeader moves the leader away from
    /// `store`; EpochNotMatch splits the region (a concurrent split).
    pub(crate) fn apply_region_fault(&mut self, fault: Option<&Fault>, region_id: u64, store: u64) {
        match fault {
            Some(Fault::NotLeader) => {
                let other = self.regions.get(&region_id).and_then(|r| {
                    r.meta
                        .peers
                        .iter()
                        .map(|p| p.store_id)
                        .find(|s| *s != store)
                });
                self.transfer_leader(region_id, other);
            }
            Some(Fault::EpochNotMatch) => {
                let Some(r) = self.regions.get(&region_id) else {
                    return;
                };
                let (start, end) = (r.meta.start_key.clone(), r.meta.end_key.clone());
                let mid = self
                    .stores
                    .get(&r.leader_store)
                    .and_then(|st| st.data.middle_key(&start, &end, None))
                    .filter(|m| *m > start);
                // Without data, split just after the start: at the encoding of the raw
                // key after it. TiKV's region boundaries in the txn key space are always
                // encoded user keys (SplitRegion encodes with Key::from_raw; split
                // checkers truncate the ts), never an encoded key plus stray bytes.
                let after_start = || match decode_bytes(&start) {
                    Ok((raw, _)) if !start.is_empty() => {
                        encode_key(&[raw.as_slice(), &[0]].concat())
                    }
                    _ => encode_key(b""),
                };
                let key = mid.unwrap_or_else(after_start);
                if in_range(&key, &start, &end) && key != start {
                    self.split(region_id, &[key]);
                } else if let Some(r) = self.regions.get_mut(&region_id) {
                    // No room for a split key: bump the version as a merge would.
                    if let Some(e) = r.meta.region_epoch.as_mut() {
                        e.version += 1;
                    }
                }
            }
            _ => {}
        }
    }
}
