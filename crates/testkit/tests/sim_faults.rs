//! Fault injection and PD's HTTP API of the simulated cluster: each fault kind is
//! observable by a plain client, and scheduling pauses expire by their TTL.

mod common;

use common::*;
use lightning_kvproto::{import_sstpb, kvrpcpb};
use lightning_testkit::cluster::{Fault, FaultRule, Step, Trigger};
use std::time::{Duration, Instant};

async fn staged(
    c: &lightning_testkit::cluster::SimCluster,
    key: &[u8],
    uuid: u8,
) -> (kvrpcpb::Context, Vec<import_sstpb::SstMeta>, u64) {
    let (region, leader) = region_of(c, key);
    let pairs = vec![(key.to_vec(), b"v".to_vec())];
    let metas = write_all_peers(
        c,
        &region,
        &leader,
        &sst_meta(uuid, &region, &pairs),
        &pairs,
        5,
    )
    .await;
    (ctx(&region, &leader), metas, leader.store_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_faults_give_tikv_region_errors() {
    let c = cluster().await;
    let (ctx0, metas, leader) = staged(&c, b"f1", 1).await;

    c.inject(FaultRule::next(Fault::ServerIsBusy, Step::Ingest, 1));
    let e = multi_ingest(&c, leader, ctx0.clone(), metas.clone())
        .await
        .unwrap();
    assert!(e.server_is_busy.is_some(), "{e:?}");

    c.inject(FaultRule::next(Fault::DiskFull, Step::Ingest, 1).on_store(leader));
    let e = multi_ingest(&c, leader, ctx0.clone(), metas.clone())
        .await
        .unwrap();
    assert_eq!(e.disk_full.unwrap().store_id, [leader]);

    c.inject(FaultRule::next(Fault::NotLeader, Step::Ingest, 1));
    let e = multi_ingest(&c, leader, ctx0.clone(), metas.clone())
        .await
        .unwrap();
    let new_leader = e.not_leader.unwrap().leader.unwrap();
    assert_ne!(new_leader.store_id, leader, "leadership moved away");
    assert_eq!(region_of(&c, b"f1").1, new_leader);

    // Retrying on the new leader succeeds; every replica staged the file.
    let (region, l) = region_of(&c, b"f1");
    assert_eq!(
        multi_ingest(&c, l.store_id, ctx(&region, &l), metas).await,
        None
    );
    assert_eq!(c.scan(b"", b"").len(), 1);

    let (ctx1, metas1, leader1) = staged(&c, b"f2", 2).await;
    c.inject(FaultRule::next(Fault::EpochNotMatch, Step::Ingest, 1));
    let e = multi_ingest(&c, leader1, ctx1, metas1).await.unwrap();
    assert!(e.epoch_not_match.is_some(), "{e:?}");
    assert_eq!(c.fired_faults().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_down_slow_and_dropped_write_stream_are_observable() {
    let c = cluster().await;
    let (region, leader) = region_of(&c, b"d");
    let pairs = vec![(b"d".to_vec(), b"v".to_vec())];
    let meta = sst_meta(9, &region, &pairs);

    c.set_store_down(2, true);
    let err = write(&c, 2, &meta, &pairs, 5).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    c.set_store_down(2, false);
    assert!(write(&c, 2, &meta, &pairs, 5).await.is_ok());

    c.inject(FaultRule::next(Fault::StoreDown, Step::Write, 1).on_store(3));
    assert_eq!(
        write(&c, 3, &meta, &pairs, 5).await.unwrap_err().code(),
        tonic::Code::Unavailable
    );

    c.inject(FaultRule::next(
        Fault::Slow(Duration::from_millis(300)),
        Step::Write,
        1,
    ));
    let t = Instant::now();
    write(&c, leader.store_id, &meta, &pairs, 5).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));

    c.set_store_delay(1, Duration::from_millis(200));
    let t = Instant::now();
    write(&c, 1, &meta, &pairs, 5).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(200));
    c.set_store_delay(1, Duration::ZERO);

    let before = c.staged_files(3);
    c.inject(FaultRule::next(Fault::DropWriteStream, Step::Write, 1).on_store(3));
    let err = write(&c, 3, &meta, &pairs, 5).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Aborted);
    assert_eq!(c.staged_files(3), before, "a dropped stream stages nothing");

    c.inject(FaultRule::next(Fault::ServerIsBusy, Step::Write, 1));
    let resp = write(&c, 1, &meta, &pairs, 5).await.unwrap();
    assert!(resp
        .error
        .unwrap()
        .store_error
        .unwrap()
        .server_is_busy
        .is_some());
    // A full disk refuses a Write as TiKV does: an import error (gRPC Unknown), nothing
    // staged.
    let before = c.staged_files(2);
    c.inject(FaultRule::next(Fault::DiskFull, Step::Write, 1).on_store(2));
    let err = write(&c, 2, &meta, &pairs, 5).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unknown);
    assert!(err.message().contains("DiskSpaceNotEnough"), "{err:?}");
    assert_eq!(c.staged_files(2), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_checks_epoch_and_commit_ts_like_tikv() {
    let c = cluster().await;
    let (region, _) = region_of(&c, b"w");
    let pairs = vec![(b"w".to_vec(), b"v".to_vec())];
    let meta = sst_meta(3, &region, &pairs);
    let err = write(&c, 1, &meta, &pairs, 0).await.unwrap_err();
    assert!(err.message().contains("invalid commit-ts 0"), "{err:?}");
    c.split_at(b"a");
    let err = write(&c, 1, &meta, &pairs, 5).await.unwrap_err();
    assert!(err.message().contains("RequestTooOld"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probabilistic_faults_follow_the_seed() {
    let run = || async {
        let c = cluster().await;
        c.inject(FaultRule {
            fault: Fault::ServerIsBusy,
            step: Step::SwitchMode,
            store: None,
            trigger: Trigger::Probability(0.5),
        });
        let mut client = import(&c, 1).await;
        let mut v = Vec::new();
        for _ in 0..16 {
            v.push(
                client
                    .get_mode(import_sstpb::GetModeRequest {})
                    .await
                    .is_ok(),
            );
        }
        (v, c.fired_faults().len())
    };
    let (a, fired) = run().await;
    assert_eq!(a, run().await.0);
    assert!(fired > 0 && fired < 16, "fired {fired}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_mode_is_per_store() {
    let c = cluster().await;
    let mut s2 = import(&c, 2).await;
    s2.switch_mode(import_sstpb::SwitchModeRequest {
        mode: import_sstpb::SwitchMode::Import as i32,
        ranges: vec![],
    })
    .await
    .unwrap();
    assert_eq!(
        s2.get_mode(import_sstpb::GetModeRequest {})
            .await
            .unwrap()
            .into_inner()
            .mode,
        1
    );
    assert_eq!((c.store_mode(1), c.store_mode(2)), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pd_http_pauses_and_label_rules_expire_by_ttl() {
    let c = cluster().await;
    let pd = c.addrs().pd.clone();
    let (code, body) = http(&pd, "GET", "/pd/api/v1/schedulers", "");
    assert_eq!(code, 200);
    assert!(body.contains("balance-leader-scheduler"), "{body}");
    let (code, _) = http(
        &pd,
        "POST",
        "/pd/api/v1/schedulers/balance-leader-scheduler",
        r#"{"delay": 1}"#,
    );
    assert_eq!(code, 200);
    let (_, paused) = http(&pd, "GET", "/pd/api/v1/schedulers?status=paused", "");
    assert!(paused.contains("balance-leader-scheduler"), "{paused}");

    let rule = r#"{"id":"lightning-1","labels":[{"key":"schedule","value":"deny","ttl":"1s"}],"rule_type":"key-range","data":[{"start_key":"74","end_key":"75"}]}"#;
    assert_eq!(
        http(&pd, "POST", "/pd/api/v1/config/region-label/rule", rule).0,
        200
    );
    assert!(http(&pd, "GET", "/pd/api/v1/config/region-label/rules", "")
        .1
        .contains("lightning-1"));

    assert_eq!(
        http(
            &pd,
            "POST",
            "/pd/api/v1/config?ttlSecond=1",
            r#"{"schedule.max-merge-region-keys": 0}"#
        )
        .0,
        200
    );
    assert_eq!(c.schedule_config()["max-merge-region-keys"], 0);
    let (_, cfg) = http(&pd, "GET", "/pd/api/v1/config/schedule", "");
    assert!(cfg.contains("\"max-merge-region-keys\":0"), "{cfg}");
    let (_, rep) = http(&pd, "GET", "/pd/api/v1/config/replicate", "");
    assert!(rep.contains("\"max-replicas\":3"), "{rep}");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(c.paused_schedulers().is_empty());
    assert!(c.label_rules().is_empty());
    assert_eq!(c.schedule_config()["max-merge-region-keys"], 200000);
    assert_eq!(
        http(&pd, "GET", "/pd/api/v1/schedulers?status=paused", "").1,
        "[]"
    );

    // Explicit resume and delete work before any TTL.
    http(
        &pd,
        "POST",
        "/pd/api/v1/schedulers/balance-region-scheduler",
        r#"{"delay": 300}"#,
    );
    assert_eq!(c.paused_schedulers(), ["balance-region-scheduler"]);
    http(
        &pd,
        "POST",
        "/pd/api/v1/schedulers/balance-region-scheduler",
        r#"{"delay": 0}"#,
    );
    assert!(c.paused_schedulers().is_empty());
    // The pd http client's patch form: set two rules, then delete one of them.
    let patch = r#"{"sets":[{"id":"a","labels":[{"key":"schedule","value":"deny","ttl":"5m"}],"rule_type":"key-range","data":[]},{"id":"b","labels":[],"rule_type":"key-range","data":[]}],"deletes":[]}"#;
    assert_eq!(
        http(&pd, "PATCH", "/pd/api/v1/config/region-label/rules", patch).0,
        200
    );
    assert_eq!(c.label_rules(), ["a", "b"]);
    http(
        &pd,
        "PATCH",
        "/pd/api/v1/config/region-label/rules",
        r#"{"sets":[],"deletes":["a"]}"#,
    );
    assert_eq!(c.label_rules(), ["b"]);
    let (_, by_ids) = http(
        &pd,
        "GET",
        "/pd/api/v1/config/region-label/rules/ids",
        r#"["b","zz"]"#,
    );
    assert!(
        by_ids.starts_with(r#"[{"#) && by_ids.contains(r#""id":"b""#),
        "{by_ids}"
    );
    assert_eq!(
        http(&pd, "DELETE", "/pd/api/v1/config/region-label/rule/b", "").0,
        200
    );
    assert!(c.label_rules().is_empty());

    // Region count over an escaped encoded key range.
    c.split_at(b"m");
    let all = http(
        &pd,
        "GET",
        "/pd/api/v1/stats/region?start_key=&end_key=",
        "",
    )
    .1;
    assert!(all.contains("\"count\":2"), "{all}");
    let m = lightning_testkit::cluster::encode_key(b"m");
    let esc: String = m.iter().map(|b| format!("%{b:02X}")).collect();
    let right = http(
        &pd,
        "GET",
        &format!("/pd/api/v1/stats/region?start_key={esc}&end_key="),
        "",
    )
    .1;
    assert!(right.contains("\"count\":1"), "{right}");

    let (code, version) = http(&pd, "GET", "/pd/api/v1/version", "");
    assert!(code == 200 && version.contains("\"version\""), "{version}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_split_of_an_empty_region_lands_on_an_encoded_key() {
    let c = cluster().await;
    c.split_at(b"m");
    let (region, leader) = region_of(&c, b"m");
    c.inject(FaultRule::next(Fault::EpochNotMatch, Step::Ingest, 1));
    let e = multi_ingest(&c, leader.store_id, ctx(&region, &leader), vec![])
        .await
        .unwrap();
    assert!(e.epoch_not_match.is_some(), "{e:?}");
    let starts: Vec<Vec<u8>> = c.regions().into_iter().map(|(r, _)| r.start_key).collect();
    let after_m = lightning_testkit::cluster::encode_key(b"m\0");
    assert!(starts.contains(&after_m), "{starts:?}");
}
