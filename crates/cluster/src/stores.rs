//! gRPC channels to the TiKV stores, by store id, with addresses from PD.

use crate::error::{ClusterError, Result};
use crate::pd::PdClient;
use lightning_kvproto::import_sstpb::import_sst_client::ImportSstClient;
use lightning_kvproto::metapb;
use lightning_kvproto::tikvpb::tikv_client::TikvClient;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tonic::transport::Channel;

/// One store's connection.
#[derive(Clone)]
pub struct StoreConn {
    /// The store id.
    pub id: u64,
    /// Its gRPC address.
    pub addr: String,
    channel: Channel,
}

impl StoreConn {
    /// Its ImportSST service.
    pub fn import(&self) -> ImportSstClient<Channel> {
        ImportSstClient::new(self.channel.clone())
    }

    /// Its Tikv service.
    pub fn tikv(&self) -> TikvClient<Channel> {
        TikvClient::new(self.channel.clone())
    }

    /// Wraps a failed RPC of this store.
    pub fn error(&self, op: &'static str, status: tonic::Status) -> ClusterError {
        ClusterError::StoreRpc {
            store_id: self.id,
            addr: self.addr.clone(),
            op,
            status: Box::new(status),
        }
    }
}

/// Store connections, made on first use and kept.
#[derive(Clone)]
pub struct Stores {
    pd: PdClient,
    conns: Arc<Mutex<HashMap<u64, StoreConn>>>,
}

impl Stores {
    /// An empty cache over `pd`.
    pub fn new(pd: PdClient) -> Self {
        Stores {
            pd,
            conns: Arc::default(),
        }
    }

    fn cached(&self, id: u64) -> Option<StoreConn> {
        self.conns.lock().ok()?.get(&id).cloned()
    }

    /// The connection to a store known from PD's store list.
    pub fn conn_for(&self, store: &metapb::Store) -> Result<StoreConn> {
        if let Some(c) = self.cached(store.id).filter(|c| c.addr == store.address) {
            return Ok(c);
        }
        let channel = self.pd.transport().endpoint(&store.address)?.connect_lazy();
        let c = StoreConn {
            id: store.id,
            addr: store.address.clone(),
            channel,
        };
        if let Ok(mut m) = self.conns.lock() {
            m.insert(store.id, c.clone());
        }
        Ok(c)
    }

    /// The connection to store `id` (address asked from PD the first time).
    pub async fn conn(&self, id: u64) -> Result<StoreConn> {
        if let Some(c) = self.cached(id) {
            return Ok(c);
        }
        let store = self.pd.get_store(id).await?;
        self.conn_for(&store)
    }
}
