//! Row encoding throughput: sysbench-shaped rows and a 20-column wide row (seeded data).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightning_encode::ddl::parse_create_table;
use lightning_encode::{EncodeOptions, Encoder, KvPairs};
use lightning_parser::{FieldKind, RowBatch};
use std::hint::black_box;

const ROWS: usize = 1000;

/// A tiny deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }
}

fn sysbench_batch() -> RowBatch {
    let mut r = Rng(42);
    let mut b = RowBatch::new();
    for i in 0..ROWS {
        b.push_field(FieldKind::Number, (i + 1).to_string().as_bytes());
        b.push_field(
            FieldKind::Number,
            (r.next() % 1_000_000).to_string().as_bytes(),
        );
        let c: Vec<String> = (0..10).map(|_| r.digits(11)).collect();
        b.push_field(FieldKind::Text, c.join("-").as_bytes());
        let pad: Vec<String> = (0..5).map(|_| r.digits(11)).collect();
        b.push_field(FieldKind::Text, pad.join("-").as_bytes());
        b.finish_row(0);
    }
    b
}

fn wide_batch() -> RowBatch {
    let mut r = Rng(7);
    let mut b = RowBatch::new();
    for i in 0..ROWS {
        b.push_field(FieldKind::Number, (i + 1).to_string().as_bytes());
        for _ in 0..5 {
            b.push_field(
                FieldKind::Number,
                format!("{}.{}", r.next() % 100_000_000, r.digits(4)).as_bytes(),
            );
        }
        for _ in 0..4 {
            let s = format!(
                "20{:02}-{:02}-{:02} {:02}:{:02}:{:02}",
                r.next() % 30,
                1 + r.next() % 12,
                1 + r.next() % 28,
                r.next() % 24,
                r.next() % 60,
                r.next() % 60
            );
            b.push_field(FieldKind::Text, s.as_bytes());
        }
        for _ in 0..6 {
            b.push_field(FieldKind::Text, r.digits(24).as_bytes());
        }
        for _ in 0..4 {
            b.push_field(
                FieldKind::Number,
                (r.next() % 1_000_000_000).to_string().as_bytes(),
            );
        }
        b.finish_row(0);
    }
    b
}

const SYSBENCH: &str = "CREATE TABLE `sbtest1` (`id` int NOT NULL AUTO_INCREMENT, `k` int NOT NULL DEFAULT '0', \
    `c` char(120) NOT NULL DEFAULT '', `pad` char(60) NOT NULL DEFAULT '', PRIMARY KEY (`id`), KEY `k_1` (`k`)) \
    ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

fn wide_schema() -> String {
    let mut cols = vec!["id bigint primary key".to_string()];
    cols.extend((0..5).map(|i| format!("d{i} decimal(20,4)")));
    cols.extend((0..4).map(|i| format!("t{i} datetime")));
    cols.extend((0..6).map(|i| format!("v{i} varchar(64)")));
    cols.extend((0..4).map(|i| format!("n{i} int")));
    format!(
        "CREATE TABLE w ({}, KEY iv (v0), KEY it (t0))",
        cols.join(", ")
    )
}

fn bench(c: &mut Criterion, name: &str, schema: &str, batch: &RowBatch) {
    let t = parse_create_table(schema, 100).expect("schema");
    let mut enc = Encoder::new(&t, EncodeOptions::default()).expect("encoder");
    let mut out = KvPairs::new();
    let mut fields = Vec::new();
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            out.clear();
            for (i, row) in batch.rows().enumerate() {
                fields.clear();
                fields.extend(row.fields());
                enc.encode_row(&fields, i as i64 + 1, &mut out)
                    .expect("row");
            }
            black_box(out.checksum())
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench(c, "sysbench_rows", SYSBENCH, &sysbench_batch());
    bench(c, "wide_20_columns", &wide_schema(), &wide_batch());
}

criterion_group!(encode, benches);
criterion_main!(encode);
