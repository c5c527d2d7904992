//! The file driver under a crash at each write step (`--features failpoints`): the failed
//! save changes nothing in memory, and reopening finds the old state or the new one, never
//! an unreadable file.

#[allow(dead_code)]
mod conformance;

use conformance::{engines, expected_t1, tables, task, T1};
use lightning_checkpoint::*;

fn progress(pos: i64) -> CheckpointDiffs {
    let mut d = CheckpointDiffs::new();
    let key = expected_t1().engines[&0].chunks[0].key.clone();
    let diff = ChunkDiff {
        pos,
        ..Default::default()
    };
    d.merge(
        T1,
        &CheckpointUpdate::Chunk {
            engine_id: 0,
            key,
            diff,
        },
    );
    d
}

#[tokio::test]
async fn crash_at_every_write_step_leaves_old_or_new_state() {
    let scenario = fail::FailScenario::setup();
    for (step, point) in CRASH_POINTS.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.pb");

        // The very first save crashing: nothing, or the new state, is found.
        let s = FileStore::open(&path).await.unwrap();
        fail::cfg(*point, "return").unwrap();
        let err = s.initialize(&task(7), &tables(), true).await.unwrap_err();
        assert!(err.to_string().contains("injected crash"), "{point}: {err}");
        assert_eq!(
            s.task_checkpoint().await.unwrap(),
            None,
            "{point}: memory unchanged"
        );
        fail::remove(*point);
        let reopened = FileStore::open(&path).await.unwrap();
        let renamed = *point == "checkpoint-file-before-dir-fsync";
        assert_eq!(
            reopened.task_checkpoint().await.unwrap().is_some(),
            renamed,
            "{point}"
        );

        // A later save crashing, from a known old state.
        let s = FileStore::open(&path).await.unwrap();
        s.initialize(&task(7), &tables(), true).await.unwrap();
        s.insert_engines(T1, &engines()).await.unwrap();
        let old = s.get(T1).await.unwrap();
        let mut new = old.clone();
        new.apply(&progress(4242).tables[T1]);

        fail::cfg(*point, "return").unwrap();
        assert!(s.update(&progress(4242)).await.is_err(), "{point}");
        assert_eq!(s.get(T1).await.unwrap(), old, "{point}: memory unchanged");
        fail::remove(*point);

        let reopened = FileStore::open(&path).await.unwrap();
        let found = reopened.get(T1).await.unwrap();
        let want = if renamed { &new } else { &old };
        assert_eq!(&found, want, "crash at step {step} ({point})");

        // Both the crashed handle and a fresh one keep working afterwards.
        s.update(&progress(5000)).await.unwrap();
        let reopened = FileStore::open(&path).await.unwrap();
        let pos = reopened.get(T1).await.unwrap().engines[&0].chunks[0]
            .chunk
            .offset;
        assert_eq!(pos, 5000, "{point}");
    }
    scenario.teardown();
}
