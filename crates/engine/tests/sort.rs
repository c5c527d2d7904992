//! Sorting: spilling under a tiny budget gives the same output as an in-memory sort;
//! many writers at once; the memory budget holds.

mod common;

use common::*;
use lightning_encode::KvChecksum;
use lightning_engine::{DuplicateMode, EngineManager, EngineOptions};
use proptest::prelude::*;
use std::sync::Arc;
use uuid::Uuid;

#[test]
fn spilled_runs_merge_to_the_in_memory_sort() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(1)).unwrap();
    let mut w = engine.writer().unwrap();
    let mut model = Model::default();
    // Keys drawn from a space smaller than the pair count: many repeats across runs.
    for (k, v, seq) in random_pairs(7, 20_000, 15_000) {
        w.put(&k, &v, seq).unwrap();
        model.put(&k, &v, seq);
    }
    // The budget forced many runs.
    assert!(engine.disk_size() > 0, "nothing spilled");
    w.close().unwrap();
    // Many more runs than the fan-in of 4: close has to compact before the final merge.
    let runs = |dir: &std::path::Path| {
        std::fs::read_dir(dir.join(Uuid::from_u128(1).to_string()))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".run")
            })
            .count()
    };
    assert!(runs(dir.path()) > 16, "only {} runs", runs(dir.path()));
    let closed = engine.close().unwrap();
    // One segment per key range merged apart (one per CPU, up to 8).
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let segments = runs(dir.path());
    assert!((1..=cpus.min(8)).contains(&segments), "{segments} segments");
    let got = all(&closed);
    assert_eq!(got, model.pairs());
    assert_eq!(closed.total_kvs(), model.map.len() as u64);
    let mut want = KvChecksum::new();
    for (k, v) in &got {
        want.update(k, v);
    }
    assert_eq!(closed.checksum().unwrap(), want);
    assert_eq!(closed.total_size(), want.bytes);
}

#[test]
fn empty_engine_closes_to_no_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), EngineOptions::default()).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(2)).unwrap();
    engine.writer().unwrap().close().unwrap();
    let closed = engine.close().unwrap();
    assert_eq!(closed.total_kvs(), 0);
    assert!(closed.split_ranges(1, 1).unwrap().is_empty());
    assert!(all(&closed).is_empty());
}

#[test]
fn many_concurrent_writers_with_overlapping_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(3)).unwrap();
    let threads = 6;
    let per = 4_000;
    let data: Vec<_> = (0..threads)
        .map(|t| {
            // Distinct seqs across threads: seq = i * threads + t.
            random_pairs(100 + t as u64, per, 10_000)
                .into_iter()
                .map(|(k, v, s)| (k, v, s * threads as u64 + t as u64))
                .collect::<Vec<_>>()
        })
        .collect();
    let data = Arc::new(data);
    let max_mem = Arc::new(std::sync::atomic::AtomicU64::new(0));
    std::thread::scope(|s| {
        for t in 0..threads {
            let (engine, data, max_mem) = (engine.clone(), data.clone(), max_mem.clone());
            s.spawn(move || {
                let mut w = engine.writer().unwrap();
                for (i, (k, v, seq)) in data[t].iter().enumerate() {
                    w.put(k, v, *seq).unwrap();
                    max_mem.fetch_max(engine.mem_size(), std::sync::atomic::Ordering::Relaxed);
                    if i % 1000 == 999 {
                        w.flush().unwrap();
                    }
                }
                w.close().unwrap();
            });
        }
    });
    assert_eq!(engine.mem_size(), 0, "closed writers hold no memory");
    let opts = tiny(DuplicateMode::None);
    // Over budget only by what writers with empty buffers force: one chunk + slots each.
    let slack = threads as u64 * (4096 + 64 * 40 + 128);
    let peak = max_mem.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        peak <= opts.engine_mem_cache_size as u64 + slack,
        "peak {peak}"
    );
    let mut model = Model::default();
    for (k, v, seq) in data.iter().flatten() {
        model.put(k, v, *seq);
    }
    let closed = engine.close().unwrap();
    assert_eq!(all(&closed), model.pairs());
}

#[test]
fn writers_block_close_and_closed_engines_refuse_writers() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), EngineOptions::default()).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(4)).unwrap();
    let mut w = engine.writer().unwrap();
    w.put(b"k", b"v", 0).unwrap();
    assert!(matches!(
        engine.close(),
        Err(lightning_engine::EngineError::WritersOpen { writers: 1, .. })
    ));
    w.close().unwrap();
    let c1 = engine.close().unwrap();
    let c2 = engine.close().unwrap();
    assert_eq!(all(&c1), all(&c2));
    assert!(matches!(
        engine.writer(),
        Err(lightning_engine::EngineError::Closed { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Arbitrary keys (short, from a tiny alphabet so prefixes and repeats are common),
    /// written by two writers under a tiny budget, read back as a sorted, deduplicated map.
    #[test]
    fn prop_engine_equals_btreemap(
        pairs in prop::collection::vec(
            (prop::collection::vec(0u8..4, 0..12), prop::collection::vec(any::<u8>(), 0..40), any::<bool>()),
            0..600,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = tiny(DuplicateMode::None);
        opts.local_writer_mem_cache_size = 4096;
        opts.block_size = 64;
        let mgr = EngineManager::new(dir.path(), opts).unwrap();
        let engine = mgr.open_engine(Uuid::from_u128(5)).unwrap();
        let mut w = [engine.writer().unwrap(), engine.writer().unwrap()];
        let mut model = Model::default();
        for (i, (k, v, second)) in pairs.iter().enumerate() {
            w[usize::from(*second)].put(k, v, i as u64).unwrap();
            model.put(k, v, i as u64);
        }
        for w in w {
            w.close().unwrap();
        }
        let closed = engine.close().unwrap();
        prop_assert_eq!(all(&closed), model.pairs());
        let ranges = closed.split_ranges(100, 7).unwrap();
        let mut joined = Vec::new();
        for r in &ranges {
            prop_assert!(r.kvs <= 7 && (r.bytes <= 100 || r.kvs == 1));
            joined.extend(closed.iter_range(r).map(Result::unwrap));
        }
        prop_assert_eq!(joined, model.pairs());
    }
}
