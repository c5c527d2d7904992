//! End to end with real dump tools: a source database of many column types is dumped by
//! mydumper 0.10, mariadb-dump and `SELECT … INTO OUTFILE`, dropped, imported back by
//! `tidb-lightning --backend tidb`, and every table's `CHECKSUM TABLE` and `COUNT(*)` must
//! equal the source's. Each variant works in a database of its own on one shared MariaDB.
//!
//! The source tables are in `e2e/source.sql`.

mod e2e;

use e2e::{build_source, fingerprint, lightning, round_trip, server, sql, tool, write_config};
use std::path::Path;

/// The tables of `db`, in name order.
fn tables(db: &str) -> Vec<String> {
    sql(&format!("SHOW TABLES FROM `{db}`"))
        .lines()
        .map(str::to_string)
        .collect()
}

/// mydumper writes the Mydumper layout itself: `db-schema-create.sql`, `db.t-schema.sql` and
/// `db.t.sql` (`db.t.00000.sql`… with `--rows`; `.sql.gz` with `--compress`), plus a
/// `metadata` file the router must skip.
fn mydumper(db: &str, dir: &Path, extra: &[&str]) {
    let mut args = vec!["-B", db, "-o", dir.to_str().expect("utf-8 path"), "-t", "2"];
    args.extend_from_slice(extra);
    tool("mydumper", &args);
}

#[test]
fn mydumper_plain() {
    let db = "e2e_mydumper";
    build_source(db);
    round_trip(db, "", |dir| {
        mydumper(db, dir, &[]);
        assert!(
            dir.join(format!("{db}.sbtest1.sql")).is_file(),
            "mydumper 0.10 layout changed"
        );
        assert!(dir.join(format!("{db}-schema-create.sql")).is_file());
    });
}

#[test]
fn mydumper_compressed() {
    let db = "e2e_mydumper_gz";
    build_source(db);
    round_trip(db, "", |dir| {
        mydumper(db, dir, &["--compress"]);
        assert!(
            dir.join(format!("{db}.sbtest1.sql.gz")).is_file(),
            "mydumper 0.10 layout changed"
        );
        assert!(dir.join(format!("{db}.sbtest1-schema.sql.gz")).is_file());
    });
}

#[test]
fn mydumper_rows_chunked() {
    let db = "e2e_mydumper_rows";
    build_source(db);
    round_trip(db, "", |dir| {
        mydumper(db, dir, &["--rows", "1000"]);
        assert!(
            dir.join(format!("{db}.sbtest1.00001.sql")).is_file(),
            "no chunked files from mydumper --rows"
        );
    });
}

/// What a user does with mysqldump's single-file output: one `--no-data` file per table for
/// the schema, one `--no-create-info` file per table for the data (with `data_args`), and the
/// database's `CREATE DATABASE` from `--no-create-info --no-data --databases`. The files keep
/// everything mysqldump writes around the statements (`/*M!999999\- enable the sandbox mode */`,
/// `/*!40101 SET … */`, `LOCK TABLES`, `/*!40000 ALTER TABLE … DISABLE KEYS */`, `USE`).
fn mysqldump_layout(db: &str, dir: &Path, data_args: &[&str]) {
    mysqldump_schema_files(db, dir);
    for t in tables(db) {
        let mut args = vec!["--no-create-info", "--skip-triggers"];
        args.extend_from_slice(data_args);
        args.extend([db, t.as_str()]);
        std::fs::write(
            dir.join(format!("{db}.{t}.sql")),
            tool("mariadb-dump", &args),
        )
        .expect("write");
    }
}

/// The schema files of [`mysqldump_layout`].
fn mysqldump_schema_files(db: &str, dir: &Path) {
    let create = tool(
        "mariadb-dump",
        &["--no-data", "--no-create-info", "--databases", db],
    );
    std::fs::write(dir.join(format!("{db}-schema-create.sql")), create).expect("write");
    for t in tables(db) {
        let schema = tool("mariadb-dump", &["--no-data", "--skip-triggers", db, &t]);
        std::fs::write(dir.join(format!("{db}.{t}-schema.sql")), schema).expect("write");
    }
}

/// Extended INSERTs with binary values written raw (`'\0\0q…'`), BIT as raw bytes, and the
/// values of generated columns in INSERTs without a column list.
#[test]
fn mysqldump_extended_raw_binary() {
    let db = "e2e_mysqldump";
    build_source(db);
    round_trip(db, "", |dir| mysqldump_layout(db, dir, &[]));
}

/// One INSERT per row with column lists, binary strings and BIT as `0x…` literals.
#[test]
fn mysqldump_row_inserts_hex_blob() {
    let db = "e2e_mysqldump_hex";
    build_source(db);
    round_trip(db, "", |dir| {
        mysqldump_layout(
            db,
            dir,
            &["--hex-blob", "--skip-extended-insert", "--complete-insert"],
        )
    });
}

/// Fields clause of the CSV variant, and the matching `[mydumper.csv]`.
const CSV_FIELDS: &str = r#"FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '\\' LINES TERMINATED BY '\n'"#;
const CSV_CONFIG: &str = r#"[mydumper.csv]
separator = ","
delimiter = '"'
terminator = "\n"
header = false
null = '\N'
backslash-escape = true
"#;

/// MySQL's default OUTFILE format (`FIELDS TERMINATED BY '\t' ENCLOSED BY '' ESCAPED BY '\\'
/// LINES TERMINATED BY '\n'`). The terminator must be "\n" exactly: OUTFILE writes a `\r`
/// inside a value raw, which the default terminator ("\r", "\n" or "\r\n") would end a line at.
const TSV_CONFIG: &str = r#"[mydumper.csv]
separator = "\t"
delimiter = ""
terminator = "\n"
header = false
null = '\N'
backslash-escape = true
"#;

/// `SELECT * … INTO OUTFILE` per table into `db.t.csv`, with schema files from mysqldump.
/// The dumping session sets time_zone '+00:00' as Lightning's import session does, so
/// TIMESTAMP values mean the same instant on both sides.
fn outfile_layout(db: &str, dir: &Path, fields: &str) {
    mysqldump_schema_files(db, dir);
    let priv_dir = server().file_dir();
    for t in tables(db) {
        let name = format!("{db}.{t}.csv");
        let tmp = priv_dir.join(&name);
        let _ = std::fs::remove_file(&tmp);
        let path = tmp.to_str().expect("utf-8 path").replace('\'', "''");
        sql(&format!(
            "SET time_zone = '+00:00'; SELECT * FROM `{db}`.`{t}` INTO OUTFILE '{path}' {fields};"
        ));
        std::fs::copy(&tmp, dir.join(&name)).expect("copy outfile");
        std::fs::remove_file(&tmp).expect("remove outfile");
    }
}

#[test]
fn outfile_csv() {
    let db = "e2e_csv";
    build_source(db);
    round_trip(db, CSV_CONFIG, |dir| outfile_layout(db, dir, CSV_FIELDS));
}

#[test]
fn outfile_tsv() {
    let db = "e2e_tsv";
    build_source(db);
    round_trip(db, TSV_CONFIG, |dir| outfile_layout(db, dir, ""));
}

/// A malformed row (an unterminated string) in the middle of one table's file, after 40 000
/// good rows: the import fails, stderr names the file and the byte offset, and nothing
/// already loaded is lost: the small other table, imported concurrently and done long before
/// the bad row is reached, keeps all its rows, and the bad table's rows written before the
/// failure are intact.
#[test]
fn malformed_row_fails_and_keeps_other_tables() {
    let db = "e2e_malformed";
    sql(&format!("DROP DATABASE IF EXISTS `{db}`"));
    let work = tempfile::Builder::new()
        .prefix("e2e-malformed-")
        .tempdir()
        .expect("tempdir");
    let dir = work.path().join("dump");
    std::fs::create_dir_all(&dir).expect("dump dir");
    let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
    w(
        &format!("{db}-schema-create.sql"),
        &format!("CREATE DATABASE `{db}`;"),
    );
    for t in ["a_good", "b_bad"] {
        w(
            &format!("{db}.{t}-schema.sql"),
            &format!("CREATE TABLE `{t}` (id INT PRIMARY KEY, v VARCHAR(20));"),
        );
    }
    let good: Vec<String> = (1..=300).map(|i| format!("({i},'good {i}')")).collect();
    w(
        &format!("{db}.a_good.sql"),
        &format!("INSERT INTO `a_good` VALUES {};\n", good.join(",\n")),
    );
    let mut bad = String::new();
    for chunk in (1..=40_000).collect::<Vec<_>>().chunks(500) {
        let rows: Vec<String> = chunk.iter().map(|i| format!("({i},'row {i}')")).collect();
        bad.push_str(&format!("INSERT INTO `b_bad` VALUES {};\n", rows.join(",")));
    }
    let bad_at = bad.len();
    // The string never ends: the rest of the file has no quote to close it.
    bad.push_str("INSERT INTO `b_bad` VALUES (40001,'never closed),(40002,NULL);\n");
    let bad_end = bad.len();
    bad.push_str("INSERT INTO `b_bad` VALUES (40003,NULL),(40004,NULL);\n");
    w(&format!("{db}.b_bad.sql"), &bad);

    // Both tables at once, so the small one does not wait behind the failing one.
    let config = write_config(&dir, work.path(), "");
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replacen("[lightning]\n", "[lightning]\ntable-concurrency = 2\n", 1);
    std::fs::write(&config, text).expect("config");
    let out = lightning(&config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a malformed row must fail the import; stderr: {stderr}"
    );
    assert!(
        stderr.contains(&format!("{db}.b_bad.sql")),
        "stderr must name the file: {stderr}"
    );
    let offset =
        offset_in(&stderr).unwrap_or_else(|| panic!("stderr must name a byte offset: {stderr}"));
    assert!(
        (bad_at as u64..bad_end as u64).contains(&offset),
        "offset {offset} is not in the bad statement ({bad_at}..{bad_end}): {stderr}"
    );

    let log = std::fs::read_to_string(work.path().join("lightning.log")).expect("log");
    assert!(
        log.contains(&format!("table imported table=`{db}`.`a_good`")),
        "a_good (300 rows) should have finished before b_bad reached its bad row:\n{log}"
    );
    let fp = fingerprint(db);
    assert_eq!(
        fp["a_good"].rows, 300,
        "the fully imported table lost rows: {fp:?}"
    );
    let kept = sql(&format!(
        "SELECT COUNT(*) FROM `{db}`.`b_bad` WHERE v = CONCAT('row ', id)"
    ));
    assert_eq!(
        kept.trim().parse::<u64>().expect("count"),
        fp["b_bad"].rows,
        "b_bad rows must be intact: {fp:?}"
    );
    assert!(fp["b_bad"].rows <= 40_000, "{fp:?}");
    sql(&format!("DROP DATABASE `{db}`"));
}

/// The number after "byte" in an error message.
fn offset_in(text: &str) -> Option<u64> {
    let at = text.find("byte")?;
    let digits: String = text[at..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
