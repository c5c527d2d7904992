//! `disk-quota` parts and `replace` views: a part detached while writers go on holds
//! exactly what was on disk, sorted; released it is gone for good, dropped it returns to
//! the engine; a view excluding sequences leaves their pairs out of ranges and iteration.

mod common;

use common::*;
use lightning_engine::{DuplicateMode, Engine, EngineManager};
use rand::seq::SliceRandom;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

/// Distinct keys in a seeded order, each with its own sequence.
fn shuffled(seed: u64, n: i64) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
    let mut r = rng(seed);
    let mut v: Vec<_> = (0..n)
        .map(|h| (record_key(7, h), value(&mut r, 40), h as u64))
        .collect();
    v.shuffle(&mut r);
    v
}

fn write(engine: &Engine, pairs: &[(Vec<u8>, Vec<u8>, u64)]) {
    let mut w = engine.writer().unwrap();
    for (k, v, s) in pairs {
        w.append_iter([(k, v)], *s).unwrap();
    }
    w.close().unwrap();
}

fn sorted(pairs: &[(Vec<u8>, Vec<u8>, u64)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let m: BTreeMap<_, _> = pairs
        .iter()
        .map(|(k, v, _)| (k.clone(), v.clone()))
        .collect();
    m.into_iter().collect()
}

#[test]
fn a_released_part_plus_the_rest_is_everything_once() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(1)).unwrap();
    let pairs = shuffled(1, 6000);
    let (first, rest) = pairs.split_at(3500);
    // A writer stays open across the part: its later pairs belong to the rest.
    let mut open = engine.writer().unwrap();
    write(&engine, first);
    let before = engine.disk_size();
    let part = engine.take_part().unwrap().expect("runs on disk");
    assert!(engine.take_part().unwrap().is_none(), "one part at a time");
    let got = all(part.engine().unwrap());
    assert_eq!(got, sorted(first), "the part is the flushed pairs, sorted");
    let ranges = part.engine().unwrap().split_ranges(4096, 0).unwrap();
    assert_eq!(
        ranges.iter().map(|r| r.kvs).sum::<u64>(),
        first.len() as u64
    );
    for (k, v, s) in rest {
        open.append_iter([(k, v)], *s).unwrap();
    }
    open.close().unwrap();
    part.release().unwrap();
    assert!(engine.disk_size() < before, "released runs are deleted");
    let closed = engine.close().unwrap();
    assert_eq!(
        all(&closed),
        sorted(rest),
        "the rest holds no released pair"
    );
    drop(closed);
    drop(engine);
    // Reopened, the released runs stay gone.
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let closed = mgr
        .open_engine(Uuid::from_u128(1))
        .unwrap()
        .close()
        .unwrap();
    assert_eq!(all(&closed), sorted(rest));
}

#[test]
fn a_dropped_part_returns_its_runs_to_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(2)).unwrap();
    let pairs = shuffled(2, 3000);
    write(&engine, &pairs[..2000]);
    let part = engine.take_part().unwrap().unwrap();
    assert_eq!(all(part.engine().unwrap()).len(), 2000);
    drop(part); // the import failed
    write(&engine, &pairs[2000..]);
    let closed = engine.close().unwrap();
    assert_eq!(all(&closed), sorted(&pairs));
    assert!(
        engine.take_part().unwrap().is_none(),
        "closed engines give no part"
    );
}

#[test]
fn an_empty_engine_gives_no_part() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(3)).unwrap();
    assert!(engine.take_part().unwrap().is_none());
}

#[test]
fn a_view_excluding_sequences_leaves_their_pairs_out() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(4)).unwrap();
    let pairs = shuffled(4, 4000);
    write(&engine, &pairs);
    let closed = engine.close().unwrap();
    let gone: HashSet<u64> = pairs.iter().map(|p| p.2).filter(|s| s % 7 == 3).collect();
    let kept: Vec<_> = pairs
        .iter()
        .filter(|p| !gone.contains(&p.2))
        .cloned()
        .collect();
    let view = closed.excluding(Arc::new(gone));
    assert_eq!(all(&view), sorted(&kept));
    let ranges = view.split_ranges(2048, 50).unwrap();
    let mut joined = Vec::new();
    for r in &ranges {
        let got: Vec<_> = view.iter_range(r).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            got.len() as u64,
            r.kvs,
            "a range counts only what the view yields"
        );
        assert!(r.kvs <= 50);
        joined.extend(got);
    }
    assert_eq!(joined, sorted(&kept));
    // The engine itself is unchanged.
    assert_eq!(all(&closed), sorted(&pairs));
    let (first, last) = closed.bounds().unwrap().unwrap();
    let s = sorted(&pairs);
    assert_eq!((first, last), (s[0].0.clone(), s[s.len() - 1].0.clone()));
}
