//! SIGTERM during an import switches the stores back to normal mode. Its own test
//! binary: the guard installs process-wide signal handlers.

mod common;

use common::*;
use lightning_cluster::ImportModeGuard;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_reverts_to_normal_mode_and_stops_refreshing() {
    let sim = sim(Default::default()).await;
    let c = connect(&sim).await;
    let guard = ImportModeGuard::enter(&c, Duration::from_millis(50), true)
        .await
        .unwrap();
    let mut signalled = guard.signalled();
    assert!(!*signalled.borrow());
    let ids: Vec<u64> = sim.addrs().stores.iter().map(|(id, _)| *id).collect();
    assert!(ids.iter().all(|id| sim.store_mode(*id) == 1));

    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(5), signalled.wait_for(|s| *s))
        .await
        .expect("the guard saw the signal")
        .unwrap();
    assert!(ids.iter().all(|id| sim.store_mode(*id) == 0));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        ids.iter().all(|id| sim.store_mode(*id) == 0),
        "refreshing stopped with the signal"
    );
    guard.finish().await.unwrap();
}
