//! One import task: picks the backend and runs the controller with it.

use crate::controller;
use crate::limits::StopFlag;
use crate::local::LocalBackend;
use crate::summary::ImportSummary;
use crate::tidb::TidbBackend;
use crate::LightningError;
use lightning_config::{Backend, Config};
use std::sync::Arc;

/// Runs an import to completion.
pub async fn run(cfg: Config) -> Result<ImportSummary, LightningError> {
    run_with_stop(cfg, Arc::new(StopFlag::default())).await
}

/// Runs an import that stops early (with [`LightningError::Cancelled`]) once `stop` is set.
pub async fn run_with_stop(
    cfg: Config,
    stop: Arc<StopFlag>,
) -> Result<ImportSummary, LightningError> {
    crate::status::task_begun();
    let res = match cfg.tikv_importer.backend {
        Backend::Local => controller::run::<LocalBackend>(cfg, stop).await,
        Backend::Tidb => controller::run::<TidbBackend>(cfg, stop).await,
        other => Err(LightningError::Unsupported(format!(
            "backend \"{}\" is not implemented yet; use --backend tidb (the logical backend) or local",
            other.as_str()
        ))),
    };
    let error = res.as_ref().err().map(ToString::to_string);
    crate::status::task_finished(error.as_deref());
    res
}
