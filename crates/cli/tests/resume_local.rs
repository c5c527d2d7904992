//! Checkpoints end to end with the physical `local` backend against the simulated cluster:
//! imports killed with SIGKILL at seeded random moments (while encoding, closing, ingesting
//! or post-processing) and restarted until they finish, with the file and the mysql driver
//! (the latter on the test MariaDB). Afterwards every table's `ADMIN CHECKSUM TABLE` and
//! `COUNT(*)` equal those of an uninterrupted import of the same dump into a fresh cluster
//! (same table ids, so the same keys), every store is in normal mode, the last run left no
//! scheduling pause of its own, and `sorted-kv-dir` holds no engine.
//!
//! Each kill that lands is counted; the suite asserts at least 20 landed over both drivers.
//! `LIGHTNING_CRASH_SEEDS=n` runs n seeds per driver instead (`scripts/crash_suite.sh`).
//!
//! Also: a table that fails (a row the encoder rejects) is recorded failed, the rerun
//! refuses it, and `tidb-lightning-ctl --checkpoint-error-ignore` / `--checkpoint-error-destroy`
//! behave as documented; engines a failed ingest left are imported and removed with
//! `--import-engine` / `--cleanup-engine`.

mod kills;

use kills::{ctl, finished_before_kill, seeds, text};
use lightning_testkit::cluster::SimOptions;
use lightning_testkit::sim::{TestCluster, TestClusterOptions};
use lightning_testkit::MariaDb;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const LIGHTNING: &str = env!("CARGO_BIN_EXE_tidb-lightning");
const DB: &str = "crash_local";

/// (table, columns): an integer handle with a secondary index, `_tidb_rowid` rows with an
/// index (a row written twice would show in `COUNT(*)`), and a unique index.
const TABLES: [(&str, &str); 3] = [
    (
        "pk",
        "`id` int NOT NULL, `k` int NOT NULL, `v` varchar(64) NOT NULL, PRIMARY KEY (`id`), KEY `kk` (`k`)",
    ),
    ("nopk", "`a` int NOT NULL, `v` varchar(64) NOT NULL, KEY `ka` (`a`)"),
    (
        "uk",
        "`a` int NOT NULL, `b` int NOT NULL, `v` varchar(64) DEFAULT NULL, UNIQUE KEY `u` (`a`,`b`)",
    ),
];
const FILES: usize = 4;
const ROWS_PER_FILE: usize = 500;

/// What a crash suite runs besides the plain import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Plain,
    /// `[conflict] strategy = "replace"` with a table whose rows conflict on its primary
    /// and unique keys, within and across files.
    Replace,
    /// A `disk-quota` far below the sorted data: engines import parts early.
    DiskQuota,
}

impl Variant {
    /// The tables of its dump.
    fn tables(self) -> Vec<(&'static str, &'static str)> {
        let mut t = TABLES.to_vec();
        if self == Variant::Replace {
            t.push((
                "dup",
                "`id` int NOT NULL, `u` int NOT NULL, `v` varchar(64) NOT NULL, PRIMARY KEY (`id`), UNIQUE KEY `uu` (`u`)",
            ));
        }
        t
    }

    /// Its settings, added to a config's text.
    fn configure(self, toml: String) -> String {
        match self {
            Variant::Plain => toml,
            Variant::Replace => toml + "\n[conflict]\nstrategy = \"replace\"\n",
            Variant::DiskQuota => {
                toml.replace(
                    "[tikv-importer]\n",
                    "[tikv-importer]\ndisk-quota = \"256KiB\"\nlocal-writer-mem-cache-size = \"32KiB\"\nengine-mem-cache-size = \"128KiB\"\n",
                ) + "\n[cron]\ncheck-disk-quota = \"20ms\"\n"
            }
        }
    }
}

fn make_dump(dir: &Path) {
    make_dump_for(dir, Variant::Plain)
}

fn make_dump_for(dir: &Path, variant: Variant) {
    std::fs::create_dir_all(dir).unwrap();
    let w = |name: String, text: &str| std::fs::write(dir.join(name), text).unwrap();
    w(
        format!("{DB}-schema-create.sql"),
        &format!("CREATE DATABASE `{DB}`;\n"),
    );
    for (t, cols) in variant.tables() {
        w(
            format!("{DB}.{t}-schema.sql"),
            &format!("CREATE TABLE `{t}` ({cols});\n"),
        );
        let mut n = 0;
        for f in 0..FILES {
            let mut text = String::new();
            // Several statements per file: a resumed chunk restarts at a statement.
            for stmt in 0..5 {
                text.push_str(&format!("INSERT INTO `{t}` VALUES\n"));
                let rows = ROWS_PER_FILE / 5;
                for r in 0..rows {
                    n += 1;
                    let v = format!("'row {n} of {t} (file {f}, statement {stmt})'");
                    let tuple = match t {
                        "pk" => format!("({n},{},{v})", (n * 7919) % 1000),
                        "uk" => format!("({},{n},{v})", n % 97),
                        "dup" => format!("({},{},{v})", n % 700 + 1, (n * 7) % 900),
                        _ => format!("({},{v})", n % 50),
                    };
                    text.push_str(&tuple);
                    text.push_str(if r + 1 == rows { ";\n" } else { ",\n" });
                }
            }
            w(format!("{DB}.{t}.{f:09}.sql"), &text);
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Driver {
    File,
    Mysql,
}

fn write_config(tc: &TestCluster, work: &Path, driver: Driver, tag: &str) -> PathBuf {
    write_config_with(tc, work, driver, tag, "")
}

fn write_config_for(
    tc: &TestCluster,
    work: &Path,
    driver: Driver,
    tag: &str,
    variant: Variant,
) -> PathBuf {
    let path = write_config(tc, work, driver, tag);
    let toml = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, variant.configure(toml)).unwrap();
    path
}

/// As [`write_config`], with `lightning` appended to the `[lightning]` section and
/// `[tidb] sql-mode` strict (a value that does not fit its column fails the row).
fn write_config_with(
    tc: &TestCluster,
    work: &Path,
    driver: Driver,
    tag: &str,
    lightning: &str,
) -> PathBuf {
    let checkpoint = match driver {
        Driver::File => format!(
            "driver = \"file\"\ndsn = {:?}\n",
            work.join("cp.pb").display().to_string()
        ),
        Driver::Mysql => {
            let m = MariaDb::shared();
            format!(
                "driver = \"mysql\"\ndsn = \"root:@tcp({}:{})/\"\nschema = \"{tag}_cp\"\n",
                m.host(),
                m.port()
            )
        }
    };
    let toml = format!(
        "[lightning]\nfile = {log:?}\nlevel = \"info\"\nregion-concurrency = 2\n{lightning}\n\n\
         [checkpoint]\nenable = true\n{checkpoint}\n\
         [tikv-importer]\nbackend = \"local\"\nsorted-kv-dir = {kv:?}\nregion-split-keys = 150\nrange-concurrency = 2\n\n\
         [tidb]\nhost = \"127.0.0.1\"\nport = {port}\nstatus-port = {status}\npd-addr = {pd:?}\nuser = \"root\"\npassword = \"\"\nsql-mode = \"STRICT_TRANS_TABLES\"\n\n\
         [post-restore]\nchecksum = \"required\"\nanalyze = \"optional\"\n\n\
         [mydumper]\ndata-source-dir = {dir:?}\nbatch-size = 40000\n",
        log = work.join("lightning.log").display().to_string(),
        kv = work.join("sorted-kv").display().to_string(),
        port = tc.tidb().addr().port(),
        status = tc.tidb().status_addr().port(),
        pd = tc.cluster().addrs().pd,
        dir = work.join("dump").display().to_string(),
    );
    let path = work.join("lightning.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn lightning(config: &Path) -> Command {
    let mut c = Command::new(LIGHTNING);
    c.arg("--config").arg(config);
    // Chunks record their position often, so kills land between mid-chunk checkpoints.
    c.env("TIDB_LIGHTNING_CHUNK_SAVE_INTERVAL_MS", "20");
    c
}

/// Per table: id, `ADMIN CHECKSUM TABLE` (crc, kvs, bytes) and `COUNT(*)`.
fn fingerprint(tc: &TestCluster) -> Vec<(String, i64, [String; 3], String)> {
    fingerprint_for(tc, Variant::Plain)
}

fn fingerprint_for(tc: &TestCluster, variant: Variant) -> Vec<(String, i64, [String; 3], String)> {
    variant
        .tables()
        .iter()
        .map(|(t, _)| {
            let q = |sql: String| {
                tc.tidb()
                    .query(&sql)
                    .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
            };
            let sum = q(format!("ADMIN CHECKSUM TABLE `{DB}`.`{t}`"));
            let cell = |i: usize| sum[0][i].clone().unwrap_or_default();
            let count = q(format!("SELECT COUNT(*) FROM `{DB}`.`{t}`"));
            let id = tc.tidb().table_info(DB, t).map_or(-1, |i| i.id);
            (
                t.to_string(),
                id,
                [cell(2), cell(3), cell(4)],
                count[0][0].clone().unwrap_or_default(),
            )
        })
        .collect()
}

async fn fresh_cluster() -> TestCluster {
    TestCluster::start(TestClusterOptions {
        cluster: SimOptions {
            stores: 3,
            region_split_keys: 150,
            ..SimOptions::default()
        },
        ..TestClusterOptions::default()
    })
    .await
    .expect("start the simulated cluster")
}

/// The fingerprint of an uninterrupted import of the dump.
async fn reference() -> Vec<(String, i64, [String; 3], String)> {
    reference_logged(Variant::Plain).await.0
}

/// As [`reference`], with how many lines the import logged.
async fn reference_logged(variant: Variant) -> (Vec<(String, i64, [String; 3], String)>, u64) {
    let tc = fresh_cluster().await;
    let work = tempfile::tempdir().unwrap();
    make_dump_for(&work.path().join("dump"), variant);
    let cfg = write_config_for(&tc, work.path(), Driver::File, "ref", variant);
    let out = tokio::task::spawn_blocking(move || lightning(&cfg).output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "reference import: {}", text(&out));
    let log = std::fs::read_to_string(work.path().join("lightning.log")).unwrap();
    let lines = log.lines().count() as u64;
    let sign = match variant {
        Variant::Plain => "table imported",
        Variant::Replace => "conflicting row replaced",
        Variant::DiskQuota => "engine part imported and removed",
    };
    assert!(log.contains(sign), "{variant:?}: no {sign:?} in the log");
    let fp = fingerprint_for(&tc, variant);
    for (t, _, sum, count) in &fp {
        if t == "dup" {
            // Replaced rows are gone: at most 700 ids are left, fewer as unique keys clash.
            let n: usize = count.parse().unwrap();
            assert!(n > 100 && n <= 700, "{t}: {n} rows");
        } else {
            assert_eq!(count, &(FILES * ROWS_PER_FILE).to_string(), "{t}");
        }
        assert_ne!(sum[1], "0", "{t}");
    }
    tc.shutdown().await;
    (fp, lines)
}

/// One seed: a fresh cluster, the dump imported under kills (each once the run logged a
/// seeded number of lines, up to `max_lines`), then compared.
async fn crash_run(
    driver: Driver,
    seed: u64,
    max_lines: u64,
    want: &[(String, i64, [String; 3], String)],
    variant: Variant,
) -> (usize, usize) {
    let tc = fresh_cluster().await;
    let work = tempfile::tempdir().unwrap();
    make_dump_for(&work.path().join("dump"), variant);
    let tag = format!("crash_local_{seed}");
    if let Driver::Mysql = driver {
        MariaDb::shared()
            .query(&format!("DROP DATABASE IF EXISTS `{tag}_cp`"))
            .unwrap();
    }
    let cfg = write_config_for(&tc, work.path(), driver, &tag, variant);
    let (cfg2, log) = (cfg.clone(), work.path().join("lightning.log"));
    let (landed, finished) = tokio::task::spawn_blocking(move || {
        kills::run_with_kills_at_lines(|| lightning(&cfg2), &log, seed, 7, max_lines)
    })
    .await
    .unwrap();
    if !finished {
        // Pauses the killed runs left expire by their TTL; the last run must leave none.
        let before: BTreeSet<String> = tc.cluster().label_rules().into_iter().collect();
        let cfg3 = cfg.clone();
        let out = tokio::task::spawn_blocking(move || lightning(&cfg3).output().unwrap())
            .await
            .unwrap();
        assert!(
            out.status.success() || finished_before_kill(&out),
            "{driver:?} seed {seed}: final run: {}\nlog tail:\n{}",
            text(&out),
            log_tail(work.path())
        );
        let after: BTreeSet<String> = tc.cluster().label_rules().into_iter().collect();
        assert!(
            after.is_subset(&before),
            "the last run left a pause: {after:?} vs {before:?}"
        );
    }
    eprintln!("{variant:?} {driver:?} seed {seed}: {landed} kills landed");
    let got = fingerprint_for(&tc, variant);
    let equal = kills::equal_tables(&got, want);
    assert_eq!(got, want, "{variant:?} {driver:?} seed {seed}");
    for (id, _) in &tc.cluster().addrs().stores {
        assert_eq!(
            tc.cluster().store_mode(*id),
            0,
            "store {id} left in import mode"
        );
    }
    assert!(tc.cluster().paused_schedulers().is_empty());
    let left: Vec<_> = std::fs::read_dir(work.path().join("sorted-kv"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "engines left in sorted-kv-dir: {left:?}");
    if let Driver::Mysql = driver {
        MariaDb::shared()
            .query(&format!("DROP DATABASE IF EXISTS `{tag}_cp`"))
            .unwrap();
    }
    tc.shutdown().await;
    (landed, equal)
}

fn log_tail(work: &Path) -> String {
    let log = std::fs::read_to_string(work.join("lightning.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_resumes_after_kills_with_both_drivers() {
    let (want, lines) = reference_logged(Variant::Plain).await;
    // Kills land anywhere in the first two thirds of an uninterrupted run's log, whatever
    // the machine's speed; a resumed run has less to do, so later kills may miss.
    let max_lines = (lines * 2 / 3).max(5);
    eprintln!("an uninterrupted import logged {lines} lines; kills within {max_lines}");
    let mut total = 0;
    let mut runs = String::new();
    for (driver, default) in [
        (Driver::File, &[5u64, 17, 29][..]),
        (Driver::Mysql, &[41, 53, 67][..]),
    ] {
        let (mut kills, mut equal, seeds) = (0, 0, seeds(default));
        for &seed in &seeds {
            let (landed, eq) = crash_run(driver, seed, max_lines, &want, Variant::Plain).await;
            writeln!(runs, "{driver:?} {seed}: {landed}").unwrap();
            kills += landed;
            equal += eq;
        }
        let suite = format!("{driver:?}").to_lowercase();
        let tables = seeds.len() * want.len();
        kills::report("local", &suite, seeds.len(), kills, equal, tables);
        total += kills;
    }
    assert!(total >= 20, "only {total} kills landed:\n{runs}");
}

/// `replace` and `disk-quota` under kills: resolution found again from the engines a
/// killed run left, parts imported early and their engines resumed, the same tables as an
/// uninterrupted import with the same settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_resumes_replace_and_disk_quota_after_kills() {
    let mut total = 0;
    let mut runs = String::new();
    for variant in [Variant::Replace, Variant::DiskQuota] {
        let (want, lines) = reference_logged(variant).await;
        let max_lines = (lines * 2 / 3).max(5);
        let (mut kills, mut equal, seeds) = (0, 0, seeds(&[7, 19]));
        for &seed in &seeds {
            let (landed, eq) = crash_run(Driver::File, seed, max_lines, &want, variant).await;
            writeln!(runs, "{variant:?} {seed}: {landed}").unwrap();
            kills += landed;
            equal += eq;
        }
        let suite = format!("{variant:?}").to_lowercase();
        let tables = seeds.len() * want.len();
        kills::report("local", &suite, seeds.len(), kills, equal, tables);
        total += kills;
    }
    assert!(total >= 6, "only {total} kills landed:\n{runs}");
}

async fn run(config: &Path) -> Output {
    let cfg = config.to_path_buf();
    tokio::task::spawn_blocking(move || lightning(&cfg).output().unwrap())
        .await
        .unwrap()
}

/// Engine directories under `sorted-kv-dir`.
fn engines_in(work: &Path) -> Vec<String> {
    std::fs::read_dir(work.join("sorted-kv"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The dump plus one row of `pk` whose `k` is not a number (file 2, first statement).
fn make_bad_dump(dir: &Path) {
    make_dump(dir);
    let f = dir.join(format!("{DB}.pk.000000002.sql"));
    let text = std::fs::read_to_string(&f).unwrap();
    let head = "INSERT INTO `pk` VALUES\n";
    let bad = text.replacen(head, &format!("{head}(999999,'oops','bad row'),\n"), 1);
    assert_ne!(bad, text);
    std::fs::write(&f, bad).unwrap();
}

fn count(tc: &TestCluster, t: &str) -> u64 {
    let r = tc
        .tidb()
        .query(&format!("SELECT COUNT(*) FROM `{DB}`.`{t}`"))
        .unwrap();
    r[0][0].as_deref().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_table_is_refused_until_the_ctl_clears_it() {
    for clear in [
        "--checkpoint-error-ignore=all",
        "--checkpoint-error-destroy=all",
    ] {
        let tc = fresh_cluster().await;
        let work = tempfile::tempdir().unwrap();
        make_bad_dump(&work.path().join("dump"));
        let cfg = write_config(&tc, work.path(), Driver::File, "failed");
        let out = run(&cfg).await;
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "the bad row must fail: {}",
            text(&out)
        );
        assert!(
            err.contains(&format!("{DB}.pk.000000002.sql")) && err.contains("oops"),
            "the error names the file and the value: {err}"
        );
        let out = run(&cfg).await;
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success() && err.contains("tidb-lightning-ctl"),
            "{}",
            text(&out)
        );

        let failed = format!("`{DB}`.`pk`");
        let of_failed = |left: Vec<String>| -> Vec<String> {
            let mine: Vec<String> = (-1..8)
                .map(|id| lightning_engine::engine_uuid(&failed, id).to_string())
                .collect();
            left.into_iter().filter(|u| mine.contains(u)).collect()
        };
        let before = of_failed(engines_in(work.path()));
        assert!(
            !before.is_empty(),
            "the failed table's engines stay for the rerun"
        );
        let out = ctl(&cfg, &[clear]);
        assert!(out.status.success(), "{clear}: {}", text(&out));
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        if clear.contains("destroy") {
            assert!(said.contains("local engine(s) removed"), "{said}");
            let left = of_failed(engines_in(work.path()));
            assert!(
                left.is_empty(),
                "the failed table's engines left after destroy: {left:?}"
            );
        }
        // Allow the one bad row: the import finishes without it.
        let cfg = write_config_with(&tc, work.path(), Driver::File, "failed", "max-error = 1");
        let out = run(&cfg).await;
        assert!(
            out.status.success(),
            "{clear}: rerun: {}\n{}",
            text(&out),
            log_tail(work.path())
        );
        let rows = (FILES * ROWS_PER_FILE) as u64;
        assert_eq!(count(&tc, "pk"), rows, "{clear}: the bad row is left out");
        assert_eq!(count(&tc, "uk"), rows);
        let log = std::fs::read_to_string(work.path().join("lightning.log")).unwrap();
        assert!(log.contains("checksum matched"), "{clear}");
        tc.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_imports_and_cleans_up_a_leftover_engine() {
    let tc = fresh_cluster().await;
    let work = tempfile::tempdir().unwrap();
    make_dump(&work.path().join("dump"));
    let cfg = write_config(&tc, work.path(), Driver::File, "engines");
    // Every ingest fails: the closed engines stay in sorted-kv-dir.
    tc.cluster().inject("ingest:disk-full:p=1".parse().unwrap());
    let out = run(&cfg).await;
    assert!(!out.status.success(), "{}", text(&out));
    let left = engines_in(work.path());
    assert!(!left.is_empty(), "a failed ingest keeps its engines");
    tc.cluster().clear_faults();
    let out = ctl(
        &cfg,
        &["--import-engine", "00000000-0000-0000-0000-000000000000"],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no engine"),
        "{}",
        text(&out)
    );
    let before = tc.cluster().scan(b"", b"").len();
    for uuid in &left {
        let out = ctl(&cfg, &["--import-engine", uuid]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("imported"),
            "{}",
            text(&out)
        );
    }
    let after = tc.cluster().scan(b"", b"").len();
    assert!(
        after > before,
        "the engines' pairs reached the stores ({before} -> {after})"
    );
    for (id, _) in &tc.cluster().addrs().stores {
        assert_eq!(
            tc.cluster().store_mode(*id),
            0,
            "store {id} left in import mode"
        );
    }
    for uuid in &left {
        let out = ctl(&cfg, &[&format!("--cleanup-engine={uuid}")]);
        assert!(out.status.success(), "{}", text(&out));
    }
    assert!(engines_in(work.path()).is_empty());
    tc.shutdown().await;
}

/// A second SIGTERM exits at once (while the first stop is still switching the stores back),
/// leaving a checkpoint the rerun resumes from to the same result as an uninterrupted run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_signal_exits_at_once_and_the_rerun_finishes() {
    let want = reference().await;
    let tc = fresh_cluster().await;
    let work = tempfile::tempdir().unwrap();
    make_dump(&work.path().join("dump"));
    let cfg = write_config(&tc, work.path(), Driver::File, "signal");
    tc.cluster().inject("ingest:slow=3s:p=1".parse().unwrap());
    let log = work.path().join("lightning.log");
    let cfg2 = cfg.clone();
    let child = tokio::task::spawn_blocking(move || {
        let child = lightning(&cfg2)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tidb-lightning");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("ingesting engine")
        {
            assert!(Instant::now() < deadline, "no ingest started");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    })
    .await
    .unwrap();
    // The first stop will hang in switching the stores back to normal mode.
    tc.cluster()
        .inject("switch-mode:slow=10s:p=1".parse().unwrap());
    let out = tokio::task::spawn_blocking(move || {
        let term = |pid: u32| {
            let ok = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .unwrap();
            assert!(ok.success());
        };
        term(child.id());
        std::thread::sleep(Duration::from_millis(300));
        let second = Instant::now();
        term(child.id());
        let out = child.wait_with_output().unwrap();
        (out, second.elapsed())
    })
    .await
    .unwrap();
    let (out, took) = out;
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("second signal"));
    assert!(
        took < Duration::from_secs(3),
        "exit after the second signal took {took:?}"
    );
    tc.cluster().clear_faults();
    let out = run(&cfg).await;
    assert!(
        out.status.success(),
        "rerun: {}\n{}",
        text(&out),
        log_tail(work.path())
    );
    assert_eq!(fingerprint(&tc), want);
    for (id, _) in &tc.cluster().addrs().stores {
        assert_eq!(
            tc.cluster().store_mode(*id),
            0,
            "store {id} left in import mode"
        );
    }
    tc.shutdown().await;
}
