//! A simulated PD + TiKV cluster speaking the real kvproto gRPC protocol, in process.
//!
//! [`SimCluster::start`] binds free loopback ports on the current tokio runtime: one
//! for PD (gRPC `pdpb.PD` and the `/pd/api/v1` HTTP API on the same port) and one per
//! store (gRPC `import_sstpb.ImportSST` and `tikvpb.Tikv`). All servers share one
//! state: regions covering the whole key space with epochs, peers and leaders; each
//! store's committed data and staged SST files. A physical import flows through it as
//! against TiKV: PD split/scatter -> Write on every peer (staged per store) -> Ingest on
//! the leader (visible on every replica that staged the file) -> coprocessor checksum.
//! Tests read the data back with [`SimCluster::scan`] and inject faults with
//! [`SimCluster::inject`].

// Region errors are protobuf messages handed back by value, as the RPCs return them;
// boxing them would only obscure a test double.
#![allow(clippy::result_large_err)]

mod data;
mod faults;
mod import;
mod pd;
mod pd_http;
mod pd_labels;
mod state;
mod tikv;

pub use data::Version;
pub use faults::{Fault, FaultRule, FaultSpecError, Step, Trigger};
pub use pd::SCATTER_DURATION;
pub use pd_http::parse_go_duration;
pub use state::encode_key;

use lightning_kvproto::import_sstpb::import_sst_server::ImportSstServer;
use lightning_kvproto::metapb;
use lightning_kvproto::pdpb::pd_server::PdServer;
use lightning_kvproto::tikvpb::tikv_server::TikvServer;
use state::State;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::Status;

/// The version the simulated PD and stores report.
pub const TIKV_VERSION: &str = "8.5.0";

/// Errors starting the cluster.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding a loopback port failed.
    #[error("binding a loopback port: {0}")]
    Bind(#[from] std::io::Error),
    /// The options make no cluster.
    #[error("invalid options: {0}")]
    Options(String),
}

/// How to build the cluster.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Number of stores (TiKV nodes).
    pub stores: usize,
    /// Replicas per region (capped at the number of stores).
    pub replicas: usize,
    /// A region whose leader holds more bytes than this splits after an ingest.
    pub region_split_size: u64,
    /// A region whose leader holds more keys than this splits after an ingest.
    pub region_split_keys: u64,
    /// Seed of the rng behind probabilistic faults and scatter.
    pub seed: u64,
    /// PD's loopback port; 0 picks a free one.
    pub pd_port: u16,
    /// Store `i` (from 0) listens on this port + `i`; 0 picks free ones.
    pub store_base_port: u16,
}

impl Default for SimOptions {
    fn default() -> Self {
        // TiKV's defaults: region-split-size 96 MiB, region-split-keys 960000.
        SimOptions {
            stores: 3,
            replicas: 3,
            region_split_size: 96 << 20,
            region_split_keys: 960_000,
            seed: 1,
            pd_port: 0,
            store_base_port: 0,
        }
    }
}

/// Where the cluster listens.
#[derive(Clone, Debug)]
pub struct SimAddrs {
    /// PD `host:port` (gRPC and HTTP).
    pub pd: String,
    /// `(store id, host:port)` of each store.
    pub stores: Vec<(u64, String)>,
}

/// State shared by every server of one cluster.
pub(crate) struct Shared {
    state: Mutex<State>,
    pd_addr: String,
}

impl Shared {
    /// Locks the state (never held across an await).
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, State>, Status> {
        self.state
            .lock()
            .map_err(|_| Status::internal("simulator state poisoned"))
    }

    /// Common entry of a store RPC: a down store is unavailable, a slow one waits; the
    /// fault that fires (if any) is returned for the handler to apply.
    pub(crate) async fn enter(&self, store: u64, step: Step) -> Result<Option<Fault>, Status> {
        let (down, delay, fault) = {
            let mut s = self.lock()?;
            let State {
                faults,
                rng,
                stores,
                ..
            } = &mut *s;
            let fault = faults.take(step, store, rng);
            let st = stores
                .get(&store)
                .ok_or_else(|| Status::internal("unknown store"))?;
            (st.down, st.delay, fault)
        };
        if down || fault == Some(Fault::StoreDown) {
            return Err(Status::unavailable(format!("store {store} is down")));
        }
        let extra = match &fault {
            Some(Fault::Slow(d)) => *d,
            _ => Duration::ZERO,
        };
        if !(delay + extra).is_zero() {
            tokio::time::sleep(delay + extra).await;
        }
        Ok(fault)
    }
}

/// A running simulated cluster; dropping it (or [`SimCluster::shutdown`]) frees its ports.
pub struct SimCluster {
    shared: Arc<Shared>,
    addrs: SimAddrs,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

async fn bind(port: u16) -> Result<(tokio::net::TcpListener, String), SimError> {
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = l.local_addr()?.to_string();
    Ok((l, addr))
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

impl SimCluster {
    /// Starts PD and the stores on loopback ports (free ones unless the options name them)
    /// of the current tokio runtime.
    pub async fn start(opts: SimOptions) -> Result<SimCluster, SimError> {
        if opts.stores == 0 {
            return Err(SimError::Options("at least one store".into()));
        }
        let (pd_listener, pd_addr) = bind(opts.pd_port).await?;
        let mut store_listeners = Vec::new();
        for i in 0..opts.stores {
            let port = match opts.store_base_port {
                0 => 0,
                base => u16::try_from(usize::from(base) + i)
                    .map_err(|_| SimError::Options("store ports past 65535".into()))?,
            };
            store_listeners.push(bind(port).await?);
        }
        let mut state = State::new(opts);
        for (st, (_, addr)) in state.stores.values_mut().zip(&store_listeners) {
            st.meta.address = addr.clone();
            st.meta.status_address = addr.clone();
            st.meta.labels = vec![metapb::StoreLabel {
                key: "host".into(),
                value: format!("sim-store-{}", st.meta.id),
            }];
        }
        let store_ids: Vec<u64> = state.stores.keys().copied().collect();
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            pd_addr: pd_addr.clone(),
        });
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();

        let routes = Routes::new(PdServer::new(pd::PdService {
            shared: shared.clone(),
        }))
        .into_axum_router()
        .merge(pd_http::router(shared.clone()));
        let pd_server = Server::builder()
            .accept_http1(true)
            .add_routes(Routes::from(routes));
        let rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let _ = pd_server
                .serve_with_incoming_shutdown(TcpListenerStream::new(pd_listener), stopped(rx))
                .await;
        }));

        let mut stores = Vec::new();
        for (id, (listener, addr)) in store_ids.into_iter().zip(store_listeners) {
            stores.push((id, addr));
            // TiKV's gRPC server takes messages of any size (`max_receive_message_len(-1)`):
            // a single 50 MB row makes a Write message that large.
            let server = Server::builder()
                .add_service(
                    ImportSstServer::new(import::ImportService {
                        shared: shared.clone(),
                        store: id,
                    })
                    .max_decoding_message_size(usize::MAX),
                )
                .add_service(
                    TikvServer::new(tikv::TikvService {
                        shared: shared.clone(),
                        store: id,
                    })
                    .max_decoding_message_size(usize::MAX),
                );
            let rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let _ = server
                    .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stopped(rx))
                    .await;
            }));
        }
        Ok(SimCluster {
            shared,
            addrs: SimAddrs {
                pd: pd_addr,
                stores,
            },
            stop,
            tasks,
        })
    }

    /// The PD and store addresses.
    pub fn addrs(&self) -> &SimAddrs {
        &self.addrs
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The lock is only poisoned if a test already panicked while holding it.
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cluster id PD reports.
    pub fn cluster_id(&self) -> u64 {
        self.state().cluster_id
    }

    /// Adds a fault rule.
    pub fn inject(&self, rule: FaultRule) {
        self.state().faults.add(rule);
    }

    /// Removes every fault rule (the record of fired faults stays).
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// `(step, store, fault)` of every fault that fired so far.
    pub fn fired_faults(&self) -> Vec<(Step, u64, Fault)> {
        self.state().faults.fired.clone()
    }

    /// Marks a store down (its RPCs fail with `Unavailable`) or up again.
    pub fn set_store_down(&self, store: u64, down: bool) {
        if let Some(st) = self.state().stores.get_mut(&store) {
            st.down = down;
        }
    }

    /// Delays every RPC of a store by `delay` (zero to stop).
    pub fn set_store_delay(&self, store: u64, delay: Duration) {
        if let Some(st) = self.state().stores.get_mut(&store) {
            st.delay = delay;
        }
    }

    /// Moves a region's leader to the peer on `store`; returns the leader peer after.
    pub fn transfer_leader(&self, region_id: u64, store: u64) -> Option<metapb::Peer> {
        self.state().transfer_leader(region_id, Some(store))
    }

    /// Splits the region containing raw `key` at it; returns the resulting regions.
    pub fn split_at(&self, raw_key: &[u8]) -> Vec<metapb::Region> {
        let key = encode_key(raw_key);
        let mut s = self.state();
        let Some(id) = s.region_by_key(&key).map(|r| r.meta.id) else {
            return Vec::new();
        };
        s.split(id, &[key])
    }

    /// Commits raw `pairs` as one transaction, as TiDB's own writes (an `INSERT` through the
    /// SQL face) would: at a fresh commit ts from the TSO, on every replica of each key's
    /// region.
    pub fn commit_pairs(&self, pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        let mut s = self.state();
        let (physical, logical) = s.tso(1);
        let ts = ((physical as u64) << 18) | logical as u64;
        for (k, v) in pairs {
            let stores: Vec<u64> = s
                .region_by_key(&encode_key(&k))
                .ok_or_else(|| format!("no region holds key {k:02X?}"))?
                .meta
                .peers
                .iter()
                .map(|p| p.store_id)
                .collect();
            for id in stores {
                if let Some(st) = s.stores.get_mut(&id) {
                    st.data.put(k.clone(), Some(v.clone()), ts);
                }
            }
        }
        Ok(())
    }

    /// Every region in key order with its leader peer.
    pub fn regions(&self) -> Vec<(metapb::Region, metapb::Peer)> {
        self.state()
            .sorted_regions()
            .into_iter()
            .map(|r| (r.meta.clone(), r.leader()))
            .collect()
    }

    /// Committed (raw key, value) pairs in raw `[start, end)` (empty end = unbounded),
    /// each region read from its leader, in key order.
    pub fn scan(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let s = self.state();
        let mut out = Vec::new();
        for r in s.sorted_regions() {
            let Some(st) = s.stores.get(&r.leader_store) else {
                continue;
            };
            out.extend(
                st.data
                    .scan_encoded(&r.meta.start_key, &r.meta.end_key)
                    .into_iter()
                    .filter(|(k, _)| {
                        k.as_slice() >= start && (end.is_empty() || k.as_slice() < end)
                    }),
            );
        }
        out
    }

    /// What the TiDB face reads for ADMIN CHECKSUM / COUNT(*): same as [`Self::scan`].
    pub fn snapshot_scan(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.scan(start, end)
    }

    /// Committed pairs of ONE store in raw `[start, end)`, to compare replicas.
    pub fn store_scan(&self, store: u64, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.state()
            .stores
            .get(&store)
            .map(|st| st.data.scan(start, end, u64::MAX))
            .unwrap_or_default()
    }

    /// `(store, region, sst uuid)` of each replica that lacked a file its leader ingested.
    pub fn missed_ingests(&self) -> Vec<(u64, u64, Vec<u8>)> {
        self.state().missed.clone()
    }

    /// Number of SST files staged (written, not yet ingested) on a store.
    pub fn staged_files(&self, store: u64) -> usize {
        self.state()
            .stores
            .get(&store)
            .map_or(0, |st| st.data.staged_count())
    }

    /// A store's import mode (`import_sstpb.SwitchMode` as i32).
    pub fn store_mode(&self, store: u64) -> i32 {
        self.state().stores.get(&store).map_or(0, |st| st.mode)
    }

    /// Names of the PD schedulers paused now.
    pub fn paused_schedulers(&self) -> Vec<String> {
        let mut s = self.state();
        s.http.expire(std::time::Instant::now());
        s.http.paused()
    }

    /// Ids of the region-label rules alive now.
    pub fn label_rules(&self) -> Vec<String> {
        let mut s = self.state();
        s.http.expire(std::time::Instant::now());
        s.http.rules.keys().cloned().collect()
    }

    /// PD's effective schedule config (persistent plus unexpired temporary values).
    pub fn schedule_config(&self) -> serde_json::Value {
        let mut s = self.state();
        s.http.expire(std::time::Instant::now());
        s.http.effective_schedule()
    }

    /// Stops every server and waits (briefly) for them to release their ports.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let abort = t.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), t)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}
