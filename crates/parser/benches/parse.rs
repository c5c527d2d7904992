//! Throughput of the parsers on seeded, generated data shaped like real dumps:
//! sysbench `sbtest` rows as mydumper writes them, and CSV with and without quoting.
//! Input is fed in 64 KiB blocks the way the import controller does.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightning_parser::{ChunkParser, CsvOptions, CsvParser, RowBatch, SqlParser};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::hint::black_box;

const BLOCK: usize = 64 * 1024;
const TARGET: usize = 16 << 20;

/// `n` groups of 11 digits joined by `-`, as sysbench fills `c` and `pad`.
fn digits(rng: &mut StdRng, groups: usize, out: &mut Vec<u8>) {
    for g in 0..groups {
        if g > 0 {
            out.push(b'-');
        }
        for _ in 0..11 {
            out.push(b'0' + rng.random_range(0..10u8));
        }
    }
}

/// mydumper-style multi-row INSERTs of ~1 MB each; 1 row in 50 holds escapes.
fn sql_data() -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(42);
    let mut out = Vec::with_capacity(TARGET + (2 << 20));
    let mut id = 1u64;
    while out.len() < TARGET {
        out.extend_from_slice(b"INSERT INTO `sbtest1` VALUES\n");
        let start = out.len();
        let mut first = true;
        while out.len() - start < (1 << 20) {
            if !first {
                out.extend_from_slice(b",\n");
            }
            first = false;
            out.extend_from_slice(format!("({id},{},'", rng.random_range(1..1_000_000)).as_bytes());
            digits(&mut rng, 10, &mut out);
            if id.is_multiple_of(50) {
                out.extend_from_slice(b"\\'quoted\\' \\\\ back\\nslash");
            }
            out.extend_from_slice(b"','");
            digits(&mut rng, 5, &mut out);
            out.extend_from_slice(b"')");
            id += 1;
        }
        out.extend_from_slice(b";\n");
    }
    out
}

/// CSV rows: `quoted` puts every text in quotes with embedded `,`, `""` and newlines.
fn csv_data(quoted: bool) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(43);
    let mut out = Vec::with_capacity(TARGET + 4096);
    let mut id = 1u64;
    while out.len() < TARGET {
        out.extend_from_slice(format!("{id},{},", rng.random_range(1..1_000_000)).as_bytes());
        if quoted {
            out.push(b'"');
            digits(&mut rng, 5, &mut out);
            out.extend_from_slice(b", with \"\"quotes\"\"\nand a newline");
            digits(&mut rng, 4, &mut out);
            out.extend_from_slice(b"\",\"");
            digits(&mut rng, 5, &mut out);
            out.extend_from_slice(b"\"\n");
        } else {
            digits(&mut rng, 10, &mut out);
            out.push(b',');
            digits(&mut rng, 5, &mut out);
            out.push(b'\n');
        }
        id += 1;
    }
    out
}

/// Parses `data` block by block; returns the row count.
fn run(p: &mut dyn ChunkParser, data: &[u8], batch: &mut RowBatch) -> usize {
    let (mut at, mut end, mut rows) = (0, 0, 0);
    loop {
        end = (end + BLOCK).min(data.len());
        let eof = end == data.len();
        let n = p.parse(&data[at..end], eof, batch).expect("valid data");
        at += n;
        rows += batch.len();
        batch.clear();
        if eof && at == data.len() {
            return rows;
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let sql = sql_data();
    g.throughput(Throughput::Bytes(sql.len() as u64));
    g.bench_function("sql_sysbench", |b| {
        let mut batch = RowBatch::new();
        b.iter(|| black_box(run(&mut SqlParser::new(0), &sql, &mut batch)))
    });
    for (name, quoted) in [("csv_quoted", true), ("csv_plain", false)] {
        let data = csv_data(quoted);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(name, |b| {
            let mut batch = RowBatch::new();
            let opts = CsvOptions {
                header: false,
                ..CsvOptions::default()
            };
            b.iter(|| black_box(run(&mut CsvParser::new(opts.clone(), 0), &data, &mut batch)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
