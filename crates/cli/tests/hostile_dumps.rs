//! Untrusted dumps, through the real binary on both backends (`tidb` into a private
//! MariaDB, `local` into the simulated cluster): a schema file that smuggles statements
//! in besides its `CREATE`, a data file that is not a sequence of `INSERT`s, a column named
//! twice, a FIFO in the source dir, a negative `max-error`. Each must fail with an error
//! naming the file, the offset and the reason, and leave a table of an unrelated database
//! (`victim`.`x`) untouched; a refused schema file must stop the import before anything
//! is created.

mod configs;

use configs::merge;
use lightning_testkit::sim::{TestCluster, TestClusterOptions};
use lightning_testkit::MariaDb;
use std::path::Path;
use std::process::Command;

const LIGHTNING: &str = env!("CARGO_BIN_EXE_tidb-lightning");

/// The base dump: database `h`, table `t` with two rows in `h.t.1.sql`.
const BASE: [(&str, &str); 3] = [
    ("h-schema-create.sql", "CREATE DATABASE `h`;\n"),
    (
        "h.t-schema.sql",
        "CREATE TABLE `t` (a int PRIMARY KEY, b int);\n",
    ),
    ("h.t.1.sql", "INSERT INTO `t` VALUES (1,10),(2,20);\n"),
];

/// One hostile variant of the base dump.
struct Case {
    /// What it checks.
    name: &'static str,
    /// Files written over (or besides) the base dump's; `None` removes the file.
    files: &'static [(&'static str, Option<&'static [u8]>)],
    /// A FIFO made with this name.
    fifo: Option<&'static str>,
    /// Extra config TOML.
    extra: &'static str,
    /// The exit code.
    code: i32,
    /// Fragments the error (stderr) must hold.
    error: &'static [&'static str],
    /// The refusal comes before any schema statement runs (so `h` is never created).
    before_schema: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "a table file that also drops a table of another database",
        files: &[(
            "h.t-schema.sql",
            Some(b"CREATE TABLE `t` (a int PRIMARY KEY, b int);\nDROP TABLE victim.x;\n"),
        )],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h.t-schema.sql: statement at byte 45 (line 2): refused DROP of `victim`.`x`"],
        before_schema: true,
    },
    Case {
        name: "a database file that also updates another table",
        files: &[(
            "h-schema-create.sql",
            Some(
                b"/*!40101 SET NAMES binary*/;\nCREATE DATABASE `h`;\nUPDATE victim.x SET a = 2;\n",
            ),
        )],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h-schema-create.sql: statement at byte 50 (line 3): refused UPDATE"],
        before_schema: true,
    },
    Case {
        name: "a table file that deletes before its CREATE",
        files: &[(
            "h.t-schema.sql",
            Some(b"DELETE FROM victim.x;\nCREATE TABLE `t` (a int PRIMARY KEY, b int);\n"),
        )],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h.t-schema.sql: statement at byte 0 (line 1): refused DELETE"],
        before_schema: true,
    },
    Case {
        name: "a statement hidden behind a ';' in an executable comment",
        files: &[(
            "h.t-schema.sql",
            Some(
                b"CREATE TABLE `t` (a int PRIMARY KEY, b int) /*!50000 ; DROP TABLE victim.x */;\n",
            ),
        )],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h.t-schema.sql: statement at byte 53 (line 1): ';' outside a string"],
        before_schema: true,
    },
    Case {
        name: "two CREATE TABLEs in one file",
        files: &[(
            "h.t-schema.sql",
            Some(b"CREATE TABLE `t` (a int PRIMARY KEY, b int);\nCREATE TABLE victim.y (a int);\n"),
        )],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h.t-schema.sql: statement at byte 45 (line 2): a second CREATE TABLE statement"],
        before_schema: true,
    },
    Case {
        name: "an empty table schema file",
        files: &[("h.t-schema.sql", Some(b"-- nothing here\n"))],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h.t-schema.sql: statement at byte 0 (line 1): holds no CREATE TABLE statement"],
        before_schema: true,
    },
    Case {
        name: "a CREATE TABLE the target refuses",
        files: &[(
            "h.t-schema.sql",
            Some(b"SET NAMES utf8mb4;\nCREATE TABLE `t` (a nosuchtype);\n"),
        )],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h.t-schema.sql: statement at byte 19: ", "nosuchtype"],
        before_schema: false,
    },
    Case {
        name: "a misspelled INSERT",
        files: &[(
            "h.t.1.sql",
            Some(b"INSERT INTO `t` VALUES (1,10);\nINSRT INTO `t` VALUES (2,20);\n"),
        )],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h.t.1.sql: at byte 31 (line 2): 'INSRT' is not an INSERT or REPLACE statement"],
        before_schema: false,
    },
    Case {
        name: "binary garbage in a SQL data file",
        files: &[("h.t.1.sql", Some(b"\x00\x9c\xffPK\x03\x04garbage;\n"))],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h.t.1.sql: at byte 0 (line 1): expected a statement"],
        before_schema: false,
    },
    Case {
        name: "CSV text in a SQL data file",
        files: &[("h.t.1.sql", Some(b"1,10\n2,20\n"))],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h.t.1.sql: at byte 0 (line 1): '1' is not an INSERT or REPLACE statement"],
        before_schema: false,
    },
    Case {
        name: "a column list naming a column twice",
        files: &[(
            "h.t.1.sql",
            Some(b"INSERT INTO `t` (a, b, `A`) VALUES (1, 10, 3);\n"),
        )],
        fifo: None,
        extra: "",
        code: 1,
        error: &["h.t.1.sql: at byte 23 (line 1): column `A` appears twice in the column list"],
        before_schema: false,
    },
    Case {
        name: "a CSV header naming a column twice",
        files: &[
            ("h.t.1.sql", None),
            ("h.t.1.csv", Some(b"a,b,B\n1,10,11\n")),
        ],
        fifo: None,
        extra: "[mydumper.csv]\nheader = true\n",
        code: 1,
        error: &["h.t.1.csv: at byte 0 (line 1): column `B` appears twice in the header"],
        before_schema: false,
    },
    Case {
        name: "a FIFO that routes to a data file",
        files: &[],
        fifo: Some("h.t.2.sql"),
        extra: "",
        code: 1,
        error: &["h.t.2.sql", "is a FIFO, not a regular file"],
        before_schema: true,
    },
    Case {
        name: "a negative max-error",
        files: &[],
        fifo: None,
        extra: "[lightning]\nmax-error = -1\n",
        code: 2,
        error: &["lightning.max-error = -1: must be 0 or more"],
        before_schema: true,
    },
];

/// Writes `case`'s dump into `dir`.
fn write_dump(dir: &Path, case: &Case) {
    std::fs::create_dir_all(dir).expect("dump dir");
    for (name, text) in BASE {
        std::fs::write(dir.join(name), text).expect("write");
    }
    for (name, bytes) in case.files {
        match bytes {
            Some(b) => std::fs::write(dir.join(name), b).expect("write"),
            None => std::fs::remove_file(dir.join(name)).expect("remove"),
        }
    }
    if let Some(f) = case.fifo {
        let ok = Command::new("mkfifo")
            .arg(dir.join(f))
            .status()
            .expect("mkfifo");
        assert!(ok.success());
    }
}

/// Runs the binary on `config`; returns its exit code and stderr.
fn run(config: &Path) -> (Option<i32>, String) {
    let out = Command::new(LIGHTNING)
        .arg("-config")
        .arg(config)
        .output()
        .expect("running tidb-lightning");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check_error(case: &Case, code: Option<i32>, stderr: &str) {
    assert_eq!(code, Some(case.code), "{}: {stderr}", case.name);
    for f in case.error {
        assert!(
            stderr.contains(f),
            "{}: missing {f:?} in: {stderr}",
            case.name
        );
    }
}

#[test]
fn tidb_backend_refuses_hostile_dumps_and_touches_nothing_else() {
    let db = MariaDb::shared();
    let q = |s: &str| db.query(s).unwrap_or_else(|e| panic!("{s}: {e:#}"));
    let work = tempfile::Builder::new()
        .prefix("hostile-")
        .tempdir()
        .expect("tempdir");
    for (i, case) in CASES.iter().enumerate() {
        q(
            "DROP DATABASE IF EXISTS h; DROP DATABASE IF EXISTS victim; CREATE DATABASE victim; \
           CREATE TABLE victim.x (a int); INSERT INTO victim.x VALUES (1);",
        );
        let dir = work.path().join(format!("dump{i}"));
        write_dump(&dir, case);
        let config = work.path().join(format!("tidb{i}.toml"));
        let toml = format!(
            "[lightning]\nfile = {log:?}\n[checkpoint]\nenable = false\n\
             [tikv-importer]\nbackend = \"tidb\"\n\
             [tidb]\nhost = {host:?}\nport = {port}\nuser = \"root\"\n\
             [mydumper]\ndata-source-dir = {dir:?}\n",
            log = work
                .path()
                .join(format!("tidb{i}.log"))
                .display()
                .to_string(),
            host = db.host(),
            port = db.port(),
            dir = dir.display().to_string(),
        );
        std::fs::write(&config, merge(&toml, case.extra)).expect("config");
        let (code, stderr) = run(&config);
        check_error(case, code, &stderr);
        assert_eq!(
            q("SELECT a FROM victim.x").trim(),
            "1",
            "{}: victim.x changed",
            case.name
        );
        assert_eq!(q("SHOW TABLES FROM victim").trim(), "x", "{}", case.name);
        let created = q("SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'h'");
        let want = if case.before_schema { "0" } else { "1" };
        assert_eq!(created.trim(), want, "{}: database h created?", case.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_refuses_hostile_dumps_and_touches_nothing_else() {
    let tc = TestCluster::start(TestClusterOptions::default())
        .await
        .expect("start the simulated cluster");
    let work = tempfile::Builder::new()
        .prefix("hostile-local-")
        .tempdir()
        .expect("tempdir");
    for (i, case) in CASES.iter().enumerate() {
        let seen = tc.tidb().statements().len();
        let dir = work.path().join(format!("dump{i}"));
        write_dump(&dir, case);
        let config = work.path().join(format!("local{i}.toml"));
        let toml = configs::local(&tc, work.path(), &format!("local{i}"), &dir);
        std::fs::write(&config, merge(&toml, case.extra)).expect("config");
        let (code, stderr) = tokio::task::spawn_blocking(move || run(&config))
            .await
            .expect("runner");
        check_error(case, code, &stderr);
        let sent = &tc.tidb().statements()[seen..];
        assert!(
            !sent
                .iter()
                .any(|s| s.to_ascii_lowercase().contains("victim")),
            "{}: a smuggled statement reached TiDB: {sent:?}",
            case.name
        );
        if case.before_schema {
            assert!(
                !sent
                    .iter()
                    .any(|s| s.trim_start().to_ascii_uppercase().starts_with("CREATE")),
                "{}: something was created before the refusal: {sent:?}",
                case.name
            );
        }
    }
    tc.shutdown().await;
}
