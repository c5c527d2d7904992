//! Upstream Lightning's semantics for dumps its own suite does not spell out, through the
//! real binary with the `tidb` backend into a private MariaDB, and with the `local`
//! backend into the simulated cluster: a CSV header naming the
//! columns in another order; columns a file leaves out getting their DEFAULT
//! (`CURRENT_TIMESTAMP`, generated columns, `AUTO_INCREMENT`); table names with spaces,
//! dots, non-ASCII letters and quotes in their file names (upstream's file routes: the
//! database part has no dot, the table part is everything up to the optional `.N` part
//! number); and `[conflict] strategy = "replace"` / `"ignore"` on rows that conflict on the
//! primary or a unique key within a file and across files (a file's rows applied in order,
//! as one connection replaying them would; files may run in either order, as upstream's,
//! on the tidb backend; in file order on the local one, which resolves `replace` as a
//! replay in source order would and refuses `ignore`, as upstream's physical mode).

mod configs;

use lightning_testkit::MariaDb;
use std::path::Path;
use std::process::Command;

const LIGHTNING: &str = env!("CARGO_BIN_EXE_tidb-lightning");

/// (file name, contents) of the dump of database `sem`.
const DUMP: &[(&str, &str)] = &[
    ("sem-schema-create.sql", "CREATE DATABASE `sem`;\n"),
    (
        "sem.csvorder-schema.sql",
        "CREATE TABLE `csvorder` (a int PRIMARY KEY, b varchar(10), c int);\n",
    ),
    ("sem.csvorder.1.csv", "c,a,b\n30,1,x\n31,2,y\n"),
    (
        "sem.defaults-schema.sql",
        "CREATE TABLE `defaults` (id int AUTO_INCREMENT PRIMARY KEY, \
         v varchar(10) NOT NULL DEFAULT 'dflt', \
         ts timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), \
         n int, g int AS (n * 2) STORED);\n",
    ),
    (
        "sem.defaults.1.sql",
        "INSERT INTO `defaults` (n) VALUES (1),(2);\nINSERT INTO `defaults` (v, n) VALUES ('x', 3);\n",
    ),
    ("sem.defaults.2.csv", "n,v\n4,y\n"),
    (
        "sem.with space-schema.sql",
        "CREATE TABLE `with space` (a int);\n",
    ),
    ("sem.with space.1.sql", "INSERT INTO `with space` VALUES (1);\n"),
    ("sem.dot.ted-schema.sql", "CREATE TABLE `dot.ted` (a int);\n"),
    ("sem.dot.ted.1.sql", "INSERT INTO `dot.ted` VALUES (2);\n"),
    ("sem.dot.ted.2.sql", "INSERT INTO `dot.ted` VALUES (22);\n"),
    ("sem.表-schema.sql", "CREATE TABLE `表` (a int);\n"),
    ("sem.表.1.sql", "INSERT INTO `表` VALUES (3);\n"),
    ("sem.it's-schema.sql", "CREATE TABLE `it's` (a int);\n"),
    ("sem.it's.1.sql", "INSERT INTO `it's` VALUES (4);\n"),
    (
        "sem.dup-schema.sql",
        "CREATE TABLE `dup` (id int PRIMARY KEY, u int UNIQUE, v varchar(10));\n",
    ),
    // Row (1,11,c) conflicts with (1,10,a) in the same file on the primary key; (3,20,d)
    // in the next file conflicts with (2,20,b) on the unique key.
    (
        "sem.dup.1.sql",
        "INSERT INTO `dup` VALUES (1,10,'a'),(2,20,'b'),(1,11,'c');\n",
    ),
    ("sem.dup.2.sql", "INSERT INTO `dup` VALUES (3,20,'d'),(4,40,'e');\n"),
];

fn import(db: &MariaDb, work: &Path, strategy: &str) {
    let dir = work.join(format!("dump-{strategy}"));
    std::fs::create_dir_all(&dir).expect("dump dir");
    for (name, text) in DUMP {
        std::fs::write(dir.join(name), text).expect("write");
    }
    // One chunk at a time: each file's rows are applied whole, one file after the other.
    let toml = format!(
        "[lightning]\nfile = {log:?}\nregion-concurrency = 1\n\
         [checkpoint]\nenable = false\n\
         [conflict]\nstrategy = {strategy:?}\n\
         [tikv-importer]\nbackend = \"tidb\"\n\
         [tidb]\nhost = {host:?}\nport = {port}\nuser = \"root\"\n\
         [mydumper]\ndata-source-dir = {dir:?}\n",
        log = work.join(format!("{strategy}.log")).display().to_string(),
        host = db.host(),
        port = db.port(),
        dir = dir.display().to_string(),
    );
    let cfg = work.join(format!("{strategy}.toml"));
    std::fs::write(&cfg, toml).expect("config");
    let out = Command::new(LIGHTNING)
        .arg("--config")
        .arg(&cfg)
        .output()
        .expect("running tidb-lightning");
    assert!(
        out.status.success(),
        "{strategy}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dumps_load_as_upstream_loads_them() {
    let db = MariaDb::shared();
    let q = |s: &str| db.query(s).unwrap_or_else(|e| panic!("{s}: {e:#}"));
    let work = tempfile::Builder::new()
        .prefix("semantics-")
        .tempdir()
        .expect("tempdir");
    // What each strategy leaves in `dup` with dup.1.sql applied first, or dup.2.sql first.
    for (strategy, dup) in [
        (
            "replace",
            [
                "1\t11\tc\n3\t20\td\n4\t40\te",
                "1\t11\tc\n2\t20\tb\n4\t40\te",
            ],
        ),
        (
            "ignore",
            [
                "1\t10\ta\n2\t20\tb\n4\t40\te",
                "1\t10\ta\n3\t20\td\n4\t40\te",
            ],
        ),
    ] {
        q("DROP DATABASE IF EXISTS sem");
        import(db, work.path(), strategy);
        let checks = [
            (
                "SELECT a, b, c FROM sem.csvorder ORDER BY a",
                "1\tx\t30\n2\ty\t31",
            ),
            (
                "SELECT v, g, n, ts > NOW(6) - INTERVAL 1 HOUR FROM sem.defaults ORDER BY n",
                "dflt\t2\t1\t1\ndflt\t4\t2\t1\nx\t6\t3\t1\ny\t8\t4\t1",
            ),
            (
                "SELECT group_concat(id ORDER BY id) FROM sem.defaults",
                "1,2,3,4",
            ),
            ("SELECT a FROM sem.`with space`", "1"),
            ("SELECT a FROM sem.`dot.ted` ORDER BY a", "2\n22"),
            ("SELECT a FROM sem.`表`", "3"),
            ("SELECT a FROM sem.`it's`", "4"),
        ];
        for (sql, want) in checks {
            assert_eq!(q(sql).trim_end(), want, "{strategy}: {sql}");
        }
        let got = q("SELECT id, u, v FROM sem.dup ORDER BY id");
        assert!(
            dup.contains(&got.trim_end()),
            "{strategy}: dup holds {got:?}"
        );
        // AUTO_INCREMENT goes on past the rows the import numbered.
        q("INSERT INTO sem.defaults (n) VALUES (5)");
        assert_eq!(q("SELECT id FROM sem.defaults WHERE n = 5").trim(), "5");
    }
    q("DROP DATABASE IF EXISTS sem");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_loads_them_the_same() {
    use lightning_testkit::sim::{TestCluster, TestClusterOptions};
    let tc = TestCluster::start(TestClusterOptions::default())
        .await
        .expect("start the simulated cluster");
    let work = tempfile::Builder::new()
        .prefix("semantics-local-")
        .tempdir()
        .expect("tempdir");
    let dir = work.path().join("dump");
    std::fs::create_dir_all(&dir).expect("dump dir");
    for (name, text) in DUMP {
        std::fs::write(dir.join(name), text).expect("write");
    }
    // The local backend's encoder does not evaluate generated columns yet (it refuses
    // such tables, naming the column): this table goes without one here.
    let schema = dir.join("sem.defaults-schema.sql");
    let text = std::fs::read_to_string(&schema).expect("read");
    std::fs::write(&schema, text.replace(", g int AS (n * 2) STORED", "")).expect("write");
    let toml = configs::merge(
        &configs::local(&tc, work.path(), "local", &dir),
        "[conflict]\nstrategy = \"replace\"\n",
    );
    let cfg = work.path().join("local.toml");
    std::fs::write(&cfg, toml).expect("config");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(LIGHTNING)
            .arg("--config")
            .arg(&cfg)
            .output()
            .expect("running tidb-lightning")
    })
    .await
    .expect("runner");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q = |sql: &str| -> String {
        tc.tidb()
            .query_text(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    let checks = [
        (
            "SELECT a, b, c FROM sem.csvorder ORDER BY a",
            "1\tx\t30\n2\ty\t31",
        ),
        (
            // Ids come from each chunk's row-id range, as upstream's: increasing in file
            // order, with a gap between files.
            "SELECT v, n FROM sem.defaults ORDER BY id",
            "dflt\t1\ndflt\t2\nx\t3\ny\t4",
        ),
        (
            "SELECT COUNT(DISTINCT id), MIN(id) FROM sem.defaults",
            "4\t1",
        ),
        ("SELECT COUNT(ts) FROM sem.defaults", "4"),
        ("SELECT a FROM sem.`with space`", "1"),
        ("SELECT a FROM sem.`dot.ted` ORDER BY a", "2\n22"),
        ("SELECT a FROM sem.`表`", "3"),
        ("SELECT a FROM sem.`it's`", "4"),
        (
            "SELECT id, u, v FROM sem.dup ORDER BY id",
            "1\t11\tc\n3\t20\td\n4\t40\te",
        ),
    ];
    for (sql, want) in checks {
        assert_eq!(q(sql), want, "{sql}");
    }
    tc.shutdown().await;
}
