//! Reproduces every vector of `shared/conformance/codec-vectors/` (TiDB/TiKV test facts).

use lightning_encode::codec::bytes::*;
use lightning_encode::codec::number::*;
use lightning_encode::codec::{encode_key, encode_value, Datum};
use lightning_encode::decimal::Decimal;
use lightning_encode::json::encode_json_text;
use lightning_encode::key::*;
use lightning_encode::rowv2::{encode_row_v1, RowV2Encoder};
use lightning_encode::time::{parse_datetime, Duration, Time};
use lightning_encode::KvChecksum;
use serde_json::Value;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/codec-vectors"
);

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn load(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{DIR}/{name}")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["vectors"].as_array().unwrap().clone()
}

fn as_i64(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap()
}

fn as_u64(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap()
}

fn as_f64(v: &Value) -> f64 {
    if let Some(f) = v.as_f64() {
        return f;
    }
    match v.as_str().unwrap() {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "MaxFloat64" => f64::MAX,
        "SmallestNonzeroFloat64" => f64::from_bits(1),
        "MaxFloat32" => f64::from(f32::MAX),
        "SmallestNonzeroFloat32" => f64::from(f32::from_bits(1)),
        s => s.parse().unwrap(),
    }
}

fn datum(v: &Value) -> Datum {
    if let Some(x) = v.get("int64") {
        Datum::Int(as_i64(x))
    } else if let Some(x) = v.get("uint64") {
        Datum::Uint(as_u64(x))
    } else if let Some(x) = v.get("float64") {
        Datum::Float(as_f64(x))
    } else if let Some(x) = v.get("bytes") {
        Datum::Bytes(x.as_str().unwrap().as_bytes().to_vec())
    } else if let Some(x) = v.get("bool") {
        Datum::Int(i64::from(x.as_bool().unwrap()))
    } else if v.get("null").is_some() {
        Datum::Null
    } else if v.get("max_value").is_some() {
        Datum::Max
    } else if let Some(x) = v.get("decimal") {
        Datum::Decimal {
            value: Decimal::parse(x.as_str().unwrap().as_bytes()).unwrap(),
            prec: 0,
            frac: 0,
        }
    } else {
        panic!("unknown datum {v}")
    }
}

/// Runs `check` on every vector of `file`, asserting the produced hex; returns how many ran.
fn run(file: &str, mut produce: impl FnMut(&str, &Value, &Value) -> Option<String>) -> usize {
    let vs = load(file);
    let mut n = 0;
    for v in &vs {
        let id = v["id"].as_str().unwrap();
        let fallback = if v.get("expect_error").is_some() {
            "error"
        } else {
            "null"
        };
        let expected = v["expected_hex"].as_str().unwrap_or(fallback);
        match produce(id, &v["input"], v) {
            Some(got) => {
                assert_eq!(got.as_str(), expected, "{file} {id}");
                n += 1;
            }
            None => panic!("{file} {id}: vector not handled"),
        }
    }
    assert_eq!(n, vs.len());
    n
}

#[test]
fn datum_key_value() {
    run("datum_key_value.json", |_, input, _| {
        let ds: Vec<Datum> = input["datums"]
            .as_array()
            .unwrap()
            .iter()
            .map(datum)
            .collect();
        let mut b = Vec::new();
        match input["fn"].as_str().unwrap() {
            "EncodeKey" => encode_key(&mut b, &ds).unwrap(),
            "EncodeValue" => encode_value(&mut b, &ds).unwrap(),
            f => panic!("{f}"),
        }
        Some(hex(&b))
    });
}

#[test]
fn decimal_bin() {
    run("decimal_bin.json", |_, input, _| {
        let d = Decimal::parse(input["decimal"].as_str().unwrap().as_bytes()).unwrap();
        let prec = input["prec"].as_u64().unwrap() as u8;
        let frac = input["frac"].as_u64().unwrap() as u8;
        let f = input["fn"].as_str().unwrap();
        let mut b = Vec::new();
        if f.starts_with("EncodeKey") {
            assert_eq!(d.precision_and_frac(), (prec, frac));
            encode_key(
                &mut b,
                &[Datum::Decimal {
                    value: d,
                    prec: 0,
                    frac: 0,
                }],
            )
            .unwrap();
        } else if f.contains("row v2") {
            b.push(prec);
            b.push(frac);
            d.to_bin(prec, frac, &mut b).unwrap();
        } else {
            d.to_bin(prec, frac, &mut b).unwrap();
            let (back, rest) = Decimal::from_bin(&b, prec, frac).unwrap();
            assert!(rest.is_empty());
            assert_eq!(back, d);
        }
        Some(hex(&b))
    });
}

#[test]
fn kv_checksum() {
    let pairs = [
        ("Cop", "PingCAP"),
        (
            "Introduction",
            "Inspired by Google Spanner/F1, PingCAP develops TiDB.",
        ),
    ];
    run("kv_checksum_crc64.json", |id, input, v| {
        let mut c = KvChecksum::new();
        match id {
            "kvchecksum-two-pairs" | "kvchecksum-empty" => {
                for p in input["pairs"].as_array().unwrap() {
                    c.update(
                        p["key"].as_str().unwrap().as_bytes(),
                        p["val"].as_str().unwrap().as_bytes(),
                    );
                }
            }
            "kvchecksum-same-pairs-twice" => {
                for _ in 0..2 {
                    for (k, val) in pairs {
                        c.update(k.as_bytes(), val.as_bytes());
                    }
                }
            }
            "kvcrc-Cop" | "kvcrc-Introduction" => {
                let crc = lightning_encode::checksum::pair_crc(
                    input["key"].as_str().unwrap().as_bytes(),
                    input["val"].as_str().unwrap().as_bytes(),
                );
                assert_eq!(crc.to_string(), v["expected_uint"].as_str().unwrap());
                return Some(hex(&crc.to_be_bytes()));
            }
            "crc64-check-123456789" => {
                let crc = lightning_encode::checksum::pair_crc(b"123456789", b"");
                return Some(hex(&crc.to_be_bytes()));
            }
            "kvchecksum-json" => {
                // Lightning's JSON field names: {"checksum", "size", "kvs"}.
                let c = KvChecksum {
                    crc: 7890,
                    kvs: 456,
                    bytes: 123,
                };
                let s = format!(
                    r#"{{"Checksum":{{"checksum":{},"size":{},"kvs":{}}}}}"#,
                    c.crc, c.bytes, c.kvs
                );
                return Some(hex(s.as_bytes()));
            }
            "groupchecksum-sizes" => {
                let (k, val, k2, v2) = (&b"key"[..], &b"val"[..], &b"key2"[..], &b"val2"[..]);
                let mut data = KvChecksum::new();
                data.update(k, val);
                let mut i1 = KvChecksum::new();
                i1.update(k2, v2);
                i1.update(k, val);
                let mut i2 = KvChecksum::new();
                i2.update(k2, v2);
                let mut index = i1;
                index.merge(&i2);
                let e = &v["expected"];
                assert_eq!(
                    (data.kvs, data.bytes),
                    (
                        e["data_kvs"].as_u64().unwrap(),
                        e["data_size"].as_u64().unwrap()
                    )
                );
                assert_eq!(
                    (index.kvs, index.bytes),
                    (
                        e["index_kvs"].as_u64().unwrap(),
                        e["index_size"].as_u64().unwrap()
                    )
                );
                let mut all = data;
                all.merge(&index);
                assert_eq!(
                    (all.kvs, all.bytes),
                    (
                        e["merged_kvs"].as_u64().unwrap(),
                        e["merged_size"].as_u64().unwrap()
                    )
                );
                let d = &v["derived_checksums"];
                assert_eq!(data.crc.to_string(), d["data"].as_str().unwrap());
                assert_eq!(i1.crc.to_string(), d["index_1"].as_str().unwrap());
                assert_eq!(i2.crc.to_string(), d["index_2"].as_str().unwrap());
                assert_eq!(all.crc.to_string(), d["merged"].as_str().unwrap());
                return Some("null".into());
            }
            _ => return None,
        }
        if let Some(e) = v.get("expected") {
            assert_eq!(c.crc.to_string(), e["checksum"].as_str().unwrap());
            assert_eq!(c.bytes, e["size"].as_u64().unwrap());
            assert_eq!(c.kvs, e["kvs"].as_u64().unwrap());
        }
        Some(hex(&c.crc.to_be_bytes()))
    });
}

#[test]
fn memcomparable_bytes() {
    run("memcomparable_bytes.json", |_, input, _| {
        let mut b = Vec::new();
        let data = input.get("bytes_hex").and_then(Value::as_str).map(unhex);
        match input["fn"].as_str().unwrap() {
            "EncodeBytes" => encode_bytes(&mut b, &data.unwrap()),
            "EncodeBytesDesc" => {
                let data = data.unwrap();
                encode_bytes_desc(&mut b, &data);
                assert_eq!(decode_bytes_desc(&b).unwrap(), (data, &[][..]));
            }
            "EncodeBytesExt(raw=true)" => encode_bytes_ext(&mut b, &data.unwrap(), true),
            "EncodeBytesExt(raw=false)" => encode_bytes_ext(&mut b, &data.unwrap(), false),
            "DecodeBytes" => {
                let enc = unhex(input["encoded_hex"].as_str().unwrap());
                return Some(match decode_bytes(&enc) {
                    Ok((v, _)) => hex(&v),
                    Err(_) => "error".into(),
                });
            }
            f if f.starts_with("EncodeCompactBytes") => {
                let s = input["utf8"].as_str().unwrap();
                encode_compact_bytes(&mut b, s.as_bytes());
                assert_eq!(decode_compact_bytes(&b).unwrap(), (s.as_bytes(), &[][..]));
            }
            _ => return None,
        }
        if input["fn"] == "EncodeBytes" {
            let (back, rest) = decode_bytes(&b).unwrap();
            assert!(rest.is_empty());
            assert_eq!(
                Some(back),
                input.get("bytes_hex").and_then(Value::as_str).map(unhex)
            );
        }
        Some(hex(&b))
    });
}

#[test]
fn memcomparable_numbers() {
    run("memcomparable_numbers.json", |_, input, _| {
        let mut b = Vec::new();
        let f = input["fn"].as_str().unwrap();
        match f {
            "EncodeInt" => encode_int(&mut b, as_i64(&input["int64"])),
            "EncodeIntDesc" => encode_int_desc(&mut b, as_i64(&input["int64"])),
            "EncodeUint" => encode_uint(&mut b, as_u64(&input["uint64"])),
            "EncodeUintDesc" => encode_uint_desc(&mut b, as_u64(&input["uint64"])),
            "EncodeFloat" => encode_float(&mut b, as_f64(&input["float64"])),
            "EncodeFloatDesc" => encode_float_desc(&mut b, as_f64(&input["float64"])),
            f if f.starts_with("EncodeVarint") => {
                let v = as_i64(&input["int64"]);
                encode_varint(&mut b, v);
                assert_eq!(decode_varint(&b).unwrap().0, v);
            }
            f if f.starts_with("EncodeUvarint") => {
                let v = as_u64(&input["uint64"]);
                encode_uvarint(&mut b, v);
                assert_eq!(decode_uvarint(&b).unwrap().0, v);
            }
            _ => return None,
        }
        match f {
            "EncodeInt" => assert_eq!(decode_int(&b).unwrap().0, as_i64(&input["int64"])),
            "EncodeIntDesc" => assert_eq!(decode_int_desc(&b).unwrap().0, as_i64(&input["int64"])),
            "EncodeUint" => assert_eq!(decode_uint(&b).unwrap().0, as_u64(&input["uint64"])),
            "EncodeFloat" => assert_eq!(decode_float(&b).unwrap().0, as_f64(&input["float64"])),
            _ => {}
        }
        Some(hex(&b))
    });
}

#[test]
fn mysql_time_duration() {
    run("mysql_time_duration.json", |id, input, v| {
        let f = input["fn"].as_str().unwrap();
        if let Some(dt) = input.get("datetime").and_then(Value::as_str) {
            let t = parse_datetime(dt.as_bytes()).unwrap();
            let p = t.to_packed();
            assert_eq!(Time::from_packed(p), t);
            assert_eq!(p.to_string(), v["expected_uint"].as_str().unwrap(), "{id}");
            if let Some(k) = v.get("key_hex").and_then(Value::as_str) {
                let mut b = Vec::new();
                encode_key(&mut b, &[Datum::Time(t)]).unwrap();
                assert_eq!(hex(&b), k);
            }
            return Some(if f.contains("little-endian") {
                hex(&p.to_le_bytes())
            } else if f.contains("uvarint") {
                let mut b = Vec::new();
                encode_uvarint(&mut b, p);
                hex(&b)
            } else {
                hex(&p.to_be_bytes())
            });
        }
        let d = Duration::parse(input["duration"].as_str()?.as_bytes(), 0).unwrap();
        if let Some(e) = v.get("expected_int").and_then(Value::as_str) {
            assert_eq!(d.nanos.to_string(), e);
        }
        let mut b = Vec::new();
        if f.starts_with("EncodeKey") {
            encode_key(&mut b, &[Datum::Duration(d)]).unwrap();
        } else if f.contains("row v2") {
            lightning_encode::rowv2::encode_compact_int(&mut b, d.nanos);
        } else {
            b.extend_from_slice(&d.nanos.to_be_bytes());
        }
        Some(hex(&b))
    });
}

/// A row-vector column object to (id, datum).
fn column(c: &Value) -> (i64, Datum) {
    let id = c["id"].as_i64().unwrap();
    let prec = c.get("prec").and_then(Value::as_u64).unwrap_or(0) as u8;
    let frac = c.get("frac").and_then(Value::as_u64).unwrap_or(0) as u8;
    let d = if c.get("null").is_some() {
        Datum::Null
    } else if let Some(x) = c.get("int").or(c.get("value_int")).or(c.get("bigint")) {
        Datum::Int(as_i64(x))
    } else if let Some(x) = c.get("uint") {
        Datum::Uint(as_u64(x))
    } else if let Some(x) = c.get("double") {
        Datum::Float(as_f64(x))
    } else if let Some(x) = c.get("bytes").or(c.get("varchar")) {
        Datum::Bytes(x.as_str().unwrap().as_bytes().to_vec())
    } else if let Some(x) = c.get("datetime").or(c.get("timestamp_utc")) {
        Datum::Time(parse_datetime(x.as_str().unwrap().as_bytes()).unwrap())
    } else if let Some(x) = c.get("decimal") {
        Datum::Decimal {
            value: Decimal::parse(x.as_str().unwrap().as_bytes()).unwrap(),
            prec,
            frac,
        }
    } else if let Some(x) = c.get("json") {
        let mut j = Vec::new();
        encode_json_text(x.as_str().unwrap().as_bytes(), &mut j).unwrap();
        Datum::Json(j)
    } else if let Some(x) = c.get("duration_ns") {
        Datum::Duration(Duration { nanos: as_i64(x) })
    } else if let Some(x) = c.get("duration") {
        Datum::Duration(Duration::parse(x.as_str().unwrap().as_bytes(), 0).unwrap())
    } else {
        panic!("unknown column {c}")
    };
    (id, d)
}

#[test]
fn row_format_v1() {
    run("row_format_v1.json", |_, input, _| {
        let cols: Vec<(i64, Datum)> = input["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(column)
            .collect();
        let mut b = Vec::new();
        encode_row_v1(cols.iter().map(|(i, d)| (*i, d)), &mut b).unwrap();
        Some(hex(&b))
    });
}

#[test]
fn row_format_v2() {
    let mut enc = RowV2Encoder::new();
    run("row_format_v2.json", |_, input, _| {
        let cols: Vec<(i64, Datum)> = input["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(column)
            .collect();
        let mut b = Vec::new();
        enc.encode(cols.iter().map(|(i, d)| (*i, d)), &mut b)
            .unwrap();
        let row = lightning_encode::rowv2::RowV2::parse(&b).unwrap();
        assert_eq!(row.not_null.len() + row.nulls.len(), cols.len());
        Some(hex(&b))
    });
}

#[test]
fn tablecodec_keys() {
    run("tablecodec_keys.json", |id, input, v| {
        let mut b = Vec::new();
        let tid = input.get("table_id").map(as_i64).unwrap_or(0);
        match id {
            _ if input["fn"] == "EncodeRowKeyWithHandle" => {
                append_record_key(&mut b, tid, Handle::Int(as_i64(&input["int_handle"])))
            }
            "idxkey-t1-i1-unique-double-1.0" => {
                let vals: Vec<Datum> = input["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(datum)
                    .collect();
                append_index_key(&mut b, tid, 1, &vals, true, Handle::Int(0)).unwrap();
            }
            "idxval-unique-int-handle-70" => {
                append_index_value(&mut b, true, Handle::Int(70), None, false, None)
            }
            "cut-rowkey-prefix-t42-i666" => {
                append_index_prefix(&mut b, 42, 666);
                // CutRowKeyPrefix drops `t{id}_r`/`_i` (11 bytes), leaving the index id.
                b.drain(..11);
            }
            "index-prefix-t42-i666" | "index-prefix-t66-iMaxUint32" => {
                append_index_prefix(&mut b, tid, as_i64(&input["index_id"]))
            }
            "metakey-DB56-TID108" => {
                b.push(b'm');
                encode_bytes(&mut b, b"DB:56");
                encode_uint(&mut b, u64::from(b'h'));
                encode_bytes(&mut b, b"TID:108");
            }
            "idxval-untouched-handle1" => {
                b.extend_from_slice(&1i64.to_be_bytes());
                b.push(UNTOUCHED_FLAG);
            }
            "idxval-commonhandle-v1-committed" => {
                append_index_value(&mut b, false, Handle::Common(&[]), None, true, None);
            }
            "idxval-commonhandle-v1-untouched" => {
                append_index_value(&mut b, false, Handle::Common(&[]), None, true, None);
                b[0] = 1;
                b.push(UNTOUCHED_FLAG);
            }
            "dupkey-adapter-decode" => {
                let key = unhex(input["expect"]["key_hex"].as_str().unwrap());
                encode_bytes(&mut b, &key);
                b.extend_from_slice(&as_u64(&input["expect"]["row_id"]).to_be_bytes());
                b.extend_from_slice(&as_u64(&input["expect"]["offset"]).to_be_bytes());
                let (k, rest) = decode_bytes(&b).unwrap();
                assert_eq!((k, rest.len()), (key, 16));
            }
            "table-prefix-t66" => append_table_prefix(&mut b, tid),
            "record-prefix-t66" => append_record_prefix(&mut b, tid),
            "rowkey-invalid-trailing-byte" => {
                let enc = unhex(v["expected_hex"].as_str().unwrap());
                assert!(decode_key(&enc).is_err());
                return Some(hex(&enc));
            }
            "idxkey-t4-i5-nonunique-int1-abc-5.5-h100" => {
                let vals = [
                    Datum::Int(1),
                    Datum::Bytes(b"abc".to_vec()),
                    Datum::Float(5.5),
                ];
                append_index_key(&mut b, 4, 5, &vals, false, Handle::Int(100)).unwrap();
                match decode_key(&b).unwrap() {
                    DecodedKey::Index { values, .. } => assert_eq!(values.len(), 4),
                    k => panic!("{k:?}"),
                }
            }
            "rowkey-commonhandle-varchar-int" => {
                let mut h = Vec::new();
                encode_key(
                    &mut h,
                    &[Datum::Bytes(b"this_is_test1".to_vec()), Datum::Int(1)],
                )
                .unwrap();
                append_record_key(&mut b, tid, Handle::Common(&h));
            }
            _ => return None,
        }
        if id.starts_with("rowkey-t") {
            assert!(matches!(decode_key(&b).unwrap(), DecodedKey::Record { .. }));
        }
        Some(hex(&b))
    });
}
