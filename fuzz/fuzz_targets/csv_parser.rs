#![no_main]
//! Arbitrary bytes and options in arbitrary block splits: no panic, and splits do not
//! change rows.

mod common;

use libfuzzer_sys::fuzz_target;
use lightning_parser::{CsvOptions, CsvParser};

fuzz_target!(|data: &[u8]| {
    // Two option bytes, one count byte, then block sizes and the input.
    let [a, b, n, rest @ ..] = data else { return };
    let pick = |v: &[&[u8]], i: u8| v[i as usize % v.len()].to_vec();
    let opts = CsvOptions {
        separator: pick(&[b",", b"\t", b"||", b";;", b"a"], a & 7),
        delimiter: pick(&[b"\"", b"'", b"", b"$$"], (a >> 3) & 3),
        terminator: pick(&[b"", b"\n", b"\r\n", b"|\n"], (a >> 5) & 3),
        header: b & 1 != 0,
        escape: if b & 2 == 0 { None } else if b & 64 != 0 { Some(b'!') } else { Some(b'\\') },
        trim_last_separator: b & 4 != 0,
        not_null: b & 8 != 0,
        quoted_null_is_text: b & 16 != 0,
        null: if b & 32 != 0 { vec![b"\\N".to_vec(), b"NULL".to_vec()] } else { vec![b"\\N".to_vec()] },
    };
    let n = (*n as usize % 8).min(rest.len());
    let (sizes, input) = rest.split_at(n);
    common::agree(&|| Box::new(CsvParser::new(opts.clone(), 0)), input, sizes);
});
