//! [`Cluster`]: one connected PD + TiKV cluster and the import settings that govern
//! how this crate talks to it.

use crate::error::Result;
use crate::ingest::limiter::StoreWriteLimiter;
use crate::pd::PdClient;
use crate::pd_http::PdHttp;
use crate::security::{Tls, Transport};
use crate::stores::Stores;
use lightning_config::{
    Config, Security, TikvImporter, DEFAULT_REGION_SPLIT_KEYS, DEFAULT_REGION_SPLIT_SIZE,
};
use lightning_kvproto::metapb;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Exponential backoff between retries of one piece of work.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts before giving up (Lightning: `MaxWriteAndIngestRetryTimes` = 30).
    pub max_attempts: u32,
    /// First backoff.
    pub base: Duration,
    /// Longest backoff (Lightning: `maxRetryBackoffSecond` = 30 s).
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 30,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt` (1-based): base · 2^(attempt-1), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        self.base.saturating_mul(1 << exp).min(self.max)
    }
}

/// How the client splits, writes and ingests (from `[tikv-importer]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterOptions {
    /// Bytes per Write message (`send-kv-size`).
    pub send_kv_size: u64,
    /// Bytes per second written to one store; 0 = unlimited (`store-write-bwlimit`).
    pub store_write_bwlimit: u64,
    /// Region jobs written + ingested at once (`range-concurrency`).
    pub range_concurrency: usize,
    /// Region size the ranges aim at (`region-split-size`).
    pub region_split_size: u64,
    /// Region key count the ranges aim at (`region-split-keys`).
    pub region_split_keys: u64,
    /// Split keys per SplitRegion request (`region-split-batch-size`).
    pub region_split_batch_size: usize,
    /// Regions split at once (`region-split-concurrency`).
    pub region_split_concurrency: usize,
    /// How long to wait for scatter operators before going on anyway.
    pub scatter_wait: Duration,
    /// Retries of region jobs, splits and checksums.
    pub retry: RetryPolicy,
    /// Bytes of pairs all region jobs of this client may hold in memory at once, waiting
    /// or in flight (`engine-mem-cache-size`): reading ranges waits beyond it, so memory
    /// does not grow with the data or with the ranges read at once.
    pub ingest_mem_budget: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions::from_importer(&TikvImporter::default())
    }
}

impl ClusterOptions {
    /// The options `[tikv-importer]` asks for; zeros take upstream's defaults.
    pub fn from_importer(t: &TikvImporter) -> Self {
        let cpus = std::thread::available_parallelism().map_or(4, |n| n.get());
        ClusterOptions {
            send_kv_size: t.send_kv_size.max(1),
            store_write_bwlimit: t.store_write_bwlimit,
            range_concurrency: t.range_concurrency.max(1),
            region_split_size: if t.region_split_size == 0 {
                DEFAULT_REGION_SPLIT_SIZE
            } else {
                t.region_split_size
            },
            region_split_keys: if t.region_split_keys == 0 {
                DEFAULT_REGION_SPLIT_KEYS
            } else {
                t.region_split_keys
            },
            region_split_batch_size: (t.region_split_batch_size as usize).max(1),
            region_split_concurrency: if t.region_split_concurrency == 0 {
                cpus
            } else {
                t.region_split_concurrency
            },
            // BR waits for scatter up to about an hour; an import goes on regardless.
            scatter_wait: Duration::from_secs(600),
            retry: RetryPolicy::default(),
            ingest_mem_budget: t.engine_mem_cache_size.max(1 << 20),
        }
    }

    /// Bytes one region job carries at most: 4/3 of the region size when it is at
    /// most 96 MiB, as Lightning's doWrite allows for inexact range properties.
    pub fn job_max_bytes(&self) -> u64 {
        if self.region_split_size <= DEFAULT_REGION_SPLIT_SIZE {
            self.region_split_size * 4 / 3
        } else {
            self.region_split_size
        }
    }
}

struct Inner {
    pd: PdClient,
    http: PdHttp,
    stores: Stores,
    opts: ClusterOptions,
    limiter: StoreWriteLimiter,
    jobs: Arc<Semaphore>,
    /// The ingest memory budget, one permit per KiB.
    ingest_mem: Arc<Semaphore>,
}

/// A connected cluster: PD (gRPC and HTTP), store connections and the import options.
/// Cheap to clone; all clones share connections, the write limiter and job slots.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

impl Cluster {
    /// Connects to PD through `pd_addrs` with `transport`.
    pub async fn connect(
        pd_addrs: &[String],
        transport: Transport,
        opts: ClusterOptions,
    ) -> Result<Cluster> {
        let pd = PdClient::connect(pd_addrs, transport.clone()).await?;
        let http = PdHttp::new(pd_addrs, &transport)?;
        Ok(Cluster {
            inner: Arc::new(Inner {
                stores: Stores::new(pd.clone()),
                limiter: StoreWriteLimiter::new(opts.store_write_bwlimit),
                jobs: Arc::new(Semaphore::new(opts.range_concurrency)),
                ingest_mem: Arc::new(Semaphore::new(mem_permits(opts.ingest_mem_budget))),
                pd,
                http,
                opts,
            }),
        })
    }

    /// Connects to `pd_addrs` with `[security]` TLS.
    pub async fn connect_secure(
        pd_addrs: &[String],
        security: &Security,
        opts: ClusterOptions,
    ) -> Result<Cluster> {
        let transport = Transport::new(Tls::from_security(security)?);
        Cluster::connect(pd_addrs, transport, opts).await
    }

    /// Connects as the configuration says: `[tidb] pd-addr` (comma separated),
    /// `[security]` and `[tikv-importer]`.
    pub async fn from_config(cfg: &Config) -> Result<Cluster> {
        let addrs: Vec<String> = cfg
            .tidb
            .pd_addr
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect();
        let opts = ClusterOptions::from_importer(&cfg.tikv_importer);
        Cluster::connect_secure(&addrs, &cfg.security, opts).await
    }

    /// The PD gRPC client.
    pub fn pd(&self) -> &PdClient {
        &self.inner.pd
    }

    /// The PD HTTP client.
    pub fn pd_http(&self) -> &PdHttp {
        &self.inner.http
    }

    /// The store connections.
    pub fn stores(&self) -> &Stores {
        &self.inner.stores
    }

    /// The options in force.
    pub fn options(&self) -> &ClusterOptions {
        &self.inner.opts
    }

    pub(crate) fn limiter(&self) -> &StoreWriteLimiter {
        &self.inner.limiter
    }

    pub(crate) fn ingest_mem(&self) -> &Arc<Semaphore> {
        &self.inner.ingest_mem
    }

    pub(crate) fn job_slots(&self) -> &Arc<Semaphore> {
        &self.inner.jobs
    }

    /// The TiKV stores to act on: not tombstones, not TiFlash (whose stores carry the
    /// label `engine=tiflash`), state at most Offline as Lightning's switch-mode uses
    /// (tikv.go ForAllStores with `StoreState_Offline`).
    pub async fn tikv_stores(&self) -> Result<Vec<metapb::Store>> {
        let stores = self.pd().get_all_stores(true).await?;
        Ok(stores
            .into_iter()
            .filter(|s| s.state <= metapb::StoreState::Offline as i32)
            .filter(|s| {
                !s.labels
                    .iter()
                    .any(|l| l.key == "engine" && l.value == "tiflash")
            })
            .collect())
    }

    /// A commit timestamp from PD's TSO.
    pub async fn commit_ts(&self) -> Result<u64> {
        self.pd().tso().await
    }
}

/// Permits of a memory budget of `bytes` (one per KiB, at least one).
pub(crate) fn mem_permits(bytes: u64) -> usize {
    usize::try_from(bytes / 1024)
        .unwrap_or(usize::MAX >> 4)
        .clamp(1, Semaphore::MAX_PERMITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_upstream_defaults_for_zeros() {
        let o = ClusterOptions::default();
        assert_eq!(o.region_split_size, 96 << 20);
        assert_eq!(o.region_split_keys, DEFAULT_REGION_SPLIT_KEYS);
        assert_eq!(o.job_max_bytes(), 128 << 20);
        assert_eq!((o.send_kv_size, o.range_concurrency), (16 << 10, 16));
        assert!(o.region_split_concurrency >= 1);
        let r = RetryPolicy::default();
        assert_eq!(r.backoff(1), Duration::from_millis(500));
        assert_eq!(r.backoff(3), Duration::from_secs(2));
        assert_eq!(r.backoff(30), Duration::from_secs(30));
    }
}
