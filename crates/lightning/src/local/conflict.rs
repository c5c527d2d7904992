//! `[conflict] strategy = "replace"` on the local backend: the result is what replaying
//! the rows in source order with `REPLACE INTO` would leave. A row is removed when a later
//! row (higher row id, the sequence its pairs carry) has the same primary key or the same
//! unique key; every other row is kept whole.
//!
//! Equal keys meet while an engine sorts (the engine keeps the later pair and records the
//! earlier one as a conflict); record keys of one table spread over several data engines
//! (`batch-size`) are compared here by merging the engines whose key ranges overlap. The
//! losing rows' sequences then select what is left out of every engine of the table at
//! ingest ([`ClosedEngine::excluding`]), so no index entry outlives its row. Nothing on
//! disk changes: a rerun finds the same losers from the same engines.

use super::err;
use super::table::describe_key;
use crate::LightningError;
use lightning_encode::{KvChecksum, TableInfo};
use lightning_engine::{ClosedEngine, SeqSet};
use std::collections::HashSet;
use std::sync::Arc;

/// What a table's `replace` resolution removes.
#[derive(Clone, Default)]
pub(super) struct Resolution {
    /// Sequences (row ids) of the rows removed.
    pub losers: SeqSet,
    /// Checksum of every pair of those rows, as encoded (to take out of the local sum).
    pub removed: KvChecksum,
}

/// One pair of a removed row.
struct Lost {
    key: Vec<u8>,
    seq: u64,
}

/// Finds the rows a later row replaces among `engines` (a table's data engines, then its
/// index engine), fails past `threshold` of them (`[conflict] threshold`, negative = no
/// limit) and logs up to `max_record` of the conflicting keys.
pub(super) fn resolve(
    table: &str,
    info: &TableInfo,
    data: &[ClosedEngine],
    index: &ClosedEngine,
    threshold: i64,
    max_record: i64,
) -> Result<Resolution, LightningError> {
    let engine_err = |e| err(format!("{table}: resolving conflicts: {e}"));
    let mut lost = Vec::new();
    let mut removed = KvChecksum::new();
    // A chunk resumed after a crash writes its replayed rows again, so the same dropped
    // pair can be recorded twice: each counts once.
    let mut seen = HashSet::new();
    for e in data.iter().chain([index]) {
        for c in e.conflicts() {
            let c = c.map_err(engine_err)?;
            if !seen.insert((c.key.clone(), c.seq)) {
                continue;
            }
            // Dropped while sorting: in no engine any more, but counted when encoded.
            removed.update(&c.key, &c.value);
            lost.push(Lost {
                key: c.key,
                seq: c.seq,
            });
        }
    }
    drop(seen);
    across_engines(data, &mut lost).map_err(engine_err)?;
    let losers: HashSet<u64> = lost.iter().map(|l| l.seq).collect();
    if losers.is_empty() {
        return Ok(Resolution::default());
    }
    if threshold >= 0 && losers.len() as u64 > threshold as u64 {
        return Err(err(format!(
            "{table}: {} rows conflict on a primary or unique key, more than [conflict] threshold = {threshold}; first: {}",
            losers.len(),
            describe_key(info, &lost[0].key)
        )));
    }
    tracing::warn!(
        table,
        rows = losers.len(),
        "rows replaced by later rows with the same primary or unique key"
    );
    let record = if max_record < 0 {
        usize::MAX
    } else {
        max_record as usize
    };
    for l in lost.iter().take(record) {
        tracing::warn!(table, key = %describe_key(info, &l.key), row_id = l.seq, "conflicting row replaced");
    }
    // The rest of the losing rows' pairs are still in the engines.
    for e in data.iter().chain([index]) {
        let mut it = e.iter();
        while let Some((k, v, seq)) = it.next_entry().map_err(engine_err)? {
            if losers.contains(&seq) {
                removed.update(k, v);
            }
        }
    }
    Ok(Resolution {
        losers: Arc::new(losers),
        removed,
    })
}

/// Adds the losers among equal keys held by different data engines: every pair of a key
/// but the one with the highest sequence. Only engines whose key ranges overlap another's
/// are read.
fn across_engines(data: &[ClosedEngine], lost: &mut Vec<Lost>) -> lightning_engine::Result<()> {
    let mut bounded = Vec::new();
    for (i, e) in data.iter().enumerate() {
        if let Some((first, last)) = e.bounds()? {
            bounded.push((first, last, i));
        }
    }
    bounded.sort();
    let mut overlapping = HashSet::new();
    let mut reach: Option<(&Vec<u8>, usize)> = None;
    for (first, last, i) in &bounded {
        if let Some((end, j)) = reach {
            if first <= end {
                overlapping.insert(j);
                overlapping.insert(*i);
            }
        }
        if reach.is_none_or(|(end, _)| last > end) {
            reach = Some((last, *i));
        }
    }
    if overlapping.is_empty() {
        return Ok(());
    }
    // K-way merge by key over the overlapping engines (few: one per `batch-size`).
    let mut iters: Vec<_> = overlapping.iter().map(|&i| data[i].iter()).collect();
    let mut heads: Vec<Option<(Vec<u8>, u64)>> = Vec::with_capacity(iters.len());
    for it in &mut iters {
        heads.push(it.next_entry()?.map(|(k, _, s)| (k.to_vec(), s)));
    }
    loop {
        let Some(min) = heads.iter().flatten().map(|(k, _)| k).min().cloned() else {
            return Ok(());
        };
        let at: Vec<usize> = (0..heads.len())
            .filter(|&i| heads[i].as_ref().is_some_and(|(k, _)| *k == min))
            .collect();
        if at.len() > 1 {
            let top = at
                .iter()
                .filter_map(|&i| heads[i].as_ref().map(|h| h.1))
                .max()
                .unwrap_or(0);
            for &i in &at {
                if let Some((_, seq)) = &heads[i] {
                    if *seq != top {
                        lost.push(Lost {
                            key: min.clone(),
                            seq: *seq,
                        });
                    }
                }
            }
        }
        for i in at {
            heads[i] = iters[i].next_entry()?.map(|(k, _, s)| (k.to_vec(), s));
        }
    }
}
