#![no_main]
//! Arbitrary bytes in arbitrary block splits: no panic, and splits do not change rows.

mod common;

use libfuzzer_sys::fuzz_target;
use lightning_parser::SqlParser;

fuzz_target!(|data: &[u8]| {
    // First byte: how many of the next bytes are block sizes.
    let Some((&n, rest)) = data.split_first() else { return };
    let n = (n as usize % 8).min(rest.len());
    let (sizes, input) = rest.split_at(n);
    common::agree(&|| Box::new(SqlParser::new(0)), input, sizes);
    let _ = lightning_parser::split_statements(input);
});
