//! Scanning, routing, filtering, reading and chunking, checked against the shared Lightning
//! conformance cases and generated fixtures.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use lightning_config::Config;
use lightning_source::{
    make_chunks, make_chunks_for_columns, open, read_schema, scan, Compression, DataFormat, Dump,
    SourceError, SourceFile,
};

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/lightning-tests")
        .join(name)
}

fn config(toml: &Path, data: &Path) -> Config {
    let mut cfg = Config::parse_toml_file(toml).unwrap();
    cfg.mydumper.data_source_dir = data.to_str().unwrap().to_string();
    cfg
}

fn tables(dump: &Dump) -> Vec<String> {
    let mut out: Vec<String> = dump
        .databases
        .iter()
        .flat_map(|d| d.tables.iter().map(|t| format!("{}.{}", t.db, t.name)))
        .collect();
    out.sort();
    out
}

fn dbs(dump: &Dump) -> Vec<&str> {
    let mut v: Vec<&str> = dump.databases.iter().map(|d| d.name.as_str()).collect();
    v.sort();
    v
}

#[test]
fn lightning_file_routing_custom_rules() {
    let dir = case("lightning_file_routing");
    let dump = scan(&config(&dir.join("config.toml"), &dir.join("data"))).unwrap();
    assert_eq!(dbs(&dump), ["fr"]);
    let fr = &dump.databases[0];
    assert_eq!(fr.schema_file.as_ref().unwrap().rel, "fr/schema.sql");
    let tbl = dump.table("fr", "tbl").unwrap();
    assert_eq!(tbl.schema_file.as_ref().unwrap().rel, "fr/tbl-table.sql");
    let mut files: Vec<&str> = tbl.data_files.iter().map(|f| f.rel.as_str()).collect();
    files.sort();
    // fr/tbl-noused.sql matches no rule and must not be imported.
    assert_eq!(
        files,
        [
            "ff/test.SQL",
            "fr/tbl.sql",
            "fr/tbl1.sql.0",
            "fr/tbl2.sql.0",
            "tbl1.sql.1"
        ]
    );
    assert!(tbl.data_files.iter().all(|f| f.format == DataFormat::Sql));
    assert_eq!(fr.tables.len(), 1, "the view's placeholder is not a table");
    assert_eq!(fr.views.len(), 1);
    assert_eq!(fr.views[0].view_file.rel, "fr/v-view.sql");
    assert_eq!(
        fr.views[0].schema_file.as_ref().unwrap().rel,
        "fr/v-table.sql"
    );
}

#[test]
fn lightning_black_white_list_filters() {
    let dir = case("lightning_black-white-list");
    let data = dir.join("data");
    let dump = scan(&config(&dir.join("firstdb-only.toml"), &data)).unwrap();
    assert_eq!(tables(&dump), ["firstdb.first", "firstdb.second"]);
    assert_eq!(dbs(&dump), ["firstdb"]);
    let dump = scan(&config(&dir.join("even-table-only.toml"), &data)).unwrap();
    assert_eq!(tables(&dump), ["firstdb.second", "seconddb.fourth"]);

    // The same selections through -f rules.
    let mut cfg = config(&dir.join("config.toml"), &data);
    cfg.mydumper.filter = vec!["f*.*".into()];
    assert_eq!(
        tables(&scan(&cfg).unwrap()),
        ["firstdb.first", "firstdb.second"]
    );
    cfg.mydumper.filter = vec![
        "!firstdb.*".into(),
        "*.second".into(),
        "seconddb.fourth".into(),
    ];
    let dump = scan(&cfg).unwrap();
    assert_eq!(tables(&dump), ["firstdb.second", "seconddb.fourth"]);
    // Default filter: everything but the system schema `mysql`.
    let dump = scan(&config(&dir.join("config.toml"), &data)).unwrap();
    assert_eq!(dbs(&dump), ["firstdb", "seconddb"]);
    assert_eq!(tables(&dump).len(), 4);
    let first = dump.table("firstdb", "first").unwrap();
    assert_eq!(first.data_files.len(), 2);
    assert!(first.data_files[0].key < first.data_files[1].key);
}

#[test]
fn lightning_routes_merge_tables() {
    let dir = case("lightning_routes");
    let dump = scan(&config(&dir.join("config.toml"), &dir.join("data"))).unwrap();
    assert_eq!(
        dbs(&dump),
        ["routes_a1", "routes_b"],
        "routes_a0 was emptied by routing"
    );
    assert_eq!(tables(&dump), ["routes_a1.s1", "routes_b.u"]);
    assert_eq!(dump.table("routes_b", "u").unwrap().data_files.len(), 4);
}

#[test]
fn lightning_view_placeholders_become_views() {
    let dir = case("lightning_view");
    let dump = scan(&config(&dir.join("config.toml"), &dir.join("data"))).unwrap();
    assert_eq!(tables(&dump), ["db1.tbl"]);
    let views: Vec<String> = dump
        .databases
        .iter()
        .flat_map(|d| d.views.iter().map(|v| format!("{}.{}", v.db, v.name)))
        .collect();
    assert_eq!(views.len(), 2);
    assert!(views.contains(&"db0.v2".to_string()) && views.contains(&"db1.v1".to_string()));
}

#[test]
fn lightning_csv_uppercase_extension() {
    let dir = case("lightning_csv");
    let dump = scan(&config(&dir.join("config.toml"), &dir.join("data"))).unwrap();
    let t = dump.table("csv", "escapes").unwrap();
    assert_eq!(t.data_files[0].format, DataFormat::Csv);
    assert_eq!(tables(&dump).len(), 3);
}

#[cfg(unix)]
#[test]
fn lightning_source_linkfile_follows_symlinks() {
    let src = case("lightning_source_linkfile").join("data");
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        std::os::unix::fs::symlink(e.path(), tmp.path().join(e.file_name())).unwrap();
    }
    let dump = scan(&config(
        &case("lightning_source_linkfile").join("config.toml"),
        tmp.path(),
    ))
    .unwrap();
    assert_eq!(tables(&dump), ["linkfiles.t", "linkfiles.t2"]);
    let t = dump.table("linkfiles", "t").unwrap();
    assert_eq!(
        t.data_files[0].size,
        std::fs::metadata(src.join("linkfiles.t.0.csv"))
            .unwrap()
            .len()
    );
}

#[test]
fn data_without_schema_needs_no_schema() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("db.t.1.sql"), "INSERT INTO t VALUES (1);").unwrap();
    std::fs::write(tmp.path().join("metadata"), "Started dump").unwrap();
    std::fs::write(tmp.path().join("db.t-schema-trigger.sql"), "").unwrap();
    let mut cfg = Config::default();
    cfg.mydumper.data_source_dir = tmp.path().to_str().unwrap().into();
    let err = scan(&cfg).unwrap_err();
    assert!(matches!(err, SourceError::Layout { .. }), "{err}");
    assert!(err.to_string().contains("db.t.1.sql"), "{err}");
    cfg.mydumper.no_schema = true;
    assert_eq!(tables(&scan(&cfg).unwrap()), ["db.t"]);
}

#[test]
fn schema_files_decode_by_character_set() {
    let dir = case("lightning_character_sets");
    let cfg = config(&dir.join("gb18030.toml"), &dir.join("gb18030"));
    let dump = scan(&cfg).unwrap();
    let t = &dump.databases[0].tables[0];
    let sql = read_schema(t.schema_file.as_ref().unwrap(), "gb18030").unwrap();
    assert!(sql.to_ascii_lowercase().contains("create table"), "{sql}");
    assert!(read_schema(t.schema_file.as_ref().unwrap(), "auto").is_ok());
}

fn file_with(dir: &Path, name: &str, bytes: &[u8], compression: Compression) -> SourceFile {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    SourceFile {
        path,
        rel: name.into(),
        size: bytes.len() as u64,
        format: DataFormat::Csv,
        compression,
        key: String::new(),
    }
}

#[test]
fn open_decompresses_every_supported_format() {
    let tmp = tempfile::tempdir().unwrap();
    let text: Vec<u8> = (0..50_000)
        .flat_map(|i| format!("{i},row {i}\n").into_bytes())
        .collect();
    let (a, b) = text.split_at(text.len() / 3);
    // Two gzip members back to back.
    let mut gz = Vec::new();
    for part in [a, b] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(part).unwrap();
        gz.extend(e.finish().unwrap());
    }
    let mut zst = zstd::encode_all(a, 1).unwrap();
    zst.extend(zstd::encode_all(b, 1).unwrap());
    let mut sn = snap::write::FrameEncoder::new(Vec::new());
    sn.write_all(&text).unwrap();
    let sn = sn.into_inner().unwrap();
    for (name, bytes, c) in [
        ("t.gz", gz, Compression::Gzip),
        ("t.zst", zst, Compression::Zstd),
        ("t.snappy", sn, Compression::Snappy),
        ("t.csv", text.clone(), Compression::None),
    ] {
        let f = file_with(tmp.path(), name, &bytes, c);
        let mut out = Vec::new();
        open(&f).unwrap().read_to_end(&mut out).unwrap();
        let want = if c == Compression::Snappy || c == Compression::None {
            text.clone()
        } else {
            [a, b].concat()
        };
        assert_eq!(out, want, "{name}");
    }
}

#[test]
fn strict_csv_chunks_cover_every_byte_once_at_row_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut body = b"id,name\r\n".to_vec();
    for i in 0..20_000 {
        body.extend(format!("{i},\"name {i}\"\r\n").into_bytes());
    }
    let mut f = file_with(tmp.path(), "db.t.0.csv", &body, Compression::None);
    f.key = "0".into();
    let table = lightning_source::TableSource {
        db: "db".into(),
        name: "t".into(),
        schema_file: None,
        total_size: f.size,
        data_files: vec![
            f.clone(),
            SourceFile {
                key: "1".into(),
                ..f.clone()
            },
        ],
    };
    let mut cfg = Config::default();
    cfg.mydumper.strict_format = true;
    cfg.mydumper.csv.terminator = "\r\n".into();
    cfg.mydumper.max_region_size = 10_000;
    let chunks = make_chunks_for_columns(&table, &cfg, 2).unwrap();
    assert!(chunks.len() > 40, "{}", chunks.len());
    let mut expect_offset = 0;
    let mut prev_max = 0;
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.index, i);
        if c.offset == 0 {
            expect_offset = 0;
            assert_eq!(c.columns, None, "chunk 0 reads the header itself");
        } else {
            assert_eq!(
                c.columns.as_deref(),
                Some(&["id".to_string(), "name".to_string()][..])
            );
            assert_eq!(&body[c.offset as usize - 2..c.offset as usize], b"\r\n");
        }
        assert_eq!(c.offset, expect_offset, "contiguous");
        assert!(c.end > c.offset);
        expect_offset = c.end;
        assert_eq!(c.row_id_base, prev_max, "row ids contiguous");
        assert!(c.row_id_max > c.row_id_base);
        prev_max = c.row_id_max;
        if c.end == body.len() as u64 {
            expect_offset = 0;
        }
        assert!(c.end <= body.len() as u64);
    }
    // Without strict-format: one chunk per file.
    cfg.mydumper.strict_format = false;
    let chunks = make_chunks(&table, &cfg).unwrap();
    assert_eq!(chunks.len(), 2);
    assert_eq!((chunks[0].offset, chunks[0].end), (0, body.len() as u64));
    assert_eq!(chunks[1].row_id_base, chunks[0].row_id_max);
}

/// The controller's table order: the largest chunk first. A strict-format CSV that is cut
/// counts as chunks of `max-region-size`; an SQL file (never cut) or a compressed CSV
/// counts whole.
#[test]
fn largest_chunk_size_follows_how_files_are_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = file_with(tmp.path(), "db.t.0.csv", &[b'1'; 50_000], Compression::None);
    let sql = SourceFile {
        format: DataFormat::Sql,
        size: 30_000,
        ..csv.clone()
    };
    let gz = SourceFile {
        compression: Compression::Gzip,
        size: 20_000,
        ..csv.clone()
    };
    let table = |files: Vec<SourceFile>| lightning_source::TableSource {
        db: "db".into(),
        name: "t".into(),
        schema_file: None,
        total_size: files.iter().map(|f| f.size).sum(),
        data_files: files,
    };
    let mut cfg = Config::default();
    cfg.mydumper.max_region_size = 10_000;
    let largest = |files: Vec<SourceFile>, cfg: &Config| {
        lightning_source::largest_chunk_size(&table(files), cfg)
    };
    assert_eq!(largest(vec![], &cfg), 0);
    assert_eq!(largest(vec![csv.clone(), gz.clone()], &cfg), 50_000);
    cfg.mydumper.strict_format = true;
    assert_eq!(largest(vec![csv.clone()], &cfg), 10_000);
    assert_eq!(largest(vec![csv.clone(), sql.clone()], &cfg), 30_000);
    assert_eq!(largest(vec![csv, gz], &cfg), 20_000);
    // make_chunks cuts such a CSV into chunks of about that size (up to the end of the
    // line, and the header line for the first).
    let cut = file_with(
        tmp.path(),
        "db.t.1.csv",
        &b"1\n".repeat(25_000),
        Compression::None,
    );
    let chunks = make_chunks(&table(vec![cut]), &cfg).unwrap();
    let biggest = chunks.iter().map(|c| c.end - c.offset).max().unwrap();
    assert!(chunks.len() > 1 && biggest <= 10_010, "{chunks:?}");
}

/// Regression: a FIFO or device in the source dir was silently left out of the import.
/// One that routes to a dump file is refused, naming it; any other is skipped (with a
/// warning), never opened.
#[test]
fn non_regular_files_are_refused_when_they_route_to_the_dump() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("db-schema-create.sql"), "CREATE DATABASE db;").unwrap();
    std::fs::write(dir.join("db.t-schema.sql"), "CREATE TABLE t (a int);").unwrap();
    std::fs::write(dir.join("db.t.1.sql"), "INSERT INTO t VALUES (1);").unwrap();
    let fifo = dir.join("db.t.2.sql");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(ok.success());
    let mut cfg = Config::default();
    cfg.mydumper.data_source_dir = dir.to_str().unwrap().into();
    let err = scan(&cfg).unwrap_err();
    assert!(matches!(err, SourceError::Layout { .. }), "{err}");
    assert!(err.to_string().contains("db.t.2.sql"), "{err}");
    assert!(
        err.to_string().contains("is a FIFO, not a regular file"),
        "{err}"
    );

    std::fs::remove_file(&fifo).unwrap();
    std::os::unix::fs::symlink("/dev/null", dir.join("db.t.3.sql")).unwrap();
    let err = scan(&cfg).unwrap_err();
    assert!(err.to_string().contains("db.t.3.sql"), "{err}");
    assert!(err.to_string().contains("character device"), "{err}");

    // Not part of the dump (no rule routes it, or the filter leaves it out): skipped.
    std::fs::remove_file(dir.join("db.t.3.sql")).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(dir.join("mysql.sock")).unwrap();
    std::os::unix::fs::symlink("/dev/null", dir.join("other.x.1.sql")).unwrap();
    cfg.mydumper.filter = vec!["db.*".into()];
    let dump = scan(&cfg).unwrap();
    assert_eq!(tables(&dump), ["db.t"]);
    assert_eq!(dump.table("db", "t").unwrap().data_files.len(), 1);

    // A file swapped for a FIFO after the scan is refused when opened, not read.
    let t = dump.table("db", "t").unwrap();
    let path = t.data_files[0].path.clone();
    std::fs::remove_file(&path).unwrap();
    std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    let err = open(&t.data_files[0]).err().expect("a FIFO is refused");
    assert!(
        err.to_string().contains("is a FIFO, not a regular file"),
        "{err}"
    );
}
