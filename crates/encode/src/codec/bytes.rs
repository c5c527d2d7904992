//! Memcomparable byte strings (groups of 8 plus a marker byte) and compact bytes.
//!
//! Each group of 8 input bytes is followed by a marker `0xFF - pad`, where `pad`
//! is the number of zero bytes added to fill the last group; input whose length is
//! a multiple of 8 ends with an all-zero group marked `0xF7`. Descending form is
//! the bitwise NOT of every byte.

use super::number::{decode_varint, encode_varint};
use crate::error::CodecError;

const GROUP: usize = 8;
const MARKER: u8 = 0xff;
const PAD: u8 = 0;

/// Appends the memcomparable form of `data`.
pub fn encode_bytes(buf: &mut Vec<u8>, data: &[u8]) {
    buf.reserve((data.len() / GROUP + 1) * (GROUP + 1));
    let mut chunks = data.chunks_exact(GROUP);
    for c in &mut chunks {
        buf.extend_from_slice(c);
        buf.push(MARKER);
    }
    let rem = chunks.remainder();
    let pad = GROUP - rem.len();
    buf.extend_from_slice(rem);
    buf.extend(std::iter::repeat_n(PAD, pad));
    buf.push(MARKER - pad as u8);
}

/// Appends the descending memcomparable form of `data`.
pub fn encode_bytes_desc(buf: &mut Vec<u8>, data: &[u8]) {
    let start = buf.len();
    encode_bytes(buf, data);
    for b in &mut buf[start..] {
        *b = !*b;
    }
}

/// Appends `data` either raw or memcomparable (TiDB's `EncodeBytesExt`).
pub fn encode_bytes_ext(buf: &mut Vec<u8>, data: &[u8], raw: bool) {
    if raw {
        buf.extend_from_slice(data);
    } else {
        encode_bytes(buf, data);
    }
}

fn decode_groups(b: &[u8], desc: bool, out: &mut Vec<u8>) -> Result<usize, CodecError> {
    let mut pos = 0;
    loop {
        if b.len() < pos + GROUP + 1 {
            return Err(CodecError::Truncated {
                what: "memcomparable bytes group",
                need: pos + GROUP + 1,
                have: b.len(),
            });
        }
        let group = &b[pos..pos + GROUP];
        let mut marker = b[pos + GROUP];
        if desc {
            marker = !marker;
        }
        pos += GROUP + 1;
        let pad = MARKER.wrapping_sub(marker) as usize;
        if pad == 0 {
            out.extend(group.iter().map(|&x| if desc { !x } else { x }));
            continue;
        }
        if pad > GROUP {
            return Err(CodecError::Invalid("bad memcomparable bytes marker"));
        }
        let keep = GROUP - pad;
        let pad_byte = if desc { !PAD } else { PAD };
        if group[keep..].iter().any(|&x| x != pad_byte) {
            return Err(CodecError::Invalid("non-zero memcomparable bytes padding"));
        }
        out.extend(group[..keep].iter().map(|&x| if desc { !x } else { x }));
        return Ok(pos);
    }
}

/// Decodes memcomparable bytes into `out`, returning the rest of the input.
pub fn decode_bytes_into<'a>(b: &'a [u8], out: &mut Vec<u8>) -> Result<&'a [u8], CodecError> {
    let n = decode_groups(b, false, out)?;
    Ok(&b[n..])
}

/// Decodes memcomparable bytes.
pub fn decode_bytes(b: &[u8]) -> Result<(Vec<u8>, &[u8]), CodecError> {
    let mut out = Vec::new();
    let n = decode_groups(b, false, &mut out)?;
    Ok((out, &b[n..]))
}

/// Decodes descending memcomparable bytes.
pub fn decode_bytes_desc(b: &[u8]) -> Result<(Vec<u8>, &[u8]), CodecError> {
    let mut out = Vec::new();
    let n = decode_groups(b, true, &mut out)?;
    Ok((out, &b[n..]))
}

/// Appends compact bytes: zigzag varint length, then the bytes.
pub fn encode_compact_bytes(buf: &mut Vec<u8>, data: &[u8]) {
    encode_varint(buf, data.len() as i64);
    buf.extend_from_slice(data);
}

/// Decodes compact bytes, returning the slice and the rest.
pub fn decode_compact_bytes(b: &[u8]) -> Result<(&[u8], &[u8]), CodecError> {
    let (n, rest) = decode_varint(b)?;
    if n < 0 || n as u64 > rest.len() as u64 {
        return Err(CodecError::Invalid("compact bytes length out of range"));
    }
    let n = n as usize;
    Ok((&rest[..n], &rest[n..]))
}
