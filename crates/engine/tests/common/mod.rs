//! Shared helpers of the engine's integration tests: tiny-budget options, seeded data
//! and a reference model (a map keeping, per key, the pair with the highest sequence).
#![allow(dead_code)]

use lightning_engine::{ClosedEngine, DuplicateMode, EngineOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// Options small enough that a few thousand pairs spill many runs and need compaction.
pub fn tiny(mode: DuplicateMode) -> EngineOptions {
    EngineOptions {
        engine_mem_cache_size: 64 << 10,
        local_writer_mem_cache_size: 16 << 10,
        duplicate_mode: mode,
        block_size: 512,
        max_merge_fan_in: 4,
        max_reported_duplicates: 16,
    }
}

/// A seeded generator.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A TiDB-like record key `t{table}_r{handle}`.
pub fn record_key(table: i64, handle: i64) -> Vec<u8> {
    let mut k = b"t".to_vec();
    k.extend_from_slice(&((table as u64) ^ (1 << 63)).to_be_bytes());
    k.extend_from_slice(b"_r");
    k.extend_from_slice(&((handle as u64) ^ (1 << 63)).to_be_bytes());
    k
}

/// A random value of `len` bytes.
pub fn value(r: &mut StdRng, len: usize) -> Vec<u8> {
    (0..len).map(|_| r.random()).collect()
}

/// Reference model: per key the (seq, value) with the highest seq.
#[derive(Default)]
pub struct Model {
    pub map: BTreeMap<Vec<u8>, (u64, Vec<u8>)>,
    pub written: u64,
}

impl Model {
    pub fn put(&mut self, k: &[u8], v: &[u8], seq: u64) {
        self.written += 1;
        let e = self.map.entry(k.to_vec()).or_insert((seq, v.to_vec()));
        if seq >= e.0 {
            *e = (seq, v.to_vec());
        }
    }

    pub fn pairs(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.map
            .iter()
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect()
    }
}

/// Every pair of a closed engine, in order.
pub fn all(e: &ClosedEngine) -> Vec<(Vec<u8>, Vec<u8>)> {
    e.iter().collect::<Result<_, _>>().unwrap()
}

/// Random keys with a shared prefix, some repeated: `(key, value, seq)`, distinct seqs.
pub fn random_pairs(seed: u64, n: usize, key_space: i64) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
    let mut r = rng(seed);
    (0..n)
        .map(|i| {
            let k = record_key(42, r.random_range(0..key_space));
            let len = r.random_range(0..64);
            (k, value(&mut r, len), i as u64)
        })
        .collect()
}
