//! Range split: ranges cover every key exactly once, in order, and each respects both
//! limits; a pair bigger than the size limit is a range of its own.

mod common;

use common::*;
use lightning_engine::{ClosedEngine, DuplicateMode, EngineManager, KeyRange};
use rand::Rng;
use uuid::Uuid;

fn engine_with(dir: &std::path::Path, pairs: &[(Vec<u8>, Vec<u8>)]) -> ClosedEngine {
    let mgr = EngineManager::new(dir, tiny(DuplicateMode::None)).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(9)).unwrap();
    let mut w = engine.writer().unwrap();
    w.append_iter(pairs.iter().map(|(k, v)| (k, v)), 0).unwrap();
    w.close().unwrap();
    engine.close().unwrap()
}

fn check(closed: &ClosedEngine, ranges: &[KeyRange], max_size: u64, max_keys: u64) {
    let everything = all(closed);
    let mut joined = Vec::new();
    for (i, r) in ranges.iter().enumerate() {
        assert!(r.start < r.end, "range {i} empty");
        if i > 0 {
            assert_eq!(ranges[i - 1].end, r.start, "ranges {i} not contiguous");
        }
        assert!(r.kvs >= 1 && r.kvs <= max_keys, "range {i}: {} keys", r.kvs);
        assert!(
            r.bytes <= max_size || r.kvs == 1,
            "range {i}: {} bytes",
            r.bytes
        );
        let got: Vec<_> = closed.iter_range(r).collect::<Result<_, _>>().unwrap();
        assert_eq!(got.len() as u64, r.kvs);
        assert_eq!(
            got.iter()
                .map(|(k, v)| (k.len() + v.len()) as u64)
                .sum::<u64>(),
            r.bytes
        );
        assert_eq!(got.first().map(|p| &p.0), Some(&r.start));
        // Greedy: the next range's first pair would not have fit.
        if let Some(next) = ranges.get(i + 1) {
            let first = closed.iter_range(next).next().unwrap().unwrap();
            let size = (first.0.len() + first.1.len()) as u64;
            assert!(
                r.kvs == max_keys || r.bytes + size > max_size,
                "range {i} cut early"
            );
        }
        joined.extend(got);
    }
    assert_eq!(joined, everything, "ranges cover every pair exactly once");
    assert!(ranges
        .last()
        .is_some_and(|r| r.end.as_slice() > everything.last().unwrap().0.as_slice()));
}

#[test]
fn ranges_respect_both_limits_and_cover_everything_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = rng(21);
    let pairs: Vec<_> = (0..6000)
        .map(|h| {
            let len = r.random_range(0..300);
            (record_key(3, h * 2), value(&mut r, len))
        })
        .collect();
    let closed = engine_with(dir.path(), &pairs);
    for (size, keys) in [
        (4096, 1_000_000),
        (1 << 40, 97),
        (20_000, 50),
        (1, 1),
        (1 << 40, 1 << 40),
        (0, 0),
    ] {
        let ranges = closed.split_ranges(size, keys).unwrap();
        let (size, keys) = (
            if size == 0 { u64::MAX } else { size },
            if keys == 0 { u64::MAX } else { keys },
        );
        check(&closed, &ranges, size, keys);
        assert_eq!(
            ranges.iter().map(|r| r.kvs).sum::<u64>(),
            closed.total_kvs()
        );
    }
    assert_eq!(closed.split_ranges(1 << 40, 1 << 40).unwrap().len(), 1);
    assert_eq!(closed.split_ranges(1, 1).unwrap().len(), 6000);
    assert_eq!(
        closed.split_ranges(0, 97).unwrap().len(),
        6000usize.div_ceil(97)
    );
}

#[test]
fn an_oversized_pair_is_its_own_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut pairs: Vec<_> = (0..100)
        .map(|h| (record_key(1, h), vec![1u8; 10]))
        .collect();
    pairs[50].1 = vec![2u8; 5000];
    let closed = engine_with(dir.path(), &pairs);
    let ranges = closed.split_ranges(1000, 1000).unwrap();
    check(&closed, &ranges, 1000, 1000);
    let big: Vec<_> = ranges.iter().filter(|r| r.bytes > 1000).collect();
    assert_eq!(big.len(), 1);
    assert_eq!((big[0].kvs, &big[0].start), (1, &record_key(1, 50)));
}

#[test]
fn iter_range_with_arbitrary_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let pairs: Vec<_> = (0..3000)
        .map(|h| (record_key(1, h * 3), h.to_le_bytes().to_vec()))
        .collect();
    let closed = engine_with(dir.path(), &pairs);
    // Bounds between keys, before the first and after the last.
    for (lo, hi) in [
        (-5, 10),
        (1, 2),
        (299, 4000),
        (7, 8),
        (8999, 9000),
        (9001, 10000),
    ] {
        let range = KeyRange {
            start: record_key(1, lo),
            end: record_key(1, hi),
            kvs: 0,
            bytes: 0,
        };
        let got: Vec<_> = closed.iter_range(&range).collect::<Result<_, _>>().unwrap();
        let want: Vec<_> = pairs
            .iter()
            .filter(|(k, _)| *k >= range.start && *k < range.end)
            .cloned()
            .collect();
        assert_eq!(got, want, "[{lo}, {hi})");
    }
}

fn run_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            n += run_files(&p);
        } else if p.extension().is_some_and(|x| x == "run") {
            n += 1;
        }
    }
    n
}

/// Sorted chunks written by several writers leave runs whose key ranges do not overlap:
/// close keeps them as the segments, in key order, instead of merging them into a copy;
/// one pair inside another run's range brings the merge back.
#[test]
fn disjoint_runs_become_segments_without_a_merge() {
    for overlap in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::Error)).unwrap();
        let engine = mgr.open_engine(Uuid::from_u128(3)).unwrap();
        let mut want = Vec::new();
        // Later writers take lower handles, so run ids and key order disagree.
        for chunk in (0..3i64).rev() {
            let mut w = engine.writer().unwrap();
            for h in chunk * 1000..chunk * 1000 + 1000 {
                let pair = (record_key(1, h), h.to_be_bytes().repeat(3));
                w.put(&pair.0, &pair.1, h as u64).unwrap();
                want.push(pair);
            }
            w.close().unwrap();
        }
        if overlap {
            let mut w = engine.writer().unwrap();
            // Just after handle 1500's key: inside the middle chunk's range.
            let mut k = record_key(1, 1500);
            k.push(0);
            w.put(&k, b"x", 0).unwrap();
            want.push((k, b"x".to_vec()));
            w.close().unwrap();
        }
        want.sort();
        let before = run_files(dir.path());
        assert!(before > 3, "{before} runs");
        let closed = engine.close().unwrap();
        let after = run_files(dir.path());
        if overlap {
            // Merged into one run per key range merged apart (one per CPU, up to 8).
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            assert!((1..=cpus.min(8)).contains(&after), "{after} segments");
        } else {
            assert_eq!(after, before, "the runs are the segments");
        }
        assert_eq!(all(&closed), want, "overlap: {overlap}");
        let ranges = closed.split_ranges(4 << 10, 100).unwrap();
        check(&closed, &ranges, 4 << 10, 100);
        assert_eq!(ranges.iter().map(|r| r.kvs).sum::<u64>(), want.len() as u64);
        // Reopened, the closed engine has the same segments in the same order.
        drop(closed);
        drop(engine);
        drop(mgr);
        let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::Error)).unwrap();
        let reopened = mgr
            .open_engine(Uuid::from_u128(3))
            .unwrap()
            .close()
            .unwrap();
        assert_eq!(all(&reopened), want, "reopened, overlap: {overlap}");
    }
}
