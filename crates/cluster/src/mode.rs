//! TiKV's import mode: switching every store, reading it back
//! (`tidb-lightning-ctl --switch-mode` / `--fetch-mode`), and a guard that keeps the
//! stores in import mode during an import and always switches them back.
//!
//! TiKV leaves import mode by itself when it is not re-asserted within its
//! `import.import-mode-timeout` (sst_importer import_mode.rs ImportModeSwitcher), which
//! is why Lightning re-sends it every `[cron] switch-mode` and a crashed importer does
//! not leave the cluster in import mode forever.

use crate::cluster::Cluster;
use crate::error::{ClusterError, Result};
use crate::refresh::{spawn_undo, Refresher};
use lightning_kvproto::import_sstpb::{GetModeRequest, SwitchMode, SwitchModeRequest};
use std::fmt;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Attempts at switching back to normal mode when an import ends (about 8 s of
/// backoff with the default retry policy).
const NORMAL_MODE_ATTEMPTS: u32 = 5;

/// One store's import mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreMode {
    /// The store id.
    pub store_id: u64,
    /// Its address.
    pub address: String,
    /// Its mode.
    pub mode: SwitchMode,
}

impl fmt::Display for StoreMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TiKV {}: {}", self.address, self.mode.as_str_name())
    }
}

/// Switches every TiKV store to `mode`, all at once; the first failure is returned
/// after every store was tried. `Unimplemented` (a TiFlash store) is skipped, as
/// Lightning's tikv.SwitchMode does.
pub async fn switch_mode(cluster: &Cluster, mode: SwitchMode) -> Result<()> {
    let stores = cluster.tikv_stores().await?;
    let mut set = JoinSet::new();
    for s in &stores {
        let conn = cluster.stores().conn_for(s)?;
        set.spawn(async move {
            let req = SwitchModeRequest {
                mode: mode as i32,
                ranges: vec![],
            };
            match conn.import().switch_mode(req).await {
                Ok(_) => Ok(()),
                Err(st) if st.code() == tonic::Code::Unimplemented => Ok(()),
                Err(st) => Err(conn.error("SwitchMode", st)),
            }
        });
    }
    let mut first = None;
    while let Some(r) = set.join_next().await {
        let r = r
            .map_err(|e| ClusterError::Task(e.to_string()))
            .and_then(|x| x);
        if let Err(e) = r {
            tracing::warn!(error = %e, ?mode, "switching a store's mode failed");
            first.get_or_insert(e);
        }
    }
    match first {
        Some(e) => Err(e),
        None => {
            tracing::info!(?mode, stores = stores.len(), "switched TiKV mode");
            Ok(())
        }
    }
}

/// Every TiKV store's mode (ImportSST GetMode), in store id order.
pub async fn fetch_mode(cluster: &Cluster) -> Result<Vec<StoreMode>> {
    let mut out = Vec::new();
    for s in cluster.tikv_stores().await? {
        let conn = cluster.stores().conn_for(&s)?;
        let resp = conn
            .import()
            .get_mode(GetModeRequest {})
            .await
            .map_err(|st| conn.error("GetMode", st))?
            .into_inner();
        let mode = SwitchMode::try_from(resp.mode).map_err(|_| ClusterError::Decode {
            what: "store mode",
            reason: format!("unknown mode {} from store {}", resp.mode, s.id),
        })?;
        out.push(StoreMode {
            store_id: s.id,
            address: s.address,
            mode,
        });
    }
    out.sort_by_key(|m| m.store_id);
    Ok(out)
}

/// Keeps every store in import mode while it lives: re-asserted every `refresh`
/// (`[cron] switch-mode`), switched back to normal by [`ImportModeGuard::finish`], on
/// drop (best effort), and — when asked — on Ctrl-C or SIGTERM.
pub struct ImportModeGuard {
    cluster: Cluster,
    refresher: Option<Refresher>,
    signalled: watch::Receiver<bool>,
    signal_task: Option<tokio::task::JoinHandle<()>>,
    active: bool,
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when
/// this is called, so a signal after that point is never lost.
fn termination() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}

impl ImportModeGuard {
    /// Switches every store to import mode and keeps it there (a store that cannot be
    /// switched now is retried every `refresh`). With `on_signal`, a
    /// Ctrl-C or SIGTERM switches the stores back to normal, stops refreshing, and is
    /// reported by [`ImportModeGuard::signalled`] (the caller decides how to stop; note
    /// that the handlers replace the default "terminate the process" action).
    pub async fn enter(cluster: &Cluster, refresh: Duration, on_signal: bool) -> Result<Self> {
        let (sig_tx, signalled) = watch::channel(false);
        let waiter = if on_signal {
            Some(termination().map_err(|e| ClusterError::Task(format!("signal handlers: {e}")))?)
        } else {
            None
        };
        let mut guard = ImportModeGuard {
            cluster: cluster.clone(),
            refresher: None,
            signalled,
            signal_task: None,
            active: true,
        };
        // A store that misses it now gets it on the next refresh: not fatal, as in
        // Lightning (import.go switchTiKVMode ignores import-mode failures).
        if let Err(e) = switch_mode(cluster, SwitchMode::Import).await {
            tracing::warn!(error = %e, "switching to import mode failed; retrying every refresh");
        }
        let c = cluster.clone();
        let refresher = Refresher::spawn(refresh, move || {
            let c = c.clone();
            async move {
                if let Err(e) = switch_mode(&c, SwitchMode::Import).await {
                    tracing::warn!(error = %e, "re-asserting import mode failed; retrying next tick");
                }
            }
        });
        guard.refresher = Some(refresher);
        if let Some(w) = waiter {
            let c = cluster.clone();
            let stop_refresh = guard.refresher.as_ref().map(Refresher::stopper);
            guard.signal_task = Some(tokio::spawn(async move {
                w.await;
                tracing::warn!("signal received: switching TiKV back to normal mode");
                if let Some(stop) = stop_refresh {
                    stop.stop().await;
                }
                if let Err(e) = switch_mode(&c, SwitchMode::Normal).await {
                    tracing::error!(error = %e, "switching back to normal mode failed; run tidb-lightning-ctl --switch-mode=normal");
                }
                let _ = sig_tx.send(true);
            }));
        }
        Ok(guard)
    }

    /// A receiver that turns `true` once a signal switched the stores back.
    pub fn signalled(&self) -> watch::Receiver<bool> {
        self.signalled.clone()
    }

    /// Stops refreshing and switches every store back to normal mode, retrying a
    /// failed switch a few times (a store briefly unreachable at the end of an import
    /// must not stay in import mode); unlike import mode, a lasting failure is returned,
    /// since normal mode is essential.
    pub async fn finish(mut self) -> Result<()> {
        self.active = false;
        if let Some(t) = self.signal_task.take() {
            t.abort();
        }
        if let Some(r) = self.refresher.take() {
            r.stop().await;
        }
        let retry = &self.cluster.options().retry;
        let attempts = retry.max_attempts.clamp(1, NORMAL_MODE_ATTEMPTS);
        let mut attempt = 1;
        loop {
            match switch_mode(&self.cluster, SwitchMode::Normal).await {
                Err(e) if e.is_retryable() && attempt < attempts => {
                    tracing::warn!(error = %e, attempt, "switching back to normal mode failed; retrying");
                    tokio::time::sleep(retry.backoff(attempt)).await;
                    attempt += 1;
                }
                r => return r,
            }
        }
    }
}

impl Drop for ImportModeGuard {
    fn drop(&mut self) {
        if let Some(t) = self.signal_task.take() {
            t.abort();
        }
        drop(self.refresher.take());
        if self.active {
            let c = self.cluster.clone();
            spawn_undo("import mode guard", async move {
                if let Err(e) = switch_mode(&c, SwitchMode::Normal).await {
                    tracing::warn!(error = %e, "switching back to normal mode on drop failed");
                }
            });
        }
    }
}
