//! `tidb-lightning-ctl`'s checkpoint commands, run against the store `[checkpoint]` names.

use crate::LightningError;
use lightning_backend::tidb::TidbTarget;
use lightning_checkpoint::TableSelector;
use lightning_config::Config;
use std::path::PathBuf;

/// One checkpoint maintenance command. Tables are `` `db`.`tbl` `` or `all`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointCommand {
    /// `--checkpoint-dump <dir>`: write `tables.csv`, `engines.csv`, `chunks.csv` there.
    Dump(PathBuf),
    /// `--checkpoint-error-ignore <tables>`: clear failures, keep the progress made.
    ErrorIgnore(String),
    /// `--checkpoint-error-destroy <tables>`: drop each failed table on the target and
    /// delete its checkpoint, so the next run imports it from scratch.
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
                let target = TidbTarget::connect(&crate::task::connect_options(cfg)).await?;
                let drops: Vec<String> = destroyed
                    .iter()
                    .map(|d| format!("DROP TABLE IF EXISTS {}", d.table_name))
                    .collect();
                target.exec_tolerating(None, &drops, &[]).await?;
                target.close().await?;
            }
            for d in &destroyed {
                out.push_str(&format!(
                    "{}: table dropped and checkpoint deleted; the next run imports it from scratch\n",
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
