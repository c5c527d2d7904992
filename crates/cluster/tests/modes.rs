//! Import/normal mode switches reach every store; the guard refreshes and reverts.

mod common;

use common::*;
use lightning_cluster::{fetch_mode, switch_mode, ImportModeGuard, SwitchMode};
use lightning_kvproto::import_sstpb::{import_sst_client::ImportSstClient, SwitchModeRequest};
use lightning_testkit::cluster::SimCluster;
use std::time::Duration;

fn modes(sim: &SimCluster) -> Vec<i32> {
    sim.addrs()
        .stores
        .iter()
        .map(|(id, _)| sim.store_mode(*id))
        .collect()
}

/// Sets one store's mode behind the client's back, as a TiKV timeout or restart would.
async fn set_mode_directly(sim: &SimCluster, store: u64, mode: SwitchMode) {
    let addr = &sim.addrs().stores[store as usize - 1].1;
    let mut c = ImportSstClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    c.switch_mode(SwitchModeRequest {
        mode: mode as i32,
        ranges: vec![],
    })
    .await
    .unwrap();
}

async fn eventually(sim: &SimCluster, want: [i32; 3], within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while modes(sim) != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "modes {:?}, want {want:?}",
            modes(sim)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_and_fetch_reach_every_store() {
    let sim = sim(Default::default()).await;
    let c = connect(&sim).await;
    switch_mode(&c, SwitchMode::Import).await.unwrap();
    assert_eq!(modes(&sim), [1, 1, 1]);
    let fetched = fetch_mode(&c).await.unwrap();
    assert_eq!(fetched.len(), 3);
    for (m, (id, addr)) in fetched.iter().zip(&sim.addrs().stores) {
        assert_eq!(
            (m.store_id, &m.address, m.mode),
            (*id, addr, SwitchMode::Import)
        );
        assert_eq!(m.to_string(), format!("TiKV {addr}: Import"));
    }
    switch_mode(&c, SwitchMode::Normal).await.unwrap();
    assert_eq!(modes(&sim), [0, 0, 0]);
    assert!(fetch_mode(&c)
        .await
        .unwrap()
        .iter()
        .all(|m| m.mode == SwitchMode::Normal));

    // A down store: the others switch, and the failure names the store.
    sim.set_store_down(2, true);
    let e = switch_mode(&c, SwitchMode::Import).await.unwrap_err();
    assert!(e.to_string().contains("store 2"), "{e}");
    assert_eq!(modes(&sim), [1, 0, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_refreshes_import_mode_and_finish_reverts_it() {
    let sim = sim(Default::default()).await;
    let c = connect(&sim).await;
    sim.set_store_down(3, true);
    let guard = ImportModeGuard::enter(&c, Duration::from_millis(100), false)
        .await
        .expect("a down store is not fatal for import mode");
    assert_eq!(modes(&sim), [1, 1, 0]);
    // The store comes back, another one falls out of import mode: both are fixed by
    // the next refreshes.
    sim.set_store_down(3, false);
    set_mode_directly(&sim, 1, SwitchMode::Normal).await;
    eventually(&sim, [1, 1, 1], Duration::from_secs(2)).await;
    guard.finish().await.unwrap();
    assert_eq!(modes(&sim), [0, 0, 0]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(modes(&sim), [0, 0, 0], "no refresh after finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_guard_reverts_to_normal() {
    let sim = sim(Default::default()).await;
    let c = connect(&sim).await;
    let guard = ImportModeGuard::enter(&c, Duration::from_secs(60), false)
        .await
        .unwrap();
    assert_eq!(modes(&sim), [1, 1, 1]);
    drop(guard); // e.g. an import that returned early with an error
    eventually(&sim, [0, 0, 0], Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_reports_a_store_left_in_import_mode() {
    let sim = sim(Default::default()).await;
    let c = connect(&sim).await;
    let guard = ImportModeGuard::enter(&c, Duration::from_secs(60), false)
        .await
        .unwrap();
    sim.set_store_down(1, true);
    let e = guard.finish().await.unwrap_err();
    assert!(e.is_retryable() && e.to_string().contains("store 1"), "{e}");
    assert_eq!(modes(&sim), [1, 0, 0]);
}

/// Regression: one failed SwitchMode(Normal) at the end of an import (a store briefly
/// unreachable) left that store in import mode; `finish` now retries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_retries_a_store_briefly_down_at_the_end() {
    let sim = sim(Default::default()).await;
    let c = connect(&sim).await;
    let guard = ImportModeGuard::enter(&c, Duration::from_secs(60), false)
        .await
        .unwrap();
    assert_eq!(modes(&sim), [1, 1, 1]);
    // The first normal-mode call fails; the store is up again right after.
    sim.inject("switch-mode:store-down".parse().unwrap());
    guard
        .finish()
        .await
        .expect("a retry switches the store back");
    assert_eq!(modes(&sim), [0, 0, 0]);
    assert_eq!(sim.fired_faults().len(), 1);
}
