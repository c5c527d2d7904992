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
//!
//! The conflicting pairs (up to `[conflict] max-record-rows`) are logged and recorded, as
//! upstream's physical mode does, in `{task-info-schema-name}.conflict_error_v3` on the
//! target, once per task and table.

use super::state::{err, Ctx};
use crate::LightningError;
use lightning_backend::tidb::{quote_ident, write_text_literal};
use lightning_encode::key::{decode_key, DecodedHandle, DecodedKey};
use lightning_encode::{KvChecksum, TableInfo};
use lightning_engine::{ClosedEngine, SeqSet};
use mysql_async::prelude::Queryable;
use std::collections::HashSet;
use std::sync::Arc;

/// What a table's `replace` resolution removes.
#[derive(Clone, Default)]
pub(super) struct Resolution {
    /// Sequences (row ids) of the rows removed.
    pub losers: SeqSet,
    /// Checksum of every pair of those rows, as encoded (to take out of the local sum).
    pub removed: KvChecksum,
    /// The conflicting pairs to record (`max-record-rows` of them).
    pub records: Arc<Vec<Lost>>,
}

/// One pair of a removed row, where it met the pair that replaced it.
pub(super) struct Lost {
    key: Vec<u8>,
    value: Vec<u8>,
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
                value: c.value,
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
    let m = crate::metrics::metrics();
    crate::metrics::Metrics::inc(&m.error_rows, "conflict", losers.len() as u64);
    let record = if max_record < 0 {
        usize::MAX
    } else {
        max_record as usize
    };
    lost.truncate(record);
    for l in &lost {
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
        records: Arc::new(lost),
    })
}

/// Records `records` of `table` in the task-info schema's `conflict_error_v3` (created if
/// missing), unless an earlier run of task `task_id` recorded the table's already.
pub(super) async fn record(
    ctx: &Ctx,
    table: &str,
    info: &TableInfo,
    task_id: i64,
    records: &[Lost],
) -> Result<(), LightningError> {
    if records.is_empty() {
        return Ok(());
    }
    let schema = quote_ident(&ctx.cfg.lightning.task_info_schema_name);
    let dest = format!("{schema}.`conflict_error_v3`");
    let ddl = [
        format!("CREATE SCHEMA IF NOT EXISTS {schema}"),
        format!(
            "CREATE TABLE IF NOT EXISTS {dest} (\
             id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, \
             task_id bigint NOT NULL, \
             create_time datetime(6) NOT NULL DEFAULT now(6), \
             table_name varchar(261) NOT NULL, \
             index_name varchar(128) NOT NULL, \
             key_data text NOT NULL, \
             row_data text NOT NULL, \
             raw_key mediumblob NOT NULL, \
             raw_value mediumblob NOT NULL, \
             raw_handle mediumblob NOT NULL, \
             raw_row mediumblob NOT NULL, \
             kv_type tinyint(1) NOT NULL, \
             KEY (task_id, table_name), KEY (index_name), KEY (table_name, index_name), KEY (kv_type))"
        ),
    ];
    let failed = |e: String| err(format!("{table}: recording conflicts in {dest}: {e}"));
    ctx.target
        .exec_tolerating(None, &ddl, &[])
        .await
        .map_err(|e| failed(e.to_string()))?;
    let text = |s: &str| {
        let mut out = Vec::new();
        write_text_literal(&mut out, s.as_bytes(), ctx.target.no_backslash_escapes());
        String::from_utf8_lossy(&out).into_owned()
    };
    let mut conn = ctx.target.conn().await?;
    let done: Option<u64> = conn
        .query_first(format!(
            "SELECT COUNT(*) FROM {dest} WHERE task_id = {task_id} AND table_name = {}",
            text(table)
        ))
        .await
        .map_err(|e| failed(e.to_string()))?;
    if done.unwrap_or(0) > 0 {
        return Ok(());
    }
    let mut sql = format!(
        "INSERT INTO {dest} (task_id, table_name, index_name, key_data, row_data, raw_key, raw_value, raw_handle, raw_row, kv_type) VALUES "
    );
    for (i, l) in records.iter().enumerate() {
        let (index, handle, row, kv_type) = match decode_key(&l.key) {
            Ok(DecodedKey::Record { .. }) => ("PRIMARY".to_string(), hex(&l.key), hex(&l.value), 1),
            Ok(DecodedKey::Index { index_id, .. }) => {
                let name = index_name(info, index_id)
                    .map_or_else(|| format!("index id {index_id}"), str::to_string);
                (name, "''".into(), "''".into(), 0)
            }
            _ => (String::new(), "''".into(), "''".into(), 0),
        };
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "({task_id}, {}, {}, {}, {}, {}, {}, {handle}, {row}, {kv_type})",
            text(table),
            text(&index),
            text(&describe_key(info, &l.key)),
            text(&format!(
                "row id {} of the source, replaced by a later row",
                l.seq
            )),
            hex(&l.key),
            hex(&l.value),
        ));
    }
    conn.query_drop(sql)
        .await
        .map_err(|e| failed(e.to_string()))?;
    tracing::info!(table, rows = records.len(), dest = %dest, "conflicts recorded");
    Ok(())
}

/// A binary literal (`0x…`; `''` when empty).
fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "''".into();
    }
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("0x");
    for x in b {
        s.push_str(&format!("{x:02X}"));
    }
    s
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
    let head = |e: Option<lightning_engine::Entry<'_>>| {
        e.map(|(k, v, seq)| Lost {
            key: k.to_vec(),
            value: v.to_vec(),
            seq,
        })
    };
    let mut heads: Vec<Option<Lost>> = Vec::with_capacity(iters.len());
    for it in &mut iters {
        heads.push(head(it.next_entry()?));
    }
    loop {
        let Some(min) = heads.iter().flatten().map(|h| &h.key).min().cloned() else {
            return Ok(());
        };
        let at: Vec<usize> = (0..heads.len())
            .filter(|&i| heads[i].as_ref().is_some_and(|h| h.key == min))
            .collect();
        if at.len() > 1 {
            let top = at
                .iter()
                .filter_map(|&i| heads[i].as_ref().map(|h| h.seq))
                .max()
                .unwrap_or(0);
            for &i in &at {
                if let Some(h) = heads[i].take().filter(|h| h.seq != top) {
                    lost.push(h);
                }
            }
        }
        for i in at {
            heads[i] = head(iters[i].next_entry()?);
        }
    }
}

/// The name of index `id` of the table, if it has one by that id.
pub(super) fn index_name(info: &TableInfo, id: i64) -> Option<&str> {
    info.indices
        .iter()
        .find(|i| i.id == id)
        .map(|i| i.name.as_str())
}

/// A duplicate key as a user reads it: the index (or primary key) and its values.
pub(super) fn describe_key(info: &TableInfo, key: &[u8]) -> String {
    let values = |v: &[lightning_encode::Datum]| {
        v.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match decode_key(key) {
        Ok(DecodedKey::Record {
            handle: DecodedHandle::Int(h),
            ..
        }) => {
            format!("PRIMARY (handle {h})")
        }
        Ok(DecodedKey::Record {
            handle: DecodedHandle::Common(v),
            ..
        }) => {
            format!("PRIMARY ({})", values(&v))
        }
        Ok(DecodedKey::Index {
            index_id,
            values: v,
            ..
        }) => {
            let name = index_name(info, index_id)
                .map_or_else(|| format!("index id {index_id}"), |n| format!("`{n}`"));
            format!("{name} ({})", values(&v))
        }
        _ => format!(
            "key {}",
            key.iter().map(|b| format!("{b:02X}")).collect::<String>()
        ),
    }
}
