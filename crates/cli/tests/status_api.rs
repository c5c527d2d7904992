//! The status API end to end: a `--server-mode` tidb-lightning against the test MariaDB
//! runs POSTed tasks in order, refuses a bad one with 400 and keeps serving, cancels a
//! queued one on DELETE, holds still while paused and finishes exact after resume; its
//! `/metrics` parse with Prometheus' own Python parser and count every chunk and source
//! byte; `/loglevel` and `/progress/*` answer as upstream's; a local-backend task's KV
//! pairs and engines are counted as the cluster received them; the port speaks TLS with
//! `[security]` certificates.

mod common;

use lightning_testkit::sim::{TestCluster, TestClusterOptions};
use lightning_testkit::MariaDb;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::LIGHTNING;

fn server() -> &'static MariaDb {
    MariaDb::shared()
}

fn sql(text: &str) -> String {
    server().query(text).unwrap_or_else(|e| panic!("{e:#}"))
}

/// One HTTP/1.1 request; returns the status code and the body.
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connecting to the status server");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, rest) = resp.split_once("\r\n\r\n").expect("an HTTP response");
    let code = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (code, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A dump of `db`: table `t` (keyed) in `files` files of `rows` rows; the same rows in
/// `{db}_src` to compare with. Returns the data files' total size.
fn make_dump(dir: &Path, db: &str, files: usize, rows: usize) -> u64 {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join(format!("{db}-schema-create.sql")),
        format!("CREATE DATABASE `{db}`;\n"),
    )
    .unwrap();
    let ddl = "CREATE TABLE `t` (id INT PRIMARY KEY, v VARCHAR(40), KEY kv (v));\n";
    std::fs::write(dir.join(format!("{db}.t-schema.sql")), ddl).unwrap();
    let mut src = format!(
        "DROP DATABASE IF EXISTS `{db}`; DROP DATABASE IF EXISTS `{db}_src`; CREATE DATABASE `{db}_src`; USE `{db}_src`; {ddl}"
    );
    let mut size = 0;
    for f in 0..files {
        let vals: Vec<String> = (0..rows)
            .map(|i| format!("({},'value {} of file {f}')", f * rows + i, i * 7))
            .collect();
        let text = format!("INSERT INTO `t` VALUES {};\n", vals.join(","));
        src.push_str(&text);
        size += text.len() as u64;
        std::fs::write(dir.join(format!("{db}.t.{f:09}.sql")), text).unwrap();
    }
    sql(&src);
    size
}

fn task_toml(dir: &Path, cp: &Path) -> String {
    format!(
        "[lightning]\nregion-concurrency = 3\n[mydumper]\ndata-source-dir = {:?}\n[checkpoint]\nenable = true\ndriver = \"file\"\ndsn = {:?}\n",
        dir.display().to_string(),
        cp.display().to_string()
    )
}

struct Lightning(Child);

impl Drop for Lightning {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a server-mode tidb-lightning; returns it and the status address it bound.
fn start_server(log: &Path) -> (Lightning, String) {
    start_server_with(log, &[])
}

fn start_server_with(log: &Path, extra: &[&str]) -> (Lightning, String) {
    let db = server();
    let mut child = Command::new(LIGHTNING)
        .args([
            "--server-mode",
            "--status-addr",
            "127.0.0.1:0",
            "--backend",
            "tidb",
        ])
        .args(extra)
        .args([
            "--tidb-host",
            "127.0.0.1",
            "--tidb-port",
            &db.port().to_string(),
            "--tidb-user",
            "root",
        ])
        .args(["--log-file", log.to_str().unwrap(), "-L", "info"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting tidb-lightning");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server's address on stderr")
            .unwrap();
        if let Some(a) = line.strip_prefix("tidb-lightning: status server listening on ") {
            break a.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (Lightning(child), addr)
}

/// `name{labels}` → value, as parsed by Prometheus' Python client (which fails on any
/// malformed line).
fn parse_metrics(text: &str) -> Vec<(String, String, f64)> {
    let script = "import sys, json\n\
        from prometheus_client.parser import text_string_to_metric_families as parse\n\
        out = []\n\
        for fam in parse(sys.stdin.read()):\n\
        \x20   for s in fam.samples:\n\
        \x20       out.append([s.name, json.dumps(s.labels, sort_keys=True), s.value])\n\
        print(json.dumps(out))\n";
    let mut p = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with prometheus_client (scripts/setup.sh installs it)");
    p.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused /metrics: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<(String, String, f64)> = serde_json::from_slice(&out.stdout).unwrap();
    v
}

fn sample(m: &[(String, String, f64)], name: &str, labels: &str) -> f64 {
    m.iter()
        .filter(|(n, l, _)| n == name && l == labels)
        .map(|s| s.2)
        .sum()
}

fn text_has(addr: &str, needle: &str) -> bool {
    http(addr, "GET", "/metrics", "").1.contains(needle)
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn same_rows(db: &str) {
    let got = sql(&format!(
        "SELECT COUNT(*), SUM(CRC32(CONCAT(id, v))) FROM `{db}`.`t`"
    ));
    let want = sql(&format!(
        "SELECT COUNT(*), SUM(CRC32(CONCAT(id, v))) FROM `{db}_src`.`t`"
    ));
    assert_eq!(got, want, "{db}");
}

#[test]
fn server_mode_queues_pauses_cancels_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let size = make_dump(&a, "status_a", 3, 400) + make_dump(&b, "status_b", 2, 300);
    make_dump(&c, "status_c", 1, 10);
    let (mut lightning, addr) = start_server(&tmp.path().join("lightning.log"));

    // Paused before anything is posted: the first task starts and holds still.
    assert_eq!(http(&addr, "PUT", "/pause", ""), (200, "{}".into()));
    assert_eq!(json(&http(&addr, "GET", "/pause", "").1)["paused"], true);

    // A bad task: 400 naming the key; the server goes on serving.
    let (code, body) = http(&addr, "POST", "/tasks", "[tidb]\nprot = 1\n");
    assert_eq!(code, 400, "{body}");
    assert!(
        json(&body)["error"].as_str().unwrap().contains("tidb.prot"),
        "{body}"
    );
    let (code, body) = http(&addr, "POST", "/tasks", "[mydumper\n");
    assert_eq!(code, 400, "{body}");

    let post = |dir: &Path, name: &str| {
        let (code, body) = http(
            &addr,
            "POST",
            "/tasks",
            &task_toml(dir, &tmp.path().join(name)),
        );
        assert_eq!(code, 200, "{body}");
        json(&body)["id"].as_i64().unwrap()
    };
    let (ia, ib, ic) = (post(&a, "a.pb"), post(&b, "b.pb"), post(&c, "c.pb"));
    assert!(ia < ib && ib < ic);
    wait_for("task a to start", 30, || {
        json(&http(&addr, "GET", "/tasks", "").1)["current"] == ia
    });
    let tasks = json(&http(&addr, "GET", "/tasks", "").1);
    assert_eq!(tasks["queue"], serde_json::json!([ib, ic]));
    let one = json(&http(&addr, "GET", &format!("/tasks/{ib}"), "").1);
    assert_eq!(one["state"], "queued");
    assert_eq!(one["mydumper"]["data-source-dir"], b.display().to_string());

    // Reordering and cancelling queued tasks.
    assert_eq!(
        http(&addr, "PATCH", &format!("/tasks/{ic}/front"), "").0,
        200
    );
    assert_eq!(
        json(&http(&addr, "GET", "/tasks", "").1)["queue"],
        serde_json::json!([ic, ib])
    );
    assert_eq!(
        http(&addr, "PATCH", &format!("/tasks/{ic}/sideways"), "").0,
        400
    );
    assert_eq!(http(&addr, "DELETE", &format!("/tasks/{ic}"), "").0, 200);
    assert_eq!(http(&addr, "DELETE", &format!("/tasks/{ic}"), "").0, 404);
    assert_eq!(http(&addr, "GET", "/tasks/nope", "").0, 400);
    assert_eq!(http(&addr, "GET", "/nowhere", "").0, 404);
    let (code, body) = http(&addr, "DELETE", "/pause", "");
    assert_eq!(code, 405);
    assert!(json(&body)["error"].is_string(), "{body}");
    assert_eq!(
        json(&http(&addr, "GET", "/tasks", "").1)["queue"],
        serde_json::json!([ib])
    );

    // Paused: no byte moves over 2 s.
    let restored = |m: &[(String, String, f64)]| {
        sample(m, "lightning_bytes_total", r#"{"state": "restored"}"#)
    };
    let before = restored(&parse_metrics(&http(&addr, "GET", "/metrics", "").1));
    std::thread::sleep(Duration::from_secs(2));
    let after = restored(&parse_metrics(&http(&addr, "GET", "/metrics", "").1));
    assert_eq!(before, after, "bytes moved while paused");
    assert_eq!(sql("SELECT COUNT(*) FROM `status_a`.`t`").trim(), "0");

    // Log level.
    assert_eq!(
        json(&http(&addr, "GET", "/loglevel", "").1)["level"],
        "info"
    );
    assert_eq!(
        http(&addr, "PUT", "/loglevel", r#"{"level":"debug"}"#).0,
        200
    );
    assert_eq!(
        json(&http(&addr, "GET", "/loglevel", "").1)["level"],
        "debug"
    );
    assert_eq!(
        http(&addr, "PUT", "/loglevel", r#"{"level":"loud"}"#).0,
        400
    );
    assert_eq!(
        http(&addr, "POST", "/loglevel", r#"{"level":"info"}"#).0,
        200
    );

    // Resume: both tasks finish, in order, exact.
    assert_eq!(http(&addr, "PUT", "/resume", "").0, 200);
    wait_for("both tasks to finish", 120, || {
        let t = json(&http(&addr, "GET", "/tasks", "").1);
        t["current"].is_null() && t["queue"] == serde_json::json!([])
    });
    same_rows("status_a");
    same_rows("status_b");
    assert_eq!(
        sql("SHOW DATABASES LIKE 'status_c'").trim(),
        "",
        "the cancelled task ran"
    );

    // The last task's progress, upstream's shape.
    let p = json(&http(&addr, "GET", "/progress/task", "").1);
    assert_eq!(p["s"], 2, "{p}");
    let t = &p["t"]["`status_b`.`t`"];
    assert_eq!(
        (t["s"].as_u64(), t["w"].as_u64()),
        (Some(2), t["z"].as_u64()),
        "{p}"
    );
    let (code, body) = http(&addr, "GET", "/progress/table?t=%60status_b%60.%60t%60", "");
    assert_eq!(code, 200, "{body}");
    let t = json(&body);
    assert_eq!(
        (
            t["rows"].as_u64(),
            t["chunks"].as_u64(),
            t["chunks_finished"].as_u64()
        ),
        (Some(600), Some(2), Some(2))
    );
    assert_eq!(http(&addr, "GET", "/progress/table?t=nope", "").0, 404);

    // Metrics over both tasks: every chunk finished, every source byte restored.
    let m = parse_metrics(&http(&addr, "GET", "/metrics", "").1);
    // The text says `lightning_chunks` (upstream's name); the parser names counter samples
    // the OpenMetrics way, with `_total`.
    assert!(text_has(
        &addr,
        "\nlightning_chunks{state=\"finished\"} 5\n"
    ));
    assert_eq!(
        sample(&m, "lightning_chunks_total", r#"{"state": "finished"}"#),
        5.0
    );
    assert_eq!(
        sample(&m, "lightning_chunks_total", r#"{"state": "failed"}"#),
        0.0
    );
    assert_eq!(restored(&m), size as f64);
    assert_eq!(
        sample(&m, "lightning_bytes_total", r#"{"state": "total_restore"}"#),
        size as f64
    );
    assert_eq!(
        sample(
            &m,
            "lightning_rows_total",
            r#"{"state": "restored", "table": "`status_a`.`t`"}"#
        ),
        1200.0
    );
    assert_eq!(
        sample(
            &m,
            "lightning_tables_total",
            r#"{"result": "success", "state": "completed"}"#
        ),
        2.0
    );
    assert_eq!(
        sample(&m, "lightning_idle_workers", r#"{"name": "region"}"#),
        3.0
    );
    assert!(sample(&m, "lightning_row_read_seconds_count", "{}") >= 5.0);
    assert!(sample(&m, "process_resident_memory_bytes", "{}") > 1e6);

    // SIGTERM ends an idle server cleanly.
    let pid = lightning.0.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let t = Instant::now();
    let status = loop {
        if let Some(s) = lightning.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the server ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn the_status_port_speaks_tls_with_the_security_certificates() {
    let tmp = tempfile::tempdir().unwrap();
    lightning_testkit::make_certificates(tmp.path()).unwrap();
    let f = |n: &str| tmp.path().join(n).display().to_string();
    let (cert, key) = (f("server-cert.pem"), f("server-key.pem"));
    let (_lightning, addr) = start_server_with(
        &tmp.path().join("lightning.log"),
        &["--cert", &cert, "--key", &key],
    );
    let ca = reqwest::Certificate::from_pem(&std::fs::read(f("ca.pem")).unwrap()).unwrap();
    let port = addr.rsplit(':').next().unwrap().to_string();
    // A client that connects and never starts its handshake holds up no one else.
    let _silent = TcpStream::connect(&addr).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        let resp = client
            .get(format!("https://localhost:{port}/metrics"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("an HTTPS request to the status port");
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
        let pause = client
            .get(format!("https://127.0.0.1:{port}/pause"))
            .send()
            .await
            .unwrap();
        assert_eq!(pause.text().await.unwrap(), r#"{"paused":false}"#);
        // A plain HTTP request gets no answer from the TLS port.
        let plain = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        assert!(plain.is_err(), "plain HTTP was answered: {plain:?}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_backend_task_counts_pairs_engines_and_bytes() {
    let tc = TestCluster::start(TestClusterOptions::default())
        .await
        .expect("start the simulated cluster");
    let work = tempfile::tempdir().unwrap();
    let config = common::dump_and_config(&tc, work.path(), "");
    // Logging is the server's: the task body leaves it out.
    let body: String = std::fs::read_to_string(&config)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("file = ") && !l.starts_with("level = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let dump = work.path().join("dump");
    let (mut size, mut files) = (0, 0);
    for e in std::fs::read_dir(&dump).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.contains("schema") {
            size += e.metadata().unwrap().len();
            files += 1;
        }
    }
    let log = work.path().join("server.log");
    let (lightning, addr, m) = tokio::task::spawn_blocking(move || {
        let (lightning, addr) = start_server_with(&log, &[]);
        let (code, resp) = http(&addr, "POST", "/tasks", &body);
        assert_eq!(code, 200, "{resp}");
        wait_for("the local task to finish", 120, || {
            let t = json(&http(&addr, "GET", "/tasks", "").1);
            t["current"].is_null() && t["queue"] == serde_json::json!([])
        });
        let m = parse_metrics(&http(&addr, "GET", "/metrics", "").1);
        (lightning, addr, m)
    })
    .await
    .unwrap();
    let task_log = std::fs::read_to_string(work.path().join("server.log")).unwrap();
    common::assert_imported(&tc, &task_log, "server mode, local backend");
    let p = json(
        &tokio::task::spawn_blocking(move || http(&addr, "GET", "/progress/task", "").1)
            .await
            .unwrap(),
    );
    assert_eq!(p["s"], 2, "{p}");
    drop(lightning);

    let get = |name: &str, labels: &str| sample(&m, name, labels);
    let written = get("lightning_kv_pairs_total", r#"{"state": "written"}"#);
    assert!(written > 0.0);
    assert_eq!(
        get("lightning_kv_pairs_total", r#"{"state": "ingested"}"#),
        written
    );
    assert_eq!(
        get("lightning_bytes_total", r#"{"state": "restored"}"#),
        size as f64
    );
    assert_eq!(
        get("lightning_chunks_total", r#"{"state": "finished"}"#),
        files as f64
    );
    // Two tables, each a data and an index engine, every one opened, closed and imported.
    assert_eq!(
        get("lightning_importer_engine_total", r#"{"type": "open"}"#),
        4.0
    );
    assert_eq!(
        get("lightning_importer_engine_total", r#"{"type": "closed"}"#),
        4.0
    );
    assert_eq!(
        get(
            "lightning_engines_total",
            r#"{"result": "success", "state": "imported"}"#
        ),
        4.0
    );
    assert_eq!(
        get(
            "lightning_tables_total",
            r#"{"result": "success", "state": "checksum"}"#
        ),
        2.0
    );
    assert_eq!(
        get(
            "lightning_tables_total",
            r#"{"result": "success", "state": "completed"}"#
        ),
        2.0
    );
    assert!(get("lightning_bytes_total", r#"{"state": "imported"}"#) > 0.0);
    assert!(get("lightning_sst_seconds_count", r#"{"kind": "ingest"}"#) >= 4.0);
    assert!(get("lightning_checksum_seconds_count", "{}") >= 2.0);
    assert_eq!(get("lightning_progress", r#"{"phase": "total"}"#), 1.0);
    tc.shutdown().await;
}
