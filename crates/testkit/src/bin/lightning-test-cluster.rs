//! `lightning-test-cluster`: runs the simulated PD + TiKV + TiDB cluster until SIGTERM or
//! SIGINT, so that `tidb-lightning` (or any client) can be pointed at it. Prints one JSON
//! line with the bound addresses on start: `{"pd", "tidb", "tidb_status", "stores"}`.

use clap::Parser;
use lightning_testkit::cluster::{FaultRule, SimOptions};
use lightning_testkit::sim::{TestCluster, TestClusterOptions};
use lightning_testkit::tidb::SimTidbOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use tokio::signal::unix::{signal, SignalKind};

/// Command-line flags; ports default to free loopback ones.
#[derive(Parser, Debug)]
#[command(
    version,
    about = "A simulated TiDB cluster (PD + TiKV stores + TiDB SQL face) for testing"
)]
struct Args {
    /// Number of TiKV stores.
    #[arg(long, default_value_t = 3)]
    stores: usize,
    /// Replicas per region (capped at the number of stores).
    #[arg(long, default_value_t = 3)]
    replicas: usize,
    /// A region splits by itself once its leader holds more bytes than this.
    #[arg(long, default_value_t = 96 << 20)]
    region_split_size: u64,
    /// A region splits by itself once its leader holds more keys than this.
    #[arg(long, default_value_t = 960_000)]
    region_split_keys: u64,
    /// Seed of probabilistic faults and scatter.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// PD's port (gRPC and HTTP); 0 = a free one.
    #[arg(long, default_value_t = 0)]
    pd_port: u16,
    /// Store i listens on this port + i; 0 = free ones.
    #[arg(long, default_value_t = 0)]
    store_base_port: u16,
    /// TiDB's MySQL-protocol port; 0 = a free one.
    #[arg(long, default_value_t = 0)]
    tidb_port: u16,
    /// TiDB's status HTTP port; 0 = a free one.
    #[arg(long, default_value_t = 0)]
    tidb_status_port: u16,
    /// A fault to inject, as `step:fault[:next=N|:p=P][:after=K][:store=ID]`, for example
    /// `ingest:server-is-busy:next=2` or `write:slow=200ms:p=0.1:store=2` (repeatable).
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut faults = Vec::new();
    for spec in &args.faults {
        match spec.parse::<FaultRule>() {
            Ok(rule) => faults.push(rule),
            Err(e) => {
                eprintln!("lightning-test-cluster: --fault {spec:?}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let lo = |port| SocketAddr::from(([127, 0, 0, 1], port));
    let opts = TestClusterOptions {
        cluster: SimOptions {
            stores: args.stores,
            replicas: args.replicas,
            region_split_size: args.region_split_size,
            region_split_keys: args.region_split_keys,
            seed: args.seed,
            pd_port: args.pd_port,
            store_base_port: args.store_base_port,
        },
        tidb: SimTidbOptions {
            sql_addr: lo(args.tidb_port),
            status_addr: lo(args.tidb_status_port),
            ..SimTidbOptions::default()
        },
    };
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            eprintln!("lightning-test-cluster: cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    let cluster = match TestCluster::start(opts).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lightning-test-cluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    for rule in faults {
        cluster.cluster().inject(rule);
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", cluster.addrs_json())
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(out);
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    cluster.shutdown().await;
    ExitCode::SUCCESS
}
