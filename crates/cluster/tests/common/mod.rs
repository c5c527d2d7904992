//! Shared fixtures: a simulated cluster with small regions, a client with fast
//! retries, and seeded TiDB-like pairs.
#![allow(dead_code)]

use lightning_cluster::{Cluster, ClusterOptions, KeyRange, RetryPolicy, Transport};
use lightning_encode::KvChecksum;
use lightning_testkit::cluster::{encode_key, SimCluster, SimOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// Three stores, three replicas, regions that split by themselves past 64 keys.
pub fn small_regions() -> SimOptions {
    SimOptions {
        region_split_keys: 64,
        region_split_size: 16 << 10,
        ..Default::default()
    }
}

pub async fn sim(opts: SimOptions) -> SimCluster {
    SimCluster::start(opts).await.expect("start sim")
}

/// Options for tests: small Write batches, fast and plentiful retries.
pub fn fast_options() -> ClusterOptions {
    ClusterOptions {
        send_kv_size: 512,
        range_concurrency: 4,
        region_split_keys: 100,
        region_split_size: 32 << 10,
        region_split_batch_size: 16,
        region_split_concurrency: 2,
        scatter_wait: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 40,
            base: Duration::from_millis(5),
            max: Duration::from_millis(50),
        },
        ..Default::default()
    }
}

pub async fn connect(sim: &SimCluster) -> Cluster {
    connect_with(sim, fast_options()).await
}

pub async fn connect_with(sim: &SimCluster, opts: ClusterOptions) -> Cluster {
    Cluster::connect(&[sim.addrs().pd.clone()], Transport::plain(), opts)
        .await
        .expect("connect")
}

/// Record key of TiDB's `t{table}_r{handle}` (int handle, comparable encoding).
pub fn record_key(table: i64, handle: i64) -> Vec<u8> {
    let mut k = b"t".to_vec();
    k.extend_from_slice(&((table as u64) ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(b"_r");
    k.extend_from_slice(&((handle as u64) ^ (1 << 63)).to_be_bytes());
    k
}

/// The raw key range of table `table`'s records.
pub fn table_range(table: i64) -> KeyRange {
    let mut start = b"t".to_vec();
    start.extend_from_slice(&((table as u64) ^ (1 << 63)).to_be_bytes());
    start.extend_from_slice(b"_r");
    let mut end = b"t".to_vec();
    end.extend_from_slice(&((table as u64) ^ (1 << 63)).to_be_bytes());
    end.extend_from_slice(b"_s");
    KeyRange { start, end }
}

/// `n` sorted pairs of table `table` with seeded handles (gaps) and values of seeded
/// lengths, some longer than TiKV's short-value limit.
pub fn seeded_pairs(table: i64, n: usize, seed: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut handle = 0i64;
    (0..n)
        .map(|_| {
            handle += rng.random_range(1..5);
            let len = if rng.random_bool(0.05) {
                rng.random_range(256..600)
            } else {
                rng.random_range(1..64)
            };
            let value = (0..len).map(|_| rng.random()).collect();
            (record_key(table, handle), value)
        })
        .collect()
}

pub fn checksum_of(pairs: &[(Vec<u8>, Vec<u8>)]) -> KvChecksum {
    let mut c = KvChecksum::new();
    for (k, v) in pairs {
        c.update(k, v);
    }
    c
}

/// Every region boundary of the sim, as raw-key-encoded starts.
pub fn region_starts(sim: &SimCluster) -> Vec<Vec<u8>> {
    sim.regions()
        .into_iter()
        .map(|(r, _)| r.start_key)
        .collect()
}

/// Asserts the committed data of `range` equals `pairs`, on the leaders and on
/// every replica of every region.
pub fn assert_data(sim: &SimCluster, range: &KeyRange, pairs: &[(Vec<u8>, Vec<u8>)]) {
    let got = sim.scan(&range.start, &range.end);
    assert_eq!(got.len(), pairs.len(), "pair count");
    assert!(got == pairs, "cluster data differs from the input");
    for (region, _) in sim.regions() {
        for p in &region.peers {
            let mine: Vec<_> = sim
                .store_scan(p.store_id, &range.start, &range.end)
                .into_iter()
                .filter(|(k, _)| {
                    let e = encode_key(k);
                    e >= region.start_key && (region.end_key.is_empty() || e < region.end_key)
                })
                .collect();
            let want: Vec<_> = pairs
                .iter()
                .filter(|(k, _)| {
                    let e = encode_key(k);
                    e >= region.start_key && (region.end_key.is_empty() || e < region.end_key)
                })
                .cloned()
                .collect();
            assert!(
                mine == want,
                "replica on store {} of region {}",
                p.store_id,
                region.id
            );
        }
    }
}
