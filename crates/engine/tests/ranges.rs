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
