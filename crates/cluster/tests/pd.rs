//! The PD client against the simulated PD: leader discovery, stores, regions, TSO,
//! PD-side split and scatter, HTTP reads.

mod common;

use common::*;
use lightning_cluster::{keys, Cluster, ClusterError, KeyRange, Transport};
use lightning_kvproto::pdpb;
use lightning_testkit::cluster::{encode_key, SimOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_through_any_listed_pd_and_reads_the_cluster() {
    let sim = sim(Default::default()).await;
    // A dead address first: discovery moves on to the next one.
    let dead = "127.0.0.1:1".to_string();
    let c = Cluster::connect(
        &[dead.clone(), sim.addrs().pd.clone()],
        Transport::plain(),
        fast_options(),
    )
    .await
    .unwrap();
    assert_eq!(c.pd().cluster_id(), sim.cluster_id());
    assert!(c.pd().leader_url().ends_with(&sim.addrs().pd));
    let stores: Vec<(u64, String)> = c
        .tikv_stores()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.address))
        .collect();
    assert_eq!(stores, sim.addrs().stores);
    assert_eq!(
        c.pd().get_store(2).await.unwrap().address,
        sim.addrs().stores[1].1
    );
    assert!(matches!(
        c.pd().get_store(99).await,
        Err(ClusterError::UnknownStore { store_id: 99 })
    ));

    let t1 = c.commit_ts().await.unwrap();
    let t2 = c.commit_ts().await.unwrap();
    assert!(t2 > t1);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        (t2 >> 18).abs_diff(now_ms) < 10_000,
        "physical part is wall-clock ms"
    );

    assert_eq!(c.pd_http().max_replicas().await.unwrap(), 3);
    assert!(c.pd_http().version().await.unwrap().starts_with('v'));

    let e = Cluster::connect(&[dead], Transport::plain(), fast_options())
        .await
        .err()
        .expect("no PD");
    assert!(matches!(e, ClusterError::PdUnreachable { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_come_back_with_raw_bounds_and_leaders() {
    let sim = sim(Default::default()).await;
    let c = connect(&sim).await;
    sim.split_at(b"m");
    sim.split_at(b"t");
    let all = c.pd().scan_regions(b"", b"", 0).await.unwrap();
    let bounds: Vec<KeyRange> = all.iter().map(|r| r.raw.clone()).collect();
    assert_eq!(
        bounds,
        [
            KeyRange::new(b"", b"m"),
            KeyRange::new(b"m", b"t"),
            KeyRange::new(b"t", b"")
        ]
    );
    assert!(all.iter().all(|r| r.leader.is_some()));
    let mid = c.pd().get_region(&encode_key(b"p")).await.unwrap().unwrap();
    assert_eq!(mid.raw, KeyRange::new(b"m", b"t"));
    let by_id = c.pd().get_region_by_id(mid.id()).await.unwrap().unwrap();
    assert_eq!(by_id.region, mid.region);
    assert!(c.pd().get_region_by_id(4242).await.unwrap().is_none());
    let covering = lightning_cluster::scan_range(&c, &KeyRange::new(b"n", b"u"))
        .await
        .unwrap();
    assert_eq!(covering.len(), 2);
    assert_eq!(keys::decode_bound(&encode_key(b"zz")).unwrap(), b"zz");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pd_side_split_scatter_and_operators() {
    let sim = sim(SimOptions {
        stores: 5,
        ..Default::default()
    })
    .await;
    let c = connect(&sim).await;
    let ids = c
        .pd()
        .split_regions(vec![encode_key(b"b"), encode_key(b"d")])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let ids = c
        .pd()
        .split_and_scatter_regions(vec![encode_key(b"f")])
        .await
        .unwrap();
    let op = c.pd().get_operator(ids[0]).await.unwrap();
    assert_eq!(op.desc, b"scatter-region");
    assert_eq!(op.status, pdpb::OperatorStatus::Running as i32);
    assert_eq!(c.wait_scattered(&ids).await, 0);
    assert_eq!(c.pd().scatter_regions(&ids).await.unwrap(), 100);
    assert_eq!(sim.regions().len(), 4);
}
