//! Test fixtures shared by the crates' integration tests and the benchmarks.
//!
//! [`MariaDb`] starts a real MariaDB server (Debian's `mariadb-server` package) in a
//! private data directory on a free loopback port, and stops it when dropped. Tests
//! talk to it through the `mariadb` command-line client ([`MariaDb::query`]) or any
//! MySQL driver at [`MariaDb::port`].
//!
//! The simulated TiDB cluster for the physical-import tests: [`cluster::SimCluster`] runs
//! PD + TiKV stores in process, speaking the real kvproto gRPC protocol (and PD's HTTP
//! API); [`tidb`] is TiDB's face — a MySQL-protocol server and TiDB's status port answering
//! what TiDB Lightning's physical import asks, reading the cluster's data through a
//! [`tidb::KvSource`].

pub mod cluster;
mod mariadb;
pub mod sim;
pub mod tidb;

pub use mariadb::{make_certificates, MariaDb, ROOT_USER};

use std::path::{Path, PathBuf};

/// The repository's `shared/` folder, which sits beside the checkout (`../shared`).
pub fn shared_dir() -> PathBuf {
    workspace_root().join("../shared")
}

/// The workspace root (the folder holding the top `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
