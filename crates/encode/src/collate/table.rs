//! Reader of the generated two-level weight tables in `data/*.bin`.
//!
//! Layout (see `tools/gen_collation_tables.py`): a header of four little-endian
//! u32 (`n_cp`, `n_pages`, `n_blocks`, `pool_len`), a u16 block number per page of
//! 256 code points, the deduplicated blocks of 256 u32 entries, then a u16 pool of
//! weights for entries with more than one weight.

/// A weight table embedded in the binary.
pub(crate) struct WeightTable {
    n_cp: u32,
    pages: &'static [u8],
    blocks: &'static [u8],
    pool: &'static [u8],
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    match b.get(i..i + 4) {
        Some(s) => u32::from_le_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    match b.get(i..i + 2) {
        Some(s) => u16::from_le_bytes([s[0], s[1]]),
        None => 0,
    }
}

/// Entry tag: `len` weights from the pool (`0x80000000 | len << 24 | offset`).
pub(crate) const TAG_POOL: u32 = 0x8000_0000;
/// Entry tag: UCA implicit weights with the base in the low 16 bits.
pub(crate) const TAG_IMPLICIT: u32 = 0xFF00_0000;
/// Entry tag: Tangut implicit weights.
pub(crate) const TAG_TANGUT: u32 = 0xFE00_0000;

impl WeightTable {
    /// Splits an embedded table into its sections.
    pub(crate) fn parse(data: &'static [u8]) -> WeightTable {
        let n_cp = u32_at(data, 0);
        let n_pages = u32_at(data, 4) as usize;
        let n_blocks = u32_at(data, 8) as usize;
        let pages_end = 16 + n_pages * 2 + (n_pages % 2) * 2;
        let blocks_end = pages_end + n_blocks * 256 * 4;
        let sect = |a: usize, b: usize| data.get(a..b.min(data.len())).unwrap_or(&[]);
        WeightTable {
            n_cp,
            pages: sect(16, 16 + n_pages * 2),
            blocks: sect(pages_end, blocks_end),
            pool: sect(blocks_end, data.len()),
        }
    }

    /// Number of code points the table covers.
    pub(crate) fn len(&self) -> u32 {
        self.n_cp
    }

    /// Raw entry of code point `cp` (0 beyond the table).
    #[inline]
    pub(crate) fn entry(&self, cp: u32) -> u32 {
        if cp >= self.n_cp {
            return 0;
        }
        let block = u16_at(self.pages, (cp >> 8) as usize * 2) as usize;
        u32_at(self.blocks, (block * 256 + (cp & 0xFF) as usize) * 4)
    }

    /// Weight `i` of a pool entry's run.
    #[inline]
    pub(crate) fn pool(&self, i: usize) -> u16 {
        u16_at(self.pool, i * 2)
    }
}
