//! The crate's one error type: what failed, where (PD, store, region, key range), and
//! whether retrying can help.

use crate::keys::KeyRange;
use lightning_kvproto::errorpb;
use std::fmt;
use std::path::PathBuf;

/// Result of this crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;

/// The kind of a region error TiKV answered (kvproto `errorpb.Error`), as far as the
/// client's reaction differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionErrorKind {
    /// The store's peer is not the leader; `leader` is the one it knows of.
    NotLeader {
        /// The leader the store named, if any.
        leader: Option<lightning_kvproto::metapb::Peer>,
    },
    /// The region's epoch moved on (split, merge or conf change).
    EpochNotMatch,
    /// A key (or SST bound) lies outside the region.
    KeyNotInRegion,
    /// The store is overloaded; back off.
    ServerIsBusy,
    /// The region is not on this store (any more).
    RegionNotFound,
    /// The request went to the wrong store.
    StoreNotMatch,
    /// The command is stale, e.g. an ingest of an SST no longer staged.
    StaleCommand,
    /// The store(s) ran out of disk; an import cannot go on.
    DiskFull {
        /// Stores that reported it.
        stores: Vec<u64>,
    },
    /// Anything else, by its message.
    Other,
}

impl RegionErrorKind {
    /// Classifies a TiKV region error.
    pub fn of(e: &errorpb::Error) -> Self {
        if let Some(nl) = &e.not_leader {
            RegionErrorKind::NotLeader {
                leader: nl.leader.filter(|p| p.id != 0 || p.store_id != 0),
            }
        } else if e.epoch_not_match.is_some() {
            RegionErrorKind::EpochNotMatch
        } else if e.key_not_in_region.is_some() {
            RegionErrorKind::KeyNotInRegion
        } else if e.server_is_busy.is_some() {
            RegionErrorKind::ServerIsBusy
        } else if e.region_not_found.is_some() {
            RegionErrorKind::RegionNotFound
        } else if e.store_not_match.is_some() {
            RegionErrorKind::StoreNotMatch
        } else if e.stale_command.is_some() {
            RegionErrorKind::StaleCommand
        } else if let Some(d) = &e.disk_full {
            RegionErrorKind::DiskFull {
                stores: d.store_id.clone(),
            }
        } else {
            RegionErrorKind::Other
        }
    }
}

/// Everything that can go wrong talking to PD and TiKV.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// An address in the configuration is unusable.
    #[error("invalid address {addr:?}: {reason}")]
    Address {
        /// The address as given.
        addr: String,
        /// Why it is unusable.
        reason: String,
    },
    /// A `[security]` file could not be read.
    #[error("reading TLS file {path}: {source}")]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TLS settings are unusable.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// No PD address answered GetMembers.
    #[error("no PD of {addrs:?} answered: {last}")]
    PdUnreachable {
        /// The addresses tried.
        addrs: Vec<String>,
        /// The last failure.
        last: String,
    },
    /// A PD gRPC call failed at the transport or status level.
    #[error("PD {op}: {status}")]
    PdRpc {
        /// The RPC.
        op: &'static str,
        /// The gRPC status.
        status: Box<tonic::Status>,
    },
    /// PD answered with an error in its response header.
    #[error("PD {op} answered {kind}: {message}")]
    PdAnswer {
        /// The RPC.
        op: &'static str,
        /// `pdpb.ErrorType` name.
        kind: String,
        /// PD's message.
        message: String,
    },
    /// A PD HTTP call failed.
    #[error("PD HTTP {method} {path}: {reason}")]
    PdHttp {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// HTTP status, when one came back.
        status: Option<u16>,
        /// What went wrong.
        reason: String,
    },
    /// PD does not know a store, or knows no store at all.
    #[error("store {store_id} is unknown to PD")]
    UnknownStore {
        /// The store id.
        store_id: u64,
    },
    /// A store gRPC call failed at the transport or status level (store down, stream
    /// broken, or TiKV's import errors, which travel as gRPC `Unknown`).
    #[error("store {store_id} ({addr}) {op}: {status}")]
    StoreRpc {
        /// The store id.
        store_id: u64,
        /// Its address.
        addr: String,
        /// The RPC.
        op: &'static str,
        /// The gRPC status.
        status: Box<tonic::Status>,
    },
    /// TiKV's import service refused a Write (`import_sstpb.WriteResponse.error`).
    #[error("write to store {store_id} for region {region_id}: {message}")]
    WriteRefused {
        /// The store.
        store_id: u64,
        /// The region written for.
        region_id: u64,
        /// Whether the store said it is busy.
        busy: bool,
        /// TiKV's message.
        message: String,
    },
    /// TiKV answered a region error.
    #[error("region {region_id} {range} {op}: {kind:?}: {message}")]
    Region {
        /// The RPC.
        op: &'static str,
        /// The region.
        region_id: u64,
        /// The key range the request covered.
        range: Box<KeyRange>,
        /// What kind of region error.
        kind: RegionErrorKind,
        /// TiKV's message.
        message: String,
    },
    /// No region (or no leader) is known for a key.
    #[error("no region with a leader covers {key}")]
    NoRegion {
        /// The raw key, in hex.
        key: HexKey,
    },
    /// TiKV's coprocessor refused a request for good (`other_error`).
    #[error("coprocessor on region {region_id}: {message}")]
    Coprocessor {
        /// The region.
        region_id: u64,
        /// TiKV's message.
        message: String,
    },
    /// A message from the cluster did not decode.
    #[error("decoding {what}: {reason}")]
    Decode {
        /// What was decoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// The caller's pairs are not sorted, repeat a key, or leave the range.
    #[error("input pairs of {range}: {reason}")]
    Input {
        /// The range being ingested.
        range: KeyRange,
        /// What is wrong.
        reason: String,
    },
    /// The caller's pair source failed.
    #[error("reading the pairs to ingest: {0}")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Retries ran out; `last` is the last retryable failure.
    #[error("{op} of {range} gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// What was retried.
        op: &'static str,
        /// The key range.
        range: KeyRange,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: Box<ClusterError>,
    },
    /// A background task panicked or was cancelled.
    #[error("background task: {0}")]
    Task(String),
}

fn status_retryable(s: &tonic::Status) -> bool {
    use tonic::Code::*;
    // TiKV's import errors (RequestTooOld/New, ...) arrive as Unknown (sst_service.rs
    // make_rpc_error); a dropped stream as Aborted/Cancelled; a down store as Unavailable.
    matches!(
        s.code(),
        Unavailable | Unknown | Aborted | Cancelled | DeadlineExceeded | ResourceExhausted
    )
}

impl ClusterError {
    /// Whether trying again (after a backoff, with fresh region information) can help.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClusterError::PdRpc { status, .. } | ClusterError::StoreRpc { status, .. } => {
                status_retryable(status)
            }
            ClusterError::PdHttp { status, .. } => status.is_none_or(|s| s >= 500),
            ClusterError::WriteRefused { .. } | ClusterError::NoRegion { .. } => true,
            ClusterError::Region { kind, .. } => !matches!(kind, RegionErrorKind::DiskFull { .. }),
            _ => false,
        }
    }

    /// The region error kind, when this is a region error.
    pub fn region_error(&self) -> Option<&RegionErrorKind> {
        match self {
            ClusterError::Region { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// Builds a region error from TiKV's answer.
    pub(crate) fn region(
        op: &'static str,
        region_id: u64,
        range: KeyRange,
        e: &errorpb::Error,
    ) -> Self {
        ClusterError::Region {
            op,
            region_id,
            range: Box::new(range),
            kind: RegionErrorKind::of(e),
            message: e.message.clone(),
        }
    }
}

/// A key shown in hex in messages.
#[derive(Clone, PartialEq, Eq)]
pub struct HexKey(pub Vec<u8>);

impl fmt::Display for HexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_is_final_and_busy_is_retryable() {
        let full = errorpb::Error {
            disk_full: Some(errorpb::DiskFull {
                store_id: vec![2],
                reason: "full".into(),
            }),
            ..Default::default()
        };
        let e = ClusterError::region("ingest", 7, KeyRange::default(), &full);
        assert!(!e.is_retryable());
        assert_eq!(
            e.region_error(),
            Some(&RegionErrorKind::DiskFull { stores: vec![2] })
        );
        let busy = errorpb::Error {
            server_is_busy: Some(Default::default()),
            ..Default::default()
        };
        assert!(ClusterError::region("ingest", 7, KeyRange::default(), &busy).is_retryable());
        let down = ClusterError::StoreRpc {
            store_id: 1,
            addr: "x".into(),
            op: "write",
            status: Box::new(tonic::Status::unavailable("down")),
        };
        assert!(down.is_retryable());
        let bad = ClusterError::StoreRpc {
            store_id: 1,
            addr: "x".into(),
            op: "write",
            status: Box::new(tonic::Status::invalid_argument("bad")),
        };
        assert!(!bad.is_retryable());
        assert_eq!(HexKey(vec![0x74, 0x80]).to_string(), "7480");
    }
}
