//! Checkpoints end to end with the logical `tidb` backend against the test MariaDB: imports
//! killed with SIGKILL at seeded random moments and restarted until they finish (file and
//! mysql drivers; tables with and without a primary key), failed tables and the
//! `tidb-lightning-ctl` commands that clear them, and refusals of checkpoints whose source
//! changed.

mod kills;

use kills::{ctl, finished_before_kill, seeds, text, Rng};
use lightning_testkit::MariaDb;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const LIGHTNING: &str = env!("CARGO_BIN_EXE_tidb-lightning");

fn server() -> &'static MariaDb {
    MariaDb::shared()
}

fn sql(text: &str) -> String {
    server().query(text).unwrap_or_else(|e| panic!("{e:#}"))
}

/// The tables of a dump: (name, columns DDL, has a primary key).
const TABLES: [(&str, &str, bool); 3] = [
    (
        "pk",
        "id INT NOT NULL PRIMARY KEY, v VARCHAR(64) NOT NULL, KEY kv (v)",
        true,
    ),
    (
        "nopk",
        "a INT NOT NULL, v VARCHAR(64) NOT NULL, KEY ka (a), KEY kav (a, v(8))",
        false,
    ),
    (
        "uk",
        "a INT NOT NULL, b INT NOT NULL, v VARCHAR(64), UNIQUE KEY u (a, b)",
        true,
    ),
];

/// Writes a dump of database `db`: each table gets `files` data files of `stmts` INSERT
/// statements of `rows` rows each. Also builds the same data in `{db}_src` on the server,
/// to compare checksums with.
fn make_dump(dir: &Path, db: &str, files: usize, stmts: usize, rows: usize) {
    make_dump_as(dir, db, files, stmts, rows, Kind::Sql)
}

/// How data files are written.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Sql,
    /// CSV with a header line (`stmts` is ignored: one record per row).
    Csv,
    /// SQL, gzip-compressed.
    SqlGz,
}

fn make_dump_as(dir: &Path, db: &str, files: usize, stmts: usize, rows: usize, kind: Kind) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(format!("{db}-schema-create.sql")),
        format!("CREATE DATABASE `{db}`;\n"),
    )
    .unwrap();
    let mut src = format!(
        "DROP DATABASE IF EXISTS `{db}`; DROP DATABASE IF EXISTS `{db}_src`; \
         CREATE DATABASE `{db}_src`; USE `{db}_src`;\n"
    );
    for (t, cols, _) in TABLES {
        let ddl = format!("CREATE TABLE `{t}` ({cols});\n");
        std::fs::write(dir.join(format!("{db}.{t}-schema.sql")), &ddl).unwrap();
        src.push_str(&ddl);
        let mut n = 0;
        for f in 0..files {
            let mut text = String::new();
            let mut csv = match t {
                "uk" => "a,b,v\n".to_string(),
                "pk" => "id,v\n".to_string(),
                _ => "a,v\n".to_string(),
            };
            for _ in 0..stmts {
                text.push_str(&format!("INSERT INTO `{t}` VALUES\n"));
                for r in 0..rows {
                    n += 1;
                    let v = format!("'row {n} of {t}, with some text'");
                    let tuple = match t {
                        "uk" => format!("({},{},{v})", n % 97, n),
                        _ => format!("({n},{v})"),
                    };
                    let quoted = format!("\"row {n} of {t}, with some text\"");
                    csv.push_str(&match t {
                        "uk" => format!("{},{},{quoted}\n", n % 97, n),
                        _ => format!("{n},{quoted}\n"),
                    });
                    text.push_str(&tuple);
                    text.push_str(if r + 1 == rows { ";\n" } else { ",\n" });
                }
            }
            src.push_str(&text);
            let name = |ext: &str| dir.join(format!("{db}.{t}.{f:09}.{ext}"));
            match kind {
                Kind::Sql => std::fs::write(name("sql"), text).unwrap(),
                Kind::Csv => std::fs::write(name("csv"), csv).unwrap(),
                Kind::SqlGz => {
                    use std::io::Write;
                    let file = std::fs::File::create(name("sql.gz")).unwrap();
                    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
                    gz.write_all(text.as_bytes()).unwrap();
                    gz.finish().unwrap();
                }
            }
        }
    }
    sql(&src);
}

/// `CHECKSUM TABLE` and `COUNT(*)` of every table of `db`.
fn fingerprint(db: &str) -> Vec<(String, String, u64)> {
    TABLES
        .iter()
        .map(|(t, _, _)| {
            let res = sql(&format!(
                "CHECKSUM TABLE `{db}`.`{t}`; SELECT COUNT(*) FROM `{db}`.`{t}`;"
            ));
            let lines: Vec<&str> = res.lines().collect();
            let sum = lines[0].split('\t').nth(1).unwrap().to_string();
            (t.to_string(), sum, lines[1].trim().parse().unwrap())
        })
        .collect()
}

/// Every index of `db`'s tables: (table, index, position, column, prefix, non-unique).
fn indexes(db: &str) -> String {
    sql(&format!(
        "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, NON_UNIQUE \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '{db}' ORDER BY 1, 2, 3"
    ))
}

/// Asserts `db` equals `{db}_src` (rows and indexes: the secondary ones, added after the
/// rows, are there however the runs were killed) and no row appears twice in the
/// key-less table; returns how many tables were compared.
fn assert_same_as_source(db: &str) -> usize {
    let (got, want) = (fingerprint(db), fingerprint(&format!("{db}_src")));
    let equal = kills::equal_tables(&got, &want);
    assert_eq!(got, want);
    assert_eq!(
        indexes(db),
        indexes(&format!("{db}_src")),
        "indexes of {db}"
    );
    let dup = sql(&format!(
        "SELECT COUNT(*) FROM (SELECT a, v FROM `{db}`.`nopk` GROUP BY a, v HAVING COUNT(*) > 1) d"
    ));
    assert_eq!(dup.trim(), "0", "rows appear twice in {db}.nopk");
    equal
}

enum Driver {
    File,
    Mysql,
}

fn write_config(work: &Path, data: &Path, driver: &Driver, db: &str, extra: &str) -> PathBuf {
    let s = server();
    let checkpoint = match driver {
        Driver::File => format!(
            "driver = \"file\"\ndsn = {:?}\n",
            work.join("cp.pb").display().to_string()
        ),
        Driver::Mysql => format!("driver = \"mysql\"\nschema = \"{db}_cp\"\n"),
    };
    let toml = format!(
        "[lightning]\nfile = {log:?}\nlevel = \"info\"\nregion-concurrency = 2\n\n\
         [checkpoint]\nenable = true\n{checkpoint}\n\
         [tikv-importer]\nbackend = \"tidb\"\nlogical-import-batch-rows = 40\n\n\
         [tidb]\nhost = {host:?}\nport = {port}\nuser = \"root\"\npassword = \"\"\n\n\
         [mydumper]\ndata-source-dir = {dir:?}\n\n{extra}\n",
        log = work.join("lightning.log").display().to_string(),
        host = s.host(),
        port = s.port(),
        dir = data.display().to_string(),
    );
    let path = work.join("lightning.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn lightning(config: &Path) -> Output {
    Command::new(LIGHTNING)
        .arg("--config")
        .arg(config)
        .output()
        .expect("running tidb-lightning")
}

/// Runs the import under `kills` seeded kills (each after a seeded delay up to `max_ms`),
/// then lets it finish. Returns how many kills landed.
fn run_with_kills(config: &Path, seed: u64, kills: usize, max_ms: u64) -> usize {
    let start = || {
        let mut c = Command::new(LIGHTNING);
        c.arg("--config").arg(config);
        c
    };
    let (landed, finished) = kills::run_with_kills(start, seed, kills, max_ms);
    if !finished {
        let out = lightning(config);
        assert!(
            out.status.success() || finished_before_kill(&out),
            "seed {seed}: final run: {}",
            text(&out)
        );
    }
    landed
}

/// How long an uninterrupted import of such a dump takes (into a throwaway database).
fn reference_duration(driver: &Driver, prefix: &str, kind: Kind) -> Duration {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("{prefix}_ref");
    let data = tmp.path().join("data");
    make_dump_as(&data, &db, 3, 10, 100, kind);
    if let Driver::Mysql = driver {
        sql(&format!("DROP DATABASE IF EXISTS `{db}_cp`"));
    }
    let cfg = write_config(tmp.path(), &data, driver, &db, "");
    let started = Instant::now();
    let out = lightning(&cfg);
    let took = started.elapsed();
    assert!(out.status.success(), "reference import: {}", text(&out));
    sql(&format!(
        "DROP DATABASE `{db}`; DROP DATABASE `{db}_src`; DROP DATABASE IF EXISTS `{db}_cp`"
    ));
    took
}

/// One crash test: `seeds.len()` dumps, each imported under kills.
fn crash_suite(driver: Driver, prefix: &str, seeds: &[u64]) {
    crash_suite_as(driver, prefix, seeds, Kind::Sql)
}

fn crash_suite_as(driver: Driver, prefix: &str, default_seeds: &[u64], kind: Kind) {
    let seeds = seeds(default_seeds);
    // Kills land within the first two thirds of an uninterrupted run's time, measured
    // here, so they land on a fast machine as on a loaded one.
    let took = reference_duration(&driver, prefix, kind);
    let max_ms = (took.as_millis() as u64 * 2 / 3).max(50);
    eprintln!("an uninterrupted import took {took:?}; kills within {max_ms} ms");
    let (mut total, mut equal) = (0, 0);
    for &seed in &seeds {
        let tmp = tempfile::tempdir().unwrap();
        let db = format!("{prefix}_{seed}");
        let data = tmp.path().join("data");
        make_dump_as(&data, &db, 3, 10, 100, kind);
        if let Driver::Mysql = driver {
            sql(&format!("DROP DATABASE IF EXISTS `{db}_cp`"));
        }
        let cfg = write_config(tmp.path(), &data, &driver, &db, "");
        let landed = run_with_kills(&cfg, seed, 6, max_ms);
        eprintln!("seed {seed}: {landed} kills landed");
        total += landed;
        equal += assert_same_as_source(&db);
        sql(&format!(
            "DROP DATABASE `{db}`; DROP DATABASE `{db}_src`; DROP DATABASE IF EXISTS `{db}_cp`"
        ));
    }
    kills::report(
        "tidb",
        prefix.trim_start_matches("resume_"),
        seeds.len(),
        total,
        equal,
        seeds.len() * TABLES.len(),
    );
    assert!(total >= seeds.len(), "too few kills landed: {total}");
}

#[test]
fn crash_and_resume_file_driver() {
    crash_suite(Driver::File, "resume_file", &[11, 23, 37, 41]);
}

#[test]
fn crash_and_resume_csv_with_header() {
    crash_suite_as(Driver::File, "resume_csv", &[7, 19], Kind::Csv);
}

#[test]
fn crash_and_resume_gzip_sql() {
    crash_suite_as(Driver::Mysql, "resume_gz", &[3, 31], Kind::SqlGz);
}

#[test]
fn crash_and_resume_mysql_driver() {
    crash_suite(Driver::Mysql, "resume_mysql", &[5, 17, 29, 43]);
}

/// A finished run removes its checkpoint, so the same command run again finds full tables
/// it has never seen. The key-less table is refused (a plain INSERT would add each row a
/// second time) and nothing is written; a keyed table is not: as upstream's tidb backend,
/// it is imported into, its rows already there kept, a conflict reported by the server.
#[test]
fn rerun_after_a_finished_import_refuses_only_the_keyless_table() {
    let db = "resume_rerun_finished";
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    make_dump(&data, db, 1, 2, 10);
    let cfg = write_config(tmp.path(), &data, &Driver::File, db, "");
    let out = lightning(&cfg);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !tmp.path().join("cp.pb").exists(),
        "the checkpoint is removed"
    );
    let out = lightning(&cfg);
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("target tables are not empty: `{db}`.`nopk`;")),
        "{err}"
    );
    assert!(err.contains("keep-after-success"), "{err}");
    assert_same_as_source(db);
    // Keyed tables holding rows that do not conflict are appended to.
    sql(&format!(
        "TRUNCATE `{db}`.`nopk`; DELETE FROM `{db}`.`pk`; TRUNCATE `{db}`.`uk`; \
         INSERT INTO `{db}`.`pk` VALUES (100000, 'kept'); INSERT INTO `{db}`.`uk` VALUES (1000, 1000, 'kept')"
    ));
    let out = lightning(&cfg);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        sql(&format!(
            "SELECT COUNT(*), SUM(id = 100000) FROM `{db}`.`pk`; SELECT COUNT(*) FROM `{db}`.`uk`; \
             SELECT COUNT(*) FROM `{db}`.`nopk`"
        )),
        "21\t1\n21\n20\n"
    );
    // A conflicting row fails the task with the server's duplicate-key error.
    sql(&format!("TRUNCATE `{db}`.`nopk`"));
    let out = lightning(&cfg);
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("Duplicate entry"), "{err}");
    sql(&format!("DROP DATABASE `{db}`; DROP DATABASE `{db}_src`"));
}

/// `add-index-by-sql` (on by default for the tidb backend): a table this task creates is
/// created without its plain secondary indexes, which are added once its rows are in; a
/// table that existed before is left as it is; `false` creates them with the table.
#[test]
fn secondary_indexes_are_added_after_the_rows_of_tables_this_task_creates() {
    let db = "resume_add_index";
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    make_dump(&data, db, 2, 2, 10);
    // `pk` exists already, without its secondary index: it stays without.
    sql(&format!(
        "CREATE DATABASE `{db}`; CREATE TABLE `{db}`.`pk` (id INT NOT NULL PRIMARY KEY, v VARCHAR(64) NOT NULL)"
    ));
    let cfg = write_config(tmp.path(), &data, &Driver::File, db, "");
    let out = lightning(&cfg);
    assert!(out.status.success(), "{}", text(&out));
    let log = std::fs::read_to_string(tmp.path().join("lightning.log")).unwrap();
    let deferred: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("creating the table without its secondary indexes"))
        .collect();
    assert_eq!(deferred.len(), 1, "{log}");
    assert!(
        deferred[0].contains(&format!("{db}.nopk")) && deferred[0].contains("kav"),
        "{log}"
    );
    assert_eq!(log.matches("secondary indexes added").count(), 1, "{log}");
    assert_eq!(fingerprint(db), fingerprint(&format!("{db}_src")));
    let without_kv = indexes(&format!("{db}_src"))
        .lines()
        .filter(|l| !l.starts_with("pk\tkv\t"))
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    assert_eq!(indexes(db), without_kv);
    assert_eq!(
        sql(&format!(
            "SELECT COUNT(*) FROM lightning_task_info.deferred_index_v1 WHERE table_schema = '{db}'"
        ))
        .trim(),
        "0",
        "the records are removed once the indexes are in"
    );
    // Off: the tables are created whole.
    sql(&format!("DROP DATABASE `{db}`"));
    let cfg = write_config(tmp.path(), &data, &Driver::File, db, "");
    let toml = std::fs::read_to_string(&cfg).unwrap().replace(
        "logical-import-batch-rows = 40\n",
        "logical-import-batch-rows = 40\nadd-index-by-sql = false\n",
    );
    std::fs::write(&cfg, toml).unwrap();
    std::fs::remove_file(tmp.path().join("lightning.log")).unwrap();
    let out = lightning(&cfg);
    assert!(out.status.success(), "{}", text(&out));
    let log = std::fs::read_to_string(tmp.path().join("lightning.log")).unwrap();
    assert!(!log.contains("without its secondary indexes"), "{log}");
    assert_same_as_source(db);
    sql(&format!("DROP DATABASE `{db}`; DROP DATABASE `{db}_src`"));
}

/// A dump whose `pk` table has a row the target rejects (too long for VARCHAR(64) under
/// strict mode), imported once: the run fails and the table is recorded as failed. Returns
/// the work dir, the config and the bad file.
fn failed_import(db: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    make_dump(&data, db, 1, 2, 10);
    let bad = data.join(format!("{db}.pk.000000009.sql"));
    std::fs::write(
        &bad,
        format!("INSERT INTO `pk` VALUES (100000,'{}');\n", "x".repeat(100)),
    )
    .unwrap();
    let cfg = write_config(tmp.path(), &data, &Driver::File, db, "");
    let c = std::fs::read_to_string(&cfg).unwrap().replace(
        "password = \"\"\n",
        "password = \"\"\nsql-mode = \"STRICT_ALL_TABLES\"\n",
    );
    std::fs::write(&cfg, c).unwrap();
    let out = lightning(&cfg);
    assert!(!out.status.success(), "{}", text(&out));
    // The next run refuses, naming the table and the ctl command.
    let out = lightning(&cfg);
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("`{db}`.`pk`")), "{err}");
    assert!(err.contains("tidb-lightning-ctl"), "{err}");
    (tmp, cfg, bad)
}

#[test]
fn failed_table_then_error_ignore_continues_past_the_refused_row() {
    let db = "resume_failed_ignore";
    let (tmp, cfg, _bad) = failed_import(db);
    // The dump shows the failure (status 3: failed while pending).
    let dump = tmp.path().join("dump");
    let o = ctl(&cfg, &["--checkpoint-dump", dump.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let tables = std::fs::read_to_string(dump.join("tables.csv")).unwrap();
    assert!(tables.contains(&format!("`{db}`.`pk`")), "{tables}");
    // error-ignore keeps the progress made: the refused row (logged) stays out.
    let o = ctl(&cfg, &[&format!("--checkpoint-error-ignore=`{db}`.`pk`")]);
    assert!(o.status.success(), "{}", text(&o));
    let out = lightning(&cfg);
    assert!(out.status.success(), "{}", text(&out));
    assert_same_as_source(db);
    sql(&format!("DROP DATABASE `{db}`; DROP DATABASE `{db}_src`"));
}

#[test]
fn failed_table_then_error_destroy_drops_and_reimports_it() {
    let db = "resume_failed_destroy";
    let (_tmp, cfg, bad) = failed_import(db);
    let o = ctl(&cfg, &["-checkpoint-error-destroy=all"]);
    assert!(o.status.success(), "{}", text(&o));
    let tables = sql(&format!("SHOW TABLES FROM `{db}`"));
    assert!(!tables.lines().any(|l| l == "pk"), "{tables}");
    // Fixed source: the table is imported from scratch, the others resume.
    std::fs::remove_file(&bad).unwrap();
    let out = lightning(&cfg);
    assert!(out.status.success(), "{}", text(&out));
    assert_same_as_source(db);
    sql(&format!("DROP DATABASE `{db}`; DROP DATABASE `{db}_src`"));
}

/// Imports `db` keeping its checkpoint (`keep-after-success = "origin"`), so a later run
/// resumes it and compares its source with the one recorded.
fn finished_with_checkpoint(db: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    make_dump(&data, db, 2, 2, 10);
    let cfg = write_config(tmp.path(), &data, &Driver::File, db, "");
    let c = std::fs::read_to_string(&cfg).unwrap().replace(
        "enable = true\n",
        "enable = true\nkeep-after-success = \"origin\"\n",
    );
    std::fs::write(&cfg, c).unwrap();
    let out = lightning(&cfg);
    assert!(out.status.success(), "{}", text(&out));
    // Unchanged: the rerun finds every table finished and writes nothing.
    let out = lightning(&cfg);
    assert!(out.status.success(), "{}", text(&out));
    assert_same_as_source(db);
    (tmp, cfg, data)
}

fn assert_refused(cfg: &Path, needles: &[&str]) {
    let out = lightning(cfg);
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in {err}");
    }
}

#[test]
fn changed_data_dir_is_refused() {
    let db = "resume_mismatch_dir";
    let (tmp, cfg, data) = finished_with_checkpoint(db);
    let moved = tmp.path().join("data2");
    std::fs::rename(&data, &moved).unwrap();
    let c = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("{:?}", data.display().to_string()),
        &format!("{:?}", moved.display().to_string()),
    );
    std::fs::write(&cfg, c).unwrap();
    assert_refused(
        &cfg,
        &["mydumper.data-source-dir", "different from checkpoint"],
    );
    sql(&format!("DROP DATABASE `{db}`; DROP DATABASE `{db}_src`"));
}

#[test]
fn changed_table_schema_is_refused() {
    let db = "resume_mismatch_schema";
    let (_tmp, cfg, data) = finished_with_checkpoint(db);
    std::fs::write(
        data.join(format!("{db}.nopk-schema.sql")),
        "CREATE TABLE `nopk` (a BIGINT NOT NULL, v VARCHAR(64) NOT NULL);\n",
    )
    .unwrap();
    assert_refused(
        &cfg,
        &[
            &format!("`{db}`.`nopk`"),
            "its schema changed",
            "tidb-lightning-ctl --checkpoint-remove",
        ],
    );
    sql(&format!("DROP DATABASE `{db}`; DROP DATABASE `{db}_src`"));
}

#[test]
fn changed_data_file_is_refused() {
    let db = "resume_mismatch_file";
    let (_tmp, cfg, data) = finished_with_checkpoint(db);
    let f = data.join(format!("{db}.pk.000000001.sql"));
    let mut t = std::fs::read_to_string(&f).unwrap();
    t.push_str("INSERT INTO `pk` VALUES (999999,'added later');\n");
    std::fs::write(&f, t).unwrap();
    assert_refused(
        &cfg,
        &[
            &format!("`{db}`.`pk`"),
            "its data files changed",
            "tidb-lightning-ctl --checkpoint-remove",
        ],
    );
    sql(&format!("DROP DATABASE `{db}`; DROP DATABASE `{db}_src`"));
}

#[test]
fn sigterm_stops_with_a_resume_hint_and_the_rerun_finishes() {
    let db = "resume_sigterm";
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Large enough that the import is still running when the signal lands (a run that
    // finished first removes its checkpoint, and the rerun then rightly refuses the
    // non-empty key-less table).
    make_dump(&data, db, 3, 60, 100);
    let cfg = write_config(tmp.path(), &data, &Driver::File, db, "");
    let child = Command::new(LIGHTNING)
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until rows arrive, then ask it to stop.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let n = server()
            .query(&format!("SELECT COUNT(*) FROM `{db}`.`pk`"))
            .unwrap_or_default();
        if n.trim().parse::<u64>().unwrap_or(0) > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "the import finished before the signal: {err}"
    );
    assert!(
        err.contains("run the same command again to resume"),
        "{err}"
    );
    let out = lightning(&cfg);
    assert!(out.status.success(), "{}", text(&out));
    assert_same_as_source(db);
    sql(&format!("DROP DATABASE `{db}`; DROP DATABASE `{db}_src`"));
}

/// Aborts the import exactly between a batch's commit and the recording of its position
/// (the window a resume replays), at seeded commit counts, several times in a row; tables
/// with a primary key, a unique key and no key must each end up with every row once.
#[test]
fn abort_between_commit_and_checkpoint_is_replayed_exactly_once() {
    for (driver, prefix) in [
        (Driver::File, "resume_window_file"),
        (Driver::Mysql, "resume_window_mysql"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let db = prefix;
        let data = tmp.path().join("data");
        make_dump(&data, db, 2, 5, 100);
        sql(&format!("DROP DATABASE IF EXISTS `{db}_cp`"));
        let cfg = write_config(tmp.path(), &data, &driver, db, "");
        let mut rng = Rng(0x5eed ^ db.len() as u64);
        let mut aborted = 0;
        for _ in 0..8 {
            let n = 1 + rng.below(12);
            let out = Command::new(LIGHTNING)
                .arg("--config")
                .arg(&cfg)
                .env("TIDB_LIGHTNING_TEST_ABORT_AFTER_COMMITS", n.to_string())
                .output()
                .unwrap();
            if out.status.success() {
                break;
            }
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("test crash point"), "{}", text(&out));
            aborted += 1;
        }
        assert!(aborted >= 4, "{db}: only {aborted} aborts");
        let out = lightning(&cfg);
        assert!(out.status.success(), "{}", text(&out));
        assert_same_as_source(db);
        sql(&format!(
            "DROP DATABASE `{db}`; DROP DATABASE `{db}_src`; DROP DATABASE IF EXISTS `{db}_cp`"
        ));
    }
}
