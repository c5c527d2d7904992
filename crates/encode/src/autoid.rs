//! Row ids and AUTO_RANDOM handles, derived the way Lightning derives them.
//!
//! Lightning (`pkg/lightning/backend/kv/base.go`, `NewBaseKVEncoder`) builds an
//! "auto id function" from the session's `AutoRandomSeed`:
//! - AUTO_RANDOM column: one shard for the whole encoder, the first `Int63` of
//!   Go's `rand.New(rand.NewSource(seed))`, placed by the column's shard format
//!   (`pkg/meta/autoid` `ShardIDFormat.Compose`) above the row id;
//! - otherwise, `SHARD_ROW_ID_BITS = n > 0`: for each `_tidb_rowid` the source is
//!   re-seeded with the row id itself and the low `n` bits of its first `Uint32`
//!   go to bits `62-n+1 ..= 62` (sign bit kept clear).

use crate::gorand::{first_uint32, GoRand};

/// Layout of an AUTO_RANDOM column: `[sign bit] [shard bits] [increment bits]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardFormat {
    /// Shard bits.
    pub shard_bits: u8,
    /// Bits below the shard (the increment).
    pub inc_bits: u8,
}

impl ShardFormat {
    /// The format of an AUTO_RANDOM(`shard_bits`, `range_bits`) column; an unsigned
    /// column has no sign bit, so its increment gets one more bit.
    pub fn new(shard_bits: u8, range_bits: u8, unsigned: bool) -> ShardFormat {
        let range = if range_bits == 0 { 64 } else { range_bits };
        let inc = range
            .saturating_sub(shard_bits)
            .saturating_sub(u8::from(!unsigned));
        ShardFormat {
            shard_bits,
            inc_bits: inc.min(63),
        }
    }

    /// Mask of the increment part.
    pub fn inc_mask(&self) -> u64 {
        (1u64 << self.inc_bits) - 1
    }

    /// Combines a shard and an increment into a handle.
    pub fn compose(&self, shard: u64, inc: i64) -> i64 {
        let shard = shard & ((1u64 << self.shard_bits.min(63)) - 1);
        ((shard << self.inc_bits) | (inc as u64 & self.inc_mask())) as i64
    }
}

/// The AUTO_RANDOM shard Lightning uses for a whole encoder with this seed.
pub fn auto_random_shard(seed: i64) -> u64 {
    GoRand::new(seed).int63() as u64
}

/// The `_tidb_rowid` handle Lightning writes for position-derived `row_id` of a
/// table with `SHARD_ROW_ID_BITS = bits` (identity when `bits` is 0).
pub fn shard_row_id(row_id: i64, bits: u8) -> i64 {
    if bits == 0 {
        return row_id;
    }
    let bits = bits.min(15);
    let mask = (1i64 << bits) - 1;
    let shift = 64 - u32::from(bits) - 1;
    ((i64::from(first_uint32(row_id)) & mask) << shift) | row_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lightning_auto_random_seed_456() {
        // sql2kv_test TestDefaultAutoRandoms: bigint unsigned AUTO_RANDOM(5), seed 456,
        // row 70 -> handle 0x7000000000000046.
        let f = ShardFormat::new(5, 64, true);
        assert_eq!(f.inc_bits, 59);
        assert_eq!(f.compose(auto_random_shard(456), 70), 0x7000_0000_0000_0046);
    }

    #[test]
    fn signed_format_keeps_sign_bit() {
        let f = ShardFormat::new(5, 64, false);
        assert_eq!(f.inc_bits, 58);
        assert!(f.compose(u64::MAX, i64::MAX) > 0);
        assert_eq!(ShardFormat::new(3, 32, false).inc_bits, 28);
    }

    #[test]
    fn shard_row_id_keeps_low_bits_and_sign() {
        assert_eq!(shard_row_id(7, 0), 7);
        for id in [1i64, 2, 1000, 1 << 40] {
            let h = shard_row_id(id, 4);
            assert!(h > 0);
            assert_eq!(h & ((1 << 59) - 1), id);
            assert_eq!(h >> 59, i64::from(GoRand::new(id).uint32() & 15));
        }
    }
}
