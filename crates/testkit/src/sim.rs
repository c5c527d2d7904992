//! The whole simulated cluster as one fixture: PD + TiKV stores ([`SimCluster`]) and
//! TiDB's SQL face ([`SimTidb`]) reading the stores' data, so that `tidb-lightning`
//! can be pointed at it like at a real cluster. The `lightning-test-cluster` binary
//! runs one of these until it is signalled.

use crate::cluster::{SimCluster, SimError, SimOptions};
use crate::tidb::{KvSource, SimTidb, SimTidbError, SimTidbOptions};
use std::sync::Arc;

/// How to build a [`TestCluster`].
#[derive(Clone, Debug, Default)]
pub struct TestClusterOptions {
    /// PD and stores.
    pub cluster: SimOptions,
    /// TiDB's SQL and status ports and what it reports (its PD/TiKV lists are filled in).
    pub tidb: SimTidbOptions,
}

/// Errors starting a [`TestCluster`].
#[derive(Debug, thiserror::Error)]
pub enum TestClusterError {
    /// PD or a store did not start.
    #[error("simulated PD/TiKV: {0}")]
    Cluster(#[from] SimError),
    /// The TiDB face did not start.
    #[error("simulated TiDB: {0}")]
    Tidb(#[from] SimTidbError),
    /// The runtime of an [`OwnedCluster`] did not start.
    #[error("tokio runtime: {0}")]
    Runtime(String),
}

/// A running PD + TiKV + TiDB simulation; dropping it frees every port.
pub struct TestCluster {
    // Declared first: the TiDB face stops before the stores it reads.
    tidb: Option<SimTidb>,
    cluster: Arc<SimCluster>,
}

/// The cluster's committed data, as TiDB's coprocessor reads it (each region's leader).
struct ClusterKv(Arc<SimCluster>);

impl KvSource for ClusterKv {
    fn scan(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.0.snapshot_scan(start, end)
    }

    fn commit(&self, pairs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), String> {
        self.0.commit_pairs(pairs)
    }
}

impl TestCluster {
    /// Starts PD and the stores on the current tokio runtime, then TiDB on its own thread.
    pub async fn start(opts: TestClusterOptions) -> Result<Self, TestClusterError> {
        let cluster = Arc::new(SimCluster::start(opts.cluster).await?);
        let mut tidb_opts = opts.tidb;
        tidb_opts.pd_addrs = vec![cluster.addrs().pd.clone()];
        tidb_opts.tikv_addrs = cluster
            .addrs()
            .stores
            .iter()
            .map(|(_, a)| a.clone())
            .collect();
        let tidb = SimTidb::start(tidb_opts, Arc::new(ClusterKv(cluster.clone())))?;
        Ok(TestCluster {
            tidb: Some(tidb),
            cluster,
        })
    }

    /// PD and the stores.
    pub fn cluster(&self) -> &SimCluster {
        &self.cluster
    }

    /// TiDB's SQL face.
    pub fn tidb(&self) -> &SimTidb {
        self.tidb.as_ref().expect("TiDB runs until shutdown")
    }

    /// The addresses as the binary prints them: `{"pd", "tidb", "tidb_status", "stores"}`.
    pub fn addrs_json(&self) -> serde_json::Value {
        let a = self.cluster.addrs();
        serde_json::json!({
            "pd": a.pd,
            "tidb": self.tidb().addr().to_string(),
            "tidb_status": self.tidb().status_addr().to_string(),
            "stores": a.stores.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>(),
        })
    }

    /// Stops TiDB, then PD and the stores, and waits until their ports are free.
    pub async fn shutdown(mut self) {
        if let Some(t) = self.tidb.take() {
            t.shutdown();
        }
        match Arc::try_unwrap(self.cluster) {
            Ok(c) => c.shutdown().await,
            Err(shared) => drop(shared),
        }
    }
}

/// A [`TestCluster`] on a runtime of its own, for synchronous tests (a test per case, each
/// driving the real binary): started by [`OwnedCluster::start`], shut down on drop.
pub struct OwnedCluster {
    tc: Option<TestCluster>,
    rt: tokio::runtime::Runtime,
}

impl OwnedCluster {
    /// Starts a cluster with `opts` on a new two-thread runtime.
    pub fn start(opts: TestClusterOptions) -> Result<Self, TestClusterError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| TestClusterError::Runtime(e.to_string()))?;
        let tc = rt.block_on(TestCluster::start(opts))?;
        Ok(OwnedCluster { tc: Some(tc), rt })
    }

    /// The running cluster.
    pub fn tc(&self) -> &TestCluster {
        self.tc.as_ref().expect("running until drop")
    }
}

impl Drop for OwnedCluster {
    fn drop(&mut self) {
        if let Some(tc) = self.tc.take() {
            self.rt.block_on(tc.shutdown());
        }
    }
}
