use super::{CsvOptions, CsvParser};
use crate::{ChunkParser, FieldKind, ParseError, RowBatch};

/// A field as the tests write it: `None` for NULL.
type Rows = Vec<Vec<Option<String>>>;

fn run(opts: CsvOptions, input: &str) -> Result<(Rows, Option<Vec<String>>), ParseError> {
    let mut p = CsvParser::new(opts, 0);
    let mut out = RowBatch::new();
    let n = p.parse(input.as_bytes(), true, &mut out)?;
    assert_eq!(n, input.len());
    let rows = out
        .rows()
        .map(|r| {
            r.fields()
                .map(|f| match f.kind {
                    FieldKind::Null => None,
                    FieldKind::Text => Some(String::from_utf8_lossy(f.bytes).into_owned()),
                    k => panic!("CSV gave {k:?}"),
                })
                .collect()
        })
        .collect();
    Ok((rows, out.columns))
}

fn no_header() -> CsvOptions {
    CsvOptions {
        header: false,
        ..CsvOptions::default()
    }
}

fn rows(opts: CsvOptions, input: &str) -> Rows {
    run(opts, input).unwrap().0
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn plain_and_quoted_fields() {
    let r = rows(no_header(), "1,abc,\"x,y\"\n2,\"q\"\"q\",\"a\nb\"\n");
    assert_eq!(
        r,
        vec![
            vec![s("1"), s("abc"), s("x,y")],
            vec![s("2"), s("q\"q"), s("a\nb")]
        ]
    );
}

#[test]
fn header_gives_columns_and_is_not_a_row() {
    let (r, cols) = run(CsvOptions::default(), "id, Name\n1,x\n").unwrap();
    assert_eq!(cols, Some(vec!["id".to_string(), "Name".to_string()]));
    assert_eq!(r, vec![vec![s("1"), s("x")]]);
}

#[test]
fn header_mid_file_is_not_skipped_and_columns_can_be_given() {
    let mut p = CsvParser::new(CsvOptions::default(), 10).with_columns(vec!["a".into()]);
    let mut out = RowBatch::new();
    p.parse(b"1\n2\n", true, &mut out).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out.columns, Some(vec!["a".to_string()]));
    assert_eq!(out.row(0).end_offset(), 12);
}

#[test]
fn terminators_default_to_any_newline() {
    let r = rows(no_header(), "a\r\nb\rc\nd");
    assert_eq!(
        r,
        vec![vec![s("a")], vec![s("b")], vec![s("c")], vec![s("d")]]
    );
}

#[test]
fn explicit_terminator_makes_newlines_content() {
    let o = CsvOptions {
        terminator: b"|\n".to_vec(),
        ..no_header()
    };
    assert_eq!(
        rows(o, "a\nb,c|\nd|\n"),
        vec![vec![s("a\nb"), s("c")], vec![s("d")]]
    );
}

#[test]
fn multi_byte_separator_and_delimiter() {
    let o = CsvOptions {
        separator: b"<>".to_vec(),
        delimiter: b"''".to_vec(),
        ..no_header()
    };
    let r = rows(o, "a<b<>''x<>y''''z''<>c\n");
    assert_eq!(r, vec![vec![s("a<b"), s("x<>y''z"), s("c")]]);
}

#[test]
fn empty_delimiter_disables_quoting() {
    let o = CsvOptions {
        delimiter: vec![],
        ..no_header()
    };
    assert_eq!(rows(o, "\"a\",b\n"), vec![vec![s("\"a\""), s("b")]]);
}

#[test]
fn backslash_escapes_like_mysql_outfile() {
    let r = rows(
        no_header(),
        "a\\,b,\\0\\b\\n\\r\\t\\Z\\\\\\x,\"q\\\"q\",c\\\nd\n",
    );
    assert_eq!(
        r,
        vec![vec![
            s("a,b"),
            s("\0\x08\n\r\t\x1a\\x"),
            s("q\"q"),
            s("c\nd")
        ]]
    );
}

#[test]
fn backslash_escape_off_keeps_backslashes() {
    let o = CsvOptions {
        escape: None,
        ..no_header()
    };
    assert_eq!(rows(o, "a\\n,\\N\n"), vec![vec![s("a\\n"), None]]);
}

#[test]
fn another_escape_character_works_as_backslash_does() {
    let o = CsvOptions {
        escape: Some(b'!'),
        null: vec![b"!N".to_vec()],
        ..no_header()
    };
    let r = rows(o.clone(), "a!,b,!n!t\\x,\"q!\"q\",!N,!!N,\"!N\"\n");
    assert_eq!(
        r,
        vec![vec![s("a,b"), s("\n\t\\x"), s("q\"q"), None, s("!N"), None]]
    );
    let e = run(o.clone(), "a!").unwrap_err();
    assert!(e.message.contains("no character after escape `!`"), "{e}");
    let bad = CsvOptions {
        separator: b"!".to_vec(),
        ..o
    };
    assert!(bad.validate().unwrap_err().contains("escape character `!`"));
}

#[test]
fn null_marker_rules() {
    // `\N` is NULL quoted or not; `\\N` is the text `\N`; empty is text.
    let r = rows(no_header(), "\\N,\"\\N\",\\\\N,,\"\"\n");
    assert_eq!(r, vec![vec![None, None, s("\\N"), s(""), s("")]]);
}

#[test]
fn custom_null_values_and_quoted_null_is_text() {
    let o = CsvOptions {
        null: vec![b"NULL".to_vec(), b"".to_vec()],
        ..no_header()
    };
    assert_eq!(
        rows(o.clone(), "NULL,\"NULL\",,\\N\n"),
        vec![vec![None, None, None, s("N")]]
    );
    let o = CsvOptions {
        quoted_null_is_text: true,
        ..o
    };
    assert_eq!(
        rows(o, "NULL,\"NULL\",\"\"\n"),
        vec![vec![None, s("NULL"), s("")]]
    );
}

#[test]
fn not_null_means_nothing_is_null() {
    let o = CsvOptions {
        not_null: true,
        ..no_header()
    };
    assert_eq!(rows(o, "\\N,x\n"), vec![vec![s("N"), s("x")]]);
}

#[test]
fn trim_last_separator_drops_one_empty_last_field() {
    let o = CsvOptions {
        trim_last_separator: true,
        ..no_header()
    };
    assert_eq!(
        rows(o, "a,b,\nc,,\n"),
        vec![vec![s("a"), s("b")], vec![s("c"), s("")]]
    );
}

#[test]
fn blank_and_whitespace_lines_are_skipped() {
    assert_eq!(
        rows(no_header(), "\n\na\n  \n\r\nb\n"),
        vec![vec![s("a")], vec![s("b")]]
    );
}

#[test]
fn mysql_outfile_tsv() {
    let r = rows(CsvOptions::mysql_tsv(), "1\ta\\tb\t\\N\n2\t\"x\"\t\\\n\n");
    assert_eq!(
        r,
        vec![
            vec![s("1"), s("a\tb"), None],
            vec![s("2"), s("\"x\""), s("\n")]
        ]
    );
}

#[test]
fn errors_have_offsets() {
    let e = run(no_header(), "a,b\n\"abc").unwrap_err();
    assert_eq!(e.offset, 4);
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("unterminated quoted field"), "{e}");
    let e = run(no_header(), "\"a\"b,c\n").unwrap_err();
    assert!(e.message.contains("consecutive fields"), "{e}");
    assert_eq!(e.offset, 3);
    let e = run(no_header(), "ab\"c\n").unwrap_err();
    assert!(e.message.contains("consecutive fields"), "{e}");
    let e = run(no_header(), "ab\\").unwrap_err();
    assert!(e.message.contains("no character after backslash"), "{e}");
}

#[test]
fn invalid_options_fail_every_call() {
    let o = CsvOptions {
        separator: vec![],
        ..no_header()
    };
    assert!(o.validate().is_err());
    assert!(run(o, "a").unwrap_err().message.contains("separator"));
}

#[test]
fn incomplete_record_waits_for_more() {
    let mut p = CsvParser::new(no_header(), 0);
    let mut out = RowBatch::new();
    assert_eq!(p.parse(b"a,b\nc,\"d", false, &mut out).unwrap(), 4);
    assert_eq!(out.len(), 1);
    assert_eq!(
        p.parse(b"c,\"d\"", false, &mut out).unwrap(),
        0,
        "cannot know the record ended"
    );
    assert_eq!(p.parse(b"c,\"d\"", true, &mut out).unwrap(), 5);
    assert_eq!(out.len(), 2);
}

/// Found by fuzzing: a blank line alone in the first block was taken as the header.
#[test]
fn header_after_a_blank_line_that_arrives_alone() {
    let mut p = CsvParser::new(CsvOptions::default(), 0);
    let mut out = RowBatch::new();
    assert_eq!(p.parse(b"\n", false, &mut out).unwrap(), 1);
    assert_eq!(p.parse(b"a,b\n1,2\n", true, &mut out).unwrap(), 8);
    assert_eq!(out.columns, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(out.len(), 1);
}

/// Regression: a header naming a column twice was accepted, and one of its values lost.
#[test]
fn a_header_naming_a_column_twice_is_an_error() {
    let e = run(CsvOptions::default(), "id,name,ID\n1,x,2\n").unwrap_err();
    assert!(
        e.message
            .contains("column `ID` appears twice in the header"),
        "{e}"
    );
    assert_eq!(e.offset, 0);
    // Given columns (a later chunk of the file) are not re-read from the data.
    let p = CsvParser::new(CsvOptions::default(), 0).with_columns(vec!["a".into(), "b".into()]);
    let mut out = RowBatch::new();
    let mut p = p;
    assert!(p.parse(b"x,x\n1,2\n", true, &mut out).is_ok());
}
