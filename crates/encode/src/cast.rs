//! Casting parsed fields (text, numbers, binary literals) to a column's typed [`Datum`]
//! with MySQL/TiDB semantics: strict mode turns overflow, truncation and bad dates
//! into errors; non-strict mode clips or zeroes the value as TiDB does.

use crate::codec::Datum;
use crate::decimal::{Decimal, MAX_FRAC_DIGITS};
use crate::json::encode_json_text;
use crate::sqlmode::SqlMode;
use crate::table::{ColumnType, FieldType};
use crate::time::{parse_datetime, Duration, Time, MAX_DURATION_NANOS};
use crate::tz::{LocalTime, TimeZone};
use lightning_parser::FieldKind;

/// Session settings a cast depends on.
#[derive(Clone, Debug, Default)]
pub struct CastContext {
    /// SQL mode.
    pub sql_mode: SqlMode,
    /// Session time zone: TIMESTAMP values are read in it and stored in UTC.
    pub time_zone: TimeZone,
}

/// Why a value was rejected (strict mode) — the message names the problem, not the value.
pub type CastError = String;

fn int_range(ft: &FieldType) -> (i128, i128) {
    let bits = match ft.tp {
        ColumnType::TinyInt => 8,
        ColumnType::SmallInt => 16,
        ColumnType::MediumInt => 24,
        ColumnType::Int => 32,
        _ => 64,
    };
    if ft.unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    }
}

/// Reads the longest numeric prefix as a decimal; `Err(prefix_value)` when there was trailing junk.
fn parse_number(s: &[u8]) -> Result<Decimal, Decimal> {
    let t = s.trim_ascii();
    if let Ok(d) = Decimal::parse(t) {
        return Ok(d);
    }
    // longest valid prefix
    let mut end = 0;
    for i in (1..=t.len()).rev() {
        if Decimal::parse(&t[..i]).is_ok() {
            end = i;
            break;
        }
    }
    Err(Decimal::parse(&t[..end]).unwrap_or_default())
}

/// A plain decimal integer: an optional `-` and 1 to 18 ASCII digits, nothing else. Most
/// integer fields are this, and they need no [`Decimal`] (which [`parse_number`] builds
/// and then rounds); anything else returns `None` and takes that general path.
#[inline]
fn plain_int(b: &[u8]) -> Option<i128> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(i128::from(if neg { -v } else { v }))
}

fn be_uint(b: &[u8]) -> Option<u64> {
    let b = &b[b.iter().position(|&x| x != 0).unwrap_or(b.len())..];
    if b.len() > 8 {
        return None;
    }
    Some(b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
}

/// Casts one input value to `ft`, writing into `out` (reusing its buffer). NULL gives `Datum::Null`.
pub fn cast_value(
    kind: FieldKind,
    bytes: &[u8],
    ft: &FieldType,
    ctx: &CastContext,
    out: &mut Datum,
) -> Result<(), CastError> {
    let strict = ctx.sql_mode.strict;
    if kind == FieldKind::Null {
        *out = Datum::Null;
        return Ok(());
    }
    use ColumnType as T;
    match ft.tp {
        T::TinyInt | T::SmallInt | T::MediumInt | T::Int | T::BigInt => {
            let (lo, hi) = int_range(ft);
            let v: i128 = if kind == FieldKind::Binary {
                i128::from(be_uint(bytes).ok_or("value out of range")?)
            } else if let Some(v) = plain_int(bytes) {
                v
            } else {
                let d = match parse_number(bytes) {
                    Ok(d) => d,
                    Err(d) if !strict => d,
                    Err(_) => return Err("incorrect integer value".into()),
                };
                d.round_to_i128().unwrap_or(if d.is_negative() {
                    i128::MIN
                } else {
                    i128::MAX
                })
            };
            let c = v.clamp(lo, hi);
            if c != v && strict {
                return Err("out of range value".into());
            }
            *out = if ft.unsigned {
                Datum::Uint(c as u64)
            } else {
                Datum::Int(c as i64)
            };
        }
        T::Year => {
            let t = bytes.trim_ascii();
            let d = match parse_number(t) {
                Ok(d) => d,
                Err(_) if strict => return Err("incorrect year value".into()),
                Err(d) => d,
            };
            let mut v = d.round_to_i128().unwrap_or(-1);
            if kind == FieldKind::Text && (1..=2).contains(&t.len()) && (0..=99).contains(&v) {
                v += if v < 70 { 2000 } else { 1900 };
            } else if (1..=69).contains(&v) {
                v += 2000;
            } else if (70..=99).contains(&v) {
                v += 1900;
            }
            if v != 0 && !(1901..=2155).contains(&v) {
                if strict {
                    return Err("out of range value".into());
                }
                v = 0;
            }
            *out = Datum::Int(v as i64);
        }
        T::Float | T::Double => {
            let f: f64 = if kind == FieldKind::Binary {
                be_uint(bytes).ok_or("value out of range")? as f64
            } else {
                match std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                {
                    Some(f) if f.is_finite() => f,
                    _ if strict => return Err("incorrect double value".into()),
                    _ => parse_number(bytes).unwrap_or_else(|d| d).to_f64(),
                }
            };
            let mut f = f;
            if ft.decimal != 0xff && ft.decimal as usize <= MAX_FRAC_DIGITS {
                let m = 10f64.powi(i32::from(ft.decimal));
                f = (f * m).round() / m;
            }
            if ft.unsigned && f < 0.0 {
                if strict {
                    return Err("out of range value".into());
                }
                f = 0.0;
            }
            if ft.tp == T::Float {
                let g = f as f32;
                if g.is_infinite() {
                    if strict {
                        return Err("out of range value".into());
                    }
                    f = f64::from(if f > 0.0 { f32::MAX } else { f32::MIN });
                } else {
                    f = f64::from(g);
                }
            }
            *out = Datum::Float(f);
        }
        T::Decimal => {
            let d = if kind == FieldKind::Binary {
                Decimal::from_u64(be_uint(bytes).ok_or("value out of range")?)
            } else {
                match parse_number(bytes) {
                    Ok(d) => d,
                    Err(d) if !strict => d,
                    Err(_) => return Err("incorrect decimal value".into()),
                }
            };
            let prec = ft.flen.clamp(1, 65) as u8;
            let frac = ft.decimal.min(prec);
            let mut r = d
                .round(frac)
                .map_err(|_| "out of range value".to_string())?;
            let neg_unsigned = ft.unsigned && r.is_negative();
            if r.int_digits() > prec - frac || neg_unsigned {
                if strict {
                    return Err("out of range value".into());
                }
                r = if neg_unsigned {
                    Decimal::zero().round(frac).unwrap_or_default()
                } else {
                    max_decimal(prec, frac, r.is_negative())
                };
            }
            *out = Datum::Decimal {
                value: r,
                prec,
                frac,
            };
        }
        T::Char | T::VarChar | T::Blob => {
            let binary = ft.charset == "binary";
            let src: &[u8] = bytes;
            if !binary
                && kind != FieldKind::Binary
                && ft.charset.starts_with("utf8")
                && std::str::from_utf8(src).is_err()
            {
                return Err("incorrect string value".into());
            }
            let buf = out.bytes_buf();
            buf.extend_from_slice(src);
            // length check: characters for text types, bytes for binary and TEXT/BLOB limits;
            // a single-byte charset's characters are its bytes (TiDB counts runes only for
            // utf8 / utf8mb4), so a latin1 VARCHAR(1) keeps one byte of a multi-byte input.
            let limit = ft.flen as usize;
            let single_byte = matches!(ft.charset.as_str(), "latin1" | "ascii");
            let by_bytes = ft.tp == T::Blob || binary || single_byte;
            // A character is at least one byte: counting them only matters past `limit` bytes.
            let too_long = if by_bytes {
                buf.len() > limit
            } else {
                buf.len() > limit && char_len(buf) > limit
            };
            if too_long {
                if strict {
                    return Err("data too long".into());
                }
                let cut = if by_bytes {
                    limit
                } else {
                    char_boundary(buf, limit)
                };
                buf.truncate(cut);
            }
            if ft.tp == T::Char {
                if binary {
                    buf.resize(limit, 0);
                } else {
                    let keep = crate::collate::trim_trailing_spaces(buf).len();
                    buf.truncate(keep);
                }
            }
        }
        T::Date | T::DateTime | T::Timestamp => {
            let t = match parse_datetime(bytes) {
                Ok(t) => t,
                Err(_) if strict => return Err("incorrect datetime value".into()),
                Err(_) => Time::ZERO,
            };
            let mut t = if ft.tp == T::Date {
                Time {
                    hour: 0,
                    minute: 0,
                    second: 0,
                    micro: 0,
                    ..t
                }
            } else {
                t.round_fsp(ft.decimal)
            };
            let m = &ctx.sql_mode;
            let zero_part = t.month == 0 || t.day == 0;
            let invalid = if t.is_zero() {
                m.strict && m.no_zero_date
            } else if zero_part {
                m.strict && m.no_zero_in_date
            } else if m.allow_invalid_dates {
                false
            } else {
                !t.is_valid_date()
            };
            if invalid {
                if strict {
                    return Err("incorrect datetime value".into());
                }
                t = Time::ZERO;
            }
            if ft.tp == T::Timestamp && !t.is_zero() {
                t = timestamp_to_utc(t, zero_part, &ctx.time_zone, strict)?;
            }
            *out = Datum::Time(t);
        }
        T::Time => {
            let d = match Duration::parse(bytes, ft.decimal) {
                Ok(d) => d,
                Err(_) if strict => return Err("incorrect time value".into()),
                Err(_) => Duration::default(),
            };
            let c = d.nanos.clamp(-MAX_DURATION_NANOS, MAX_DURATION_NANOS);
            if c != d.nanos && strict {
                return Err("out of range value".into());
            }
            *out = Datum::Duration(Duration { nanos: c });
        }
        T::Enum => {
            let n = ft.elems.len() as u64;
            let v = if kind == FieldKind::Number {
                let v = parse_number(bytes)
                    .ok()
                    .and_then(|d| d.round_to_i128())
                    .unwrap_or(-1);
                u64::try_from(v).ok().filter(|&v| v <= n)
            } else {
                let s = crate::collate::trim_trailing_spaces(bytes);
                ft.elems
                    .iter()
                    .position(|e| e.as_bytes().eq_ignore_ascii_case(s))
                    .map(|p| p as u64 + 1)
            };
            match v {
                Some(v) => *out = Datum::Uint(v),
                None if strict => return Err("data truncated for enum".into()),
                None => *out = Datum::Uint(0),
            }
        }
        T::Set => {
            let n = ft.elems.len() as u32;
            let v = if kind == FieldKind::Number {
                let v = parse_number(bytes)
                    .ok()
                    .and_then(|d| d.round_to_i128())
                    .unwrap_or(-1);
                u64::try_from(v)
                    .ok()
                    .filter(|&v| n >= 64 || v < (1u64 << n))
            } else if bytes.is_empty() {
                Some(0)
            } else {
                bytes.split(|&c| c == b',').try_fold(0u64, |acc, part| {
                    let part = crate::collate::trim_trailing_spaces(part);
                    ft.elems
                        .iter()
                        .position(|e| e.as_bytes().eq_ignore_ascii_case(part))
                        .map(|p| acc | (1 << p))
                })
            };
            match v {
                Some(v) => *out = Datum::Uint(v),
                None if strict => return Err("data truncated for set".into()),
                None => *out = Datum::Uint(0),
            }
        }
        T::Bit => {
            let v = if kind == FieldKind::Number {
                parse_number(bytes)
                    .ok()
                    .and_then(|d| d.round_to_i128())
                    .and_then(|v| u64::try_from(v).ok())
            } else {
                be_uint(bytes)
            };
            let bits = ft.flen.clamp(1, 64);
            let fits = |v: u64| bits == 64 || v < (1u64 << bits);
            match v {
                Some(v) if fits(v) => *out = Datum::Uint(v),
                _ if strict => return Err("data too long for bit".into()),
                _ => {
                    *out = Datum::Uint(if bits == 64 {
                        u64::MAX
                    } else {
                        (1u64 << bits) - 1
                    })
                }
            }
        }
        T::Json => {
            let buf = out.json_buf();
            encode_json_text(bytes, buf).map_err(|_| "invalid JSON text".to_string())?;
        }
    }
    Ok(())
}

fn max_decimal(prec: u8, frac: u8, neg: bool) -> Decimal {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.extend(std::iter::repeat_n('9', usize::from(prec - frac)));
    if frac > 0 {
        s.push('.');
        s.extend(std::iter::repeat_n('9', usize::from(frac)));
    }
    Decimal::parse(s.as_bytes()).unwrap_or_default()
}

/// Number of UTF-8 characters (bytes that are not continuation bytes).
pub fn char_len(b: &[u8]) -> usize {
    b.iter().filter(|&&c| (c & 0xc0) != 0x80).count()
}

/// Byte length of the first `n` characters.
pub fn char_boundary(b: &[u8], n: usize) -> usize {
    let mut count = 0;
    for (i, &c) in b.iter().enumerate() {
        if (c & 0xc0) != 0x80 {
            if count == n {
                return i;
            }
            count += 1;
        }
    }
    b.len()
}

/// TiDB's TIMESTAMP check and conversion from the session zone to UTC (`checkTimestampType`,
/// `adjustTimestampErrForDST`): out of range is an error (strict) or zero; a time in a DST
/// gap is an error (strict) or moved to the gap's edge.
fn timestamp_to_utc(
    t: Time,
    zero_part: bool,
    tz: &TimeZone,
    strict: bool,
) -> Result<Time, CastError> {
    const RANGE: std::ops::RangeInclusive<i64> = 1..=2_147_483_647;
    let local = t.to_unix_seconds();
    let (utc, err) = match tz.local_to_utc(local) {
        LocalTime::Exact(u) => (Some(Time::from_unix_seconds(u, t.micro)), None),
        LocalTime::Gap { adjusted } if RANGE.contains(&adjusted) => (
            Some(Time::from_unix_seconds(adjusted, 0)),
            Some("incorrect timestamp value: in a daylight-saving gap of the session time zone"),
        ),
        LocalTime::Gap { .. } | LocalTime::Invalid => (None, None),
    };
    match utc {
        Some(u) if !zero_part && RANGE.contains(&u.to_unix_seconds()) => match err {
            Some(e) if strict => Err(e.into()),
            _ => Ok(u),
        },
        _ if strict => Err("incorrect timestamp value".into()),
        _ => Ok(Time::ZERO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integer fast path gives what the general (decimal) path gives.
    #[test]
    fn plain_int_agrees_with_the_decimal_path() {
        for t in [
            "0",
            "-0",
            "7",
            "007",
            "-42",
            "2147483647",
            "2147483648",
            "-2147483649",
            "999999999999999999",
            "-999999999999999999",
        ] {
            let via_decimal = parse_number(t.as_bytes()).unwrap().round_to_i128();
            assert_eq!(plain_int(t.as_bytes()), via_decimal, "{t}");
        }
        for t in [
            "",
            "-",
            "+1",
            " 1",
            "1 ",
            "1.5",
            "1e3",
            "12a",
            "--1",
            "0x10",
            "9999999999999999999",
            "1234567890123456789",
        ] {
            assert_eq!(plain_int(t.as_bytes()), None, "{t}");
        }
    }
}
