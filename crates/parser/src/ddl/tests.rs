use super::*;

fn kind(s: &str) -> DdlKind {
    analyze(s).unwrap().kind
}

fn name(schema: Option<&str>, n: &str) -> ObjectName {
    ObjectName {
        schema: schema.map(str::to_string),
        name: n.into(),
    }
}

#[test]
fn what_dumpling_mydumper_and_mysqldump_write_is_classified() {
    for set in [
        "/*!40101 SET NAMES binary*/",
        "/*!40014 SET FOREIGN_KEY_CHECKS=0*/",
        "/*!40103 SET TIME_ZONE='+00:00' */",
        "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */",
        "SET @PREV_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT",
        "SET character_set_client = utf8",
        "SET @@SESSION.sql_log_bin = 0",
        "SET NAMES utf8mb4 COLLATE utf8mb4_general_ci",
    ] {
        assert_eq!(kind(set), DdlKind::Set, "{set}");
    }
    let t =
        analyze("CREATE TABLE `t` (\n `a` int DEFAULT 'x;y'\n) /*T![clustered_index] CLUSTERED */")
            .unwrap();
    assert_eq!(t.kind, DdlKind::CreateTable);
    assert_eq!(t.objects, [name(None, "t")]);
    assert!(!t.if_exists_clause);
    let d = analyze(
        "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `a``b` /*!40100 DEFAULT CHARACTER SET utf8mb4 */",
    )
    .unwrap();
    assert_eq!(d.kind, DdlKind::CreateDatabase);
    assert_eq!(d.objects, [name(None, "a`b")]);
    assert!(d.if_exists_clause);
    let v = analyze("/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */ /*!50001 VIEW `v1` AS select 1 AS `a` */").unwrap();
    assert_eq!(v.kind, DdlKind::CreateView);
    assert_eq!(v.objects, [name(None, "v1")]);
    let v = analyze("CREATE OR REPLACE ALGORITHM=UNDEFINED DEFINER='u'@'%' SQL SECURITY INVOKER VIEW db.v AS SELECT 1").unwrap();
    assert_eq!((v.kind, v.or_replace), (DdlKind::CreateView, true));
    assert_eq!(v.objects, [name(Some("db"), "v")]);
    let dr = analyze("DROP TABLE IF EXISTS `v1`").unwrap();
    assert_eq!((dr.kind, dr.if_exists_clause), (DdlKind::DropTable, true));
    let dr = analyze("/*!50001 DROP VIEW IF EXISTS `v1`*/").unwrap();
    assert_eq!(dr.kind, DdlKind::DropView);
    assert_eq!(dr.objects, [name(None, "v1")]);
    let u = analyze("/*M!999999\\- enable the sandbox mode */ \nUSE `db`").unwrap();
    assert_eq!((u.kind, u.objects), (DdlKind::Use, vec![name(None, "db")]));
    assert_eq!(
        kind("/*M!999999\\- enable the sandbox mode */\n/*!40101 SET NAMES utf8mb4 */"),
        DdlKind::Set
    );
    let dr = analyze("DROP TABLE a, other.b").unwrap();
    assert_eq!(dr.objects, [name(None, "a"), name(Some("other"), "b")]);
}

#[test]
fn statements_that_do_more_than_declare_are_other() {
    for (s, what) in [
        ("DROP DATABASE x", "DROP DATABASE"),
        ("UPDATE other.t SET a = 1", "UPDATE"),
        ("insert into other.t values (1)", "INSERT"),
        ("SET GLOBAL read_only = 1", "SET … GLOBAL"),
        ("SET @@global.read_only = 1", "SET @@GLOBAL"),
        ("/*!40101 SET @@GLOBAL.x = 1 */", "SET @@GLOBAL"),
        ("SET PASSWORD = 'x'", "SET … PASSWORD"),
        (
            "SET STATEMENT max_statement_time=1 FOR DROP TABLE x",
            "SET … STATEMENT",
        ),
        ("SET @a = f()", "SET with an expression call"),
        (
            "CREATE TABLE t SELECT * FROM other.secret",
            "CREATE TABLE … SELECT",
        ),
        (
            "CREATE TABLE t AS TABLE other.secret",
            "CREATE TABLE … TABLE",
        ),
        (
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @a = 1",
            "CREATE TRIGGER",
        ),
        ("CREATE USER u", "CREATE USER"),
        ("GRANT ALL ON *.* TO u", "GRANT"),
        ("DROP TABLE t garbage", "DROP TABLE"),
    ] {
        assert_eq!(kind(s), DdlKind::Other(what.into()), "{s}");
    }
    let st = analyze("CREATE OR REPLACE TABLE t (a int)").unwrap();
    assert!(st.or_replace && st.kind == DdlKind::CreateTable);
    let st = analyze("CREATE TEMPORARY TABLE t (a int)").unwrap();
    assert!(st.temporary);
    // Words that only look like a query inside a definition.
    assert_eq!(
        kind("CREATE TABLE t (a int, FULLTEXT KEY (b) WITH PARSER ngram) PARTITION BY LIST (a) (PARTITION p VALUES IN (1))"),
        DdlKind::CreateTable
    );
}

#[test]
fn text_some_sql_mode_reads_as_two_statements_is_refused() {
    for s in [
        // A `;` in an executable comment ends the statement for the server.
        "CREATE TABLE t (a int) /*!50000 ; DROP TABLE other.x */",
        // Under NO_BACKSLASH_ESCAPES the string ends at `\'`.
        "CREATE TABLE t (a varchar(9) DEFAULT 'x\\'; DROP TABLE other.y; SET @z = ')",
        // Under ANSI_QUOTES "…" is an identifier, where `\` escapes nothing.
        "CREATE TABLE t (a int COMMENT \"x\\\"; DROP TABLE other.y; SET @z = \")",
        // A line comment inside an executable comment hides its end from us, not the server.
        "CREATE TABLE t (a int) /*!50000 -- ' \n */ COMMENT ' ",
        "CREATE TABLE t (a int) /*!50000 # */",
    ] {
        let err = analyze(s).unwrap_err();
        assert!(err.0 < s.len(), "{s}: {err:?}");
    }
    assert!(
        analyze("CREATE TABLE t (a varchar(9) DEFAULT 'a\\\\b;c', b int COMMENT 'it''s')").is_ok()
    );
}

#[test]
fn rename_points_the_statement_at_the_target_and_adds_if_not_exists() {
    let r = |s: &str, to: &str| {
        let a = analyze(s).unwrap();
        rename(s, &a, to, true).unwrap()
    };
    assert_eq!(
        r("CREATE DATABASE `CSV`", "`csv`"),
        "CREATE DATABASE IF NOT EXISTS `csv`"
    );
    // Already there, bare or in a version comment: not added twice.
    assert_eq!(
        r(
            "CREATE DATABASE IF NOT EXISTS `db1` DEFAULT CHARSET utf8mb4",
            "`db1`"
        ),
        "CREATE DATABASE IF NOT EXISTS `db1` DEFAULT CHARSET utf8mb4"
    );
    assert_eq!(
        r("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `x` /*!40100 DEFAULT CHARACTER SET utf8mb4 */", "`y`"),
        "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `y` /*!40100 DEFAULT CHARACTER SET utf8mb4 */"
    );
    assert_eq!(
        r("create table IF NOT EXISTS s3.t(i int)", "`d`.`t`"),
        "create table IF NOT EXISTS `d`.`t`(i int)"
    );
    assert_eq!(
        r("CREATE TABLE tablex (i int)", "`d`.`t`"),
        "CREATE TABLE IF NOT EXISTS `d`.`t` (i int)"
    );
    // Inside an executable comment the name stays inside it.
    let s = "/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50001 VIEW `v1` AS select 1 */";
    let a = analyze(s).unwrap();
    assert_eq!(
        rename(s, &a, "`d`.`v`", false).unwrap(),
        "/*!50001 CREATE ALGORITHM=UNDEFINED */ /*!50001 VIEW `d`.`v` AS select 1 */"
    );
    let s = "SET NAMES binary";
    assert_eq!(rename(s, &analyze(s).unwrap(), "`x`", true), None);
}
