//! Deliberately broken inputs under `tests/broken/`: each `NAME.sql` / `NAME.csv` has a
//! `NAME.expect` with the error's `offset:` and a `message:` substring. Every file is
//! also fed in small blocks, which must fail the same way, and nothing may panic.

mod common;

use common::drive;
use lightning_parser::{ChunkParser, CsvOptions, CsvParser, ParseError, SqlParser};
use std::path::Path;

fn parser_for(path: &Path) -> Box<dyn ChunkParser> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("sql") => Box::new(SqlParser::new(0)),
        _ => Box::new(CsvParser::new(
            CsvOptions {
                header: false,
                ..CsvOptions::default()
            },
            0,
        )),
    }
}

fn expect(path: &Path) -> (u64, String) {
    let text = std::fs::read_to_string(path.with_extension("expect")).expect("an .expect file");
    let mut offset = None;
    let mut message = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("offset: ") {
            offset = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("message: ") {
            message = Some(v.to_string());
        }
    }
    (offset.expect("offset:"), message.expect("message:"))
}

fn failure(path: &Path, data: &[u8], block: usize) -> ParseError {
    match drive(parser_for(path).as_mut(), data, &mut || block) {
        Ok(rows) => panic!(
            "{}: parsed {} rows, expected an error",
            path.display(),
            rows.len()
        ),
        Err(e) => e,
    }
}

#[test]
fn broken_inputs_fail_with_the_expected_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.extension().is_some_and(|e| e == "expect") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let (offset, message) = expect(&path);
        for block in [usize::MAX, 1, 3, 7] {
            let e = failure(&path, &data, block);
            assert!(
                e.message.contains(&message),
                "{} (block {block}): got {e}",
                path.display()
            );
            assert_eq!(
                e.offset,
                offset,
                "{} (block {block}): got {e}",
                path.display()
            );
        }
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} broken inputs found");
}
