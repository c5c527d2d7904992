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
    /// Chunks `..active` hold data; the rest are empty spares kept from earlier fills.
    chunks: Vec<Vec<u8>>,
    active: usize,
    chunk_size: usize,
    slots: Vec<Slot>,
    chunk_bytes: usize,
    data_bytes: usize,
    /// First key pushed since the last clear, and the prefix all keys share with it.
    first_key: Vec<u8>,
    common: usize,
    /// Slots before this index got their prefix words under a longer `common`.
    stale: usize,
}

/// The 16 bytes of `key` after its first `common` bytes, zero-padded, as two words.
#[inline]
fn words(key: &[u8], common: usize) -> (u64, u64) {
    let rest = &key[common.min(key.len())..];
    let mut w = [0u8; 16];
    let n = rest.len().min(16);
    w[..n].copy_from_slice(&rest[..n]);
    let x = u128::from_be_bytes(w);
    ((x >> 64) as u64, x as u64)
}

impl SortBuffer {
    /// An empty buffer allocating `chunk_size`-byte chunks.
    pub fn new(chunk_size: usize) -> SortBuffer {
        SortBuffer {
            chunks: Vec::new(),
            active: 0,
            chunk_size,
            slots: Vec::new(),
            chunk_bytes: 0,
            data_bytes: 0,
            first_key: Vec::new(),
            common: 0,
            stale: 0,
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
        if self.place(len).is_none() {
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
        let chunk_idx = match self.place(len) {
            Some(i) => i,
            None => {
                let cap = len.max(self.chunk_size);
                self.chunks.insert(self.active, Vec::with_capacity(cap));
                self.chunk_bytes += cap;
                self.active
            }
        };
        self.active = self.active.max(chunk_idx + 1);
        if self.slots.len() == self.slots.capacity() {
            let want = self.next_slot_cap();
            self.slots.reserve_exact(want - self.slots.len());
        }
        if self.slots.is_empty() {
            self.first_key.clear();
            self.first_key.extend_from_slice(key);
            self.common = key.len();
            self.stale = 0;
        } else {
            let n = self.common.min(key.len());
            if key[..n] != self.first_key[..n] {
                self.common = key[..n]
                    .iter()
                    .zip(&self.first_key[..n])
                    .position(|(a, b)| a != b)
                    .unwrap_or(n);
                self.stale = self.slots.len();
            } else if n < self.common {
                self.common = n;
                self.stale = self.slots.len();
            }
        }
        let (p0, p1) = words(key, self.common);
        let chunk = &mut self.chunks[chunk_idx];
        let off = chunk.len();
        chunk.extend_from_slice(key);
        chunk.extend_from_slice(value);
        self.slots.push(Slot {
            p0,
            p1,
            seq,
            chunk: chunk_idx as u32,
            off: off as u32,
            klen: key.len() as u32,
            vlen: value.len() as u32,
        });
        self.data_bytes += len;
    }

    /// The chunk a pair of `len` bytes goes to without allocating: the current one if it
    /// has room, else the next spare.
    fn place(&self, len: usize) -> Option<usize> {
        if let Some(c) = self.active.checked_sub(1).map(|i| &self.chunks[i]) {
            if c.capacity() - c.len() >= len {
                return Some(self.active - 1);
            }
        }
        self.chunks
            .get(self.active)
            .is_some_and(|c| c.capacity() >= len)
            .then_some(self.active)
    }

    #[inline]
    fn key_of<'a>(chunks: &'a [Vec<u8>], s: &Slot) -> &'a [u8] {
        let off = s.off as usize;
        &chunks[s.chunk as usize][off..off + s.klen as usize]
    }

    /// Sorts by (key, seq, insertion order): among equal keys the last one wins.
    pub fn sort(&mut self) {
        let chunks = &self.chunks;
        let common = self.common;
        for s in &mut self.slots[..self.stale] {
            (s.p0, s.p1) = words(Self::key_of(chunks, s), common);
        }
        self.stale = 0;
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
        self.active = 0;
        self.slots = Vec::new();
        self.chunk_bytes = 0;
        self.data_bytes = 0;
    }

    /// Drops every pair but keeps the standard-size chunks and the slot array for the
    /// next fill (saves page faults); oversized chunks are freed.
    pub fn clear_keep(&mut self) {
        let size = self.chunk_size;
        self.chunks.retain(|c| c.capacity() == size);
        self.chunks.iter_mut().for_each(Vec::clear);
        self.chunk_bytes = self.chunks.len() * size;
        self.active = 0;
        self.slots.clear();
        self.data_bytes = 0;
    }

    /// Hints the CPU to load the bytes of sorted position `i` (a pointer sort reads
    /// pairs in random order; prefetching a few ahead hides the cache misses).
    #[inline]
    pub fn prefetch(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(s) = self.slots.get(i) {
            let chunk = &self.chunks[s.chunk as usize];
            let start = s.off as usize;
            let end = start + (s.klen + s.vlen) as usize;
            for at in (start..end).step_by(64) {
                let p = chunk[at..].as_ptr().cast::<i8>();
                // SAFETY: `p` points inside `chunk`; a prefetch never faults nor writes.
                unsafe { std::arch::x86_64::_mm_prefetch(p, std::arch::x86_64::_MM_HINT_T0) };
            }
        }
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
    fn shared_prefix_shrinking_late_still_sorts() {
        // 300 keys share 20 bytes; then one key differs at byte 2, so every earlier
        // slot's prefix words must be recomputed before sorting.
        let mut b = SortBuffer::new(1 << 12);
        let mut keys: Vec<Vec<u8>> = (0..300u32)
            .map(|i| {
                let mut k = vec![7u8; 20];
                k.extend_from_slice(&(i * 7919 % 300).to_be_bytes());
                k
            })
            .collect();
        keys.push(vec![7, 7, 0]);
        keys.push(vec![7, 7, 9, 1]);
        for k in &keys {
            b.push(k, b"", 0);
        }
        b.sort();
        keys.sort();
        let got: Vec<&[u8]> = (0..b.len()).map(|i| b.get(i).0).collect();
        assert_eq!(got, keys);
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
        // Kept chunks are reused: refilling with small pairs allocates nothing new.
        b.clear_keep();
        let kept = b.mem();
        assert!(kept > 0 && b.is_empty());
        for i in 0..4995u32 {
            assert_eq!(b.extra_for(12), 0, "pair {i}");
            b.push(&i.to_be_bytes(), b"vvvvvvvv", 0);
        }
        assert_eq!(b.mem(), kept);
        b.clear_free();
        assert_eq!((b.mem(), b.len()), (0, 0));
    }
}
