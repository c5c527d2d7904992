//! Plain gRPC/HTTP client helpers for the simulated-cluster tests.
#![allow(dead_code)]

use lightning_kvproto::import_sstpb::{
    self, import_sst_client::ImportSstClient, write_request::Chunk,
};
use lightning_kvproto::pdpb::pd_client::PdClient;
use lightning_kvproto::tikvpb::tikv_client::TikvClient;
use lightning_kvproto::{kvrpcpb, metapb};
use lightning_testkit::cluster::{encode_key, SimCluster, SimOptions};
use std::io::{Read, Write};
use tonic::transport::Channel;

pub async fn cluster() -> SimCluster {
    SimCluster::start(SimOptions::default())
        .await
        .expect("start cluster")
}

pub async fn pd(c: &SimCluster) -> PdClient<Channel> {
    PdClient::connect(format!("http://{}", c.addrs().pd))
        .await
        .expect("connect pd")
}

pub fn store_addr(c: &SimCluster, store: u64) -> String {
    let (_, a) = c
        .addrs()
        .stores
        .iter()
        .find(|(id, _)| *id == store)
        .expect("store");
    format!("http://{a}")
}

pub async fn import(c: &SimCluster, store: u64) -> ImportSstClient<Channel> {
    ImportSstClient::connect(store_addr(c, store))
        .await
        .expect("connect import")
}

pub async fn tikv(c: &SimCluster, store: u64) -> TikvClient<Channel> {
    TikvClient::connect(store_addr(c, store))
        .await
        .expect("connect tikv")
}

/// The region containing raw `key` and its leader, straight from the cluster.
pub fn region_of(c: &SimCluster, key: &[u8]) -> (metapb::Region, metapb::Peer) {
    let k = encode_key(key);
    c.regions()
        .into_iter()
        .find(|(r, _)| k >= r.start_key && (r.end_key.is_empty() || k < r.end_key))
        .expect("region")
}

pub fn ctx(region: &metapb::Region, peer: &metapb::Peer) -> kvrpcpb::Context {
    kvrpcpb::Context {
        region_id: region.id,
        region_epoch: region.region_epoch,
        peer: Some(*peer),
        ..Default::default()
    }
}

/// An SST meta for `pairs` (sorted raw keys) aimed at `region`, range in encoded keys.
pub fn sst_meta(
    uuid: u8,
    region: &metapb::Region,
    pairs: &[(Vec<u8>, Vec<u8>)],
) -> import_sstpb::SstMeta {
    let first = pairs.first().map(|p| encode_key(&p.0)).unwrap_or_default();
    let last = pairs.last().map(|p| encode_key(&p.0)).unwrap_or_default();
    import_sstpb::SstMeta {
        uuid: vec![uuid; 16],
        range: Some(import_sstpb::Range {
            start: first,
            end: last,
        }),
        region_id: region.id,
        region_epoch: region.region_epoch,
        ..Default::default()
    }
}

/// Writes `pairs` at `commit_ts` in one stream to `store`.
pub async fn write(
    c: &SimCluster,
    store: u64,
    meta: &import_sstpb::SstMeta,
    pairs: &[(Vec<u8>, Vec<u8>)],
    commit_ts: u64,
) -> Result<import_sstpb::WriteResponse, tonic::Status> {
    let batch = import_sstpb::WriteBatch {
        commit_ts,
        pairs: pairs
            .iter()
            .map(|(k, v)| import_sstpb::Pair {
                key: k.clone(),
                value: v.clone(),
                op: 0,
            })
            .collect(),
    };
    let reqs = vec![
        import_sstpb::WriteRequest {
            chunk: Some(Chunk::Meta(meta.clone())),
            context: None,
        },
        import_sstpb::WriteRequest {
            chunk: Some(Chunk::Batch(batch)),
            context: None,
        },
    ];
    import(c, store)
        .await
        .write(tokio_stream::iter(reqs))
        .await
        .map(|r| r.into_inner())
}

/// Writes on every peer of the region and returns the leader's metas.
pub async fn write_all_peers(
    c: &SimCluster,
    region: &metapb::Region,
    leader: &metapb::Peer,
    meta: &import_sstpb::SstMeta,
    pairs: &[(Vec<u8>, Vec<u8>)],
    ts: u64,
) -> Vec<import_sstpb::SstMeta> {
    let mut metas = Vec::new();
    for p in &region.peers {
        let resp = write(c, p.store_id, meta, pairs, ts).await.expect("write");
        assert!(resp.error.is_none(), "write error {:?}", resp.error);
        if p.store_id == leader.store_id {
            metas = resp.metas;
        }
    }
    metas
}

pub async fn multi_ingest(
    c: &SimCluster,
    store: u64,
    ctx: kvrpcpb::Context,
    ssts: Vec<import_sstpb::SstMeta>,
) -> Option<lightning_kvproto::errorpb::Error> {
    import(c, store)
        .await
        .multi_ingest(import_sstpb::MultiIngestRequest {
            context: Some(ctx),
            ssts,
        })
        .await
        .expect("multi ingest rpc")
        .into_inner()
        .error
}

pub fn kvs(prefix: &str, n: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}{i:04}").into_bytes(),
                format!("value-{i}").into_bytes(),
            )
        })
        .collect()
}

/// A minimal HTTP/1.1 request; returns (status, body).
pub fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect http");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|x| x.parse().ok())
        .expect("status");
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, dechunk(&body))
}

fn dechunk(body: &str) -> String {
    // Bodies may come chunked; join the chunks when they do.
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((len, tail)) = rest.split_once("\r\n") else {
            return body.to_string();
        };
        let Ok(n) = usize::from_str_radix(len.trim(), 16) else {
            return body.to_string();
        };
        if n == 0 {
            return out;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
}
