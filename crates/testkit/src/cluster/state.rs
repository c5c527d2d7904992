//! The cluster's shared state: stores, regions (with epochs and leaders), id and
//! timestamp allocation, splits, and the region checks TiKV's raftstore makes.
//!
//! Region boundaries live in TiKV's encoded key space (memcomparable bytes of the raw
//! key, as TiKV's `Key::from_raw` does); stored data is keyed by raw key.

use super::data::StoreData;
use super::faults::Faults;
use super::pd_http::HttpState;
use super::SimOptions;
use lightning_encode::codec::bytes::encode_bytes;
use lightning_kvproto::{errorpb, metapb};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Memcomparable encoding of a raw key, the key space of region boundaries.
pub fn encode_key(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 8 + 9);
    encode_bytes(&mut out, raw);
    out
}

/// Whether encoded `key` falls in `[start, end)`; an empty `end` is unbounded.
pub fn in_range(key: &[u8], start: &[u8], end: &[u8]) -> bool {
    key >= start && (end.is_empty() || key < end)
}

/// One simulated store.
pub(crate) struct StoreState {
    pub meta: metapb::Store,
    /// import_sstpb.SwitchMode as i32.
    pub mode: i32,
    pub down: bool,
    pub delay: std::time::Duration,
    pub data: StoreData,
}

/// One region and where its leader is.
#[derive(Clone, Debug)]
pub(crate) struct RegionState {
    pub meta: metapb::Region,
    pub leader_store: u64,
}

impl RegionState {
    pub fn leader(&self) -> metapb::Peer {
        self.peer_on(self.leader_store).unwrap_or_default()
    }

    pub fn peer_on(&self, store: u64) -> Option<metapb::Peer> {
        self.meta
            .peers
            .iter()
            .find(|p| p.store_id == store)
            .cloned()
    }

    pub fn epoch(&self) -> metapb::RegionEpoch {
        self.meta.region_epoch.unwrap_or_default()
    }
}

/// A scatter operator PD reports through GetOperator until it finishes.
pub(crate) struct Operator {
    pub started: Instant,
}

/// Everything behind the cluster's one lock (never held across an await).
pub(crate) struct State {
    pub opts: SimOptions,
    pub cluster_id: u64,
    next_id: u64,
    tso: (i64, i64),
    pub stores: BTreeMap<u64, StoreState>,
    pub regions: BTreeMap<u64, RegionState>,
    pub operators: BTreeMap<u64, Operator>,
    pub rng: StdRng,
    pub faults: Faults,
    pub http: HttpState,
    /// (store, region, uuid) of replicas that lacked an SST the leader ingested.
    pub missed: Vec<(u64, u64, Vec<u8>)>,
}

impl State {
    /// A cluster of `opts.stores` stores (addresses filled in later) and one region
    /// covering the whole key space.
    pub fn new(opts: SimOptions) -> Self {
        let mut s = State {
            cluster_id: 0x5157_0000 + opts.seed % 0xffff,
            next_id: 1000,
            tso: (0, 0),
            stores: BTreeMap::new(),
            regions: BTreeMap::new(),
            operators: BTreeMap::new(),
            rng: StdRng::seed_from_u64(opts.seed),
            faults: Faults::default(),
            http: HttpState::default(),
            missed: Vec::new(),
            opts,
        };
        for id in 1..=s.opts.stores as u64 {
            let meta = metapb::Store {
                id,
                version: super::TIKV_VERSION.into(),
                ..Default::default()
            };
            s.stores.insert(
                id,
                StoreState {
                    meta,
                    mode: 0,
                    down: false,
                    delay: Default::default(),
                    data: StoreData::default(),
                },
            );
        }
        let replicas = s.opts.replicas.clamp(1, s.opts.stores.max(1)) as u64;
        let id = s.alloc_id();
        let peers = (1..=replicas)
            .map(|store_id| metapb::Peer {
                id: s.alloc_id(),
                store_id,
                ..Default::default()
            })
            .collect();
        let meta = metapb::Region {
            id,
            region_epoch: Some(metapb::RegionEpoch {
                conf_ver: 1,
                version: 1,
            }),
            peers,
            ..Default::default()
        };
        s.regions.insert(
            id,
            RegionState {
                meta,
                leader_store: 1,
            },
        );
        s
    }

    /// PD's AllocID: unique, increasing.
    pub fn alloc_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// PD's TSO: `count` timestamps, returning the largest; physical is wall-clock ms,
    /// logical counts within one millisecond, never going backwards.
    pub fn tso(&mut self, count: u32) -> (i64, i64) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let (p, l) = self.tso;
        self.tso = if now > p {
            (now, count as i64)
        } else {
            (p, l + count as i64)
        };
        self.tso
    }

    /// Regions sorted by start key.
    pub fn sorted_regions(&self) -> Vec<&RegionState> {
        let mut v: Vec<_> = self.regions.values().collect();
        v.sort_by(|a, b| a.meta.start_key.cmp(&b.meta.start_key));
        v
    }

    /// The region containing encoded `key`.
    pub fn region_by_key(&self, key: &[u8]) -> Option<&RegionState> {
        self.regions
            .values()
            .find(|r| in_range(key, &r.meta.start_key, &r.meta.end_key))
    }

    /// The region just before the one containing encoded `key`.
    pub fn prev_region(&self, key: &[u8]) -> Option<&RegionState> {
        let cur = self.region_by_key(key)?;
        self.regions
            .values()
            .find(|r| !r.meta.end_key.is_empty() && r.meta.end_key == cur.meta.start_key)
    }

    /// Splits region `id` at encoded `keys` (those strictly inside it), TiKV style:
    /// with `right-derive-when-split` (TiKV's default, raftstore config) the original id
    /// keeps the rightmost part, new ids go to the left parts, and every resulting region
    /// gets version = old version + number of new regions (raftstore exec_batch_split).
    /// Returns the resulting regions in key order.
    pub fn split(&mut self, id: u64, keys: &[Vec<u8>]) -> Vec<metapb::Region> {
        let Some(orig) = self.regions.get(&id).cloned() else {
            return Vec::new();
        };
        let (start, end) = (orig.meta.start_key.clone(), orig.meta.end_key.clone());
        let mut keys: Vec<Vec<u8>> = keys
            .iter()
            .filter(|k| **k > start && (end.is_empty() || **k < end))
            .cloned()
            .collect();
        keys.sort();
        keys.dedup();
        if keys.is_empty() {
            return vec![orig.meta];
        }
        let epoch = orig.epoch();
        let new_epoch = metapb::RegionEpoch {
            conf_ver: epoch.conf_ver,
            version: epoch.version + keys.len() as u64,
        };
        let mut bounds = vec![start];
        bounds.extend(keys.iter().cloned());
        bounds.push(end);
        let mut out = Vec::new();
        for (i, w) in bounds.windows(2).enumerate() {
            let last = i == bounds.len() - 2;
            let mut meta = orig.meta.clone();
            if !last {
                meta.id = self.alloc_id();
                for p in &mut meta.peers {
                    p.id = self.alloc_id();
                }
            }
            meta.start_key = w[0].clone();
            meta.end_key = w[1].clone();
            meta.region_epoch = Some(new_epoch);
            self.regions.insert(
                meta.id,
                RegionState {
                    meta: meta.clone(),
                    leader_store: orig.leader_store,
                },
            );
            out.push(meta);
        }
        out
    }

    /// Moves the leader of `region` to another peer (if it has one); returns the new leader.
    pub fn transfer_leader(&mut self, region: u64, to: Option<u64>) -> Option<metapb::Peer> {
        let r = self.regions.get_mut(&region)?;
        let target = to.or_else(|| {
            r.meta
                .peers
                .iter()
                .map(|p| p.store_id)
                .find(|s| *s != r.leader_store)
        })?;
        if r.meta.peers.iter().any(|p| p.store_id == target) {
            r.leader_store = target;
        }
        Some(r.leader())
    }

    /// Moves the region's peers onto `targets` (distinct store ids): each added peer
    /// gets the leader's committed data of the region (a raft snapshot), each removed
    /// peer's data is destroyed, and conf_ver grows by one per add and per remove (every
    /// conf change bumps it, raftstore exec_change_peer). The leader becomes `leader`
    /// if it is among the targets.
    pub fn move_peers(&mut self, region_id: u64, targets: &[u64], leader: u64) {
        let Some(r) = self.regions.get(&region_id).cloned() else {
            return;
        };
        let (start, end) = (r.meta.start_key.clone(), r.meta.end_key.clone());
        let current: Vec<u64> = r.meta.peers.iter().map(|p| p.store_id).collect();
        let added: Vec<u64> = targets
            .iter()
            .copied()
            .filter(|t| !current.contains(t))
            .collect();
        let removed: Vec<u64> = current
            .iter()
            .copied()
            .filter(|c| !targets.contains(c))
            .collect();
        let rows = self
            .stores
            .get(&r.leader_store)
            .map(|st| st.data.export_encoded(&start, &end))
            .unwrap_or_default();
        for s in &added {
            if let Some(st) = self.stores.get_mut(s) {
                st.data.install_encoded(&start, &end, rows.clone());
            }
        }
        for s in &removed {
            if let Some(st) = self.stores.get_mut(s) {
                st.data.remove_encoded(&start, &end);
            }
        }
        let mut peers: Vec<metapb::Peer> = r
            .meta
            .peers
            .iter()
            .filter(|p| targets.contains(&p.store_id))
            .copied()
            .collect();
        for s in added.iter().copied() {
            peers.push(metapb::Peer {
                id: self.alloc_id(),
                store_id: s,
                ..Default::default()
            });
        }
        let changes = (added.len() + removed.len()) as u64;
        if let Some(g) = self.regions.get_mut(&region_id) {
            g.meta.peers = peers;
            if let Some(e) = g.meta.region_epoch.as_mut() {
                e.conf_ver += changes;
            }
            if targets.contains(&leader) {
                g.leader_store = leader;
            } else if !targets.contains(&g.leader_store) {
                g.leader_store = targets[0];
            }
        }
    }

    /// The checks raftstore makes on a request's context before serving it on `store`
    /// (raftstore peer `pre_propose`/`check_store_id`, `util::check_req_region_epoch`):
    /// store id, region presence, leadership, then the epoch version (normal, non-admin
    /// commands check only `version`).
    pub fn check_context(
        &self,
        store: u64,
        region_id: u64,
        epoch: Option<metapb::RegionEpoch>,
        peer: Option<&metapb::Peer>,
    ) -> Result<&RegionState, errorpb::Error> {
        if let Some(p) = peer.filter(|p| p.store_id != 0 && p.store_id != store) {
            return Err(errorpb::Error {
                message: format!("store not match, request {} actual {}", p.store_id, store),
                store_not_match: Some(errorpb::StoreNotMatch {
                    request_store_id: p.store_id,
                    actual_store_id: store,
                }),
                ..Default::default()
            });
        }
        let Some(r) = self
            .regions
            .get(&region_id)
            .filter(|r| r.peer_on(store).is_some())
        else {
            return Err(region_not_found(region_id));
        };
        if r.leader_store != store {
            return Err(errorpb::Error {
                message: format!(
                    "peer is not leader for region {region_id}, leader may {:?}",
                    r.leader()
                ),
                not_leader: Some(errorpb::NotLeader {
                    region_id,
                    leader: Some(r.leader()),
                }),
                ..Default::default()
            });
        }
        let cur = r.epoch();
        // util::check_region_epoch: a request without an epoch is an error of its own.
        let Some(epoch) = epoch else {
            return Err(errorpb::Error {
                message: "missing epoch!".into(),
                ..Default::default()
            });
        };
        if epoch.version != cur.version {
            return Err(self.epoch_not_match(
                r,
                &format!("current epoch of region {region_id} is {cur:?}, but you sent {epoch:?}"),
            ));
        }
        Ok(r)
    }

    /// EpochNotMatch carrying the current region and its sibling: raftstore's peer fsm
    /// attaches the region that "might be split from the current region" (with right
    /// derive, the left neighbour) so the client can refresh both.
    pub fn epoch_not_match(&self, r: &RegionState, message: &str) -> errorpb::Error {
        let mut current = vec![r.meta.clone()];
        if let Some(sib) = self
            .regions
            .values()
            .find(|o| !o.meta.end_key.is_empty() && o.meta.end_key == r.meta.start_key)
        {
            current.push(sib.meta.clone());
        }
        errorpb::Error {
            message: format!("epoch_not_match {message}"),
            epoch_not_match: Some(errorpb::EpochNotMatch {
                current_regions: current,
            }),
            ..Default::default()
        }
    }

    /// Splits regions whose leader holds more than the configured size or keys, at
    /// their middle key (as TiKV's split checker does after data arrives).
    pub fn auto_split(&mut self, region_id: u64) {
        let mut work = vec![region_id];
        let mut budget = 256;
        while let Some(id) = work.pop() {
            budget -= 1;
            if budget == 0 {
                return;
            }
            let Some(r) = self.regions.get(&id) else {
                continue;
            };
            let Some(store) = self.stores.get(&r.leader_store) else {
                continue;
            };
            let (start, end) = (&r.meta.start_key, &r.meta.end_key);
            let (keys, bytes) = store.data.size(start, end);
            if keys < 2
                || (keys <= self.opts.region_split_keys && bytes <= self.opts.region_split_size)
            {
                continue;
            }
            let Some(mid) = store.data.middle_key(start, end, Some(keys)) else {
                continue;
            };
            let parts = self.split(id, &[mid]);
            if parts.len() > 1 {
                work.extend(parts.iter().map(|p| p.id));
            }
        }
    }
}

/// RegionNotFound as TiKV reports it.
pub fn region_not_found(region_id: u64) -> errorpb::Error {
    errorpb::Error {
        message: format!("region {region_id} not found"),
        region_not_found: Some(errorpb::RegionNotFound { region_id }),
        ..Default::default()
    }
}

/// ServerIsBusy as TiKV's import service reports it (src/import/ingest.rs check_write_stall).
pub fn server_is_busy() -> errorpb::Error {
    let reason = "too many sst files are ingesting".to_string();
    errorpb::Error {
        message: reason.clone(),
        server_is_busy: Some(errorpb::ServerIsBusy {
            reason,
            ..Default::default()
        }),
        ..Default::default()
    }
}
