//! Prometheus metrics under upstream Lightning's names (its `metric` package), label names
//! and label values, so dashboards and alerts written for upstream read ours. One registry
//! per process: counters add up over the tasks a server-mode process runs, as Prometheus
//! counters should. The status server (`tidb-lightning --status-addr`) serves
//! [`render`] at `/metrics`.
//!
//! Where upstream has no metric for something the issue tracker asked for (KV pairs,
//! refused rows), the name is ours, in the same `lightning_` namespace: see [`NAMES`].

use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::LazyLock;

/// Every metric family this process exports (process metrics included), for the dashboard's
/// coverage test and the docs.
pub const NAMES: &[&str] = &[
    "lightning_importer_engine",
    "lightning_idle_workers",
    "lightning_kv_encoder",
    "lightning_tables",
    "lightning_engines",
    "lightning_chunks",
    "lightning_bytes",
    "lightning_rows",
    "lightning_row_read_seconds",
    "lightning_row_encode_seconds",
    "lightning_block_deliver_seconds",
    "lightning_block_deliver_bytes",
    "lightning_block_deliver_kv_pairs",
    "lightning_import_seconds",
    "lightning_chunk_parser_read_block_seconds",
    "lightning_row_read_bytes",
    "lightning_checksum_seconds",
    "lightning_sst_seconds",
    "lightning_local_storage_usage_bytes",
    "lightning_progress",
    "lightning_kv_pairs",
    "lightning_error_rows",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
    "process_threads",
];

/// The metrics, registered once per process.
pub struct Metrics {
    registry: Registry,
    /// `lightning_importer_engine{type}`: engines opened and closed (`open`, `closed`).
    pub importer_engine: IntCounterVec,
    /// `lightning_idle_workers{name}`: free slots per worker pool (`region`, `io`, `table`).
    pub idle_workers: IntGaugeVec,
    /// `lightning_kv_encoder{type}`: row encoders opened and closed.
    pub kv_encoder: IntCounterVec,
    /// `lightning_tables{state,result}`: tables reaching each state.
    pub tables: IntCounterVec,
    /// `lightning_engines{state,result}`: engines reaching each state.
    pub engines: IntCounterVec,
    /// `lightning_chunks{state}`: chunks reaching each state (`estimated`, `pending`,
    /// `running`, `finished`, `failed`).
    pub chunks: IntCounterVec,
    /// `lightning_bytes{state}`: `total_restore` (source bytes to import), `restored`
    /// (source bytes encoded), `written` (encoded bytes delivered), `imported` (KV bytes
    /// ingested into the cluster).
    pub bytes: IntCounterVec,
    /// `lightning_rows{state,table}`: rows `restored` per table.
    pub rows: IntCounterVec,
    /// Seconds to read and parse one batch of rows.
    pub row_read_seconds: Histogram,
    /// Seconds to encode one batch of rows.
    pub row_encode_seconds: Histogram,
    /// Seconds to deliver one block (a statement, a batch of KV pairs) to the backend.
    pub block_deliver_seconds: Histogram,
    /// `lightning_block_deliver_bytes{kind}`: bytes per delivered block (`data`, `index`).
    pub block_deliver_bytes: HistogramVec,
    /// `lightning_block_deliver_kv_pairs{kind}`: KV pairs (or rows) per delivered block.
    pub block_deliver_kv_pairs: HistogramVec,
    /// Seconds to import one table, from its first chunk to its post-process.
    pub import_seconds: Histogram,
    /// Seconds for one read of a block of the source.
    pub chunk_parser_read_block_seconds: Histogram,
    /// Source bytes per parsed batch.
    pub row_read_bytes: Histogram,
    /// Seconds of one table's checksum.
    pub checksum_seconds: Histogram,
    /// `lightning_sst_seconds{kind}`: seconds of `split`, `write`, `ingest` per engine.
    pub sst_seconds: HistogramVec,
    /// `lightning_local_storage_usage_bytes{medium}`: sorted-kv-dir bytes (`disk`).
    pub local_storage_usage_bytes: IntGaugeVec,
    /// `lightning_progress{phase}`: fraction done of `total`, `restore`, `import`.
    pub progress: prometheus::GaugeVec,
    /// `lightning_kv_pairs{state}`: KV pairs `written` to engines and `ingested` (ours).
    pub kv_pairs: IntCounterVec,
    /// `lightning_error_rows{kind}`: rows refused (`type`) or removed as duplicates
    /// (`conflict`) (ours).
    pub error_rows: IntCounterVec,
}

/// Registers a metric built from a static definition; returns a handle to it.
fn register<M, E: std::fmt::Debug>(r: &Registry, built: Result<M, E>) -> M
where
    M: prometheus::core::Collector + Clone + 'static,
{
    let m = built.expect("static metric definition");
    r.register(Box::new(m.clone()))
        .expect("each metric registers once");
    m
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace("lightning")
}

fn hist_opts(name: &str, help: &str, buckets: Vec<f64>) -> HistogramOpts {
    HistogramOpts::new(name, help)
        .namespace("lightning")
        .buckets(buckets)
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(r, IntCounterVec::new(opts(name, help), labels))
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    register(r, IntGaugeVec::new(opts(name, help), labels))
}

fn histogram(r: &Registry, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    register(r, Histogram::with_opts(hist_opts(name, help, buckets)))
}

fn histogram_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    register(r, HistogramVec::new(hist_opts(name, help, buckets), labels))
}

/// Buckets as upstream's: `count` buckets from `start`, each `factor` times the last.
fn exp(start: f64, factor: f64, count: usize) -> Vec<f64> {
    exponential_buckets(start, factor, count).expect("static bucket definition")
}

impl Metrics {
    fn new() -> Self {
        let r = Registry::new();
        #[cfg(target_os = "linux")]
        {
            let p = prometheus::process_collector::ProcessCollector::for_self();
            if let Err(e) = r.register(Box::new(p)) {
                tracing::warn!(error = %e, "process metrics unavailable");
            }
        }
        let sqrt10 = 10f64.sqrt();
        Metrics {
            importer_engine: counter(
                &r,
                "importer_engine",
                "counting open and closed importer engines",
                &["type"],
            ),
            idle_workers: gauge(&r, "idle_workers", "counting idle workers", &["name"]),
            kv_encoder: counter(
                &r,
                "kv_encoder",
                "counting kv open and closed kv encoder",
                &["type"],
            ),
            tables: counter(
                &r,
                "tables",
                "count number of tables processed",
                &["state", "result"],
            ),
            engines: counter(
                &r,
                "engines",
                "count number of engines processed",
                &["state", "result"],
            ),
            chunks: counter(&r, "chunks", "count number of chunks processed", &["state"]),
            bytes: counter(&r, "bytes", "count of total bytes", &["state"]),
            rows: counter(&r, "rows", "count of total rows", &["state", "table"]),
            row_read_seconds: histogram(
                &r,
                "row_read_seconds",
                "time needed to parse a row (include time to read and decompress file)",
                exp(0.001, sqrt10, 7),
            ),
            row_encode_seconds: histogram(
                &r,
                "row_encode_seconds",
                "time needed to encode a row",
                exp(0.001, sqrt10, 10),
            ),
            block_deliver_seconds: histogram(
                &r,
                "block_deliver_seconds",
                "time needed to deliver a block",
                exp(0.001, sqrt10, 10),
            ),
            block_deliver_bytes: histogram_vec(
                &r,
                "block_deliver_bytes",
                "number of bytes being sent out to importer",
                &["kind"],
                exp(512.0, 2.0, 10),
            ),
            block_deliver_kv_pairs: histogram_vec(
                &r,
                "block_deliver_kv_pairs",
                "number of KV pairs being sent out to importer",
                &["kind"],
                exp(1.0, 2.0, 10),
            ),
            import_seconds: histogram(
                &r,
                "import_seconds",
                "time needed to import a table",
                exp(0.125, 2.0, 6),
            ),
            chunk_parser_read_block_seconds: histogram(
                &r,
                "chunk_parser_read_block_seconds",
                "time needed for chunk parser read a block",
                exp(0.001, sqrt10, 10),
            ),
            row_read_bytes: histogram(
                &r,
                "row_read_bytes",
                "number of bytes being read out from data source",
                exp(1024.0, 2.0, 8),
            ),
            checksum_seconds: histogram(
                &r,
                "checksum_seconds",
                "time needed to complete the checksum stage",
                exp(1.0, 2.2679331552660544, 10),
            ),
            sst_seconds: histogram_vec(
                &r,
                "sst_seconds",
                "time needed to complete the sst operations",
                &["kind"],
                exp(1.0, 2.2679331552660544, 10),
            ),
            local_storage_usage_bytes: gauge(
                &r,
                "local_storage_usage_bytes",
                "disk/memory size currently occupied by intermediate files in local backend",
                &["medium"],
            ),
            progress: register(
                &r,
                prometheus::GaugeVec::new(
                    opts("progress", "progress of lightning phase"),
                    &["phase"],
                ),
            ),
            kv_pairs: counter(
                &r,
                "kv_pairs",
                "count of KV pairs written to engines and ingested into the cluster",
                &["state"],
            ),
            error_rows: counter(
                &r,
                "error_rows",
                "count of rows refused by the target (type) or removed as conflicting (conflict)",
                &["kind"],
            ),
            registry: r,
        }
    }

    /// Adds `n` to a one-label counter.
    pub fn inc(c: &IntCounterVec, label: &str, n: u64) {
        c.with_label_values(&[label]).inc_by(n);
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// Every metric in Prometheus text format (version 0.0.4), for `/metrics`.
pub fn render() -> String {
    let mut out = Vec::new();
    let families = METRICS.registry.gather();
    if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
        tracing::warn!(error = %e, "could not encode the metrics");
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_is_exported_and_every_exported_name_listed() {
        let m = metrics();
        // Families without samples are not gathered: touch every vector once.
        for c in [
            &m.importer_engine,
            &m.kv_encoder,
            &m.chunks,
            &m.bytes,
            &m.kv_pairs,
            &m.error_rows,
        ] {
            c.with_label_values(&["test"]).inc_by(0);
        }
        for c in [&m.tables, &m.engines, &m.rows] {
            c.with_label_values(&["test", "test"]).inc_by(0);
        }
        for g in [&m.idle_workers, &m.local_storage_usage_bytes] {
            g.with_label_values(&["test"]).set(0);
        }
        m.progress.with_label_values(&["test"]).set(0.0);
        for h in [
            &m.block_deliver_bytes,
            &m.block_deliver_kv_pairs,
            &m.sst_seconds,
        ] {
            h.with_label_values(&["test"]).observe(0.0);
        }
        let text = render();
        let exported: std::collections::BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        let listed: std::collections::BTreeSet<&str> = NAMES.iter().copied().collect();
        assert_eq!(exported, listed);
    }
}
