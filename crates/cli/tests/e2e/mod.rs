//! Helpers for `e2e_dumps.rs`: build the source database, take its fingerprint, run the
//! dump tools and `tidb-lightning` against one shared private MariaDB.

use lightning_testkit::MariaDb;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

/// The binary under test.
pub const LIGHTNING: &str = env!("CARGO_BIN_EXE_tidb-lightning");

/// The source tables (see the file's header for the rules it follows).
const SOURCE_SQL: &str = include_str!("source.sql");

/// The sql_mode the source is built with: no strict mode and no NO_ZERO_DATE / NO_ZERO_IN_DATE,
/// so zero dates ('0000-00-00', '2020-00-15') can be stored.
const SOURCE_SQL_MODE: &str = "NO_ENGINE_SUBSTITUTION";

/// The one server every variant uses; each variant works in a database of its own.
pub fn server() -> &'static MariaDb {
    MariaDb::shared()
}

/// Runs SQL on the shared server, panicking with the server's message on failure.
pub fn sql(text: &str) -> String {
    server().query(text).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Creates database `db` (utf8mb4) holding the tables of `source.sql`.
pub fn build_source(db: &str) {
    let text = format!(
        "SET NAMES utf8mb4;\nSET SESSION sql_mode = '{SOURCE_SQL_MODE}';\n\
         DROP DATABASE IF EXISTS `{db}`;\n\
         CREATE DATABASE `{db}` DEFAULT CHARACTER SET utf8mb4;\nUSE `{db}`;\n{SOURCE_SQL}"
    );
    sql(&text);
}

/// `CHECKSUM TABLE` and `COUNT(*)` of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Print {
    /// The `CHECKSUM TABLE` value.
    pub checksum: String,
    /// The row count.
    pub rows: u64,
}

/// The fingerprint of every table of `db`, by table name.
pub fn fingerprint(db: &str) -> BTreeMap<String, Print> {
    let tables: Vec<String> = sql(&format!("SHOW TABLES FROM `{db}`"))
        .lines()
        .map(str::to_string)
        .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let q = format!("CHECKSUM TABLE `{db}`.`{t}`; SELECT COUNT(*) FROM `{db}`.`{t}`;");
        let res = sql(&q);
        let lines: Vec<&str> = res.lines().collect();
        let checksum = lines[0]
            .split('\t')
            .nth(1)
            .expect("checksum column")
            .to_string();
        let rows = lines[1].trim().parse().expect("count");
        out.insert(t, Print { checksum, rows });
    }
    out
}

/// Runs a MySQL-protocol tool (mydumper, mariadb-dump) against the shared server.
pub fn tool(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(server().conn_args())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Writes the `tidb-lightning` config for importing `dir` into the shared server, with
/// `extra` TOML appended (sections it names must not be the ones written here).
pub fn write_config(dir: &Path, work: &Path, extra: &str) -> std::path::PathBuf {
    let s = server();
    // The upstream default sql-mode: it has neither NO_ZERO_DATE nor NO_ZERO_IN_DATE nor strict
    // mode, which the zero dates of `times` ('0000-00-00', '2020-00-15') need on MariaDB.
    let toml = format!(
        "[lightning]\nfile = {log:?}\nlevel = \"info\"\n\n\
         [checkpoint]\nenable = false\n\n\
         [tikv-importer]\nbackend = \"tidb\"\n\n\
         [tidb]\nhost = {host:?}\nport = {port}\nuser = \"root\"\npassword = \"\"\n\
         sql-mode = \"ONLY_FULL_GROUP_BY,NO_AUTO_CREATE_USER\"\n\n\
         [mydumper]\ndata-source-dir = {dir:?}\n\n{extra}\n",
        log = work.join("lightning.log").display().to_string(),
        host = s.host(),
        port = s.port(),
        dir = dir.display().to_string(),
    );
    let path = work.join("lightning.toml");
    std::fs::write(&path, toml).expect("writing the config");
    path
}

/// Runs `tidb-lightning --backend tidb -config <config>`.
pub fn lightning(config: &Path) -> Output {
    Command::new(LIGHTNING)
        .args(["--backend", "tidb", "-config"])
        .arg(config)
        .output()
        .expect("running tidb-lightning")
}

/// Asserts an import succeeded, showing its output and log tail otherwise.
pub fn assert_success(out: &Output, work: &Path) {
    if !out.status.success() {
        let log = std::fs::read_to_string(work.join("lightning.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        panic!(
            "tidb-lightning failed ({}):\nstdout: {}\nstderr: {}\nlog tail:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
}

/// The whole round trip: fingerprint `db`, dump it with `dump` into a fresh folder, drop it,
/// import the folder with `extra` config, and compare every table's fingerprint.
pub fn round_trip(db: &str, extra: &str, dump: impl FnOnce(&Path)) {
    let before = fingerprint(db);
    assert!(before.len() >= 9, "source tables: {before:?}");
    let work = tempfile::Builder::new()
        .prefix("e2e-dumps-")
        .tempdir()
        .expect("tempdir");
    let dir = work.path().join("dump");
    std::fs::create_dir_all(&dir).expect("dump dir");
    dump(&dir);
    sql(&format!("DROP DATABASE `{db}`"));
    let config = write_config(&dir, work.path(), extra);
    let out = lightning(&config);
    assert_success(&out, work.path());
    let after = fingerprint(db);
    assert_eq!(
        after, before,
        "{db}: fingerprints after the import differ from the source"
    );
    sql(&format!("DROP DATABASE `{db}`"));
}
