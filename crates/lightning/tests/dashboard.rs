//! The Grafana dashboard in `deploy/grafana` queries only metrics this build exports: every
//! `lightning_*` / `process_*` name in every panel's `expr` is one of
//! `lightning::metrics::NAMES` (with a histogram's `_bucket`, `_sum`, `_count`).

use std::path::Path;

/// Every metric-like identifier in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let starts = expr[i..].starts_with("lightning_") || expr[i..].starts_with("process_");
        let boundary = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if starts && boundary {
            let end = expr[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(expr.len(), |n| i + n);
            out.push(expr[i..end].to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

#[test]
fn every_metric_the_dashboard_queries_is_exported() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/tidb-lightning.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut all = Vec::new();
    exprs(&dash, &mut all);
    assert!(all.len() >= 10, "the dashboard has {} queries", all.len());
    let known = |n: &str| {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| n.strip_suffix(s))
            .unwrap_or(n);
        lightning::metrics::NAMES.contains(&n) || lightning::metrics::NAMES.contains(&base)
    };
    let mut used = std::collections::BTreeSet::new();
    for e in &all {
        let names = metric_names(e);
        assert!(!names.is_empty(), "a query with no metric: {e}");
        for n in names {
            assert!(
                known(&n),
                "the dashboard queries {n}, which is not exported: {e}"
            );
            used.insert(n);
        }
    }
    // The issue's must-haves are on the dashboard.
    for n in [
        "lightning_progress",
        "lightning_bytes",
        "lightning_chunks",
        "lightning_error_rows",
        "process_resident_memory_bytes",
    ] {
        assert!(used.contains(n), "the dashboard does not show {n}");
    }
}

#[test]
fn names_are_found_in_promql() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.99, sum(rate(lightning_row_read_seconds_bucket{instance=~"$instance"}[1m])) by (le)) / process_max_fds"#
        ),
        ["lightning_row_read_seconds_bucket", "process_max_fds"]
    );
    assert!(metric_names("sum by (x_lightning_y) (up)").is_empty());
}
