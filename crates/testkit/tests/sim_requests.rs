//! Request-level details of the simulated cluster: PD lookups, TiKV split and
//! coprocessor refusals, store mismatches.

mod common;

use common::*;
use lightning_kvproto::{coprocessor, kvrpcpb, pdpb, tipb, REQ_TYPE_CHECKSUM};
use lightning_testkit::cluster::encode_key;
use prost::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pd_lookups_and_plain_split_regions() {
    let c = cluster().await;
    let mut pd = pd(&c).await;
    let info = pd
        .get_cluster_info(pdpb::GetClusterInfoRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.service_modes, [pdpb::ServiceMode::PdSvcMode as i32]);
    let st = pd
        .get_store(pdpb::GetStoreRequest {
            store_id: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(st.store.unwrap().address, c.addrs().stores[1].1);
    let missing = pd
        .get_store(pdpb::GetStoreRequest {
            store_id: 99,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(missing.header.unwrap().error.is_some());

    let req = pdpb::SplitRegionsRequest {
        split_keys: vec![encode_key(b"m"), encode_key(b"t")],
        ..Default::default()
    };
    let resp = pd.split_regions(req).await.unwrap().into_inner();
    assert_eq!((resp.finished_percentage, resp.regions_id.len()), (100, 2));
    let prev = pd
        .get_prev_region(pdpb::GetRegionRequest {
            region_key: encode_key(b"u"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let prev = prev.region.unwrap();
    assert_eq!(
        (prev.start_key, prev.end_key),
        (encode_key(b"m"), encode_key(b"t"))
    );
    let first = pd
        .get_prev_region(pdpb::GetRegionRequest {
            region_key: encode_key(b"a"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(first.region.is_none(), "nothing before the first region");
    let unknown = pd
        .get_region_by_id(pdpb::GetRegionByIdRequest {
            region_id: 424242,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(unknown.region.is_none());
    // ScanRegions from a key in the middle starts at the region containing it.
    let scan = pd
        .scan_regions(pdpb::ScanRegionsRequest {
            start_key: encode_key(b"p"),
            end_key: encode_key(b"u"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let starts: Vec<Vec<u8>> = scan
        .regions
        .iter()
        .map(|r| r.region.as_ref().unwrap().start_key.clone())
        .collect();
    assert_eq!(starts, [encode_key(b"m"), encode_key(b"t")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tikv_split_refuses_keys_outside_the_region_and_non_leaders() {
    let c = cluster().await;
    c.split_at(b"m");
    let (region, leader) = region_of(&c, b"a");
    let mut kv = tikv(&c, leader.store_id).await;
    let req = kvrpcpb::SplitRegionRequest {
        context: Some(ctx(&region, &leader)),
        split_keys: vec![b"x".to_vec()],
        ..Default::default()
    };
    let e = kv
        .split_region(req)
        .await
        .unwrap()
        .into_inner()
        .region_error
        .unwrap();
    assert_eq!(e.key_not_in_region.unwrap().end_key, encode_key(b"m"));

    let follower = *region
        .peers
        .iter()
        .find(|p| p.store_id != leader.store_id)
        .unwrap();
    let req = kvrpcpb::SplitRegionRequest {
        context: Some(ctx(&region, &follower)),
        split_keys: vec![b"c".to_vec()],
        ..Default::default()
    };
    let e = tikv(&c, follower.store_id)
        .await
        .split_region(req)
        .await
        .unwrap()
        .into_inner()
        .region_error
        .unwrap();
    assert_eq!(e.not_leader.unwrap().leader.unwrap(), leader);

    // A context naming another store: StoreNotMatch, as raftstore checks first.
    let req = kvrpcpb::SplitRegionRequest {
        context: Some(ctx(&region, &follower)),
        split_keys: vec![b"c".to_vec()],
        ..Default::default()
    };
    let e = kv
        .split_region(req)
        .await
        .unwrap()
        .into_inner()
        .region_error
        .unwrap();
    let snm = e.store_not_match.unwrap();
    assert_eq!(
        (snm.request_store_id, snm.actual_store_id),
        (follower.store_id, leader.store_id)
    );
    assert_eq!(c.regions().len(), 2, "no refused split happened");
}

fn checksum_req(
    region: &lightning_kvproto::metapb::Region,
    peer: &lightning_kvproto::metapb::Peer,
    tp: i64,
    start_ts: u64,
) -> coprocessor::Request {
    coprocessor::Request {
        context: Some(ctx(region, peer)),
        tp,
        data: tipb::ChecksumRequest::default().encode_to_vec(),
        start_ts,
        ranges: vec![coprocessor::KeyRange {
            start: b"c".to_vec(),
            end: b"d".to_vec(),
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coprocessor_checksum_reads_the_leader_at_start_ts() {
    let c = cluster().await;
    let (region, leader) = region_of(&c, b"c");
    let pairs = kvs("c", 3);
    let metas = write_all_peers(
        &c,
        &region,
        &leader,
        &sst_meta(1, &region, &pairs),
        &pairs,
        100,
    )
    .await;
    assert_eq!(
        multi_ingest(&c, leader.store_id, ctx(&region, &leader), metas).await,
        None
    );
    let mut kv = tikv(&c, leader.store_id).await;

    let at = |ts| checksum_req(&region, &leader, REQ_TYPE_CHECKSUM, ts);
    let decode =
        |r: coprocessor::Response| tipb::ChecksumResponse::decode(r.data.as_slice()).unwrap();
    let before = decode(kv.coprocessor(at(99)).await.unwrap().into_inner());
    assert_eq!(
        (before.checksum, before.total_kvs, before.total_bytes),
        (Some(0), Some(0), Some(0))
    );
    let after = decode(kv.coprocessor(at(100)).await.unwrap().into_inner());
    assert_eq!(after.total_kvs, Some(3));

    let dag = kv
        .coprocessor(checksum_req(&region, &leader, 103, 100))
        .await
        .unwrap()
        .into_inner();
    assert!(
        !dag.other_error.is_empty(),
        "only checksum requests are simulated"
    );

    let follower = *region
        .peers
        .iter()
        .find(|p| p.store_id != leader.store_id)
        .unwrap();
    let resp = tikv(&c, follower.store_id)
        .await
        .coprocessor(checksum_req(&region, &follower, REQ_TYPE_CHECKSUM, 100))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.region_error.unwrap().not_leader.is_some());
}
