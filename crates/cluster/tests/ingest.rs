//! Ingest and checksum against the simulated cluster without faults.

mod common;

use common::*;
use lightning_cluster::{ClusterError, KeyRange};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingested_range_equals_input_on_every_replica_and_checksums_match() {
    let sim = sim(small_regions()).await;
    let c = connect(&sim).await;
    let range = table_range(42);
    let pairs = seeded_pairs(42, 3000, 7);
    // Pre-split at every 250th key as the engine's range boundaries would.
    let splits: Vec<Vec<u8>> = pairs
        .iter()
        .step_by(250)
        .skip(1)
        .map(|p| p.0.clone())
        .collect();
    c.split_and_scatter(&splits).await.unwrap();
    let ts = c.commit_ts().await.unwrap();
    let stats = c
        .ingest_pairs(&range.start, &range.end, pairs.clone(), ts)
        .await
        .unwrap();
    assert_eq!(stats.pairs, 3000);
    assert_eq!(
        stats.bytes,
        pairs
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum::<u64>()
    );
    assert!(
        stats.ingests >= 30,
        "jobs are cut at 100 keys: {}",
        stats.ingests
    );
    assert_data(&sim, &range, &pairs);
    assert!(sim.missed_ingests().is_empty());
    assert!(sim.regions().len() > 30, "the data spans many regions");

    let want = checksum_of(&pairs);
    let after = c.commit_ts().await.unwrap();
    assert_eq!(
        c.checksum_ranges(std::slice::from_ref(&range), after)
            .await
            .unwrap(),
        want
    );
    // Before the commit ts nothing is visible; an empty range sums to zero.
    let before = c
        .checksum_ranges(std::slice::from_ref(&range), ts - 1)
        .await
        .unwrap();
    assert_eq!((before.kvs, before.crc), (0, 0));
    let other = table_range(43);
    assert_eq!(c.checksum_ranges(&[other], after).await.unwrap().kvs, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_source_and_two_ranges_at_once() {
    let sim = sim(small_regions()).await;
    let c = connect(&sim).await;
    let (a, b) = (seeded_pairs(1, 800, 1), seeded_pairs(2, 800, 2));
    let (ra, rb) = (table_range(1), table_range(2));
    let ts = c.commit_ts().await.unwrap();
    let sa = tokio_stream::iter(a.clone().into_iter().map(Ok::<_, std::io::Error>));
    let sb = tokio_stream::iter(b.clone().into_iter().map(Ok::<_, std::io::Error>));
    let (x, y) = tokio::join!(
        c.ingest_range(&ra.start, &ra.end, sa, ts),
        c.ingest_range(&rb.start, &rb.end, sb, ts)
    );
    assert_eq!((x.unwrap().pairs, y.unwrap().pairs), (800, 800));
    assert_data(&sim, &ra, &a);
    assert_data(&sim, &rb, &b);
    let sum = c
        .checksum_ranges(&[ra, rb], c.commit_ts().await.unwrap())
        .await
        .unwrap();
    let mut want = checksum_of(&a);
    want.merge(&checksum_of(&b));
    assert_eq!(sum, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_anything_is_ingested() {
    let sim = sim(small_regions()).await;
    let c = connect(&sim).await;
    let range = table_range(5);
    let mut pairs = seeded_pairs(5, 10, 3);
    let ts = c.commit_ts().await.unwrap();
    let e = c
        .ingest_pairs(&range.start, &range.end, pairs.clone(), 0)
        .await
        .unwrap_err();
    assert!(matches!(e, ClusterError::Input { .. }), "{e}");
    pairs.swap(3, 4);
    let e = c
        .ingest_pairs(&range.start, &range.end, pairs.clone(), ts)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ClusterError::Input { .. }) && !e.is_retryable(),
        "{e}"
    );
    let outside = vec![(b"u".to_vec(), b"v".to_vec())];
    let e = c
        .ingest_pairs(&range.start, &range.end, outside, ts)
        .await
        .unwrap_err();
    assert!(matches!(e, ClusterError::Input { .. }), "{e}");
    let failing = tokio_stream::iter(vec![Err(std::io::Error::other("disk read failed"))]);
    let e = c
        .ingest_range(&range.start, &range.end, failing, ts)
        .await
        .unwrap_err();
    assert!(matches!(e, ClusterError::Source(_)), "{e}");
    // Pairs before the bad one may have been ingested in the order case: only whole
    // jobs, and they are cut at region or size limits, so at most the first 3 here.
    assert!(sim.scan(&range.start, &range.end).len() <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_write_bwlimit_slows_writes_per_store() {
    let sim = sim(small_regions()).await;
    let pairs = seeded_pairs(9, 400, 9);
    let bytes: u64 = pairs.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    // Each store gets every byte (3 replicas on 3 stores): after the 20 % burst,
    // bytes / limit seconds at least.
    let limit = bytes / 2;
    let mut opts = fast_options();
    opts.store_write_bwlimit = limit;
    opts.region_split_keys = 10_000;
    let c = connect_with(&sim, opts).await;
    let range: KeyRange = table_range(9);
    let ts = c.commit_ts().await.unwrap();
    let t = Instant::now();
    c.ingest_pairs(&range.start, &range.end, pairs.clone(), ts)
        .await
        .unwrap();
    let took = t.elapsed();
    // (bytes - 1.2 * limit) / limit = 2 - 1.2 = 0.8 s.
    assert!(took >= Duration::from_millis(750), "took {took:?}");
    assert_data(&sim, &range, &pairs);
}

/// The controller spawns these on its runtime: their futures must be `Send`.
#[allow(dead_code, clippy::let_underscore_future)]
fn futures_are_send(c: lightning_cluster::Cluster, r: KeyRange) {
    fn send<T: Send>(_: T) {}
    let pairs = tokio_stream::iter(Vec::<Result<(Vec<u8>, Vec<u8>), std::io::Error>>::new());
    send(c.ingest_range(&r.start, &r.end, pairs, 1));
    send(c.ingest_pairs(&r.start, &r.end, vec![], 1));
    send(c.split_and_scatter(&[]));
    send(c.checksum_ranges(&[], 1));
    send(lightning_cluster::ImportModeGuard::enter(
        &c,
        Duration::from_secs(1),
        false,
    ));
    send(lightning_cluster::SchedulerPause::global(
        c.pd_http(),
        3,
        Duration::from_secs(1),
    ));
}

/// Eight ranges read at once under an 8 KiB memory budget: jobs are cut smaller than
/// their regions (more ingests than with the default budget) and wait for memory, and
/// nothing deadlocks, is lost or is written twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_memory_budget_cuts_jobs_and_still_ingests_everything() {
    let mut ingests = Vec::new();
    for budget in [64 << 20, 8 << 10] {
        let sim = sim(small_regions()).await;
        let c = connect_with(
            &sim,
            lightning_cluster::ClusterOptions {
                ingest_mem_budget: budget,
                ..fast_options()
            },
        )
        .await;
        let ts = c.commit_ts().await.unwrap();
        let mut set = tokio::task::JoinSet::new();
        for t in 30..38i64 {
            let (c, pairs, range) = (c.clone(), seeded_pairs(t, 600, t as u64), table_range(t));
            set.spawn(async move {
                let s = tokio_stream::iter(pairs.clone().into_iter().map(Ok::<_, std::io::Error>));
                let stats = c
                    .ingest_range(&range.start, &range.end, s, ts)
                    .await
                    .unwrap();
                (range, pairs, stats)
            });
        }
        let done = tokio::time::timeout(std::time::Duration::from_secs(120), set.join_all())
            .await
            .expect("ingest under a tiny budget deadlocked");
        let mut n = 0;
        for (range, pairs, stats) in done {
            assert_eq!(stats.pairs, 600);
            assert_data(&sim, &range, &pairs);
            n += stats.ingests;
        }
        ingests.push(n);
    }
    assert!(ingests[1] > ingests[0], "ingests per budget: {ingests:?}");
}
