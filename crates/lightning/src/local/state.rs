//! What the local backend's modules share: the backend's state for one task, the
//! engine and encoding options the configuration asks for, and its error constructor.

use crate::LightningError;
use lightning_cluster::Cluster;
use lightning_config::{Config, ConflictStrategy};
use lightning_encode::{EncodeOptions, SqlMode, TimeZone};
use lightning_engine::{DuplicateMode, EngineManager, EngineOptions};
use std::sync::Arc;
use std::time::Duration;

/// An error of the local backend.
pub(super) fn err(m: impl Into<String>) -> LightningError {
    LightningError::Local(m.into())
}

/// The controller's state, as the local backend's modules see it.
pub(super) type Ctx = crate::backend::Ctx<LocalBackend>;

/// The physical backend of one task: the cluster, the engines, how rows are encoded.
pub(crate) struct LocalBackend {
    pub(super) cfg: Arc<Config>,
    pub(super) cluster: Cluster,
    pub(super) engines: EngineManager,
    pub(super) encode: EncodeOptions,
    /// Encoders write under it shared; `disk-quota`'s early import takes it exclusively.
    pub(super) quota_gate: Arc<tokio::sync::RwLock<()>>,
    /// `[conflict] strategy = "replace"`: engines are resolved together before any is
    /// ingested, and kept until the checksum (which needs what the resolution removed).
    pub(super) replace: bool,
}

/// How often a chunk in progress makes its pairs durable and records its position; the
/// `TIDB_LIGHTNING_CHUNK_SAVE_INTERVAL_MS` environment variable overrides it (tests).
pub(super) fn save_interval() -> Duration {
    crate::backend::chunk_save_interval(Duration::from_secs(5))
}

/// The engine options `[tikv-importer]` and `[conflict]` ask for.
pub(crate) fn engine_options(cfg: &Config) -> Result<EngineOptions, LightningError> {
    let t = &cfg.tikv_importer;
    let duplicate_mode = match cfg.conflict.strategy {
        ConflictStrategy::None => DuplicateMode::None,
        ConflictStrategy::Error => DuplicateMode::Error,
        ConflictStrategy::Replace => DuplicateMode::Replace,
        ConflictStrategy::Ignore => {
            return Err(LightningError::Unsupported(
                "[conflict] strategy = \"ignore\" is not supported by the local backend (as upstream's physical mode); use \"replace\" (later rows win), \"error\" (stop at the first duplicate key) or \"\" (no detection)".into(),
            ))
        }
    };
    Ok(EngineOptions {
        engine_mem_cache_size: t.engine_mem_cache_size as usize,
        local_writer_mem_cache_size: t.local_writer_mem_cache_size as usize,
        duplicate_mode,
        ..EngineOptions::default()
    })
}

/// The engines under `sorted-kv-dir`.
pub(crate) fn engine_manager(cfg: &Config) -> Result<EngineManager, LightningError> {
    let dir = &cfg.tikv_importer.sorted_kv_dir;
    EngineManager::new(dir, engine_options(cfg)?)
        .map_err(|e| err(format!("sorted-kv-dir {dir}: {e}")))
}

/// How rows are encoded: `[tidb] sql-mode`, the session time zone, "now".
pub(super) fn encode_options(cfg: &Config) -> Result<EncodeOptions, LightningError> {
    let mut encode = EncodeOptions::default();
    if !cfg.tidb.sql_mode.is_empty() {
        encode.sql_mode = SqlMode::parse(&cfg.tidb.sql_mode);
    }
    // TIMESTAMP values are read in the session time zone: UTC as the dumps write them,
    // unless `[tidb.session-vars] time_zone` says otherwise (as for the tidb backend).
    if let Some((_, tz)) = cfg
        .tidb
        .session_vars
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("time_zone"))
    {
        encode.time_zone = TimeZone::parse(tz)
            .map_err(|e| err(format!("[tidb.session-vars] time_zone = {tz:?}: {e}")))?;
    }
    encode.timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Ok(encode)
}
