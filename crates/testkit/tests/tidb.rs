//! The simulated TiDB through a real MySQL driver (mysql_async) and plain HTTP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use lightning_encode::ddl::parse_create_table;
use lightning_encode::{EncodeOptions, Encoder, KvPairs, TableInfo};
use lightning_parser::{Field, FieldKind};
use lightning_testkit::tidb::{MemKv, SimTidb, SimTidbOptions, DEFAULT_FIRST_ID};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};

fn start() -> (SimTidb, Arc<MemKv>) {
    let kv = Arc::new(MemKv::new());
    let tidb = SimTidb::start(SimTidbOptions::default(), kv.clone()).expect("start");
    (tidb, kv)
}

async fn connect(t: &SimTidb) -> Conn {
    Conn::new(Opts::from_url(&t.url()).expect("url"))
        .await
        .expect("connect")
}

/// The MySQL error code of a failed statement.
async fn err_code(c: &mut Conn, sql: &str) -> u16 {
    match c.query_drop(sql).await {
        Err(mysql_async::Error::Server(e)) => e.code,
        other => panic!("{sql}: expected a server error, got {other:?}"),
    }
}

/// `GET path` on the status port: (status code, body).
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect status port");
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").expect("http response");
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, body.to_string())
}

#[tokio::test]
async fn ids_follow_tidb_global_allocation() {
    let (tidb, _kv) = start();
    let mut c = connect(&tidb).await;
    let first = DEFAULT_FIRST_ID;
    c.query_drop("CREATE DATABASE d1").await.unwrap();
    c.query_drop("USE d1").await.unwrap();
    c.query_drop(
        "CREATE TABLE a (id INT PRIMARY KEY, x INT, y VARCHAR(8), KEY kx (x), UNIQUE KEY uy (y))",
    )
    .await
    .unwrap();
    c.query_drop("CREATE TABLE b (s VARCHAR(10) PRIMARY KEY CLUSTERED, x INT, KEY kx (x))")
        .await
        .unwrap();
    c.query_drop("CREATE TABLE IF NOT EXISTS b (z INT)")
        .await
        .unwrap();
    c.query_drop("CREATE DATABASE IF NOT EXISTS d2")
        .await
        .unwrap();
    // Objects first, then their DDL job, from one counter; IF NOT EXISTS on an existing
    // table allocates nothing.
    assert_eq!(tidb.database_id("d1"), Some(first));
    assert_eq!(tidb.table_info("d1", "a").unwrap().id, first + 2);
    assert_eq!(tidb.table_info("d1", "b").unwrap().id, first + 4);
    assert_eq!(tidb.database_id("d2"), Some(first + 6));
    let ids: Vec<(String, i64)> = c
        .query("SELECT TABLE_NAME, TIDB_TABLE_ID FROM information_schema.tables WHERE TABLE_SCHEMA = 'd1' ORDER BY TIDB_TABLE_ID")
        .await
        .unwrap();
    assert_eq!(ids, [("a".into(), first + 2), ("b".into(), first + 4)]);
    let idx: Vec<(String, String, i64, String)> = c
        .query("SELECT TABLE_NAME, KEY_NAME, INDEX_ID, CLUSTERED FROM information_schema.tidb_indexes WHERE TABLE_SCHEMA = 'd1'")
        .await
        .unwrap();
    let want = [
        ("a", "PRIMARY", 0, "YES"),
        ("a", "kx", 1, "NO"),
        ("a", "uy", 2, "NO"),
        ("b", "PRIMARY", 1, "YES"),
        ("b", "kx", 2, "NO"),
    ];
    let want: Vec<(String, String, i64, String)> = want
        .iter()
        .map(|(t, k, i, cl)| (t.to_string(), k.to_string(), *i, cl.to_string()))
        .collect();
    assert_eq!(idx, want);
    let a = tidb.table_info("d1", "a").unwrap();
    assert_eq!(
        a.columns.iter().map(|c| c.id).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    // Dropping is a DDL job too: the next object skips its job id.
    c.query_drop("DROP TABLE a").await.unwrap();
    c.query_drop("CREATE TABLE c (i INT)").await.unwrap();
    assert_eq!(tidb.table_info("d1", "c").unwrap().id, first + 9);
    assert_eq!(err_code(&mut c, "CREATE TABLE c (i INT)").await, 1050);
    assert_eq!(err_code(&mut c, "CREATE DATABASE d1").await, 1007);
    assert_eq!(err_code(&mut c, "DROP TABLE nope").await, 1051);
    assert_eq!(err_code(&mut c, "USE nope").await, 1049);
    c.disconnect().await.unwrap();
}

#[tokio::test]
async fn show_create_table_round_trips_and_shows_rebased_ids() {
    let (tidb, _kv) = start();
    let mut c = connect(&tidb).await;
    c.query_drop("CREATE DATABASE s; USE s").await.unwrap();
    c.query_drop("CREATE TABLE t (id BIGINT NOT NULL AUTO_INCREMENT, v VARCHAR(20) DEFAULT 'x', d DECIMAL(10,2), PRIMARY KEY (id), KEY kv (v(4)))")
        .await
        .unwrap();
    // The rebases Lightning issues after an import (importer/tidb.go).
    c.query_drop("ALTER TABLE `s`.`t` AUTO_INCREMENT=5001")
        .await
        .unwrap();
    c.query_drop("ALTER TABLE `s`.`t` AUTO_INCREMENT=10")
        .await
        .unwrap();
    let (name, text): (String, String) =
        c.query_first("SHOW CREATE TABLE t").await.unwrap().unwrap();
    assert_eq!(name, "t");
    assert!(text.contains(" AUTO_INCREMENT=5001"), "{text}");
    let info = tidb.table_info("s", "t").unwrap();
    assert_eq!(parse_create_table(&text, info.id).unwrap(), info);
    c.query_drop("ALTER TABLE s.t FORCE AUTO_INCREMENT=77")
        .await
        .unwrap();
    let text: String = c
        .query_first("SHOW CREATE TABLE s.t")
        .await
        .unwrap()
        .map(|(_, t): (String, String)| t)
        .unwrap();
    assert!(text.contains(" AUTO_INCREMENT=77"), "{text}");

    c.query_drop("CREATE TABLE r (id BIGINT PRIMARY KEY AUTO_RANDOM(5), v INT)")
        .await
        .unwrap();
    c.query_drop("ALTER TABLE r AUTO_RANDOM_BASE=123")
        .await
        .unwrap();
    let (_, text): (String, String) = c.query_first("SHOW CREATE TABLE r").await.unwrap().unwrap();
    assert!(text.contains("AUTO_RANDOM_BASE=123"), "{text}");
    assert!(text.contains("AUTO_RANDOM(5)"), "{text}");
    assert_eq!(
        tidb.table_info("s", "r").unwrap().auto_random_base,
        Some(123)
    );
    assert_eq!(
        err_code(&mut c, "ALTER TABLE t AUTO_RANDOM_BASE=5").await,
        8216
    );
    assert_eq!(
        err_code(&mut c, "ALTER TABLE t ADD COLUMN z INT").await,
        1235
    );
}

/// Encodes `n` rows of `t` (ids 1..=n) into `kv`; returns what Lightning's checksum would be.
fn load_rows(kv: &MemKv, t: &TableInfo, n: i64) -> lightning_encode::KvChecksum {
    let mut enc = Encoder::new(t, EncodeOptions::default()).unwrap();
    let mut out = KvPairs::new();
    for i in 1..=n {
        let id = i.to_string();
        let name = format!("name-{}", i % 7);
        let row = [
            Field {
                kind: FieldKind::Number,
                bytes: id.as_bytes(),
            },
            Field {
                kind: FieldKind::Text,
                bytes: name.as_bytes(),
            },
        ];
        enc.encode_row(&row, i, &mut out).unwrap();
    }
    for p in out.iter() {
        kv.put(p.key, p.value);
    }
    out.checksum()
}

#[tokio::test]
async fn admin_checksum_and_count_read_the_kv_source() {
    let (tidb, kv) = start();
    let mut c = connect(&tidb).await;
    c.query_drop("CREATE DATABASE k").await.unwrap();
    c.query_drop("CREATE TABLE k.t (id INT PRIMARY KEY, name VARCHAR(20), KEY kn (name))")
        .await
        .unwrap();
    c.query_drop("CREATE TABLE k.u (id INT, name VARCHAR(20), UNIQUE KEY un (name, id))")
        .await
        .unwrap();
    c.query_drop("CREATE TABLE k.empty (id INT)").await.unwrap();
    let t = tidb.table_info("k", "t").unwrap();
    let u = tidb.table_info("k", "u").unwrap();
    let want_t = load_rows(&kv, &t, 50);
    let want_u = load_rows(&kv, &u, 9);
    assert_eq!(want_t.kvs, 100);
    let rows: Vec<(String, String, u64, u64, u64)> =
        c.query("ADMIN CHECKSUM TABLE k.t, `k`.`u`").await.unwrap();
    assert_eq!(
        rows,
        [
            ("k".into(), "t".into(), want_t.crc, want_t.kvs, want_t.bytes),
            ("k".into(), "u".into(), want_u.crc, want_u.kvs, want_u.bytes),
        ]
    );
    assert_eq!(tidb.checksum("k", "t"), Some(want_t));
    let n: Option<u64> = c.query_first("SELECT COUNT(*) FROM k.t").await.unwrap();
    assert_eq!(n, Some(50));
    let n: Option<u64> = c.query_first("select count(1) from `k`.`u`").await.unwrap();
    assert_eq!(n, Some(9));
    // Lightning's empty-table probe (get_pre_info.go, IsTableEmpty).
    let one: Vec<u8> = c
        .query("SELECT 1 FROM `k`.`t` USE INDEX() LIMIT 1")
        .await
        .unwrap();
    assert_eq!(one, [1]);
    let none: Vec<u8> = c
        .query("SELECT 1 FROM `k`.`empty` USE INDEX() LIMIT 1")
        .await
        .unwrap();
    assert!(none.is_empty());
    assert_eq!(
        err_code(&mut c, "SELECT 1 FROM k.missing USE INDEX() LIMIT 1").await,
        1146
    );
    let empty: (String, String, u64, u64, u64) = c
        .query_first("ADMIN CHECKSUM TABLE k.empty")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((empty.2, empty.3, empty.4), (0, 0, 0));
}

/// Reads of user tables decode the stored rows with the table's schema.
#[test]
fn selects_decode_stored_rows() {
    let (tidb, kv) = start();
    tidb.query(
        "CREATE DATABASE s; CREATE TABLE s.t (id INT PRIMARY KEY, name VARCHAR(20)); \
         CREATE TABLE s.u (id INT, name VARCHAR(20) COLLATE utf8mb4_general_ci)",
    )
    .unwrap();
    load_rows(&kv, &tidb.table_info("s", "t").unwrap(), 20);
    load_rows(&kv, &tidb.table_info("s", "u").unwrap(), 3);
    let q = |sql: &str| -> Vec<String> {
        tidb.query(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| v.unwrap_or_else(|| "NULL".into()))
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .collect()
    };
    assert_eq!(
        q("SELECT id, name FROM s.t WHERE id <= 3 ORDER BY id DESC"),
        ["3\tname-3", "2\tname-2", "1\tname-1"]
    );
    assert_eq!(
        q("SELECT count(*), sum(id), min(id), max(name), count(DISTINCT name) FROM s.t"),
        ["20\t210\t1\tname-6\t7"]
    );
    assert_eq!(q("SELECT sum(id) FROM s.t WHERE id > 100"), ["NULL"]);
    assert_eq!(q("SELECT id FROM s.t WHERE name = 'name-0'"), ["7", "14"]);
    assert_eq!(
        q("SELECT *, _tidb_rowid, hex(name) FROM s.u WHERE name = 'NAME-2' LIMIT 5"),
        ["2\tname-2\t2\t6E616D652D32"]
    );
    tidb.query("CREATE TABLE s.d (x real primary key, name varchar(20))")
        .unwrap();
    load_rows(&kv, &tidb.table_info("s", "d").unwrap(), 4);
    assert_eq!(q("SELECT count(1) FROM s.d WHERE x > 0"), ["4"]);
    assert_eq!(q("SELECT sum(x) FROM s.d"), ["10"]);
    assert_eq!(q("SELECT count(1), sum(x), min(x) FROM s.d"), ["4\t10\t1"]);
    assert_eq!(
        q("SELECT x FROM s.d WHERE x > 2 ORDER BY x DESC"),
        ["4", "3"]
    );
    tidb.query(
        "CREATE TABLE s.v (id INT PRIMARY KEY, name VARCHAR(20), w INT AS (id + 1) VIRTUAL)",
    )
    .unwrap();
    load_rows(&kv, &tidb.table_info("s", "v").unwrap(), 2);
    assert_eq!(q("SELECT id FROM s.v ORDER BY id DESC"), ["2", "1"]);
    // Decimals compare by value whatever their scale.
    tidb.query("CREATE TABLE s.m (id INT PRIMARY KEY, d DECIMAL(6,2))")
        .unwrap();
    let m = tidb.table_info("s", "m").unwrap();
    let mut enc = Encoder::new(&m, EncodeOptions::default()).unwrap();
    let mut out = KvPairs::new();
    for (i, d) in [(1, "10.5"), (2, "9.75"), (3, "-1")] {
        let id = i.to_string();
        let row = [
            Field {
                kind: FieldKind::Number,
                bytes: id.as_bytes(),
            },
            Field {
                kind: FieldKind::Number,
                bytes: d.as_bytes(),
            },
        ];
        enc.encode_row(&row, i, &mut out).unwrap();
    }
    for p in out.iter() {
        kv.put(p.key, p.value);
    }
    assert_eq!(
        q("SELECT id, d FROM s.m WHERE d > 9.8 ORDER BY d"),
        ["1\t10.50"]
    );
    assert_eq!(q("SELECT min(d), max(d) FROM s.m"), ["-1.00\t10.50"]);
    let err = |sql: &str| tidb.query(sql).unwrap_err().code;
    // A virtual column's value would need its expression evaluated.
    assert_eq!(err("SELECT w FROM s.v"), 1235);
    assert_eq!(err("SELECT * FROM s.v"), 1235);
    assert_eq!(err("SELECT id FROM s.v WHERE w = 2"), 1235);
    assert_eq!(err("SELECT id, count(*) FROM s.t"), 1140);
    assert_eq!(err("SELECT _tidb_rowid FROM s.t"), 1054);
    assert_eq!(err("SELECT sum(name) FROM s.t"), 1235);
    assert_eq!(err("SELECT id FROM s.t WHERE name LIKE 'n%'"), 1235);
}

#[tokio::test]
async fn lightning_metadata_and_session_statements() {
    let (tidb, _kv) = start();
    let mut c = connect(&tidb).await;
    let v: String = c
        .query_first("SELECT tidb_version()")
        .await
        .unwrap()
        .unwrap();
    assert!(v.starts_with("Release Version: v8.5.0\n"), "{v}");
    let v: String = c.query_first("SELECT version();").await.unwrap().unwrap();
    assert_eq!(v, "8.0.11-TiDB-v8.5.0");
    // What the interactive mysql client asks first.
    let vc: String = c
        .query_first("select @@version_comment limit 1")
        .await
        .unwrap()
        .unwrap();
    assert!(vc.starts_with("TiDB Server"), "{vc}");
    // ObtainImportantVariables (importer/tidb.go).
    let vars: Vec<(String, String)> = c
        .query("SHOW VARIABLES WHERE Variable_name IN ('max_allowed_packet','div_precision_increment','tidb_row_format_version')")
        .await
        .unwrap();
    assert_eq!(vars.len(), 3, "{vars:?}");
    assert!(vars.contains(&("tidb_row_format_version".into(), "2".into())));
    c.query_drop("SET SESSION tidb_backoff_weight = '30';")
        .await
        .unwrap();
    let w: String = c
        .query_first("SELECT @@tidb_backoff_weight")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w, "30");
    let like: Vec<(String, String)> = c
        .query("SHOW VARIABLES LIKE 'tidb_backoff_weight'")
        .await
        .unwrap();
    assert_eq!(like, [("tidb_backoff_weight".into(), "30".into())]);
    c.query_drop("SET GLOBAL tidb_gc_life_time = '100h'")
        .await
        .unwrap();
    assert_eq!(
        tidb.global_var("tidb_gc_life_time").as_deref(),
        Some("100h")
    );
    // GC life time handling around remote checksums (backend/local/checksum.go).
    let gc: String = c
        .query_first(
            "SELECT VARIABLE_VALUE FROM mysql.tidb WHERE VARIABLE_NAME = 'tikv_gc_life_time'",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gc, "10m0s");
    c.query_drop("UPDATE mysql.tidb SET VARIABLE_VALUE = '100h0m0s' WHERE VARIABLE_NAME = 'tikv_gc_life_time'")
        .await
        .unwrap();
    assert_eq!(
        tidb.mysql_tidb("tikv_gc_life_time").as_deref(),
        Some("100h0m0s")
    );
    let nc: String = c
        .query_first(
            "SELECT variable_value FROM mysql.tidb WHERE variable_name = 'new_collation_enabled'",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(nc, "True");
    c.query_drop("BEGIN; CREATE DATABASE IF NOT EXISTS `z`; COMMIT")
        .await
        .unwrap();
    c.query_drop("CREATE TABLE z.t (i INT)").await.unwrap();
    c.query_drop("ANALYZE TABLE `z`.`t`").await.unwrap();
    assert_eq!(tidb.analyzed_tables(), [("z".to_string(), "t".to_string())]);
    assert_eq!(err_code(&mut c, "ANALYZE TABLE z.nope").await, 1146);
    let tables: Vec<String> = c.query("SHOW TABLES FROM z").await.unwrap();
    assert_eq!(tables, ["t"]);
    assert!(tidb
        .statements()
        .iter()
        .any(|s| s == "ANALYZE TABLE `z`.`t`"));
}

#[tokio::test]
async fn unsupported_statements_are_errors() {
    let (tidb, _kv) = start();
    let mut c = connect(&tidb).await;
    c.query_drop("CREATE DATABASE u; CREATE TABLE u.t (i INT)")
        .await
        .unwrap();
    assert_eq!(
        err_code(&mut c, "INSERT INTO u.t VALUES (1 + 1)").await,
        1064
    );
    assert_eq!(err_code(&mut c, "INSERT INTO u.t SELECT 1").await, 1064);
    assert_eq!(err_code(&mut c, "DELETE FROM u.t").await, 1235);
    assert_eq!(err_code(&mut c, "SELECT i + 1 FROM u.t").await, 1235);
    assert_eq!(
        err_code(&mut c, "SELECT COUNT(*) FROM u.t GROUP BY i").await,
        1235
    );
    assert_eq!(
        err_code(&mut c, "SELECT COUNT(*) FROM u.t WHERE i > 1 OR i < 0").await,
        1235
    );
    assert_eq!(
        err_code(
            &mut c,
            "SELECT TABLE_NAME FROM information_schema.tables GROUP BY TABLE_NAME"
        )
        .await,
        1235
    );
    assert_eq!(err_code(&mut c, "CREATE VIEW u.v AS SELECT 1").await, 1235);
    assert_eq!(err_code(&mut c, "FROBNICATE everything").await, 1064);
    assert_eq!(err_code(&mut c, "SELECT @@no_such_variable").await, 1193);
    assert_eq!(err_code(&mut c, "CREATE TABLE t2 (i INT)").await, 1046);
    // A failing statement stops a multi-statement query.
    assert_eq!(
        err_code(&mut c, "CREATE DATABASE m1; BOGUS; CREATE DATABASE m2").await,
        1064
    );
    assert!(tidb.database_id("m1").is_some());
    assert!(tidb.database_id("m2").is_none());
}

/// INSERT encodes rows as TiDB does and commits them to the store: they read back, a
/// missing auto-increment id comes from the allocator (which moves past every id used),
/// and binary literals keep their bytes.
#[tokio::test]
async fn insert_commits_encoded_rows() {
    let (tidb, kv) = start();
    let mut c = connect(&tidb).await;
    c.query_drop(
        "CREATE DATABASE ins; CREATE TABLE ins.t (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, \
         name varchar(20) NOT NULL, bin mediumblob NOT NULL, n int, UNIQUE KEY (name))",
    )
    .await
    .unwrap();
    c.query_drop("INSERT INTO ins.t (name, bin, n) VALUES ('a', 0x00FF, -5), ('b', '', NULL)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO ins.t VALUES (10, 'c', 0x41, 7)")
        .await
        .unwrap();
    c.query_drop("INSERT INTO ins.t (name, bin) VALUE ('d', 0x42)")
        .await
        .unwrap();
    let rows: Vec<(i64, String, String, Option<i64>)> = c
        .query("SELECT id, name, HEX(bin), n FROM ins.t ORDER BY id")
        .await
        .unwrap();
    assert_eq!(
        rows,
        [
            (1, "a".into(), "00FF".into(), Some(-5)),
            (2, "b".into(), "".into(), None),
            (10, "c".into(), "41".into(), Some(7)),
            (11, "d".into(), "42".into(), None),
        ]
    );
    // A record and a unique-index entry per row.
    assert_eq!(kv.len(), 8);
    assert_eq!(
        err_code(&mut c, "INSERT INTO ins.t (nope) VALUES (1)").await,
        1054
    );
    assert_eq!(
        err_code(&mut c, "INSERT INTO ins.missing VALUES (1)").await,
        1146
    );
}

#[tokio::test]
async fn prepared_statements_bind_parameters() {
    let (tidb, _kv) = start();
    let mut c = connect(&tidb).await;
    c.query_drop("CREATE DATABASE p; CREATE TABLE p.t (i INT)")
        .await
        .unwrap();
    // Lightning's TableExists / SchemaExists go through server-side prepared statements.
    let q = "SELECT 1 from INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?";
    let hit: Option<u8> = c.exec_first(q, ("p", "t")).await.unwrap();
    assert_eq!(hit, Some(1));
    let miss: Option<u8> = c.exec_first(q, ("p", "nope")).await.unwrap();
    assert_eq!(miss, None);
    let s: Option<u8> = c
        .exec_first(
            "SELECT 1 from INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = ?",
            ("P",),
        )
        .await
        .unwrap();
    assert_eq!(s, Some(1));
    c.exec_drop(
        "UPDATE mysql.tidb SET VARIABLE_VALUE = ? WHERE VARIABLE_NAME = 'tikv_gc_life_time'",
        ("100h0m0s",),
    )
    .await
    .unwrap();
    assert_eq!(
        tidb.mysql_tidb("tikv_gc_life_time").as_deref(),
        Some("100h0m0s")
    );
    let echoed: Option<String> = c.exec_first("SELECT ?", ("it's a \\ test",)).await.unwrap();
    assert_eq!(echoed.as_deref(), Some("it's a \\ test"));
    let n: Option<i64> = c.exec_first("SELECT COUNT(*) FROM p.t", ()).await.unwrap();
    assert_eq!(n, Some(0));
    let r = c.exec_drop("DELETE FROM p.t WHERE i = ?", (1,)).await;
    assert!(
        matches!(r, Err(mysql_async::Error::Server(ref e)) if e.code == 1235),
        "{r:?}"
    );
}

#[tokio::test]
async fn status_port_serves_versions_and_table_models() {
    let (tidb, _kv) = start();
    let mut c = connect(&tidb).await;
    c.query_drop("CREATE DATABASE h; CREATE TABLE h.t (id INT PRIMARY KEY, v TEXT, KEY kv (v(10))); CREATE TABLE h.t2 (a BIGINT, b CHAR(2))")
        .await
        .unwrap();
    let (code, body) = http_get(tidb.status_addr(), "/status");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["version"], "8.0.11-TiDB-v8.5.0");
    let (code, body) = http_get(tidb.status_addr(), "/schema/h");
    assert_eq!(code, 200);
    let tables: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(tables.len(), 2);
    for v in tables {
        let back = TableInfo::from_tidb_json(&v.to_string()).unwrap();
        assert_eq!(Some(&back), tidb.table_info("h", &back.name).as_ref());
    }
    let (code, body) = http_get(tidb.status_addr(), "/schema/H/t2");
    assert_eq!(code, 200);
    assert_eq!(
        TableInfo::from_tidb_json(&body).unwrap(),
        tidb.table_info("h", "t2").unwrap()
    );
    let (code, body) = http_get(tidb.status_addr(), "/schema");
    assert_eq!(code, 200);
    let dbs: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let h = dbs
        .iter()
        .find(|d| d["db_name"]["L"] == "h")
        .expect("db h listed");
    assert_eq!(h["id"].as_i64(), tidb.database_id("h"));
    assert!(dbs.iter().any(|d| d["db_name"]["O"] == "test"));
    let (code, body) = http_get(tidb.status_addr(), "/schema/nodb");
    assert_eq!(
        (code, body.as_str()),
        (400, "[schema:1049]Unknown database 'nodb'")
    );
    let (code, _) = http_get(tidb.status_addr(), "/nothing");
    assert_eq!(code, 404);
}

#[test]
fn instances_run_side_by_side_and_free_their_ports() {
    let (a, _) = start();
    let (b, _) = start();
    assert_ne!(a.addr(), b.addr());
    let ports = [a.addr(), a.status_addr(), b.addr(), b.status_addr()];
    assert!(TcpStream::connect(a.addr()).is_ok());
    drop(a);
    b.shutdown();
    for p in ports {
        assert!(TcpStream::connect(p).is_err(), "{p} still open");
    }
}

#[tokio::test]
async fn show_config_and_settings_report_the_configured_cluster() {
    let opts = SimTidbOptions {
        tikv_addrs: vec!["127.0.0.1:20160".into(), "127.0.0.1:20161".into()],
        pd_addrs: vec!["127.0.0.1:2379".into(), "127.0.0.1:2382".into()],
        ..SimTidbOptions::default()
    };
    let tidb = SimTidb::start(opts, Arc::new(MemKv::new())).unwrap();
    let (code, body) = http_get(tidb.status_addr(), "/settings");
    assert_eq!(code, 200);
    let settings: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        settings["port"].as_u64(),
        Some(u64::from(tidb.addr().port()))
    );
    assert_eq!(settings["path"], "127.0.0.1:2379,127.0.0.1:2382");
    assert_eq!(
        settings["status"]["status-port"].as_u64(),
        Some(u64::from(tidb.status_addr().port()))
    );
    let mut c = connect(&tidb).await;
    // Lightning's IsRaftKV2 probe (pkg/lightning/common/util.go).
    let rows: Vec<(String, String, String, String)> = c
        .query("show config where type = 'tikv' and name = 'storage.engine'")
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.3 == "raft-kv"), "{rows:?}");
    let none: Vec<(String, String, String, String)> = c
        .query("show config where type = 'pd' and name = 'storage.engine'")
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// Statements in the form Lightning's schema importer sends them: the dump's DDL parsed and
/// restored by TiDB's parser with IF NOT EXISTS and the target names
/// (pkg/lightning/mydump/schema_import.go, createIfNotExistsStmt), after its existence probes.
#[tokio::test]
async fn schema_importer_statements() {
    let (tidb, _kv) = start();
    let mut c = connect(&tidb).await;
    let dbs: Vec<String> = c
        .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        .await
        .unwrap();
    assert_eq!(dbs, ["test"]);
    c.query_drop("CREATE DATABASE IF NOT EXISTS `imp` CHARACTER SET = utf8mb4;")
        .await
        .unwrap();
    assert_eq!(err_code(&mut c, "SHOW CREATE TABLE `imp`.`t`").await, 1146);
    c.query_drop("SET NAMES 'binary';").await.unwrap();
    c.query_drop(
        "CREATE TABLE IF NOT EXISTS `imp`.`t` (`id` INT PRIMARY KEY /*T![clustered_index] CLUSTERED */,`v` VARCHAR(20) DEFAULT _UTF8MB4'x',KEY `kv`(`v`)) ENGINE = InnoDB DEFAULT CHARACTER SET = UTF8MB4 DEFAULT COLLATE = UTF8MB4_BIN;",
    )
    .await
    .unwrap();
    let views: Vec<String> = c
        .query("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'imp'")
        .await
        .unwrap();
    assert!(views.is_empty());
    let t = tidb.table_info("imp", "t").unwrap();
    assert_eq!(t.indices.len(), 1);
    assert_eq!(t.collation, "utf8mb4_bin");
    let (_, text): (String, String) = c
        .query_first("SHOW CREATE TABLE `imp`.`t`")
        .await
        .unwrap()
        .unwrap();
    assert!(text.contains("`v` varchar(20) DEFAULT 'x'"), "{text}");
}

/// A second, independent client implementation: the `mariadb` command-line client (skipped
/// when it is not installed).
#[test]
fn mariadb_command_line_client_works() {
    let Ok(bin) = which_mariadb() else {
        eprintln!("mariadb client not installed; skipping");
        return;
    };
    let (tidb, _kv) = start();
    let run = |sql: &str| {
        std::process::Command::new(&bin)
            .args(["--no-defaults", "-h", "127.0.0.1", "-u", "root", "-N", "-B"])
            .arg(format!("-P{}", tidb.addr().port()))
            .args(["-e", sql])
            .output()
            .expect("run mariadb client")
    };
    let out = run("CREATE DATABASE cli; CREATE TABLE cli.t (a INT PRIMARY KEY); SELECT TIDB_TABLE_ID FROM information_schema.tables WHERE table_schema = 'cli'; SELECT version()");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let id = tidb.table_info("cli", "t").unwrap().id;
    assert_eq!(text, format!("{id}\n8.0.11-TiDB-v8.5.0\n"));
    let bad = run("DELETE FROM cli.t");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("1235"));
}

fn which_mariadb() -> Result<std::path::PathBuf, ()> {
    ["/usr/bin/mariadb", "/usr/bin/mysql"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
        .ok_or(())
}

#[tokio::test]
async fn connection_database_and_scoped_variables() {
    let (tidb, _kv) = start();
    let mut c = connect(&tidb).await;
    c.query_drop("CREATE DATABASE cdb").await.unwrap();
    c.query_drop("SET @@SESSION.sql_mode = 'ANSI_QUOTES', @@GLOBAL.tidb_txn_mode = 'optimistic'")
        .await
        .unwrap();
    let mode: String = c
        .query_first("SELECT @@SESSION.sql_mode")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mode, "ANSI_QUOTES");
    assert_eq!(
        tidb.global_var("tidb_txn_mode").as_deref(),
        Some("optimistic")
    );
    // A new session sees the global value, not the other session's.
    let url = format!("mysql://root@{}/cdb", tidb.addr());
    let mut d = Conn::new(Opts::from_url(&url).unwrap()).await.unwrap();
    let (mode, txn, db): (String, String, Option<String>) = d
        .query_first("SELECT @@sql_mode, @@tidb_txn_mode, database()")
        .await
        .unwrap()
        .unwrap();
    assert!(mode.contains("STRICT_TRANS_TABLES"), "{mode}");
    assert_eq!((txn.as_str(), db.as_deref()), ("optimistic", Some("cdb")));
    d.query_drop("CREATE TABLE t (i INT)").await.unwrap();
    assert!(tidb.table_info("cdb", "t").is_some());
    let bad = format!("mysql://root@{}/nodb", tidb.addr());
    match Conn::new(Opts::from_url(&bad).unwrap()).await {
        Err(mysql_async::Error::Server(e)) => assert_eq!(e.code, 1049),
        other => panic!("expected ER_BAD_DB_ERROR, got {other:?}"),
    }
}

#[test]
fn direct_query_api_without_a_client() {
    let (tidb, kv) = start();
    let rows = tidb
        .query("CREATE DATABASE q; CREATE TABLE q.t (id INT PRIMARY KEY, name VARCHAR(20)); SELECT TIDB_TABLE_ID FROM information_schema.tables WHERE TABLE_NAME = 't'")
        .unwrap();
    let id = tidb.table_info("q", "t").unwrap().id;
    assert_eq!(rows, [[Some(id.to_string())]]);
    let want = load_rows(&kv, &tidb.table_info("q", "t").unwrap(), 3);
    let rows = tidb.query("ADMIN CHECKSUM TABLE q.t").unwrap();
    assert_eq!(rows[0][2].as_deref(), Some(want.crc.to_string().as_str()));
    let err = tidb.query("SELECT id + 1 FROM q.t").unwrap_err();
    assert_eq!(err.code, 1235);
    assert!(err.to_string().starts_with("ERROR 1235 (42000)"), "{err}");
}

/// The local backend's path in miniature: create the schema over SQL, read the table model
/// back from the status port (as `FetchRemoteTableModelsFromTLS` does), encode rows with it
/// into the KV source, then verify with ADMIN CHECKSUM and finish with ANALYZE.
#[tokio::test]
async fn import_flow_over_sql_and_status_port() {
    let (tidb, kv) = start();
    let mut c = connect(&tidb).await;
    c.query_drop("CREATE DATABASE IF NOT EXISTS `flow`")
        .await
        .unwrap();
    c.query_drop("CREATE TABLE IF NOT EXISTS `flow`.`t` (`id` BIGINT NOT NULL, `name` VARCHAR(20), PRIMARY KEY (`id`) /*T![clustered_index] NONCLUSTERED */, KEY `kn` (`name`))")
        .await
        .unwrap();
    let (code, body) = http_get(tidb.status_addr(), "/schema/flow");
    assert_eq!(code, 200);
    let models: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let model = TableInfo::from_tidb_json(&models[0].to_string()).unwrap();
    assert_eq!(
        model.indices.len(),
        2,
        "PRIMARY (nonclustered) and kn are real indexes"
    );
    let want = load_rows(&kv, &model, 25);
    assert_eq!(want.kvs, 75);
    let got: (String, String, u64, u64, u64) = c
        .query_first("ADMIN CHECKSUM TABLE `flow`.`t`")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.2, got.3, got.4), (want.crc, want.kvs, want.bytes));
    c.query_drop("ANALYZE TABLE `flow`.`t`").await.unwrap();
    assert_eq!(
        tidb.analyzed_tables(),
        [("flow".to_string(), "t".to_string())]
    );
}

/// The checksum reports what the cluster holds: rows whose unique-index entries collide
/// overwrite each other in the store, so the cluster's sum differs from the encoder's, as
/// with a real TiKV (the mismatch Lightning reports for duplicated source rows).
#[tokio::test]
async fn checksum_reflects_the_store_not_the_encoder() {
    let (tidb, kv) = start();
    tidb.query("CREATE DATABASE dup; CREATE TABLE dup.t (id INT PRIMARY KEY, name VARCHAR(20), UNIQUE KEY un (name))")
        .unwrap();
    let sent = load_rows(&kv, &tidb.table_info("dup", "t").unwrap(), 25);
    let held = tidb.checksum("dup", "t").unwrap();
    assert_eq!(sent.kvs, 50);
    // 25 records, but only 7 distinct `name-{i % 7}` unique keys survive.
    assert_eq!(held.kvs, 32);
    assert_ne!(held.crc, sent.crc);
}

/// CREATE TABLE follows `tidb_enable_clustered_index` (INT_ONLY unless set).
#[test]
fn clustered_index_setting_decides_the_default_primary_key_kind() {
    let (tidb, _kv) = start();
    let ddl = "CREATE TABLE c.{} (s varchar(8), i INT, PRIMARY KEY (s, i))";
    tidb.query(&format!("CREATE DATABASE c; {}", ddl.replace("{}", "a")))
        .unwrap();
    assert_eq!(
        tidb.query("SELECT @@tidb_enable_clustered_index").unwrap(),
        [[Some("INT_ONLY".to_string())]]
    );
    tidb.query(&format!(
        "SET GLOBAL tidb_enable_clustered_index = 1; {}",
        ddl.replace("{}", "b")
    ))
    .unwrap();
    let kind = |t: &str| tidb.table_info("c", t).unwrap().is_common_handle();
    assert!(!kind("a"));
    assert!(kind("b"));
}
