//! A writer's in-memory buffer: pairs appended in any order, sorted before a spill.
//!
//! Bytes live in fixed-size chunks (never reallocated, so growing costs no copy) and
//! each pair has a 40-byte slot. A slot carries 16 bytes of its key taken right after
//! the prefix every key in the buffer shares (TiDB keys share `t{table}_r` / `_i`),
//! so nearly all comparisons during the sort stay inside the slot array.

/// Bytes per slot, counted in the buffer's memory.
pub(crate) const SLOT_BYTES: usize = std::mem::size_of::<Slot>();

#[derive(Clone, Copy, Debug)]
struct Slot {
    p0: u64,
    p1: u64,
    seq: u64,
    chunk: u32,
    off: u32,
    klen: u32,
    vlen: u32,
}

/// Unsorted pairs of one writer, with exact memory accounting.
pub(crate) struct SortBuffer {
    chunks: Vec<Vec<u8>>,
    chunk_size: usize,
    slots: Vec<Slot>,
    chunk_bytes: usize,
    data_bytes: usize,
}

impl SortBuffer {
    /// An empty buffer allocating `chunk_size`-byte chunks.
    pub fn new(chunk_size: usize) -> SortBuffer {
        SortBuffer {
            chunks: Vec::new(),
            chunk_size,
            slots: Vec::new(),
            chunk_bytes: 0,
            data_bytes: 0,
        }
    }

    /// Pairs held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no pair is held.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Key + value bytes held.
    pub fn data_bytes(&self) -> usize {
        self.data_bytes
    }

    /// Memory allocated: chunks plus slot capacity.
    pub fn mem(&self) -> usize {
        self.chunk_bytes + self.slots.capacity() * SLOT_BYTES
    }

    /// Memory that pushing a pair of `len` key+value bytes would add to [`Self::mem`].
    pub fn extra_for(&self, len: usize) -> usize {
        let mut extra = 0;
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= len);
        if !fits {
            extra += len.max(self.chunk_size);
        }
        if self.slots.len() == self.slots.capacity() {
            extra += self.next_slot_cap() * SLOT_BYTES - self.slots.capacity() * SLOT_BYTES;
        }
        extra
    }

    fn next_slot_cap(&self) -> usize {
        (self.slots.capacity() * 2).max(64)
    }

    /// Appends a pair; allocates exactly what [`Self::extra_for`] announced.
    pub fn push(&mut self, key: &[u8], value: &[u8], seq: u64) {
        let len = key.len() + value.len();
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= len);
        if !fits {
            let cap = len.max(self.chunk_size);
            self.chunks.push(Vec::with_capacity(cap));
            self.chunk_bytes += cap;
        }
        if self.slots.len() == self.slots.capacity() {
            let want = self.next_slot_cap();
            self.slots.reserve_exact(want - self.slots.len());
        }
        let chunk_idx = self.chunks.len() - 1;
        let chunk = &mut self.chunks[chunk_idx];
        let off = chunk.len();
        chunk.extend_from_slice(key);
        chunk.extend_from_slice(value);
        self.slots.push(Slot {
            p0: 0,
            p1: 0,
            seq,
            chunk: chunk_idx as u32,
            off: off as u32,
            klen: key.len() as u32,
            vlen: value.len() as u32,
        });
        self.data_bytes += len;
    }

    #[inline]
    fn key_of<'a>(chunks: &'a [Vec<u8>], s: &Slot) -> &'a [u8] {
        let off = s.off as usize;
        &chunks[s.chunk as usize][off..off + s.klen as usize]
    }

    /// Sorts by (key, seq, insertion order): among equal keys the last one wins.
    pub fn sort(&mut self) {
        let Some(first) = self.slots.first() else {
            return;
        };
        let chunks = &self.chunks;
        let first_key = Self::key_of(chunks, first);
        let mut common = first_key.len();
        for s in &self.slots[1..] {
            let k = Self::key_of(chunks, s);
            let n = common.min(k.len());
            common = first_key[..n]
                .iter()
                .zip(&k[..n])
                .position(|(a, b)| a != b)
                .unwrap_or(n);
            if common == 0 {
                break;
            }
        }
        for s in &mut self.slots {
            let k = Self::key_of(chunks, s);
            let rest = &k[common.min(k.len())..];
            let mut w = [0u8; 16];
            let n = rest.len().min(16);
            w[..n].copy_from_slice(&rest[..n]);
            s.p0 = u64::from_be_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            s.p1 = u64::from_be_bytes([w[8], w[9], w[10], w[11], w[12], w[13], w[14], w[15]]);
        }
        self.slots.sort_unstable_by(|a, b| {
            a.p0.cmp(&b.p0)
                .then(a.p1.cmp(&b.p1))
                .then_with(|| Self::key_of(chunks, a).cmp(Self::key_of(chunks, b)))
                .then(a.seq.cmp(&b.seq))
                .then((a.chunk, a.off).cmp(&(b.chunk, b.off)))
        });
    }

    /// The pair at sorted position `i` (after [`Self::sort`]): `(key, value, seq)`.
    #[inline]
    pub fn get(&self, i: usize) -> (&[u8], &[u8], u64) {
        let s = &self.slots[i];
        let off = s.off as usize;
        let chunk = &self.chunks[s.chunk as usize];
        let kend = off + s.klen as usize;
        (
            &chunk[off..kend],
            &chunk[kend..kend + s.vlen as usize],
            s.seq,
        )
    }

    /// True when sorted positions `i` and `j` hold the same key.
    #[inline]
    pub fn same_key(&self, i: usize, j: usize) -> bool {
        let (a, b) = (&self.slots[i], &self.slots[j]);
        a.p0 == b.p0
            && a.p1 == b.p1
            && Self::key_of(&self.chunks, a) == Self::key_of(&self.chunks, b)
    }

    /// Drops every pair and frees all memory.
    pub fn clear_free(&mut self) {
        self.chunks = Vec::new();
        self.slots = Vec::new();
        self.chunk_bytes = 0;
        self.data_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_a_plain_sort_including_prefix_edge_cases() {
        let keys: Vec<&[u8]> = vec![
            b"t\x80\x00\x01_r\x00\x00\x00\x00\x00\x00\x00\x02",
            b"t\x80\x00\x01_r",
            b"t\x80\x00\x01_r\x00",
            b"t\x80\x00\x01_r\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01",
            b"t\x80\x00\x01_r\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
            b"t\x80\x00\x01_r\xff",
            b"t\x80\x00\x01_r\x00\x00\x00\x00\x00\x00\x00\x01",
        ];
        let mut b = SortBuffer::new(64);
        for (i, k) in keys.iter().enumerate() {
            b.push(k, &[i as u8], 0);
        }
        b.sort();
        let mut want = keys.clone();
        want.sort();
        let got: Vec<&[u8]> = (0..b.len()).map(|i| b.get(i).0).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn equal_keys_order_by_seq_then_insertion() {
        let mut b = SortBuffer::new(1 << 10);
        b.push(b"k", b"late", 9);
        b.push(b"k", b"first", 1);
        b.push(b"k", b"second", 1);
        b.push(b"a", b"x", 100);
        b.sort();
        let vals: Vec<&[u8]> = (0..4).map(|i| b.get(i).1).collect();
        assert_eq!(vals, [&b"x"[..], b"first", b"second", b"late"]);
        assert!(b.same_key(1, 3) && !b.same_key(0, 1));
    }

    #[test]
    fn memory_accounting_matches_announced_growth() {
        let mut b = SortBuffer::new(4096);
        let big = vec![7u8; 10_000];
        for i in 0..5000u32 {
            let v: &[u8] = if i % 1000 == 0 { &big } else { b"vvvvvvvv" };
            let before = b.mem();
            let extra = b.extra_for(4 + v.len());
            b.push(&i.to_be_bytes(), v, 0);
            assert_eq!(b.mem(), before + extra, "pair {i}");
        }
        assert_eq!(b.data_bytes(), 5 * 10_004 + 4995 * 12);
        b.clear_free();
        assert_eq!((b.mem(), b.len()), (0, 0));
    }
}
