//! Crash safety: an engine dropped without close reopens with exactly what was flushed;
//! half-written files are dropped; damaged listed files are reported, never read; a
//! closed engine reopens closed with the same ranges. Also listing and removal.

mod common;

use common::*;
use lightning_engine::{DuplicateMode, EngineError, EngineManager};
use std::path::{Path, PathBuf};
use uuid::Uuid;

const ID: Uuid = Uuid::from_u128(0xabc);

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(ID.to_string()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Writes `flushed` pairs and flushes, then `lost` more pairs that spill (unflushed),
/// then "crashes": drops everything without closing.
fn crash_after_flush(dir: &Path) -> Model {
    let mgr = EngineManager::new(dir, tiny(DuplicateMode::None)).unwrap();
    let engine = mgr.open_engine(ID).unwrap();
    let mut w = engine.writer().unwrap();
    let mut model = Model::default();
    for (k, v, s) in random_pairs(1, 3000, 100_000) {
        w.put(&k, &v, s).unwrap();
        model.put(&k, &v, s);
    }
    w.flush().unwrap();
    let flushed = files(dir, "run").len();
    for (k, v, s) in random_pairs(2, 3000, 100_000) {
        w.put(&k, &v, s + 1_000_000).unwrap();
    }
    assert!(
        files(dir, "run").len() > flushed,
        "the unflushed pairs must have spilled"
    );
    drop(w);
    drop(engine);
    model
}

#[test]
fn reopen_after_crash_keeps_exactly_the_flushed_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let model = crash_after_flush(dir.path());
    // A torn write: the newest (unflushed) run is cut in half.
    let newest = files(dir.path(), "run").pop().unwrap();
    let len = std::fs::metadata(&newest).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&newest)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    // And a stray temp manifest.
    std::fs::write(dir.path().join(ID.to_string()).join("MANIFEST.tmp"), b"{").unwrap();

    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let engine = mgr.open_engine(ID).unwrap();
    assert!(!newest.exists(), "unflushed run removed on reopen");
    assert!(!dir
        .path()
        .join(ID.to_string())
        .join("MANIFEST.tmp")
        .exists());
    // The reopened engine takes more writes.
    let mut w = engine.writer().unwrap();
    w.put(b"zzz", b"late", u64::MAX).unwrap();
    w.close().unwrap();
    let closed = engine.close().unwrap();
    let mut want = model.pairs();
    want.push((b"zzz".to_vec(), b"late".to_vec()));
    assert_eq!(all(&closed), want);
}

#[test]
fn damaged_flushed_run_is_reported_not_read() {
    let dir = tempfile::tempdir().unwrap();
    crash_after_flush(dir.path());
    let oldest = files(dir.path(), "run").remove(0);
    let len = std::fs::metadata(&oldest).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&oldest)
        .unwrap()
        .set_len(len - 1)
        .unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    match mgr.open_engine(ID) {
        Err(EngineError::Corrupt { engine, path, .. }) => {
            assert_eq!((engine, path), (ID, oldest));
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a truncated flushed run must not open"),
    }
}

#[test]
fn flipped_byte_in_closed_engine_is_a_checksum_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
        let engine = mgr.open_engine(ID).unwrap();
        let mut w = engine.writer().unwrap();
        w.append_iter(
            random_pairs(3, 500, 1000)
                .into_iter()
                .map(|(k, v, _)| (k, v)),
            0,
        )
        .unwrap();
        w.close().unwrap();
        engine.close().unwrap();
    }
    let seg = files(dir.path(), "run").remove(0);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[200] ^= 1;
    std::fs::write(&seg, bytes).unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let closed = mgr.open_engine(ID).unwrap().close().unwrap();
    let err = closed
        .iter()
        .find_map(Result::err)
        .expect("corruption detected");
    assert!(matches!(err, EngineError::Corrupt { .. }), "{err}");
}

#[test]
fn closed_engine_reopens_closed_with_the_same_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let (ranges, data) = {
        let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
        let engine = mgr.open_engine(ID).unwrap();
        let mut w = engine.writer().unwrap();
        for (k, v, s) in random_pairs(4, 5000, 4000) {
            w.put(&k, &v, s).unwrap();
        }
        w.close().unwrap();
        let closed = engine.close().unwrap();
        (closed.split_ranges(10_000, 300).unwrap(), all(&closed))
    };
    assert!(ranges.len() > 5);
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let engine = mgr.open_engine(ID).unwrap();
    assert!(engine.is_closed());
    assert!(matches!(engine.writer(), Err(EngineError::Closed { .. })));
    let closed = engine.close().unwrap();
    assert_eq!(closed.split_ranges(10_000, 300).unwrap(), ranges);
    assert_eq!(all(&closed), data);
}

#[test]
fn leftover_engines_are_listed_sized_and_removable() {
    let dir = tempfile::tempdir().unwrap();
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
    let mut held = Vec::new();
    for (id, n) in [(a, 100), (b, 2000)] {
        let engine = mgr.open_engine(id).unwrap();
        let mut w = engine.writer().unwrap();
        w.append_iter(
            random_pairs(5, n, 1 << 40)
                .into_iter()
                .map(|(k, v, _)| (k, v)),
            0,
        )
        .unwrap();
        w.close().unwrap();
        if id == a {
            engine.close().unwrap();
        }
        held.push(engine);
    }
    // Open engines' sizes, largest first (what disk-quota imports early).
    let sizes = mgr.engine_file_sizes();
    assert_eq!(sizes.iter().map(|s| s.uuid).collect::<Vec<_>>(), [b, a]);
    assert!(sizes[0].disk_size > sizes[1].disk_size && sizes[1].disk_size > 0);
    assert_eq!((sizes[0].closed, sizes[1].closed), (false, true));
    drop(held);
    assert!(
        mgr.engine_file_sizes().is_empty(),
        "only engines in use are reported"
    );
    // A fresh manager (a later tidb-lightning-ctl) lists them.
    let mgr = EngineManager::new(dir.path(), tiny(DuplicateMode::None)).unwrap();
    std::fs::create_dir(dir.path().join("not-an-engine")).unwrap();
    let left = mgr.leftover_engines().unwrap();
    assert_eq!(
        left.iter().map(|e| (e.uuid, e.closed)).collect::<Vec<_>>(),
        [(a, true), (b, false)]
    );
    assert_eq!(
        left[1].disk_size,
        sizes[0].disk_size
            + std::fs::metadata(dir.path().join(b.to_string()).join("MANIFEST"))
                .unwrap()
                .len()
    );
    let held = mgr.open_engine(a).unwrap();
    assert!(matches!(
        mgr.remove_engine(a),
        Err(EngineError::InUse { .. })
    ));
    drop(held);
    mgr.remove_engine(a).unwrap();
    mgr.remove_engine(a).unwrap();
    assert_eq!(mgr.leftover_engines().unwrap().len(), 1);
    assert!(!dir.path().join(a.to_string()).exists());
}
