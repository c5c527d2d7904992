//! Explains raw TiKV bytes (a table key, a row value or an index value) for humans:
//! the engine behind `tidb-lightning-ctl kv decode`. Never panics on any input.

use crate::codec::Datum;
use crate::error::CodecError;
use crate::key::{decode_key, DecodedHandle, DecodedKey};
use crate::rowv2::{decode_compact_int, RowV2, CODEC_VER};
use std::fmt;

/// What some bytes turned out to be, with values rendered as strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Explained {
    /// `t{table}_r{handle}`.
    RecordKey {
        /// Table id.
        table_id: i64,
        /// The integer handle, or the clustered key's values joined by ", ".
        handle: String,
    },
    /// `t{table}_i{index}{values}`; a non-unique key's last value is the handle.
    IndexKey {
        /// Table id.
        table_id: i64,
        /// Index id.
        index_id: i64,
        /// Decoded values.
        values: Vec<String>,
    },
    /// A row-format-v2 value: column id and a rendering of its raw bytes.
    RowValue {
        /// `(column id, value)`; types are unknown without the schema.
        columns: Vec<(u32, String)>,
    },
    /// Something shaped like an index value.
    IndexValue {
        /// What it holds.
        description: String,
    },
}

fn render_handle(h: &DecodedHandle) -> String {
    match h {
        DecodedHandle::Int(v) => v.to_string(),
        DecodedHandle::Common(ds) => ds
            .iter()
            .map(Datum::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn render_raw(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let mut s = format!("0x{hex}");
    if matches!(b.len(), 1 | 2 | 4 | 8) {
        if let Ok(i) = decode_compact_int(b) {
            s.push_str(&format!(" (int {i})"));
        }
    }
    if let Ok(t) = std::str::from_utf8(b) {
        if !t.is_empty() && t.chars().all(|c| !c.is_control()) {
            s.push_str(&format!(" ({t:?})"));
        }
    }
    s
}

/// Decodes `b` as a table key, a row v2 value or an index value, in that order of guesses.
pub fn explain(b: &[u8]) -> Result<Explained, CodecError> {
    if b.first() == Some(&b't') {
        return Ok(match decode_key(b)? {
            DecodedKey::Record { table_id, handle } => Explained::RecordKey {
                table_id,
                handle: render_handle(&handle),
            },
            DecodedKey::Index {
                table_id,
                index_id,
                values,
            } => Explained::IndexKey {
                table_id,
                index_id,
                values: values.iter().map(Datum::to_string).collect(),
            },
            DecodedKey::TableOther { .. } => {
                return Err(CodecError::Invalid(
                    "table key that is neither record nor index",
                ))
            }
        });
    }
    if b.first() == Some(&CODEC_VER) {
        let row = RowV2::parse(b)?;
        let mut columns: Vec<(u32, String)> = row
            .not_null
            .iter()
            .map(|(id, v)| (*id, render_raw(v)))
            .collect();
        columns.extend(row.nulls.iter().map(|id| (*id, "NULL".to_string())));
        columns.sort_by_key(|c| c.0);
        return Ok(Explained::RowValue { columns });
    }
    let description = match b {
        b"0" => "non-unique index value (no payload)".to_string(),
        [..] if b.len() == 8 => format!(
            "unique index value: int handle {}",
            i64::from_be_bytes(to8(b))
        ),
        [tail, 125, 1, ..] => format!("clustered-table index value v1, tail length {tail}"),
        [tail, ..] if usize::from(*tail) < b.len() => {
            let tail = usize::from(*tail);
            let mut d = format!("index value with tail length {tail}");
            if tail == 8 {
                d.push_str(&format!(
                    ", int handle {}",
                    i64::from_be_bytes(to8(&b[b.len() - 8..]))
                ));
            }
            d
        }
        _ => {
            return Err(CodecError::Invalid(
                "not a table key, row value or index value",
            ))
        }
    };
    Ok(Explained::IndexValue { description })
}

fn to8(b: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    a
}

impl fmt::Display for Explained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Explained::RecordKey { table_id, handle } => {
                write!(f, "record key\n  table_id: {table_id}\n  handle: {handle}")
            }
            Explained::IndexKey {
                table_id,
                index_id,
                values,
            } => {
                write!(
                    f,
                    "index key\n  table_id: {table_id}\n  index_id: {index_id}\n  values: [{}]",
                    values.join(", ")
                )
            }
            Explained::RowValue { columns } => {
                write!(f, "row value (format v2)")?;
                columns
                    .iter()
                    .try_for_each(|(id, v)| write!(f, "\n  column {id}: {v}"))
            }
            Explained::IndexValue { description } => write!(f, "{description}"),
        }
    }
}
