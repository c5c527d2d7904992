//! `tidb-lightning`: imports a Mydumper/Dumpling dump into TiDB or any MySQL-compatible
//! server. Flags and config file as upstream TiDB Lightning.

use lightning::{run_with_stop, LightningError};
use lightning_config::{Config, Invocation};
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    lightning_cli::limit_malloc_arenas();
    let cfg = match Config::from_args(std::env::args_os().skip(1)) {
        Ok(Invocation::Run(cfg)) => cfg,
        Ok(Invocation::Version) => {
            println!("{}", lightning_config::version_text());
            return ExitCode::SUCCESS;
        }
        Ok(Invocation::Help(text)) => {
            println!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tidb-lightning: {e}");
            return ExitCode::from(2);
        }
    };
    let log_file = match lightning_cli::init_logging(
        &cfg.lightning.level,
        &cfg.lightning.file,
        &cfg.lightning.format,
    ) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("tidb-lightning: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Some(f) = &log_file {
        eprintln!("Logging to {}", f.display());
    }
    for (key, value, why) in cfg.inert_settings() {
        tracing::warn!(key, value = %value, reason = why, "setting has no effect in this build");
        eprintln!("tidb-lightning: warning: {key} = {value} has no effect: {why}");
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tidb-lightning: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let checkpoints = cfg.checkpoint.enable;
    let stop = Arc::new(lightning::StopFlag::default());
    rt.block_on(async move {
        tokio::spawn(watch_signals(stop.clone()));
        match run_with_stop(*cfg, stop).await {
            Ok(summary) => {
                println!("{summary}");
                println!("tidb lightning exit successfully");
                ExitCode::SUCCESS
            }
            Err(LightningError::Cancelled) => {
                if checkpoints {
                    eprintln!("tidb-lightning: stopped before the import finished; progress is saved in the checkpoint: run the same command again to resume");
                } else {
                    eprintln!("tidb-lightning: stopped before the import finished; checkpoints are disabled, so tables not reported as imported must be imported again");
                }
                ExitCode::FAILURE
            }
            Err(e) => {
                tracing::error!(error = %e, "tidb lightning encountered error");
                eprintln!("tidb lightning encountered error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// The first SIGINT/SIGTERM stops the import; a second exits at once.
async fn watch_signals(stop: Arc<lightning::StopFlag>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    for n in 0.. {
        tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        if n > 0 {
            eprintln!("tidb-lightning: second signal, exiting now");
            std::process::exit(130);
        }
        eprintln!("tidb-lightning: stopping (send the signal again to exit at once)");
        tracing::warn!("signal received, stopping the import");
        stop.stop();
    }
}
