//! Property tests: random values written by an escaper and read back by the parsers,
//! in random block splits, come back byte for byte.

mod common;

use common::drive;
use lightning_parser::{
    escape_sql_hex, escape_sql_string, CsvOptions, CsvParser, FieldKind, SqlParser,
};
use proptest::prelude::*;

/// A value of a row: NULL, text or binary.
#[derive(Clone, Debug)]
enum Value {
    Null,
    Text(Vec<u8>),
    Bin(Vec<u8>),
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        6 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Text),
        3 => "[ -~\\n\\r\\t'\"\\\\%_é]{0,30}".prop_map(|s| Value::Text(s.into_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..10).prop_map(Value::Bin),
    ]
}

fn table() -> impl Strategy<Value = Vec<Vec<Value>>> {
    (2usize..5).prop_flat_map(|cols| {
        proptest::collection::vec(proptest::collection::vec(value(), cols), 1..8)
    })
}

fn expected(v: &Value, csv: bool) -> (FieldKind, Vec<u8>) {
    match v {
        Value::Null => (FieldKind::Null, vec![]),
        Value::Text(t) => (FieldKind::Text, t.clone()),
        Value::Bin(b) if b.is_empty() => (FieldKind::Text, vec![]),
        Value::Bin(b) if csv => (FieldKind::Text, b.clone()),
        Value::Bin(b) => (FieldKind::Binary, b.clone()),
    }
}

fn write_sql(rows: &[Vec<Value>]) -> Vec<u8> {
    let mut out = b"INSERT INTO `t` VALUES ".to_vec();
    for (i, row) in rows.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"(" } else { b",\n(" });
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            match v {
                Value::Null => out.extend_from_slice(b"NULL"),
                Value::Text(t) => escape_sql_string(t, &mut out),
                Value::Bin(b) => escape_sql_hex(b, &mut out),
            }
        }
        out.push(b')');
    }
    out.extend_from_slice(b";\n");
    out
}

/// CSV as Lightning reads it with default options: every value quoted, `"` doubled,
/// `\` escaped, NULL as a bare `\N`.
fn write_csv(rows: &[Vec<Value>]) -> Vec<u8> {
    let mut out = Vec::new();
    for row in rows {
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            let bytes = match v {
                Value::Null => {
                    out.extend_from_slice(b"\\N");
                    continue;
                }
                Value::Text(t) | Value::Bin(t) => t,
            };
            out.push(b'"');
            for &b in bytes {
                match b {
                    b'"' => out.extend_from_slice(b"\"\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    _ => out.push(b),
                }
            }
            out.push(b'"');
        }
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// MySQL `SELECT ... INTO OUTFILE` default format: tab-separated, unquoted, escaped.
fn write_tsv(rows: &[Vec<Value>]) -> Vec<u8> {
    let mut out = Vec::new();
    for row in rows {
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                out.push(b'\t');
            }
            let bytes = match v {
                Value::Null => {
                    out.extend_from_slice(b"\\N");
                    continue;
                }
                Value::Text(t) | Value::Bin(t) => t,
            };
            for &b in bytes {
                match b {
                    0 => out.extend_from_slice(b"\\0"),
                    b'\\' | b'\t' | b'\n' => out.extend_from_slice(&[b'\\', b]),
                    _ => out.push(b),
                }
            }
        }
        out.push(b'\n');
    }
    out
}

fn check(rows: &[Vec<Value>], got: Vec<common::OwnedRow>, csv: bool) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), rows.len());
    for (want, got) in rows.iter().zip(got) {
        let want: Vec<_> = want.iter().map(|v| expected(v, csv)).collect();
        prop_assert_eq!(want, got.fields);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sql_values_round_trip(rows in table(), block in 1usize..64) {
        let data = write_sql(&rows);
        let got = drive(&mut SqlParser::new(0), &data, &mut || block).unwrap();
        check(&rows, got, false)?;
    }

    #[test]
    fn csv_values_round_trip(rows in table(), block in 1usize..64) {
        let data = write_csv(&rows);
        let opts = CsvOptions { header: false, ..CsvOptions::default() };
        let got = drive(&mut CsvParser::new(opts, 0), &data, &mut || block).unwrap();
        check(&rows, got, true)?;
    }

    #[test]
    fn tsv_values_round_trip(rows in table(), block in 1usize..64) {
        let data = write_tsv(&rows);
        let got = drive(&mut CsvParser::new(CsvOptions::mysql_tsv(), 0), &data, &mut || block).unwrap();
        check(&rows, got, true)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200), block in 1usize..16) {
        let _ = drive(&mut SqlParser::new(0), &data, &mut || block);
        let _ = drive(&mut CsvParser::new(CsvOptions::default(), 0), &data, &mut || block);
        let _ = lightning_parser::split_statements(&data);
    }
}
