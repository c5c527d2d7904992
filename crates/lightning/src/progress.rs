//! Progress: a bar on a terminal, periodic log lines otherwise.

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
    /// Starts reporting against the estimated source bytes of `tables`.
    pub(crate) fn for_tables<'a>(
        tables: impl ExactSizeIterator<Item = &'a lightning_source::TableSource>,
        log_every: Duration,
    ) -> Result<Self, crate::LightningError> {
        let count = tables.len();
        let mut total_bytes = 0;
        for t in tables {
            for f in &t.data_files {
                total_bytes += lightning_source::estimate_size_for_totals(f);
            }
        }
        Ok(Self::start(
            Arc::new(Counters::default()),
            total_bytes,
            count,
            log_every,
        ))
    }

    /// Starts reporting against `total_bytes` of source data in `tables` tables.
    pub(crate) fn start(
        counters: Arc<Counters>,
        total_bytes: u64,
        tables: usize,
        log_every: Duration,
    ) -> Self {
        let started = Instant::now();
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
                    b.set_position(c.bytes.load(Ordering::Relaxed));
                    let done = c.tables_done.load(Ordering::Relaxed);
                    b.set_message(format!(
                        "{} rows, tables {done}/{tables}",
                        c.rows.load(Ordering::Relaxed)
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
            let mut tick = tokio::time::interval(log_every.max(Duration::from_secs(1)));
            tick.tick().await;
            loop {
                tick.tick().await;
                let bytes = c.bytes.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                let speed = bytes as f64 / secs;
                let eta = if speed > 0.0 {
                    total_bytes.saturating_sub(bytes) as f64 / speed
                } else {
                    f64::NAN
                };
                tracing::info!(
                    tables = format!("{}/{tables}", c.tables_done.load(Ordering::Relaxed)),
                    rows = c.rows.load(Ordering::Relaxed),
                    bytes,
                    total_bytes,
                    speed_mb_s = format!("{:.2}", speed / 1e6),
                    eta_s = format!("{eta:.0}"),
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
