//! Fixed-width memcomparable integers and floats, and LEB128 varints.
//!
//! Signed integers flip the sign bit so that two's-complement order becomes
//! unsigned byte order; floats flip the sign bit (non-negative) or every bit
//! (negative). Descending variants are the bitwise NOT of the ascending bytes.

use crate::error::CodecError;

const SIGN_MASK: u64 = 1 << 63;

/// Appends the 8-byte memcomparable form of a signed integer.
#[inline]
pub fn encode_int(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(&((v as u64) ^ SIGN_MASK).to_be_bytes());
}

/// Appends the descending memcomparable form of a signed integer.
#[inline]
pub fn encode_int_desc(buf: &mut Vec<u8>, v: i64) {
    buf.extend_from_slice(&(!((v as u64) ^ SIGN_MASK)).to_be_bytes());
}

/// Appends the 8-byte memcomparable form of an unsigned integer.
#[inline]
pub fn encode_uint(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_be_bytes());
}

/// Appends the descending memcomparable form of an unsigned integer.
#[inline]
pub fn encode_uint_desc(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&(!v).to_be_bytes());
}

/// Maps a float to the u64 whose unsigned order equals the float's order.
#[inline]
pub fn float_to_ordered(f: f64) -> u64 {
    let bits = f.to_bits();
    if f >= 0.0 {
        bits | SIGN_MASK
    } else {
        !bits
    }
}

/// Inverse of [`float_to_ordered`].
#[inline]
pub fn ordered_to_float(u: u64) -> f64 {
    if u & SIGN_MASK != 0 {
        f64::from_bits(u & !SIGN_MASK)
    } else {
        f64::from_bits(!u)
    }
}

/// Appends the 8-byte memcomparable form of a float.
#[inline]
pub fn encode_float(buf: &mut Vec<u8>, f: f64) {
    encode_uint(buf, float_to_ordered(f));
}

/// Appends the descending memcomparable form of a float.
#[inline]
pub fn encode_float_desc(buf: &mut Vec<u8>, f: f64) {
    encode_uint_desc(buf, float_to_ordered(f));
}

fn take8(b: &[u8]) -> Result<([u8; 8], &[u8]), CodecError> {
    if b.len() < 8 {
        return Err(CodecError::Truncated {
            what: "8-byte number",
            need: 8,
            have: b.len(),
        });
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    Ok((a, &b[8..]))
}

/// Decodes a memcomparable signed integer, returning it and the rest.
pub fn decode_int(b: &[u8]) -> Result<(i64, &[u8]), CodecError> {
    let (a, rest) = take8(b)?;
    Ok(((u64::from_be_bytes(a) ^ SIGN_MASK) as i64, rest))
}

/// Decodes a descending memcomparable signed integer.
pub fn decode_int_desc(b: &[u8]) -> Result<(i64, &[u8]), CodecError> {
    let (a, rest) = take8(b)?;
    Ok(((!u64::from_be_bytes(a) ^ SIGN_MASK) as i64, rest))
}

/// Decodes a memcomparable unsigned integer.
pub fn decode_uint(b: &[u8]) -> Result<(u64, &[u8]), CodecError> {
    let (a, rest) = take8(b)?;
    Ok((u64::from_be_bytes(a), rest))
}

/// Decodes a descending memcomparable unsigned integer.
pub fn decode_uint_desc(b: &[u8]) -> Result<(u64, &[u8]), CodecError> {
    let (a, rest) = take8(b)?;
    Ok((!u64::from_be_bytes(a), rest))
}

/// Decodes a memcomparable float.
pub fn decode_float(b: &[u8]) -> Result<(f64, &[u8]), CodecError> {
    let (u, rest) = decode_uint(b)?;
    Ok((ordered_to_float(u), rest))
}

/// Decodes a descending memcomparable float.
pub fn decode_float_desc(b: &[u8]) -> Result<(f64, &[u8]), CodecError> {
    let (u, rest) = decode_uint_desc(b)?;
    Ok((ordered_to_float(u), rest))
}

/// Appends an unsigned LEB128 varint (Go `binary.PutUvarint`).
#[inline]
pub fn encode_uvarint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends a zigzag LEB128 varint (Go `binary.PutVarint`).
#[inline]
pub fn encode_varint(buf: &mut Vec<u8>, v: i64) {
    encode_uvarint(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Decodes an unsigned LEB128 varint.
pub fn decode_uvarint(b: &[u8]) -> Result<(u64, &[u8]), CodecError> {
    let mut v: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return Err(CodecError::Invalid("varint overflows 64 bits"));
        }
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok((v, &b[i + 1..]));
        }
    }
    if b.len() >= 10 {
        Err(CodecError::Invalid("varint overflows 64 bits"))
    } else {
        Err(CodecError::Truncated {
            what: "varint",
            need: b.len() + 1,
            have: b.len(),
        })
    }
}

/// Decodes a zigzag LEB128 varint.
pub fn decode_varint(b: &[u8]) -> Result<(i64, &[u8]), CodecError> {
    let (u, rest) = decode_uvarint(b)?;
    Ok((((u >> 1) as i64) ^ -((u & 1) as i64), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_roundtrip_edges() {
        for v in [0i64, 1, -1, 63, -64, 64, i64::MIN, i64::MAX] {
            let mut b = Vec::new();
            encode_varint(&mut b, v);
            assert_eq!(decode_varint(&b).unwrap(), (v, &[][..]));
        }
        assert!(decode_uvarint(&[0xff; 11]).is_err());
        assert!(decode_uvarint(&[0x80]).is_err());
    }
}
