//! The simulated PD + TiKV driven by plain generated gRPC clients: PD basics, splits
//! and epochs, write + ingest + checksum, the refusals TiKV gives, replicas.

mod common;

use common::*;
use lightning_encode::KvChecksum;
use lightning_kvproto::{coprocessor, import_sstpb, kvrpcpb, pdpb, tipb, REQ_TYPE_CHECKSUM};
use lightning_testkit::cluster::{encode_key, SimCluster, SimOptions, SCATTER_DURATION};
use prost::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pd_reports_members_stores_ids_and_monotonic_tso() {
    let c = cluster().await;
    let mut pd = pd(&c).await;
    let m = pd
        .get_members(pdpb::GetMembersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.header.unwrap().cluster_id, c.cluster_id());
    assert!(m.leader.unwrap().client_urls[0].ends_with(&c.addrs().pd));
    let stores = pd
        .get_all_stores(pdpb::GetAllStoresRequest::default())
        .await
        .unwrap()
        .into_inner()
        .stores;
    let got: Vec<(u64, String)> = stores.iter().map(|s| (s.id, s.address.clone())).collect();
    assert_eq!(got, c.addrs().stores);
    assert!(stores.iter().all(|s| !s.labels.is_empty()));
    let a = pd
        .alloc_id(pdpb::AllocIdRequest::default())
        .await
        .unwrap()
        .into_inner()
        .id;
    let b = pd
        .alloc_id(pdpb::AllocIdRequest::default())
        .await
        .unwrap()
        .into_inner()
        .id;
    assert!(b > a);

    let reqs = vec![
        pdpb::TsoRequest {
            count: 10,
            ..Default::default()
        },
        pdpb::TsoRequest {
            count: 1,
            ..Default::default()
        },
    ];
    let mut out = pd.tso(tokio_stream::iter(reqs)).await.unwrap().into_inner();
    let t1 = out.message().await.unwrap().unwrap().timestamp.unwrap();
    let t2 = out.message().await.unwrap().unwrap().timestamp.unwrap();
    assert!(t1.physical > 0 && t1.logical >= 10);
    assert!((t2.physical, t2.logical) > (t1.physical, t1.logical));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splits_bump_epochs_and_scan_regions_sees_them() {
    let c = cluster().await;
    let (r0, leader) = region_of(&c, b"a");
    assert_eq!(
        (r0.start_key.len(), r0.end_key.len()),
        (0, 0),
        "one region covers everything"
    );
    assert_eq!(r0.peers.len(), 3);
    let v0 = r0.region_epoch.unwrap().version;

    let mut kv = tikv(&c, leader.store_id).await;
    let req = kvrpcpb::SplitRegionRequest {
        context: Some(ctx(&r0, &leader)),
        split_keys: vec![b"b".to_vec(), b"d".to_vec()],
        ..Default::default()
    };
    let resp = kv.split_region(req.clone()).await.unwrap().into_inner();
    assert!(resp.region_error.is_none(), "{:?}", resp.region_error);
    assert_eq!(resp.regions.len(), 3);
    assert!(resp
        .regions
        .iter()
        .all(|r| r.region_epoch.unwrap().version == v0 + 2));
    assert_eq!(
        resp.regions[2].id, r0.id,
        "right derive: the original id keeps the last part"
    );
    assert_eq!(resp.regions[1].start_key, encode_key(b"b"));

    // The same request again carries a stale epoch.
    let again = kv.split_region(req).await.unwrap().into_inner();
    assert!(again.region_error.unwrap().epoch_not_match.is_some());

    let mut pd = pd(&c).await;
    let scan = |limit| pdpb::ScanRegionsRequest {
        limit,
        ..Default::default()
    };
    let all = pd.scan_regions(scan(0)).await.unwrap().into_inner();
    assert_eq!(all.regions.len(), 3);
    assert_eq!(all.region_metas.len(), 3);
    assert_eq!(
        pd.scan_regions(scan(2))
            .await
            .unwrap()
            .into_inner()
            .regions
            .len(),
        2
    );
    let mid = pd
        .get_region(pdpb::GetRegionRequest {
            region_key: encode_key(b"c"),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mid.region.as_ref().unwrap().start_key, encode_key(b"b"));
    assert!(mid.leader.is_some());
    let by_id = pd
        .get_region_by_id(pdpb::GetRegionByIdRequest {
            region_id: r0.id,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_id.region.unwrap().start_key, encode_key(b"d"));

    // PD's split and scatter, then the scatter operator runs for a while and finishes.
    let req = pdpb::SplitAndScatterRegionsRequest {
        split_keys: vec![encode_key(b"f")],
        ..Default::default()
    };
    let ss = pd
        .split_and_scatter_regions(req)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (ss.split_finished_percentage, ss.regions_id.len()),
        (100, 1)
    );
    let op = |id| pdpb::GetOperatorRequest {
        region_id: id,
        ..Default::default()
    };
    let running = pd
        .get_operator(op(ss.regions_id[0]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(running.status, pdpb::OperatorStatus::Running as i32);
    tokio::time::sleep(SCATTER_DURATION).await;
    let done = pd
        .get_operator(op(ss.regions_id[0]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.status, pdpb::OperatorStatus::Success as i32);
    let none = pd.get_operator(op(999_999)).await.unwrap().into_inner();
    assert_eq!(
        none.header.unwrap().error.unwrap().r#type,
        pdpb::ErrorType::RegionNotFound as i32
    );
    assert_eq!(c.regions().len(), 4);
}

async fn checksum(c: &SimCluster, start: &[u8], end: &[u8]) -> tipb::ChecksumResponse {
    let (region, leader) = region_of(c, start);
    let data = tipb::ChecksumRequest {
        scan_on: Some(0),
        algorithm: Some(0),
        ..Default::default()
    }
    .encode_to_vec();
    let req = coprocessor::Request {
        context: Some(ctx(&region, &leader)),
        tp: REQ_TYPE_CHECKSUM,
        data,
        ranges: vec![coprocessor::KeyRange {
            start: start.to_vec(),
            end: end.to_vec(),
        }],
        ..Default::default()
    };
    let resp = tikv(c, leader.store_id)
        .await
        .coprocessor(req)
        .await
        .unwrap()
        .into_inner();
    assert!(
        resp.region_error.is_none() && resp.other_error.is_empty(),
        "{resp:?}"
    );
    tipb::ChecksumResponse::decode(resp.data.as_slice()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn written_and_ingested_data_is_visible_on_every_replica_and_checksummed() {
    let c = cluster().await;
    let (region, leader) = region_of(&c, b"t");
    let mut pairs = kvs("t", 20);
    pairs.push((b"tlong".to_vec(), vec![7; 300]));
    pairs.sort();
    let meta = sst_meta(1, &region, &pairs);
    let metas = write_all_peers(&c, &region, &leader, &meta, &pairs, 100).await;
    assert_eq!(
        metas.iter().map(|m| m.cf_name.as_str()).collect::<Vec<_>>(),
        ["default", "write"]
    );
    assert!(
        c.scan(b"", b"").is_empty(),
        "staged data is not visible before ingest"
    );

    assert_eq!(
        multi_ingest(&c, leader.store_id, ctx(&region, &leader), metas.clone()).await,
        None
    );
    assert_eq!(c.scan(b"t", b"u"), pairs);
    for (store, _) in &c.addrs().stores {
        assert_eq!(
            c.store_scan(*store, b"", b""),
            pairs,
            "replica on store {store}"
        );
        assert_eq!(c.staged_files(*store), 0);
    }
    assert!(c.missed_ingests().is_empty());

    let mut expect = KvChecksum::new();
    pairs.iter().for_each(|(k, v)| expect.update(k, v));
    let got = checksum(&c, b"t", b"u").await;
    assert_eq!(
        (got.checksum, got.total_kvs, got.total_bytes),
        (Some(expect.crc), Some(expect.kvs), Some(expect.bytes))
    );

    // The files are consumed: ingesting them again is a stale command, as in TiKV.
    let again = multi_ingest(&c, leader.store_id, ctx(&region, &leader), metas)
        .await
        .unwrap();
    assert!(again.stale_command.is_some(), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_refusals_match_tikv() {
    let c = cluster().await;
    let (region, leader) = region_of(&c, b"k");
    let pairs = kvs("k", 4);
    let meta = sst_meta(2, &region, &pairs);
    let metas = write_all_peers(&c, &region, &leader, &meta, &pairs, 10).await;

    // Not the leader: NotLeader naming the leader peer.
    let follower = region
        .peers
        .iter()
        .find(|p| p.store_id != leader.store_id)
        .unwrap();
    let e = multi_ingest(&c, follower.store_id, ctx(&region, follower), metas.clone())
        .await
        .unwrap();
    assert_eq!(e.not_leader.unwrap().leader.unwrap(), leader);

    // Out of the region: KeyNotInRegion with the region's bounds.
    let mut outside = metas.clone();
    for m in &mut outside {
        m.range.as_mut().unwrap().end = encode_key(b"zzz");
    }
    c.split_at(b"m");
    let (region2, _) = region_of(&c, b"k");
    for m in &mut outside {
        m.region_epoch = region2.region_epoch;
        m.region_id = region2.id;
    }
    let e = multi_ingest(&c, leader.store_id, ctx(&region2, &leader), outside)
        .await
        .unwrap();
    let knr = e.key_not_in_region.expect("key not in region");
    assert_eq!((knr.region_id, knr.end_key), (region2.id, encode_key(b"m")));

    // Stale epoch (the split bumped the version): EpochNotMatch with current regions.
    let e = multi_ingest(&c, leader.store_id, ctx(&region, &leader), metas.clone())
        .await
        .unwrap();
    let enm = e.epoch_not_match.expect("epoch not match");
    assert!(enm
        .current_regions
        .iter()
        .any(|r| r.id == region2.id && r.region_epoch == region2.region_epoch));

    // An SST never written to the leader's store: TiKV's "file does not exist" StaleCommand.
    let (r3, l3) = region_of(&c, b"p");
    let p3 = kvs("p", 2);
    let m3 = sst_meta(3, &r3, &p3);
    let f3 = r3.peers.iter().find(|p| p.store_id != l3.store_id).unwrap();
    let metas3 = write(&c, f3.store_id, &m3, &p3, 10).await.unwrap().metas;
    let e = multi_ingest(&c, l3.store_id, ctx(&r3, &l3), metas3)
        .await
        .unwrap();
    assert!(
        e.stale_command.is_some() && e.message.contains("not exist"),
        "{e:?}"
    );
    assert!(
        c.scan(b"", b"").is_empty(),
        "nothing refused became visible"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_missed_the_write_is_detectable() {
    let c = cluster().await;
    let (region, leader) = region_of(&c, b"r");
    let pairs = kvs("r", 5);
    let meta = sst_meta(4, &region, &pairs);
    let skipped = region
        .peers
        .iter()
        .find(|p| p.store_id != leader.store_id)
        .unwrap()
        .store_id;
    let mut metas = Vec::new();
    for p in region.peers.iter().filter(|p| p.store_id != skipped) {
        let r = write(&c, p.store_id, &meta, &pairs, 7).await.unwrap();
        if p.store_id == leader.store_id {
            metas = r.metas;
        }
    }
    assert_eq!(
        multi_ingest(&c, leader.store_id, ctx(&region, &leader), metas).await,
        None
    );
    assert_eq!(c.scan(b"", b""), pairs);
    assert!(c.store_scan(skipped, b"", b"").is_empty());
    assert_eq!(
        c.missed_ingests()
            .iter()
            .map(|m| (m.0, m.1))
            .collect::<Vec<_>>(),
        [(skipped, region.id)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_split_by_themselves_past_the_key_threshold_and_duplicates_are_found() {
    let opts = SimOptions {
        region_split_keys: 8,
        ..Default::default()
    };
    let c = SimCluster::start(opts).await.unwrap();
    let (region, leader) = region_of(&c, b"a");
    let pairs = kvs("a", 20);
    let metas = write_all_peers(
        &c,
        &region,
        &leader,
        &sst_meta(5, &region, &pairs),
        &pairs,
        50,
    )
    .await;
    assert_eq!(
        multi_ingest(&c, leader.store_id, ctx(&region, &leader), metas).await,
        None
    );
    assert!(
        c.regions().len() >= 3,
        "20 keys over an 8-key threshold split: {:?}",
        c.regions().len()
    );
    for (r, l) in c.regions() {
        assert!(
            c.store_scan(l.store_id, b"", b"")
                .into_iter()
                .filter(|(k, _)| {
                    let e = encode_key(k);
                    e >= r.start_key && (r.end_key.is_empty() || e < r.end_key)
                })
                .count()
                <= 8
        );
    }
    assert_eq!(c.scan(b"", b"").len(), 20);

    // Ingest a0000 again at a later ts: DuplicateDetect lists both versions.
    let (r, l) = region_of(&c, b"a0000");
    let dup = vec![(b"a0000".to_vec(), b"other".to_vec())];
    let metas = write_all_peers(&c, &r, &l, &sst_meta(6, &r, &dup), &dup, 60).await;
    assert_eq!(multi_ingest(&c, l.store_id, ctx(&r, &l), metas).await, None);
    let (r, l) = region_of(&c, b"a0000");
    let req = import_sstpb::DuplicateDetectRequest {
        context: Some(ctx(&r, &l)),
        start_key: b"a".to_vec(),
        end_key: b"b".to_vec(),
        ..Default::default()
    };
    let mut stream = import(&c, l.store_id)
        .await
        .duplicate_detect(req)
        .await
        .unwrap()
        .into_inner();
    let mut found = Vec::new();
    while let Some(resp) = stream.message().await.unwrap() {
        assert!(resp.region_error.is_none());
        found.extend(
            resp.pairs
                .into_iter()
                .map(|p| (p.key, p.value, p.commit_ts)),
        );
    }
    assert_eq!(
        found,
        [
            (b"a0000".to_vec(), b"other".to_vec(), 60),
            (b"a0000".to_vec(), b"value-0".to_vec(), 50)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_frees_the_ports() {
    let c = cluster().await;
    let addrs = c.addrs().clone();
    c.shutdown().await;
    std::net::TcpListener::bind(&addrs.pd).expect("pd port is free again");
    for (_, a) in &addrs.stores {
        std::net::TcpListener::bind(a).expect("store port is free again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scatter_moves_peers_with_their_data_and_bumps_conf_ver() {
    let opts = SimOptions {
        stores: 5,
        replicas: 3,
        seed: 7,
        ..Default::default()
    };
    let c = SimCluster::start(opts).await.unwrap();
    let (region, leader) = region_of(&c, b"s");
    let pairs = kvs("s", 6);
    let metas = write_all_peers(
        &c,
        &region,
        &leader,
        &sst_meta(8, &region, &pairs),
        &pairs,
        9,
    )
    .await;
    assert_eq!(
        multi_ingest(&c, leader.store_id, ctx(&region, &leader), metas).await,
        None
    );

    let mut pd = pd(&c).await;
    let mut moved = false;
    for _ in 0..8 {
        let req = pdpb::ScatterRegionRequest {
            regions_id: vec![region.id],
            ..Default::default()
        };
        let resp = pd.scatter_region(req).await.unwrap().into_inner();
        assert_eq!(resp.finished_percentage, 100);
        let (after, _) = region_of(&c, b"s");
        let before: Vec<u64> = region.peers.iter().map(|p| p.store_id).collect();
        moved |= after.peers.iter().any(|p| !before.contains(&p.store_id));
        if moved {
            assert!(after.region_epoch.unwrap().conf_ver > region.region_epoch.unwrap().conf_ver);
            break;
        }
    }
    assert!(moved, "some scatter over 5 stores moved a peer");
    let (after, new_leader) = region_of(&c, b"s");
    assert_eq!(after.peers.len(), 3);
    for (store, _) in &c.addrs().stores {
        let has_peer = after.peers.iter().any(|p| p.store_id == *store);
        assert_eq!(
            c.store_scan(*store, b"", b"").len(),
            if has_peer { 6 } else { 0 },
            "store {store}"
        );
    }
    assert_eq!(c.scan(b"", b""), pairs);

    // A write with the pre-scatter epoch is refused on a store of the new peer set.
    let stale = sst_meta(10, &region, &pairs);
    let err = write(&c, new_leader.store_id, &stale, &pairs, 11)
        .await
        .unwrap_err();
    assert!(
        err.message().contains("RequestTooOld") || err.message().contains("not found"),
        "{err:?}"
    );
}
