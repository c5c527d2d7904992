//! `skip_row` finds the same row end as `parse` does, whatever the values and however the
//! bytes arrive, and parsing goes on after it with exactly the rows that follow.

use lightning_parser::{ChunkParser, CsvOptions, CsvParser, RowBatch, SqlParser};
use proptest::prelude::*;

/// A row's fields and where it ended.
type Parsed = Vec<(Vec<Vec<u8>>, u64)>;

/// Every row of `input`, parsed in one call after another with `eof`.
fn parse_all(p: &mut dyn ChunkParser, input: &[u8]) -> Parsed {
    let mut out = RowBatch::new();
    let mut rows = Parsed::new();
    let mut at = 0;
    while at < input.len() {
        let n = p.parse(&input[at..], true, &mut out).expect("valid input");
        rows.extend(out.rows().map(|r| {
            (
                r.fields().map(|f| f.bytes.to_vec()).collect(),
                r.end_offset(),
            )
        }));
        out.clear();
        if n == 0 {
            break;
        }
        at += n;
    }
    rows
}

/// Parses the rows before row `k`, stalls inside it, skips it with pieces of `piece` bytes
/// and parses the rest: returns the skipped span and the rows parsed after it.
fn skip_kth(
    p: &mut dyn ChunkParser,
    input: &[u8],
    rows: &Parsed,
    k: usize,
    piece: usize,
) -> ((u64, u64), Parsed) {
    let prev_end = if k == 0 { 0 } else { rows[k - 1].1 as usize };
    let stall = (rows[k].1 as usize - 1).max(prev_end);
    let mut out = RowBatch::new();
    let mut at = 0;
    while at < stall {
        let n = p.parse(&input[at..stall], false, &mut out).expect("prefix");
        out.clear();
        if n == 0 {
            break;
        }
        at += n;
    }
    // Feed the skipper as the reader does: what it left, plus a piece more each time.
    let mut held = stall;
    let span = loop {
        held = (held + piece).min(input.len());
        let eof = held == input.len();
        let s = p
            .skip_row(&input[at..held], eof)
            .expect("skip")
            .expect("stands before a row");
        at += s.consumed;
        if let Some(span) = s.row {
            break span;
        }
        assert!(!eof, "no row end by the end of input");
    };
    let after = parse_all(p, &input[at..]);
    (span, after)
}

fn sql_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        Just("NULL".to_string()),
        "[0-9a-f]{0,8}".prop_map(|h| format!("x'{}{h}'", if h.len() % 2 == 1 { "0" } else { "" })),
        proptest::collection::vec(
            prop_oneof![
                Just("a"),
                Just("("),
                Just(")"),
                Just(","),
                Just("\\'"),
                Just("''"),
                Just("\""),
                Just("\\\\"),
                Just("\\)"),
                Just("\n"),
            ],
            0..12
        )
        .prop_map(|parts| format!("'{}'", parts.concat())),
        "[a-z)(',]{0,6}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
    ]
}

fn sql_dump() -> impl Strategy<Value = (String, usize)> {
    proptest::collection::vec(
        proptest::collection::vec(proptest::collection::vec(sql_value(), 1..4), 1..5),
        1..4,
    )
    .prop_map(|statements| {
        let mut s = String::new();
        let mut rows = 0;
        for st in statements {
            s.push_str("INSERT INTO `t` VALUES ");
            let tuples: Vec<String> = st.iter().map(|r| format!("({})", r.join(","))).collect();
            rows += tuples.len();
            s.push_str(&tuples.join(",\n"));
            s.push_str(";\n");
        }
        (s, rows)
    })
}

proptest! {
    #[test]
    fn sql_skip_ends_where_parse_ends((dump, n) in sql_dump(), k in 0usize..64, piece in 1usize..40) {
        let input = dump.as_bytes();
        let rows = parse_all(&mut SqlParser::new(0), input);
        prop_assert_eq!(rows.len(), n);
        let k = k % n;
        let (span, after) = skip_kth(&mut SqlParser::new(0), input, &rows, k, piece);
        prop_assert_eq!(span.1, rows[k].1);
        prop_assert_eq!(input[span.0 as usize], b'(');
        prop_assert_eq!(&after[..], &rows[k + 1..]);
    }
}

/// CSV settings to test with: the defaults, and multi-byte everything.
fn csv_opts(multi: bool) -> CsvOptions {
    let mut o = CsvOptions {
        header: false,
        ..CsvOptions::default()
    };
    if multi {
        o.separator = b"||".to_vec();
        o.delimiter = b"<q>".to_vec();
        o.terminator = b"\r\n".to_vec();
    }
    o
}

/// One field written for `o`: quoted (delimiters doubled, escapes escaped) or plain.
fn csv_field(o: &CsvOptions, text: &str, quoted: bool) -> String {
    let d = String::from_utf8_lossy(&o.delimiter).into_owned();
    if quoted {
        let body = text.replace('\\', "\\\\").replace(&d, &format!("{d}{d}"));
        format!("{d}{body}{d}")
    } else {
        text.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
            .collect()
    }
}

fn csv_dump() -> impl Strategy<Value = (bool, Vec<Vec<(String, bool)>>)> {
    let text = proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just(","),
            Just("||"),
            Just("\""),
            Just("<q>"),
            Just("<"),
            Just("\\"),
            Just("\n"),
            Just("\r\n"),
            Just(" "),
        ],
        0..10,
    )
    .prop_map(|p| p.concat());
    (
        any::<bool>(),
        proptest::collection::vec(proptest::collection::vec((text, any::<bool>()), 1..4), 1..8),
    )
}

proptest! {
    #[test]
    fn csv_skip_ends_where_parse_ends((multi, records) in csv_dump(), k in 0usize..64, piece in 1usize..40) {
        let o = csv_opts(multi);
        let sep = String::from_utf8_lossy(&o.separator).into_owned();
        let term = if multi { "\r\n" } else { "\n" };
        let mut dump = String::new();
        for r in &records {
            // A record of one empty unquoted field would be a blank line: quote it.
            let one_blank = r.len() == 1 && csv_field(&o, &r[0].0, r[0].1).trim().is_empty();
            let fields: Vec<String> =
                r.iter().map(|(t, q)| csv_field(&o, t, *q || one_blank)).collect();
            dump.push_str(&fields.join(&sep));
            dump.push_str(term);
        }
        let input = dump.as_bytes();
        let rows = parse_all(&mut CsvParser::new(o.clone(), 0), input);
        prop_assert_eq!(rows.len(), records.len());
        let k = k % rows.len();
        let (span, after) = skip_kth(&mut CsvParser::new(o, 0), input, &rows, k, piece);
        prop_assert_eq!(span.1, rows[k].1);
        prop_assert_eq!(&after[..], &rows[k + 1..]);
    }
}

#[test]
fn a_row_that_never_ends_is_an_error_naming_its_string_and_its_start() {
    let input = b"INSERT INTO t VALUES (1,'a'),(2,'never ends";
    let mut p = SqlParser::new(100);
    let mut out = RowBatch::new();
    let n = p.parse(&input[..35], false, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    let e = p.skip_row(&input[n..], true).unwrap_err();
    assert_eq!(e.offset, 100 + input.len() as u64);
    assert!(
        e.message
            .contains("unterminated string literal starting at byte 132"),
        "{e}"
    );
    assert!(e.message.contains("in the row starting at byte 129"), "{e}");

    let input = b"1,a\n2,\"open";
    let mut p = CsvParser::new(csv_opts(false), 0);
    let n = p.parse(&input[..6], false, &mut out).unwrap();
    let e = p.skip_row(&input[n..], true).unwrap_err();
    assert_eq!(e.offset, 6);
    assert!(e.message.contains("record starting at byte 4"), "{e}");
}

#[test]
fn only_rows_are_skipped_not_headers_or_statements() {
    let mut p = SqlParser::new(0);
    assert_eq!(
        p.skip_row(b"INSERT INTO t VALUES (1)", false).unwrap(),
        None
    );
    let mut p = CsvParser::new(CsvOptions::default(), 0);
    assert_eq!(p.skip_row(b"a,b\n", false).unwrap(), None);
}
