//! [`KvPairs`]: the key-value pairs of encoded rows, in one reusable byte buffer.

use crate::checksum::KvChecksum;

#[derive(Clone, Copy, Debug)]
struct Meta {
    start: u32,
    key_end: u32,
    end: u32,
    index_id: i64,
}

/// Encoded pairs of one or more rows; `clear` keeps the allocations.
#[derive(Clone, Debug, Default)]
pub struct KvPairs {
    buf: Vec<u8>,
    pairs: Vec<Meta>,
}

/// One pair borrowed from [`KvPairs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvPair<'a> {
    /// Key bytes.
    pub key: &'a [u8],
    /// Value bytes.
    pub value: &'a [u8],
    /// `None` for a record (data) pair, the index id for an index pair.
    pub index_id: Option<i64>,
}

impl KvPairs {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets all pairs, keeping the buffers.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pairs.clear();
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Total bytes of keys and values.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// The pairs in the order they were written (record first, then indexes, per row).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = KvPair<'_>> + '_ {
        self.pairs.iter().map(move |m| KvPair {
            key: &self.buf[m.start as usize..m.key_end as usize],
            value: &self.buf[m.key_end as usize..m.end as usize],
            index_id: (m.index_id != 0).then_some(m.index_id),
        })
    }

    /// The checksum of all pairs held.
    pub fn checksum(&self) -> KvChecksum {
        let mut c = KvChecksum::new();
        self.iter().for_each(|p| c.update(p.key, p.value));
        c
    }

    /// Appends a pair written by `key` then `value` straight into the buffer.
    pub(crate) fn push_with<E>(
        &mut self,
        index_id: i64,
        key: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
        value: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = self.buf.len();
        let res = key(&mut self.buf).and_then(|_| {
            let key_end = self.buf.len();
            value(&mut self.buf).map(|_| key_end)
        });
        match res {
            Ok(key_end) => {
                self.pairs.push(Meta {
                    start: start as u32,
                    key_end: key_end as u32,
                    end: self.buf.len() as u32,
                    index_id,
                });
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(start);
                Err(e)
            }
        }
    }

    /// Drops pairs after the first `n` (undoing a partly encoded row).
    pub(crate) fn truncate(&mut self, n: usize) {
        if let Some(m) = self.pairs.get(n) {
            self.buf.truncate(m.start as usize);
        }
        self.pairs.truncate(n);
    }
}
