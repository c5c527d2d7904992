//! `tidb-lightning-ctl`: maintenance commands for Lightning.
//!
//! Upstream's ctl is driven by flags (`--checkpoint-dump`, `--switch-mode`, …) that
//! later work adds to [`Cli`]; the debugging tools live under the `kv` subcommand:
//! `kv encode` prints the KV pairs a row becomes, `kv decode` explains raw bytes.

use anyhow::Result;
use clap::{Parser, Subcommand};

#[path = "ctl/kv.rs"]
mod kv;

/// Command line of tidb-lightning-ctl.
#[derive(Parser, Debug)]
#[command(name = "tidb-lightning-ctl", about = "TiDB Lightning maintenance tool")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Encode a row into TiKV key-value pairs, or decode a raw key or value.
    #[command(subcommand)]
    Kv(kv::KvCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Kv(cmd)) => {
            let out = kv::run(cmd)?;
            print!("{out}");
            Ok(())
        }
        None => anyhow::bail!("no command given (see --help)"),
    }
}
