//! Shared by the `--backend local` end-to-end tests: the dump, the config, and the
//! checks every run ends with (checksums, row counts, the cluster back to normal).
#![allow(dead_code)]

use lightning_testkit::sim::TestCluster;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

pub const LIGHTNING: &str = env!("CARGO_BIN_EXE_tidb-lightning");
pub const DB: &str = "e2e_local";
pub const SBTEST_ROWS: usize = 1500;
pub const TYPES_ROWS: usize = 700;

/// A sysbench-shaped table in two SQL files (two chunks) and a table of several column
/// types (no integer primary key: `_tidb_rowid` handles) in CSV.
pub fn write_dump(dir: &Path) {
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write dump");
    w(
        &format!("{DB}-schema-create.sql"),
        &format!("CREATE DATABASE `{DB}`;\n"),
    );
    w(
        &format!("{DB}.sbtest1-schema.sql"),
        "CREATE TABLE `sbtest1` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  `k` int NOT NULL DEFAULT '0',\n  \
         `c` char(120) NOT NULL DEFAULT '',\n  `pad` char(60) NOT NULL DEFAULT '',\n  PRIMARY KEY (`id`),\n  \
         KEY `k_1` (`k`)\n);\n",
    );
    for (part, ids) in [
        (0, 1..=SBTEST_ROWS / 2),
        (1, SBTEST_ROWS / 2 + 1..=SBTEST_ROWS),
    ] {
        let mut s = String::from("INSERT INTO `sbtest1` VALUES\n");
        for (n, id) in ids.clone().enumerate() {
            let sep = if n + 1 == ids.clone().count() {
                ";"
            } else {
                ","
            };
            let k = (id * 7919) % 1000;
            writeln!(
                s,
                "({id},{k},'{:011}-{:011}-{:011}','{:011}-pad'){sep}",
                id * 3,
                id * 5,
                id * 11,
                id * 13
            )
            .unwrap();
        }
        w(&format!("{DB}.sbtest1.00{part}.sql"), &s);
    }
    w(
        &format!("{DB}.types-schema.sql"),
        "CREATE TABLE `types` (\n  `a` bigint DEFAULT NULL,\n  `b` decimal(10,2) DEFAULT NULL,\n  \
         `c` varchar(32) DEFAULT NULL,\n  `d` datetime DEFAULT NULL,\n  `e` double DEFAULT NULL,\n  \
         `f` date DEFAULT NULL,\n  `u` int unsigned DEFAULT NULL,\n  UNIQUE KEY `uc` (`c`),\n  KEY `bd` (`b`,`d`)\n);\n",
    );
    let mut csv = String::new();
    for i in 0..TYPES_ROWS {
        let a = (i as i64 - 300) * 1_000_003;
        let b = if i % 10 == 0 {
            "\\N".to_string()
        } else {
            format!("{}.{:02}", i as i64 - 100, i % 100)
        };
        writeln!(
            csv,
            "{a},{b},\"name, {i}\",2024-{:02}-{:02} {:02}:{:02}:{:02},{}.25,2020-01-{:02},{}",
            i % 12 + 1,
            i % 28 + 1,
            i % 24,
            i % 60,
            (i * 7) % 60,
            i as f64 * 1.5,
            i % 28 + 1,
            i * 3
        )
        .unwrap();
    }
    w(&format!("{DB}.types.csv"), &csv);
}

/// `extra` is appended to `[post-restore]`.
pub fn write_config(tc: &TestCluster, work: &Path, extra: &str) -> std::path::PathBuf {
    let tidb = tc.tidb().addr();
    let toml = format!(
        "[lightning]\nfile = {log:?}\nlevel = \"info\"\nregion-concurrency = 2\n\n\
         [checkpoint]\nenable = false\n\n\
         [tikv-importer]\nbackend = \"local\"\nsorted-kv-dir = {kv:?}\nregion-split-keys = 200\nrange-concurrency = 4\n\n\
         [tidb]\nhost = \"127.0.0.1\"\nport = {port}\nstatus-port = {status}\npd-addr = {pd:?}\nuser = \"root\"\npassword = \"\"\n\n\
         [post-restore]\nchecksum = \"required\"\nanalyze = \"optional\"\n{extra}\n\n\
         [mydumper]\ndata-source-dir = {dir:?}\n\n\
         [mydumper.csv]\nheader = false\n",
        log = work.join("lightning.log").display().to_string(),
        kv = work.join("sorted-kv").display().to_string(),
        port = tidb.port(),
        status = tc.tidb().status_addr().port(),
        pd = tc.cluster().addrs().pd,
        dir = work.join("dump").display().to_string(),
    );
    let path = work.join("lightning.toml");
    std::fs::write(&path, toml).expect("writing the config");
    path
}

/// Writes the dump under `work/dump` and its config (`extra` in `[post-restore]`).
pub fn dump_and_config(tc: &TestCluster, work: &Path, extra: &str) -> std::path::PathBuf {
    let dump = work.join("dump");
    std::fs::create_dir_all(&dump).expect("dump folder");
    write_dump(&dump);
    write_config(tc, work, extra)
}

/// Rewrites a config's text with `edit` (settings of sections other than `[post-restore]`).
pub fn edit_config(config: &Path, edit: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(config).expect("reading the config");
    std::fs::write(config, edit(text)).expect("writing the config");
}

/// Runs `tidb-lightning --backend local -config <config>` to its end, off the runtime.
pub async fn run_local(config: &Path) -> Output {
    let config = config.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(LIGHTNING)
            .args(["--backend", "local", "-config"])
            .arg(&config)
            .output()
            .expect("running tidb-lightning")
    })
    .await
    .expect("the tidb-lightning runner")
}

pub fn assert_success(out: &Output, work: &Path) {
    if !out.status.success() {
        let log = std::fs::read_to_string(work.join("lightning.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        panic!(
            "tidb-lightning failed ({}):\nstdout: {}\nstderr: {}\nlog tail:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}

/// The `crc`, `kvs`, `bytes` Lightning logged for `table` when its checksums matched.
pub fn logged_checksum(log: &str, table: &str) -> (u64, u64, u64) {
    let needle = format!("table=`{DB}`.`{table}`");
    let line = log
        .lines()
        .find(|l| l.contains("checksum matched") && l.contains(&needle))
        .unwrap_or_else(|| panic!("no checksum line for {table} in the log:\n{log}"));
    let field = |k: &str| -> u64 {
        let at = line.find(&format!(" {k}=")).expect("field") + k.len() + 2;
        line[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (field("crc"), field("kvs"), field("bytes"))
}

/// `ADMIN CHECKSUM TABLE` equals the checksum Lightning logged and `COUNT(*)` the
/// source rows, for both tables; `why` prefixes every failure (e.g. the seed).
pub fn assert_imported(tc: &TestCluster, log: &str, why: &str) {
    for (table, rows) in [("sbtest1", SBTEST_ROWS), ("types", TYPES_ROWS)] {
        let q = |sql: String| {
            tc.tidb()
                .query(&sql)
                .unwrap_or_else(|e| panic!("{why}: {sql}: {e:?}"))
        };
        let sum = q(format!("ADMIN CHECKSUM TABLE `{DB}`.`{table}`"));
        let num = |i: usize| -> u64 { sum[0][i].as_deref().unwrap().parse().unwrap() };
        let remote = (num(2), num(3), num(4));
        assert_eq!(
            remote,
            logged_checksum(log, table),
            "{why}: {table}: ADMIN CHECKSUM"
        );
        let kvs_per_row = if table == "sbtest1" { 2 } else { 3 };
        assert_eq!(remote.1, (rows * kvs_per_row) as u64, "{why}: {table}: kvs");
        let count = q(format!("SELECT COUNT(*) FROM `{DB}`.`{table}`"));
        assert_eq!(
            count[0][0].as_deref(),
            Some(rows.to_string().as_str()),
            "{why}: {table}: COUNT(*)"
        );
    }
}

/// Every store in normal mode, no scheduler paused, no region label rule left.
pub fn assert_cluster_normal(tc: &TestCluster, why: &str) {
    for (id, _) in &tc.cluster().addrs().stores {
        assert_eq!(
            tc.cluster().store_mode(*id),
            0,
            "{why}: store {id} left in import mode"
        );
    }
    let paused = tc.cluster().paused_schedulers();
    assert!(
        paused.is_empty(),
        "{why}: schedulers still paused: {paused:?}"
    );
    let rules = tc.cluster().label_rules();
    assert!(rules.is_empty(), "{why}: label rules left: {rules:?}");
}

/// Every replica holds the same pairs (each store has a peer of every region when
/// there are three stores): no ingest reached only part of a region's peers.
pub fn assert_replicas_agree(tc: &TestCluster, why: &str) {
    let c = tc.cluster();
    let missed = c.missed_ingests();
    assert!(
        missed.is_empty(),
        "{why}: replicas missed ingests: {missed:?}"
    );
    let stores: Vec<u64> = c.addrs().stores.iter().map(|(id, _)| *id).collect();
    let first = c.store_scan(stores[0], b"", b"");
    for s in &stores[1..] {
        let other = c.store_scan(*s, b"", b"");
        assert!(
            other == first,
            "{why}: store {s} holds {} pairs, store {} holds {}",
            other.len(),
            stores[0],
            first.len()
        );
    }
}
