//! The logical backend against a real MariaDB: literals round-trip byte for byte, and
//! rows the server refuses are isolated and reported while the rest are written.

use lightning_backend::tidb::{
    ConnectOptions, FastPath, OnDuplicate, SqlEncoder, SqlEncoderOptions, TidbTarget,
};
use lightning_backend::{RowEncoder, RowWriter};
use lightning_parser::{FieldKind, RowBatch};
use lightning_testkit::MariaDb;
use std::sync::Arc;

fn connect_opts(db: &MariaDb, sql_mode: &str) -> ConnectOptions {
    ConnectOptions {
        host: db.host().into(),
        port: db.port(),
        user: "root".into(),
        sql_mode: Some(sql_mode.into()),
        max_connections: 4,
        ..Default::default()
    }
}

fn opts(on_duplicate: OnDuplicate, fast_path: Option<FastPath>) -> SqlEncoderOptions {
    SqlEncoderOptions {
        on_duplicate,
        max_bytes: 1 << 16,
        max_rows: 1000,
        no_backslash_escapes: false,
        fast_path,
    }
}

#[tokio::test]
async fn every_byte_value_round_trips_through_literals() {
    // BIT columns are never loaded, so the INSERT path sees one.
    round_trip("lit", "BIT(16)", None).await;
}

#[tokio::test]
async fn every_byte_value_round_trips_through_load_batches() {
    round_trip("litload", "VARBINARY(2)", Some(FastPath::Load)).await;
}

#[tokio::test]
async fn every_byte_value_round_trips_through_bulk_batches() {
    round_trip("litbulk", "VARBINARY(2)", Some(FastPath::Bulk)).await;
}

/// A bulk parameter stores a BIT column's bytes as the `_binary` literal does (a load
/// batch never carries BIT columns).
#[tokio::test]
async fn bit_columns_round_trip_through_bulk_batches() {
    round_trip("litbulkbit", "BIT(16)", Some(FastPath::Bulk)).await;
}

async fn round_trip(dbname: &str, bits_type: &str, path: Option<FastPath>) {
    let load = path.is_some();
    let db = MariaDb::shared();
    db.query(&format!("CREATE DATABASE {dbname}; CREATE TABLE {dbname}.t (id INT PRIMARY KEY, b LONGBLOB, s TEXT, bits {bits_type}, n DECIMAL(20,5))")).unwrap();
    let target = TidbTarget::connect(&connect_opts(db, "STRICT_ALL_TABLES"))
        .await
        .unwrap();
    assert!(target.accepts_local_infile());
    assert!(target.accepts_bulk());
    let table = Arc::new(target.load_table(dbname, "t").await.unwrap());
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let text = "quote ' dquote \" backslash \\ nl \n cr \r nul \0 ctrl-z \x1a tab \t ünïcödé 🚀"
        .as_bytes();
    let mut batch = RowBatch::new();
    for (id, (b, s)) in [
        (&all_bytes[..], text),
        (b"", b""),
        (&[0x5c, 0x27][..], b"\\'"),
    ]
    .into_iter()
    .enumerate()
    {
        batch.push_field(FieldKind::Number, id.to_string().as_bytes());
        batch.push_field(FieldKind::Text, b);
        batch.push_field(FieldKind::Text, s);
        batch.push_field(FieldKind::Binary, &[0x01, 0x02]);
        batch.push_field(FieldKind::Text, b"-12345.6789");
        batch.finish_row(id as u64 + 1);
    }
    let mut enc = SqlEncoder::new(
        table.clone(),
        opts(OnDuplicate::Error, path),
        "lit.t.sql",
        0,
    );
    enc.set_source_charset("binary");
    let mut out = Vec::new();
    enc.encode(&batch, &mut out).unwrap();
    out.extend(enc.flush());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].load.as_ref().map(|p| p.path), path);
    let mut w = target.writer(table).await.unwrap();
    for s in out {
        let r = w.write(s).await.unwrap();
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        assert_eq!(r.rows, 3);
    }
    assert_eq!(w.load_stats(), (u64::from(load), 0));
    let hex = |x: &[u8]| x.iter().map(|b| format!("{b:02X}")).collect::<String>();
    let got = db
        .query(&format!(
            "SELECT id, HEX(b), HEX(s), HEX(bits), n FROM {dbname}.t ORDER BY id"
        ))
        .unwrap();
    let bits = if bits_type.starts_with("BIT") {
        "102"
    } else {
        "0102"
    };
    let want = format!(
        "0\t{}\t{}\t{bits}\t-12345.67890\n1\t\t\t{bits}\t-12345.67890\n2\t5C27\t5C27\t{bits}\t-12345.67890\n",
        hex(&all_bytes),
        hex(text)
    );
    assert_eq!(got, want);
    drop(w);
    target.close().await.unwrap();
}

#[tokio::test]
async fn refused_rows_are_isolated_and_reported_with_their_offsets() {
    refused_rows("rej", None).await;
}

/// A load batch the server does not take whole is rolled back and replayed as INSERT.
#[tokio::test]
async fn refused_rows_of_a_load_batch_are_isolated_the_same_way() {
    refused_rows("rejload", Some(FastPath::Load)).await;
}

/// So is a bulk batch.
#[tokio::test]
async fn refused_rows_of_a_bulk_batch_are_isolated_the_same_way() {
    refused_rows("rejbulk", Some(FastPath::Bulk)).await;
}

async fn refused_rows(dbname: &str, path: Option<FastPath>) {
    let load = path.is_some();
    let db = MariaDb::shared();
    db.query(&format!("CREATE DATABASE {dbname}; CREATE TABLE {dbname}.t (id INT PRIMARY KEY, v TINYINT NOT NULL)"))
        .unwrap();
    let target = TidbTarget::connect(&connect_opts(db, "STRICT_ALL_TABLES"))
        .await
        .unwrap();
    let table = Arc::new(target.load_table(dbname, "t").await.unwrap());
    let mut batch = RowBatch::new();
    // Rows 2 (out of range), 4 (NULL into NOT NULL) and 5 (duplicate of 1) are bad.
    let rows: [(&[u8], FieldKind, &[u8]); 6] = [
        (b"1", FieldKind::Number, b"1"),
        (b"2", FieldKind::Number, b"1000"),
        (b"3", FieldKind::Number, b"3"),
        (b"4", FieldKind::Null, b""),
        (b"1", FieldKind::Number, b"5"),
        (b"6", FieldKind::Number, b"6"),
    ];
    for (i, (id, kind, v)) in rows.iter().enumerate() {
        batch.push_field(FieldKind::Number, id);
        batch.push_field(*kind, v);
        batch.finish_row(100 * (i as u64 + 1));
    }
    let mut enc = SqlEncoder::new(
        table.clone(),
        opts(OnDuplicate::Error, path),
        "rej.t.0.sql",
        0,
    );
    let mut out = Vec::new();
    enc.encode(&batch, &mut out).unwrap();
    out.extend(enc.flush());
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].load.as_ref().map(|p| p.path), path);
    let mut w = target.writer(table.clone()).await.unwrap();
    let report = w.write(out.pop().unwrap()).await.unwrap();
    assert_eq!(report.rows, 3);
    assert_eq!(report.bytes, 600);
    let bad: Vec<(u64, u16)> = report
        .rejected
        .iter()
        .map(|r| (r.end_offset, r.code))
        .collect();
    assert_eq!(bad, vec![(200, 1264), (400, 1048), (500, 1062)]);
    assert!(report.rejected[0]
        .to_string()
        .starts_with("rej.t.0.sql (row ending at byte 200): error 1264"));
    assert_eq!(w.load_stats(), (0, u64::from(load)));
    assert_eq!(
        db.query(&format!("SELECT id, v FROM {dbname}.t ORDER BY id"))
            .unwrap(),
        "1\t1\n3\t3\n6\t6\n"
    );
    assert!(!target.is_empty(&table).await.unwrap());

    // REPLACE lets the later duplicate win instead.
    let mut enc = SqlEncoder::new(
        table.clone(),
        opts(OnDuplicate::Replace, path),
        "rej.t.1.sql",
        0,
    );
    let mut b = RowBatch::new();
    b.push_field(FieldKind::Number, b"1");
    b.push_field(FieldKind::Text, b"9");
    b.finish_row(5);
    let mut out = Vec::new();
    enc.encode(&b, &mut out).unwrap();
    let r = w.write(enc.flush().unwrap()).await.unwrap();
    assert_eq!((r.rows, r.rejected.len()), (1, 0));
    assert_eq!(w.load_stats(), (u64::from(load), u64::from(load)));
    assert_eq!(
        db.query(&format!("SELECT v FROM {dbname}.t WHERE id = 1"))
            .unwrap(),
        "9\n"
    );
}

#[tokio::test]
async fn a_missing_table_is_a_clear_error() {
    let db = MariaDb::shared();
    let target = TidbTarget::connect(&connect_opts(db, "")).await.unwrap();
    let err = target
        .load_table("nope", "nothing")
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(err, "table `nope`.`nothing` does not exist on the target");
}

/// Regression: mysqldump schema files save session variables in one statement and restore
/// them in a later one (`SET TIME_ZONE=@OLD_TIME_ZONE`); on different pooled connections the
/// saved variable is NULL (a connection back in the pool is reset) and the restore fails.
#[tokio::test]
async fn mysqldump_schema_file_restores_session_variables_on_the_same_connection() {
    let db = MariaDb::shared();
    db.query("CREATE DATABASE sess").unwrap();
    let target = TidbTarget::connect(&connect_opts(db, "")).await.unwrap();
    let file: Vec<String> = [
        "/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */",
        "/*!40103 SET TIME_ZONE='+00:00' */",
        "CREATE TABLE t (id INT)",
        "CREATE TABLE t (id INT)",
        "/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */",
    ]
    .map(String::from)
    .into();
    let skipped = target
        .exec_tolerating(Some("sess"), &file, &[1050])
        .await
        .unwrap();
    assert_eq!(skipped, vec![(3, 1050)]);
    let err = target
        .exec_tolerating(Some("sess"), &file[2..3], &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("1050"), "{err}");
}

/// `[tidb] tls`: "cluster" verifies the server against `[security] ca-path`, "skip-verify"
/// encrypts without checking, "false" stays plain; a CA that did not sign the server fails.
#[tokio::test]
async fn tls_modes_encrypt_and_verify_as_configured() {
    let db = MariaDb::start_tls().unwrap();
    let cipher = |tls: &str, ca: Option<std::path::PathBuf>| {
        let opts = ConnectOptions {
            tls: tls.into(),
            ca_path: ca,
            ..connect_opts(&db, "")
        };
        async move {
            let target = TidbTarget::connect(&opts).await?;
            let mut conn = target.conn().await?;
            let row: Option<(String, String)> = mysql_async::prelude::Queryable::query_first(
                &mut conn,
                "SHOW SESSION STATUS LIKE 'Ssl_cipher'",
            )
            .await
            .unwrap();
            drop(conn);
            target.close().await?;
            Ok::<_, lightning_backend::BackendError>(row.map(|r| r.1).unwrap_or_default())
        }
    };
    assert!(!cipher("cluster", Some(db.tls_ca()))
        .await
        .unwrap()
        .is_empty());
    assert!(!cipher("skip-verify", None).await.unwrap().is_empty());
    assert_eq!(cipher("false", None).await.unwrap(), "");
    // A CA of another server does not verify this one.
    let other = MariaDb::start_tls().unwrap();
    let err = cipher("cluster", Some(other.tls_ca()))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("connecting to 127.0.0.1"), "{err}");
}

/// LOAD DATA holds InnoDB's table-level AUTO-INC lock to the end of the statement (unless
/// `innodb_autoinc_lock_mode = 2`), so concurrent loads into one table would queue: such a
/// table is written with INSERT.
#[tokio::test]
async fn tables_with_auto_increment_are_not_loaded_under_the_table_level_autoinc_lock() {
    let db = MariaDb::shared();
    db.query("CREATE DATABASE ai; CREATE TABLE ai.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT); CREATE TABLE ai.u (id INT PRIMARY KEY, v INT)").unwrap();
    assert_eq!(
        db.query("SELECT @@innodb_autoinc_lock_mode").unwrap(),
        "1\n"
    );
    let target = TidbTarget::connect(&connect_opts(db, "")).await.unwrap();
    for (name, loads) in [("t", false), ("u", true)] {
        let table = Arc::new(target.load_table("ai", name).await.unwrap());
        assert_eq!(table.load_serializes, !loads);
        let mut batch = RowBatch::new();
        batch.push_field(FieldKind::Number, b"1");
        batch.push_field(FieldKind::Number, b"2");
        batch.finish_row(5);
        for path in [FastPath::Load, FastPath::Bulk] {
            let opts = opts(OnDuplicate::Error, Some(path));
            let mut enc = SqlEncoder::new(table.clone(), opts, "ai.sql", 0);
            let mut out = Vec::new();
            enc.encode(&batch, &mut out).unwrap();
            out.extend(enc.flush());
            assert_eq!(out[0].load.is_some(), loads, "{name} {path:?}");
        }
    }
    target.close().await.unwrap();
}

/// A number in exponent form is a double as a literal: `2.5e0` makes an INT 2 (rounded to
/// even) through INSERT, but 3 as text through LOAD DATA or a bulk parameter. A row with
/// one, bare or quoted (the INSERT writes a quoted number bare into a numeric column), for
/// an INT or DECIMAL column goes as INSERT on every path, so the stored value never depends
/// on the path; a FLOAT/DOUBLE column reads it the same either way and stays fast.
#[tokio::test]
async fn numbers_in_exponent_form_store_what_insert_stores_on_every_path() {
    let db = MariaDb::shared();
    let paths = [None, Some(FastPath::Load), Some(FastPath::Bulk)];
    for (n, path) in paths.into_iter().enumerate() {
        db.query(&format!(
            "CREATE DATABASE expo{n}; CREATE TABLE expo{n}.t (id INT PRIMARY KEY, v INT, d DECIMAL(10,2), g DOUBLE)"
        ))
        .unwrap();
        let target = TidbTarget::connect(&connect_opts(db, "")).await.unwrap();
        let table = Arc::new(target.load_table(&format!("expo{n}"), "t").await.unwrap());
        let mut batch = RowBatch::new();
        let rows: [(FieldKind, &[u8], &[u8]); 6] = [
            (FieldKind::Number, b"2.5e0", b"1"),
            (FieldKind::Number, b"2.5", b"2.5e300"),
            (FieldKind::Number, b"-2.5", b"-1E-5"),
            (FieldKind::Text, b"3.5E0", b"0.1"),
            (FieldKind::Text, b"4.5", b"4.5e0"),
            (FieldKind::Number, b"6", b"6"),
        ];
        for (i, (kind, v, g)) in rows.iter().enumerate() {
            batch.push_field(FieldKind::Number, (i + 1).to_string().as_bytes());
            batch.push_field(*kind, v);
            batch.push_field(*kind, v);
            batch.push_field(FieldKind::Number, g);
            batch.finish_row(i as u64 + 1);
        }
        let mut enc = SqlEncoder::new(table.clone(), opts(OnDuplicate::Error, path), "e.sql", 0);
        let mut out = Vec::new();
        enc.encode(&batch, &mut out).unwrap();
        out.extend(enc.flush());
        let fast: Vec<(bool, usize)> = out
            .iter()
            .map(|b| (b.load.is_some(), b.rows.len()))
            .collect();
        let want_fast = if path.is_some() {
            vec![(false, 1), (true, 2), (false, 1), (true, 2)]
        } else {
            vec![(false, 6)]
        };
        assert_eq!(fast, want_fast, "{path:?}");
        let mut w = target.writer(table).await.unwrap();
        for b in out {
            assert!(w.write(b).await.unwrap().rejected.is_empty());
        }
        assert_eq!(
            db.query(&format!("SELECT id, v, d, g FROM expo{n}.t ORDER BY id"))
                .unwrap(),
            "1\t2\t2.50\t1\n2\t3\t2.50\t2.5e300\n3\t-3\t-2.50\t-0.00001\n\
             4\t4\t3.50\t0.1\n5\t5\t4.50\t4.5\n6\t6\t6.00\t6\n",
            "{path:?}"
        );
        drop(w);
        target.close().await.unwrap();
    }
}

/// A bulk batch whose parameters the server stored with a warning anywhere in the batch,
/// not only in its last row, is rolled back and replayed as INSERT (which keeps the
/// truncated value with its warning, as an INSERT does outside strict mode).
#[tokio::test]
async fn a_warning_on_any_row_of_a_bulk_batch_replays_it_as_insert() {
    let db = MariaDb::shared();
    db.query("CREATE DATABASE bulkwarn; CREATE TABLE bulkwarn.t (id INT PRIMARY KEY, c CHAR(3))")
        .unwrap();
    let target = TidbTarget::connect(&connect_opts(db, "")).await.unwrap();
    let table = Arc::new(target.load_table("bulkwarn", "t").await.unwrap());
    let mut w = target.writer(table.clone()).await.unwrap();
    for (round, long_row) in [0usize, 1, 2].into_iter().enumerate() {
        let mut batch = RowBatch::new();
        for i in 0..3 {
            let id = (10 * round + i).to_string();
            batch.push_field(FieldKind::Number, id.as_bytes());
            let c: &[u8] = if i == long_row { b"abcdef" } else { b"xy" };
            batch.push_field(FieldKind::Text, c);
            batch.finish_row(i as u64 + 1);
        }
        let opts = opts(OnDuplicate::Error, Some(FastPath::Bulk));
        let mut enc = SqlEncoder::new(table.clone(), opts, "w.sql", 0);
        let mut out = Vec::new();
        enc.encode(&batch, &mut out).unwrap();
        out.extend(enc.flush());
        let r = w.write(out.pop().unwrap()).await.unwrap();
        assert_eq!((r.rows, r.rejected.len()), (3, 0));
        assert_eq!(w.load_stats(), (0, round as u64 + 1), "long row {long_row}");
    }
    assert_eq!(
        db.query("SELECT COUNT(*), SUM(c = 'abc') FROM bulkwarn.t")
            .unwrap(),
        "9\t3\n"
    );
    drop(w);
    target.close().await.unwrap();
}
