//! Conformance through the physical backend: TiDB Lightning's own integration-test cases
//! (the corpus in `shared/conformance/lightning-tests`) run through the real
//! `tidb-lightning --backend local` against the in-repo simulated cluster (PD + TiKV
//! stores + TiDB's SQL face, one fresh cluster per case), asserting what each case's
//! `expected.txt` says. The checks are SQL the simulated TiDB answers by decoding the
//! stored rows (`SELECT` of columns, `COUNT`/`SUM`/`MIN`/`MAX`, `WHERE`, `ORDER BY`), plus
//! `ADMIN CHECKSUM TABLE` where the case counts key-value pairs; every import also runs
//! with `[post-restore] checksum = "required"`, so Lightning's own checksum of what it
//! encoded must equal the cluster's.
//!
//! Checks that need what the simulated TiDB does not have are replaced by equivalent
//! reads: the auto-id allocator's rebased base is read instead of inserting a row (the
//! simulator's INSERT takes literals only), no expressions (bit masks, sums over all columns and the like are computed here
//! from the selected values), no index reads (`FORCE INDEX` lookups read the records).
//!
//! Cases NOT run here, and why:
//! - lightning_view: views (the simulated TiDB has no CREATE VIEW).
//! - lightning_partitioned-table: partitioned tables (neither the simulated TiDB nor the
//!   encoder models partitions).
//! - lightning_disk_quota: its table has stored generated columns (AES_ENCRYPT), which the
//!   encoder does not evaluate (`disk-quota` itself is tested in `e2e_local.rs`).
//! - lightning_fail_fast: `on-duplicate = "error"` of the logical backend (upstream runs it
//!   with the tidb backend only).
//! - lightning_checkpoint_dirty_tableid: crashes the import with failpoints at chosen
//!   steps (resume after kills is tested in `resume_local.rs` instead).
//! - lightning_parquet, lightning_checkpoint_parquet: Parquet (not implemented; the latter's
//!   data is not in the corpus either).
//!
//! Cases run partially, and why:
//! - lightning_checkpoint, lightning_checkpoint_chunks, lightning_checkpoint_engines,
//!   lightning_checkpoint_columns, lightning_checkpoint_engines_order,
//!   lightning_checkpoint_timestamp, lightning_local_backend: the import alone, checking the
//!   final data (upstream kills it at failpoints and resumes; `resume_local.rs` kills and
//!   resumes this backend at seeded moments instead). The harness turns checkpoints off.
//! - lightning_checkpoint_error_destroy: without checkpoints: bad-data/ fails, then
//!   good-data/ imports (upstream clears the failure with `--checkpoint-error-destroy`
//!   between; that step is tested on this backend in `resume_local.rs`).
//! - lightning_file_routing: table `fr.tbl` only (`fr.v` is a view).
//! - lightning_generated_columns: table `virtual_only` only, without reading its virtual
//!   columns; the others have stored generated columns or indexes on generated columns,
//!   which the encoder refuses.
//! - lightning_tiflash: the tables are created without `SET TIFLASH REPLICA` (no TiFlash).
//! - lightning_s3, lightning_gcs: their dumps, from a local folder (no object storage).
//! - lightning_duplicate_detection: upstream (disabled there) imports the two halves with two
//!   instances at once and only greps the log; here one import of both halves runs with
//!   `[conflict] strategy = "replace"` and each table must hold what replaying its rows in
//!   order with `REPLACE INTO` leaves, with no index entry of a replaced row left.
//! - lightning_error_summary: the rows upstream inserts beforehand come from a first import;
//!   whether b is imported after a and c fail depends on scheduling here.

mod conformance_common;

use conformance_common::{black_white_list_data, databases, exec, tables_of, Target};
use lightning_testkit::sim::{TestCluster, TestClusterOptions};
use std::cell::Cell;
use std::path::Path;

/// One case: its own simulated cluster (on its own runtime) and temp dir.
struct Case {
    name: &'static str,
    tc: Option<TestCluster>,
    rt: tokio::runtime::Runtime,
    tmp: tempfile::TempDir,
    runs: Cell<u32>,
}

impl Case {
    fn new(name: &'static str) -> Case {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let tc = rt
            .block_on(TestCluster::start(TestClusterOptions::default()))
            .expect("start the simulated cluster");
        Case {
            name,
            tc: Some(tc),
            rt,
            tmp: tempfile::Builder::new()
                .prefix("conformance-local-")
                .tempdir()
                .expect("temp dir"),
            runs: Cell::new(0),
        }
    }

    fn tc(&self) -> &TestCluster {
        self.tc.as_ref().expect("running until drop")
    }
}

impl Target for Case {
    fn case_name(&self) -> &str {
        self.name
    }

    /// The rows of the last statement as `mysql -N -B` prints them: tab-separated,
    /// one row per line, NULL as `NULL`, backslash and newline escaped.
    fn sql(&self, q: &str) -> String {
        let rows = self
            .tc()
            .tidb()
            .query(q)
            .unwrap_or_else(|e| panic!("[{}] {q}: {e}", self.name));
        rows.into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| match v {
                        None => "NULL".to_string(),
                        Some(s) => s.replace('\\', "\\\\").replace('\n', "\\n"),
                    })
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .collect::<Vec<_>>()
            .join("\n")
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

impl Drop for Case {
    fn drop(&mut self) {
        if let Some(tc) = self.tc.take() {
            self.rt.block_on(tc.shutdown());
        }
    }
}

/// The integers of a one-column result.
fn ints(c: &Case, q: &str) -> Vec<i128> {
    c.sql(q)
        .lines()
        .map(|l| l.parse().unwrap_or_else(|_| panic!("{q}: {l:?}")))
        .collect()
}

/// The auto-increment part of an AUTO_RANDOM(5) id: below the sign bit (signed types)
/// and the 5 shard bits, i.e. 58 bits of a BIGINT and 59 of a BIGINT UNSIGNED. (Upstream's
/// scripts mask 59 bits for both; their shards left bit 58 clear.)
fn inc_part(id: i128, unsigned: bool) -> i128 {
    let bits = if unsigned { 59 } else { 58 };
    id & ((1 << bits) - 1)
}

/// The next AUTO_INCREMENT value `db`.`t` hands out after the import's rebase.
fn next_auto_id(c: &Case, db: &str, t: &str) -> u64 {
    let info = c.tc().tidb().table_info(db, t).expect("table exists");
    info.auto_increment_base.unwrap_or(0)
}

#[test]
fn lightning_tool_1420() {
    let c = Case::new("lightning_tool_1420");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[("SELECT ROLE_ID FROM EE1420.pt_role", "1")]);
    assert_eq!(databases(&c, &["EE1420"]), "EE1420");
}

#[test]
fn lightning_no_schema() {
    let c = Case::new("lightning_no_schema");
    c.sql("CREATE DATABASE noschema; CREATE TABLE noschema.t (x int primary key)");
    c.run(Some("config.toml"), "data", "", &["--no-schema=1"])
        .assert_ok();
    c.check(&[(
        "SELECT count(*), sum(x), min(x), max(x) FROM noschema.t",
        "15\t120\t1\t15",
    )]);
}

#[test]
fn lightning_black_white_list() {
    let c = Case::new("lightning_black-white-list");
    let data = black_white_list_data(&c);
    let reset = "DROP DATABASE IF EXISTS firstdb; DROP DATABASE IF EXISTS seconddb";
    let no_mysql = "SELECT table_name FROM information_schema.tables \
                    WHERE table_schema = 'mysql' AND table_name = 'testtable'";
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
        c.check(&[
            (no_mysql, ""),
            ("SELECT id FROM firstdb.first ORDER BY id", "6855\n8273"),
            ("SELECT id FROM firstdb.second", "909"),
        ]);
    }
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
        c.check(&[
            (no_mysql, ""),
            ("SELECT id FROM seconddb.fourth ORDER BY id", "3256\n5457"),
        ]);
    }
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

/// `n` tables `<db>.tbl<i>` each holding one row with i = 1.
fn one_row_tables(c: &Case, db: &str, n: u32) {
    for i in 1..=n {
        c.check(&[(&format!("SELECT sum(i), count(*) FROM {db}.tbl{i}"), "1\t1")]);
    }
}

#[test]
fn lightning_restore() {
    let c = Case::new("lightning_restore");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    one_row_tables(&c, "restore_tsr", 35);
}

#[test]
fn lightning_concurrent_restore() {
    let c = Case::new("lightning_concurrent-restore");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    one_row_tables(&c, "restore_conc", 8);
}

#[test]
fn lightning_too_many_columns() {
    let c = Case::new("lightning_too_many_columns");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(*) FROM too_many_columns.t", "1"),
        (
            "SELECT COL001, COL100, COL256 FROM too_many_columns.t",
            "1001\t1100\t1256",
        ),
    ]);
    let all = c.sql("SELECT * FROM too_many_columns.t");
    let cells: Vec<u32> = all.split('\t').map(|v| v.parse().unwrap()).collect();
    assert_eq!(cells.len(), 256);
    assert_eq!(cells.iter().sum::<u32>(), (1001..=1256).sum::<u32>());
}

#[test]
fn lightning_issue_410() {
    let c = Case::new("lightning_issue_410");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(*) FROM issue410.row_flow_d", "1"),
        (
            "SELECT A123456789012345678901234567890123456789, B123456789012345678901234567890123456789, \
             M123456789012345678901234567890123456789, X123456789012345678901234567890123456789, \
             Y12345678901234567890123456789012345678, Z FROM issue410.row_flow_d",
            "A\tB\tM\tX\tY\tZ",
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
        (
            "SELECT i, hex(t), j, hex(b) FROM csv.escapes ORDER BY i",
            "1\t5C\t{\"?\": []}\tFFFFFFFF\n2\t22\t\"\\\\n\\\\n\\\\n\"\t0D0A0D0A\n3\t0A\t[\",,,\"]\t5C2C5C2C",
        ),
        ("SELECT id FROM csv.empty_strings WHERE a = '\"'", "3"),
        ("SELECT count(*) FROM csv.empty_strings WHERE b <> ''", "0"),
        (
            "SELECT id, a, hex(a), b, hex(b) FROM csv.empty_strings ORDER BY id",
            "1\t\t\t\t\n2\t\t\t\t\n3\t\"\t22\t\t\n4\t\t\t\t",
        ),
    ]);
    assert_eq!(databases(&c, &["csv"]), "csv");
}

#[test]
fn lightning_row_format_v2() {
    let c = Case::new("lightning_row-format-v2");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(1) FROM rowformatv2.t1", "50"),
        (
            "SELECT col14 FROM rowformatv2.t1 WHERE col14 IS NOT NULL",
            "39",
        ),
        ("SELECT count(*) FROM rowformatv2.t1 WHERE col14 = 39", "1"),
    ]);
    // 42 non-NULL cells summing to 2070 across the 50 rows x 256 columns.
    let all = c.sql("SELECT * FROM rowformatv2.t1");
    let cells: Vec<&str> = all.lines().flat_map(|l| l.split('\t')).collect();
    assert_eq!(cells.len(), 50 * 256);
    let vals: Vec<i64> = cells
        .iter()
        .filter(|v| **v != "NULL")
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!((vals.len(), vals.iter().sum::<i64>()), (42, 2070));
}

#[test]
fn lightning_cmdline_override() {
    let c = Case::new("lightning_cmdline_override");
    // The config file is used as it is: every value in it is bogus, the flags fix them.
    let log = c.tmp.path().join("override.log");
    let data = c.dir().join("data");
    let kv = c.tmp.path().join("sorted-kv");
    let tidb = c.tc().tidb();
    let (port, status) = (
        tidb.addr().port().to_string(),
        tidb.status_addr().port().to_string(),
    );
    let pd = c.tc().cluster().addrs().pd.clone();
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
            &status,
            "--pd-urls",
            &pd,
            "-d",
            data.to_str().unwrap(),
            "--backend",
            "local",
            "--sorted-kv-dir",
            kv.to_str().unwrap(),
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
    assert_eq!(databases(&c, &["unused_config_keys"]), "");
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
    // New rows would get auto-increment values above the imported ones (read from the
    // allocator's rebased base rather than by inserting a row).
    for (t, max) in [
        ("bar1", 1101),
        ("bar2", 1048),
        ("bar3", 1145),
        ("bar4", 1088),
        ("bar5", 1063),
    ] {
        assert!(next_auto_id(&c, "tool_135", t) > max, "{t}");
    }
}

#[test]
fn lightning_tool_1472() {
    let c = Case::new("lightning_tool_1472");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        (
            "SELECT a, b FROM EE1472.notpk ORDER BY a",
            "1111\t6\n2222\t9",
        ),
        ("SELECT count(a), max(a) FROM EE1472.pk", "2\t4"),
    ]);
    // Upstream's next inserts get b = 10 and a = 5.
    assert!(next_auto_id(&c, "EE1472", "notpk") >= 10);
    assert!(next_auto_id(&c, "EE1472", "pk") >= 5);
}

#[test]
fn lightning_source_linkfile() {
    let c = Case::new("lightning_source_linkfile");
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
        ("SELECT j FROM nc.t WHERE s = 'This_Is_Test4'", "4"),
        ("SELECT s FROM nc.t WHERE i = 6", "another test case"),
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
    for i in 1..=9 {
        c.check(&[(
            &format!("SELECT count(*), sum(j), sum(i) FROM cppk_tsr.tbl{i}"),
            &format!("100\t2550050\t{}", 100 * i),
        )]);
    }
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
fn lightning_checkpoint_timestamp() {
    let c = Case::new("lightning_checkpoint_timestamp");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[(
        "SELECT COUNT(ts), COUNT(DISTINCT ts) FROM cpts.cpts",
        "98\t1",
    )]);
}

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
        let out = c.run_on(Some(config), &c.dir().join(dir), "", &[]);
        assert_eq!(out.code, Some(0), "{dir} + {config}\n{}", out.describe());
        c.check(&[(
            &format!("SELECT sum(`{col}`), count(*) FROM charsets.{table}"),
            &format!("{sum}\t10"),
        )]);
    }
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

#[test]
fn lightning_character_sets_binary() {
    let c = Case::new("lightning_character_sets");
    c.run_on(Some("binary.toml"), &c.dir().join("gb18030"), "", &[])
        .assert_ok();
    c.check(&[("SELECT sum(`Ö÷¼ü`) FROM charsets.gb18030", "267")]);
    c.sql("DROP DATABASE charsets");
    c.run_on(Some("binary.toml"), &c.dir().join("mixed"), "", &[])
        .assert_ok();
    c.check(&[("SELECT sum(`唯一键`) FROM charsets.mixed", "5291")]);
}

#[test]
fn lightning_sqlmode() {
    let c = Case::new("lightning_sqlmode");
    // Strict mode: the encoder refuses the out-of-range values.
    let out = c.run(Some("on.toml"), "data", "", &[]);
    out.assert_failed_with(&[
        "sqlmodedb.t.1.sql",
        "column `a`",
        "incorrect datetime value",
    ]);
    c.sql("DROP DATABASE sqlmodedb");
    // ALLOW_INVALID_DATES (not strict): every value converted as TiDB does.
    c.run(Some("off.toml"), "data", "", &[]).assert_ok();
    c.check(&[(
        "SELECT id, a, b, hex(c), d FROM sqlmodedb.t ORDER BY id",
        "1\t0000-00-00 00:00:00\t127\t74\t\n\
         2\t0000-00-00 00:00:00\t-128\tF0\tx,y\n\
         3\t0000-00-00 00:00:00\t0\t99\t\n\
         4\t2000-01-01 00:00:00\t100\t\tx,y\n\
         5\t0000-00-00 00:00:00\t0\t\t",
    )]);
}

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
fn lightning_tidb_rowid() {
    let c = Case::new("lightning_tidb_rowid");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        (
            "SELECT count(*), max(id), min(_tidb_rowid), max(_tidb_rowid) FROM rowid.non_pk_auto_inc",
            "22\t37\t1\t22",
        ),
        ("SELECT count(*), min(_tidb_rowid), max(_tidb_rowid) FROM rowid.non_pk", "10\t1\t10"),
        (
            "SELECT count(*), min(_tidb_rowid), max(_tidb_rowid) FROM rowid.explicit_tidb_rowid",
            "10\t1\t10",
        ),
        ("SELECT _tidb_rowid FROM rowid.non_pk WHERE pk = 'five'", "5"),
        ("SELECT _tidb_rowid FROM rowid.explicit_tidb_rowid WHERE pk = 'five'", "5"),
        // AUTO_INCREMENT=70000 is the row-id allocator's base: the row lands at 70000.
        ("SELECT count(*), max(_tidb_rowid) FROM rowid.pre_rebase", "1\t70000"),
        ("SELECT count(*) FROM rowid.specific_auto_inc", "5"),
    ]);
    // The allocator is rebased past every imported id: upstream's next inserts get id > 37
    // and _tidb_rowid > 22, and _tidb_rowid / b > 80000 (above the explicit 79995..79999).
    // Tables with only the row id are rebased too: their next rows go above the imported.
    assert!(next_auto_id(&c, "rowid", "non_pk_auto_inc") > 37);
    assert!(next_auto_id(&c, "rowid", "specific_auto_inc") > 79999);
    assert!(next_auto_id(&c, "rowid", "non_pk") > 10);
    assert!(next_auto_id(&c, "rowid", "explicit_tidb_rowid") > 10);
    assert!(next_auto_id(&c, "rowid", "pre_rebase") > 70000);
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
fn lightning_incremental() {
    let c = Case::new("lightning_incremental");
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    let check = |n: usize, vs: &str, pks: &str| {
        let ids = ints(&c, "SELECT id FROM incr.auto_random");
        let mut inc: Vec<i128> = ids.into_iter().map(|i| inc_part(i, false)).collect();
        inc.sort();
        assert_eq!(inc, (1..=n as i128).collect::<Vec<_>>());
        for t in ["pk_auto_inc", "rowid_uk_inc"] {
            let rows = c.sql(&format!("SELECT id, v FROM incr.{t} ORDER BY id"));
            let want: Vec<String> = vs
                .split(',')
                .enumerate()
                .map(|(i, v)| format!("{}\t{v}", i + 1))
                .collect();
            assert_eq!(rows, want.join("\n"), "{t}");
        }
        c.check(&[(
            "SELECT count(*), min(id), max(id), sum(pk) FROM incr.uk_auto_inc",
            &format!("{n}\t1\t{n}\t{pks}"),
        )]);
    };
    check(3, "a,b,c", "6");
    // data1/ into the now non-empty tables: the empty-target precheck must be off; ids
    // continue above the allocators the first import rebased, and the checksum counts the
    // rows the tables held before.
    c.run(
        Some("config.toml"),
        "data1",
        "[lightning]\ncheck-requirements = false\n",
        &[],
    )
    .assert_ok();
    check(6, "a,b,c,d,e,f", "21");
}

#[test]
fn lightning_error_summary() {
    let c = Case::new("lightning_error_summary");
    // Upstream's setup inserts rows into a and c; here a first import of a small dump
    // writes them.
    let setup = c.tmp.path().join("setup");
    std::fs::create_dir_all(&setup).unwrap();
    let w = |f: &str, text: &str| std::fs::write(setup.join(f), text).unwrap();
    w(
        "error_summary-schema-create.sql",
        "CREATE DATABASE error_summary;",
    );
    for (t, rows) in [("a", "(2, 4), (6, 8)"), ("c", "(3, 9), (27, 81)")] {
        w(
            &format!("error_summary.{t}-schema.sql"),
            &format!("CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, k INT NOT NULL);"),
        );
        w(
            &format!("error_summary.{t}.sql"),
            &format!("INSERT INTO {t} VALUES {rows};"),
        );
    }
    c.run_on(None, &setup, "", &[]).assert_ok();
    // The precheck names the two non-empty targets, and imports nothing.
    let out = c.run(Some("config.toml"), "data", "", &[]);
    out.assert_failed_with(&["`error_summary`.`a`", "`error_summary`.`c`"]);
    assert!(
        !out.stderr.contains("`error_summary`.`b`"),
        "{}",
        out.describe()
    );
    c.check(&[("SELECT count(*) FROM error_summary.b", "0")]);
    // Without the precheck, a and c end in a checksum mismatch (their old rows are in the
    // cluster's checksum, not in the encoded one) and the task fails.
    let out = c.run(
        Some("config.toml"),
        "data",
        "[lightning]\ncheck-requirements = false\n",
        &[],
    );
    out.assert_failed_with(&["checksum mismatched for `error_summary`."]);
    // Upstream imports b all the same (sum(id), sum(k) = 28, 32); here the first failed
    // table stops the task, so b is either complete or untouched.
    let b = c.sql("SELECT count(*), sum(id), sum(k) FROM error_summary.b");
    assert!(b == "2\t28\t32" || b == "0\tNULL\tNULL", "{b}");
}

#[test]
fn lightning_file_routing() {
    let c = Case::new("lightning_file_routing");
    // Only the table: the simulated TiDB has no views, so fr.v (a view) is filtered out.
    c.run(Some("config.toml"), "data", "", &["-f", "fr.tbl"])
        .assert_ok();
    c.check(&[
        // Row 11 (fr/tbl-noused.sql) matches no rule and must not be imported.
        ("SELECT count(*), sum(j) FROM fr.tbl", "10\t55"),
        (
            "SELECT i FROM fr.tbl ORDER BY i",
            "1\n2\n3\n4\n5\n6\n7\n8\n9\n10",
        ),
    ]);
    assert_eq!(tables_of(&c, "fr"), "tbl");
}

#[test]
fn lightning_generated_columns() {
    let c = Case::new("lightning_generated_columns");
    // Only virtual_only: the encoder evaluates no generated-column expressions, so the
    // other tables (stored generated columns, indexes on generated columns) are refused.
    c.run(
        Some("config.toml"),
        "data",
        "",
        &["-f", "gencol.virtual_only"],
    )
    .assert_ok();
    c.check(&[("SELECT id FROM gencol.virtual_only ORDER BY id", "30\n40")]);
    // One record pair per row: the virtual columns are not stored.
    assert_eq!(
        c.tc()
            .tidb()
            .checksum("gencol", "virtual_only")
            .unwrap()
            .kvs,
        2
    );
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
