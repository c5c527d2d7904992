//! Progress: a bar on a terminal, periodic log lines otherwise, each with the time left
//! per phase; the same fractions go to `lightning_progress{phase}`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counters the workers bump; read by the reporter.
#[derive(Default)]
pub(crate) struct Counters {
    pub bytes: AtomicU64,
    pub rows: AtomicU64,
    pub tables_done: AtomicUsize,
}

/// Shows progress until dropped.
pub(crate) struct Progress {
    counters: Arc<Counters>,
    bar: Option<ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts reporting against `total_bytes` of source data in `tables` tables.
    /// `physical`: the local backend, whose import phase (KV bytes ingested of those
    /// written) is reported too.
    pub(crate) fn start(
        counters: Arc<Counters>,
        total_bytes: u64,
        tables: usize,
        log_every: Duration,
        physical: bool,
    ) -> Self {
        let started = Instant::now();
        let import = ImportPhase::new(physical);
        if std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let (b, c) = (bar.clone(), counters.clone());
            let task = tokio::spawn(async move {
                loop {
                    let bytes = c.bytes.load(Ordering::Relaxed);
                    b.set_position(bytes);
                    let done = c.tables_done.load(Ordering::Relaxed);
                    let rows = c.rows.load(Ordering::Relaxed);
                    let secs = started.elapsed().as_secs_f64().max(1e-3);
                    let imported = import
                        .report(fraction(bytes, total_bytes))
                        .map(|p| format!(", imported {:.0} %", p.done * 100.0))
                        .unwrap_or_default();
                    b.set_message(format!(
                        "{rows} rows ({:.0}/s), tables {done}/{tables}{imported}",
                        rows as f64 / secs
                    ));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            });
            return Progress {
                counters,
                bar: Some(bar),
                task: Some(task),
            };
        }
        let c = counters.clone();
        let task = tokio::spawn(async move {
            // The gauges move every second; the log line every `log-progress`.
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let log_every = log_every.max(Duration::from_secs(1));
            let mut logged = Instant::now();
            loop {
                tick.tick().await;
                let bytes = c.bytes.load(Ordering::Relaxed);
                let phase = import.report(fraction(bytes, total_bytes));
                if logged.elapsed() < log_every {
                    continue;
                }
                logged = Instant::now();
                let rows = c.rows.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                let speed = bytes as f64 / secs;
                let eta = remaining_secs(total_bytes.saturating_sub(bytes), speed);
                let tables = format!("{}/{tables}", c.tables_done.load(Ordering::Relaxed));
                // The import phase's fields only on the local backend.
                let p = phase.as_ref();
                tracing::info!(
                    tables,
                    rows,
                    rows_per_s = format!("{:.0}", rows as f64 / secs),
                    bytes,
                    total_bytes,
                    speed_mb_s = format!("{:.2}", speed / 1e6),
                    eta_s = format!("{eta:.0}"),
                    kv_written = p.map(|p| p.written),
                    kv_imported = p.map(|p| p.imported),
                    import_mb_s = p.map(|p| format!("{:.2}", p.speed / 1e6)),
                    import_eta_s = p.map(|p| format!("{:.0}", p.eta)),
                    "progress"
                );
            }
        });
        Progress {
            counters,
            bar: None,
            task: Some(task),
        }
    }

    /// The counters being shown.
    pub(crate) fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}

/// `done / total`, capped at 1 (0 when there is nothing to do).
fn fraction(done: u64, total: u64) -> f64 {
    if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).min(1.0)
    }
}

/// Seconds to move `left` bytes at `speed` bytes/s (NaN while nothing moved).
fn remaining_secs(left: u64, speed: f64) -> f64 {
    if speed > 0.0 {
        left as f64 / speed
    } else {
        f64::NAN
    }
}

/// The local backend's import phase: KV bytes ingested into the cluster of those written
/// to engines, counted from this task's start (the metrics add up over a server's tasks).
#[derive(Clone, Copy)]
struct ImportPhase {
    physical: bool,
    started: Instant,
    written0: u64,
    imported0: u64,
}

/// Where the import phase stands.
struct ImportProgress {
    written: u64,
    imported: u64,
    done: f64,
    speed: f64,
    eta: f64,
}

fn kv_bytes(state: &str) -> u64 {
    crate::metrics::metrics()
        .bytes
        .with_label_values(&[state])
        .get()
}

impl ImportPhase {
    fn new(physical: bool) -> Self {
        ImportPhase {
            physical,
            started: Instant::now(),
            written0: kv_bytes("written"),
            imported0: kv_bytes("imported"),
        }
    }

    /// Sets `lightning_progress{phase}` from the restore phase's fraction done and, on the
    /// local backend, returns the import phase.
    fn report(&self, restored: f64) -> Option<ImportProgress> {
        let gauge = &crate::metrics::metrics().progress;
        if !self.physical {
            gauge.with_label_values(&["total"]).set(restored);
            return None;
        }
        let written = kv_bytes("written").saturating_sub(self.written0);
        let imported = kv_bytes("imported").saturating_sub(self.imported0);
        // Until every row is encoded, what is left to write is not known: scale what is
        // written by the restore phase's fraction.
        let expected = if restored > 0.0 {
            (written as f64 / restored) as u64
        } else {
            0
        };
        let done = if expected == 0 {
            0.0
        } else {
            fraction(imported, expected)
        };
        let speed = imported as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        gauge.with_label_values(&["import"]).set(done);
        gauge
            .with_label_values(&["total"])
            .set((restored + done) / 2.0);
        Some(ImportProgress {
            written,
            imported,
            done,
            speed,
            eta: remaining_secs(expected.saturating_sub(imported), speed),
        })
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
