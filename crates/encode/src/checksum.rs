//! The order-free KV checksum compared with `ADMIN CHECKSUM TABLE`.
//!
//! Each pair contributes CRC-64/XZ (Go's `crc64.ECMA` table) of `key || value`;
//! contributions are XORed, so the sum is independent of order and two partial
//! sums merge by XOR, adding their pair counts and byte totals.

/// A mergeable checksum over key-value pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvChecksum {
    /// XOR of the per-pair CRC-64s.
    pub crc: u64,
    /// Number of pairs.
    pub kvs: u64,
    /// Total bytes of keys and values.
    pub bytes: u64,
}

/// CRC-64/XZ of `key || value`, one pair's contribution.
#[inline]
pub fn pair_crc(key: &[u8], value: &[u8]) -> u64 {
    let mut d = crc64fast::Digest::new();
    d.write(key);
    d.write(value);
    d.sum64()
}

impl KvChecksum {
    /// An empty checksum.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one pair.
    #[inline]
    pub fn update(&mut self, key: &[u8], value: &[u8]) {
        self.crc ^= pair_crc(key, value);
        self.kvs += 1;
        self.bytes += (key.len() + value.len()) as u64;
    }

    /// Adds every pair of another checksum (the result is the checksum of the union).
    pub fn merge(&mut self, other: &KvChecksum) {
        self.crc ^= other.crc;
        self.kvs += other.kvs;
        self.bytes += other.bytes;
    }

    /// Takes out the pairs of `other`, a checksum of pairs this one counted.
    pub fn remove(&mut self, other: &KvChecksum) {
        self.crc ^= other.crc;
        self.kvs = self.kvs.wrapping_sub(other.kvs);
        self.bytes = self.bytes.wrapping_sub(other.bytes);
    }
}
