//! Sort engine throughput: sysbench-shaped KV pairs appended by two encoder threads
//! into a data engine and an index engine, closed, then fully iterated.
//!
//! Record pairs: `t{id}_r{handle}` (19 bytes) + a 200-byte row value; index pairs:
//! `t{id}_i{1}{k}{handle}` (37 bytes) + `"0"`. Rows come in chunks of 10,000 handles,
//! alternating between the two threads (as encoders take chunks of data files); `k` is
//! random, so index keys arrive unordered. Total size defaults to 512 MiB of KV with a
//! 64 MiB memory budget (32 MiB per engine); `ENGINE_BENCH_MIB` overrides the size.
//! Each run prints its phases (append / close / iterate) to stderr.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightning_engine::{DuplicateMode, EngineManager, EngineOptions, EngineWriter};
use std::time::{Duration, Instant};
use uuid::Uuid;

const THREADS: usize = 2;
const CHUNK_ROWS: u64 = 10_000;
const VALUE_LEN: usize = 200;

/// One thread's pre-generated pairs in a flat arena: `(start, key_len, value_len, seq)`.
struct Pairs {
    arena: Vec<u8>,
    records: Vec<(usize, usize, usize, u64)>,
    indexes: Vec<(usize, usize, usize, u64)>,
}

fn int_key(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1 << 63)).to_be_bytes()
}

fn generate(thread: usize, rows: u64) -> Pairs {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ thread as u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut p = Pairs {
        arena: Vec::new(),
        records: Vec::new(),
        indexes: Vec::new(),
    };
    for handle in (0..rows).filter(|h| (h / CHUNK_ROWS) as usize % THREADS == thread) {
        let start = p.arena.len();
        p.arena.push(b't');
        p.arena.extend_from_slice(&int_key(105));
        p.arena.extend_from_slice(b"_r");
        p.arena.extend_from_slice(&int_key(handle as i64 + 1));
        for _ in 0..VALUE_LEN {
            p.arena.push(b'0' + (next() % 10) as u8);
        }
        p.records.push((start, 19, VALUE_LEN, handle));
        let start = p.arena.len();
        p.arena.push(b't');
        p.arena.extend_from_slice(&int_key(105));
        p.arena.extend_from_slice(b"_i");
        p.arena.extend_from_slice(&int_key(1));
        p.arena.push(3);
        p.arena.extend_from_slice(&int_key((next() % rows) as i64));
        p.arena.push(3);
        p.arena.extend_from_slice(&int_key(handle as i64 + 1));
        p.arena.push(b'0');
        p.indexes.push((start, 37, 1, handle));
    }
    p
}

fn write(w: &mut EngineWriter, arena: &[u8], pairs: &[(usize, usize, usize, u64)]) {
    for &(s, k, v, seq) in pairs {
        w.put(&arena[s..s + k], &arena[s + k..s + k + v], seq)
            .unwrap();
    }
}

/// User and system CPU seconds of this process so far (Linux `/proc/self/stat`, 100 Hz ticks).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
    let f: Vec<f64> = after.split(' ').map(|x| x.parse().unwrap_or(0.0)).collect();
    (
        f.get(11).copied().unwrap_or(0.0) / 100.0,
        f.get(12).copied().unwrap_or(0.0) / 100.0,
    )
}

/// One full run; returns the total time and prints the phases.
fn run(data: &[Pairs], total: u64) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let opts = EngineOptions {
        engine_mem_cache_size: 32 << 20,
        local_writer_mem_cache_size: 16 << 20,
        duplicate_mode: DuplicateMode::None,
        ..EngineOptions::default()
    };
    let mgr = EngineManager::new(dir.path(), opts).unwrap();
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let data_engine = mgr.open_engine(Uuid::from_u128(1)).unwrap();
    let index_engine = mgr.open_engine(Uuid::from_u128(2)).unwrap();
    std::thread::scope(|s| {
        for p in data {
            let (de, ie) = (&data_engine, &index_engine);
            s.spawn(move || {
                let (mut dw, mut iw) = (de.writer().unwrap(), ie.writer().unwrap());
                // Interleave rows as an encoder does: record pair, then index pair.
                for (r, i) in p.records.chunks(1024).zip(p.indexes.chunks(1024)) {
                    write(&mut dw, &p.arena, r);
                    write(&mut iw, &p.arena, i);
                }
                dw.close().unwrap();
                iw.close().unwrap();
            });
        }
    });
    let t1 = Instant::now();
    // Data and index engines close concurrently, as the controller closes them.
    let (dc, ic) = std::thread::scope(|s| {
        let d = s.spawn(|| data_engine.close().unwrap());
        let i = s.spawn(|| index_engine.close().unwrap());
        (d.join().unwrap(), i.join().unwrap())
    });
    let t2 = Instant::now();
    let mut seen = 0u64;
    for c in [&dc, &ic] {
        for r in c.split_ranges(96 << 20, 1_280_000).unwrap() {
            let mut it = c.iter_range(&r);
            while let Some((k, v)) = it.next_pair().unwrap() {
                seen += (k.len() + v.len()) as u64;
            }
        }
    }
    let t3 = Instant::now();
    let cpu1 = cpu_seconds();
    let (user, sys) = (cpu1.0 - cpu0.0, cpu1.1 - cpu0.1);
    assert_eq!(seen, total);
    let mb = total as f64 / 1e6;
    let rate = |d: Duration| mb / d.as_secs_f64();
    eprintln!(
        "  {:.0} MB: append {:.2}s ({:.0} MB/s), close {:.2}s ({:.0} MB/s), iterate {:.2}s ({:.0} MB/s), total {:.0} MB/s; cpu {:.2}s user + {:.2}s sys = {:.0} MB per cpu-second; disk {} MB",
        mb,
        (t1 - t0).as_secs_f64(),
        rate(t1 - t0),
        (t2 - t1).as_secs_f64(),
        rate(t2 - t1),
        (t3 - t2).as_secs_f64(),
        rate(t3 - t2),
        rate(t3 - t0),
        user,
        sys,
        mb / (user + sys),
        (dc.disk_size() + ic.disk_size()) / 1_000_000,
    );
    t3 - t0
}

fn bench(c: &mut Criterion) {
    let mib: u64 = std::env::var("ENGINE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let row_bytes = (19 + VALUE_LEN + 37 + 1) as u64;
    let rows = (mib << 20) / row_bytes;
    let data: Vec<Pairs> = (0..THREADS).map(|t| generate(t, rows)).collect();
    let total = rows * row_bytes;
    let mut g = c.benchmark_group("engine");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    g.throughput(Throughput::Bytes(total));
    g.bench_function(format!("sysbench_{mib}MiB_append_close_iterate"), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run(&data, total)).sum())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
