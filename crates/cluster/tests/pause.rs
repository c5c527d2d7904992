//! PD scheduling pauses: global and key-range, kept alive while the import runs,
//! resumed at the end, and gone by their TTL when the importer dies.

mod common;

use common::*;
use lightning_cluster::{Cluster, SchedulerPause};
use lightning_testkit::cluster::{encode_key, SimCluster};
use std::future::Future;
use std::time::Duration;

const PAUSED: [&str; 3] = [
    "balance-hot-region-scheduler",
    "balance-leader-scheduler",
    "balance-region-scheduler",
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs `start` on a runtime of its own, forgets the pause it returns and shuts that
/// runtime down: an importer killed mid-import, whose keep-alive stops with it.
async fn crash_after<F, Fut>(sim: &SimCluster, start: F)
where
    F: FnOnce(Cluster) -> Fut + Send + 'static,
    Fut: Future<Output = SchedulerPause>,
{
    let pd = sim.addrs().pd.clone();
    tokio::task::spawn_blocking(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let c = Cluster::connect(&[pd], Default::default(), fast_options())
                .await
                .unwrap();
            std::mem::forget(start(c).await);
        });
        rt.shutdown_background();
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_pause_is_kept_alive_then_resumed() {
    let sim = sim(Default::default()).await;
    let c = connect(&sim).await;
    let pause = SchedulerPause::global(c.pd_http(), 3, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(sim.paused_schedulers(), PAUSED);
    let cfg = sim.schedule_config();
    assert_eq!(cfg["max-merge-region-keys"], 0);
    assert_eq!(cfg["leader-schedule-limit"], 12.0);
    assert_eq!(cfg["enable-location-replacement"], "false");
    tokio::time::sleep(Duration::from_millis(3600)).await;
    assert_eq!(sim.paused_schedulers(), PAUSED, "refreshed before its TTL");
    assert_eq!(sim.schedule_config()["max-merge-region-keys"], 0);
    pause.resume().await.unwrap();
    assert!(sim.paused_schedulers().is_empty());
    let cfg = sim.schedule_config();
    assert_eq!(cfg["max-merge-region-keys"], 200000);
    assert_eq!(cfg["leader-schedule-limit"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_importer_leaves_no_global_pause_behind() {
    let sim = sim(Default::default()).await;
    crash_after(&sim, |c| async move {
        SchedulerPause::global(c.pd_http(), 3, Duration::from_secs(2))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(sim.paused_schedulers(), PAUSED);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert!(sim.paused_schedulers().is_empty());
    assert_eq!(sim.schedule_config()["max-merge-region-keys"], 200000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_range_pause_is_a_label_rule_on_encoded_keys() {
    let sim = sim(Default::default()).await;
    let c = connect(&sim).await;
    let r = table_range(7);
    let pause = SchedulerPause::key_range(c.pd_http(), &r.start, &r.end, Duration::from_secs(3))
        .await
        .unwrap();
    let id = pause.rule_id().unwrap().to_string();
    assert_eq!(sim.label_rules(), std::slice::from_ref(&id));
    let rules = c.pd_http().label_rules().await.unwrap();
    let rule = &rules[0];
    assert_eq!(rule["labels"][0]["key"], "schedule");
    assert_eq!(rule["labels"][0]["value"], "deny");
    assert_eq!(rule["labels"][0]["ttl"], "3s");
    assert_eq!(rule["data"][0]["start_key"], hex(&encode_key(&r.start)));
    assert_eq!(rule["data"][0]["end_key"], hex(&encode_key(&r.end)));
    assert!(
        sim.paused_schedulers().is_empty(),
        "table scope pauses nothing globally"
    );
    tokio::time::sleep(Duration::from_millis(3600)).await;
    assert_eq!(sim.label_rules(), [id], "refreshed before its TTL");
    pause.resume().await.unwrap();
    assert!(sim.label_rules().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_range_pauses_end_by_ttl_after_a_crash_and_on_drop() {
    let sim = sim(Default::default()).await;
    let r = table_range(8);
    let (start, end) = (r.start.clone(), r.end.clone());
    crash_after(&sim, move |c| async move {
        SchedulerPause::key_range(c.pd_http(), &start, &end, Duration::from_secs(2))
            .await
            .unwrap()
    })
    .await;
    assert_eq!(sim.label_rules().len(), 1);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert!(sim.label_rules().is_empty(), "expired by its TTL");

    let c = connect(&sim).await;
    let pause = SchedulerPause::key_range(c.pd_http(), &r.start, b"", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(sim.label_rules().len(), 1);
    drop(pause);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while !sim.label_rules().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "drop deletes the rule"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
