//! `tidb-lightning-ctl`: maintenance commands for Lightning.
//!
//! Upstream's ctl is driven by flags; the checkpoint ones are here, taking the same
//! `--config` as `tidb-lightning` (Go-style `-flag` spellings are accepted too):
//! `--checkpoint-dump <dir>`, `--checkpoint-error-ignore`, `--checkpoint-error-destroy`
//! and `--checkpoint-remove`, each with `` `db`.`tbl` `` or `all`; and, against the
//! cluster of `[tidb] pd-addr`, `--switch-mode import|normal` and `--fetch-mode`; for
//! local engines left in `sorted-kv-dir`, `--import-engine <uuid>` and
//! `--cleanup-engine <uuid>`. The debugging tools
//! live under the `kv` subcommand: `kv encode` prints the KV pairs a row becomes,
//! `kv decode` explains raw bytes.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use lightning::{CheckpointCommand, EngineCommand};
use lightning_config::Config;
use std::path::PathBuf;

#[path = "ctl/kv.rs"]
mod kv;

/// Command line of tidb-lightning-ctl.
#[derive(Parser, Debug)]
#[command(name = "tidb-lightning-ctl", about = "TiDB Lightning maintenance tool")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The tidb-lightning config file (its [checkpoint] and [tidb] sections are used).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Dump the checkpoints as CSV files into this folder.
    #[arg(long, value_name = "DIR")]
    checkpoint_dump: Option<PathBuf>,
    /// Clear the failed status of `db`.`tbl` (or all), keeping the progress made.
    #[arg(long, value_name = "TABLE")]
    checkpoint_error_ignore: Option<String>,
    /// Drop the failed table `db`.`tbl` (or all failed ones) on the target and delete its
    /// checkpoint, so the next run imports it from scratch.
    #[arg(long, value_name = "TABLE")]
    checkpoint_error_destroy: Option<String>,
    /// Delete the checkpoints of `db`.`tbl` (or all); imported data stays.
    #[arg(long, value_name = "TABLE")]
    checkpoint_remove: Option<String>,
    /// Switch every TiKV store of `[tidb] pd-addr` to `import` or `normal` mode.
    #[arg(long, value_name = "MODE")]
    switch_mode: Option<String>,
    /// Print every TiKV store's mode.
    #[arg(long)]
    fetch_mode: bool,
    /// Close the local engine with this uuid (in sorted-kv-dir) and ingest it into TiKV.
    #[arg(long, value_name = "UUID")]
    import_engine: Option<String>,
    /// Delete the local engine with this uuid from sorted-kv-dir.
    #[arg(long, value_name = "UUID")]
    cleanup_engine: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Encode a row into TiKV key-value pairs, or decode a raw key or value.
    #[command(subcommand)]
    Kv(kv::KvCommand),
}

fn main() -> std::process::ExitCode {
    // Go-style `-flag` / `-flag=v` as upstream's ctl accepts them.
    let args = std::env::args_os().map(|a| match a.to_str() {
        Some(s) if s.starts_with('-') && !s.starts_with("--") && s.len() > 2 => {
            format!("-{s}").into()
        }
        _ => a,
    });
    let cli = Cli::parse_from(args);
    if let Err(e) = one_command(&cli) {
        eprintln!("error: {e}");
        return std::process::ExitCode::from(2);
    }
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Usage errors (exit 2): more than one command, or a flag the command would not read.
fn one_command(cli: &Cli) -> Result<(), String> {
    let given = [
        ("--checkpoint-dump", cli.checkpoint_dump.is_some()),
        (
            "--checkpoint-error-ignore",
            cli.checkpoint_error_ignore.is_some(),
        ),
        (
            "--checkpoint-error-destroy",
            cli.checkpoint_error_destroy.is_some(),
        ),
        ("--checkpoint-remove", cli.checkpoint_remove.is_some()),
        ("--switch-mode", cli.switch_mode.is_some()),
        ("--fetch-mode", cli.fetch_mode),
        ("--import-engine", cli.import_engine.is_some()),
        ("--cleanup-engine", cli.cleanup_engine.is_some()),
        ("kv", cli.command.is_some()),
    ];
    let named: Vec<&str> = given.iter().filter(|g| g.1).map(|g| g.0).collect();
    if named.len() > 1 {
        return Err(format!(
            "give one command at a time, not {}",
            named.join(" and ")
        ));
    }
    if cli.command.is_some() && cli.config.is_some() {
        return Err("kv reads no config file: drop --config".into());
    }
    Ok(())
}

/// The validated config at `path`, and a runtime to run a command with.
fn load(path: Option<&std::path::Path>, what: &str) -> Result<(Config, tokio::runtime::Runtime)> {
    let path = path.with_context(|| format!("--config is required for {what}"))?;
    let mut cfg = Config::parse_toml_file(path)?;
    cfg.validate()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok((cfg, rt))
}

fn run(cli: Cli) -> Result<()> {
    let checkpoint = [
        cli.checkpoint_dump.clone().map(CheckpointCommand::Dump),
        cli.checkpoint_error_ignore
            .clone()
            .map(CheckpointCommand::ErrorIgnore),
        cli.checkpoint_error_destroy
            .clone()
            .map(CheckpointCommand::ErrorDestroy),
        cli.checkpoint_remove.clone().map(CheckpointCommand::Remove),
    ];
    let engine = [
        cli.import_engine.clone().map(EngineCommand::Import),
        cli.cleanup_engine.clone().map(EngineCommand::Cleanup),
    ];
    let mut engine = engine.into_iter().flatten();
    if let Some(cmd) = engine.next() {
        anyhow::ensure!(
            engine.next().is_none() && checkpoint.iter().all(Option::is_none),
            "give one command at a time"
        );
        let (cfg, rt) = load(cli.config.as_deref(), "engine commands")?;
        let out = rt.block_on(lightning::engine_command(&cfg, cmd))?;
        print!("{out}");
        return Ok(());
    }
    if cli.switch_mode.is_some() || cli.fetch_mode {
        anyhow::ensure!(
            cli.switch_mode.is_none() || !cli.fetch_mode,
            "give one command at a time"
        );
        let (cfg, rt) = load(cli.config.as_deref(), "mode commands")?;
        let out = rt.block_on(async {
            match &cli.switch_mode {
                Some(mode) => lightning::switch_mode_command(&cfg, mode).await,
                None => lightning::fetch_mode_command(&cfg).await,
            }
        })?;
        print!("{out}");
        return Ok(());
    }
    let mut checkpoint = checkpoint.into_iter().flatten();
    if let Some(cmd) = checkpoint.next() {
        anyhow::ensure!(
            checkpoint.next().is_none() && cli.command.is_none(),
            "give one command at a time"
        );
        let (cfg, rt) = load(cli.config.as_deref(), "checkpoint commands")?;
        let out = rt.block_on(lightning::checkpoint_command(&cfg, cmd))?;
        print!("{out}");
        return Ok(());
    }
    match cli.command {
        Some(Command::Kv(cmd)) => {
            let out = kv::run(cmd)?;
            print!("{out}");
            Ok(())
        }
        None => anyhow::bail!("no command given (see --help)"),
    }
}
