//! The `tidb` (logical) backend's side of the conformance suite: a [`Case`] is a private
//! MariaDB and a temp dir; the cases only this backend runs; and the shared cases (see
//! `conformance.rs`) instantiated on it as `tidb::<case>`.

use crate::conformance_common::Target;
use lightning_testkit::MariaDb;
use std::any::Any;
use std::cell::Cell;
use std::path::Path;

/// One case: its own MariaDB and temp dir.
pub struct Case {
    name: &'static str,
    pub db: MariaDb,
    tmp: tempfile::TempDir,
    runs: Cell<u32>,
}

impl Case {
    pub fn new(name: &'static str) -> Case {
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

    /// The MariaDB case behind a shared case's target (in its `tidb` branch).
    pub fn of(c: &dyn Target) -> &Case {
        c.as_any()
            .downcast_ref::<Case>()
            .expect("a tidb-backend case")
    }
}

impl Target for Case {
    fn case_name(&self) -> &str {
        self.name
    }

    fn backend(&self) -> &'static str {
        "tidb"
    }

    fn as_any(&self) -> &dyn Any {
        self
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
pub const DUMP_DEFINER: &str = "CREATE USER 'root'@'192.168.198.178'; \
     GRANT ALL ON *.* TO 'root'@'192.168.198.178';";

/// `SELECT <i>, <expr> FROM <db>.<prefix><i>` for i in 1..=n, as one UNION query.
pub fn per_table(db: &str, prefix: &str, n: u32, expr: &str) -> String {
    (1..=n)
        .map(|i| format!("SELECT {i}, {expr} FROM {db}.{prefix}{i}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

shared_cases!(Case);

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
