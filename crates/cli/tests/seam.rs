//! The backend seam's conformance suite (in the style of tikv's `engine_traits_tests`): the
//! same cases run through the real `tidb-lightning` against every backend — `tidb` into a
//! private MariaDB, `local` into the simulated cluster (PD + 3 TiKV stores + TiDB's SQL
//! face) — and assert the same rows, except where a backend documents a difference (the
//! error text of a duplicate key; `ignore`, which the physical backend refuses as
//! upstream's does).
//!
//! Cases: an empty table beside a full one; a table cut into many chunks over many data
//! engines; duplicate keys under each `[conflict] strategy`; imports SIGKILLed at seeded
//! random moments (at a seeded log line from the first on, or a seeded time from the start
//! to two thirds of an uninterrupted run's duration: before the first checkpoint, between
//! lifecycle steps, in post-process) and rerun until they finish, every table exact; the
//! same for one chunk running alone with spare slots (tidb: extra writers, batches
//! committed out of order).

mod conformance_common;
mod kills;

use conformance_common::merge;
use kills::{run_with_kills, run_with_kills_at_lines, seeds, text};
use lightning_testkit::sim::{OwnedCluster, TestCluster, TestClusterOptions};
use lightning_testkit::MariaDb;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LIGHTNING: &str = env!("CARGO_BIN_EXE_tidb-lightning");

/// One backend's target, as a case sees it.
trait Harness {
    /// `tidb` or `local`.
    fn backend(&self) -> &'static str;
    /// The target and backend keys of a config (they win over the case's).
    fn keys(&self, work: &Path) -> String;
    /// The rows of `q` as `mysql -N -B` prints them, newline-separated, trimmed.
    fn query(&self, q: &str) -> String;
    /// What a failed import says about a duplicate of primary key value `id`.
    fn duplicate_error(&self, id: i64) -> String;
}

/// `tidb` into the shared test MariaDB (each case in databases of its own).
struct Tidb;

impl Harness for Tidb {
    fn backend(&self) -> &'static str {
        "tidb"
    }

    fn keys(&self, _work: &Path) -> String {
        format!(
            "[tidb]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\npassword = \"\"\n\
             [tikv-importer]\nbackend = \"tidb\"\n",
            MariaDb::shared().port()
        )
    }

    fn query(&self, q: &str) -> String {
        let out = MariaDb::shared()
            .query(q)
            .unwrap_or_else(|e| panic!("{q}: {e:#}"));
        out.trim_end().to_string()
    }

    fn duplicate_error(&self, id: i64) -> String {
        format!("Duplicate entry '{id}' for key 'PRIMARY'")
    }
}

/// `local` into a simulated cluster of its own.
struct Local(OwnedCluster);

impl Local {
    fn new() -> Local {
        Local(
            OwnedCluster::start(TestClusterOptions::default())
                .expect("start the simulated cluster"),
        )
    }

    fn tc(&self) -> &TestCluster {
        self.0.tc()
    }
}

impl Harness for Local {
    fn backend(&self) -> &'static str {
        "local"
    }

    fn keys(&self, work: &Path) -> String {
        let tidb = self.tc().tidb();
        format!(
            "[tidb]\nhost = \"127.0.0.1\"\nport = {}\nstatus-port = {}\npd-addr = {:?}\n\
             user = \"root\"\npassword = \"\"\n\
             [tikv-importer]\nbackend = \"local\"\nsorted-kv-dir = {:?}\n\
             [post-restore]\nchecksum = \"required\"\n",
            tidb.addr().port(),
            tidb.status_addr().port(),
            self.tc().cluster().addrs().pd,
            work.join("sorted-kv").display().to_string(),
        )
    }

    fn query(&self, q: &str) -> String {
        self.tc()
            .tidb()
            .query_text(q)
            .unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn duplicate_error(&self, id: i64) -> String {
        format!("duplicate keys found and [conflict] strategy = \"error\": PRIMARY (handle {id})")
    }
}

/// Writes a config for `data`: the case's `extra` TOML, then the harness keys, then the
/// log, checkpoint and data folder of `work`.
fn config(h: &dyn Harness, work: &Path, data: &Path, extra: &str) -> PathBuf {
    let mut t: toml::Table = extra.parse().expect("extra TOML");
    merge(&mut t, h.keys(work).parse().expect("harness TOML"));
    let own = format!(
        "[lightning]\nfile = {:?}\n[checkpoint]\nenable = true\ndriver = \"file\"\ndsn = {:?}\n\
         [mydumper]\ndata-source-dir = {:?}\n",
        work.join("lightning.log").display().to_string(),
        work.join("checkpoint.pb").display().to_string(),
        data.display().to_string(),
    );
    merge(&mut t, own.parse().expect("own TOML"));
    let path = work.join("tidb-lightning.toml");
    std::fs::write(&path, toml::to_string(&t).expect("serialize")).expect("write config");
    path
}

fn lightning(cfg: &Path) -> Output {
    Command::new(LIGHTNING)
        .arg("--config")
        .arg(cfg)
        .output()
        .expect("run tidb-lightning")
}

fn tmp(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir")
}

/// Writes `files` into a dump folder under `work`.
fn dump(work: &Path, files: &[(String, String)]) -> PathBuf {
    let dir = work.join("dump");
    std::fs::create_dir_all(&dir).expect("dump dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("write a dump file");
    }
    dir
}

fn schema(db: &str, table: &str, columns: &str) -> Vec<(String, String)> {
    vec![
        (
            format!("{db}-schema-create.sql"),
            format!("CREATE DATABASE `{db}`;\n"),
        ),
        (
            format!("{db}.{table}-schema.sql"),
            format!("CREATE TABLE `{table}` ({columns});\n"),
        ),
    ]
}

fn empty_table_beside_a_full_one(h: &dyn Harness) {
    let db = format!("seam_empty_{}", h.backend());
    let work = tmp("seam-empty-");
    let mut files = schema(&db, "e", "`id` int NOT NULL PRIMARY KEY, `v` varchar(8)");
    files.extend(schema(
        &db,
        "s",
        "`id` int NOT NULL PRIMARY KEY, `v` varchar(8)",
    ));
    files.push((format!("{db}.e.000000000.sql"), String::new()));
    files.push((
        format!("{db}.s.000000000.sql"),
        "INSERT INTO `s` VALUES (1,'a'),(2,'b'),(3,NULL);\n".into(),
    ));
    let data = dump(work.path(), &files);
    let out = lightning(&config(h, work.path(), &data, ""));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(h.query(&format!("SELECT COUNT(*) FROM `{db}`.`e`")), "0");
    assert_eq!(
        h.query(&format!("SELECT id, v FROM `{db}`.`s` ORDER BY id")),
        "1\ta\n2\tb\n3\tNULL"
    );
}

/// The `chunks = n` / `engines = n` fields of the "importing table" log line.
fn logged(log: &str, field: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.contains("importing table"))
        .unwrap_or_else(|| panic!("no \"importing table\" line in\n{log}"));
    let at = line
        .find(&format!("{field}="))
        .unwrap_or_else(|| panic!("no {field} in {line}"));
    let rest = &line[at + field.len() + 1..];
    rest.chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("{field} in {line}"))
}

fn many_chunks_in_many_engines(h: &dyn Harness) {
    let db = format!("seam_chunks_{}", h.backend());
    let work = tmp("seam-chunks-");
    let mut files = schema(
        &db,
        "t",
        "`id` int NOT NULL PRIMARY KEY, `v` varchar(40) NOT NULL",
    );
    let mut id = 0;
    for f in 0..3 {
        let mut csv = String::new();
        for _ in 0..400 {
            id += 1;
            csv.push_str(&format!("{id},row {id} of file {f}\n"));
        }
        files.push((format!("{db}.t.{f:09}.csv"), csv));
    }
    let data = dump(work.path(), &files);
    let extra = "[mydumper]\nstrict-format = true\nmax-region-size = 2048\nbatch-size = 12000\n\
                 [mydumper.csv]\nheader = false\n";
    let out = lightning(&config(h, work.path(), &data, extra));
    assert!(out.status.success(), "{}", text(&out));
    let log = std::fs::read_to_string(work.path().join("lightning.log")).expect("log");
    assert!(
        logged(&log, "chunks") >= 9,
        "3 files of ~8 KB in 2 KB chunks"
    );
    // One engine for the logical backend; data engines of `batch-size` for the physical.
    let engines = logged(&log, "engines");
    match h.backend() {
        "tidb" => assert_eq!(engines, 1),
        _ => assert!(engines >= 2, "{engines} engines"),
    }
    assert_eq!(
        h.query(&format!(
            "SELECT COUNT(*), SUM(id), MIN(id), MAX(id) FROM `{db}`.`t`"
        )),
        "1200\t720600\t1\t1200"
    );
    assert_eq!(
        h.query(&format!("SELECT v FROM `{db}`.`t` WHERE id = 777")),
        "row 777 of file 1"
    );
}

fn duplicate_keys_under_each_strategy(h: &dyn Harness) {
    for strategy in ["error", "replace", "ignore"] {
        let db = format!("seam_dup_{strategy}_{}", h.backend());
        let work = tmp("seam-dup-");
        let mut files = schema(
            &db,
            "d",
            "`id` int NOT NULL PRIMARY KEY, `v` varchar(8) NOT NULL",
        );
        // One file: the order of its rows is the source order on every backend (chunks
        // of different files run concurrently on the logical one).
        files.push((
            format!("{db}.d.000000000.sql"),
            "INSERT INTO `d` VALUES (1,'a1'),(2,'a2'),(3,'a3');\n\
             INSERT INTO `d` VALUES (2,'b2'),(4,'b4');\n"
                .into(),
        ));
        let data = dump(work.path(), &files);
        let extra = format!("[conflict]\nstrategy = \"{strategy}\"\n");
        let out = lightning(&config(h, work.path(), &data, &extra));
        let rows = || h.query(&format!("SELECT id, v FROM `{db}`.`d` ORDER BY id"));
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        match (strategy, h.backend()) {
            ("error", _) => {
                assert!(!out.status.success(), "{strategy}: {}", text(&out));
                let want = h.duplicate_error(2);
                assert!(err.contains(&want), "{strategy}: want {want:?} in {err}");
            }
            ("replace", _) => {
                assert!(out.status.success(), "{strategy}: {}", text(&out));
                assert_eq!(rows(), "1\ta1\n2\tb2\n3\ta3\n4\tb4", "later rows win");
            }
            ("ignore", "tidb") => {
                assert!(out.status.success(), "{strategy}: {}", text(&out));
                assert_eq!(rows(), "1\ta1\n2\ta2\n3\ta3\n4\tb4", "earlier rows stay");
            }
            _ => {
                // A config the backend cannot honour: exit 2, naming the key.
                assert_eq!(out.status.code(), Some(2), "{strategy}: {}", text(&out));
                assert!(
                    err.contains("conflict.strategy cannot be set to \"ignore\""),
                    "{strategy}: {err}"
                );
                // Refused before anything was created.
                let q = format!(
                    "SELECT schema_name FROM information_schema.schemata WHERE schema_name IN ('{db}')"
                );
                assert_eq!(h.query(&q), "");
            }
        }
    }
}

/// The kill suite's tables: a primary key, no unique key at all (a row written twice
/// would show in the count), a unique key.
const KILL_TABLES: [(&str, &str); 3] = [
    ("pk", "`id` int NOT NULL, `k` int NOT NULL, `v` varchar(48) NOT NULL, PRIMARY KEY (`id`), KEY `kk` (`k`)"),
    ("nopk", "`id` int NOT NULL, `v` varchar(48) NOT NULL, KEY `ki` (`id`)"),
    ("uk", "`a` int NOT NULL, `id` int NOT NULL, `v` varchar(48), UNIQUE KEY `u` (`a`,`id`)"),
];
const KILL_FILES: usize = 4;
const KILL_ROWS: usize = 600;

fn kill_dump(db: &str, work: &Path) -> PathBuf {
    let mut files = vec![(
        format!("{db}-schema-create.sql"),
        format!("CREATE DATABASE `{db}`;\n"),
    )];
    for (t, cols) in KILL_TABLES {
        files.push((
            format!("{db}.{t}-schema.sql"),
            format!("CREATE TABLE `{t}` ({cols});\n"),
        ));
        let mut n = 0;
        for f in 0..KILL_FILES {
            let mut text = String::new();
            // Several statements per file: a resumed chunk restarts at a statement.
            for _ in 0..6 {
                text.push_str(&format!("INSERT INTO `{t}` VALUES\n"));
                let rows: Vec<String> = (0..KILL_ROWS / 6)
                    .map(|_| {
                        n += 1;
                        let v = format!("'row {n} of {t}'");
                        match t {
                            "pk" => format!("({n},{},{v})", (n * 7919) % 1000),
                            "uk" => format!("({},{n},{v})", n % 97),
                            _ => format!("({n},{v})"),
                        }
                    })
                    .collect();
                text.push_str(&rows.join(",\n"));
                text.push_str(";\n");
            }
            files.push((format!("{db}.{t}.{f:09}.sql"), text));
        }
    }
    dump(work, &files)
}

fn killed_at_random_moments_resumes_exactly(h: &dyn Harness) {
    let n = (KILL_FILES * KILL_ROWS) as u64;
    // Small batches and frequent saves: many commits and records for the kills to land
    // between.
    let extra = "[tikv-importer]\nlogical-import-batch-rows = 40\n\
                 [lightning]\nregion-concurrency = 4\n";
    let tables: Vec<&str> = KILL_TABLES.iter().map(|t| t.0).collect();
    kill_rounds(h, "kill", extra, &kill_dump, &tables, n, &|_| {});
}

/// One keyed table in one file of many batches, with 8 region slots: the chunk runs
/// alone, so (tidb) spare slots lend it more writers and its batches commit out of order;
/// kills at random moments then leave committed batches past the recorded position,
/// which a resume writes again with `REPLACE`.
fn one_chunk_with_spare_writers_resumes_exactly(h: &dyn Harness) {
    const ROWS: usize = 20_000;
    let dump = |db: &str, work: &Path| {
        let mut files = schema(db, "pk", KILL_TABLES[0].1);
        let mut text = String::new();
        for s in 0..(ROWS / 100) {
            text.push_str("INSERT INTO `pk` VALUES\n");
            let rows: Vec<String> = (1..=100)
                .map(|i| {
                    let n = s * 100 + i;
                    format!("({n},{},'row {n}')", (n * 7919) % 1000)
                })
                .collect();
            text.push_str(&rows.join(",\n"));
            text.push_str(";\n");
        }
        files.push((format!("{db}.pk.000000001.sql"), text));
        self::dump(work, &files)
    };
    let extra = "[tikv-importer]\nlogical-import-batch-rows = 20\n\
                 [lightning]\nregion-concurrency = 8\n";
    let backend = h.backend();
    kill_rounds(h, "spare", extra, &dump, &["pk"], ROWS as u64, &|log| {
        // The physical backend writes each chunk into its engine with one writer.
        let lent = log.contains("a spare region slot lends the chunk a writer");
        assert_eq!(lent, backend == "tidb", "{log}");
    });
}

/// Imports `make_dump`'s `tables` (each with ids 1..=n) once uninterrupted (its log goes
/// to `check_reference`), then for each seed SIGKILLs an import at seeded moments and
/// reruns it until it finishes: every table must hold exactly ids 1..=n.
fn kill_rounds(
    h: &dyn Harness,
    label: &str,
    extra: &str,
    make_dump: &dyn Fn(&str, &Path) -> PathBuf,
    tables: &[&str],
    n: u64,
    check_reference: &dyn Fn(&str),
) {
    let want = format!("{n}\t{}\t{n}", n * (n + 1) / 2);
    let command = |cfg: &Path| {
        let mut c = Command::new(LIGHTNING);
        c.arg("--config").arg(cfg);
        c.env("TIDB_LIGHTNING_CHUNK_SAVE_INTERVAL_MS", "20");
        c
    };
    // An uninterrupted run: how many log lines a whole import writes.
    let reference = tmp("seam-kill-ref-");
    let db = format!("seam_{label}_{}_ref", h.backend());
    let cfg = config(
        h,
        reference.path(),
        &make_dump(&db, reference.path()),
        extra,
    );
    let started = std::time::Instant::now();
    let out = command(&cfg).output().expect("run tidb-lightning");
    let took_ms = started.elapsed().as_millis() as u64;
    assert!(out.status.success(), "reference: {}", text(&out));
    let log =
        std::fs::read_to_string(reference.path().join("lightning.log")).expect("reference log");
    check_reference(&log);
    let lines = log.lines().count() as u64;
    let (mut landed, mut equal) = (0, 0);
    let seeds = seeds(&[7, 11, 13, 17]);
    for (i, &seed) in seeds.iter().enumerate() {
        let db = format!("seam_{label}_{}_{seed}", h.backend());
        let work = tmp("seam-kill-");
        let cfg = config(h, work.path(), &make_dump(&db, work.path()), extra);
        let log = work.path().join("lightning.log");
        // Kill moments from the first line on (before any checkpoint) to the last, or
        // (every other seed) from the start to two thirds of the reference run's duration.
        let (k, finished) = if i % 2 == 0 {
            run_with_kills_at_lines(|| command(&cfg), &log, seed, 6, lines)
        } else {
            run_with_kills(|| command(&cfg), seed, 6, (took_ms * 2 / 3).max(50))
        };
        landed += k;
        if !finished {
            let out = lightning(&cfg);
            assert!(
                out.status.success() || kills::finished_before_kill(&out),
                "seed {seed}: {}",
                text(&out)
            );
        }
        for t in tables {
            let got = h.query(&format!(
                "SELECT COUNT(*), SUM(id), MAX(id) FROM `{db}`.`{t}`"
            ));
            assert_eq!(got, want, "seed {seed} table {t} after {k} kills");
            equal += 1;
        }
    }
    kills::report(
        h.backend(),
        &format!("seam-{label}"),
        seeds.len(),
        landed,
        equal,
        seeds.len() * tables.len(),
    );
    // A resumed run has less left to do, so later rounds land less often; at least one
    // kill per seed on average keeps the suite from passing without killing anything.
    assert!(landed >= seeds.len(), "only {landed} kills landed");
}

/// Instantiates every case for every backend.
macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        mod tidb {
            $(#[test] fn $case() { super::$case(&super::Tidb) })*
        }
        mod local {
            $(#[test] fn $case() { super::$case(&super::Local::new()) })*
        }
    };
}

suite!(
    empty_table_beside_a_full_one,
    many_chunks_in_many_engines,
    duplicate_keys_under_each_strategy,
    killed_at_random_moments_resumes_exactly,
    one_chunk_with_spare_writers_resumes_exactly,
);
