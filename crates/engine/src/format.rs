//! Byte layout of a sorted run file (`{id}.run`) and of a conflict file (`{id}.dup`,
//! same layout).
//!
//! ```text
//! header   8 bytes  magic "LTNGRUN1"
//! block*            u32 payload length | u32 CRC-32 of payload | payload
//!                   payload = entries: varint key len, varint value len, varint seq, key, value
//! index             per block: u64 offset | u32 payload len | u32 pairs | u64 key+value bytes
//!                              | u32 last key len | last key
//! footer  48 bytes  u64 index offset | u64 index len | u64 pairs | u64 key+value bytes
//!                   | u32 CRC-32 of index | u32 block count | u64 magic
//! ```
//! Integers are little-endian; varints are LEB128. A file shorter than its footer says,
//! or with any checksum mismatch, is reported as corrupt, never read as data.

/// Magic at the start of a run file.
pub(crate) const HEADER_MAGIC: &[u8; 8] = b"LTNGRUN1";
/// Magic closing the footer.
pub(crate) const FOOTER_MAGIC: u64 = 0x4c54_4e47_454e_4401;
/// Size of the fixed footer.
pub(crate) const FOOTER_LEN: usize = 48;
/// Size of a block frame header (length + checksum).
pub(crate) const BLOCK_HEADER_LEN: usize = 8;

/// Appends `v` as a LEB128 varint.
#[inline]
pub(crate) fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Reads a LEB128 varint at `*pos`, advancing it; `None` when truncated or too long.
#[inline]
pub(crate) fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// Appends one entry to a block payload.
#[inline]
pub(crate) fn put_entry(buf: &mut Vec<u8>, key: &[u8], value: &[u8], seq: u64) {
    put_varint(buf, key.len() as u64);
    put_varint(buf, value.len() as u64);
    put_varint(buf, seq);
    buf.extend_from_slice(key);
    buf.extend_from_slice(value);
}

/// Position of one decoded entry inside a block payload.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EntryPos {
    pub key_start: usize,
    pub key_end: usize,
    pub value_end: usize,
    pub seq: u64,
}

/// Decodes the entry at `*pos`, advancing past it; `None` when the payload is malformed.
#[inline]
pub(crate) fn get_entry(buf: &[u8], pos: &mut usize) -> Option<EntryPos> {
    let klen = usize::try_from(get_varint(buf, pos)?).ok()?;
    let vlen = usize::try_from(get_varint(buf, pos)?).ok()?;
    let seq = get_varint(buf, pos)?;
    let key_start = *pos;
    let key_end = key_start.checked_add(klen)?;
    let value_end = key_end.checked_add(vlen)?;
    if value_end > buf.len() {
        return None;
    }
    *pos = value_end;
    Some(EntryPos {
        key_start,
        key_end,
        value_end,
        seq,
    })
}

/// One block's entry in the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BlockHandle {
    /// File offset of the block frame.
    pub offset: u64,
    /// Payload length (the frame is `BLOCK_HEADER_LEN` longer).
    pub len: u32,
    /// Pairs in the block.
    pub kvs: u32,
    /// Key + value bytes in the block.
    pub bytes: u64,
    /// The block's largest key.
    pub last_key: Vec<u8>,
}

impl BlockHandle {
    pub fn encode(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.offset.to_le_bytes());
        buf.extend_from_slice(&self.len.to_le_bytes());
        buf.extend_from_slice(&self.kvs.to_le_bytes());
        buf.extend_from_slice(&self.bytes.to_le_bytes());
        buf.extend_from_slice(&(self.last_key.len() as u32).to_le_bytes());
        buf.extend_from_slice(&self.last_key);
    }

    /// Decodes one handle at `*pos`; `None` when truncated.
    pub fn decode(buf: &[u8], pos: &mut usize) -> Option<BlockHandle> {
        let offset = u64::from_le_bytes(take(buf, pos)?);
        let len = u32::from_le_bytes(take(buf, pos)?);
        let kvs = u32::from_le_bytes(take(buf, pos)?);
        let bytes = u64::from_le_bytes(take(buf, pos)?);
        let klen = u32::from_le_bytes(take(buf, pos)?) as usize;
        let end = pos.checked_add(klen)?;
        let last_key = buf.get(*pos..end)?.to_vec();
        *pos = end;
        Some(BlockHandle {
            offset,
            len,
            kvs,
            bytes,
            last_key,
        })
    }
}

/// The fixed-size trailer of a run file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Footer {
    pub index_offset: u64,
    pub index_len: u64,
    pub kvs: u64,
    pub kv_bytes: u64,
    pub index_crc: u32,
    pub blocks: u32,
}

impl Footer {
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut b = [0u8; FOOTER_LEN];
        b[0..8].copy_from_slice(&self.index_offset.to_le_bytes());
        b[8..16].copy_from_slice(&self.index_len.to_le_bytes());
        b[16..24].copy_from_slice(&self.kvs.to_le_bytes());
        b[24..32].copy_from_slice(&self.kv_bytes.to_le_bytes());
        b[32..36].copy_from_slice(&self.index_crc.to_le_bytes());
        b[36..40].copy_from_slice(&self.blocks.to_le_bytes());
        b[40..48].copy_from_slice(&FOOTER_MAGIC.to_le_bytes());
        b
    }

    /// Decodes a footer; `None` when the magic is wrong.
    pub fn decode(b: &[u8; FOOTER_LEN]) -> Option<Footer> {
        let mut pos = 0;
        let index_offset = u64::from_le_bytes(take(b, &mut pos)?);
        let index_len = u64::from_le_bytes(take(b, &mut pos)?);
        let kvs = u64::from_le_bytes(take(b, &mut pos)?);
        let kv_bytes = u64::from_le_bytes(take(b, &mut pos)?);
        let index_crc = u32::from_le_bytes(take(b, &mut pos)?);
        let blocks = u32::from_le_bytes(take(b, &mut pos)?);
        let magic = u64::from_le_bytes(take(b, &mut pos)?);
        (magic == FOOTER_MAGIC).then_some(Footer {
            index_offset,
            index_len,
            kvs,
            kv_bytes,
            index_crc,
            blocks,
        })
    }
}

/// Takes `N` bytes at `*pos` as an array.
#[inline]
fn take<const N: usize>(buf: &[u8], pos: &mut usize) -> Option<[u8; N]> {
    let end = pos.checked_add(N)?;
    let a = buf.get(*pos..end)?.try_into().ok()?;
    *pos = end;
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_edges() {
        for v in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX - 1, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            let mut pos = 0;
            assert_eq!(get_varint(&b, &mut pos), Some(v));
            assert_eq!(pos, b.len());
            // Any truncation is detected.
            let mut pos = 0;
            assert_eq!(get_varint(&b[..b.len() - 1], &mut pos), None);
        }
    }

    #[test]
    fn entry_decoding_rejects_truncated_payload() {
        let mut b = Vec::new();
        put_entry(&mut b, b"key", b"value", 7);
        let mut pos = 0;
        let e = get_entry(&b, &mut pos).unwrap();
        assert_eq!(&b[e.key_start..e.key_end], b"key");
        assert_eq!(&b[e.key_end..e.value_end], b"value");
        assert_eq!(e.seq, 7);
        for cut in 0..b.len() {
            let mut pos = 0;
            assert!(get_entry(&b[..cut], &mut pos).is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn footer_and_handle_round_trip() {
        let f = Footer {
            index_offset: 1 << 40,
            index_len: 99,
            kvs: 3,
            kv_bytes: 12345,
            index_crc: 0xdead_beef,
            blocks: 2,
        };
        assert_eq!(Footer::decode(&f.encode()), Some(f));
        let mut bad = f.encode();
        bad[47] ^= 1;
        assert_eq!(Footer::decode(&bad), None);
        let h = BlockHandle {
            offset: 8,
            len: 100,
            kvs: 4,
            bytes: 96,
            last_key: b"t\x80zz".to_vec(),
        };
        let mut b = Vec::new();
        h.encode(&mut b);
        let mut pos = 0;
        assert_eq!(BlockHandle::decode(&b, &mut pos), Some(h));
        let mut pos = 0;
        assert_eq!(BlockHandle::decode(&b[..b.len() - 1], &mut pos), None);
    }
}
