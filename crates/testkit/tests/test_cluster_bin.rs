//! The `lightning-test-cluster` binary: prints its addresses as one JSON line, serves PD,
//! the stores and TiDB there, and frees every port when it gets SIGTERM.

use mysql_async::prelude::Queryable;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};

/// Kills the cluster if the test fails before it is stopped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_addresses_serves_them_and_frees_them_on_sigterm() {
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_lightning-test-cluster"))
            .args(["--stores", "2", "--fault", "ingest:server-is-busy:next=1"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addrs: serde_json::Value = serde_json::from_str(&line).unwrap();
    let stores: Vec<String> = addrs["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert_eq!(stores.len(), 2);
    let mut all: Vec<String> = stores.clone();
    for k in ["pd", "tidb", "tidb_status"] {
        all.push(addrs[k].as_str().unwrap().to_string());
    }
    for a in &all {
        TcpStream::connect(a).unwrap_or_else(|e| panic!("{a}: {e}"));
    }
    let url = format!("mysql://root@{}", addrs["tidb"].as_str().unwrap());
    let pool = mysql_async::Pool::new(url.as_str());
    let mut conn = pool.get_conn().await.unwrap();
    let v: Option<String> = conn.query_first("SELECT tidb_version()").await.unwrap();
    assert!(v.unwrap().starts_with("Release Version: v"));
    drop(conn);
    pool.disconnect().await.unwrap();

    let bad = Command::new(env!("CARGO_BIN_EXE_lightning-test-cluster"))
        .args(["--fault", "nonsense"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--fault \"nonsense\""));

    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    assert!(child.0.wait().unwrap().success());
    for a in &all {
        TcpListener::bind(a).unwrap_or_else(|e| panic!("{a} still taken: {e}"));
    }
}
