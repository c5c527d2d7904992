//! End to end with the physical backend: `tidb-lightning --backend local` imports a small
//! dump (SQL and CSV) into the simulated cluster (PD + 3 TiKV stores + TiDB's SQL face),
//! whose regions are small so the tables span many. Afterwards `ADMIN CHECKSUM TABLE` must
//! equal the checksum Lightning computed while encoding, `COUNT(*)` the source rows, every
//! store be back in normal mode, no scheduler pause or label rule be left, and the engines
//! be removed from `sorted-kv-dir`.

use lightning_testkit::cluster::{FaultRule, SimOptions};
use lightning_testkit::sim::{TestCluster, TestClusterOptions};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

const LIGHTNING: &str = env!("CARGO_BIN_EXE_tidb-lightning");
const DB: &str = "e2e_local";
const SBTEST_ROWS: usize = 1500;
const TYPES_ROWS: usize = 700;

/// A sysbench-shaped table in two SQL files (two chunks) and a table of several column
/// types (no integer primary key: `_tidb_rowid` handles) in CSV.
fn write_dump(dir: &Path) {
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

/// `post` is appended to `[post-restore]`.
fn write_config(tc: &TestCluster, work: &Path, extra: &str) -> std::path::PathBuf {
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

fn assert_success(out: &Output, work: &Path) {
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
fn logged_checksum(log: &str, table: &str) -> (u64, u64, u64) {
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

/// Imports the dump with `faults` injected and `post` in `[post-restore]`; checks the
/// result. Returns the seconds the import took and the SQL statements TiDB saw.
async fn import(faults: &[&str], extra: &str) -> (f64, Vec<String>) {
    let tc = TestCluster::start(TestClusterOptions {
        cluster: SimOptions {
            stores: 3,
            region_split_keys: 200,
            ..SimOptions::default()
        },
        ..TestClusterOptions::default()
    })
    .await
    .expect("start the simulated cluster");
    for f in faults {
        tc.cluster()
            .inject(f.parse::<FaultRule>().expect("fault spec"));
    }
    let work = tempfile::Builder::new()
        .prefix("e2e-local-")
        .tempdir()
        .expect("tempdir");
    std::fs::create_dir_all(work.path().join("dump")).unwrap();
    write_dump(&work.path().join("dump"));
    let config = write_config(&tc, work.path(), extra);
    let started = std::time::Instant::now();
    let cfg = config.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(LIGHTNING)
            .args(["--backend", "local", "-config"])
            .arg(&cfg)
            .output()
            .expect("running tidb-lightning")
    })
    .await
    .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_success(&out, work.path());
    let statements = tc.tidb().statements();

    let log = std::fs::read_to_string(work.path().join("lightning.log")).unwrap();
    for (table, rows) in [("sbtest1", SBTEST_ROWS), ("types", TYPES_ROWS)] {
        let q = |sql: String| {
            tc.tidb()
                .query(&sql)
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        };
        let sum = q(format!("ADMIN CHECKSUM TABLE `{DB}`.`{table}`"));
        let num = |i: usize| -> u64 { sum[0][i].as_deref().unwrap().parse().unwrap() };
        let remote = (num(2), num(3), num(4));
        assert_eq!(
            remote,
            logged_checksum(&log, table),
            "{table}: ADMIN CHECKSUM"
        );
        let kvs_per_row = if table == "sbtest1" { 2 } else { 3 };
        assert_eq!(remote.1, (rows * kvs_per_row) as u64, "{table}: kvs");
        let count = q(format!("SELECT COUNT(*) FROM `{DB}`.`{table}`"));
        assert_eq!(count[0][0].as_deref(), Some(rows.to_string().as_str()));
    }
    let info = tc.tidb().table_info(DB, "sbtest1").unwrap();
    assert!(
        info.auto_increment_base.unwrap_or(0) > SBTEST_ROWS as u64,
        "AUTO_INCREMENT not rebased: {:?}",
        info.auto_increment_base
    );
    assert!(
        tc.cluster().regions().len() > 10,
        "tables span many regions"
    );
    for (id, _) in &tc.cluster().addrs().stores {
        assert_eq!(
            tc.cluster().store_mode(*id),
            0,
            "store {id} left in import mode"
        );
    }
    assert!(tc.cluster().paused_schedulers().is_empty());
    assert!(tc.cluster().label_rules().is_empty());
    let left: Vec<_> = std::fs::read_dir(work.path().join("sorted-kv"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "engines left in sorted-kv-dir: {left:?}");
    let fired = tc.cluster().fired_faults().len();
    assert!(
        fired >= faults.len(),
        "only {fired} faults fired of {faults:?}"
    );
    let analyzed = tc.tidb().analyzed_tables();
    assert_eq!(analyzed.len(), 2, "ANALYZE TABLE per table: {analyzed:?}");
    tc.shutdown().await;
    (seconds, statements)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_imports_sql_and_csv() {
    let (seconds, statements) = import(&[], "").await;
    assert!(!statements.iter().any(|s| s.contains("ADMIN CHECKSUM")));
    eprintln!("local import took {seconds:.2}s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_survives_busy_and_not_leader() {
    import(
        &[
            "ingest:server-is-busy:next=3",
            "write:not-leader:next=2",
            "split-region:epoch-not-match:next=1",
        ],
        "",
    )
    .await;
}

/// `checksum-via-sql`: the remote checksum comes from `ADMIN CHECKSUM TABLE`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_checksum_via_sql() {
    let (_, statements) = import(&[], "checksum-via-sql = true").await;
    let checksums = statements
        .iter()
        .filter(|s| s.starts_with("ADMIN CHECKSUM TABLE"))
        .count();
    assert_eq!(checksums, 2, "{statements:?}");
}

/// A source with a duplicate primary key: TiKV keeps one pair, the local checksum counts
/// both, so `checksum = "required"` fails naming the table and both checksums, and the
/// stores are still switched back to normal mode, the label rule removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_checksum_mismatch_fails_and_reverts_import_mode() {
    let tc = TestCluster::start(TestClusterOptions::default())
        .await
        .expect("start the simulated cluster");
    let work = tempfile::tempdir().expect("tempdir");
    let dump = work.path().join("dump");
    std::fs::create_dir_all(&dump).unwrap();
    std::fs::write(
        dump.join(format!("{DB}-schema-create.sql")),
        format!("CREATE DATABASE `{DB}`;\n"),
    )
    .unwrap();
    std::fs::write(
        dump.join(format!("{DB}.dup-schema.sql")),
        "CREATE TABLE `dup` (`id` int NOT NULL, `v` int, PRIMARY KEY (`id`));\n",
    )
    .unwrap();
    std::fs::write(
        dump.join(format!("{DB}.dup.sql")),
        "INSERT INTO `dup` VALUES (1,1),(2,2),(1,3);\n",
    )
    .unwrap();
    let config = write_config(&tc, work.path(), "");
    let run = |config: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            Command::new(LIGHTNING)
                .args(["--backend", "local", "-config"])
                .arg(&config)
                .output()
                .expect("running tidb-lightning")
        })
    };
    let out = run(config.clone()).await.unwrap();
    assert!(
        !out.status.success(),
        "a checksum mismatch must fail the import"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("checksum mismatched for `e2e_local`.`dup`: local crc")
            && stderr.contains("kvs 3")
            && stderr.contains("remote crc"),
        "{stderr}"
    );
    for (id, _) in &tc.cluster().addrs().stores {
        assert_eq!(
            tc.cluster().store_mode(*id),
            0,
            "store {id} left in import mode"
        );
    }
    assert!(tc.cluster().label_rules().is_empty());
    // The pairs are in: a second run finds the table not empty.
    let again = run(config).await.unwrap();
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("target tables are not empty: `e2e_local`.`dup`"),
        "{stderr}"
    );
    tc.shutdown().await;
}

/// SIGTERM while ranges are being ingested (every ingest slowed down): the import stops,
/// and the stores are back in normal mode and the label rule gone when it exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_stopped_by_sigterm_reverts_import_mode() {
    let tc = TestCluster::start(TestClusterOptions::default())
        .await
        .expect("start the simulated cluster");
    tc.cluster()
        .inject("ingest:slow=2s:p=1".parse::<FaultRule>().unwrap());
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(work.path().join("dump")).unwrap();
    write_dump(&work.path().join("dump"));
    let config = write_config(&tc, work.path(), "");
    let log = work.path().join("lightning.log");
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        let child = Command::new(LIGHTNING)
            .args(["--backend", "local", "-config"])
            .arg(&config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("running tidb-lightning");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("ingesting engine")
        {
            assert!(std::time::Instant::now() < deadline, "no ingest started");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stopped before the import finished"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the stop took too long"
    );
    for (id, _) in &tc.cluster().addrs().stores {
        assert_eq!(
            tc.cluster().store_mode(*id),
            0,
            "store {id} left in import mode"
        );
    }
    assert!(tc.cluster().label_rules().is_empty());
    tc.shutdown().await;
}
