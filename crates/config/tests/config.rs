//! End-to-end checks of the config crate: the example file, the shared conformance configs,
//! flags over file, Go-style flag forms and error messages.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lightning_config::{
    Backend, Config, ConfigError, ConflictStrategy, Invocation, KeepStrategy, PostOpLevel,
};

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn cases() -> PathBuf {
    shared().join("conformance/lightning-tests")
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

fn run(list: &[&str]) -> Result<Config, ConfigError> {
    match Config::from_args(args(list))? {
        Invocation::Run(cfg) => Ok(*cfg),
        other => panic!("expected Run, got {other:?}"),
    }
}

#[test]
fn example_file_documents_the_defaults() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/tidb-lightning.example.toml");
    let parsed = Config::parse_toml_file(&path).expect("example parses");
    let mut parsed = parsed;
    parsed.cli = Default::default();
    assert_eq!(parsed, Config::default());
}

#[test]
fn every_conformance_config_parses_and_validates() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let (mut seen, mut refused) = (0, 0);
    for case in std::fs::read_dir(cases()).unwrap() {
        let case = case.unwrap().path();
        if !case.is_dir() || case.ends_with("lightning_unused_config_keys") {
            continue;
        }
        for f in std::fs::read_dir(&case).unwrap() {
            let f = f.unwrap().path();
            // TiDB's own server config, not a Lightning one.
            if f.extension().is_none_or(|e| e != "toml") || f.ends_with("tidb-new-collation.toml") {
                continue;
            }
            seen += 1;
            let fs = f.to_str().unwrap();
            Config::parse_toml_file(&f).unwrap_or_else(|e| panic!("{fs}: {e}"));
            // Deliberately bogus values, overridden by flags in `flags_override_the_file`.
            if case.ends_with("lightning_cmdline_override") {
                continue;
            }
            let kv = data.path().join("kv");
            run(&[
                "--config",
                fs,
                "-d",
                d,
                "--sorted-kv-dir",
                kv.to_str().unwrap(),
                "--importer",
                "127.0.0.1:8287",
            ])
            .or_else(|e| match e {
                // Keys this build cannot act on yet are refused by name, not ignored.
                ConfigError::InvalidValue {
                    ref key,
                    ref reason,
                    ..
                } if reason.starts_with("not supported:") => {
                    eprintln!("REFUSED {fs}: {key}");
                    refused += 1;
                    Ok(Config::default())
                }
                e => Err(e),
            })
            .unwrap_or_else(|e| panic!("{fs}: {e}"));
        }
    }
    assert!(seen > 50, "only {seen} configs found");
    assert!(refused < seen / 4, "{refused} of {seen} refused");
}

#[test]
fn unknown_keys_are_all_reported() {
    let f = cases().join("lightning_unused_config_keys/config.toml");
    let err = Config::parse_toml_file(&f).unwrap_err();
    let msg = err.to_string();
    for key in ["typo-1", "lightning.typo-2", "typo-3"] {
        assert!(msg.contains(key), "{msg}");
    }
    assert!(!msg.contains("typo-4"), "{msg}");
    assert!(matches!(err, ConfigError::UnknownKeys { .. }));
}

#[test]
fn keys_this_build_cannot_act_on_are_refused_by_name_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let with = |toml: &str| {
        // Keys of the two sections the base opens go on in them.
        let (mut imp, mut dumper, mut rest) = ("", "", toml);
        if let Some(r) = toml.strip_prefix("[tikv-importer]\n") {
            (imp, rest) = (r, "");
        } else if let Some(r) = toml.strip_prefix("[mydumper]\n") {
            (dumper, rest) = (r, "");
        }
        Config::from_toml_str(&format!(
            "[mydumper]\ndata-source-dir = {:?}\n{dumper}\n[tikv-importer]\nsorted-kv-dir = \"/tmp/sorted\"\n{imp}\n{rest}",
            dir.path().display().to_string()
        ))
    };
    for (toml, key) in [
        ("[lightning]\nmax-size = 64", "lightning.max-size"),
        (
            "[lightning.max-error]\nsyntax = 5",
            "lightning.max-error.syntax",
        ),
        (
            "[tikv-importer]\nparallel-import = true",
            "tikv-importer.parallel-import",
        ),
        (
            "[tikv-importer]\nincremental-import = true",
            "tikv-importer.parallel-import",
        ),
        (
            "[tikv-importer]\nbackend = \"importer\"\naddr = \"h:1\"",
            "tikv-importer.backend",
        ),
        (
            "[tikv-importer]\ncompress-kv-pairs = \"gzip\"",
            "tikv-importer.compress-kv-pairs",
        ),
        (
            "[tikv-importer]\nkeyspace-name = \"ks\"",
            "tikv-importer.keyspace-name",
        ),
        (
            "[tidb]\nmax-allowed-packet = 1024",
            "tidb.max-allowed-packet",
        ),
        (
            "[tidb]\ndistsql-scan-concurrency = 3",
            "tidb.distsql-scan-concurrency",
        ),
        ("[post-restore]\ncompact = true", "post-restore.compact"),
        (
            "[security]\nredact-info-log = true",
            "security.redact-info-log",
        ),
        (
            "[mydumper]\ndata-character-set = \"gbk\"",
            "mydumper.data-character-set",
        ),
        (
            "[[mydumper.ignore-data-columns]]\ndb = \"d\"\ntable = \"t\"\ncolumns = [\"c\"]",
            "mydumper.ignore-data-columns",
        ),
        (
            "[conflict]\nstrategy = \"replace\"\nmax-record-rows = 5",
            "conflict.max-record-rows",
        ),
    ] {
        let msg = with(toml).unwrap_err().to_string();
        assert!(
            msg.contains(&format!("`{key}`")) && msg.contains("not supported"),
            "{toml}: {msg}"
        );
    }
    // The values that match what the build does pass.
    let ok = with("[lightning]\nstatus-addr = \"\"\nmax-size = 512\n[tidb]\nlog-level = \"error\"\n[conflict]\nstrategy = \"replace\"\nmax-record-rows = 10000").unwrap();
    assert!(ok.inert_settings().is_empty());
    // Upstream's own test configs set these: accepted, each named in a warning.
    let inert = with(
        "[tikv-importer]\nmax-kv-pairs = 3\nsend-kv-pairs = 2\n[lightning]\nindex-concurrency = 1",
    )
    .unwrap();
    let keys: Vec<&str> = inert.inert_settings().iter().map(|s| s.0).collect();
    assert_eq!(
        keys,
        [
            "lightning.index-concurrency",
            "tikv-importer.max-kv-pairs",
            "tikv-importer.send-kv-pairs"
        ]
    );
    let d = dir.path().to_str().unwrap();
    let msg = run(&["-d", d, "--backend", "tidb", "--check-only", "default"])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not supported"), "{msg}");
}

#[test]
fn bad_values_name_the_key() {
    for (toml, needle) in [
        ("[tikv-importer]\nbackend = \"foo\"", "backend"),
        ("[mydumper]\nread-block-size = \"lots\"", "read-block-size"),
        ("[cron]\nlog-progress = \"5 minutes\"", "log-progress"),
        ("[post-restore]\nchecksum = \"maybe\"", "checksum"),
        (
            "[lightning]\nregion-concurrency = \"x\"",
            "region-concurrency",
        ),
    ] {
        let msg = Config::parse_toml_str(toml).unwrap_err().to_string();
        assert!(msg.contains(needle), "{toml}: {msg}");
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let msg = run(&["-d", d, "--backend", "tidb", "-L", "loud"])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("-L") && msg.contains("loud"), "{msg}");
    let msg = run(&["-d", d, "--backend", "nosql"])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("-backend") && msg.contains("nosql"), "{msg}");
    let msg = run(&["-d", d, "--bogus"]).unwrap_err().to_string();
    assert!(msg.contains("bogus"), "{msg}");
    let msg = run(&["-d", d, "--backend", "tidb", "--cert", "c.pem"])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("security.key-path"), "{msg}");
}

#[test]
fn flags_override_the_file() {
    let case = cases().join("lightning_cmdline_override");
    let data = tempfile::tempdir().unwrap();
    let cfg = run(&[
        "--config",
        case.join("config.toml").to_str().unwrap(),
        "-L",
        "debug",
        "--log-file",
        "/tmp/override.log",
        "--tidb-host",
        "127.0.0.1",
        "--tidb-port",
        "4000",
        "--tidb-user",
        "root",
        "--tidb-status",
        "10080",
        "--pd-urls",
        "127.0.0.1:2379",
        "-d",
        data.path().to_str().unwrap(),
        "--backend",
        "local",
        "--sorted-kv-dir",
        "/tmp/sorted-kv",
        "--importer",
        "127.0.0.1:8808",
    ])
    .unwrap();
    assert_eq!(cfg.lightning.level, "debug");
    assert_eq!(cfg.lightning.file, "/tmp/override.log");
    assert_eq!(cfg.tidb.port, 4000);
    assert_eq!(cfg.tidb.status_port, 10080);
    assert_eq!(cfg.tidb.pd_addr, "127.0.0.1:2379");
    assert_eq!(cfg.tikv_importer.backend, Backend::Local);
    assert_eq!(cfg.tikv_importer.addr, "127.0.0.1:8808");
    assert!(
        !cfg.lightning.check_requirements,
        "file value kept when no flag"
    );
}

#[test]
fn go_style_flag_forms() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let kv = format!("{d}/kv");
    let forms: [&[&str]; 4] = [
        &["-d", d, "-sorted-kv-dir", &kv, "-L", "warn"],
        &["--d", d, "--sorted-kv-dir", &kv, "--L", "warn"],
        &[
            "-d=/x",
            "--d=/y",
            "-d",
            d,
            "-sorted-kv-dir=/z",
            "--sorted-kv-dir",
            &kv,
            "-L=warn",
        ],
        &["--d", d, "--sorted-kv-dir", &kv, "--L=warning"],
    ];
    for form in forms {
        let cfg = run(form).unwrap();
        assert_eq!(cfg.mydumper.data_source_dir, d, "{form:?}");
        assert_eq!(cfg.lightning.level, "warn");
    }
    let cfg = run(&[
        "-d",
        d,
        "--backend=tidb",
        "--check-requirements=false",
        "-enable-checkpoint=0",
        "--checksum=false",
        "-analyze",
        "required",
        "-f",
        "db1.*",
        "--f=!db1.t2",
        "-no-schema",
    ])
    .unwrap();
    assert_eq!(cfg.tikv_importer.backend, Backend::Tidb);
    assert!(!cfg.lightning.check_requirements);
    assert!(!cfg.checkpoint.enable);
    assert!(cfg.mydumper.no_schema);
    assert_eq!(cfg.mydumper.filter, vec!["db1.*", "!db1.t2"]);
    // The tidb backend turns post-import checks off.
    assert_eq!(cfg.post_restore.checksum, PostOpLevel::Off);
    let msg = run(&["-d", d, "--check-requirements=maybe"])
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("check-requirements") && msg.contains("maybe"),
        "{msg}"
    );
    assert!(matches!(
        Config::from_args(args(&["-V"])).unwrap(),
        Invocation::Version
    ));
    assert!(matches!(
        Config::from_args(args(&["--version", "--bogus-after"])),
        Err(ConfigError::UnknownFlag(_))
    ));
    match Config::from_args(args(&["-h"])).unwrap() {
        Invocation::Help(text) => assert!(text.contains("-sorted-kv-dir")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Config::from_args(args(&["-d"])),
        Err(ConfigError::MissingFlagValue(_))
    ));
}

#[test]
fn old_and_new_value_shapes() {
    let cfg = Config::parse_toml_str(
        "[post-restore]\nchecksum = true\nanalyze = false\n\
         [checkpoint]\nkeep-after-success = true\n\
         [lightning]\nmax-error = 10\n\
         [mydumper]\nbatch-size = 50\nmax-region-size = \"1.5GB\"\n\
         [mydumper.csv]\nnull = 'NULL'\n\
         [cron]\nswitch-mode = \"1m30s\"\n",
    )
    .unwrap();
    assert_eq!(cfg.post_restore.checksum, PostOpLevel::Required);
    assert_eq!(cfg.post_restore.analyze, PostOpLevel::Off);
    assert_eq!(cfg.checkpoint.keep_after_success, KeepStrategy::Rename);
    assert_eq!(cfg.lightning.max_error.type_, 10);
    assert_eq!(cfg.mydumper.batch_size, 50);
    assert_eq!(cfg.mydumper.max_region_size, 3 << 29);
    assert_eq!(cfg.mydumper.csv.null, vec!["NULL"]);
    assert_eq!(cfg.cron.switch_mode, Duration::from_secs(90));

    let cfg = Config::parse_toml_str("[lightning.max-error]\ntype = 5\ncharset = 7\n").unwrap();
    assert_eq!(
        (
            cfg.lightning.max_error.type_,
            cfg.lightning.max_error.charset
        ),
        (5, 7)
    );
}

fn validated(toml: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[mydumper]\ndata-source-dir = {:?}\n[tikv-importer]\nsorted-kv-dir = \"/tmp/sorted\"\n{toml}",
        dir.path().to_str().unwrap()
    );
    Config::from_toml_str(&text)
}

#[test]
fn conflict_strategy_is_derived_like_upstream() {
    let cfg = validated("").unwrap();
    assert_eq!(cfg.conflict.strategy, ConflictStrategy::None);
    assert!(cfg.lightning.region_concurrency >= 1);
    assert_eq!(cfg.lightning.table_concurrency, 6);
    assert_eq!(cfg.lightning.index_concurrency, 2);

    let tidb = |extra: &str| {
        let dir = tempfile::tempdir().unwrap();
        Config::from_toml_str(&format!(
            "[mydumper]\ndata-source-dir = {:?}\n[tikv-importer]\nbackend = \"tidb\"\n{extra}",
            dir.path().to_str().unwrap()
        ))
    };
    let cfg = tidb("").unwrap();
    assert_eq!(cfg.conflict.strategy, ConflictStrategy::Error);
    assert_eq!(cfg.conflict.threshold, 0);
    let cfg = tidb("on-duplicate = \"replace\"").unwrap();
    assert_eq!(cfg.conflict.strategy, ConflictStrategy::Replace);
    assert_eq!(cfg.conflict.threshold, 10_000);
    assert_eq!(cfg.conflict.max_record_rows, 0);
    let cfg = tidb("[conflict]\non-duplicate = \"ignore\"").unwrap();
    assert_eq!(cfg.conflict.strategy, ConflictStrategy::Ignore);
    let msg = tidb("[conflict]\nstrategy = \"error\"\nthreshold = 3")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("threshold"), "{msg}");

    let msg = validated("[conflict]\nstrategy = \"ignore\"")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("ignore") && msg.contains("local"), "{msg}");
}

#[test]
fn validation_rejects_missing_and_inconsistent_settings() {
    let msg = Config::from_toml_str("").unwrap_err().to_string();
    assert!(msg.contains("sorted-kv-dir"), "{msg}");
    let msg = Config::from_toml_str("[tikv-importer]\nbackend = \"tidb\"")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("data-source-dir"), "{msg}");
    let msg = validated("[mydumper.csv]\nseparator = '\"'")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("prefix"), "{msg}");
    let msg = validated("[tidb]\ntls = \"cluster\"")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("security"), "{msg}");
    let msg = validated("[tidb]\nport = 70000").unwrap_err().to_string();
    assert!(msg.contains("tidb.port") && msg.contains("70000"), "{msg}");
    assert!(validated("[black-white-list]\ndo-dbs = [\"a\"]").is_ok());
    let mut cfg = validated("[black-white-list]\ndo-dbs = [\"a\"]").unwrap();
    cfg.mydumper.filter = vec!["a.*".into()];
    let msg = cfg.validate().unwrap_err().to_string();
    assert!(msg.contains("black-white-list"), "{msg}");
}

/// `add-index-by-sql`: unset means on for the tidb backend and off for local, which refuses
/// `true` rather than ignore it.
#[test]
fn add_index_by_sql_defaults_per_backend_and_local_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let tidb = |extra: &str| {
        Config::from_toml_str(&format!(
            "[mydumper]\ndata-source-dir = {:?}\n[tikv-importer]\nbackend = \"tidb\"\n{extra}",
            dir.path().to_str().unwrap()
        ))
    };
    assert!(tidb("").unwrap().tikv_importer.add_index_by_sql());
    assert!(!tidb("add-index-by-sql = false")
        .unwrap()
        .tikv_importer
        .add_index_by_sql());
    assert!(!validated("").unwrap().tikv_importer.add_index_by_sql());
    assert!(!validated("add-index-by-sql = false")
        .unwrap()
        .tikv_importer
        .add_index_by_sql());
    let msg = validated("add-index-by-sql = true")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("tikv-importer.add-index-by-sql") && msg.contains("local"),
        "{msg}"
    );
}

/// Regression: a negative `max-error` was accepted (and ignored).
#[test]
fn negative_max_error_is_refused_naming_the_key() {
    let e = Config::parse_toml_str("[lightning]\nmax-error = -1\n").unwrap_err();
    assert!(
        e.to_string()
            .contains("lightning.max-error = -1: must be 0 or more"),
        "{e}"
    );
    let e = Config::parse_toml_str("[lightning.max-error]\ncharset = -5\n").unwrap_err();
    assert!(
        e.to_string().contains("lightning.max-error.charset = -5"),
        "{e}"
    );
    assert!(Config::parse_toml_str("[lightning]\nmax-error = 0\n").is_ok());
}

#[test]
fn max_row_size_defaults_to_upstreams_limit_and_has_a_floor() {
    let dir = tempfile::tempdir().unwrap();
    let with = |extra: &str| {
        Config::from_toml_str(&format!(
            "[mydumper]\ndata-source-dir = {:?}\n{extra}[tikv-importer]\nsorted-kv-dir = \"/tmp/sorted\"\n",
            dir.path().to_str().unwrap()
        ))
    };
    assert_eq!(with("").unwrap().mydumper.max_row_size, 120 << 20);
    let cfg = with("max-row-size = \"70MiB\"\n").unwrap();
    assert_eq!(cfg.mydumper.max_row_size, 70 << 20);
    let e = with("max-row-size = 10\n").unwrap_err();
    assert!(e.to_string().contains("mydumper.max-row-size"), "{e}");
}

#[test]
fn a_posted_task_overlays_the_server_file_and_flags_and_runs_no_server() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = a.path().join("server.toml");
    std::fs::write(
        &file,
        "[lightning]\nregion-concurrency = 3\n[tidb]\nhost = \"db1\"\nport = 3307\n",
    )
    .unwrap();
    let (da, db) = (a.path().to_str().unwrap(), b.path().to_str().unwrap());
    let server: Vec<String> = [
        "--server-mode",
        "--status-addr",
        ":0",
        "--config",
        file.to_str().unwrap(),
        "-d",
        da,
        "--backend",
        "tidb",
        "--tidb-user",
        "flag-user",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // The body's own data-source-dir wins over the server's -d; the rest comes from the
    // file and the flags; the task does not inherit server mode.
    let body = format!("[mydumper]\ndata-source-dir = {db:?}\n[tidb]\nport = 4000\n");
    let cfg = Config::for_task(&server, &body).unwrap();
    assert_eq!(cfg.mydumper.data_source_dir, db);
    assert_eq!((cfg.tidb.host.as_str(), cfg.tidb.port), ("db1", 4000));
    assert_eq!(cfg.tidb.user, "flag-user");
    assert_eq!(cfg.lightning.region_concurrency, 3);
    assert!(!cfg.lightning.server_mode && cfg.lightning.status_addr.is_empty());
    // Without it, the flag's.
    let cfg = Config::for_task(&server, "[tidb]\nport = 4000\n").unwrap();
    assert_eq!(cfg.mydumper.data_source_dir, da);

    for body in [
        "[lightning]\nfile = \"/tmp/x.log\"\n",
        "[lightning]\nserver-mode = true\n",
    ] {
        let e = Config::for_task(&server, body).unwrap_err().to_string();
        assert!(e.contains("a task cannot set it"), "{e}");
    }
    let e = Config::for_task(&server, "[tidb]\nport = \n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 2"), "{e}");
    let e = Config::for_task(&server, "[tidb]\nprot = 1\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("tidb.prot"), "{e}");
    let e = Config::for_task(&server, "[lightning]\nregion-concurrency = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("region-concurrency"), "{e}");
}
