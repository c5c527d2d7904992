//! The `local` (physical) backend's side of the conformance suite: a [`Case`] is a fresh
//! simulated cluster (PD + TiKV stores + TiDB's SQL face, on its own runtime) and a temp
//! dir; the cases only this backend runs; and the shared cases (see `conformance.rs`)
//! instantiated on it as `local::<case>`.

use crate::conformance_common::{tables_of, Target};
use lightning_testkit::sim::{OwnedCluster, TestCluster, TestClusterOptions};
use std::any::Any;
use std::cell::Cell;
use std::path::Path;

/// One case: its own simulated cluster (on its own runtime) and temp dir.
pub struct Case {
    name: &'static str,
    cluster: OwnedCluster,
    tmp: tempfile::TempDir,
    runs: Cell<u32>,
}

impl Case {
    pub fn new(name: &'static str) -> Case {
        let cluster = OwnedCluster::start(TestClusterOptions::default())
            .expect("start the simulated cluster");
        Case {
            name,
            cluster,
            tmp: tempfile::Builder::new()
                .prefix("conformance-local-")
                .tempdir()
                .expect("temp dir"),
            runs: Cell::new(0),
        }
    }

    pub fn tc(&self) -> &TestCluster {
        self.cluster.tc()
    }

    /// The simulated-cluster case behind a shared case's target (in its `local` branch).
    pub fn of(c: &dyn Target) -> &Case {
        c.as_any()
            .downcast_ref::<Case>()
            .expect("a local-backend case")
    }
}

impl Target for Case {
    fn case_name(&self) -> &str {
        self.name
    }

    fn backend(&self) -> &'static str {
        "local"
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// The rows of the last statement as `mysql -N -B` prints them: tab-separated,
    /// one row per line, NULL as `NULL`, backslash and newline escaped.
    fn sql(&self, q: &str) -> String {
        self.tc()
            .tidb()
            .query_text(q)
            .unwrap_or_else(|e| panic!("[{}] {q}: {e}", self.name))
    }

    fn tmp(&self) -> &Path {
        self.tmp.path()
    }

    fn runs(&self) -> &Cell<u32> {
        &self.runs
    }

    fn harness(&self, n: u32, log: &Path, data_dir: &Path) -> String {
        let tidb = self.tc().tidb();
        format!(
            "[tidb]\nhost = \"127.0.0.1\"\nport = {}\nstatus-port = {}\npd-addr = {:?}\n\
             user = \"root\"\npassword = \"\"\n\
             [tikv-importer]\nbackend = \"local\"\nsorted-kv-dir = {:?}\n\
             [lightning]\nfile = {:?}\n\
             [checkpoint]\nenable = false\n\
             [post-restore]\nchecksum = \"required\"\n\
             [mydumper]\ndata-source-dir = {:?}\n",
            tidb.addr().port(),
            tidb.status_addr().port(),
            self.tc().cluster().addrs().pd,
            self.tmp
                .path()
                .join(format!("sorted-kv.{n}"))
                .display()
                .to_string(),
            log.display().to_string(),
            data_dir.display().to_string(),
        )
    }
}

/// The integers of a one-column result.
pub fn ints(c: &dyn Target, q: &str) -> Vec<i128> {
    c.sql(q)
        .lines()
        .map(|l| l.parse().unwrap_or_else(|_| panic!("{q}: {l:?}")))
        .collect()
}

/// The auto-increment part of an AUTO_RANDOM(5) id: below the sign bit (signed types)
/// and the 5 shard bits, i.e. 58 bits of a BIGINT and 59 of a BIGINT UNSIGNED. (Upstream's
/// scripts mask 59 bits for both; their shards left bit 58 clear.)
pub fn inc_part(id: i128, unsigned: bool) -> i128 {
    let bits = if unsigned { 59 } else { 58 };
    id & ((1 << bits) - 1)
}

/// The next AUTO_INCREMENT value `db`.`t` hands out after the import's rebase.
pub fn next_auto_id(c: &Case, db: &str, t: &str) -> u64 {
    let info = c.tc().tidb().table_info(db, t).expect("table exists");
    info.auto_increment_base.unwrap_or(0)
}

shared_cases!(Case);

#[test]
fn lightning_alter_random() {
    let c = Case::new("lightning_alter_random");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    let ids = ints(&c, "SELECT id FROM alter_random.t ORDER BY id");
    let mut inc: Vec<i128> = ids.into_iter().map(|i| inc_part(i, false)).collect();
    inc.sort();
    assert_eq!(inc, [1, 2, 3]);
    // Upstream's next insert gets increment 4 on this backend.
    let info = c.tc().tidb().table_info("alter_random", "t").unwrap();
    assert!(info.auto_random_base.unwrap_or(0) >= 4, "{info:?}");
}

#[test]
fn lightning_auto_random_default() {
    let c = Case::new("lightning_auto_random_default");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    let ids = ints(&c, "SELECT id FROM auto_random.t");
    assert_eq!(ids.len(), 6);
    let mut inc: Vec<i128> = ids.iter().map(|&i| inc_part(i, true)).collect();
    inc.sort();
    assert_eq!(&inc[..3], [1, 2, 3], "{inc:?}");
    let mut shards: Vec<i128> = ids.iter().map(|&i| i >> 58).collect();
    shards.sort();
    shards.dedup();
    eprintln!("auto_random_default: inc {inc:?} shards {shards:?}");
    let info = c.tc().tidb().table_info("auto_random", "t").unwrap();
    let max = *inc.iter().max().unwrap() as u64;
    assert!(info.auto_random_base.unwrap_or(0) > max, "{info:?}");
}

#[test]
fn lightning_common_handle() {
    let c = Case::new("lightning_common_handle");
    // As upstream: composite primary keys are clustered unless they say otherwise.
    c.sql("SET GLOBAL tidb_enable_clustered_index = 1");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[("SELECT count(*), sum(i) FROM ch.t", "6\t21")]);
    // No separate index pair for the clustered primary key.
    let sum = c.tc().tidb().checksum("ch", "t").unwrap();
    assert_eq!(sum.kvs, 6);
}

#[test]
fn lightning_shard_rowid() {
    let c = Case::new("lightning_shard_rowid");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    let t = tables_of(&c, "shard_rowid");
    let ids = ints(&c, &format!("SELECT _tidb_rowid FROM shard_rowid.{t}"));
    assert_eq!(ids.len(), 16);
    let mut inc: Vec<i128> = ids.iter().map(|&i| inc_part(i, false)).collect();
    inc.sort();
    inc.dedup();
    assert_eq!(inc.len(), 16);
    let mut shards: Vec<i128> = ids.iter().map(|&i| i >> 60).collect();
    shards.sort();
    shards.dedup();
    assert!((5..=8).contains(&shards.len()), "{shards:?}");
}

#[test]
fn lightning_tiflash() {
    let c = Case::new("lightning_tiflash");
    // As upstream, minus `ALTER TABLE … SET TIFLASH REPLICA 1`: the cluster has no TiFlash.
    c.sql(
        "CREATE DATABASE test_tiflash; \
         CREATE TABLE test_tiflash.t1 (i INT, j INT, s varchar(32), PRIMARY KEY(s, i)); \
         CREATE TABLE test_tiflash.t2 (i INT, j TINYINT)",
    );
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(*), sum(i) FROM test_tiflash.t1", "5\t15"),
        ("SELECT count(*), sum(i) FROM test_tiflash.t2", "4\t10"),
    ]);
}

/// The object-storage cases' dumps, read from a local folder.
#[test]
fn lightning_s3_and_gcs_dumps() {
    for (name, db) in [("lightning_s3", "s3_test"), ("lightning_gcs", "gcs_test")] {
        let c = Case::new(name);
        c.run(None, "data", "", &[]).assert_ok();
        c.check(&[(&format!("SELECT count(*), sum(i) FROM {db}.tbl"), "7\t413")]);
    }
}

#[test]
fn lightning_local_backend() {
    let c = Case::new("lightning_local_backend");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(*), sum(c) FROM cpeng.a", "4\t10"),
        ("SELECT count(*), sum(c) FROM cpeng.b", "4\t46"),
    ]);
}

#[test]
fn lightning_checkpoint_engines_order() {
    let c = Case::new("lightning_checkpoint_engines_order");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[(
        "SELECT a, b FROM disk_quota_checkpoint.t ORDER BY a",
        "1\tone\n2\ttwo\n3\tthree\n4\tfour\n5\tfive\n6\tsix\n7\tseven\n8\teight\n9\tnine",
    )]);
}

#[test]
fn lightning_checkpoint_error_destroy() {
    let c = Case::new("lightning_checkpoint_error_destroy");
    // Checkpoints off: bad-data/ fails under STRICT_ALL_TABLES, then good-data/ imports into
    // the table the failed run created (upstream clears it with --checkpoint-error-destroy).
    let no_cp = "[checkpoint]\nenable = false\n";
    let out = c.run(Some("file.toml"), "bad-data", no_cp, &[]);
    out.assert_failed_with(&["cped.t.sql", "column `x`"]);
    c.check(&[("SELECT count(*) FROM cped.t", "0")]);
    c.run(Some("file.toml"), "good-data", no_cp, &[])
        .assert_ok();
    c.check(&[("SELECT * FROM cped.t", "1999-09-09 09:09:09")]);
}

/// What `REPLACE INTO t VALUES (id, name, size)` of each row in turn leaves, for tables
/// with a primary key `id` and a unique key `name`: a row goes when a later one has its id
/// or its name.
fn replayed_with_replace(rows: &[(i64, String, String)]) -> Vec<(i64, String, String)> {
    let mut kept: Vec<(i64, String, String)> = Vec::new();
    for r in rows {
        kept.retain(|k| k.0 != r.0 && k.1 != r.1);
        kept.push(r.clone());
    }
    kept.sort();
    kept
}

#[test]
fn lightning_duplicate_detection() {
    duplicates_replaced("");
}

/// The same with a data engine per file: conflicts on the primary key meet across engines.
#[test]
fn lightning_duplicate_detection_engine_per_file() {
    duplicates_replaced("[mydumper]\nbatch-size = 1\n");
}

fn duplicates_replaced(extra: &str) {
    let c = Case::new("lightning_duplicate_detection");
    let out = c.run(
        None,
        "data",
        &format!(
            "[conflict]\nstrategy = \"replace\"\n[tikv-importer]\nregion-split-keys = 8\n{extra}"
        ),
        &[],
    );
    out.assert_ok();
    let log = std::fs::read_to_string(c.tmp.path().join("lightning.1.log")).unwrap();
    for t in ["ta", "tb", "tc", "td", "te", "tf"] {
        // The source rows in import order (file .0, then .1), parsed here.
        let mut rows = Vec::new();
        for part in 0..2 {
            let f = c.dir().join(format!("data/dup_detect.{t}.{part}.sql"));
            for line in std::fs::read_to_string(&f).unwrap().lines() {
                let Some(v) = line.split_once("values (").map(|(_, v)| v) else {
                    continue;
                };
                let v: Vec<&str> = v.trim_end_matches(");").split(", ").collect();
                rows.push((
                    v[0].parse::<i64>().unwrap(),
                    v[1].trim_matches('\'').to_string(),
                    v[2].to_string(),
                ));
            }
        }
        assert_eq!(rows.len(), 40, "{t}: source rows");
        let want = replayed_with_replace(&rows);
        if t == "tf" {
            assert_eq!(want.len(), 40, "tf has no conflicts");
        } else {
            assert!(want.len() < 40, "{t} has conflicts");
        }
        let got: Vec<(i64, String, String)> = c
            .sql(&format!(
                "SELECT id, name, size FROM dup_detect.{t} ORDER BY id"
            ))
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0].parse().unwrap(), f[1].to_string(), f[2].to_string())
            })
            .collect();
        assert_eq!(got, want, "{t}: the rows REPLACE INTO would leave");
        // A record and a unique-index entry per row: no entry of a replaced row is left.
        let sum = c.sql(&format!("ADMIN CHECKSUM TABLE dup_detect.{t}"));
        let kvs: u64 = sum.split('\t').nth(3).unwrap().parse().unwrap();
        assert_eq!(kvs, 2 * want.len() as u64, "{t}: pairs in the cluster");
    }
    assert!(
        log.contains("conflicting row replaced"),
        "conflicts are logged"
    );
}
