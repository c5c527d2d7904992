//! What the status API reports of the task in hand (`/progress/task`, `/progress/table`),
//! and the metric updates that go with each step. The controller calls these as tables,
//! chunks and engines move; they are cheap (one short lock or an atomic add per batch).
//!
//! `/progress/task` has upstream's shape: `{"t": {"`db`.`tbl`": {"w": written bytes,
//! "z": total bytes, "s": status, "m": message}}, "s": status, "m": message}`, with status 0
//! not started, 1 running, 2 completed (with `m` the error, if it failed).

use crate::metrics::{metrics, Metrics};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

/// A task's or a table's state in `/progress/task`.
pub const NOT_STARTED: u8 = 0;
/// Running.
pub const RUNNING: u8 = 1;
/// Completed (successfully when its message is empty).
pub const COMPLETED: u8 = 2;

/// One table in `/progress/task`; `/progress/table?t=` adds the counts after `m`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableProgress {
    /// Source bytes imported.
    pub w: u64,
    /// Source bytes in all (estimated for compressed files).
    pub z: u64,
    /// [`NOT_STARTED`], [`RUNNING`] or [`COMPLETED`].
    pub s: u8,
    /// The error, when the table failed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub m: String,
    /// Rows imported.
    #[serde(skip)]
    pub rows: u64,
    /// Chunks of the table.
    #[serde(skip)]
    pub chunks: u64,
    /// Chunks finished.
    #[serde(skip)]
    pub chunks_finished: u64,
}

/// The task in `/progress/task`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TaskProgress {
    /// Tables by unique name.
    pub t: BTreeMap<String, TableProgress>,
    /// [`NOT_STARTED`], [`RUNNING`] or [`COMPLETED`].
    pub s: u8,
    /// The error, when the task failed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub m: String,
    /// Sum over tables of `min(w, z)`, and of `z`: the restore phase's progress.
    #[serde(skip)]
    done: u64,
    #[serde(skip)]
    total: u64,
}

static TASK: LazyLock<Mutex<TaskProgress>> = LazyLock::new(Default::default);

fn with<R>(f: impl FnOnce(&mut TaskProgress) -> R) -> R {
    f(&mut TASK.lock().unwrap_or_else(|e| e.into_inner()))
}

/// A task begins (its tables are not known yet).
pub(crate) fn task_begun() {
    with(|p| {
        *p = TaskProgress {
            s: RUNNING,
            ..Default::default()
        }
    });
}

/// A task starts with `tables`; returns their source bytes, estimated for compressed files
/// (what the progress bar counts against).
pub(crate) fn task_started<'a>(
    tables: impl IntoIterator<Item = &'a lightning_source::TableSource>,
    cfg: &lightning_config::Config,
) -> u64 {
    let (region_slots, table_slots) = (
        cfg.lightning.region_concurrency.max(1),
        cfg.lightning.table_concurrency.max(1),
    );
    let mut total = 0;
    let t: BTreeMap<String, TableProgress> = tables
        .into_iter()
        .map(|src| {
            let name = lightning_checkpoint::unique_table_name(&src.db, &src.name);
            let z: u64 = src
                .data_files
                .iter()
                .map(lightning_source::estimate_size_for_totals)
                .sum();
            total += z;
            metrics()
                .tables
                .with_label_values(&["pending", "success"])
                .inc();
            (
                name,
                TableProgress {
                    z,
                    ..Default::default()
                },
            )
        })
        .collect();
    Metrics::inc(&metrics().bytes, "total_restore", total);
    let idle = &metrics().idle_workers;
    idle.with_label_values(&["region"]).set(region_slots as i64);
    idle.with_label_values(&["table"]).set(table_slots as i64);
    for phase in ["total", "restore", "import"] {
        metrics().progress.with_label_values(&[phase]).set(0.0);
    }
    with(|p| {
        *p = TaskProgress {
            t,
            s: RUNNING,
            total,
            ..Default::default()
        }
    });
    total
}

/// The task ended, with `error` if it failed.
pub(crate) fn task_finished(error: Option<&str>) {
    with(|p| {
        p.s = COMPLETED;
        p.m = error.unwrap_or_default().to_string();
        if error.is_none() {
            metrics().progress.with_label_values(&["total"]).set(1.0);
        }
    });
}

/// Source bytes of chunk `c` an earlier run did, its position being `pos`.
fn done_before(c: &lightning_source::Chunk, pos: u64) -> u64 {
    if pos <= c.offset {
        0
    } else if c.end == u64::MAX && pos == u64::MAX {
        // A finished compressed chunk: its decompressed size, as estimated for the totals.
        lightning_source::estimate_size_for_totals(&c.file)
    } else {
        pos.min(c.end) - c.offset
    }
}

/// A table's chunks are known, each with its recorded position: those at their end were
/// finished by an earlier run, which also did the bytes before each position.
pub(crate) fn table_chunks<'a>(
    table: &str,
    chunks: impl IntoIterator<Item = (&'a lightning_source::Chunk, u64)>,
) {
    let (mut count, mut finished, mut done) = (0u64, 0u64, 0);
    for (c, pos) in chunks {
        count += 1;
        finished += u64::from(pos >= c.end);
        done += done_before(c, pos);
    }
    restored(table, done, 0);
    let m = metrics();
    Metrics::inc(&m.chunks, "estimated", count);
    Metrics::inc(&m.chunks, "pending", count - finished);
    Metrics::inc(&m.chunks, "finished", finished);
    with(|p| {
        if let Some(t) = p.t.get_mut(table) {
            t.s = RUNNING;
            t.chunks = count;
            t.chunks_finished = finished;
        }
    });
}

/// A worker slot (`lightning_idle_workers{name}`: `region`, `table`) is taken while
/// this lives.
pub(crate) struct Busy(&'static str);

impl Drop for Busy {
    fn drop(&mut self) {
        metrics().idle_workers.with_label_values(&[self.0]).inc();
    }
}

/// Takes one slot of the `kind` pool until the guard drops.
#[must_use]
pub(crate) fn busy(kind: &'static str) -> Busy {
    metrics().idle_workers.with_label_values(&[kind]).dec();
    Busy(kind)
}

/// A chunk starts (a region slot is granted); it is busy until the guard drops.
#[must_use]
pub(crate) fn chunk_running() -> Busy {
    Metrics::inc(&metrics().chunks, "running", 1);
    busy("region")
}

/// A chunk ended: finished, failed, or stopped (not counted).
pub(crate) fn chunk_ended<T>(table: &str, res: &Result<T, crate::LightningError>) {
    match res {
        Ok(_) => {
            Metrics::inc(&metrics().chunks, "finished", 1);
            with(|p| {
                if let Some(t) = p.t.get_mut(table) {
                    t.chunks_finished += 1;
                }
            });
        }
        Err(crate::LightningError::Cancelled) => {}
        Err(_) => Metrics::inc(&metrics().chunks, "failed", 1),
    }
}

/// `bytes` of `table`'s source and `rows` rows were imported (tidb) or encoded (local).
pub(crate) fn restored(table: &str, bytes: u64, rows: u64) {
    let m = metrics();
    Metrics::inc(&m.bytes, "restored", bytes);
    m.rows.with_label_values(&["restored", table]).inc_by(rows);
    with(|p| {
        if let Some(t) = p.t.get_mut(table) {
            let before = t.w.min(t.z);
            t.w += bytes;
            t.rows += rows;
            p.done += t.w.min(t.z) - before;
        }
        if p.total > 0 {
            let done = p.done as f64 / p.total as f64;
            m.progress.with_label_values(&["restore"]).set(done);
        }
    });
}

/// A table reached `state` (upstream's names: `written`, `closed`, `imported`,
/// `altered_auto_inc`, `checksum`, `analyzed`).
pub(crate) fn table_state(state: &str) {
    metrics()
        .tables
        .with_label_values(&[state, "success"])
        .inc();
}

/// A table ended: `Ok` completed, an error failed it (a stop is not counted).
pub(crate) fn table_ended<T>(table: &str, res: &Result<T, crate::LightningError>) {
    let (result, message) = match res {
        Ok(_) => ("success", String::new()),
        // Stopped, not failed: no metric, but no longer running either.
        Err(crate::LightningError::Cancelled) => ("", "cancelled".to_string()),
        Err(e) => ("failure", e.to_string()),
    };
    if !result.is_empty() {
        metrics()
            .tables
            .with_label_values(&["completed", result])
            .inc();
    }
    with(|p| {
        if let Some(t) = p.t.get_mut(table) {
            t.s = COMPLETED;
            if message.is_empty() {
                p.done += t.z.saturating_sub(t.w.min(t.z));
                t.w = t.w.max(t.z);
            }
            t.m = message;
        }
    });
}

/// `/progress/task` as JSON.
pub fn task_json() -> String {
    with(|p| serde_json::to_string(p).unwrap_or_default())
}

/// `/progress/table?t=`: one table as JSON (`w`, `z`, `s`, `m`, then `rows`, `chunks`,
/// `chunks_finished`), or `None` when the task has no such table.
pub fn table_json(name: &str) -> Option<String> {
    with(|p| {
        let t = p.t.get(name)?;
        let mut v = serde_json::to_value(t).ok()?;
        if let Some(o) = v.as_object_mut() {
            o.insert("rows".into(), t.rows.into());
            o.insert("chunks".into(), t.chunks.into());
            o.insert("chunks_finished".into(), t.chunks_finished.into());
        }
        Some(v.to_string())
    })
}
