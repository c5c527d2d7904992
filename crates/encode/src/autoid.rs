//! Row ids and AUTO_RANDOM handles.
//!
//! An AUTO_RANDOM handle is `shard << (range_bits - 1 - shard_bits) | increment`
//! (sign bit kept clear); the shard is the low bits of MurmurHash3-32 of the
//! memcomparable encoding of a per-session seed, as TiDB derives it.

use crate::codec::number::encode_int;

/// MurmurHash3 x86 32-bit with seed 0.
pub fn murmur3_32(data: &[u8]) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h: u32 = 0;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    let mut k: u32 = 0;
    for (i, &b) in tail.iter().enumerate() {
        k |= u32::from(b) << (8 * i);
    }
    if !tail.is_empty() {
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// The shard value TiDB derives from a seed (e.g. a transaction start ts).
pub fn shard_from_seed(seed: i64) -> u64 {
    let mut b = Vec::with_capacity(8);
    encode_int(&mut b, seed);
    u64::from(murmur3_32(&b))
}

/// Layout of an AUTO_RANDOM column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardFormat {
    /// Shard bits.
    pub shard_bits: u8,
    /// Total range bits (64 by default, sign bit included).
    pub range_bits: u8,
}

impl ShardFormat {
    /// Bits left for the increment.
    pub fn inc_bits(&self) -> u8 {
        self.range_bits.saturating_sub(1 + self.shard_bits)
    }

    /// Mask of the increment part.
    pub fn inc_mask(&self) -> u64 {
        (1u64 << self.inc_bits()) - 1
    }

    /// Combines a shard and an increment into a handle.
    pub fn compose(&self, shard: u64, inc: i64) -> i64 {
        let shard = shard & ((1u64 << self.shard_bits) - 1);
        ((shard << self.inc_bits()) | (inc as u64 & self.inc_mask())) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_known_values() {
        assert_eq!(murmur3_32(b""), 0);
        assert_eq!(murmur3_32(b"hello"), 0x248b_fa47);
    }
}
