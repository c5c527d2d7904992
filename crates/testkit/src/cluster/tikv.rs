//! One store's Tikv service subset: SplitRegion and the coprocessor checksum request.

use super::faults::{Fault, Step};
use super::state::{encode_key, in_range, server_is_busy};
use super::Shared;
use lightning_kvproto::tikvpb::tikv_server::Tikv;
use lightning_kvproto::{coprocessor, errorpb, kvrpcpb, tipb, REQ_TYPE_CHECKSUM};
use prost::Message;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// Implements `tikvpb.Tikv` (SplitRegion, Coprocessor) for one store.
pub struct TikvService {
    pub(crate) shared: Arc<Shared>,
    pub(crate) store: u64,
}

fn key_not_in_region(key: &[u8], r: &lightning_kvproto::metapb::Region) -> errorpb::Error {
    errorpb::Error {
        message: format!("key {key:?} is not in region {}", r.id),
        key_not_in_region: Some(errorpb::KeyNotInRegion {
            key: key.to_vec(),
            region_id: r.id,
            start_key: r.start_key.clone(),
            end_key: r.end_key.clone(),
        }),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl Tikv for TikvService {
    async fn split_region(
        &self,
        req: Request<kvrpcpb::SplitRegionRequest>,
    ) -> Result<Response<kvrpcpb::SplitRegionResponse>, Status> {
        let fault = self.shared.enter(self.store, Step::SplitRegion).await?;
        let r = req.into_inner();
        let ctx = r.context.unwrap_or_default();
        let mut s = self.shared.lock()?;
        if fault == Some(Fault::ServerIsBusy) {
            return Ok(Response::new(kvrpcpb::SplitRegionResponse {
                region_error: Some(server_is_busy()),
                ..Default::default()
            }));
        }
        s.apply_region_fault(fault.as_ref(), ctx.region_id, self.store);
        let region = match s.check_context(
            self.store,
            ctx.region_id,
            ctx.region_epoch,
            ctx.peer.as_ref(),
        ) {
            Ok(g) => g.meta.clone(),
            Err(e) => {
                return Ok(Response::new(kvrpcpb::SplitRegionResponse {
                    region_error: Some(e),
                    ..Default::default()
                }))
            }
        };
        // A split is an admin command: raftstore checks conf_ver too (util.rs
        // admin_cmd_epoch_lookup, BatchSplit).
        if ctx.region_epoch.map(|e| e.conf_ver) != region.region_epoch.map(|e| e.conf_ver) {
            let r = s
                .regions
                .get(&region.id)
                .ok_or_else(|| Status::internal("region vanished"))?;
            let e = s.epoch_not_match(r, "conf_ver changed");
            return Ok(Response::new(kvrpcpb::SplitRegionResponse {
                region_error: Some(e),
                ..Default::default()
            }));
        }
        let mut raw = r.split_keys;
        if raw.is_empty() && !r.split_key.is_empty() {
            raw.push(r.split_key);
        }
        // TiKV encodes txn split keys (storage split_region: Key::from_raw) unless raw kv.
        let keys: Vec<Vec<u8>> = raw
            .iter()
            .map(|k| {
                if r.is_raw_kv {
                    k.clone()
                } else {
                    encode_key(k)
                }
            })
            .collect();
        // raftstore validate_split_region: every key must lie inside the region and
        // must not be its start key.
        for k in &keys {
            if !in_range(k, &region.start_key, &region.end_key) {
                return Ok(Response::new(kvrpcpb::SplitRegionResponse {
                    region_error: Some(key_not_in_region(k, &region)),
                    ..Default::default()
                }));
            }
            if *k == region.start_key {
                let e = errorpb::Error {
                    message: format!("{k:?} is already the start key of region {}", region.id),
                    ..Default::default()
                };
                return Ok(Response::new(kvrpcpb::SplitRegionResponse {
                    region_error: Some(e),
                    ..Default::default()
                }));
            }
        }
        let regions = s.split(region.id, &keys);
        let (left, right) = if regions.len() == 2 {
            (Some(regions[0].clone()), Some(regions[1].clone()))
        } else {
            (None, None)
        };
        Ok(Response::new(kvrpcpb::SplitRegionResponse {
            region_error: None,
            left,
            right,
            regions,
        }))
    }

    async fn coprocessor(
        &self,
        req: Request<coprocessor::Request>,
    ) -> Result<Response<coprocessor::Response>, Status> {
        let fault = self.shared.enter(self.store, Step::Coprocessor).await?;
        let r = req.into_inner();
        let ctx = r.context.clone().unwrap_or_default();
        let mut s = self.shared.lock()?;
        if fault == Some(Fault::ServerIsBusy) {
            return Ok(Response::new(coprocessor::Response {
                region_error: Some(server_is_busy()),
                ..Default::default()
            }));
        }
        s.apply_region_fault(fault.as_ref(), ctx.region_id, self.store);
        let region = match s.check_context(
            self.store,
            ctx.region_id,
            ctx.region_epoch,
            ctx.peer.as_ref(),
        ) {
            Ok(g) => g.meta.clone(),
            Err(e) => {
                return Ok(Response::new(coprocessor::Response {
                    region_error: Some(e),
                    ..Default::default()
                }))
            }
        };
        if r.tp != REQ_TYPE_CHECKSUM {
            return Ok(Response::new(coprocessor::Response {
                other_error: format!("unsupported request type {}", r.tp),
                ..Default::default()
            }));
        }
        let creq = match tipb::ChecksumRequest::decode(r.data.as_slice()) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Response::new(coprocessor::Response {
                    other_error: format!("invalid checksum request: {e}"),
                    ..Default::default()
                }))
            }
        };
        if creq.rule.is_some() {
            return Ok(Response::new(coprocessor::Response {
                other_error: "checksum rewrite rules are not simulated".into(),
                ..Default::default()
            }));
        }
        // TiKV reads the ranges (raw keys) from a snapshot of this region at start_ts
        // (src/coprocessor/checksum.rs); each range must lie in the region.
        for kr in &r.ranges {
            let (start, end) = (encode_key(&kr.start), encode_key(&kr.end));
            let end_ok = kr.end.is_empty() && region.end_key.is_empty()
                || !kr.end.is_empty() && (region.end_key.is_empty() || end <= region.end_key);
            if !in_range(&start, &region.start_key, &region.end_key) || !end_ok {
                return Ok(Response::new(coprocessor::Response {
                    region_error: Some(key_not_in_region(&start, &region)),
                    ..Default::default()
                }));
            }
        }
        let ts = if r.start_ts == 0 {
            u64::MAX
        } else {
            r.start_ts
        };
        let st = s
            .stores
            .get(&self.store)
            .ok_or_else(|| Status::internal("store vanished"))?;
        let mut sum = lightning_encode::KvChecksum::new();
        for kr in &r.ranges {
            sum.merge(&st.data.checksum(&kr.start, &kr.end, ts));
        }
        let resp = tipb::ChecksumResponse {
            checksum: Some(sum.crc),
            total_kvs: Some(sum.kvs),
            total_bytes: Some(sum.bytes),
        };
        Ok(Response::new(coprocessor::Response {
            data: resp.encode_to_vec(),
            ..Default::default()
        }))
    }
}
