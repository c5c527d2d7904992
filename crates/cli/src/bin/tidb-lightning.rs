//! `tidb-lightning`: imports a Mydumper/Dumpling dump into TiDB or any MySQL-compatible
//! server. Flags and config file as upstream TiDB Lightning.

use lightning::{LightningError, StopFlag};
use lightning_cli::server::{serve, Server, StatusTls, TaskResult};
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
    let logging = match lightning_cli::init_logging(
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
    if let Some(f) = &logging.file {
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
    let (server_mode, status_addr) = (cfg.lightning.server_mode, cfg.lightning.status_addr.clone());
    let sec = &cfg.security;
    let tls = (!sec.cert_path.is_empty()).then(|| StatusTls {
        cert: sec.cert_path.clone().into(),
        key: sec.key_path.clone().into(),
    });
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let stop = Arc::new(StopFlag::default());
    rt.block_on(async move {
        tokio::spawn(watch_signals(stop.clone()));
        let server = Server::new(logging.level, server_mode.then_some(args));
        if !status_addr.is_empty() {
            match serve(&status_addr, tls, server.clone()).await {
                Ok(addr) => eprintln!("tidb-lightning: status server listening on {addr}"),
                Err(e) => {
                    eprintln!("tidb-lightning: {e:#}");
                    return ExitCode::from(2);
                }
            }
        }
        if server_mode {
            return serve_tasks(&server, &stop).await;
        }
        server.push(cfg);
        match server.run_next(&stop).await {
            Some((_, res)) => report(res, checkpoints),
            None => report(Err(LightningError::Cancelled), checkpoints),
        }
    })
}

/// Server mode: runs posted tasks one at a time until a signal. A failed task pauses the
/// progress of the next, as upstream (`PUT /resume` continues).
async fn serve_tasks(server: &Server, stop: &Arc<StopFlag>) -> ExitCode {
    tracing::info!("Lightning server is running, post to /tasks to start an import task");
    loop {
        // A signal stops the running task (it saves its checkpoint) and then the server.
        let Some((id, res)) = server.run_next(stop).await else {
            return ExitCode::SUCCESS;
        };
        match res {
            Ok(summary) => {
                tracing::info!(task = id, rows = summary.rows(), "task finished");
                println!("task {id}:\n{summary}");
            }
            Err(LightningError::Cancelled) => tracing::warn!(task = id, "task cancelled"),
            Err(e) => {
                lightning::pauser().pause();
                tracing::error!(task = id, error = %e, "tidb lightning encountered error; progress paused (PUT /resume to run the next task)");
                eprintln!("task {id}: tidb lightning encountered error: {e}");
            }
        }
        if stop.is_stopped() {
            return ExitCode::SUCCESS;
        }
    }
}

/// The exit code and messages of a one-task run.
fn report(res: TaskResult, checkpoints: bool) -> ExitCode {
    match res {
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
}

/// The first SIGINT/SIGTERM stops the import; a second exits at once.
async fn watch_signals(stop: Arc<StopFlag>) {
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
