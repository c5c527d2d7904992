//! K-way merge of sorted runs into one, resolving duplicates on the way.
//!
//! Inputs are ordered by run id; among equal keys the pair with the higher sequence
//! wins, and on equal sequences the one from the later run.

use crate::buffer::SortBuffer;
use crate::error::Result;
use crate::resolve::Resolver;
use crate::run::{RunCursor, RunWriter};
use std::cmp::Ordering;

/// `a` sorts before `b`: by key, then sequence, then input rank.
#[inline]
fn less(cursors: &[RunCursor], a: usize, b: usize) -> bool {
    let (ca, cb) = (&cursors[a], &cursors[b]);
    match ca.key().cmp(cb.key()) {
        Ordering::Less => true,
        Ordering::Greater => false,
        Ordering::Equal => (ca.seq(), a) < (cb.seq(), b),
    }
}

fn sift_down(heap: &mut [usize], cursors: &[RunCursor], mut pos: usize) {
    loop {
        let l = 2 * pos + 1;
        if l >= heap.len() {
            return;
        }
        let r = l + 1;
        let child = if r < heap.len() && less(cursors, heap[r], heap[l]) {
            r
        } else {
            l
        };
        if !less(cursors, heap[child], heap[pos]) {
            return;
        }
        heap.swap(pos, child);
        pos = child;
    }
}

/// Merges `cursors` (fresh, in run-id order) into `out`, passing losers to `res`, for
/// the keys in `[lo, hi)` only (`None`: no upper bound): cursors may start below `lo`
/// (those pairs are skipped) and the merge stops at `hi`, so key ranges of one set of
/// runs can be merged apart, each into its own run.
pub(crate) fn merge_range(
    mut cursors: Vec<RunCursor>,
    lo: &[u8],
    hi: Option<&[u8]>,
    out: &mut RunWriter,
    res: &mut Resolver<'_>,
) -> Result<()> {
    let mut heap = Vec::with_capacity(cursors.len());
    for (i, c) in cursors.iter_mut().enumerate() {
        if c.advance()? {
            heap.push(i);
        }
    }
    for pos in (0..heap.len() / 2).rev() {
        sift_down(&mut heap, &cursors, pos);
    }
    while let Some(&top) = heap.first() {
        // The next smallest is the smaller child of the root.
        let next = match heap.len() {
            1 => None,
            2 => Some(heap[1]),
            _ if less(&cursors, heap[2], heap[1]) => Some(heap[2]),
            _ => Some(heap[1]),
        };
        let c = &cursors[top];
        if hi.is_some_and(|h| c.key() >= h) {
            return Ok(());
        }
        match next {
            _ if c.key() < lo => {}
            Some(n) if cursors[n].key() == c.key() => {
                res.loser(
                    c.key(),
                    c.value(),
                    c.seq(),
                    (cursors[n].value(), cursors[n].seq()),
                )?;
                if res.should_stop() {
                    return Ok(());
                }
            }
            _ => out.add(c.key(), c.value(), c.seq())?,
        }
        if cursors[top].advance()? {
            // Still below every other cursor (the common case for runs of sorted
            // chunks): the heap is unchanged.
            if !next.is_some_and(|n| less(&cursors, top, n)) {
                sift_down(&mut heap, &cursors, 0);
            }
        } else {
            heap.swap_remove(0);
            sift_down(&mut heap, &cursors, 0);
        }
    }
    Ok(())
}

/// Writes a sorted buffer into `out`, passing losers to `res`.
pub(crate) fn write_buffer(
    buf: &SortBuffer,
    out: &mut RunWriter,
    res: &mut Resolver<'_>,
) -> Result<()> {
    let n = buf.len();
    for i in 0..n {
        buf.prefetch(i + 8);
        let (k, v, seq) = buf.get(i);
        if i + 1 < n && buf.same_key(i, i + 1) {
            let (_, winner, winner_seq) = buf.get(i + 1);
            res.loser(k, v, seq, (winner, winner_seq))?;
            if res.should_stop() {
                return Ok(());
            }
        } else {
            out.add(k, v, seq)?;
        }
    }
    Ok(())
}
