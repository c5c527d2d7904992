use super::*;

fn plan(text: &str, kind: FileKind, db: &str, name: Option<&str>) -> Result<Vec<String>, String> {
    let stmts =
        lightning_parser::split_statements_at(text.as_bytes()).map_err(|e| e.to_string())?;
    plan_file("f.sql", text, &stmts, kind, &Target { db, name })
        .map(|v| v.into_iter().map(|(_, s)| s).collect())
        .map_err(|e| e.to_string())
}

fn table(text: &str) -> Result<Vec<String>, String> {
    plan(text, FileKind::Table, "d", Some("t"))
}

#[test]
fn dumpling_mydumper_and_mysqldump_files_run_renamed() {
    assert_eq!(
        table("/*!40101 SET NAMES binary*/;\nCREATE TABLE `x` (\n  `a` int\n);\n").unwrap(),
        [
            "/*!40101 SET NAMES binary*/",
            "CREATE TABLE IF NOT EXISTS `d`.`t` (\n  `a` int\n)"
        ]
    );
    // mysqldump's own DROP of the table is not run: the table may hold imported rows.
    let got = table("/*!40101 SET @saved_cs_client = @@character_set_client */;\nDROP TABLE IF EXISTS `t`;\nCREATE TABLE `t` (a int);\n/*!40101 SET character_set_client = @saved_cs_client */;").unwrap();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|s| !s.contains("DROP")), "{got:?}");
    assert_eq!(
        plan(
            "CREATE DATABASE IF NOT EXISTS `Src` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;",
            FileKind::Database,
            "dst",
            None
        )
        .unwrap(),
        ["CREATE DATABASE IF NOT EXISTS `dst` /*!40100 DEFAULT CHARACTER SET utf8mb4 */"]
    );
    let view = "SET NAMES binary;\nDROP TABLE IF EXISTS `v1`;\nDROP VIEW IF EXISTS `v1`;\nSET @PREV_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT;\nCREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `v1` (`a`) AS SELECT `a` FROM `t`;\nSET CHARACTER_SET_CLIENT = @PREV_CHARACTER_SET_CLIENT;\n";
    let got = plan(view, FileKind::View, "db", Some("v2")).unwrap();
    assert_eq!(got[1], "DROP TABLE IF EXISTS `db`.`v2`");
    assert_eq!(got[2], "DROP VIEW IF EXISTS `db`.`v2`");
    assert!(got[4].starts_with("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `db`.`v2` (`a`) AS"), "{}", got[4]);
}

/// Regression: statements a schema file smuggled in besides its CREATE were run.
#[test]
fn smuggled_statements_are_refused_with_file_offset_and_what() {
    for (text, what, at) in [
        (
            "CREATE TABLE t (a int);\nDROP TABLE other_db.x;",
            "refused DROP of `other_db`.`x`",
            24,
        ),
        (
            "DROP TABLE IF EXISTS other;\nCREATE TABLE t (a int);",
            "refused DROP of `other`",
            0,
        ),
        (
            "DROP TABLE IF EXISTS t, other;\nCREATE TABLE t (a int);",
            "refused DROP of `t`, `other`",
            0,
        ),
        (
            "DROP TABLE IF EXISTS elsewhere.t;\nCREATE TABLE t (a int);",
            "refused DROP of `elsewhere`.`t`",
            0,
        ),
        (
            "CREATE TABLE t (a int); UPDATE other.t SET a = 1;",
            "refused UPDATE",
            24,
        ),
        (
            "CREATE TABLE t (a int); DELETE FROM other.t;",
            "refused DELETE",
            24,
        ),
        (
            "INSERT INTO other.t VALUES (1); CREATE TABLE t (a int);",
            "refused INSERT",
            0,
        ),
        (
            "CREATE TABLE t (a int); CREATE TABLE u (a int);",
            "a second CREATE TABLE",
            24,
        ),
        (
            "CREATE TABLE t (a int); CREATE DATABASE x;",
            "refused CREATE DATABASE",
            24,
        ),
        (
            "SET GLOBAL max_connections = 1; CREATE TABLE t (a int);",
            "refused SET … GLOBAL",
            0,
        ),
        (
            "CREATE OR REPLACE TABLE t (a int);",
            "refused CREATE OR REPLACE",
            0,
        ),
        (
            "CREATE TABLE t SELECT * FROM mysql.user;",
            "refused CREATE TABLE … SELECT",
            0,
        ),
        (
            "CREATE TABLE t (a int) /*!50000 ; DROP TABLE other.x */;",
            "';' outside a string",
            32,
        ),
        ("", "holds no CREATE TABLE statement", 0),
        (
            "SET NAMES utf8mb4;\n-- nothing else\n",
            "holds no CREATE TABLE statement",
            0,
        ),
    ] {
        let err = table(text).unwrap_err();
        assert!(
            err.starts_with(&format!("f.sql: statement at byte {at} (line")),
            "{text}: {err}"
        );
        assert!(err.contains(what), "{text}: {err}");
    }
    let db = |t: &str| plan(t, FileKind::Database, "d", None).unwrap_err();
    assert!(db("CREATE DATABASE d; DROP TABLE x.y;").contains("refused DROP TABLE"));
    assert!(db("DROP DATABASE IF EXISTS d; CREATE DATABASE d;").contains("refused DROP DATABASE"));
    assert!(db("CREATE DATABASE a; CREATE DATABASE b;").contains("a second CREATE DATABASE"));
    assert!(db("CREATE OR REPLACE DATABASE d;").contains("refused CREATE OR REPLACE"));
    // A database file with only SETs (or nothing) leaves the creation to the caller.
    assert_eq!(
        plan("", FileKind::Database, "d", None).unwrap(),
        Vec::<String>::new()
    );
    let view = |t: &str| plan(t, FileKind::View, "d", Some("v")).unwrap_err();
    assert!(
        view("DROP VIEW IF EXISTS w; CREATE VIEW v AS SELECT 1;").contains("refused DROP of `w`")
    );
    assert!(
        view("CREATE VIEW v AS SELECT 1; CREATE VIEW w AS SELECT 2;")
            .contains("a second CREATE VIEW")
    );
    assert!(view("CREATE TABLE v (a int);").contains("refused CREATE TABLE: a view file"));
}
