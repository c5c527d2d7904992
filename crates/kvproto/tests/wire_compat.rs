//! Wire compatibility of our `.proto` subset with upstream kvproto.
//!
//! For every message we define, the test writes a text-format instance with every
//! field set to a distinctive value (one instance per oneof member), encodes it with
//! protoc against OUR protos, decodes the bytes into our prost type and re-encodes
//! them (so a field our Rust type lost would vanish), then decodes the result with
//! protoc against both our protos and UPSTREAM's. The three texts must be equal and
//! free of unknown (numbered) fields. Upstream's protos come from the `tikv-client`
//! package, which ships kvproto's `proto/` dir; cargo fetches it into a throwaway project.

mod support;

use prost::Message;
use support::{decode_text, encode_text, message_texts, our_descriptors, upstream_proto_dir};

type Roundtrip = fn(&[u8]) -> Result<Vec<u8>, prost::DecodeError>;

fn roundtrip<M: Message + Default>(bytes: &[u8]) -> Result<Vec<u8>, prost::DecodeError> {
    Ok(M::decode(bytes)?.encode_to_vec())
}

macro_rules! registry {
    ($($pkg:ident :: $ty:ident),* $(,)?) => {
        vec![$((
            concat!(stringify!($pkg), ".", stringify!($ty)),
            roundtrip::<lightning_kvproto::$pkg::$ty> as Roundtrip,
        )),*]
    };
}

/// Every message type we generate, by proto full name.
fn all_messages() -> Vec<(&'static str, Roundtrip)> {
    let mut v = registry![
        metapb::StoreLabel,
        metapb::Store,
        metapb::RegionEpoch,
        metapb::Region,
        metapb::Peer,
        errorpb::NotLeader,
        errorpb::DiskFull,
        errorpb::StoreNotMatch,
        errorpb::RegionNotFound,
        errorpb::KeyNotInRegion,
        errorpb::EpochNotMatch,
        errorpb::ServerIsBusy,
        errorpb::StaleCommand,
        errorpb::RaftEntryTooLarge,
        errorpb::RegionNotInitialized,
        errorpb::MismatchPeerId,
        errorpb::Error,
        kvrpcpb::Context,
        kvrpcpb::SplitRegionRequest,
        kvrpcpb::SplitRegionResponse,
        import_sstpb::SwitchModeRequest,
        import_sstpb::SwitchModeResponse,
        import_sstpb::GetModeRequest,
        import_sstpb::GetModeResponse,
        import_sstpb::Range,
        import_sstpb::SstMeta,
        import_sstpb::IngestRequest,
        import_sstpb::MultiIngestRequest,
        import_sstpb::IngestResponse,
        import_sstpb::Error,
        import_sstpb::Pair,
        import_sstpb::WriteBatch,
        import_sstpb::WriteRequest,
        import_sstpb::WriteResponse,
        import_sstpb::DuplicateDetectRequest,
        import_sstpb::KvPair,
        import_sstpb::DuplicateDetectResponse,
        coprocessor::KeyRange,
        coprocessor::Request,
        coprocessor::Response,
        pdpb::RequestHeader,
        pdpb::ResponseHeader,
        pdpb::Error,
        pdpb::GetClusterInfoRequest,
        pdpb::GetClusterInfoResponse,
        pdpb::Member,
        pdpb::GetMembersRequest,
        pdpb::GetMembersResponse,
        pdpb::Timestamp,
        pdpb::TsoRequest,
        pdpb::TsoResponse,
        pdpb::AllocIdRequest,
        pdpb::AllocIdResponse,
        pdpb::GetStoreRequest,
        pdpb::GetStoreResponse,
        pdpb::GetAllStoresRequest,
        pdpb::GetAllStoresResponse,
        pdpb::GetRegionRequest,
        pdpb::PeerStats,
        pdpb::GetRegionResponse,
        pdpb::GetRegionByIdRequest,
        pdpb::ScanRegionsRequest,
        pdpb::Region,
        pdpb::ScanRegionsResponse,
        pdpb::ScatterRegionRequest,
        pdpb::ScatterRegionResponse,
        pdpb::GetOperatorRequest,
        pdpb::GetOperatorResponse,
        pdpb::SplitRegionsRequest,
        pdpb::SplitRegionsResponse,
        pdpb::SplitAndScatterRegionsRequest,
        pdpb::SplitAndScatterRegionsResponse,
        tipb::ChecksumRewriteRule,
        tipb::ChecksumRequest,
        tipb::ChecksumResponse,
    ];
    // prost renames acronyms in Rust (SstMeta, AllocIdRequest, ...); map back to proto names.
    for (name, _) in v.iter_mut() {
        *name = match *name {
            "import_sstpb.SstMeta" => "import_sstpb.SSTMeta",
            "pdpb.AllocIdRequest" => "pdpb.AllocIDRequest",
            "pdpb.AllocIdResponse" => "pdpb.AllocIDResponse",
            "pdpb.GetRegionByIdRequest" => "pdpb.GetRegionByIDRequest",
            other => other,
        };
    }
    v
}

#[test]
fn every_message_decodes_identically_with_upstream_protos() {
    let ours = support::our_proto_dir();
    let upstream = upstream_proto_dir();
    let fds = our_descriptors(&ours);
    let registry = all_messages();

    // The registry must list exactly the messages our protos define.
    let mut defined: Vec<String> = support::message_names(&fds);
    defined.sort();
    let mut listed: Vec<String> = registry.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(defined, listed, "test registry out of sync with proto/");

    let mut checked = 0;
    for (name, rt) in &registry {
        let package = name.split('.').next().expect("qualified name");
        // tipb's protos are not shipped by any crates.io package (tikv-client has no
        // tipb; there is no `tipb` crate), so tipb messages are checked against our own
        // protos only; their field numbers were taken from pingcap/tipb proto/checksum.proto.
        let upstream_file = (package != "tipb").then(|| format!("{package}.proto"));
        let our_file = if package == "tipb" {
            "checksum.proto".to_string()
        } else {
            format!("{package}.proto")
        };
        for text in message_texts(&fds, name) {
            let bytes = encode_text(&[&ours], &our_file, name, &text);
            let rust_bytes = rt(&bytes).unwrap_or_else(|e| panic!("{name}: prost decode: {e}"));
            let expected = decode_text(&[&ours], &our_file, name, &bytes);
            let via_rust = decode_text(&[&ours], &our_file, name, &rust_bytes);
            assert_eq!(
                expected, via_rust,
                "{name}: our Rust type lost or changed a field"
            );
            assert!(
                !support::has_unknown_fields(&expected),
                "{name}: unknown fields:\n{expected}"
            );
            assert_eq!(
                expected.is_empty(),
                text.is_empty(),
                "{name}: fields vanished"
            );
            if let Some(file) = &upstream_file {
                let include = upstream.join("include");
                let up = decode_text(&[&upstream, &include], file, name, &rust_bytes);
                assert!(
                    !support::has_unknown_fields(&up),
                    "{name}: upstream sees unknown fields:\n{up}"
                );
                assert_eq!(
                    expected, up,
                    "{name}: upstream decodes our bytes differently"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= registry.len());
}
