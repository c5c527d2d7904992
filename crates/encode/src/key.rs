//! Table keys (TiDB's tablecodec): record keys `t{table}_r{handle}` and index keys
//! `t{table}_i{index}{values}[handle]`, plus the index value layouts.

use crate::codec::datum::encode_key_datum;
use crate::codec::number::{decode_int, encode_int};
use crate::codec::{decode_key_datum, Datum};
use crate::error::CodecError;

/// First byte of every table key.
pub const TABLE_PREFIX: u8 = b't';
/// Separator of record keys.
pub const RECORD_SEP: &[u8; 2] = b"_r";
/// Separator of index keys.
pub const INDEX_SEP: &[u8; 2] = b"_i";
/// Length of an integer-handle record key.
pub const RECORD_KEY_LEN: usize = 1 + 8 + 2 + 8;
/// Index-value option byte announcing the versioned (v1) layout of clustered tables.
pub const INDEX_VERSION_FLAG: u8 = 125;
/// Index-value option byte introducing a partition id.
pub const PARTITION_ID_FLAG: u8 = 126;
/// Index-value option byte introducing a common handle.
pub const COMMON_HANDLE_FLAG: u8 = 127;
/// Trailing byte of an index value written by an uncommitted (untouched) index.
pub const UNTOUCHED_FLAG: u8 = b'1';

/// A row handle: an integer (int primary key or `_tidb_rowid`) or an encoded clustered key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handle<'a> {
    /// Integer handle.
    Int(i64),
    /// Clustered (common) handle: the memcomparable encoding of the primary-key values.
    Common(&'a [u8]),
}

/// Appends `t{table_id}`.
pub fn append_table_prefix(buf: &mut Vec<u8>, table_id: i64) {
    buf.push(TABLE_PREFIX);
    encode_int(buf, table_id);
}

/// Appends `t{table_id}_r`.
pub fn append_record_prefix(buf: &mut Vec<u8>, table_id: i64) {
    append_table_prefix(buf, table_id);
    buf.extend_from_slice(RECORD_SEP);
}

/// Appends `t{table_id}_i{index_id}`.
pub fn append_index_prefix(buf: &mut Vec<u8>, table_id: i64, index_id: i64) {
    append_table_prefix(buf, table_id);
    buf.extend_from_slice(INDEX_SEP);
    encode_int(buf, index_id);
}

/// Appends the record key of `handle`.
pub fn append_record_key(buf: &mut Vec<u8>, table_id: i64, handle: Handle<'_>) {
    append_record_prefix(buf, table_id);
    match handle {
        Handle::Int(h) => encode_int(buf, h),
        Handle::Common(enc) => buf.extend_from_slice(enc),
    }
}

/// Appends an index key; `values` are already collation keys / truncated prefixes.
/// The handle is appended for non-unique keys (`distinct == false`).
pub fn append_index_key(
    buf: &mut Vec<u8>,
    table_id: i64,
    index_id: i64,
    values: &[Datum],
    distinct: bool,
    handle: Handle<'_>,
) -> Result<(), CodecError> {
    append_index_prefix(buf, table_id, index_id);
    for v in values {
        encode_key_datum(buf, v)?;
    }
    if !distinct {
        match handle {
            Handle::Int(h) => encode_key_datum(buf, &Datum::Int(h))?,
            Handle::Common(enc) => buf.extend_from_slice(enc),
        }
    }
    Ok(())
}

/// Appends an index value as TiDB writes it today.
///
/// * `restored`: row-v2 bytes of restored column data, when the index needs it.
/// * `clustered_v1`: the table is clustered with `CommonHandleVersion = 1`.
/// * `partition_id`: for global indexes only.
pub fn append_index_value(
    buf: &mut Vec<u8>,
    distinct: bool,
    handle: Handle<'_>,
    restored: Option<&[u8]>,
    clustered_v1: bool,
    partition_id: Option<i64>,
) {
    let start = buf.len();
    if clustered_v1 {
        buf.push(0); // tail length
        buf.push(INDEX_VERSION_FLAG);
        buf.push(1);
        if let (true, Handle::Common(enc)) = (distinct, handle) {
            append_common_handle(buf, enc);
        }
        if let Some(pid) = partition_id {
            buf.push(PARTITION_ID_FLAG);
            encode_int(buf, pid);
        }
        if let Some(r) = restored {
            buf.extend_from_slice(r);
        }
        return;
    }
    buf.push(0);
    let mut new_encode = false;
    if let (true, Handle::Common(enc)) = (distinct, handle) {
        append_common_handle(buf, enc);
        new_encode = true;
    }
    if let Some(pid) = partition_id {
        buf.push(PARTITION_ID_FLAG);
        encode_int(buf, pid);
        new_encode = true;
    }
    if let Some(r) = restored {
        buf.extend_from_slice(r);
        new_encode = true;
    }
    if new_encode {
        let mut tail = 0usize;
        if let (true, Handle::Int(h)) = (distinct, handle) {
            buf.extend_from_slice(&h.to_be_bytes());
            tail = 8;
        } else if buf.len() - start < 10 {
            tail = 10 - (buf.len() - start);
            buf.resize(start + 10, 0);
        }
        buf[start] = tail as u8;
        return;
    }
    buf.truncate(start);
    match (distinct, handle) {
        (true, Handle::Int(h)) => buf.extend_from_slice(&h.to_be_bytes()),
        _ => buf.push(b'0'),
    }
}

fn append_common_handle(buf: &mut Vec<u8>, enc: &[u8]) {
    buf.push(COMMON_HANDLE_FLAG);
    buf.extend_from_slice(&(enc.len() as u16).to_be_bytes());
    buf.extend_from_slice(enc);
}

/// The smallest key above every key starting with `p` (empty: no upper bound).
pub fn prefix_end(p: &[u8]) -> Vec<u8> {
    let mut e = p.to_vec();
    while let Some(last) = e.pop() {
        if last < 0xff {
            e.push(last + 1);
            return e;
        }
    }
    Vec::new()
}

/// A table key taken apart.
#[derive(Clone, Debug, PartialEq)]
pub enum DecodedKey {
    /// A record key.
    Record {
        /// Table id.
        table_id: i64,
        /// Integer handle, or the decoded clustered-key values.
        handle: DecodedHandle,
    },
    /// An index key.
    Index {
        /// Table id.
        table_id: i64,
        /// Index id.
        index_id: i64,
        /// All datums after the index id (the handle, when present, is the tail).
        values: Vec<Datum>,
    },
    /// `t{table_id}` followed by something else.
    TableOther {
        /// Table id.
        table_id: i64,
        /// The bytes after the table id.
        rest: Vec<u8>,
    },
}

/// The handle part of a record key.
#[derive(Clone, Debug, PartialEq)]
pub enum DecodedHandle {
    /// Integer handle.
    Int(i64),
    /// Clustered handle datums.
    Common(Vec<Datum>),
}

/// Decodes a sequence of key datums until the input ends.
pub fn decode_key_datums(mut b: &[u8]) -> Result<Vec<Datum>, CodecError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (d, rest) = decode_key_datum(b)?;
        out.push(d);
        b = rest;
    }
    Ok(out)
}

/// Takes apart a record or index key.
pub fn decode_key(key: &[u8]) -> Result<DecodedKey, CodecError> {
    let rest = match key.split_first() {
        Some((&TABLE_PREFIX, r)) => r,
        _ => {
            return Err(CodecError::Invalid(
                "invalid encoded key: not a table key (no 't' prefix)",
            ))
        }
    };
    let (table_id, rest) = decode_int(rest)?;
    if rest.len() >= 2 && &rest[..2] == RECORD_SEP {
        let h = &rest[2..];
        if key.len() == RECORD_KEY_LEN {
            let (v, _) = decode_int(h)?;
            return Ok(DecodedKey::Record {
                table_id,
                handle: DecodedHandle::Int(v),
            });
        }
        if h.is_empty() {
            return Err(CodecError::Invalid(
                "invalid encoded key: record key without handle",
            ));
        }
        let values = decode_key_datums(h)?;
        return Ok(DecodedKey::Record {
            table_id,
            handle: DecodedHandle::Common(values),
        });
    }
    if rest.len() >= 2 && &rest[..2] == INDEX_SEP {
        let (index_id, vals) = decode_int(&rest[2..])?;
        let values = decode_key_datums(vals)?;
        return Ok(DecodedKey::Index {
            table_id,
            index_id,
            values,
        });
    }
    Ok(DecodedKey::TableOther {
        table_id,
        rest: rest.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_carries_past_ff_bytes() {
        assert_eq!(prefix_end(b"t\x01"), b"t\x02");
        assert_eq!(prefix_end(b"t\xff"), b"u");
        assert_eq!(prefix_end(b"t\x01\xff"), b"t\x02");
        assert_eq!(prefix_end(b"a"), b"b");
        assert_eq!(prefix_end(b"\xff\xff"), b"");
    }
}
