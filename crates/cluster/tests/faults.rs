//! Every fault the simulator injects, during ingest and checksum: the data still equals
//! the input (no pair skipped or lost), or, for a full disk, a clear final error.

mod common;

use common::*;
use lightning_cluster::{ClusterError, RegionErrorKind};
use lightning_testkit::cluster::{Fault, FaultRule, Step, Trigger};
use std::time::Duration;

/// Ingests a seeded table with `rules` injected; checks data and checksum, and that
/// every rule fired at least once.
async fn ingest_under(rules: Vec<FaultRule>, seed: u64) {
    let hit = ingest_under_checking(&rules, seed).await;
    for (r, hit) in rules.iter().zip(hit) {
        assert!(hit, "{r:?} never fired");
    }
}

/// Ingests a seeded table with `rules` injected and checks data and checksum; returns,
/// per rule, whether it fired.
async fn ingest_under_checking(rules: &[FaultRule], seed: u64) -> Vec<bool> {
    let sim = sim(small_regions()).await;
    let c = connect(&sim).await;
    let table = seed as i64;
    let range = table_range(table);
    let pairs = seeded_pairs(table, 700, seed);
    let splits: Vec<Vec<u8>> = pairs
        .iter()
        .step_by(150)
        .skip(1)
        .map(|p| p.0.clone())
        .collect();
    c.split_and_scatter(&splits).await.unwrap();
    for r in rules {
        sim.inject(r.clone());
    }
    let ts = c.commit_ts().await.unwrap();
    let stats = c
        .ingest_pairs(&range.start, &range.end, pairs.clone(), ts)
        .await
        .unwrap_or_else(|e| panic!("ingest under {rules:?}: {e}"));
    let fired = sim.fired_faults();
    let hit = |r: &FaultRule| {
        fired
            .iter()
            .any(|(step, _, f)| (r.step == Step::Any || *step == r.step) && *f == r.fault)
    };
    let hits: Vec<bool> = rules.iter().map(hit).collect();
    assert!(
        stats.retries > 0
            || !hits.contains(&true)
            || rules.iter().all(|r| matches!(r.fault, Fault::Slow(_)))
    );
    sim.clear_faults();
    assert_data(&sim, &range, &pairs);
    let sum = c
        .checksum_ranges(&[range], c.commit_ts().await.unwrap())
        .await
        .unwrap();
    assert_eq!(sum, checksum_of(&pairs));
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_is_busy_on_write_and_ingest() {
    ingest_under(
        vec![
            FaultRule::next(Fault::ServerIsBusy, Step::Ingest, 3),
            FaultRule::next(Fault::ServerIsBusy, Step::Write, 2),
        ],
        11,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_leader_on_write_and_ingest() {
    ingest_under(
        vec![
            FaultRule::next(Fault::NotLeader, Step::Ingest, 3),
            FaultRule::next(Fault::NotLeader, Step::Write, 2),
        ],
        12,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epoch_not_match_from_concurrent_splits() {
    ingest_under(
        vec![
            FaultRule::next(Fault::EpochNotMatch, Step::Ingest, 3),
            FaultRule::next(Fault::EpochNotMatch, Step::Write, 2),
        ],
        13,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_and_dropped_write_streams() {
    ingest_under(
        vec![
            FaultRule::next(Fault::StoreDown, Step::Write, 2).on_store(2),
            FaultRule::next(Fault::StoreDown, Step::Ingest, 2),
            FaultRule::next(Fault::DropWriteStream, Step::Write, 3),
        ],
        14,
    )
    .await;
}

/// A Write refused for a full disk (TiKV's DiskSpaceNotEnough import error) is retried:
/// space may free up, unlike a full disk at ingest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_on_write_is_retried() {
    ingest_under(
        vec![FaultRule::next(Fault::DiskFull, Step::Write, 2).on_store(2)],
        21,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_stores_only_slow_things_down() {
    ingest_under(
        vec![FaultRule::next(
            Fault::Slow(Duration::from_millis(100)),
            Step::Any,
            5,
        )],
        15,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_mix_of_every_retryable_fault() {
    // Probabilities, not call counts: which calls fail depends on the seed and on the
    // order concurrent jobs reach the stores. There are about three writes per ingest.
    let p = |fault, step, p| FaultRule {
        fault,
        step,
        store: None,
        trigger: Trigger::Probability(p),
    };
    let rules = [
        p(Fault::ServerIsBusy, Step::Ingest, 0.15),
        p(Fault::NotLeader, Step::Ingest, 0.15),
        p(Fault::EpochNotMatch, Step::Ingest, 0.15),
        p(Fault::StoreDown, Step::Write, 0.05),
        p(Fault::DropWriteStream, Step::Write, 0.05),
    ];
    // Every round must import exactly; rounds go on (new seeds) until every kind has
    // fired at least once, so that the mix is really exercised whatever the timing.
    let mut fired = vec![false; rules.len()];
    for round in 0..12 {
        let hits = ingest_under_checking(&rules, 16 + 100 * round).await;
        for (f, h) in fired.iter_mut().zip(hits) {
            *f |= h;
        }
        if fired.iter().all(|f| *f) {
            return;
        }
    }
    panic!("not every fault kind fired in 12 rounds: {fired:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_down_for_a_while_then_back() {
    let sim = sim(small_regions()).await;
    let c = connect(&sim).await;
    let range = table_range(17);
    let pairs = seeded_pairs(17, 300, 17);
    sim.set_store_down(3, true);
    let ts = c.commit_ts().await.unwrap();
    let ingest = c.ingest_pairs(&range.start, &range.end, pairs.clone(), ts);
    let revive = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        sim.set_store_down(3, false);
    };
    let (r, ()) = tokio::join!(ingest, revive);
    assert!(r.unwrap().retries > 0);
    assert_data(&sim, &range, &pairs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_fails_with_a_clear_final_error() {
    let sim = sim(small_regions()).await;
    let c = connect(&sim).await;
    let range = table_range(18);
    let pairs = seeded_pairs(18, 200, 18);
    sim.inject(FaultRule {
        fault: Fault::DiskFull,
        step: Step::Ingest,
        store: None,
        trigger: Trigger::Probability(1.0),
    });
    let ts = c.commit_ts().await.unwrap();
    let e = c
        .ingest_pairs(&range.start, &range.end, pairs, ts)
        .await
        .unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    match &e {
        ClusterError::Region {
            kind: RegionErrorKind::DiskFull { stores },
            ..
        } => assert_eq!(stores.len(), 1),
        other => panic!("expected disk full, got {other}"),
    }
    assert!(e.to_string().contains("DiskFull"), "{e}");
    assert!(sim.scan(&range.start, &range.end).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_run_out_with_the_last_error() {
    let sim = sim(small_regions()).await;
    let mut opts = fast_options();
    opts.retry.max_attempts = 3;
    let c = connect_with(&sim, opts).await;
    let range = table_range(19);
    sim.inject(FaultRule {
        fault: Fault::ServerIsBusy,
        step: Step::Write,
        store: None,
        trigger: Trigger::Probability(1.0),
    });
    let ts = c.commit_ts().await.unwrap();
    let e = c
        .ingest_pairs(&range.start, &range.end, seeded_pairs(19, 20, 19), ts)
        .await
        .unwrap_err();
    match e {
        ClusterError::RetriesExhausted { attempts, last, .. } => {
            assert_eq!(attempts, 3);
            assert!(
                matches!(*last, ClusterError::WriteRefused { busy: true, .. }),
                "{last}"
            );
        }
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksum_survives_coprocessor_faults() {
    let sim = sim(small_regions()).await;
    let c = connect(&sim).await;
    let range = table_range(20);
    let pairs = seeded_pairs(20, 500, 20);
    let ts = c.commit_ts().await.unwrap();
    c.ingest_pairs(&range.start, &range.end, pairs.clone(), ts)
        .await
        .unwrap();
    for fault in [
        Fault::ServerIsBusy,
        Fault::NotLeader,
        Fault::EpochNotMatch,
        Fault::StoreDown,
    ] {
        sim.inject(FaultRule::next(fault.clone(), Step::Coprocessor, 2));
        let sum = c
            .checksum_ranges(std::slice::from_ref(&range), c.commit_ts().await.unwrap())
            .await
            .unwrap();
        assert_eq!(sum, checksum_of(&pairs), "under {fault:?}");
    }
    assert_eq!(sim.fired_faults().len(), 8);
}
