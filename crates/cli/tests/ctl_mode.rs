//! `tidb-lightning-ctl --switch-mode` / `--fetch-mode` against the simulated cluster: every
//! store changes mode and the printed modes say so.

use lightning_testkit::sim::{TestCluster, TestClusterOptions};
use std::process::Command;

const CTL: &str = env!("CARGO_BIN_EXE_tidb-lightning-ctl");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switch_mode_reaches_every_store_and_fetch_mode_reports_it() {
    let tc = TestCluster::start(TestClusterOptions::default())
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("ctl.toml");
    std::fs::write(
        &config,
        format!(
            "[tikv-importer]\nbackend = \"local\"\nsorted-kv-dir = {:?}\n[mydumper]\ndata-source-dir = {:?}\n[tidb]\npd-addr = {:?}\n",
            work.path().join("kv").display().to_string(),
            work.path().display().to_string(),
            tc.cluster().addrs().pd,
        ),
    )
    .unwrap();
    let ctl = |args: &[&str]| {
        let cfg = config.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        async move {
            tokio::task::spawn_blocking(move || {
                Command::new(CTL)
                    .arg("--config")
                    .arg(cfg)
                    .args(args)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let stores: Vec<u64> = tc.cluster().addrs().stores.iter().map(|s| s.0).collect();
    for (mode, code, name) in [("import", 1, "Import"), ("normal", 0, "Normal")] {
        let out = ctl(&["--switch-mode", mode]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for id in &stores {
            assert_eq!(
                tc.cluster().store_mode(*id),
                code,
                "store {id} after {mode}"
            );
        }
        let out = ctl(&["-fetch-mode"]).await;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(text.lines().count(), stores.len(), "{text}");
        for (_, addr) in &tc.cluster().addrs().stores {
            assert!(text.contains(&format!("TiKV {addr}: {name}")), "{text}");
        }
    }
    let out = ctl(&["--switch-mode", "fast"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("use \"import\" or \"normal\""));
    tc.shutdown().await;
}
