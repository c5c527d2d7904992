//! Pre-split + scatter: the requested boundaries exist afterwards, splitting again is
//! harmless, scatter follows the store count, and split refusals are retried.

mod common;

use common::*;
use lightning_testkit::cluster::{encode_key, Fault, FaultRule, SimOptions, Step};

fn keys(n: i64) -> Vec<Vec<u8>> {
    (1..=n).map(|h| record_key(3, h * 10)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_keys_become_region_boundaries_and_splitting_again_is_harmless() {
    let sim = sim(SimOptions {
        stores: 5,
        ..Default::default()
    })
    .await;
    let c = connect(&sim).await;
    // 40 keys, shuffled and duplicated: sorted, deduplicated, split in batches of 16.
    let mut ks = keys(40);
    ks.reverse();
    ks.extend(keys(5));
    let out = c.split_and_scatter(&ks).await.unwrap();
    assert_eq!(out.new_regions.len(), 40);
    assert!(out.scattered, "5 stores >= 3 replicas");
    assert_eq!(out.unscattered, 0);
    let starts = region_starts(&sim);
    for k in keys(40) {
        assert!(starts.contains(&encode_key(&k)), "boundary at {k:?}");
    }
    assert_eq!(sim.regions().len(), 41);

    let again = c.split_and_scatter(&keys(40)).await.unwrap();
    assert!(again.new_regions.is_empty());
    assert_eq!(sim.regions().len(), 41);

    // Some old, some new keys: only the new ones split.
    let mut mixed = keys(40);
    mixed.push(record_key(3, 15));
    mixed.push(record_key(3, 1000));
    let out = c.split_and_scatter(&mixed).await.unwrap();
    assert_eq!(out.new_regions.len(), 2);
    assert_eq!(sim.regions().len(), 43);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_scatter_on_a_single_store() {
    let sim = sim(SimOptions {
        stores: 1,
        replicas: 1,
        ..Default::default()
    })
    .await;
    let c = connect(&sim).await;
    let out = c.split_and_scatter(&keys(3)).await.unwrap();
    assert!(!out.scattered);
    assert_eq!(out.new_regions.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_refusals_are_retried_until_every_boundary_exists() {
    for fault in [
        Fault::NotLeader,
        Fault::ServerIsBusy,
        Fault::EpochNotMatch,
        Fault::StoreDown,
    ] {
        let sim = sim(Default::default()).await;
        let c = connect(&sim).await;
        c.split_and_scatter(&keys(3)[..1]).await.unwrap();
        sim.inject(FaultRule::next(fault.clone(), Step::SplitRegion, 2));
        c.split_and_scatter(&keys(30)).await.unwrap();
        assert_eq!(sim.fired_faults().len(), 2, "{fault:?}");
        let starts = region_starts(&sim);
        for k in keys(30) {
            assert!(
                starts.contains(&encode_key(&k)),
                "{fault:?}: boundary at {k:?}"
            );
        }
    }
}
