//! Conformance: TiDB Lightning's own integration-test cases (the corpus in
//! `shared/conformance/lightning-tests`, transcribed from pingcap/br `tests/lightning_*`)
//! run through the real `tidb-lightning` binary on both backends, asserting what each
//! case's `expected.txt` says as SQL queries with exact results:
//! - `tidb::<case>`: the logical backend (`--backend tidb`) against a private MariaDB, one
//!   fresh server per case (`conformance_tidb/`).
//! - `local::<case>`: the physical backend (`--backend local`) against the in-repo
//!   simulated cluster (PD + TiKV stores + TiDB's SQL face), one fresh cluster per case
//!   (`conformance_sim/`). Its checks are SQL the simulated TiDB answers by decoding the
//!   stored rows (`SELECT` of columns, `COUNT`/`SUM`/`MIN`/`MAX`, `WHERE`, `ORDER BY`),
//!   plus `ADMIN CHECKSUM TABLE` where the case counts key-value pairs; every import also
//!   runs with `[post-restore] checksum = "required"`, so Lightning's own checksum of what
//!   it encoded must equal the cluster's.
//!
//! Cases reuse database names, hence a fresh target per case; libtest runs the cases on
//! its thread pool. Each run gets a config written to a temp dir: the case's own TOML
//! merged with the backend's harness keys (the target, the backend, a log file,
//! checkpoints off and the data folder).
//!
//! A case both backends run is written once, below, as a function over a [`Target`];
//! `shared_cases!` instantiates it in each backend's module. Where the backends differ
//! (SQL the simulated TiDB cannot answer, what MariaDB lacks, the texts of the errors
//! each reports), the case branches on [`Target::backend`] and keeps each backend's own
//! checks. A case only one backend runs is a test in that backend's module.
//!
//! # `tidb`
//!
//! Cases NOT run on this backend, and why:
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
//! Cases run partially on this backend, and why:
//! - lightning_tidb_rowid: MariaDB has no `_tidb_rowid`; the values the dump gives it are
//!   dropped, as the row ids TiDB would keep cannot be asserted; the rows and the
//!   AUTO_INCREMENT table options are.
//! - lightning_checkpoint_timestamp: its rows are `VALUES ()`, all DEFAULTs, which the
//!   server fills per statement here; one time for the whole task (`COUNT(DISTINCT ts) =
//!   1`) is what encoding backends give (`local::lightning_checkpoint_timestamp`), so only
//!   the rows are asserted.
//! - lightning_checkpoint, lightning_checkpoint_chunks, lightning_checkpoint_engines,
//!   lightning_checkpoint_columns: the import alone (checkpoints off), checking the final data.
//! - lightning_generated_columns: tables `nested` and `virtual_only` only; MariaDB rejects
//!   `expr_index` (functional index) and `various_types` (3-argument AES_ENCRYPT).
//! - lightning_incremental: without table `auto_random` (AUTO_RANDOM).
//! - lightning_tool_1472: without table `pk` (`PRIMARY KEY CLUSTERED` is TiDB syntax).
//! - lightning_sqlmode: MariaDB's non-strict conversions differ from TiDB's in places; the
//!   logical backend sends the dump's literals, so the server's result is asserted.
//!
//! # `local`
//!
//! Checks that need what the simulated TiDB does not have are replaced by equivalent
//! reads: the auto-id allocator's rebased base is read instead of inserting a row (the
//! simulator's INSERT takes literals only), no expressions (bit masks, sums over all
//! columns and the like are computed here from the selected values), no index reads
//! (`FORCE INDEX` lookups read the records).
//!
//! Cases NOT run on this backend, and why:
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
//! Cases run partially on this backend, and why:
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

/// The cases both backends run: each `(test, corpus folder)` becomes a `#[test]` in the
/// invoking backend's module that runs the shared function of that name on a fresh
/// `$case`.
macro_rules! shared_cases {
    ($case:ident) => {
        shared_cases!(@tests $case;
            lightning_tool_1420 => "lightning_tool_1420",
            lightning_no_schema => "lightning_no_schema",
            lightning_black_white_list => "lightning_black-white-list",
            lightning_file_routing => "lightning_file_routing",
            lightning_routes => "lightning_routes",
            lightning_restore => "lightning_restore",
            lightning_concurrent_restore => "lightning_concurrent-restore",
            lightning_too_many_columns => "lightning_too_many_columns",
            lightning_issue_410 => "lightning_issue_410",
            lightning_csv => "lightning_csv",
            lightning_row_format_v2 => "lightning_row-format-v2",
            lightning_cmdline_override => "lightning_cmdline_override",
            lightning_unused_config_keys => "lightning_unused_config_keys",
            lightning_sqlmode => "lightning_sqlmode",
            lightning_tool_135 => "lightning_tool_135",
            lightning_tool_1472 => "lightning_tool_1472",
            lightning_source_linkfile => "lightning_source_linkfile",
            lightning_new_collation => "lightning_new_collation",
            lightning_generated_columns => "lightning_generated_columns",
            lightning_incremental => "lightning_incremental",
            lightning_tidb_rowid => "lightning_tidb_rowid",
            lightning_checkpoint_timestamp => "lightning_checkpoint_timestamp",
            lightning_error_summary => "lightning_error_summary",
            lightning_checkpoint_columns => "lightning_checkpoint_columns",
            lightning_checkpoint => "lightning_checkpoint",
            lightning_checkpoint_chunks => "lightning_checkpoint_chunks",
            lightning_checkpoint_engines => "lightning_checkpoint_engines",
            lightning_character_sets => "lightning_character_sets",
            lightning_character_sets_binary => "lightning_character_sets",
        );
    };
    (@tests $case:ident; $($test:ident => $dir:literal,)*) => {
        $(
            #[test]
            fn $test() {
                crate::$test(&$case::new($dir));
            }
        )*
    };
}

#[path = "conformance_tidb/mod.rs"]
mod tidb;

#[path = "conformance_sim/mod.rs"]
mod local;

use conformance_common::{black_white_list_data, databases, exec, tables_of, Target};

/// Whether a shared case runs on the `tidb` backend (else on `local`): where the two
/// differ, a case keeps each one's own checks under this branch.
fn is_tidb(c: &dyn Target) -> bool {
    match c.backend() {
        "tidb" => true,
        "local" => false,
        b => panic!("unknown backend {b:?}"),
    }
}

fn lightning_tool_1420(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[("SELECT ROLE_ID FROM EE1420.pt_role", "1")]);
    if is_tidb(c) {
        c.check(&[("SHOW DATABASES LIKE 'EE1420'", "EE1420")]);
    } else {
        assert_eq!(databases(c, &["EE1420"]), "EE1420");
    }
}

fn lightning_no_schema(c: &dyn Target) {
    c.sql("CREATE DATABASE noschema; CREATE TABLE noschema.t (x int primary key)");
    c.run(Some("config.toml"), "data", "", &["--no-schema=1"])
        .assert_ok();
    c.check(&[(
        "SELECT count(*), sum(x), min(x), max(x) FROM noschema.t",
        "15\t120\t1\t15",
    )]);
}

fn lightning_black_white_list(c: &dyn Target) {
    let data = black_white_list_data(c);
    let reset = "DROP DATABASE IF EXISTS firstdb; DROP DATABASE IF EXISTS seconddb";
    // The system database `mysql` is never imported, whatever the filter says.
    let no_mysql = if is_tidb(c) {
        (
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = 'mysql' AND table_name = 'testtable'",
            "0",
        )
    } else {
        (
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = 'mysql' AND table_name = 'testtable'",
            "",
        )
    };
    // Run A: only databases starting with f, by config and by -f.
    for (config, args) in [
        ("firstdb-only.toml", &[][..]),
        ("config.toml", &["-f", "f*.*"][..]),
    ] {
        c.sql(reset);
        c.run_on(Some(config), &data, "", args).assert_ok();
        assert_eq!(
            databases(c, &["firstdb", "seconddb"]),
            "firstdb",
            "{config}"
        );
        assert_eq!(tables_of(c, "firstdb"), "first\nsecond", "{config}");
        c.check(&[
            no_mysql,
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
            databases(c, &["firstdb", "seconddb"]),
            "firstdb\nseconddb",
            "{config}"
        );
        assert_eq!(tables_of(c, "firstdb"), "second", "{config}");
        assert_eq!(tables_of(c, "seconddb"), "fourth", "{config}");
        c.check(&[
            no_mysql,
            ("SELECT id FROM seconddb.fourth ORDER BY id", "3256\n5457"),
        ]);
    }
}

fn lightning_file_routing(c: &dyn Target) {
    let args: &[&str] = if is_tidb(c) {
        c.sql(tidb::DUMP_DEFINER);
        &[]
    } else {
        // Only the table: the simulated TiDB has no views, so fr.v (a view) is filtered out.
        &["-f", "fr.tbl"]
    };
    c.run(Some("config.toml"), "data", "", args).assert_ok();
    // Row 11 (fr/tbl-noused.sql) matches no rule and must not be imported.
    c.check(&[("SELECT count(*), sum(j) FROM fr.tbl", "10\t55")]);
    if is_tidb(c) {
        c.check(&[
            (
                "SELECT group_concat(i ORDER BY i) FROM fr.tbl",
                "1,2,3,4,5,6,7,8,9,10",
            ),
            ("SELECT sum(i), count(*) FROM fr.v", "15\t5"),
        ]);
    } else {
        c.check(&[(
            "SELECT i FROM fr.tbl ORDER BY i",
            "1\n2\n3\n4\n5\n6\n7\n8\n9\n10",
        )]);
        assert_eq!(tables_of(c, "fr"), "tbl");
    }
}

fn lightning_routes(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(1), sum(x) FROM routes_b.u", "4\t259"),
        ("SELECT x FROM routes_b.u ORDER BY x", "1\n6\n36\n216"),
        ("SELECT count(1), sum(x) FROM routes_a1.s1", "1\t1296"),
    ]);
    assert_eq!(tables_of(c, "routes_a1"), "s1");
    assert_eq!(
        databases(c, &["routes_a0", "routes_a1", "routes_b"]),
        "routes_a1\nroutes_b"
    );
}

/// `n` tables `<db>.tbl<i>` each holding one row with i = 1: one UNION query on MariaDB,
/// a query per table on the simulated TiDB (which has no UNION).
fn one_row_tables(c: &dyn Target, db: &str, n: u32) {
    if is_tidb(c) {
        let want: Vec<String> = (1..=n).map(|i| format!("{i}\t1\t1")).collect();
        let q = tidb::per_table(db, "tbl", n, "sum(i), count(*)");
        c.check(&[(&q, &want.join("\n"))]);
    } else {
        for i in 1..=n {
            c.check(&[(&format!("SELECT sum(i), count(*) FROM {db}.tbl{i}"), "1\t1")]);
        }
    }
}

fn lightning_restore(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    one_row_tables(c, "restore_tsr", 35);
}

fn lightning_concurrent_restore(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    one_row_tables(c, "restore_conc", 8);
}

fn lightning_too_many_columns(c: &dyn Target) {
    if is_tidb(c) {
        // 256 VARCHAR(16) utf8mb4 columns exceed InnoDB's strict row-size check; TiDB has
        // none.
        c.sql("SET GLOBAL innodb_strict_mode = OFF");
    }
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    let sum: u32 = (1001..=1256).sum();
    if is_tidb(c) {
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
    } else {
        // No expressions on the simulated TiDB: the sum is computed here.
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
        assert_eq!(cells.iter().sum::<u32>(), sum);
    }
}

fn lightning_issue_410(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    if is_tidb(c) {
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
    } else {
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
}

fn lightning_csv(c: &dyn Target) {
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
    ]);
    if is_tidb(c) {
        c.check(&[
            (
                "SELECT id, a IS NULL, hex(a), b IS NULL, hex(b) FROM csv.empty_strings ORDER BY id",
                "1\t0\t\t0\t\n2\t0\t\t0\t\n3\t0\t22\t0\t\n4\t0\t\t0\t",
            ),
            ("SHOW DATABASES LIKE 'csv'", "csv"),
        ]);
    } else {
        c.check(&[(
            "SELECT id, a, hex(a), b, hex(b) FROM csv.empty_strings ORDER BY id",
            "1\t\t\t\t\n2\t\t\t\t\n3\t\"\t22\t\t\n4\t\t\t\t",
        )]);
        assert_eq!(databases(c, &["csv"]), "csv");
    }
}

fn lightning_row_format_v2(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(1) FROM rowformatv2.t1", "50"),
        if is_tidb(c) {
            (
                "SELECT DISTINCT col14 FROM rowformatv2.t1 ORDER BY 1",
                "NULL\n39",
            )
        } else {
            (
                "SELECT col14 FROM rowformatv2.t1 WHERE col14 IS NOT NULL",
                "39",
            )
        },
        ("SELECT count(*) FROM rowformatv2.t1 WHERE col14 = 39", "1"),
    ]);
    // 42 non-NULL cells summing to 2070 across the 50 rows x 256 columns.
    if is_tidb(c) {
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
        c.check(&[(
            &format!("SELECT sum({nonnull}), sum({total}) FROM rowformatv2.t1"),
            "42\t2070",
        )]);
    } else {
        // No expressions on the simulated TiDB: counted and summed here.
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
}

fn lightning_cmdline_override(c: &dyn Target) {
    // The config file is used as it is: every value in it is bogus, the flags fix them.
    let log = c.tmp().join("override.log");
    let data = c.dir().join("data");
    let kv = c.tmp().join("sorted-kv");
    // The target's address (the status port and PD are not used by the tidb backend) and
    // what only the backend takes.
    let (port, status, pd, backend) = if is_tidb(c) {
        let db = &tidb::Case::of(c).db;
        (
            db.port().to_string(),
            "10080".to_string(),
            "127.0.0.1:2379".to_string(),
            vec!["--backend", "tidb"],
        )
    } else {
        let tc = local::Case::of(c).tc();
        let tidb = tc.tidb();
        (
            tidb.addr().port().to_string(),
            tidb.status_addr().port().to_string(),
            tc.cluster().addrs().pd.clone(),
            vec![
                "--backend",
                "local",
                "--sorted-kv-dir",
                kv.to_str().unwrap(),
            ],
        )
    };
    let mut args = vec![
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
    ];
    args.extend(backend);
    args.extend(["--importer", "127.0.0.1:8808", "--enable-checkpoint=false"]);
    let out = exec(&c.dir().join("config.toml"), &log, &args);
    out.assert_ok();
    assert!(out.log.contains("table imported"), "{}", out.describe());
    c.check(&[("SELECT a FROM cmdline_override.t", "15")]);
}

fn lightning_unused_config_keys(c: &dyn Target) {
    let out = c.run(Some("config.toml"), "data", "", &[]);
    out.assert_failed_with(&["typo-1", "typo-2", "typo-3"]);
    assert!(!out.stderr.contains("typo-4"), "{}", out.describe());
    // Nothing was imported.
    assert_eq!(databases(c, &["unused_config_keys"]), "");
}

fn lightning_sqlmode(c: &dyn Target) {
    // Strict mode: the out-of-range values are refused, by the server (tidb) or by the
    // encoder (local).
    let out = c.run(Some("on.toml"), "data", "", &[]);
    if is_tidb(c) {
        out.assert_failed_with(&["Incorrect datetime value: '9' for column `sqlmodedb`.`t`.`a`"]);
    } else {
        out.assert_failed_with(&[
            "sqlmodedb.t.1.sql",
            "column `a`",
            "incorrect datetime value",
        ]);
    }
    c.sql("DROP DATABASE sqlmodedb");
    c.run(Some("off.toml"), "data", "", &[]).assert_ok();
    if is_tidb(c) {
        // ALLOW_INVALID_DATES (not strict): the server converts every value. Upstream (TiDB)
        // differs in two cells: d of id 1 is '' ('x,y,z'), and a of id 5 (NULL) is the zero
        // date where MariaDB's TIMESTAMP NOT NULL takes the current time. c of id 2 is F0,
        // the emoji's first byte, as upstream: the dump's `SET NAMES binary` is honoured.
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
    } else {
        // ALLOW_INVALID_DATES (not strict): every value converted as TiDB does.
        c.check(&[(
            "SELECT id, a, b, hex(c), d FROM sqlmodedb.t ORDER BY id",
            "1\t0000-00-00 00:00:00\t127\t74\t\n\
             2\t0000-00-00 00:00:00\t-128\tF0\tx,y\n\
             3\t0000-00-00 00:00:00\t0\t99\t\n\
             4\t2000-01-01 00:00:00\t100\t\tx,y\n\
             5\t0000-00-00 00:00:00\t0\t\t",
        )]);
    }
}

fn lightning_tool_135(c: &dyn Target) {
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
    if is_tidb(c) {
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
    } else {
        // Read from the allocator's rebased base rather than by inserting a row.
        let s = local::Case::of(c);
        for (t, max) in [
            ("bar1", 1101),
            ("bar2", 1048),
            ("bar3", 1145),
            ("bar4", 1088),
            ("bar5", 1063),
        ] {
            assert!(local::next_auto_id(s, "tool_135", t) > max, "{t}");
        }
    }
}

fn lightning_tool_1472(c: &dyn Target) {
    // On MariaDB without table `pk`: it is declared `PRIMARY KEY CLUSTERED` (TiDB syntax
    // MariaDB rejects).
    let only: &[&str] = if is_tidb(c) {
        &["-f", "EE1472.notpk"]
    } else {
        &[]
    };
    c.run(Some("config.toml"), "data", "", only).assert_ok();
    c.check(&[(
        "SELECT a, b FROM EE1472.notpk ORDER BY a",
        "1111\t6\n2222\t9",
    )]);
    if is_tidb(c) {
        c.sql("INSERT INTO EE1472.notpk (a) VALUES (3333)");
        c.check(&[("SELECT b FROM EE1472.notpk WHERE a = 3333", "10")]);
    } else {
        c.check(&[("SELECT count(a), max(a) FROM EE1472.pk", "2\t4")]);
        // Upstream's next inserts get b = 10 and a = 5.
        let s = local::Case::of(c);
        assert!(local::next_auto_id(s, "EE1472", "notpk") >= 10);
        assert!(local::next_auto_id(s, "EE1472", "pk") >= 5);
    }
}

fn lightning_source_linkfile(c: &dyn Target) {
    // As upstream: the files live elsewhere and the dump folder holds symlinks to them.
    let dump = c.tmp().join("linked");
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

fn lightning_new_collation(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(*), sum(i) FROM nc.t", "6\t21"),
        // The index read on MariaDB; the simulated TiDB reads the records.
        if is_tidb(c) {
            (
                "SELECT j FROM nc.t FORCE INDEX (s_j) WHERE s = 'This_Is_Test4'",
                "4",
            )
        } else {
            ("SELECT j FROM nc.t WHERE s = 'This_Is_Test4'", "4")
        },
        ("SELECT s FROM nc.t WHERE i = 6", "another test case"),
    ]);
}

fn lightning_generated_columns(c: &dyn Target) {
    if is_tidb(c) {
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
    } else {
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
            local::Case::of(c)
                .tc()
                .tidb()
                .checksum("gencol", "virtual_only")
                .unwrap()
                .kvs,
            2
        );
    }
}

fn lightning_incremental(c: &dyn Target) {
    // On MariaDB without table `auto_random`: it is TiDB-only (AUTO_RANDOM).
    let only: &[&str] = if is_tidb(c) {
        &["-f", "incr.*", "-f", "!incr.auto_random"]
    } else {
        &[]
    };
    // The simulated TiDB has no group_concat: the ids and values are read row by row, and
    // the AUTO_RANDOM ids' increment parts are taken here.
    let local_check = |n: usize, vs: &str, pks: &str| {
        let ids = local::ints(c, "SELECT id FROM incr.auto_random");
        let mut inc: Vec<i128> = ids.into_iter().map(|i| local::inc_part(i, false)).collect();
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
    c.run(Some("config.toml"), "data", "", only).assert_ok();
    if is_tidb(c) {
        c.check(&[
            ("SELECT count(*), group_concat(id ORDER BY id), group_concat(v ORDER BY id) FROM incr.pk_auto_inc", "3\t1,2,3\ta,b,c"),
            ("SELECT count(*), group_concat(id ORDER BY id), group_concat(v ORDER BY id) FROM incr.rowid_uk_inc", "3\t1,2,3\ta,b,c"),
            ("SELECT count(*), group_concat(id ORDER BY id), sum(pk) FROM incr.uk_auto_inc", "3\t1,2,3\t6"),
        ]);
    } else {
        local_check(3, "a,b,c", "6");
    }
    // data1/ into the now non-empty tables: the empty-target precheck must be off; ids
    // continue above the allocators the first import rebased, and the local backend's
    // checksum counts the rows the tables held before.
    c.run(
        Some("config.toml"),
        "data1",
        "[lightning]\ncheck-requirements = false\n",
        only,
    )
    .assert_ok();
    if is_tidb(c) {
        c.check(&[
            ("SELECT count(*), group_concat(id ORDER BY id), group_concat(v ORDER BY id) FROM incr.pk_auto_inc", "6\t1,2,3,4,5,6\ta,b,c,d,e,f"),
            ("SELECT count(*), group_concat(id ORDER BY id), group_concat(v ORDER BY id) FROM incr.rowid_uk_inc", "6\t1,2,3,4,5,6\ta,b,c,d,e,f"),
            ("SELECT count(*), group_concat(id ORDER BY id), sum(pk) FROM incr.uk_auto_inc", "6\t1,2,3,4,5,6\t21"),
        ]);
    } else {
        local_check(6, "a,b,c,d,e,f", "21");
    }
}

fn lightning_tidb_rowid(c: &dyn Target) {
    if is_tidb(c) {
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
    } else {
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
        // The allocator is rebased past every imported id: upstream's next inserts get
        // id > 37 and _tidb_rowid > 22, and _tidb_rowid / b > 80000 (above the explicit
        // 79995..79999). Tables with only the row id are rebased too: their next rows go
        // above the imported.
        let s = local::Case::of(c);
        assert!(local::next_auto_id(s, "rowid", "non_pk_auto_inc") > 37);
        assert!(local::next_auto_id(s, "rowid", "specific_auto_inc") > 79999);
        assert!(local::next_auto_id(s, "rowid", "non_pk") > 10);
        assert!(local::next_auto_id(s, "rowid", "explicit_tidb_rowid") > 10);
        assert!(local::next_auto_id(s, "rowid", "pre_rebase") > 70000);
    }
}

fn lightning_checkpoint_timestamp(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    if is_tidb(c) {
        // The server fills the DEFAULTs per statement: only the rows are asserted.
        c.check(&[(
            "SELECT COUNT(ts), SUM(ts > NOW(6) - INTERVAL 1 HOUR) FROM cpts.cpts",
            "98\t98",
        )]);
    } else {
        // One time for the whole task, as encoding backends give.
        c.check(&[(
            "SELECT COUNT(ts), COUNT(DISTINCT ts) FROM cpts.cpts",
            "98\t1",
        )]);
    }
}

fn lightning_error_summary(c: &dyn Target) {
    if is_tidb(c) {
        let setup = "CREATE DATABASE error_summary; \
             CREATE TABLE error_summary.a (id INT NOT NULL PRIMARY KEY, k INT NOT NULL); \
             CREATE TABLE error_summary.c (id INT NOT NULL PRIMARY KEY, k INT NOT NULL); \
             INSERT INTO error_summary.a VALUES (2, 4), (6, 8); \
             INSERT INTO error_summary.c VALUES (3, 9), (27, 81);";
        c.sql(setup);
        // As upstream's tidb backend: no emptiness precheck for keyed tables; the
        // conflicting keys of a and c fail the task with the server's duplicate-key error
        // (upstream's local backend instead reports a checksum mismatch and still imports
        // b; the logical backend fails fast, so whether b ran first depends on
        // scheduling), and the rows already in a and c are kept.
        let out = c.run(Some("config.toml"), "data", "", &[]);
        out.assert_failed_with(&["Duplicate entry"]);
        c.check(&[
            ("SELECT k FROM error_summary.a WHERE id = 2", "4"),
            ("SELECT k FROM error_summary.c WHERE id = 3", "9"),
            ("SELECT count(*) IN (0, 2) FROM error_summary.b", "1"),
        ]);
    } else {
        // Upstream's setup inserts rows into a and c; here a first import of a small dump
        // writes them.
        let setup = c.tmp().join("setup");
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
        // Without the precheck, a and c end in a checksum mismatch (their old rows are in
        // the cluster's checksum, not in the encoded one) and the task fails.
        let out = c.run(
            Some("config.toml"),
            "data",
            "[lightning]\ncheck-requirements = false\n",
            &[],
        );
        out.assert_failed_with(&["checksum mismatched for `error_summary`."]);
        // Upstream imports b all the same (sum(id), sum(k) = 28, 32); here the first
        // failed table stops the task, so b is either complete or untouched.
        let b = c.sql("SELECT count(*), sum(id), sum(k) FROM error_summary.b");
        assert!(b == "2\t28\t32" || b == "0\tNULL\tNULL", "{b}");
    }
}

fn lightning_checkpoint_columns(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[("SELECT i, j FROM cp_tsr.tbl ORDER BY i", "1\t3\n2\t4")]);
}

fn lightning_checkpoint(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    // tbl{i}.{j}.sql holds (i, j*1000) and (i, j*1000+1), j in 1..=50: one UNION query on
    // MariaDB, a query per table on the simulated TiDB.
    if is_tidb(c) {
        let want: Vec<String> = (1..=9)
            .map(|i| format!("{i}\t100\t2550050\t{}", 100 * i))
            .collect();
        let q = tidb::per_table("cppk_tsr", "tbl", 9, "count(*), sum(j), sum(i)");
        c.check(&[(&q, &want.join("\n"))]);
    } else {
        for i in 1..=9 {
            c.check(&[(
                &format!("SELECT count(*), sum(j), sum(i) FROM cppk_tsr.tbl{i}"),
                &format!("100\t2550050\t{}", 100 * i),
            )]);
        }
    }
}

fn lightning_checkpoint_chunks(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[(
        "SELECT count(i), sum(i), count(DISTINCT i) FROM cpch_tsr.tbl",
        "5000\t17502500\t5000",
    )]);
}

fn lightning_checkpoint_engines(c: &dyn Target) {
    c.run(Some("config.toml"), "data", "", &[]).assert_ok();
    c.check(&[
        ("SELECT count(*), sum(c) FROM cpeng.a", "4\t10"),
        ("SELECT count(*), sum(c) FROM cpeng.b", "4\t46"),
    ]);
}

/// `-d <dir>` with each character-set config: (dir, config, column, table, sum) for the
/// runs that succeed upstream; the column name is what the schema decodes to.
fn lightning_character_sets(c: &dyn Target) {
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
        assert_eq!(tables_of(c, "charsets"), "", "{dir} + {config}");
    }
}

/// `character-set = "binary"` on schema files that are not UTF-8: upstream passes the bytes
/// through (the gb18030 column name arrives as latin1 mojibake `Ö÷¼ü`).
fn lightning_character_sets_binary(c: &dyn Target) {
    c.run_on(Some("binary.toml"), &c.dir().join("gb18030"), "", &[])
        .assert_ok();
    c.check(&[("SELECT sum(`Ö÷¼ü`) FROM charsets.gb18030", "267")]);
    c.sql("DROP DATABASE charsets");
    c.run_on(Some("binary.toml"), &c.dir().join("mixed"), "", &[])
        .assert_ok();
    c.check(&[("SELECT sum(`唯一键`) FROM charsets.mixed", "5291")]);
}
