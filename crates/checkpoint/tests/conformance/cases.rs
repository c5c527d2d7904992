//! The cases. Each takes a driver whose storage starts empty.

use std::collections::BTreeMap;

use lightning_checkpoint::*;
use lightning_config::KeepStrategy;

use super::*;

/// Everything written comes back, also after a restart.
pub async fn round_trip<D: Driver>(d: &D) {
    let s = d.open().await;
    assert_eq!(s.task_checkpoint().await.unwrap(), None);
    let stored = s.initialize(&task(7), &tables(), true).await.unwrap();
    assert_eq!(stored, task(7));
    assert_eq!(s.task_checkpoint().await.unwrap(), Some(task(7)));
    assert_eq!(s.table_names().await.unwrap(), [T1, T2]);
    let t2 = s.get(T2).await.unwrap();
    assert_eq!(t2.status, CheckpointStatus::LOADED);
    assert_eq!((t2.table_id, t2.hash), (102, tables()[1].hash));
    assert!(t2.engines.is_empty());
    s.insert_engines(T1, &engines()).await.unwrap();
    assert_eq!(s.get(T1).await.unwrap(), expected_t1());
    assert!(matches!(
        s.get("`db`.`nope`").await,
        Err(CheckpointError::TableNotFound { .. })
    ));
    assert!(matches!(
        s.insert_engines("`db`.`nope`", &engines()).await,
        Err(CheckpointError::TableNotFound { .. })
    ));
    s.close().await.unwrap();
    let s = d.open().await;
    assert_eq!(s.task_checkpoint().await.unwrap(), Some(task(7)));
    assert_eq!(s.get(T1).await.unwrap(), expected_t1());
    assert_eq!(s.get(T2).await.unwrap(), t2);
    // Re-initializing (a resumed run) keeps progress and the first task id.
    let again = s.initialize(&task(8), &tables(), true).await.unwrap();
    assert_eq!(again.task_id, 7);
    assert_eq!(s.get(T1).await.unwrap(), expected_t1());
    s.close().await.unwrap();
}

/// A batch of merged diffs lands as `TableCheckpoint::apply` says, atomically per call.
pub async fn diffs_apply<D: Driver>(d: &D) {
    let s = seeded(d).await;
    let mut diffs = CheckpointDiffs::new();
    let key = expected_t1().engines[&0].chunks[1].key.clone();
    for (pos, kvs) in [(100, 1), (2500, 40)] {
        diffs.merge(
            T1,
            &CheckpointUpdate::Chunk {
                engine_id: 0,
                key: key.clone(),
                diff: ChunkDiff {
                    pos,
                    real_pos: pos / 3,
                    row_id: 250,
                    checksum: Checksum {
                        crc: u64::MAX - 5,
                        kvs,
                        bytes: 4096,
                    },
                    column_permutation: vec![0, 1, 2, 3],
                },
            },
        );
    }
    let status = |engine_id, status| CheckpointUpdate::Status { engine_id, status };
    diffs.merge(T1, &status(0, CheckpointStatus::CLOSED));
    diffs.merge(T1, &status(1, CheckpointStatus::IMPORTED));
    diffs.merge(
        T1,
        &status(WHOLE_TABLE_ENGINE_ID, CheckpointStatus::ALL_WRITTEN),
    );
    let rebase = |v| Rebase {
        auto_rand_base: v,
        auto_incr_base: v * 2,
        auto_row_id_base: v * 3,
    };
    diffs.merge(T1, &CheckpointUpdate::Rebase(rebase(50)));
    diffs.merge(
        T2,
        &CheckpointUpdate::TableChecksum(Checksum {
            crc: 1,
            kvs: 2,
            bytes: 3,
        }),
    );
    diffs.merge(
        "`db`.`unknown`",
        &status(WHOLE_TABLE_ENGINE_ID, CheckpointStatus::ANALYZED),
    );
    s.update(&diffs).await.unwrap();

    let mut want = expected_t1();
    want.apply(&diffs.tables[T1]);
    assert_eq!(want.engines[&0].chunks[1].chunk.offset, 2500, "test data");
    assert_eq!(s.get(T1).await.unwrap(), want);
    assert_eq!(
        s.get(T2).await.unwrap().checksum,
        Checksum {
            crc: 1,
            kvs: 2,
            bytes: 3
        }
    );
    assert!(matches!(
        s.get("`db`.`unknown`").await,
        Err(CheckpointError::TableNotFound { .. })
    ));

    // Rebase bases only rise.
    let mut lower = CheckpointDiffs::new();
    lower.merge(
        T1,
        &CheckpointUpdate::Rebase(Rebase {
            auto_incr_base: 1000,
            ..rebase(10)
        }),
    );
    s.update(&lower).await.unwrap();
    let got = s.get(T1).await.unwrap();
    assert_eq!(
        (got.auto_rand_base, got.auto_incr_base, got.auto_row_id_base),
        (50, 1000, 150)
    );
    s.close().await.unwrap();
    let s = d.open().await;
    let mut want2 = want.clone();
    want2.apply(&lower.tables[T1]);
    assert_eq!(s.get(T1).await.unwrap(), want2);
}

/// A failure is kept as upstream encodes it and refuses the next run.
pub async fn failed_status<D: Driver>(d: &D) {
    let s = seeded(d).await;
    fail_engine(s.as_ref(), T1, 1, CheckpointStatus::IMPORTED).await;
    s.close().await.unwrap();
    let s = d.open().await;
    let t1 = s.get(T1).await.unwrap();
    assert_eq!(t1.status, CheckpointStatus(12));
    assert_eq!(t1.engines[&1].status, CheckpointStatus(12));
    assert_eq!(t1.engines[&0].status, CheckpointStatus::LOADED);
    match verify::ensure_resumable(T1, &t1) {
        Err(CheckpointError::TableFailed { table, status }) => {
            assert_eq!((table.as_str(), status), (T1, CheckpointStatus(12)))
        }
        other => panic!("{other:?}"),
    }
    assert!(verify::ensure_resumable(T2, &s.get(T2).await.unwrap()).is_ok());
    // A resumed run re-initializing does not clear the failure.
    s.initialize(&task(8), &tables(), true).await.unwrap();
    assert!(s.get(T1).await.unwrap().status.is_failed());
}

/// `--checkpoint-error-ignore`: failed statuses back to LOADED, progress kept.
pub async fn ignore_error<D: Driver>(d: &D) {
    let s = seeded(d).await;
    let mut progress = CheckpointDiffs::new();
    let key = expected_t1().engines[&0].chunks[0].key.clone();
    let diff = ChunkDiff {
        pos: 77,
        ..Default::default()
    };
    progress.merge(
        T1,
        &CheckpointUpdate::Chunk {
            engine_id: 0,
            key,
            diff,
        },
    );
    progress.merge(
        T1,
        &CheckpointUpdate::Status {
            engine_id: 1,
            status: CheckpointStatus::CLOSED,
        },
    );
    s.update(&progress).await.unwrap();
    fail_engine(s.as_ref(), T1, 0, CheckpointStatus::ALL_WRITTEN).await;
    fail_engine(s.as_ref(), T2, 0, CheckpointStatus::ALTERED_AUTO_INC).await;

    s.ignore_error(&TableSelector::parse(T1)).await.unwrap();
    let t1 = s.get(T1).await.unwrap();
    assert_eq!(t1.status, CheckpointStatus::LOADED);
    assert_eq!(t1.engines[&0].status, CheckpointStatus::LOADED);
    assert_eq!(
        t1.engines[&1].status,
        CheckpointStatus::CLOSED,
        "not failed: untouched"
    );
    assert_eq!(t1.engines[&0].chunks[0].chunk.offset, 77, "progress kept");
    assert_eq!(s.get(T2).await.unwrap().status, CheckpointStatus(15));

    s.ignore_error(&TableSelector::All).await.unwrap();
    assert_eq!(s.get(T2).await.unwrap().status, CheckpointStatus::LOADED);
    assert!(matches!(
        s.ignore_error(&TableSelector::parse("`db`.`nope`")).await,
        Err(CheckpointError::TableNotFound { .. })
    ));
}

/// `--checkpoint-error-destroy`: failed tables lose their checkpoint and start over.
pub async fn destroy_error<D: Driver>(d: &D) {
    let s = seeded(d).await;
    fail_engine(s.as_ref(), T1, 0, CheckpointStatus::CLOSED).await;
    // Not failed: nothing happens.
    assert_eq!(
        s.destroy_error(&TableSelector::parse(T2)).await.unwrap(),
        []
    );
    let destroyed = s.destroy_error(&TableSelector::parse(T1)).await.unwrap();
    assert_eq!(
        destroyed,
        [DestroyedTable {
            table_name: T1.into(),
            min_engine_id: -1,
            max_engine_id: 1
        }]
    );
    assert!(matches!(
        s.get(T1).await,
        Err(CheckpointError::TableNotFound { .. })
    ));
    assert_eq!(s.get(T2).await.unwrap().status, CheckpointStatus::LOADED);
    // The next run records it afresh: not started.
    s.initialize(&task(7), &tables(), true).await.unwrap();
    let t1 = s.get(T1).await.unwrap();
    assert_eq!((t1.status, t1.engines.len()), (CheckpointStatus::LOADED, 0));

    // `all`, with a failed table that has no engines.
    fail_engine(s.as_ref(), T2, 0, CheckpointStatus::LOADED).await;
    let destroyed = s.destroy_error(&TableSelector::All).await.unwrap();
    assert_eq!(
        destroyed,
        [DestroyedTable {
            table_name: T2.into(),
            min_engine_id: 0,
            max_engine_id: -1
        }]
    );
    assert_eq!(s.table_names().await.unwrap(), [T1]);
    assert!(matches!(
        s.destroy_error(&TableSelector::parse("`db`.`nope`")).await,
        Err(CheckpointError::TableNotFound { .. })
    ));
}

/// `--checkpoint-remove`: one table, then everything.
pub async fn remove<D: Driver>(d: &D) {
    let s = seeded(d).await;
    s.remove(&TableSelector::parse(T1)).await.unwrap();
    assert!(matches!(
        s.get(T1).await,
        Err(CheckpointError::TableNotFound { .. })
    ));
    assert_eq!(s.table_names().await.unwrap(), [T2]);
    assert!(matches!(
        s.remove(&TableSelector::parse(T1)).await,
        Err(CheckpointError::TableNotFound { .. })
    ));
    assert!(d.exists().await);
    s.remove(&TableSelector::All).await.unwrap();
    s.close().await.unwrap();
    assert!(!d.exists().await);
    let s = d.open().await;
    assert_eq!(s.task_checkpoint().await.unwrap(), None);
    assert!(s.table_names().await.unwrap().is_empty());
}

/// A checkpoint whose task or tables changed is refused, naming what changed.
pub async fn mismatch_refused<D: Driver>(d: &D) {
    let s = seeded(d).await;
    let mut other = task(9);
    other.tidb_port = 4001;
    match s.initialize(&other, &tables(), true).await {
        Err(CheckpointError::TaskMismatch {
            setting,
            current,
            stored,
        }) => {
            assert_eq!(
                (setting, current.as_str(), stored.as_str()),
                ("tidb.port", "4001", "4000")
            )
        }
        r => panic!("{r:?}"),
    }
    // check-requirements = false skips all but the backend.
    s.initialize(&other, &tables(), false).await.unwrap();
    other.backend = "tidb".into();
    assert!(matches!(
        s.initialize(&other, &tables(), false).await,
        Err(CheckpointError::TaskMismatch {
            setting: "tikv-importer.backend",
            ..
        })
    ));
    let change = |f: fn(&mut TableInit)| {
        let mut t = tables();
        f(&mut t[0]);
        t
    };
    type Edit = fn(&mut TableInit);
    let cases: [(Edit, TableChange); 3] = [
        (
            |t| t.hash = hash("CREATE TABLE t1 (a BIGINT)", 1000),
            TableChange::Schema,
        ),
        (
            |t| t.hash = hash("CREATE TABLE t1 (a INT)", 1001),
            TableChange::DataFiles,
        ),
        (
            |t| t.table_id = 555,
            TableChange::TableId {
                stored: 101,
                current: 555,
            },
        ),
    ];
    for (f, want) in cases {
        // Tables are checked whatever check-requirements says.
        match s.initialize(&task(7), &change(f), false).await {
            Err(CheckpointError::TableChanged { table, change }) => {
                assert_eq!((table.as_str(), change), (T1, want))
            }
            r => panic!("{r:?}"),
        }
    }
    // A refused initialize changed nothing.
    assert_eq!(s.get(T1).await.unwrap(), expected_t1());
    assert_eq!(
        s.task_checkpoint().await.unwrap().map(|t| t.tidb_port),
        Some(4001)
    );
}

/// `--checkpoint-dump`: the three CSV files hold every table, engine and chunk.
pub async fn dump<D: Driver>(d: &D) {
    let s = seeded(d).await;
    fail_engine(s.as_ref(), T2, 0, CheckpointStatus::CLOSED).await;
    let dir = tempfile::tempdir().unwrap();
    s.dump(dir.path()).await.unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let (tables_csv, engines_csv, chunks_csv) =
        (read("tables.csv"), read("engines.csv"), read("chunks.csv"));
    let header = |text: &str| text.lines().next().unwrap_or_default().to_string();
    assert_eq!(header(&tables_csv), TABLE_COLUMNS.join(","));
    assert_eq!(header(&engines_csv), ENGINE_COLUMNS.join(","));
    assert_eq!(header(&chunks_csv), CHUNK_COLUMNS.join(","));
    assert_eq!(tables_csv.lines().count(), 3, "{tables_csv}");
    let row = |text: &str, start: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("{start} in {text}"));
        line.split(',').map(str::to_string).collect()
    };
    let t2 = row(&tables_csv, &format!("7,{T2},"));
    assert_eq!(t2[2], tables()[1].hash.to_hex());
    assert_eq!(t2[3], "9");
    assert_eq!(engines_csv.lines().count(), 1 + 3, "{engines_csv}");
    assert!(
        engines_csv
            .lines()
            .any(|l| l.starts_with(&format!("{T1},-1,30,"))),
        "{engines_csv}"
    );
    assert_eq!(chunks_csv.lines().count(), 1 + 4, "{chunks_csv}");
    let c = chunk("db.t1.1.csv", 5000, 2);
    let line = chunks_csv
        .lines()
        .find(|l| l.contains("db.t1.1.csv,5000,"))
        .unwrap();
    let want = format!(
        "{T1},0,db.t1.1.csv,5000,4,0,{},{},\"[2,0,-1,1]\",5000,2500,10000,200,299,{},{},{},",
        c.file.sort_key, c.file.file_size, c.checksum.bytes, c.checksum.kvs, c.checksum.crc
    );
    assert!(line.starts_with(&want), "{line}\n{want}");
}

/// `keep-after-success`: remove, rename (to `.{task_id}.bak`) or keep.
pub async fn keep_after_success<D: Driver>(d: &D) {
    let strategies = [
        KeepStrategy::Origin,
        KeepStrategy::Rename,
        KeepStrategy::Remove,
    ];
    for (task_id, keep) in (100..).zip(strategies) {
        let s = d.open().await;
        s.initialize(&task(task_id), &tables(), true).await.unwrap();
        s.insert_engines(T1, &engines()).await.unwrap();
        finish(s.as_ref(), keep, task_id).await.unwrap();
        s.close().await.unwrap();
        assert_eq!(d.exists().await, keep == KeepStrategy::Origin, "{keep:?}");
        assert_eq!(
            d.backup_exists(task_id).await,
            keep == KeepStrategy::Rename,
            "{keep:?}"
        );
        let s = d.open().await;
        let kept = s.task_checkpoint().await.unwrap().is_some();
        assert_eq!(kept, keep == KeepStrategy::Origin, "{keep:?}");
        if keep == KeepStrategy::Origin {
            assert_eq!(s.get(T1).await.unwrap(), expected_t1());
        }
        s.remove(&TableSelector::All).await.unwrap();
        s.close().await.unwrap();
    }
}

/// Tables whose engines may hold unimported local data.
pub async fn local_storing_tables<D: Driver>(d: &D) {
    let s = seeded(d).await;
    assert!(
        s.local_storing_tables().await.unwrap().is_empty(),
        "nothing read yet"
    );
    let key = expected_t1().engines[&1].chunks[0].key.clone();
    let mut diffs = CheckpointDiffs::new();
    let diff = ChunkDiff {
        pos: 10,
        ..Default::default()
    };
    diffs.merge(
        T1,
        &CheckpointUpdate::Chunk {
            engine_id: 1,
            key,
            diff,
        },
    );
    s.update(&diffs).await.unwrap();
    let want: BTreeMap<String, Vec<i32>> = [(T1.to_string(), vec![1])].into();
    assert_eq!(s.local_storing_tables().await.unwrap(), want);
    let mut imported = CheckpointDiffs::new();
    imported.merge(
        T1,
        &CheckpointUpdate::Status {
            engine_id: 1,
            status: CheckpointStatus::IMPORTED,
        },
    );
    s.update(&imported).await.unwrap();
    assert!(s.local_storing_tables().await.unwrap().is_empty());
}
