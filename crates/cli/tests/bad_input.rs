//! Bad input, through the real binary with the `tidb` backend into a private MariaDB:
//! corrupt or truncated compressed files, malformed SQL and CSV, broken schema files,
//! values out of range, missing or odd files and directories, bad configs. Each case is a
//! small dump (big inputs are generated) of database `bad` with a good table `ok` and a
//! table `t` its case breaks; checkpoints are on (file driver).
//!
//! Each must exit non-zero with an error naming the file, the position and the reason, and
//! never panic; `ok` keeps all its rows or none (never a part); and for data errors, after
//! the file is fixed and the failed table cleared with `tidb-lightning-ctl
//! --checkpoint-error-destroy`, a rerun finishes with every row exactly once. Inputs that
//! are unusual but valid (mixed line endings, a BOM, an empty file, a 70 MB row, a row
//! just under `max-row-size`) load; rows past that cap fail while being read. The same
//! cases run on the `local` backend with the checks it can make (see its test).

mod configs;

use configs::merge;
use lightning_testkit::MariaDb;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const LIGHTNING: &str = env!("CARGO_BIN_EXE_tidb-lightning");
const CTL: &str = env!("CARGO_BIN_EXE_tidb-lightning-ctl");

/// The base dump; cases write over or beside it.
const BASE: [(&str, &[u8]); 5] = [
    ("bad-schema-create.sql", b"CREATE DATABASE `bad`;\n"),
    (
        "bad.ok-schema.sql",
        b"CREATE TABLE `ok` (id int PRIMARY KEY, v varchar(20));\n",
    ),
    (
        "bad.ok.1.sql",
        b"INSERT INTO `ok` VALUES (1,'one'),(2,'two'),(3,'three');\n",
    ),
    (
        "bad.t-schema.sql",
        b"CREATE TABLE `t` (a int PRIMARY KEY, b varchar(10));\n",
    ),
    ("bad.t.1.sql", b"INSERT INTO `t` VALUES (1,'a'),(2,'b');\n"),
];

/// The rows of `t` once its data is right.
const T_ROWS: &str = "1\ta\n2\tb";

/// What a case expects.
enum Want {
    /// Exit code, fragments of stderr; `fixed`: after the base files are written back,
    /// ctl's error-destroy and a rerun load everything.
    Fails {
        code: i32,
        error: &'static [&'static str],
        fixed: bool,
    },
    /// It loads; `t` then holds these rows (`a`, `b` ordered by `a`).
    Loads(&'static str),
}

struct Case {
    name: &'static str,
    /// Files written (`Some`) or removed (`None`) after the base dump.
    files: Vec<(&'static str, Option<Vec<u8>>)>,
    /// Symlinks made in the dump: (name, target).
    links: &'static [(&'static str, &'static str)],
    /// Extra config TOML (merged section by section).
    extra: &'static str,
    want: Want,
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).expect("gzip");
    gz.finish().expect("gzip")
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 1).expect("zstd")
}

fn snappy(data: &[u8]) -> Vec<u8> {
    let mut w = snap::write::FrameEncoder::new(Vec::new());
    w.write_all(data).expect("snappy");
    w.into_inner().expect("snappy")
}

/// `head` followed by `n` bytes of `x`.
fn long(head: &[u8], n: usize) -> Vec<u8> {
    let mut v = head.to_vec();
    v.resize(head.len() + n, b'x');
    v
}

fn fails(code: i32, error: &'static [&'static str], fixed: bool) -> Want {
    Want::Fails { code, error, fixed }
}

fn cases() -> Vec<Case> {
    let t_sql = BASE[4].1;
    let gz = gzip(t_sql);
    let mut wide = b"INSERT INTO `t` VALUES (1".to_vec();
    for i in 0..9_999 {
        write!(wide, ",{i}").expect("write");
    }
    wide.extend_from_slice(b");\n");
    let mut big = long(b"INSERT INTO `t` VALUES (1,'a'),(2,'b'),(3,'", 70 << 20);
    big.extend_from_slice(b"');\n");
    // Rows past a 1 MiB cap, and one just under it.
    const CAP: &str = "[mydumper]\nmax-row-size = \"1MiB\"\n";
    let unterminated = long(b"INSERT INTO `t` VALUES (1,'a'),(2,'", 4 << 20);
    let quoted = long(b"a,b\n1,a\n2,\"", 4 << 20);
    let endless = long(b"a,b\n1,a\n2,", 4 << 20);
    let mut under = long(b"INSERT INTO `t` VALUES (1,'a'),(2,'b", 1000 << 10);
    under.extend_from_slice(b"');\n");
    // A cap that is no power of two times the block: the reader's last growth stops short
    // of what the parser asked for, and the row under the cap must still be seen whole.
    const ODD_CAP: &str = "[mydumper]\nmax-row-size = \"900KiB\"\n";
    let mut odd = long(b"INSERT INTO `t` VALUES (1,'a'),(2,'b", 800 << 10);
    odd.extend_from_slice(&long(b"'),(3,'c", 300 << 10));
    odd.extend_from_slice(b"');\n");
    // Rows past the cap that do end: skipped and counted under max-error. Their bytes
    // hold what could end them early: quotes, escapes, parentheses, separators, newlines.
    const SKIP: &str = "[mydumper]\nmax-row-size = \"1MiB\"\n[lightning]\nmax-error = 2\n";
    const SKIP_ONE: &str = "[mydumper]\nmax-row-size = \"1MiB\"\n[lightning]\nmax-error = 1\n";
    let tricky = |quote: &str| -> Vec<u8> {
        let piece = format!("){quote}{quote},\\{quote}\n(;");
        piece.repeat((2 << 20) / piece.len()).into_bytes()
    };
    let mut long_sql = b"INSERT INTO `t` VALUES (1,'a'),(8,'".to_vec();
    long_sql.extend_from_slice(&tricky("'"));
    long_sql.extend_from_slice(b"'),(2,'b');\n");
    let mut long_csv = b"a,b\n9,\"".to_vec();
    long_csv.extend_from_slice(&tricky("\""));
    long_csv.extend_from_slice(b"\"\n");
    let mut two_long = b"INSERT INTO `t` VALUES (1,'a'),(8,'".to_vec();
    two_long.extend_from_slice(&tricky("'"));
    two_long.extend_from_slice(b"'),(9,'");
    two_long.extend_from_slice(&tricky("'"));
    two_long.extend_from_slice(b"'),(2,'b');\n");
    let mut many = b"INSERT INTO `t` VALUES (1,'a')".to_vec();
    for i in 2..200_000 {
        write!(many, ",({i},'row {i}')").expect("write");
    }
    many.extend_from_slice(b";\n");
    let many = gzip(&many);
    vec![
        Case {
            // Past the part the size estimate reads: the reader meets the cut.
            name: "a gzip file truncated after its first megabytes",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.sql.gz", Some(many[..many.len() * 3 / 4].to_vec())),
            ],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql.gz: read failed: reading at decompressed byte"], true),
        },
        Case {
            name: "a truncated gzip file",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.sql.gz", Some(gz[..gz.len() / 2].to_vec())),
            ],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql.gz: decompression failed after 16 decompressed bytes", "incomplete"], true),
        },
        Case {
            name: "a corrupt zstd file",
            files: vec![
                ("bad.t.1.sql", None),
                (
                    "bad.t.1.sql.zst",
                    Some(b"\x28\xb5\x2f\xfd\x00\x58garbage garbage".to_vec()),
                ),
            ],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql.zst: decompression failed after 0 decompressed bytes"], true),
        },
        Case {
            name: "a corrupt snappy file",
            files: vec![
                ("bad.t.1.sql", None),
                (
                    "bad.t.1.sql.snappy",
                    Some(b"\xff\x06\x00\x00sNaPpY\x00\x10\x00\x00garbage garbage!".to_vec()),
                ),
            ],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql.snappy: decompression failed after 0 decompressed bytes"], true),
        },
        Case {
            name: "an unterminated string",
            files: vec![("bad.t.1.sql", Some(b"INSERT INTO `t` VALUES (1,'abc);\n".to_vec()))],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql: at byte 26 (line 1): unterminated string"], true),
        },
        Case {
            name: "unbalanced parentheses",
            files: vec![(
                "bad.t.1.sql",
                Some(b"INSERT INTO `t` VALUES (1,'a'),(2,'b';\n".to_vec()),
            )],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql: at byte 37 (line 1): expected ',' or ')'"], true),
        },
        Case {
            name: "a statement cut mid-way",
            files: vec![(
                "bad.t.1.sql",
                Some(b"INSERT INTO `t` VALUES (1,'a'),(2,".to_vec()),
            )],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql: at byte 34 (line 1): unexpected end of file"], true),
        },
        Case {
            name: "a row with too many values",
            files: vec![(
                "bad.t.1.sql",
                Some(b"INSERT INTO `t` VALUES (1,'a'),(2,'b','c');\n".to_vec()),
            )],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql: row ending at byte 42: row has 3 values"], true),
        },
        Case {
            name: "a NUL byte outside a string",
            files: vec![(
                "bad.t.1.sql",
                Some(b"INSERT INTO `t` VALUES (1,'a'),(2,\0'b');\n".to_vec()),
            )],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql: at byte 34 (line 1): expected a value"], true),
        },
        Case {
            name: "invalid UTF-8 under a strict sql-mode",
            files: vec![(
                "bad.t.1.sql",
                Some(b"INSERT INTO `t` VALUES (1,'a'),(2,'\xff\xfe');\n".to_vec()),
            )],
            links: &[],
            extra: "[tidb]\nsql-mode = \"STRICT_ALL_TABLES\"\n",
            want: fails(1, &["bad.t.1.sql (row ending at byte 39): error 1366: Incorrect string value"], true),
        },
        Case {
            name: "a 10 000-value row",
            files: vec![("bad.t.1.sql", Some(wide))],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql: row ending at byte 48911: row has 10000 values"], true),
        },
        Case {
            name: "an out-of-range value under a strict sql-mode",
            files: vec![(
                "bad.t.1.sql",
                Some(b"INSERT INTO `t` VALUES (1,'a'),(99999999999,'b');\n".to_vec()),
            )],
            links: &[],
            extra: "[tidb]\nsql-mode = \"STRICT_ALL_TABLES\"\n",
            want: fails(1, &["bad.t.1.sql (row ending at byte 48): error 1264: Out of range"], true),
        },
        Case {
            name: "an out-of-range value under a non-strict sql-mode is clamped",
            files: vec![(
                "bad.t.1.sql",
                Some(b"INSERT INTO `t` VALUES (1,'a'),(99999999999,'b');\n".to_vec()),
            )],
            links: &[],
            extra: "[tidb]\nsql-mode = \"\"\n",
            want: Want::Loads("1\ta\n2147483647\tb"),
        },
        Case {
            name: "a CSV file with an unterminated quote",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.csv", Some(b"a,b\n1,a\n2,\"b\n".to_vec())),
            ],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.csv: at byte 10 (line 3): syntax error: unterminated quoted field"], true),
        },
        Case {
            name: "a CSV file with a wrong field count",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.csv", Some(b"a,b\n1,a\n2,b,c\n".to_vec())),
            ],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.csv: row ending at byte 14: row has 3 values"], true),
        },
        Case {
            name: "a CSV file with mixed line endings loads",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.csv", Some(b"a,b\r\n1,a\n2,b\r\n".to_vec())),
            ],
            links: &[],
            extra: "",
            want: Want::Loads(T_ROWS),
        },
        Case {
            name: "a CSV file with a BOM loads",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.csv", Some(b"\xef\xbb\xbfa,b\n1,a\n2,b\n".to_vec())),
            ],
            links: &[],
            extra: "",
            want: Want::Loads(T_ROWS),
        },
        Case {
            name: "an empty data file loads nothing",
            files: vec![
                ("bad.t.1.sql", Some(Vec::new())),
                ("bad.t.2.sql", Some(t_sql.to_vec())),
            ],
            links: &[],
            extra: "",
            want: Want::Loads(T_ROWS),
        },
        Case {
            name: "an unterminated string past max-row-size, gzipped",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.sql.gz", Some(gzip(&unterminated))),
            ],
            links: &[],
            extra: CAP,
            want: fails(1, &["bad.t.1.sql.gz: at byte 30", "max-row-size = 1048576"], true),
        },
        Case {
            name: "an unterminated quoted CSV field past max-row-size, zstd",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.csv.zst", Some(zstd(&quoted))),
            ],
            links: &[],
            extra: CAP,
            want: fails(1, &["bad.t.1.csv.zst: at byte 8", "max-row-size = 1048576"], true),
        },
        Case {
            name: "a CSV line with no terminator past max-row-size, snappy",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.csv.snappy", Some(snappy(&endless))),
            ],
            links: &[],
            extra: CAP,
            want: fails(1, &["bad.t.1.csv.snappy: at byte 8", "max-row-size = 1048576"], true),
        },
        Case {
            name: "a row just under max-row-size loads",
            files: vec![("bad.t.1.sql", Some(under))],
            links: &[],
            extra: CAP,
            want: Want::Loads(T_ROWS),
        },
        Case {
            name: "a row under a max-row-size that is no power of two loads",
            files: vec![("bad.t.1.sql", Some(odd))],
            links: &[],
            extra: ODD_CAP,
            want: Want::Loads("1\ta\n2\tb\n3\tc"),
        },
        Case {
            name: "rows past max-row-size that end are skipped within max-error",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.sql.gz", Some(gzip(&long_sql))),
                ("bad.t.2.csv.zst", Some(zstd(&long_csv))),
            ],
            links: &[],
            extra: SKIP,
            want: Want::Loads(T_ROWS),
        },
        Case {
            name: "more rows past max-row-size than max-error allows",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.sql.gz", Some(gzip(&two_long))),
            ],
            links: &[],
            extra: SKIP_ONE,
            want: fails(
                1,
                &[
                    "bad.t.1.sql.gz: at byte 2097181",
                    "max-row-size = 1048576",
                    "room left under lightning.max-error",
                ],
                true,
            ),
        },
        Case {
            name: "an unterminated string past max-row-size, within max-error",
            files: vec![
                ("bad.t.1.sql", None),
                ("bad.t.1.sql.gz", Some(gzip(&unterminated))),
            ],
            links: &[],
            extra: SKIP,
            want: fails(
                1,
                &[
                    "bad.t.1.sql.gz: at byte",
                    "unterminated string literal starting at byte 34, in the row starting at byte 31",
                ],
                true,
            ),
        },
        Case {
            name: "a 70 MB row loads",
            files: vec![
                (
                    "bad.t-schema.sql",
                    Some(b"CREATE TABLE `t` (a int PRIMARY KEY, b longtext);\n".to_vec()),
                ),
                ("bad.t.1.sql", Some(big)),
            ],
            links: &[],
            extra: "",
            want: Want::Loads("1\ta\n2\tb\n3\tx"),
        },
        Case {
            name: "a data file that is a symlink loop",
            files: vec![],
            links: &[("bad.t.2.sql", "bad.t.2.sql")],
            extra: "",
            want: fails(1, &["bad.t.2.sql: Too many levels of symbolic links"], true),
        },
        Case {
            name: "a directory symlink loop is not followed forever",
            files: vec![],
            links: &[("sub", "."), ("up", "..")],
            extra: "",
            want: Want::Loads(T_ROWS),
        },
        Case {
            name: "a schema file with a syntax error",
            files: vec![(
                "bad.t-schema.sql",
                Some(b"CREATE TABLE `t` (a int PRIMARY KEY,, b int);\n".to_vec()),
            )],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t-schema.sql: statement at byte 0", "error 1064"], false),
        },
        Case {
            name: "a schema file with an unknown type",
            files: vec![(
                "bad.t-schema.sql",
                Some(b"CREATE TABLE `t` (a int PRIMARY KEY, b frobnicate);\n".to_vec()),
            )],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t-schema.sql: statement at byte 0", "Unknown data type"], false),
        },
        Case {
            name: "a schema file without CREATE TABLE",
            files: vec![(
                "bad.t-schema.sql",
                Some(b"/*!40101 SET NAMES binary*/;\n-- nothing else\n".to_vec()),
            )],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t-schema.sql: statement at byte 0 (line 1): holds no CREATE TABLE"], false),
        },
        Case {
            name: "a schema file with two CREATE TABLEs",
            files: vec![(
                "bad.t-schema.sql",
                Some(
                    b"CREATE TABLE `t` (a int PRIMARY KEY, b varchar(10));\nCREATE TABLE `u` (a int);\n"
                        .to_vec(),
                ),
            )],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t-schema.sql: statement at byte 53 (line 2): a second CREATE TABLE"], false),
        },
        Case {
            name: "a data file without a schema file",
            files: vec![("bad.t-schema.sql", None)],
            links: &[],
            extra: "",
            want: fails(1, &["bad.t.1.sql: table schema not found for `bad`.`t`"], false),
        },
        Case {
            name: "a missing data-source-dir",
            files: vec![],
            links: &[],
            extra: "[mydumper]\ndata-source-dir = \"/nonexistent/lightning-dump\"\n",
            want: fails(2, &["mydumper.data-source-dir", "/nonexistent/lightning-dump", "does not exist"], false),
        },
        Case {
            name: "an unknown config key",
            files: vec![],
            links: &[],
            extra: "[mydumper]\nno-such-key = 1\n",
            want: fails(2, &["no-such-key"], false),
        },
        Case {
            name: "a config value of the wrong type",
            files: vec![],
            links: &[],
            extra: "[lightning]\nregion-concurrency = \"many\"\n",
            want: fails(2, &["region-concurrency", "invalid type: string \"many\""], false),
        },
        Case {
            name: "a negative concurrency",
            files: vec![],
            links: &[],
            extra: "[lightning]\nregion-concurrency = -4\n",
            want: fails(2, &["region-concurrency"], false),
        },
    ]
}

fn write_dump(dir: &Path, case: &Case) {
    std::fs::create_dir_all(dir).expect("dump dir");
    for (name, text) in BASE {
        std::fs::write(dir.join(name), text).expect("write");
    }
    for (name, bytes) in &case.files {
        match bytes {
            Some(b) => std::fs::write(dir.join(name), b).expect("write"),
            None => std::fs::remove_file(dir.join(name)).expect("remove"),
        }
    }
    for (name, target) in case.links {
        std::os::unix::fs::symlink(target, dir.join(name)).expect("symlink");
    }
}

/// Puts the base dump back: what the case wrote is removed, or rewritten from the base
/// (the files it did not touch keep their times, so the good table's checkpoint holds).
fn fix_dump(dir: &Path, case: &Case) {
    let made = case
        .files
        .iter()
        .map(|f| f.0)
        .chain(case.links.iter().map(|l| l.0));
    for name in made {
        let _ = std::fs::remove_file(dir.join(name));
        if let Some((_, text)) = BASE.iter().find(|(n, _)| *n == name) {
            std::fs::write(dir.join(name), text).expect("write");
        }
    }
}

fn run(program: &str, args: &[&str], config: &Path) -> (Option<i32>, String) {
    let out = Command::new(program)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("running the binary");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn config(work: &Path, i: usize, db: &MariaDb, dir: &Path, extra: &str) -> PathBuf {
    let toml = format!(
        "[lightning]\nfile = {log:?}\n\
         [checkpoint]\nenable = true\ndriver = \"file\"\ndsn = {cp:?}\n\
         [tikv-importer]\nbackend = \"tidb\"\n\
         [tidb]\nhost = {host:?}\nport = {port}\nuser = \"root\"\n\
         [mydumper]\ndata-source-dir = {dir:?}\n",
        log = work.join(format!("run{i}.log")).display().to_string(),
        cp = work.join(format!("cp{i}.pb")).display().to_string(),
        host = db.host(),
        port = db.port(),
        dir = dir.display().to_string(),
    );
    let path = work.join(format!("run{i}.toml"));
    std::fs::write(&path, merge(&toml, extra)).expect("config");
    path
}

#[test]
fn bad_input_fails_clearly_and_loses_nothing() {
    let db = MariaDb::shared();
    let q = |s: &str| db.query(s).unwrap_or_else(|e| panic!("{s}: {e:#}"));
    let work = tempfile::Builder::new()
        .prefix("bad-input-")
        .tempdir()
        .expect("tempdir");
    let mut failures = Vec::new();
    for (i, case) in cases().iter().enumerate() {
        q("DROP DATABASE IF EXISTS bad");
        let dir = work.path().join(format!("dump{i}"));
        write_dump(&dir, case);
        let cfg = config(work.path(), i, db, &dir, case.extra);
        let (code, stderr) = run(LIGHTNING, &[], &cfg);
        if std::env::var_os("BAD_INPUT_SHOW").is_some() {
            eprintln!("== {}: exit {code:?}\n{stderr}", case.name);
        }
        let mut problems = Vec::new();
        if stderr.contains("panicked") {
            problems.push("panicked".to_string());
        }
        match &case.want {
            Want::Loads(rows) => {
                if code != Some(0) {
                    problems.push(format!("exit {code:?}"));
                } else {
                    let got = q("SELECT a, left(b, 1) FROM bad.t ORDER BY a");
                    if got.trim_end() != *rows {
                        problems.push(format!("t holds {got:?}"));
                    }
                }
            }
            Want::Fails {
                code: want,
                error,
                fixed,
            } => {
                if code != Some(*want) {
                    problems.push(format!("exit {code:?}, want {want}"));
                }
                for f in *error {
                    if !stderr.contains(f) {
                        problems.push(format!("no {f:?} in the error"));
                    }
                }
                let ok = q("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'bad' AND table_name = 'ok'");
                if ok.trim() == "1" {
                    let n = q("SELECT count(*) FROM bad.ok");
                    if !["0", "3"].contains(&n.trim()) {
                        problems.push(format!("ok holds {n} rows"));
                    }
                }
                if *fixed {
                    fix_dump(&dir, case);
                    let (c, e) = run(CTL, &["--checkpoint-error-destroy=all"], &cfg);
                    if c != Some(0) {
                        problems.push(format!("ctl: exit {c:?}: {e}"));
                    }
                    let (c, e) = run(LIGHTNING, &[], &cfg);
                    if c != Some(0) {
                        problems.push(format!("rerun: exit {c:?}: {e}"));
                    } else {
                        let got =
                            q("SELECT a, b FROM bad.t ORDER BY a; SELECT count(*) FROM bad.ok");
                        if got != format!("{T_ROWS}\n3\n") {
                            problems.push(format!("after the fix: {got:?}"));
                        }
                    }
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {stderr}",
                case.name,
                problems.join("; ")
            ));
        }
    }
    q("DROP DATABASE IF EXISTS bad");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same inputs on the `local` backend, into the simulated cluster: each case exits as
/// on the tidb backend, never panics, and names the file (the position too where the
/// source layers report it: compression, SQL and CSV syntax, schema files, config); rows
/// the target refuses on the tidb backend are checked by the encoder here, with its own
/// words. Inputs that load leave `t` with the same number of rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_backend_fails_clearly_on_bad_input() {
    use lightning_testkit::sim::{TestCluster, TestClusterOptions};
    let work = tempfile::Builder::new()
        .prefix("bad-input-local-")
        .tempdir()
        .expect("tempdir");
    let mut failures = Vec::new();
    for (i, case) in cases().iter().enumerate() {
        // A fresh cluster per case: the local backend imports into empty tables only.
        let tc = TestCluster::start(TestClusterOptions::default())
            .await
            .expect("start the simulated cluster");
        let dir = work.path().join(format!("dump{i}"));
        write_dump(&dir, case);
        let toml = configs::local(&tc, work.path(), &format!("local{i}"), &dir);
        let cfg = work.path().join(format!("local{i}.toml"));
        std::fs::write(&cfg, merge(&toml, case.extra)).expect("config");
        let (code, stderr) = tokio::task::spawn_blocking(move || run(LIGHTNING, &[], &cfg))
            .await
            .expect("runner");
        let mut problems = Vec::new();
        if stderr.contains("panicked") {
            problems.push("panicked".to_string());
        }
        match &case.want {
            Want::Loads(rows) => {
                if code != Some(0) {
                    problems.push(format!("exit {code:?}"));
                } else {
                    let got = tc
                        .tidb()
                        .query("SELECT COUNT(*) FROM bad.t")
                        .expect("count");
                    let want = rows.lines().count().to_string();
                    if got != vec![vec![Some(want.clone())]] {
                        problems.push(format!("t holds {got:?} rows, want {want}"));
                    }
                }
            }
            Want::Fails {
                code: want, error, ..
            } => {
                if code != Some(*want) {
                    problems.push(format!("exit {code:?}, want {want}"));
                }
                // The file (or key) each error names comes first in its fragments.
                let named = error[0].split(':').next().unwrap_or(error[0]);
                if !stderr.contains(named) {
                    problems.push(format!("no {named:?} in the error"));
                }
                let from_source =
                    !error[0].contains("(row ending") && !error[0].contains("row has");
                if from_source && !stderr.contains(error[0]) {
                    problems.push(format!("no {:?} in the error", error[0]));
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {stderr}",
                case.name,
                problems.join("; ")
            ));
        }
        tc.shutdown().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
