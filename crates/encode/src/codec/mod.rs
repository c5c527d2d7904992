//! The datum codec: memcomparable key encoding and compact value encoding.
//!
//! `number` and `bytes` are the primitive layouts; [`Datum`] ties them together
//! with TiDB's one-byte type flags (see [`flag`]).

pub mod bytes;
pub mod datum;
pub mod number;

pub use datum::{decode_key_datum, decode_value_datum, encode_key, encode_value, Datum};

/// TiDB's datum flag bytes.
pub mod flag {
    /// SQL NULL.
    pub const NIL: u8 = 0x00;
    /// Memcomparable bytes.
    pub const BYTES: u8 = 0x01;
    /// Compact bytes (values only).
    pub const COMPACT_BYTES: u8 = 0x02;
    /// Memcomparable int64.
    pub const INT: u8 = 0x03;
    /// Memcomparable uint64 (also packed times, enum, set, bit in keys).
    pub const UINT: u8 = 0x04;
    /// Memcomparable float64.
    pub const FLOAT: u8 = 0x05;
    /// Decimal: precision, frac, binary.
    pub const DECIMAL: u8 = 0x06;
    /// Duration as memcomparable int64 nanoseconds.
    pub const DURATION: u8 = 0x07;
    /// Zigzag varint (values only).
    pub const VARINT: u8 = 0x08;
    /// Uvarint (values only).
    pub const UVARINT: u8 = 0x09;
    /// Binary JSON (values only).
    pub const JSON: u8 = 0x0a;
    /// Greater than every other datum (range bounds).
    pub const MAX: u8 = 0xfa;
}
