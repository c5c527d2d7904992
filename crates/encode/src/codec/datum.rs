//! [`Datum`], a typed SQL value, and its key (memcomparable) and value (compact) encodings.

use super::bytes::{decode_bytes_into, decode_compact_bytes, encode_bytes, encode_compact_bytes};
use super::flag;
use super::number::*;
use crate::decimal::Decimal;
use crate::error::CodecError;
use crate::time::{Duration, Time};
use std::fmt;

/// One typed value, as TiDB's `types.Datum` after casting to its column type.
///
/// `Bytes` and `Json` own a buffer so an encoder can keep one `Vec<Datum>` per
/// row and overwrite it in place without reallocating.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Datum {
    /// SQL NULL.
    #[default]
    Null,
    /// Signed integer (all signed integer widths, YEAR, booleans).
    Int(i64),
    /// Unsigned integer (unsigned widths, ENUM/SET index or bits, BIT).
    Uint(u64),
    /// FLOAT (already rounded to f32) or DOUBLE.
    Float(f64),
    /// String or binary bytes (for keys, already the collation key).
    Bytes(Vec<u8>),
    /// DECIMAL with the precision and scale used for encoding (0, 0 = the value's own).
    Decimal {
        /// The value.
        value: Decimal,
        /// Precision for the binary layout; 0 means "from the value".
        prec: u8,
        /// Scale for the binary layout.
        frac: u8,
    },
    /// DATE/DATETIME/TIMESTAMP (TIMESTAMP already in UTC).
    Time(Time),
    /// TIME.
    Duration(Duration),
    /// Binary JSON: type byte then body.
    Json(Vec<u8>),
    /// Sorts after every value (range ends only).
    Max,
}

impl Datum {
    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// Sets `self` to these bytes, reusing its buffer when it already holds bytes.
    pub fn set_bytes(&mut self, b: &[u8]) {
        if let Datum::Bytes(v) = self {
            v.clear();
            v.extend_from_slice(b);
        } else {
            *self = Datum::Bytes(b.to_vec());
        }
    }

    /// A mutable, cleared byte buffer held by `self` (turning it into `Bytes`).
    pub fn bytes_buf(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Datum::Bytes(_)) {
            *self = Datum::Bytes(Vec::new());
        }
        match self {
            Datum::Bytes(v) => {
                v.clear();
                v
            }
            _ => unreachable!("set to Bytes above"),
        }
    }

    /// A mutable, cleared JSON buffer held by `self` (turning it into `Json`).
    pub fn json_buf(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Datum::Json(_)) {
            *self = Datum::Json(Vec::new());
        }
        match self {
            Datum::Json(v) => {
                v.clear();
                v
            }
            _ => unreachable!("set to Json above"),
        }
    }

    fn decimal_prec_frac(value: &Decimal, prec: u8, frac: u8) -> (u8, u8) {
        if prec == 0 {
            value.precision_and_frac()
        } else {
            (prec, frac)
        }
    }
}

fn encode_decimal(
    buf: &mut Vec<u8>,
    value: &Decimal,
    prec: u8,
    frac: u8,
) -> Result<(), CodecError> {
    let (p, f) = Datum::decimal_prec_frac(value, prec, frac);
    buf.push(p);
    buf.push(f);
    value.to_bin(p, f, buf)
}

/// Appends one datum in memcomparable (key) form: TiDB's `EncodeKey`.
pub fn encode_key_datum(buf: &mut Vec<u8>, d: &Datum) -> Result<(), CodecError> {
    match d {
        Datum::Null => buf.push(flag::NIL),
        Datum::Int(v) => {
            buf.push(flag::INT);
            encode_int(buf, *v);
        }
        Datum::Uint(v) => {
            buf.push(flag::UINT);
            encode_uint(buf, *v);
        }
        Datum::Float(f) => {
            buf.push(flag::FLOAT);
            encode_float(buf, *f);
        }
        Datum::Bytes(b) => {
            buf.push(flag::BYTES);
            encode_bytes(buf, b);
        }
        Datum::Decimal { value, prec, frac } => {
            buf.push(flag::DECIMAL);
            encode_decimal(buf, value, *prec, *frac)?;
        }
        Datum::Time(t) => {
            buf.push(flag::UINT);
            encode_uint(buf, t.to_packed());
        }
        Datum::Duration(d) => {
            buf.push(flag::DURATION);
            encode_int(buf, d.nanos);
        }
        Datum::Json(j) => {
            buf.push(flag::JSON);
            buf.extend_from_slice(j);
        }
        Datum::Max => buf.push(flag::MAX),
    }
    Ok(())
}

/// Appends datums in memcomparable (key) form.
pub fn encode_key(buf: &mut Vec<u8>, datums: &[Datum]) -> Result<(), CodecError> {
    datums.iter().try_for_each(|d| encode_key_datum(buf, d))
}

/// Appends one datum in compact (value) form: TiDB's `EncodeValue`.
pub fn encode_value_datum(buf: &mut Vec<u8>, d: &Datum) -> Result<(), CodecError> {
    match d {
        Datum::Int(v) => {
            buf.push(flag::VARINT);
            encode_varint(buf, *v);
        }
        Datum::Uint(v) => {
            buf.push(flag::UVARINT);
            encode_uvarint(buf, *v);
        }
        Datum::Bytes(b) => {
            buf.push(flag::COMPACT_BYTES);
            encode_compact_bytes(buf, b);
        }
        other => encode_key_datum(buf, other)?,
    }
    Ok(())
}

/// Appends datums in compact (value) form.
pub fn encode_value(buf: &mut Vec<u8>, datums: &[Datum]) -> Result<(), CodecError> {
    datums.iter().try_for_each(|d| encode_value_datum(buf, d))
}

fn decode_decimal(b: &[u8]) -> Result<(Datum, &[u8]), CodecError> {
    if b.len() < 2 {
        return Err(CodecError::Truncated {
            what: "decimal header",
            need: 2,
            have: b.len(),
        });
    }
    let (prec, frac) = (b[0], b[1]);
    let (value, rest) = Decimal::from_bin(&b[2..], prec, frac)?;
    Ok((Datum::Decimal { value, prec, frac }, rest))
}

/// Decodes one key-encoded datum. Times come back as `Uint` (the key does not say).
pub fn decode_key_datum(b: &[u8]) -> Result<(Datum, &[u8]), CodecError> {
    let (&f, rest) = b.split_first().ok_or(CodecError::Truncated {
        what: "datum flag",
        need: 1,
        have: 0,
    })?;
    Ok(match f {
        flag::NIL => (Datum::Null, rest),
        flag::INT => {
            let (v, r) = decode_int(rest)?;
            (Datum::Int(v), r)
        }
        flag::UINT => {
            let (v, r) = decode_uint(rest)?;
            (Datum::Uint(v), r)
        }
        flag::FLOAT => {
            let (v, r) = decode_float(rest)?;
            (Datum::Float(v), r)
        }
        flag::BYTES => {
            let mut out = Vec::new();
            let r = decode_bytes_into(rest, &mut out)?;
            (Datum::Bytes(out), r)
        }
        flag::DECIMAL => decode_decimal(rest)?,
        flag::DURATION => {
            let (v, r) = decode_int(rest)?;
            (Datum::Duration(Duration { nanos: v }), r)
        }
        flag::MAX => (Datum::Max, rest),
        other => return Err(CodecError::UnknownFlag(other)),
    })
}

/// Decodes one value-encoded datum.
pub fn decode_value_datum(b: &[u8]) -> Result<(Datum, &[u8]), CodecError> {
    let (&f, rest) = b.split_first().ok_or(CodecError::Truncated {
        what: "datum flag",
        need: 1,
        have: 0,
    })?;
    Ok(match f {
        flag::VARINT => {
            let (v, r) = decode_varint(rest)?;
            (Datum::Int(v), r)
        }
        flag::UVARINT => {
            let (v, r) = decode_uvarint(rest)?;
            (Datum::Uint(v), r)
        }
        flag::COMPACT_BYTES => {
            let (v, r) = decode_compact_bytes(rest)?;
            (Datum::Bytes(v.to_vec()), r)
        }
        flag::JSON => {
            // The JSON length is implied by its own header; only whole values are supported.
            (Datum::Json(rest.to_vec()), &rest[rest.len()..])
        }
        _ => decode_key_datum(b)?,
    })
}

impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Datum::Null => f.write_str("NULL"),
            Datum::Int(v) => write!(f, "{v}"),
            Datum::Uint(v) => write!(f, "{v}"),
            Datum::Float(v) => write!(f, "{v}"),
            Datum::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => write!(f, "{s:?}"),
                Err(_) => {
                    f.write_str("0x")?;
                    b.iter().try_for_each(|x| write!(f, "{x:02X}"))
                }
            },
            Datum::Decimal { value, .. } => write!(f, "{value}"),
            Datum::Time(t) => write!(f, "{t}"),
            Datum::Duration(d) => write!(f, "{d}"),
            Datum::Json(j) => match crate::json::decode_json(j) {
                Ok(v) => write!(f, "{v}"),
                Err(_) => f.write_str("<bad json>"),
            },
            Datum::Max => f.write_str("MaxValue"),
        }
    }
}
