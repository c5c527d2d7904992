//! The harness starts a real server, runs SQL, and frees its port and folder on drop.

use lightning_testkit::MariaDb;
use std::net::TcpStream;

#[test]
fn private_server_runs_sql_and_cleans_up() {
    let db = MariaDb::start().expect("start");
    let out = db.query("CREATE DATABASE t1; CREATE TABLE t1.x (a INT); INSERT INTO t1.x VALUES (1),(2); SELECT SUM(a) FROM t1.x;").unwrap();
    assert_eq!(out.trim(), "3");
    assert!(db.query("SELECT * FROM no_such.table_here").is_err());
    let (port, dir) = (db.port(), db.file_dir().to_path_buf());
    assert!(db.cpu_seconds().unwrap() >= 0.0);
    drop(db);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port still open after drop"
    );
    assert!(!dir.exists(), "data dir left behind");
}
