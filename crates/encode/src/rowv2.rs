//! Row format v2 (`tidb_row_format_version = 2`) and the legacy v1 row format.
//!
//! v2 layout: `0x80 | flags | u16 #not-null | u16 #null | not-null column ids
//! (ascending) | null column ids (ascending) | end offset of each not-null value |
//! values`. Ids are u8 and offsets u16, or u32 and u32 in the "large" layout
//! (flag bit 0), used when an id exceeds 255 or the values exceed 64 KiB.

use crate::codec::datum::encode_value_datum;
use crate::codec::number::encode_float;
use crate::codec::Datum;
use crate::error::CodecError;

/// Version byte of row format v2.
pub const CODEC_VER: u8 = 128;
/// Flag bit of the large layout.
pub const FLAG_LARGE: u8 = 1;

/// Appends a signed integer in the shortest of 1/2/4/8 little-endian bytes.
#[inline]
pub fn encode_compact_int(buf: &mut Vec<u8>, v: i64) {
    if v == i64::from(v as i8) {
        buf.push(v as i8 as u8);
    } else if v == i64::from(v as i16) {
        buf.extend_from_slice(&(v as i16).to_le_bytes());
    } else if v == i64::from(v as i32) {
        buf.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// Appends an unsigned integer in the shortest of 1/2/4/8 little-endian bytes.
#[inline]
pub fn encode_compact_uint(buf: &mut Vec<u8>, v: u64) {
    if v <= u64::from(u8::MAX) {
        buf.push(v as u8);
    } else if v <= u64::from(u16::MAX) {
        buf.extend_from_slice(&(v as u16).to_le_bytes());
    } else if v <= u64::from(u32::MAX) {
        buf.extend_from_slice(&(v as u32).to_le_bytes());
    } else {
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// Reads a compact signed integer of 1/2/4/8 bytes.
pub fn decode_compact_int(b: &[u8]) -> Result<i64, CodecError> {
    Ok(match b.len() {
        1 => i64::from(b[0] as i8),
        2 => i64::from(i16::from_le_bytes([b[0], b[1]])),
        4 => i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        _ => return Err(CodecError::Invalid("compact int of bad length")),
    })
}

/// Reads a compact unsigned integer of 1/2/4/8 bytes.
pub fn decode_compact_uint(b: &[u8]) -> Result<u64, CodecError> {
    Ok(match b.len() {
        1 => u64::from(b[0]),
        2 => u64::from(u16::from_le_bytes([b[0], b[1]])),
        4 => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        8 => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        _ => return Err(CodecError::Invalid("compact uint of bad length")),
    })
}

/// Appends one non-null datum in its row-v2 value form.
pub fn encode_v2_value(buf: &mut Vec<u8>, d: &Datum) -> Result<(), CodecError> {
    match d {
        Datum::Int(v) => encode_compact_int(buf, *v),
        Datum::Uint(v) => encode_compact_uint(buf, *v),
        Datum::Float(f) => encode_float(buf, *f),
        Datum::Bytes(b) => buf.extend_from_slice(b),
        Datum::Decimal { value, prec, frac } => {
            let (p, f) = if *prec == 0 {
                value.precision_and_frac()
            } else {
                (*prec, *frac)
            };
            buf.push(p);
            buf.push(f);
            value.to_bin(p, f, buf)?;
        }
        Datum::Time(t) => encode_compact_uint(buf, t.to_packed()),
        Datum::Duration(d) => encode_compact_int(buf, d.nanos),
        Datum::Json(j) => buf.extend_from_slice(j),
        Datum::Null | Datum::Max => {
            return Err(CodecError::Invalid("row v2 cannot hold this datum"))
        }
    }
    Ok(())
}

/// A reusable row-v2 encoder: keeps its scratch buffers between rows.
#[derive(Debug, Default)]
pub struct RowV2Encoder {
    not_null: Vec<(u32, u32, u32)>,
    nulls: Vec<u32>,
    data: Vec<u8>,
}

impl RowV2Encoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the row of `(column id, value)` pairs to `out`.
    pub fn encode<'d>(
        &mut self,
        cols: impl IntoIterator<Item = (i64, &'d Datum)>,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        self.not_null.clear();
        self.nulls.clear();
        self.data.clear();
        let mut large = false;
        for (id, d) in cols {
            let id =
                u32::try_from(id).map_err(|_| CodecError::Invalid("column id out of range"))?;
            large |= id > 255;
            if d.is_null() {
                self.nulls.push(id);
            } else {
                let start = self.data.len() as u32;
                encode_v2_value(&mut self.data, d)?;
                self.not_null.push((id, start, self.data.len() as u32));
            }
        }
        large |= self.data.len() > usize::from(u16::MAX);
        self.not_null.sort_unstable_by_key(|e| e.0);
        self.nulls.sort_unstable();
        out.push(CODEC_VER);
        out.push(if large { FLAG_LARGE } else { 0 });
        out.extend_from_slice(&(self.not_null.len() as u16).to_le_bytes());
        out.extend_from_slice(&(self.nulls.len() as u16).to_le_bytes());
        let ids = self
            .not_null
            .iter()
            .map(|e| e.0)
            .chain(self.nulls.iter().copied());
        if large {
            ids.for_each(|id| out.extend_from_slice(&id.to_le_bytes()));
        } else {
            ids.for_each(|id| out.push(id as u8));
        }
        let mut end = 0u32;
        for &(_, s, e) in &self.not_null {
            end += e - s;
            if large {
                out.extend_from_slice(&end.to_le_bytes());
            } else {
                out.extend_from_slice(&(end as u16).to_le_bytes());
            }
        }
        for &(_, s, e) in &self.not_null {
            out.extend_from_slice(&self.data[s as usize..e as usize]);
        }
        Ok(())
    }
}

/// A decoded row-v2 value: column ids and raw value bytes, borrowed from the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowV2<'a> {
    /// Columns with a value, ascending by id, with their raw bytes.
    pub not_null: Vec<(u32, &'a [u8])>,
    /// Ids of NULL columns.
    pub nulls: Vec<u32>,
    /// Whether the large layout was used.
    pub large: bool,
}

impl<'a> RowV2<'a> {
    /// Parses the layout; value bytes stay raw (their type comes from the schema).
    pub fn parse(b: &'a [u8]) -> Result<Self, CodecError> {
        let trunc = |need: usize| CodecError::Truncated {
            what: "row v2",
            need,
            have: b.len(),
        };
        if b.len() < 6 {
            return Err(trunc(6));
        }
        if b[0] != CODEC_VER {
            return Err(CodecError::Invalid(
                "not a row v2 value (first byte is not 0x80)",
            ));
        }
        let large = b[1] & FLAG_LARGE != 0;
        let nn = usize::from(u16::from_le_bytes([b[2], b[3]]));
        let nu = usize::from(u16::from_le_bytes([b[4], b[5]]));
        let (idw, offw) = if large { (4, 4) } else { (1, 2) };
        let ids_end = 6 + (nn + nu) * idw;
        let offs_end = ids_end + nn * offw;
        if b.len() < offs_end {
            return Err(trunc(offs_end));
        }
        let id_at = |i: usize| -> u32 {
            let p = 6 + i * idw;
            if large {
                u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]])
            } else {
                u32::from(b[p])
            }
        };
        let data = &b[offs_end..];
        let mut not_null = Vec::with_capacity(nn);
        let mut prev = 0usize;
        for i in 0..nn {
            let p = ids_end + i * offw;
            let end = if large {
                u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]) as usize
            } else {
                usize::from(u16::from_le_bytes([b[p], b[p + 1]]))
            };
            if end < prev || end > data.len() {
                return Err(CodecError::Invalid(
                    "row v2 offsets out of order or beyond the data",
                ));
            }
            not_null.push((id_at(i), &data[prev..end]));
            prev = end;
        }
        let nulls = (nn..nn + nu).map(id_at).collect();
        Ok(RowV2 {
            not_null,
            nulls,
            large,
        })
    }

    /// The raw bytes of column `id`: `Some(None)` when NULL, `None` when absent.
    pub fn get(&self, id: u32) -> Option<Option<&'a [u8]>> {
        if let Ok(i) = self.not_null.binary_search_by_key(&id, |e| e.0) {
            return Some(Some(self.not_null[i].1));
        }
        self.nulls.contains(&id).then_some(None)
    }
}

/// Appends a v1 row: for each column, its id and its value-encoded (flattened) datum.
pub fn encode_row_v1<'d>(
    cols: impl IntoIterator<Item = (i64, &'d Datum)>,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let start = out.len();
    for (id, d) in cols {
        encode_value_datum(out, &Datum::Int(id))?;
        match d {
            Datum::Time(t) => encode_value_datum(out, &Datum::Uint(t.to_packed()))?,
            Datum::Duration(x) => encode_value_datum(out, &Datum::Int(x.nanos))?,
            other => encode_value_datum(out, other)?,
        }
    }
    if out.len() == start {
        out.push(0);
    }
    Ok(())
}

/// Decodes one non-null row-v2 value of a column of type `ft`: the inverse of
/// [`encode_v2_value`] for the datum the encoder casts such a column to (used by the
/// simulated TiDB to read rows back).
pub fn decode_v2_value(b: &[u8], ft: &crate::table::FieldType) -> Result<Datum, CodecError> {
    use crate::table::ColumnType as T;
    Ok(match ft.tp {
        T::TinyInt | T::SmallInt | T::MediumInt | T::Int | T::BigInt if ft.unsigned => {
            Datum::Uint(decode_compact_uint(b)?)
        }
        T::TinyInt | T::SmallInt | T::MediumInt | T::Int | T::BigInt | T::Year => {
            Datum::Int(decode_compact_int(b)?)
        }
        T::Enum | T::Set | T::Bit => Datum::Uint(decode_compact_uint(b)?),
        T::Float | T::Double => {
            if b.len() != 8 {
                return Err(CodecError::Invalid("row v2 float is not 8 bytes"));
            }
            Datum::Float(crate::codec::number::decode_float(b)?.0)
        }
        T::Decimal => {
            let [prec, frac, rest @ ..] = b else {
                return Err(CodecError::Truncated {
                    what: "row v2 decimal",
                    need: 2,
                    have: b.len(),
                });
            };
            let (value, tail) = crate::decimal::Decimal::from_bin(rest, *prec, *frac)?;
            if !tail.is_empty() {
                return Err(CodecError::Invalid("row v2 decimal has trailing bytes"));
            }
            Datum::Decimal {
                value,
                prec: *prec,
                frac: *frac,
            }
        }
        T::Date | T::DateTime | T::Timestamp => {
            Datum::Time(crate::time::Time::from_packed(decode_compact_uint(b)?))
        }
        T::Time => Datum::Duration(crate::time::Duration {
            nanos: decode_compact_int(b)?,
        }),
        T::Char | T::VarChar | T::Blob => Datum::Bytes(b.to_vec()),
        T::Json => Datum::Json(b.to_vec()),
    })
}

#[cfg(test)]
mod decode_tests {
    use super::*;
    use crate::decimal::Decimal;
    use crate::table::{ColumnType, FieldType};
    use crate::time::{parse_datetime, Duration};

    fn round_trip(d: Datum, ft: FieldType) {
        let mut buf = Vec::new();
        encode_v2_value(&mut buf, &d).unwrap();
        assert_eq!(decode_v2_value(&buf, &ft).unwrap(), d, "{ft:?}");
    }

    #[test]
    fn decode_v2_value_inverts_encode_per_type() {
        for v in [0, -1, 127, -129, 40_000, -3_000_000_000, i64::MIN] {
            round_trip(Datum::Int(v), FieldType::new(ColumnType::BigInt));
        }
        let mut unsigned = FieldType::new(ColumnType::Int);
        unsigned.unsigned = true;
        for v in [0, 255, 65_536, u64::MAX] {
            round_trip(Datum::Uint(v), unsigned.clone());
        }
        round_trip(Datum::Float(-1.25), FieldType::new(ColumnType::Double));
        round_trip(
            Datum::Bytes(b"x\xffy".to_vec()),
            FieldType::new(ColumnType::VarChar),
        );
        round_trip(Datum::Uint(3), FieldType::new(ColumnType::Enum));
        let value = Decimal::parse(b"-12.50").unwrap();
        round_trip(
            Datum::Decimal {
                value,
                prec: 10,
                frac: 2,
            },
            FieldType::new(ColumnType::Decimal),
        );
        let t = parse_datetime(b"2024-02-29 23:59:58.5").unwrap();
        round_trip(Datum::Time(t), FieldType::new(ColumnType::DateTime));
        round_trip(
            Datum::Duration(Duration {
                nanos: -3_600_000_000_000,
            }),
            FieldType::new(ColumnType::Time),
        );
    }

    #[test]
    fn decode_v2_value_rejects_bad_widths() {
        assert!(decode_v2_value(&[1, 2, 3], &FieldType::new(ColumnType::Int)).is_err());
        assert!(decode_v2_value(&[1], &FieldType::new(ColumnType::Double)).is_err());
        assert!(decode_v2_value(&[], &FieldType::new(ColumnType::Decimal)).is_err());
    }
}
