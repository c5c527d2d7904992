//! One behaviour suite every checkpoint driver must pass; `file.rs` and `mysql.rs` run each
//! case against their driver.

pub mod cases;

use std::collections::BTreeMap;

use lightning_checkpoint::*;

/// How a test reaches one driver's storage.
pub trait Driver {
    /// Opens a fresh handle on the same storage (a "restart").
    async fn open(&self) -> Box<dyn CheckpointStore>;
    /// True while the checkpoint (file or schema tables) exists.
    async fn exists(&self) -> bool;
    /// True when keep-after-success "rename" left a backup for `task_id`.
    async fn backup_exists(&self, task_id: i64) -> bool;
}

pub const T1: &str = "`db`.`t1`";
pub const T2: &str = "`db`.`t2`";

pub fn task(task_id: i64) -> TaskCheckpoint {
    TaskCheckpoint {
        task_id,
        source_dir: "file:///data/dump".into(),
        backend: "local".into(),
        importer_addr: String::new(),
        tidb_host: "10.0.0.1".into(),
        tidb_port: 4000,
        pd_addr: "10.0.0.2:2379".into(),
        sorted_kv_dir: "/kv".into(),
        lightning_ver: "v0.1.0".into(),
    }
}

pub fn hash(schema: &str, size: u64) -> TableHash {
    TableHash::of(
        schema.as_bytes(),
        [FileStamp {
            path: "db.t.000000000.sql",
            size,
            mtime: 1_700_000_000_000_000_000,
        }],
    )
}

pub fn tables() -> Vec<TableInit> {
    vec![
        TableInit {
            name: T1.into(),
            table_id: 101,
            hash: hash("CREATE TABLE t1 (a INT)", 1000),
            table_info: r#"{"id":101,"name":"t1"}"#.into(),
        },
        TableInit {
            name: T2.into(),
            table_id: 102,
            hash: hash("CREATE TABLE t2 (b TEXT)", 2000),
            table_info: String::new(),
        },
    ]
}

pub fn chunk(path: &str, offset: i64, n: i64) -> ChunkCheckpoint {
    ChunkCheckpoint {
        key: ChunkKey {
            path: path.into(),
            offset,
        },
        file: FileMeta {
            file_type: 4,
            compression: if path.ends_with(".gz") { 1 } else { 0 },
            sort_key: format!("{n:09}"),
            file_size: 1 << 40,
        },
        column_permutation: vec![2, 0, -1, 1],
        chunk: ChunkPosition {
            offset,
            real_offset: offset / 2,
            end_offset: offset + 5000,
            prev_rowid_max: n * 100,
            rowid_max: n * 100 + 99,
        },
        checksum: Checksum {
            crc: 0xFEDC_BA98_7654_3210 ^ n as u64,
            kvs: n as u64,
            bytes: u64::MAX >> 1,
        },
        timestamp: 1_700_000_000 + n,
    }
}

/// Engines of T1: two data engines (chunks given out of order) and the index engine.
pub fn engines() -> BTreeMap<i32, EngineCheckpoint> {
    let mut e = BTreeMap::new();
    e.insert(
        0,
        EngineCheckpoint {
            status: CheckpointStatus::LOADED,
            chunks: vec![
                chunk("db.t1.2.csv", 0, 3),
                chunk("db.t1.1.csv", 5000, 2),
                chunk("db.t1.1.csv", 0, 1),
            ],
        },
    );
    e.insert(
        1,
        EngineCheckpoint {
            status: CheckpointStatus::LOADED,
            chunks: vec![chunk("db.t1.3.csv.gz", 0, 4)],
        },
    );
    e.insert(
        INDEX_ENGINE_ID,
        EngineCheckpoint {
            status: CheckpointStatus::LOADED,
            chunks: vec![],
        },
    );
    e
}

/// What `get(T1)` returns right after `initialize` + `insert_engines(T1, engines())`.
pub fn expected_t1() -> TableCheckpoint {
    let t = &tables()[0];
    let mut engines = engines();
    for e in engines.values_mut() {
        e.chunks.sort_by(|a, b| a.key.cmp(&b.key));
    }
    TableCheckpoint {
        status: CheckpointStatus::LOADED,
        hash: t.hash,
        table_id: t.table_id,
        table_info: t.table_info.clone(),
        engines,
        ..Default::default()
    }
}

/// Opens a store with the task, both tables and T1's engines recorded.
pub async fn seeded<D: Driver>(d: &D) -> Box<dyn CheckpointStore> {
    let s = d.open().await;
    s.initialize(&task(7), &tables(), true).await.unwrap();
    s.insert_engines(T1, &engines()).await.unwrap();
    s
}

/// Fails engine `engine` of `table` at its current step, as the controller would.
pub async fn fail_engine(s: &dyn CheckpointStore, table: &str, engine: i32, at: CheckpointStatus) {
    let mut d = CheckpointDiffs::new();
    d.merge(
        table,
        &CheckpointUpdate::Status {
            engine_id: engine,
            status: at.into_failed(),
        },
    );
    s.update(&d).await.unwrap();
}
