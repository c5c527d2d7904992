//! Conformance: TiDB Lightning's own integration-test cases (the corpus in
//! `shared/conformance/lightning-tests`, transcribed from pingcap/br `tests/lightning_*`)
//! run through the real `tidb-lightning` binary with the logical backend (`--backend tidb`)
//! against a private MariaDB, asserting what each case's `expected.txt` says as SQL queries
//! with exact results.
//!
//! One fresh server per case (cases reuse database names); libtest runs the cases on its
//! thread pool. Each run gets a config written to a temp dir: the case's own TOML merged
//! with the target, `backend = "tidb"`, a log file, checkpoints off and the data folder.
//!
//! Cases NOT run here, and why:
//! - lightning_alter_random, lightning_auto_random_default: AUTO_RANDOM (TiDB only).
//! - lightning_common_handle: clustered index / common handle (TiDB only).
//! - lightning_shard_rowid: SHARD_ROW_ID_BITS (TiDB only).
//! - lightning_tiflash: TiFlash replicas (TiDB only).
//! - lightning_checkpoint_dirty_tableid, lightning_checkpoint_error_destroy: checkpoints
//!   and crash/resume of the physical path (`resume.rs` covers the logical one).
//! - lightning_checkpoint_engines_order, lightning_local_backend, lightning_disk_quota:
//!   local (physical) backend only: engines, ingest retries, disk quota.
//! - lightning_duplicate_detection: local-backend duplicate detection; upstream disabled.
//! - lightning_s3, lightning_gcs: object storage sources.
//! - lightning_parquet, lightning_checkpoint_parquet: Parquet (not implemented yet; the
//!   latter's data is not in the corpus either).
//!
//! Cases run partially, and why:
//! - lightning_tidb_rowid: MariaDB has no `_tidb_rowid`; the values the dump gives it are
//!   dropped, as the row ids TiDB would keep cannot be asserted; the rows and the
//!   AUTO_INCREMENT table options are.
//! - lightning_checkpoint_timestamp: its rows are `VALUES ()`, all DEFAULTs, which the
//!   server fills per statement here; one time for the whole task (`COUNT(DISTINCT ts) =
//!   1`) is what encoding backends give (`conformance_local.rs`), so only the rows are
//!   asserted.
//! - lightning_checkpoint, lightning_checkpoint_chunks, lightning_checkpoint_engines,
//!   lightning_checkpoint_columns: the import alone (checkpoints off), checking the final data.
//! - lightning_generated_columns: tables `nested` and `virtual_only` only; MariaDB rejects
//!   `expr_index` (functional index) and `various_types` (3-argument AES_ENCRYPT).
//! - lightning_incremental: without table `auto_random` (AUTO_RANDOM).
//! - lightning_tool_1472: without table `pk` (`PRIMARY KEY CLUSTERED` is TiDB syntax).
//! - lightning_sqlmode: MariaDB's non-strict conversions differ from TiDB's in places; the
//!   logical backend sends the dump's literals, so the server's result is asserted.

mod conformance_common;

use conformance_common::{black_white_list_data, databases, exec, tables_of, Target};
use lightning_testkit::MariaDb;
use std::cell::Cell;
use std::path::Path;

/// One case: its own MariaDB and temp dir.
struct Case {
    name: &'static str,
    db: MariaDb,
    tmp: tempfile::TempDir,
    runs: Cell<u32>,
}

impl Case {
    fn new(name: &'static str) -> Case {
        Case {
            name,
            db: start_mariadb(),
            tmp: tempfile::Builder::new()
                .prefix("conformance-")
                .tempdir()
                .expect("temp dir"),
            runs: Cell::new(0),
        }
    }
}

impl Target for Case {
    fn case_name(&self) -> &str {
        self.name
    }

    fn sql(&self, q: &str) -> String {
        self.db
            .query(q)
            .unwrap_or_else(|e| panic!("[{}] {e:#}", self.name))
    }

    fn tmp(&self) -> &Path {
        self.tmp.path()
    }

    fn runs(&self) -> &Cell<u32> {
        &self.runs
    }

    fn harness(&self, _n: u32, log: &Path, data_dir: &Path) -> String {
        format!(
            "[tidb]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"root\"\n\
             [tikv-importer]\nbackend = \"tidb\"\n\
             [lightning]\nfile = {:?}\n\
             [checkpoint]\nenable = false\n\
             [mydumper]\ndata-source-dir = {:?}\n",
            self.db.port(),
            log.display().to_string(),
            data_dir.display().to_string(),
        )
    }
}

/// A fresh server; `mariadb-install-db` fails now and then when others run beside it.
fn start_mariadb() -> MariaDb {
    let mut last = None;
    for _ in 0..3 {
        match MariaDb::start() {
            Ok(db) => return db,
            Err(e) => last = Some(e),
        }
    }
    panic!("starting MariaDB: {:#}", last.expect("an error"))
}

/// The dump's views name this definer; MariaDB refuses to query a view whose definer
/// does not exist (TiDB does not check), so the tests create it.
const DUMP_DEFINER: &str = "CREATE USER 'root'@'192.168.198.178'; \
     GRANT ALL ON *.* TO 'root'@'192.168.198.178';";

/// `SELECT <i>, <expr> FROM <db>.<prefix><i>` for i in 1..=n, as one UNION query.
fn per_table(db: &str, prefix: &str, n: u32, expr: &str) -> String {
    (1..=n)
        .map(|i| format!("SELECT {i}, {expr} FROM {db}.{prefix}{i}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

#[test]
fn lightning_tool_1420() {
    let c = Case::new("lightning_tool_1420");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT ROLE_ID FROM EE1420.pt_role", "1"),
        ("SHOW DATABASES LIKE 'EE1420'", "EE1420"),
    ]);
}

#[test]
fn lightning_view() {
    let c = Case::new("lightning_view");
    c.sql(DUMP_DEFINER);
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(*), sum(i) FROM db1.v1", "3\t6"),
        ("SELECT count(*) FROM db0.v2", "1"),
        ("SELECT s FROM db0.v2", "test1"),
        (
            "SELECT i, j, s FROM db1.tbl ORDER BY i",
            "1\t1\ttest1\n2\t2\ttest2\n3\t3\ttest3",
        ),
        (
            "SELECT table_schema, table_name, table_type FROM information_schema.tables \
             WHERE table_schema IN ('db0', 'db1') ORDER BY 1, 2",
            "db0\tv2\tVIEW\ndb1\ttbl\tBASE TABLE\ndb1\tv1\tVIEW",
        ),
    ]);
}

#[test]
fn lightning_no_schema() {
    let c = Case::new("lightning_no_schema");
    c.sql("CREATE DATABASE noschema; CREATE TABLE noschema.t (x int primary key);");
    c.run(Some("config.toml"), "data", "", &["--no-schema=1"])
        .assert_ok();
    c.check(&[(
        "SELECT count(*), sum(x), min(x), max(x) FROM noschema.t",
        "15\t120\t1\t15",
    )]);
}

/// The system database `mysql` is never imported, whatever the filter says.
const NO_MYSQL_TESTTABLE: &str = "SELECT count(*) FROM information_schema.tables \
     WHERE table_schema = 'mysql' AND table_name = 'testtable'";

#[test]
fn lightning_black_white_list() {
    let c = Case::new("lightning_black-white-list");
    let data = black_white_list_data(&c);
    let reset = "DROP DATABASE IF EXISTS firstdb; DROP DATABASE IF EXISTS seconddb;";
    // Run A: only databases starting with f, by config and by -f.
    for (config, args) in [
        ("firstdb-only.toml", &[][..]),
        ("config.toml", &["-f", "f*.*"][..]),
    ] {
        c.sql(reset);
        c.run_on(Some(config), &data, "", args).assert_ok();
        assert_eq!(
            databases(&c, &["firstdb", "seconddb"]),
            "firstdb",
            "{config}"
        );
        assert_eq!(tables_of(&c, "firstdb"), "first\nsecond", "{config}");
        c.check(&[(NO_MYSQL_TESTTABLE, "0")]);
        c.check(&[
            ("SELECT id FROM firstdb.first ORDER BY id", "6855\n8273"),
            ("SELECT id FROM firstdb.second", "909"),
        ]);
    }
    // Run B: tables named `second` outside firstdb... and seconddb.fourth.
    for (config, args) in [
        ("even-table-only.toml", &[][..]),
        (
            "config.toml",
            &[
                "-f",
                "!firstdb.*",
                "-f",
                "*.second",
                "-f",
                "seconddb.fourth",
            ][..],
        ),
    ] {
        c.sql(reset);
        c.run_on(Some(config), &data, "", args).assert_ok();
        assert_eq!(
            databases(&c, &["firstdb", "seconddb"]),
            "firstdb\nseconddb",
            "{config}"
        );
        assert_eq!(tables_of(&c, "firstdb"), "second", "{config}");
        assert_eq!(tables_of(&c, "seconddb"), "fourth", "{config}");
        c.check(&[(NO_MYSQL_TESTTABLE, "0")]);
        c.check(&[("SELECT id FROM seconddb.fourth ORDER BY id", "3256\n5457")]);
    }
}

#[test]
fn lightning_file_routing() {
    let c = Case::new("lightning_file_routing");
    c.sql(DUMP_DEFINER);
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        // Row 11 (fr/tbl-noused.sql) matches no rule and must not be imported.
        ("SELECT count(*), sum(j) FROM fr.tbl", "10\t55"),
        (
            "SELECT group_concat(i ORDER BY i) FROM fr.tbl",
            "1,2,3,4,5,6,7,8,9,10",
        ),
        ("SELECT sum(i), count(*) FROM fr.v", "15\t5"),
    ]);
}

#[test]
fn lightning_routes() {
    let c = Case::new("lightning_routes");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(1), sum(x) FROM routes_b.u", "4\t259"),
        ("SELECT x FROM routes_b.u ORDER BY x", "1\n6\n36\n216"),
        ("SELECT count(1), sum(x) FROM routes_a1.s1", "1\t1296"),
    ]);
    assert_eq!(tables_of(&c, "routes_a1"), "s1");
    assert_eq!(
        databases(&c, &["routes_a0", "routes_a1", "routes_b"]),
        "routes_a1\nroutes_b"
    );
}

#[test]
fn lightning_restore() {
    let c = Case::new("lightning_restore");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    let want: Vec<String> = (1..=35).map(|i| format!("{i}\t1\t1")).collect();
    let q = per_table("restore_tsr", "tbl", 35, "sum(i), count(*)");
    c.check(&[(&q, &want.join("\n"))]);
}

#[test]
fn lightning_concurrent_restore() {
    let c = Case::new("lightning_concurrent-restore");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    let want: Vec<String> = (1..=8).map(|i| format!("{i}\t1\t1")).collect();
    let q = per_table("restore_conc", "tbl", 8, "sum(i), count(*)");
    c.check(&[(&q, &want.join("\n"))]);
}

#[test]
fn lightning_too_many_columns() {
    let c = Case::new("lightning_too_many_columns");
    // 256 VARCHAR(16) utf8mb4 columns exceed InnoDB's strict row-size check; TiDB has none.
    c.sql("SET GLOBAL innodb_strict_mode = OFF");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    let sum: u32 = (1001..=1256).sum();
    let all = (1..=256)
        .map(|i| format!("COL{i:03}"))
        .collect::<Vec<_>>()
        .join(" + ");
    c.check(&[
        (
            "SELECT count(*), COL001, COL100, COL256 FROM too_many_columns.t",
            "1\t1001\t1100\t1256",
        ),
        (
            &format!("SELECT {all} FROM too_many_columns.t"),
            &sum.to_string(),
        ),
    ]);
}

#[test]
fn lightning_issue_410() {
    let c = Case::new("lightning_issue_410");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        (
            "SELECT count(*), A123456789012345678901234567890123456789, \
             Y12345678901234567890123456789012345678, Z FROM issue410.row_flow_d",
            "1\tA\tY\tZ",
        ),
        (
            "SELECT concat_ws('', A123456789012345678901234567890123456789, B123456789012345678901234567890123456789, \
             M123456789012345678901234567890123456789, X123456789012345678901234567890123456789) FROM issue410.row_flow_d",
            "ABMX",
        ),
    ]);
}

#[test]
fn lightning_csv() {
    let c = Case::new("lightning_csv");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        (
            "SELECT count(*), sum(PROCESSLIST_TIME), sum(THREAD_OS_ID), count(PROCESSLIST_STATE) FROM csv.threads",
            "43\t322253\t303775702\t3",
        ),
        ("SELECT count(*) FROM csv.threads WHERE PROCESSLIST_TIME IS NOT NULL", "12"),
        // -B output escapes a backslash as `\\` and a newline as `\n`.
        (
            "SELECT i, hex(t), j, hex(b) FROM csv.escapes ORDER BY i",
            "1\t5C\t{\"?\": []}\tFFFFFFFF\n2\t22\t\"\\\\n\\\\n\\\\n\"\t0D0A0D0A\n3\t0A\t[\",,,\"]\t5C2C5C2C",
        ),
        ("SELECT id FROM csv.empty_strings WHERE a = '\"'", "3"),
        ("SELECT count(*) FROM csv.empty_strings WHERE b <> ''", "0"),
        (
            "SELECT id, a IS NULL, hex(a), b IS NULL, hex(b) FROM csv.empty_strings ORDER BY id",
            "1\t0\t\t0\t\n2\t0\t\t0\t\n3\t0\t22\t0\t\n4\t0\t\t0\t",
        ),
        ("SHOW DATABASES LIKE 'csv'", "csv"),
    ]);
}

#[test]
fn lightning_partitioned_table() {
    let c = Case::new("lightning_partitioned-table");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(1), sum(a) FROM partitioned.a", "8\t277151781"),
        ("SELECT b FROM partitioned.a WHERE a = 65536", "luck dog"),
        (
            "SELECT create_options FROM information_schema.tables WHERE table_schema = 'partitioned' AND table_name = 'a'",
            "partitioned",
        ),
        (
            "SELECT count(*), sum(table_rows) FROM information_schema.partitions WHERE table_schema = 'partitioned' AND table_name = 'a'",
            "5\t8",
        ),
    ]);
}

#[test]
fn lightning_row_format_v2() {
    let c = Case::new("lightning_row-format-v2");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    let cols = (0..256).map(|i| format!("col{i}")).collect::<Vec<_>>();
    let nonnull = cols
        .iter()
        .map(|c| format!("({c} IS NOT NULL)"))
        .collect::<Vec<_>>()
        .join(" + ");
    let total = cols
        .iter()
        .map(|c| format!("coalesce({c}, 0)"))
        .collect::<Vec<_>>()
        .join(" + ");
    c.check(&[
        ("SELECT count(1) FROM rowformatv2.t1", "50"),
        (
            "SELECT DISTINCT col14 FROM rowformatv2.t1 ORDER BY 1",
            "NULL\n39",
        ),
        ("SELECT count(*) FROM rowformatv2.t1 WHERE col14 = 39", "1"),
        // 42 non-NULL cells summing to 2070 across the 50 rows x 256 columns.
        (
            &format!("SELECT sum({nonnull}), sum({total}) FROM rowformatv2.t1"),
            "42\t2070",
        ),
    ]);
}

#[test]
fn lightning_cmdline_override() {
    let c = Case::new("lightning_cmdline_override");
    // The config file is used as it is: every value in it is bogus, the flags fix them.
    let log = c.tmp.path().join("override.log");
    let data = c.dir().join("data");
    let port = c.db.port().to_string();
    let out = exec(
        &c.dir().join("config.toml"),
        &log,
        &[
            "-L",
            "info",
            "--log-file",
            log.to_str().unwrap(),
            "--tidb-host",
            "127.0.0.1",
            "--tidb-port",
            &port,
            "--tidb-user",
            "root",
            "--tidb-status",
            "10080",
            "--pd-urls",
            "127.0.0.1:2379",
            "-d",
            data.to_str().unwrap(),
            "--backend",
            "tidb",
            "--importer",
            "127.0.0.1:8808",
            "--enable-checkpoint=false",
        ],
    );
    out.assert_ok();
    assert!(out.log.contains("table imported"), "{}", out.describe());
    c.check(&[("SELECT a FROM cmdline_override.t", "15")]);
}

#[test]
fn lightning_unused_config_keys() {
    let c = Case::new("lightning_unused_config_keys");
    let out = c.run(Some("config.toml"), "data", "", &[]);
    out.assert_failed_with(&["typo-1", "typo-2", "typo-3"]);
    assert!(!out.stderr.contains("typo-4"), "{}", out.describe());
    // Nothing was imported.
    assert_eq!(databases(&c, &["unused_config_keys"]), "");
}

#[test]
fn lightning_sqlmode() {
    let c = Case::new("lightning_sqlmode");
    // Strict mode: the server refuses the out-of-range values.
    let out = c.run(Some("on.toml"), "data", "", &[]);
    out.assert_failed_with(&["Incorrect datetime value: '9' for column `sqlmodedb`.`t`.`a`"]);
    c.sql("DROP DATABASE sqlmodedb");
    // ALLOW_INVALID_DATES (not strict): the server converts every value. Upstream (TiDB)
    // differs in two cells: d of id 1 is '' ('x,y,z'), and a of id 5 (NULL) is the zero
    // date where MariaDB's TIMESTAMP NOT NULL takes the current time. c of id 2 is F0, the
    // emoji's first byte, as upstream: the dump's `SET NAMES binary` is honoured.
    c.run(Some("off.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        (
            "SELECT id, a, b, hex(c), d FROM sqlmodedb.t WHERE id < 5 ORDER BY id",
            "1\t0000-00-00 00:00:00\t127\t74\tx,y\n\
             2\t0000-00-00 00:00:00\t-128\tF0\tx,y\n\
             3\t0000-00-00 00:00:00\t0\t99\t\n\
             4\t2000-01-01 00:00:00\t100\t\tx,y",
        ),
        (
            "SELECT a > '2020-01-01', b, hex(c), d FROM sqlmodedb.t WHERE id = 5",
            "1\t0\t\t",
        ),
    ]);
}

#[test]
fn lightning_fail_fast() {
    let c = Case::new("lightning_fail_fast");
    for config in ["chunk.toml", "engine.toml"] {
        c.sql("DROP DATABASE IF EXISTS fail_fast");
        let out = c.run(Some(config), "data", "", &[]);
        out.assert_failed_with(&["Duplicate entry '1-1' for key 'uq'"]);
        // The duplicate row was not written over the first one.
        c.check(&[("SELECT count(*) FROM fail_fast.tb WHERE id = 2", "0")]);
    }
}

#[test]
fn lightning_tool_135() {
    let c = Case::new("lightning_tool_135");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(a), sum(a), min(a), max(a) FROM tool_135.bar1", "1000\t601500\t102\t1101"),
        ("SELECT count(a), sum(a), min(a), max(a) FROM tool_135.bar2", "1000\t548500\t49\t1048"),
        (
            "SELECT count(a), sum(a), min(a), max(a), count(b), sum(b), min(b), max(b) FROM tool_135.bar3",
            "1000\t532218793\t1071\t1048054\t1000\t645500\t146\t1145",
        ),
        ("SELECT count(a), sum(a), min(a), max(a) FROM tool_135.bar4", "1000\t588500\t89\t1088"),
        (
            "SELECT count(a), sum(a), min(a), max(a), count(b), sum(b), min(b), max(b) FROM tool_135.bar5",
            "1000\t534846115\t970\t1045357\t1000\t563500\t64\t1063",
        ),
    ]);
    // New rows get auto-increment values above the imported ones.
    c.sql(
        "INSERT INTO tool_135.bar1 () VALUES (); INSERT INTO tool_135.bar2 () VALUES (); \
         INSERT INTO tool_135.bar3 (a) VALUES (229267); INSERT INTO tool_135.bar4 () VALUES (); \
         INSERT INTO tool_135.bar5 (a) VALUES (668233);",
    );
    c.check(&[
        (
            "SELECT count(a), max(a) > 1101 FROM tool_135.bar1",
            "1001\t1",
        ),
        (
            "SELECT count(a), max(a) > 1048 FROM tool_135.bar2",
            "1001\t1",
        ),
        (
            "SELECT sum(a), max(b) > 1145 FROM tool_135.bar3",
            "532448060\t1",
        ),
        (
            "SELECT count(a), max(a) > 1088 FROM tool_135.bar4",
            "1001\t1",
        ),
        (
            "SELECT sum(a), max(b) > 1063 FROM tool_135.bar5",
            "535514348\t1",
        ),
    ]);
}

#[test]
fn lightning_tool_1472() {
    let c = Case::new("lightning_tool_1472");
    // Table `pk` is declared `PRIMARY KEY CLUSTERED` (TiDB syntax MariaDB rejects).
    c.run(Some("config.toml"), "data", "", &["-f", "EE1472.notpk"])
        .assert_ok();
    c.check(&[(
        "SELECT a, b FROM EE1472.notpk ORDER BY a",
        "1111\t6\n2222\t9",
    )]);
    c.sql("INSERT INTO EE1472.notpk (a) VALUES (3333)");
    c.check(&[("SELECT b FROM EE1472.notpk WHERE a = 3333", "10")]);
}

#[test]
fn lightning_source_linkfile() {
    let c = Case::new("lightning_source_linkfile");
    // As upstream: the files live elsewhere and the dump folder holds symlinks to them.
    let dump = c.tmp.path().join("linked");
    std::fs::create_dir_all(&dump).unwrap();
    for e in std::fs::read_dir(c.dir().join("data")).unwrap() {
        let e = e.unwrap();
        std::os::unix::fs::symlink(e.path(), dump.join(e.file_name())).unwrap();
    }
    c.run_on(Some("config.toml"), &dump, "", &[]).assert_ok();
    c.check(&[
        (
            "SELECT count(*), sum(i), count(DISTINCT s) FROM linkfiles.t",
            "1000\t500500\t1000",
        ),
        (
            "SELECT s, i FROM linkfiles.t WHERE i = 777",
            "thisisastringvalues_line777\t777",
        ),
        ("SELECT count(*), sum(i) FROM linkfiles.t2", "1000\t500500"),
        (
            "SELECT s FROM linkfiles.t2 WHERE i = 1000",
            "test123ataettaet1000",
        ),
    ]);
}

#[test]
fn lightning_new_collation() {
    let c = Case::new("lightning_new_collation");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(*), sum(i) FROM nc.t", "6\t21"),
        (
            "SELECT j FROM nc.t FORCE INDEX (s_j) WHERE s = 'This_Is_Test4'",
            "4",
        ),
        ("SELECT s FROM nc.t WHERE i = 6", "another test case"),
    ]);
}

#[test]
fn lightning_generated_columns() {
    let c = Case::new("lightning_generated_columns");
    c.run(
        Some("config.toml"),
        "data",
        "",
        &["-f", "gencol.nested", "-f", "gencol.virtual_only"],
    )
    .assert_ok();
    c.check(&[
        (
            "SELECT * FROM gencol.nested WHERE a = 100",
            "100\t101\t102\t103\t104\t105",
        ),
        (
            "SELECT * FROM gencol.nested WHERE f = 1005",
            "1000\t1001\t1002\t1003\t1004\t1005",
        ),
        ("SELECT count(*), sum(a) FROM gencol.nested", "4\t1111"),
        (
            "SELECT * FROM gencol.virtual_only WHERE id = 30",
            "30\t31\t32",
        ),
        (
            "SELECT * FROM gencol.virtual_only WHERE id_plus_2 = 42",
            "40\t41\t42",
        ),
        (
            "CHECK TABLE gencol.nested, gencol.virtual_only",
            "gencol.nested\tcheck\tstatus\tOK\ngencol.virtual_only\tcheck\tstatus\tOK",
        ),
    ]);
}

#[test]
fn lightning_incremental() {
    let c = Case::new("lightning_incremental");
    // Table `auto_random` is TiDB-only (AUTO_RANDOM).
    let only = ["-f", "incr.*", "-f", "!incr.auto_random"];
    c.run(Some("config.toml"), "data", "", &only).assert_ok();
    c.check(&[
        ("SELECT count(*), group_concat(id ORDER BY id), group_concat(v ORDER BY id) FROM incr.pk_auto_inc", "3\t1,2,3\ta,b,c"),
        ("SELECT count(*), group_concat(id ORDER BY id), group_concat(v ORDER BY id) FROM incr.rowid_uk_inc", "3\t1,2,3\ta,b,c"),
        ("SELECT count(*), group_concat(id ORDER BY id), sum(pk) FROM incr.uk_auto_inc", "3\t1,2,3\t6"),
    ]);
    // data1/ into the now non-empty tables: the empty-target precheck must be off.
    c.run(
        Some("config.toml"),
        "data1",
        "[lightning]\ncheck-requirements = false\n",
        &only,
    )
    .assert_ok();
    c.check(&[
        ("SELECT count(*), group_concat(id ORDER BY id), group_concat(v ORDER BY id) FROM incr.pk_auto_inc", "6\t1,2,3,4,5,6\ta,b,c,d,e,f"),
        ("SELECT count(*), group_concat(id ORDER BY id), group_concat(v ORDER BY id) FROM incr.rowid_uk_inc", "6\t1,2,3,4,5,6\ta,b,c,d,e,f"),
        ("SELECT count(*), group_concat(id ORDER BY id), sum(pk) FROM incr.uk_auto_inc", "6\t1,2,3,4,5,6\t21"),
    ]);
}

#[test]
fn lightning_tidb_rowid() {
    let c = Case::new("lightning_tidb_rowid");
    c.run(None, "data", "", &[]).assert_ok();
    c.check(&[
        (
            "SELECT count(*), group_concat(pk ORDER BY pk) FROM rowid.explicit_tidb_rowid",
            "10\teight,five,four,nine,one,seven,six,ten,three,two",
        ),
        ("SELECT count(*) FROM rowid.non_pk", "10"),
        (
            "SELECT count(*), max(id) FROM rowid.non_pk_auto_inc",
            "22\t37",
        ),
        (
            "SELECT count(*), group_concat(a ORDER BY a), sum(b) FROM rowid.specific_auto_inc",
            "5\taaaaaa,bbbbbb,cccccc,dddddd,eeeeee\t165",
        ),
        ("SELECT pk FROM rowid.pre_rebase", "foo"),
    ]);
    // The table options survive: new rows are numbered past them.
    c.sql(
        "INSERT INTO rowid.specific_auto_inc (a) VALUES ('ffffff'); \
         INSERT INTO rowid.non_pk_auto_inc (pk) VALUES ('next')",
    );
    c.check(&[
        (
            "SELECT b >= 80000 FROM rowid.specific_auto_inc WHERE a = 'ffffff'",
            "1",
        ),
        (
            "SELECT id > 37 FROM rowid.non_pk_auto_inc WHERE pk = 'next'",
            "1",
        ),
    ]);
}

#[test]
fn lightning_checkpoint_timestamp() {
    let c = Case::new("lightning_checkpoint_timestamp");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[(
        "SELECT COUNT(ts), SUM(ts > NOW(6) - INTERVAL 1 HOUR) FROM cpts.cpts",
        "98\t98",
    )]);
}

#[test]
fn lightning_error_summary() {
    let c = Case::new("lightning_error_summary");
    let setup = "CREATE DATABASE error_summary; \
         CREATE TABLE error_summary.a (id INT NOT NULL PRIMARY KEY, k INT NOT NULL); \
         CREATE TABLE error_summary.c (id INT NOT NULL PRIMARY KEY, k INT NOT NULL); \
         INSERT INTO error_summary.a VALUES (2, 4), (6, 8); \
         INSERT INTO error_summary.c VALUES (3, 9), (27, 81);";
    c.sql(setup);
    // As upstream's tidb backend: no emptiness precheck for keyed tables; the conflicting
    // keys of a and c fail the task with the server's duplicate-key error (upstream's
    // local backend instead reports a checksum mismatch and still imports b; the logical
    // backend fails fast, so whether b ran first depends on scheduling), and the rows
    // already in a and c are kept.
    let out = c.run(Some("config.toml"), "data", "", &[]);
    out.assert_failed_with(&["Duplicate entry"]);
    c.check(&[
        ("SELECT k FROM error_summary.a WHERE id = 2", "4"),
        ("SELECT k FROM error_summary.c WHERE id = 3", "9"),
        ("SELECT count(*) IN (0, 2) FROM error_summary.b", "1"),
    ]);
}

#[test]
fn lightning_checkpoint_columns() {
    let c = Case::new("lightning_checkpoint_columns");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[("SELECT i, j FROM cp_tsr.tbl ORDER BY i", "1\t3\n2\t4")]);
}

#[test]
fn lightning_checkpoint() {
    let c = Case::new("lightning_checkpoint");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    // tbl{i}.{j}.sql holds (i, j*1000) and (i, j*1000+1), j in 1..=50.
    let want: Vec<String> = (1..=9)
        .map(|i| format!("{i}\t100\t2550050\t{}", 100 * i))
        .collect();
    let q = per_table("cppk_tsr", "tbl", 9, "count(*), sum(j), sum(i)");
    c.check(&[(&q, &want.join("\n"))]);
}

#[test]
fn lightning_checkpoint_chunks() {
    let c = Case::new("lightning_checkpoint_chunks");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[(
        "SELECT count(i), sum(i), count(DISTINCT i) FROM cpch_tsr.tbl",
        "5000\t17502500\t5000",
    )]);
}

#[test]
fn lightning_checkpoint_engines() {
    let c = Case::new("lightning_checkpoint_engines");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(*), sum(c) FROM cpeng.a", "4\t10"),
        ("SELECT count(*), sum(c) FROM cpeng.b", "4\t46"),
    ]);
}

/// `-d <dir>` with each character-set config: (dir, config, column, table, sum) for the
/// runs that succeed upstream; the column name is what the schema decodes to.
#[test]
fn lightning_character_sets() {
    let c = Case::new("lightning_character_sets");
    let ok = [
        ("gb18030", "auto.toml", "主键", "gb18030", "267"),
        ("gb18030", "gb18030.toml", "主键", "gb18030", "267"),
        ("utf8mb4", "auto.toml", "主键", "utf8mb4", "1119"),
        ("utf8mb4", "gb18030.toml", "涓婚敭", "utf8mb4", "1119"),
        ("utf8mb4", "utf8mb4.toml", "主键", "utf8mb4", "1119"),
        ("utf8mb4", "binary.toml", "主键", "utf8mb4", "1119"),
    ];
    for (dir, config, col, table, sum) in ok {
        c.sql("DROP DATABASE IF EXISTS charsets");
        let d = c.dir().join(dir);
        let out = c.run_on(Some(config), &d, "", &[]);
        assert_eq!(out.code, Some(0), "{dir} + {config}\n{}", out.describe());
        c.check(&[(
            &format!("SELECT sum(`{col}`), count(*) FROM charsets.{table}"),
            &format!("{sum}\t10"),
        )]);
    }
    // The failing runs, with the reason: bytes that are not UTF-8, or GB18030 decoding of
    // UTF-8 text that swallows the closing backtick.
    let fail = [
        ("gb18030", "utf8mb4.toml", "invalid UTF-8 text"),
        ("mixed", "auto.toml", "unterminated quoted identifier"),
        ("mixed", "gb18030.toml", "unterminated quoted identifier"),
        ("mixed", "utf8mb4.toml", "invalid UTF-8 text"),
    ];
    for (dir, config, reason) in fail {
        c.sql("DROP DATABASE IF EXISTS charsets");
        let out = c.run_on(Some(config), &c.dir().join(dir), "", &[]);
        out.assert_failed_with(&[reason, &format!("charsets.{dir}-schema.sql")]);
        assert_eq!(tables_of(&c, "charsets"), "", "{dir} + {config}");
    }
}

/// `character-set = "binary"` on schema files that are not UTF-8: upstream passes the bytes
/// through (the gb18030 column name arrives as latin1 mojibake `Ö÷¼ü`).
#[test]
fn lightning_character_sets_binary() {
    let c = Case::new("lightning_character_sets");
    let out = c.run_on(Some("binary.toml"), &c.dir().join("gb18030"), "", &[]);
    out.assert_ok();
    c.check(&[("SELECT sum(`Ö÷¼ü`) FROM charsets.gb18030", "267")]);
    c.sql("DROP DATABASE charsets");
    let out = c.run_on(Some("binary.toml"), &c.dir().join("mixed"), "", &[]);
    out.assert_ok();
    c.check(&[("SELECT sum(`唯一键`) FROM charsets.mixed", "5291")]);
}
