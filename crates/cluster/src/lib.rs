//! The PD / TiKV client of the physical (`local`) backend: everything Lightning says to
//! the cluster while it bulk-loads sorted key-value pairs.
//!
//! Data flow of one import, as the controller drives it:
//! 1. [`Cluster::connect`] finds the PD leader (GetMembers), then talks to PD over gRPC
//!    ([`PdClient`]) and HTTP ([`PdHttp`]), and to each store's ImportSST and Tikv
//!    services, with `[security]` TLS when configured.
//! 2. [`ImportModeGuard::enter`] switches every store to import mode and re-asserts it
//!    every `[cron] switch-mode`; [`SchedulerPause`] pauses PD scheduling (globally or
//!    on the table's key range), always with a TTL and a keep-alive.
//! 3. For each closed engine: [`Cluster::split_and_scatter`] pre-splits regions at the
//!    engine's range boundaries and waits for the scatter; [`Cluster::ingest_range`]
//!    then streams each range's sorted pairs with `Write` to every peer of each region
//!    and `MultiIngest`s them on the leader at a commit ts from PD's TSO
//!    ([`Cluster::commit_ts`]), retrying region errors until every pair is in.
//! 4. [`Cluster::checksum_ranges`] asks TiKV's coprocessor for the checksum of what
//!    landed, to compare with the encoder's [`lightning_encode::KvChecksum`].
//! 5. The guard and the pause are undone ([`ImportModeGuard::finish`],
//!    [`SchedulerPause::resume`]), also best effort on drop and, for the mode, on
//!    Ctrl-C/SIGTERM; the cluster-side TTLs cover a crash.
//!
//! Keys: the API takes raw TiDB keys; see [`keys`] for where TiKV wants them encoded.
//!
//! ```no_run
//! # async fn run(cfg: &lightning_config::Config, pairs: Vec<(Vec<u8>, Vec<u8>)>) -> lightning_cluster::Result<()> {
//! use lightning_cluster::{Cluster, ImportModeGuard, SchedulerPause};
//! let cluster = Cluster::from_config(cfg).await?;
//! let guard = ImportModeGuard::enter(&cluster, cfg.cron.switch_mode, true).await?;
//! let pause = SchedulerPause::key_range(cluster.pd_http(), b"t\x80", b"t\x81", lightning_cluster::DEFAULT_PAUSE_TTL).await?;
//! cluster.split_and_scatter(&[b"t\x80\x00\x01".to_vec()]).await?;
//! let ts = cluster.commit_ts().await?;
//! cluster.ingest_pairs(b"t\x80", b"t\x81", pairs, ts).await?;
//! pause.resume().await?;
//! guard.finish().await?;
//! # Ok(()) }
//! ```

mod checksum;
mod cluster;
mod error;
mod ingest;
pub mod keys;
mod mode;
mod pause;
mod pd;
mod pd_http;
mod refresh;
mod regions;
mod security;
mod split;
mod stores;

pub use cluster::{Cluster, ClusterOptions, RetryPolicy};
pub use error::{ClusterError, HexKey, RegionErrorKind, Result};
pub use ingest::limiter::StoreWriteLimiter;
pub use ingest::IngestStats;
pub use keys::{KeyRange, RegionInfo};
pub use lightning_kvproto::import_sstpb::SwitchMode;
pub use mode::{fetch_mode, switch_mode, ImportModeGuard, StoreMode};
pub use pause::{SchedulerPause, DEFAULT_PAUSE_TTL, PAUSED_SCHEDULERS};
pub use pd::{compose_ts, PdClient};
pub use pd_http::PdHttp;
pub use regions::scan_range;
pub use security::{Tls, Transport};
pub use split::SplitOutcome;
pub use stores::{StoreConn, Stores};
