//! Our wire-compatible subset of kvproto (PD, TiKV, ImportSST) and tipb's checksum messages.
//!
//! The `.proto` files under `proto/` mirror upstream messages field for field (same
//! numbers, types and enum values; unused fields are left out, never renumbered).
//! `build.rs` turns them into prost types plus tonic clients and servers, one Rust
//! module per proto package. The physical-import backend speaks through the clients;
//! the simulated cluster in `lightning-testkit` implements the servers.
//! `tests/wire_compat.rs` decodes our encodings against upstream's own `.proto` files.

#![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

/// kvproto `metapb`: stores, regions, peers and epochs.
pub mod metapb {
    tonic::include_proto!("metapb");
}

/// kvproto `errorpb`: region errors (not leader, epoch not match, server busy, ...).
pub mod errorpb {
    tonic::include_proto!("errorpb");
}

/// kvproto `kvrpcpb`: the request `Context` and region split messages.
pub mod kvrpcpb {
    tonic::include_proto!("kvrpcpb");
}

/// kvproto `import_sstpb`: the ImportSST service (write, ingest, modes, duplicates).
pub mod import_sstpb {
    tonic::include_proto!("import_sstpb");
}

/// kvproto `coprocessor`: the coprocessor request and response envelopes.
pub mod coprocessor {
    tonic::include_proto!("coprocessor");
}

/// kvproto `tikvpb`: the Tikv service (SplitRegion, Coprocessor).
pub mod tikvpb {
    tonic::include_proto!("tikvpb");
}

/// kvproto `pdpb`: the PD service (regions, stores, split/scatter, TSO, ids).
pub mod pdpb {
    tonic::include_proto!("pdpb");
}

/// tipb's checksum messages, the payload of a coprocessor checksum request.
pub mod tipb {
    tonic::include_proto!("tipb");
}

/// Coprocessor request type of a checksum request (TiDB's `kv.ReqTypeChecksum`).
pub const REQ_TYPE_CHECKSUM: i64 = 105;
