//! `tidb-lightning-ctl`'s commands: checkpoints (against the store `[checkpoint]` names),
//! local engines left in `sorted-kv-dir`, and the TiKV stores' mode.

use crate::limits::StopFlag;
use crate::LightningError;
use lightning_backend::tidb::TidbTarget;
use lightning_checkpoint::TableSelector;
use lightning_config::{Backend, Config};
use lightning_engine::{engine_uuid, EngineInfo, EngineManager, INDEX_ENGINE_ID};
use std::path::PathBuf;
use std::sync::Arc;

/// One checkpoint maintenance command. Tables are `` `db`.`tbl` `` or `all`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointCommand {
    /// `--checkpoint-dump <dir>`: write `tables.csv`, `engines.csv`, `chunks.csv` there.
    Dump(PathBuf),
    /// `--checkpoint-error-ignore <tables>`: clear failures, keep the progress made.
    ErrorIgnore(String),
    /// `--checkpoint-error-destroy <tables>`: drop each failed table on the target, delete
    /// its local engines (local backend) and its checkpoint, so the next run imports it
    /// from scratch.
    ErrorDestroy(String),
    /// `--checkpoint-remove <tables>`: delete the checkpoints (the data stays).
    Remove(String),
}

/// Runs `cmd`; returns what to print.
pub async fn checkpoint_command(
    cfg: &Config,
    cmd: CheckpointCommand,
) -> Result<String, LightningError> {
    let store = lightning_checkpoint::open(cfg).await?;
    let out = match cmd {
        CheckpointCommand::Dump(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| LightningError::Io {
                file: dir.display().to_string(),
                source: e,
            })?;
            store.dump(&dir).await?;
            format!("checkpoints dumped into {}\n", dir.display())
        }
        CheckpointCommand::ErrorIgnore(t) => {
            store.ignore_error(&TableSelector::parse(&t)).await?;
            format!("errors of {t} ignored; the next run continues where it stopped\n")
        }
        CheckpointCommand::ErrorDestroy(t) => {
            let destroyed = store.destroy_error(&TableSelector::parse(&t)).await?;
            let mut out = String::new();
            if !destroyed.is_empty() {
                let target = TidbTarget::connect(&crate::connect::connect_options(cfg)).await?;
                let drops: Vec<String> = destroyed
                    .iter()
                    .map(|d| format!("DROP TABLE IF EXISTS {}", d.table_name))
                    .collect();
                target.exec_tolerating(None, &drops, &[]).await?;
                target.close().await?;
            }
            let engines = if cfg.tikv_importer.backend == Backend::Local && !destroyed.is_empty() {
                Some(crate::local::engine_manager(cfg)?)
            } else {
                None
            };
            for d in &destroyed {
                let mut removed = 0;
                if let Some(mgr) = &engines {
                    let ids = std::iter::once(INDEX_ENGINE_ID)
                        .chain(d.min_engine_id.max(0)..=d.max_engine_id);
                    for id in ids {
                        let u = engine_uuid(&d.table_name, id);
                        if mgr.dir().join(u.to_string()).exists() {
                            mgr.remove_engine(u).map_err(|e| {
                                LightningError::Local(format!(
                                    "{}: removing engine {u}: {e}",
                                    d.table_name
                                ))
                            })?;
                            removed += 1;
                        }
                    }
                }
                let engines_note = if engines.is_some() {
                    format!(", {removed} local engine(s) removed")
                } else {
                    String::new()
                };
                out.push_str(&format!(
                    "{}: table dropped{engines_note} and checkpoint deleted; the next run imports it from scratch\n",
                    d.table_name
                ));
            }
            if destroyed.is_empty() {
                out.push_str("no failed table matched; nothing destroyed\n");
            }
            out
        }
        CheckpointCommand::Remove(t) => {
            store.remove(&TableSelector::parse(&t)).await?;
            format!("checkpoints of {t} removed\n")
        }
    };
    store.close().await?;
    Ok(out)
}

/// A command on one engine left in `sorted-kv-dir` (by uuid, as `--checkpoint-dump` and
/// the log name it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineCommand {
    /// `--import-engine <uuid>`: close the engine and ingest it into the cluster.
    Import(String),
    /// `--cleanup-engine <uuid>`: delete the engine's files.
    Cleanup(String),
}

/// Runs `cmd` against `[tikv-importer] sorted-kv-dir` (and, to import, the cluster of
/// `[tidb] pd-addr`); returns what to print.
pub async fn engine_command(cfg: &Config, cmd: EngineCommand) -> Result<String, LightningError> {
    let mgr = crate::local::engine_manager(cfg)?;
    let (EngineCommand::Import(wanted) | EngineCommand::Cleanup(wanted)) = &cmd;
    let info = find_engine(&mgr, wanted)?;
    let u = info.uuid;
    match cmd {
        EngineCommand::Cleanup(_) => {
            mgr.remove_engine(u)
                .map_err(|e| LightningError::Local(format!("removing engine {u}: {e}")))?;
            Ok(format!(
                "engine {u} removed ({} bytes freed)\n",
                info.disk_size
            ))
        }
        EngineCommand::Import(_) => {
            let engine = mgr
                .open_engine(u)
                .map_err(|e| LightningError::Local(format!("opening engine {u}: {e}")))?;
            let closed = tokio::task::spawn_blocking(move || engine.close())
                .await
                .map_err(|e| LightningError::Internal(e.to_string()))?
                .map_err(|e| LightningError::Local(format!("closing engine {u}: {e}")))?;
            let cluster = lightning_cluster::Cluster::from_config(cfg)
                .await
                .map_err(|e| LightningError::Local(format!("connecting to PD: {e}")))?;
            let guard =
                lightning_cluster::ImportModeGuard::enter(&cluster, cfg.cron.switch_mode, false)
                    .await
                    .map_err(|e| {
                        LightningError::Local(format!("switching TiKV to import mode: {e}"))
                    })?;
            let stop = Arc::new(StopFlag::default());
            let ingested =
                crate::local::ingest_engine(&cluster, &stop, &format!("engine {u}"), &closed).await;
            let finished = guard.finish().await;
            ingested?;
            finished.map_err(|e| {
                LightningError::Local(format!("switching TiKV back to normal mode: {e}"))
            })?;
            Ok(format!(
                "engine {u} imported ({} pairs); remove it with --cleanup-engine={u}\n",
                closed.total_kvs()
            ))
        }
    }
}

/// The engine `wanted` (a uuid, any case) under `sorted-kv-dir`.
fn find_engine(mgr: &EngineManager, wanted: &str) -> Result<EngineInfo, LightningError> {
    let list = mgr
        .leftover_engines()
        .map_err(|e| LightningError::Local(format!("listing {}: {e}", mgr.dir().display())))?;
    let wanted = wanted.trim().to_ascii_lowercase();
    list.iter()
        .find(|e| e.uuid.to_string() == wanted)
        .cloned()
        .ok_or_else(|| {
            let have: Vec<String> = list.iter().map(|e| e.uuid.to_string()).collect();
            LightningError::Local(format!(
                "no engine {wanted} under sorted-kv-dir {} (engines there: {})",
                mgr.dir().display(),
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                }
            ))
        })
}

/// `--switch-mode import|normal`: switches every TiKV store of `[tidb] pd-addr`'s cluster;
/// returns what to print. TiKV leaves import mode by itself after a while, as upstream notes.
pub async fn switch_mode_command(cfg: &Config, mode: &str) -> Result<String, LightningError> {
    let target = match mode.to_ascii_lowercase().as_str() {
        "import" => lightning_cluster::SwitchMode::Import,
        "normal" => lightning_cluster::SwitchMode::Normal,
        other => {
            return Err(LightningError::Unsupported(format!(
                "--switch-mode {other:?}: use \"import\" or \"normal\""
            )))
        }
    };
    let cluster = lightning_cluster::Cluster::from_config(cfg)
        .await
        .map_err(|e| LightningError::Local(format!("connecting to PD: {e}")))?;
    lightning_cluster::switch_mode(&cluster, target)
        .await
        .map_err(|e| LightningError::Local(format!("switching stores to {mode} mode: {e}")))?;
    Ok(format!(
        "every TiKV store switched to {} mode\n",
        target.as_str_name().to_ascii_lowercase()
    ))
}

/// `--fetch-mode`: one line per TiKV store, `TiKV host:port: Normal|Import`.
pub async fn fetch_mode_command(cfg: &Config) -> Result<String, LightningError> {
    let cluster = lightning_cluster::Cluster::from_config(cfg)
        .await
        .map_err(|e| LightningError::Local(format!("connecting to PD: {e}")))?;
    let modes = lightning_cluster::fetch_mode(&cluster)
        .await
        .map_err(|e| LightningError::Local(format!("reading the stores' modes: {e}")))?;
    Ok(modes.iter().map(|m| format!("{m}\n")).collect())
}
