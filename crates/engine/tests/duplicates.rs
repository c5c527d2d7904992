//! Duplicate keys: `error` reports them with both values, `replace` keeps the highest
//! sequence and records every dropped pair, `none` keeps the highest silently.

mod common;

use common::*;
use lightning_engine::{DuplicateMode, EngineError, EngineManager};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// A seeded set: 3000 distinct keys, 400 of them written 2–4 times; pairs are spread
/// over two writers in shuffled order with distinct seqs.
fn seeded_set(seed: u64) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
    let mut r = rng(seed);
    let mut out = Vec::new();
    for h in 0..3000i64 {
        let copies = if h % 7 == 3 { r.random_range(2..=4) } else { 1 };
        for _ in 0..copies {
            let len = r.random_range(1..48);
            out.push((record_key(9, h * 13), value(&mut r, len)));
        }
    }
    // Shuffle (Fisher–Yates) so copies land in different runs, then number them.
    for i in (1..out.len()).rev() {
        let j = r.random_range(0..=i);
        out.swap(i, j);
    }
    out.into_iter()
        .enumerate()
        .map(|(i, (k, v))| (k, v, i as u64 * 3 + 1))
        .collect()
}

fn write_all(
    mgr: &EngineManager,
    id: u128,
    set: &[(Vec<u8>, Vec<u8>, u64)],
) -> lightning_engine::Result<lightning_engine::ClosedEngine> {
    let engine = mgr.open_engine(Uuid::from_u128(id))?;
    let mut w = [engine.writer()?, engine.writer()?];
    for (i, (k, v, s)) in set.iter().enumerate() {
        w[i % 2].put(k, v, *s)?;
    }
    for w in w {
        w.close()?;
    }
    engine.close()
}

#[test]
fn replace_keeps_highest_seq_and_records_every_dropped_pair() {
    let set = seeded_set(11);
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::Replace)).unwrap();
    let closed = write_all(&mgr, 1, &set).unwrap();
    let mut model = Model::default();
    for (k, v, s) in &set {
        model.put(k, v, *s);
    }
    assert_eq!(all(&closed), model.pairs());
    // Expected losers: every pair that is not its key's winner.
    let mut want: Vec<(Vec<u8>, Vec<u8>, u64)> = set
        .iter()
        .filter(|(k, _, s)| model.map[k].0 != *s)
        .cloned()
        .collect();
    assert!(want.len() > 500, "seeded set has {} duplicates", want.len());
    let mut got: Vec<_> = closed
        .conflicts()
        .map(|c| c.map(|c| (c.key, c.value, c.seq)))
        .collect::<Result<_, _>>()
        .unwrap();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(closed.conflict_count(), want.len() as u64);
    assert_eq!(
        closed.total_kvs() + closed.conflict_count(),
        set.len() as u64
    );
}

#[test]
fn replace_conflicts_survive_reopen() {
    let set = seeded_set(12);
    let dir = tempfile::tempdir().unwrap();
    let n = {
        let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::Replace)).unwrap();
        write_all(&mgr, 2, &set).unwrap().conflict_count()
    };
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::Replace)).unwrap();
    let closed = mgr
        .open_engine(Uuid::from_u128(2))
        .unwrap()
        .close()
        .unwrap();
    assert_eq!(closed.conflict_count(), n);
    assert_eq!(closed.conflicts().count() as u64, n);
}

#[test]
fn error_mode_reports_duplicates_with_both_values() {
    let set = seeded_set(13);
    let by_key: BTreeMap<&[u8], Vec<(u64, &[u8])>> =
        set.iter().fold(BTreeMap::new(), |mut m, (k, v, s)| {
            m.entry(k.as_slice())
                .or_insert_with(Vec::new)
                .push((*s, v.as_slice()));
            m
        });
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::Error)).unwrap();
    let err = write_all(&mgr, 3, &set)
        .err()
        .expect("duplicates must fail");
    let EngineError::Duplicates { engine, duplicates } = err else {
        panic!("{err}")
    };
    assert_eq!(engine, Uuid::from_u128(3));
    assert!(!duplicates.is_empty() && duplicates.len() <= 16);
    for d in &duplicates {
        let versions = &by_key[d.key.as_slice()];
        assert!(versions.len() >= 2, "reported key was written once");
        let seq_of = |v: &[u8]| versions.iter().find(|(_, x)| *x == v).map(|(s, _)| *s);
        let (a, b) = (
            seq_of(&d.first_value).unwrap(),
            seq_of(&d.second_value).unwrap(),
        );
        assert!(a < b, "first value has the lower seq");
    }
}

#[test]
fn error_mode_reports_every_duplicate_when_the_limit_allows() {
    let set = seeded_set(15);
    // A budget large enough for one run per writer: the single merge at close sees all
    // duplicates (under a tiny budget the first compaction pass would stop the import).
    let opts = lightning_engine::EngineOptions {
        duplicate_mode: DuplicateMode::Error,
        max_reported_duplicates: 100_000,
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), opts).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(7)).unwrap();
    // The n-th copy of a key goes to writer n: no writer sees a key twice, so all
    // duplicates meet in the merge at close.
    let mut writers: Vec<_> = (0..4).map(|_| engine.writer().unwrap()).collect();
    let mut copies: BTreeMap<&[u8], usize> = BTreeMap::new();
    for (k, v, s) in &set {
        let n = copies.entry(k).or_default();
        writers[*n].put(k, v, *s).unwrap();
        *n += 1;
    }
    for w in writers {
        w.close().unwrap();
    }
    let Err(EngineError::Duplicates { duplicates, .. }) = engine.close() else {
        panic!("close must fail")
    };
    let losers: usize = copies.values().map(|n| n - 1).sum();
    assert_eq!(duplicates.len(), losers);
    let reported: BTreeSet<&[u8]> = duplicates.iter().map(|d| d.key.as_slice()).collect();
    let want: BTreeSet<&[u8]> = copies
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(reported, want);
}

#[test]
fn error_mode_finds_duplicates_across_runs_at_close() {
    // One key per writer buffer, written by two writers: the duplicate meets only at merge.
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::Error)).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(4)).unwrap();
    let (mut a, mut b) = (engine.writer().unwrap(), engine.writer().unwrap());
    for h in 0..500 {
        a.put(&record_key(1, h), b"a", 1).unwrap();
        b.put(&record_key(1, h + 499), b"b", 2).unwrap();
    }
    a.close().unwrap();
    b.close().unwrap();
    let Err(EngineError::Duplicates { duplicates, .. }) = engine.close() else {
        panic!("close must fail")
    };
    assert_eq!(duplicates.len(), 1);
    assert_eq!(duplicates[0].key, record_key(1, 499));
    assert_eq!(
        (
            &duplicates[0].first_value[..],
            &duplicates[0].second_value[..]
        ),
        (&b"a"[..], &b"b"[..])
    );
    assert!(!engine.is_closed());
}

#[test]
fn none_mode_keeps_the_later_row_without_records() {
    let set = seeded_set(14);
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let closed = write_all(&mgr, 5, &set).unwrap();
    let mut model = Model::default();
    for (k, v, s) in &set {
        model.put(k, v, *s);
    }
    assert_eq!(all(&closed), model.pairs());
    assert_eq!(closed.conflict_count(), 0);
    let distinct: BTreeSet<_> = set.iter().map(|p| &p.0).collect();
    assert_eq!(closed.total_kvs(), distinct.len() as u64);
}

#[test]
fn equal_seq_in_one_writer_keeps_the_last_appended_without_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::Replace)).unwrap();
    let engine = mgr.open_engine(Uuid::from_u128(6)).unwrap();
    let mut w = engine.writer().unwrap();
    w.append_iter([(b"k", b"first"), (b"k", b"again"), (b"j", b"other")], 5)
        .unwrap();
    w.close().unwrap();
    let closed = engine.close().unwrap();
    assert_eq!(
        all(&closed),
        [
            (b"j".to_vec(), b"other".to_vec()),
            (b"k".to_vec(), b"again".to_vec())
        ]
    );
    // The same sequence is the same source row written again: not a conflict.
    assert_eq!(closed.conflict_count(), 0);
}

#[test]
fn a_replayed_pair_with_its_own_sequence_is_no_conflict() {
    // A resumed chunk writes again the rows after its last checkpoint: same keys, same
    // sequences (row ids). In every mode that is one pair, not a duplicate; a different
    // sequence for the same key still is.
    for mode in [DuplicateMode::Error, DuplicateMode::Replace] {
        let dir = tempfile::tempdir().unwrap();
        let mgr = EngineManager::new(dir.path(), tiny(mode)).unwrap();
        let engine = mgr.open_engine(Uuid::from_u128(5)).unwrap();
        let mut w = engine.writer().unwrap();
        for h in 0..800i64 {
            w.put(&record_key(1, h), format!("v{h}").as_bytes(), h as u64)
                .unwrap();
        }
        w.flush().unwrap();
        // The replay, in another writer (the resumed run), partly in the same run files.
        let mut r = engine.writer().unwrap();
        for h in 500..800i64 {
            r.put(&record_key(1, h), format!("v{h}").as_bytes(), h as u64)
                .unwrap();
        }
        w.close().unwrap();
        r.close().unwrap();
        let closed = engine.close().unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert_eq!(closed.total_kvs(), 800, "{mode:?}");
        assert_eq!(closed.conflict_count(), 0, "{mode:?}");

        let engine = mgr.open_engine(Uuid::from_u128(6)).unwrap();
        let mut w = engine.writer().unwrap();
        w.put(&record_key(1, 1), b"a", 1).unwrap();
        w.put(&record_key(1, 1), b"a", 1).unwrap();
        w.put(&record_key(1, 1), b"b", 2).unwrap();
        match (mode, w.close().and_then(|()| engine.close())) {
            (DuplicateMode::Error, Err(EngineError::Duplicates { duplicates, .. })) => {
                assert_eq!(duplicates.len(), 1)
            }
            (DuplicateMode::Replace, Ok(c)) => assert_eq!(c.conflict_count(), 1),
            (m, r) => panic!("{m:?}: {:?}", r.map(|c| c.total_kvs())),
        }
    }
}
