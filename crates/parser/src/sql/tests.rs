use super::SqlParser;
use crate::{ChunkParser, FieldKind, ParseError, RowBatch};

type Rows = Vec<Vec<(FieldKind, Vec<u8>)>>;

fn rows_of(out: &RowBatch) -> Rows {
    out.rows()
        .map(|r| r.fields().map(|f| (f.kind, f.bytes.to_vec())).collect())
        .collect()
}

/// Parses `input` in one call with `eof = true`; also returns the last column list.
fn parse(input: &str) -> Result<(Rows, Option<Vec<String>>), ParseError> {
    let mut p = SqlParser::new(0);
    let mut out = RowBatch::new();
    let mut rows = Rows::new();
    let mut at = 0;
    loop {
        let n = p.parse(&input.as_bytes()[at..], true, &mut out)?;
        rows.extend(rows_of(&out));
        at += n;
        if at == input.len() {
            return Ok((rows, out.columns.clone()));
        }
        assert!(!out.is_empty(), "stuck at {at}");
        out.clear();
    }
}

fn one(value: &str) -> (FieldKind, Vec<u8>) {
    let (rows, _) = parse(&format!("INSERT INTO t VALUES ({value});")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].len(), 1, "{value}");
    rows[0][0].clone()
}

fn err(input: &str) -> ParseError {
    parse(input).unwrap_err()
}

use FieldKind::*;

#[test]
fn single_quoted_string_with_every_escape() {
    let (k, b) = one(r#"'a\0b\'c\"d\be\nf\rg\th\Zi\\j\%k\_l\qm'"#);
    assert_eq!(k, Text);
    assert_eq!(b, b"a\0b'c\"d\x08e\nf\rg\th\x1ai\\j\\%k\\_lqm");
}

#[test]
fn doubled_quotes_and_double_quoted_strings() {
    assert_eq!(one("'it''s'"), (Text, b"it's".to_vec()));
    assert_eq!(
        one(r#""say ""hi"" \"x\"""#),
        (Text, br#"say "hi" "x""#.to_vec())
    );
    assert_eq!(one("''"), (Text, vec![]));
    assert_eq!(one("'multi\nline'"), (Text, b"multi\nline".to_vec()));
}

#[test]
fn charset_introducers_are_dropped() {
    assert_eq!(one("_binary 'a\\0b'"), (Text, b"a\0b".to_vec()));
    assert_eq!(one("_utf8mb4'x'"), (Text, b"x".to_vec()));
    assert_eq!(one("_latin1 0x41"), (Binary, b"A".to_vec()));
    assert_eq!(one("_binary X'4142'"), (Binary, b"AB".to_vec()));
    assert_eq!(one("N'national'"), (Text, b"national".to_vec()));
}

#[test]
fn hex_literals() {
    assert_eq!(one("0x0A"), (Binary, vec![0x0a]));
    assert_eq!(one("0xABC"), (Binary, vec![0x0a, 0xbc]));
    assert_eq!(one("X'0a'"), (Binary, vec![0x0a]));
    assert_eq!(one("x''"), (Binary, vec![]));
    assert_eq!(one("0x"), (Binary, vec![]));
    assert!(err("INSERT INTO t VALUES (X'abc');")
        .message
        .contains("even number"));
    assert!(err("INSERT INTO t VALUES (0x1G);")
        .message
        .contains("malformed hex"));
}

#[test]
fn bit_literals_pad_to_whole_bytes_like_mysql() {
    assert_eq!(one("b'101'"), (Binary, vec![5]));
    assert_eq!(one("B'1000001'"), (Binary, b"A".to_vec()));
    assert_eq!(one("0b101"), (Binary, vec![5]));
    assert_eq!(one("b'0000000001000001'"), (Binary, vec![0, 0x41]));
    assert_eq!(one("b'111111111'"), (Binary, vec![1, 0xff]));
    assert_eq!(one("b''"), (Binary, vec![]));
    assert!(err("INSERT INTO t VALUES (b'102');")
        .message
        .contains("malformed bit"));
}

#[test]
fn null_true_false_any_case() {
    assert_eq!(one("NULL"), (Null, vec![]));
    assert_eq!(one("null"), (Null, vec![]));
    assert_eq!(one("NuLl"), (Null, vec![]));
    assert_eq!(one("TRUE"), (Number, b"1".to_vec()));
    assert_eq!(one("false"), (Number, b"0".to_vec()));
}

#[test]
fn numbers_keep_their_text_without_plus() {
    for (v, want) in [
        ("0", "0"),
        ("-12", "-12"),
        ("+7", "7"),
        ("3.25", "3.25"),
        (".5", ".5"),
        ("5.", "5."),
        ("-1.5e-3", "-1.5e-3"),
        ("2E+10", "2E+10"),
        ("00012", "00012"),
    ] {
        assert_eq!(one(v), (Number, want.as_bytes().to_vec()), "{v}");
    }
    assert!(err("INSERT INTO t VALUES (1e);")
        .message
        .contains("exponent"));
    assert!(err("INSERT INTO t VALUES (1.2.3);")
        .message
        .contains("malformed number"));
    assert!(err("INSERT INTO t VALUES (12abc);")
        .message
        .contains("malformed number"));
    assert!(err("INSERT INTO t VALUES (-);")
        .message
        .contains("expected a value"));
}

#[test]
fn expressions_are_rejected_clearly() {
    let e = err("INSERT INTO t VALUES (NOW());");
    assert!(
        e.message.contains("function calls are not supported"),
        "{e}"
    );
    let e = err("INSERT INTO t VALUES (1+2);");
    assert!(
        e.message
            .contains("expected ',' or ')' after value, found '+'"),
        "{e}"
    );
    assert_eq!(e.offset, 23);
    let e = err("INSERT INTO t VALUES (abc);");
    assert!(e.message.contains("expressions are not supported"), "{e}");
}

#[test]
fn column_lists_and_statement_forms() {
    let sql = "INSERT INTO `db`.`t` (`a`,`b``c`, d) VALUES (1,2,3),(4,5,6);\n\
               REPLACE INTO t VALUE (7);\n\
               INSERT IGNORE INTO \"t\" VALUES (8);\n\
               INSERT LOW_PRIORITY t(a) VALUES(9)";
    let mut p = SqlParser::new(0);
    let mut out = RowBatch::new();
    let mut at = 0;
    let mut seen = Vec::new();
    while at < sql.len() {
        at += p.parse(&sql.as_bytes()[at..], true, &mut out).unwrap();
        seen.push((out.len(), out.columns.clone()));
        out.clear();
    }
    let cols = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(
        seen,
        vec![(2, cols(&["a", "b`c", "d"])), (2, None), (1, cols(&["a"]))],
        "the two statements without a list share a batch; list changes split batches"
    );
}

#[test]
fn other_statements_and_comments_are_skipped() {
    let sql = "/*!40101 SET NAMES binary*/;\n\
        /*M!999999\\- enable the sandbox mode */\n\
        -- MySQL dump\n--\n# hash comment\n/* plain ; comment */\n\
        SET @OLD_FK=@@FOREIGN_KEY_CHECKS, x = 'a;b';\n\
        LOCK TABLES `t` WRITE;\n/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n\
        USE `db`; BEGIN; ;;\n\
        INSERT INTO `t` VALUES (1,'a'),\n(2,'b');\n\
        /*!40000 ALTER TABLE `t` ENABLE KEYS */;\nUNLOCK TABLES;\nCOMMIT;\n";
    let (rows, cols) = parse(sql).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1],
        vec![(Number, b"2".to_vec()), (Text, b"b".to_vec())]
    );
    assert_eq!(cols, None);
}

#[test]
fn double_dash_needs_a_space_to_be_a_comment() {
    // `--1` is not a comment: a row value `-` `-1` is an expression.
    let e = err("INSERT INTO t VALUES (--1);");
    assert!(e.message.contains("expected a value"), "{e}");
    assert_eq!(
        parse("--\tcomment\nINSERT INTO t VALUES (1);")
            .unwrap()
            .0
            .len(),
        1
    );
}

#[test]
fn empty_row_and_whitespace() {
    let (rows, _) = parse("INSERT INTO t VALUES ( ),( 1 , 'x' )\n;").unwrap();
    assert_eq!(rows[0], vec![]);
    assert_eq!(rows[1].len(), 2);
}

#[test]
fn missing_final_semicolon_is_accepted() {
    assert_eq!(parse("INSERT INTO t VALUES (1),(2)").unwrap().0.len(), 2);
}

#[test]
fn errors_carry_offset_and_line() {
    let e = err("INSERT INTO t VALUES (1);\nINSERT INTO t VALUES ('abc");
    assert_eq!(e.offset, 48);
    assert_eq!(e.line, Some(2));
    assert!(
        e.message
            .contains("unterminated string literal starting at byte 48"),
        "{e}"
    );
    let e = err("INSERT INTO t VALUES (1),");
    assert!(
        e.message
            .contains("unexpected end of file inside INSERT statement"),
        "{e}"
    );
    let e = err("INSERT INTO t VALUES");
    assert!(e.message.contains("unexpected end of file"), "{e}");
    let e = err("INSERT INTO t SELECT 1;");
    assert!(e.message.contains("only INSERT ... VALUES"), "{e}");
    let e = err("INSERT INTO t VALUES (1) (2);");
    assert!(e.message.contains("expected ',' or ';' after a row"), "{e}");
}

#[test]
fn row_end_offsets_and_positions() {
    let sql = b"INSERT INTO t VALUES (1),(22);";
    let mut p = SqlParser::new(100);
    let mut out = RowBatch::new();
    assert_eq!(p.parse(sql, true, &mut out).unwrap(), sql.len());
    assert_eq!(out.row(0).end_offset(), 124);
    assert_eq!(out.row(1).end_offset(), 129);
    assert_eq!(p.pos(), 100 + sql.len() as u64);
}

#[test]
fn incomplete_input_consumes_only_whole_rows() {
    let sql = b"INSERT INTO t VALUES (1,'ab";
    let mut p = SqlParser::new(0);
    let mut out = RowBatch::new();
    assert_eq!(p.parse(sql, false, &mut out).unwrap(), 20);
    assert!(out.is_empty());
    assert_eq!(out.data_bytes(), 0, "partial field bytes were discarded");
    let rest = b" (1,'ab'),(2,'c";
    assert_eq!(p.parse(rest, false, &mut out).unwrap(), 9);
    assert_eq!(out.len(), 1);
}

#[test]
fn resume_after_row_continues_a_statement() {
    let mut p = SqlParser::resume_after_row(50, Some(vec!["a".into()]));
    let mut out = RowBatch::new();
    p.parse(b",\n(3),(4);", true, &mut out).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out.columns, Some(vec!["a".to_string()]));
}

#[test]
fn bom_is_skipped_at_file_start() {
    let sql = "\u{feff}INSERT INTO t VALUES (1);";
    assert_eq!(parse(sql).unwrap().0.len(), 1);
}

#[test]
fn no_backslash_escapes_mode() {
    let mut p = SqlParser::new(0).no_backslash_escapes();
    let mut out = RowBatch::new();
    p.parse(br"INSERT INTO t VALUES ('a\n''b\');", true, &mut out)
        .unwrap();
    assert_eq!(out.row(0).field(0).bytes, br"a\n'b\");
}

/// Regression: a data file whose statements are not INSERTs (misspelled, foreign, CSV
/// text, binary garbage) parsed to nothing and the import ended with rows missing.
#[test]
fn a_statement_that_is_not_an_insert_is_an_error_naming_it() {
    for (sql, at, word) in [
        ("INSRT INTO t VALUES (1);", 0, "'INSRT'"),
        (
            "SET NAMES binary;\nINSERT INTO t VALUES (1);\nDELETE FROM t;",
            44,
            "'DELETE'",
        ),
        ("1,foo,bar\n2,baz,qux\n", 0, "'1'"),
        (
            "DROP TABLE IF EXISTS t;\nINSERT INTO t VALUES (1);",
            0,
            "'DROP'",
        ),
        ("ALTER TABLE t ADD COLUMN c int;", 0, "'ALTER'"),
        ("ALTER TABLE t DISABLE KEYS, ADD c int;", 0, "'ALTER'"),
        ("\u{fffd}\u{fffd}garbage", 0, "is not an INSERT"),
    ] {
        let e = err(sql);
        assert_eq!(e.offset, at, "{sql}: {e}");
        assert!(e.message.contains(word), "{sql}: {e}");
        assert!(
            e.message.contains("is not an INSERT or REPLACE statement"),
            "{sql}: {e}"
        );
    }
    let e = err("\u{1}\u{2}\u{3}");
    assert!(e.message.contains("expected a statement"), "{e}");
    // mysqldump's bare forms are skipped.
    let sql = "ALTER TABLE `t` DISABLE KEYS;\nSTART TRANSACTION;\nINSERT INTO t VALUES (1);\nalter table t enable keys;\nROLLBACK;";
    assert_eq!(parse(sql).unwrap().0.len(), 1);
}

/// Regression: a column list naming a column twice was accepted, and one value lost.
#[test]
fn a_column_list_naming_a_column_twice_is_an_error() {
    let e = err("INSERT INTO t (a, `b`, `A`) VALUES (1, 2, 3);");
    assert!(
        e.message
            .contains("column `A` appears twice in the column list"),
        "{e}"
    );
    assert_eq!(e.offset, 23);
}
