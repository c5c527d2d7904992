//! TiDB's binary JSON: a type byte followed by the value's binary body.
//!
//! Objects and arrays carry `count:u32 LE, size:u32 LE`, then (objects) key
//! entries `offset:u32, len:u16`, then value entries `type:u8, offset-or-inline:u32`,
//! then keys and values. Literals (null/true/false) are inlined into their entry.
//! Object keys are sorted bytewise. Strings are a uvarint length and the bytes.

use crate::codec::number::{decode_uvarint, encode_uvarint};
use crate::error::CodecError;
use serde_json::{Map, Number, Value};

/// Type byte of an object.
pub const TYPE_OBJECT: u8 = 0x01;
/// Type byte of an array.
pub const TYPE_ARRAY: u8 = 0x03;
/// Type byte of a literal (null/true/false).
pub const TYPE_LITERAL: u8 = 0x04;
/// Type byte of an int64.
pub const TYPE_INT64: u8 = 0x09;
/// Type byte of a uint64.
pub const TYPE_UINT64: u8 = 0x0a;
/// Type byte of a float64.
pub const TYPE_FLOAT64: u8 = 0x0b;
/// Type byte of a string.
pub const TYPE_STRING: u8 = 0x0c;

const LIT_NULL: u8 = 0;
const LIT_TRUE: u8 = 1;
const LIT_FALSE: u8 = 2;
const HEADER: usize = 8;
const KEY_ENTRY: usize = 6;
const VALUE_ENTRY: usize = 5;

/// Parses JSON text and appends type byte + binary body to `out`.
pub fn encode_json_text(text: &[u8], out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let v: Value = serde_json::from_slice(text)?;
    encode_json(&v, out);
    Ok(())
}

/// Appends the type byte and binary body of `v`.
pub fn encode_json(v: &Value, out: &mut Vec<u8>) {
    out.push(type_of(v));
    encode_body(v, out);
}

fn type_of(v: &Value) -> u8 {
    match v {
        Value::Null | Value::Bool(_) => TYPE_LITERAL,
        Value::Number(n) if n.is_i64() => TYPE_INT64,
        Value::Number(n) if n.is_u64() => TYPE_UINT64,
        Value::Number(_) => TYPE_FLOAT64,
        Value::String(_) => TYPE_STRING,
        Value::Array(_) => TYPE_ARRAY,
        Value::Object(_) => TYPE_OBJECT,
    }
}

fn literal(v: &Value) -> Option<u8> {
    match v {
        Value::Null => Some(LIT_NULL),
        Value::Bool(true) => Some(LIT_TRUE),
        Value::Bool(false) => Some(LIT_FALSE),
        _ => None,
    }
}

fn encode_body(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null | Value::Bool(_) => out.push(literal(v).unwrap_or(LIT_NULL)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(&i.to_le_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(&u.to_le_bytes());
            } else {
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_le_bytes());
            }
        }
        Value::String(s) => {
            encode_uvarint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => encode_container(out, None, items.iter()),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            let keys: Vec<&[u8]> = entries.iter().map(|e| e.0.as_bytes()).collect();
            encode_container(out, Some(&keys), entries.iter().map(|e| e.1));
        }
    }
}

fn encode_container<'v>(
    out: &mut Vec<u8>,
    keys: Option<&[&[u8]]>,
    values: impl ExactSizeIterator<Item = &'v Value>,
) {
    let start = out.len();
    let n = values.len();
    let nkeys = keys.map_or(0, |k| k.len());
    let header = HEADER + nkeys * KEY_ENTRY + n * VALUE_ENTRY;
    out.resize(start + header, 0);
    out[start..start + 4].copy_from_slice(&(n as u32).to_le_bytes());
    if let Some(keys) = keys {
        for (i, k) in keys.iter().enumerate() {
            let off = (out.len() - start) as u32;
            let e = start + HEADER + i * KEY_ENTRY;
            out[e..e + 4].copy_from_slice(&off.to_le_bytes());
            out[e + 4..e + 6].copy_from_slice(&(k.len() as u16).to_le_bytes());
            out.extend_from_slice(k);
        }
    }
    for (i, v) in values.enumerate() {
        let e = start + HEADER + nkeys * KEY_ENTRY + i * VALUE_ENTRY;
        out[e] = type_of(v);
        let slot = match literal(v) {
            Some(l) => u32::from(l),
            None => {
                let off = (out.len() - start) as u32;
                encode_body(v, out);
                off
            }
        };
        out[e + 1..e + 5].copy_from_slice(&slot.to_le_bytes());
    }
    let size = (out.len() - start) as u32;
    out[start + 4..start + 8].copy_from_slice(&size.to_le_bytes());
}

const MAX_DEPTH: usize = 100;

/// Decodes type byte + binary body into a JSON value (for display and round trips).
pub fn decode_json(b: &[u8]) -> Result<Value, CodecError> {
    let (&tp, body) = b.split_first().ok_or(CodecError::Truncated {
        what: "json type",
        need: 1,
        have: 0,
    })?;
    decode_value(tp, body, 0)
}

fn bad(what: &'static str) -> CodecError {
    CodecError::Invalid(what)
}

fn read_u32(b: &[u8], at: usize) -> Result<u32, CodecError> {
    let s = b.get(at..at + 4).ok_or(bad("json: truncated"))?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn decode_value(tp: u8, b: &[u8], depth: usize) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return Err(bad("json: nested too deep"));
    }
    let eight = |b: &[u8]| -> Result<[u8; 8], CodecError> {
        let s = b.get(..8).ok_or(bad("json: truncated number"))?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(a)
    };
    Ok(match tp {
        TYPE_LITERAL => match b.first() {
            Some(&LIT_NULL) => Value::Null,
            Some(&LIT_TRUE) => Value::Bool(true),
            Some(&LIT_FALSE) => Value::Bool(false),
            _ => return Err(bad("json: bad literal")),
        },
        TYPE_INT64 => Value::from(i64::from_le_bytes(eight(b)?)),
        TYPE_UINT64 => Value::from(u64::from_le_bytes(eight(b)?)),
        TYPE_FLOAT64 => {
            let f = f64::from_le_bytes(eight(b)?);
            Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        TYPE_STRING => {
            let (n, rest) = decode_uvarint(b)?;
            let s = rest
                .get(..n as usize)
                .ok_or(bad("json: truncated string"))?;
            Value::String(String::from_utf8_lossy(s).into_owned())
        }
        TYPE_ARRAY | TYPE_OBJECT => {
            let n = read_u32(b, 0)? as usize;
            let size = read_u32(b, 4)? as usize;
            let b = b
                .get(..size)
                .ok_or(bad("json: container size beyond data"))?;
            let nkeys = if tp == TYPE_OBJECT { n } else { 0 };
            n.checked_mul(VALUE_ENTRY)
                .and_then(|x| x.checked_add(nkeys * KEY_ENTRY + HEADER))
                .filter(|&h| h <= b.len())
                .ok_or(bad("json: container header beyond data"))?;
            let mut vals = Vec::with_capacity(n);
            for i in 0..n {
                let e = HEADER + nkeys * KEY_ENTRY + i * VALUE_ENTRY;
                let vt = *b.get(e).ok_or(bad("json: truncated entry"))?;
                let slot = read_u32(b, e + 1)? as usize;
                let v = if vt == TYPE_LITERAL {
                    decode_value(vt, &[slot as u8], depth + 1)?
                } else {
                    decode_value(
                        vt,
                        b.get(slot..).ok_or(bad("json: value offset"))?,
                        depth + 1,
                    )?
                };
                vals.push(v);
            }
            if tp == TYPE_ARRAY {
                Value::Array(vals)
            } else {
                let mut m = Map::new();
                for (i, v) in vals.into_iter().enumerate() {
                    let e = HEADER + i * KEY_ENTRY;
                    let off = read_u32(b, e)? as usize;
                    let len = b.get(e + 4..e + 6).ok_or(bad("json: key entry"))?;
                    let len = u16::from_le_bytes([len[0], len[1]]) as usize;
                    let k = b.get(off..off + len).ok_or(bad("json: key beyond data"))?;
                    m.insert(String::from_utf8_lossy(k).into_owned(), v);
                }
                Value::Object(m)
            }
        }
        _ => return Err(bad("json: unsupported type")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_layout_matches_tikv_vector() {
        let mut out = Vec::new();
        encode_json_text(br#"{"key":"value"}"#, &mut out).unwrap();
        let hex: String = out.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(
            hex,
            "01010000001c0000001300000003000c160000006b65790576616c7565"
        );
        assert_eq!(
            decode_json(&out).unwrap(),
            serde_json::json!({"key": "value"})
        );
    }

    #[test]
    fn nested_roundtrip() {
        let v = serde_json::json!({"b": [1, -2, 3.5, null, true, "x"], "a": {"z": false}, "u": 18446744073709551615u64});
        let mut out = Vec::new();
        encode_json(&v, &mut out);
        assert_eq!(decode_json(&out).unwrap(), v);
    }
}
