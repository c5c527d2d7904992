//! `kv decode` on arbitrary bytes: explaining a key or value must never panic,
//! and neither may the lower-level key, row-v2 and datum decoders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lightning_encode::{codec, explain, json, key, rowv2};

fuzz_target!(|data: &[u8]| {
    let _ = explain::explain(data);
    let _ = key::decode_key(data);
    let _ = rowv2::RowV2::parse(data);
    let _ = json::decode_json(data);
    let _ = codec::decode_value_datum(data);
    if let Ok(datums) = key::decode_key_datums(data) {
        let _ = datums.iter().map(ToString::to_string).count();
    }
});
