//! Shared by the conformance suite (`conformance.rs`), which runs TiDB Lightning's own
//! integration-test cases from `shared/conformance/lightning-tests` through the real binary
//! on two backends: `tidb` against a private MariaDB (its `Case` in `conformance_tidb/`)
//! and `local` against the simulated cluster (its `Case` in `conformance_sim/`). Here: the
//! corpus and binary paths, what one run did ([`Outcome`]), the config each run gets (the
//! case's TOML, then extra TOML, then the backend's harness keys, deep-merged) and the SQL
//! checks, over the [`Target`] each backend's `Case` implements, so that a case both
//! backends run is written once in `conformance.rs` and branches on [`Target::backend`]
//! where they differ. (`seam.rs` uses [`merge`] too.)
#![allow(dead_code)]

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/conformance/lightning-tests"
);
pub const BIN: &str = env!("CARGO_BIN_EXE_tidb-lightning");

/// What one run of the binary did.
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub log: String,
}

impl Outcome {
    pub fn describe(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}\n--- log (tail)\n{}",
            self.code,
            self.stdout,
            self.stderr,
            tail(&self.log, 40)
        )
    }

    #[track_caller]
    pub fn assert_ok(&self) {
        assert_eq!(self.code, Some(0), "expected success\n{}", self.describe());
    }

    /// A non-zero exit whose stderr or log contains every fragment.
    #[track_caller]
    pub fn assert_failed_with(&self, fragments: &[&str]) {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected failure\n{}",
            self.describe()
        );
        for f in fragments {
            assert!(
                self.stderr.contains(f) || self.log.contains(f),
                "missing {f:?} in stderr/log\n{}",
                self.describe()
            );
        }
    }
}

/// The last `n` lines of `s`.
pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Deep-merges `over` into `base`: tables merge key by key, anything else is replaced.
pub fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Runs the binary on a config file as it is, with `args`; `log` is the log file it writes.
pub fn exec(cfg: &Path, log: &Path, args: &[&str]) -> Outcome {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(cfg)
        .args(args)
        .output()
        .expect("running tidb-lightning");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        log: std::fs::read_to_string(log).unwrap_or_default(),
    }
}

/// One case's target server, as each backend's `Case` provides it; the runs and checks are
/// the same for every target.
pub trait Target {
    /// The case's folder name in the corpus.
    fn case_name(&self) -> &str;

    /// The backend the case imports with: `"tidb"` (logical, against MariaDB) or `"local"`
    /// (physical, against the simulated cluster); a shared case branches on it where the
    /// two differ.
    fn backend(&self) -> &'static str;

    /// The `Case` itself, for a shared case's backend-specific branch to reach what only
    /// that backend's target has (its server's ports, the simulated cluster's allocators).
    fn as_any(&self) -> &dyn std::any::Any;

    /// The rows of `q` as `mysql -N -B` prints them (a trailing newline may follow).
    fn sql(&self, q: &str) -> String;

    /// The case's temp dir, for configs, logs and anything else a run needs.
    fn tmp(&self) -> &Path;

    /// How many runs the case has made (numbers each run's files).
    fn runs(&self) -> &Cell<u32>;

    /// The backend's harness TOML for run `n`, logging to `log`, on `data_dir`; its keys win
    /// over the case's config.
    fn harness(&self, n: u32, log: &Path, data_dir: &Path) -> String;

    /// The case's folder in the corpus.
    fn dir(&self) -> PathBuf {
        Path::new(CASES).join(self.case_name())
    }

    /// Runs the binary with the case's `config` (a file in the case folder, or none) merged
    /// with `extra` TOML and the harness keys, on the case's `data` folder.
    fn run(&self, config: Option<&str>, data: &str, extra: &str, args: &[&str]) -> Outcome {
        let data_dir = self.dir().join(data);
        self.run_on(config, &data_dir, extra, args)
    }

    /// [`Target::run`] on any data folder.
    fn run_on(&self, config: Option<&str>, data_dir: &Path, extra: &str, args: &[&str]) -> Outcome {
        let n = self.runs().get() + 1;
        self.runs().set(n);
        let log = self.tmp().join(format!("lightning.{n}.log"));
        let mut table = match config {
            Some(c) => {
                let text = std::fs::read_to_string(self.dir().join(c)).expect("case config");
                text.parse::<toml::Table>().expect("case config is TOML")
            }
            None => toml::Table::new(),
        };
        merge(
            &mut table,
            extra.parse::<toml::Table>().expect("extra TOML"),
        );
        merge(
            &mut table,
            self.harness(n, &log, data_dir)
                .parse::<toml::Table>()
                .expect("harness TOML"),
        );
        let cfg = self.tmp().join(format!("config.{n}.toml"));
        std::fs::write(&cfg, toml::to_string(&table).expect("serialize")).expect("write config");
        exec(&cfg, &log, args)
    }

    /// A copy of the case's `data` folder in the temp dir, with each `(file, text)` of
    /// `rewrite` written over that file.
    fn data_copy(&self, data: &str, rewrite: &[(&str, &str)]) -> PathBuf {
        let to = self.tmp().join(format!("{data}.copy"));
        let _ = std::fs::remove_dir_all(&to);
        std::fs::create_dir_all(&to).expect("create the copy");
        for e in std::fs::read_dir(self.dir().join(data)).expect("read the case data") {
            let e = e.expect("dir entry");
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy a data file");
        }
        for (file, text) in rewrite {
            std::fs::write(to.join(file), text).expect("rewrite a data file");
        }
        to
    }

    /// Each query's output (trailing newlines trimmed) must equal the expectation.
    #[track_caller]
    fn check(&self, checks: &[(&str, &str)]) {
        for (q, want) in checks {
            let got = self.sql(q);
            assert_eq!(
                got.trim_end_matches('\n'),
                *want,
                "[{}] {q}",
                self.case_name()
            );
        }
    }
}

/// The black-white-list case's `firstdb.second.1.sql` holds `create table `second` values
/// (909);`, which upstream's lexer loads as a row (it reads any words before `VALUES` as
/// the table name). A data file here holds only INSERT/REPLACE statements, so the fixture
/// is refused, naming the file and offset; the filter checks run on a copy whose file says
/// `INSERT INTO`. Returns that copy.
pub fn black_white_list_data<T: Target + ?Sized>(c: &T) -> PathBuf {
    c.run(Some("firstdb-only.toml"), "data", "", &[])
        .assert_failed_with(&[
        "firstdb.second.1.sql: at byte 0 (line 1): 'create' is not an INSERT or REPLACE statement",
    ]);
    c.data_copy(
        "data",
        &[(
            "firstdb.second.1.sql",
            "INSERT INTO `second` VALUES (909);\n",
        )],
    )
}

/// The tables of `db`, one per line, by name.
pub fn tables_of<T: Target + ?Sized>(t: &T, db: &str) -> String {
    t.sql(&format!(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = '{db}' \
         ORDER BY table_name"
    ))
    .trim_end()
    .to_string()
}

/// Which of `names` exist as databases, one per line, by name.
pub fn databases<T: Target + ?Sized>(t: &T, names: &[&str]) -> String {
    let list = names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(",");
    t.sql(&format!(
        "SELECT schema_name FROM information_schema.schemata WHERE schema_name IN ({list}) \
         ORDER BY schema_name"
    ))
    .trim_end()
    .to_string()
}
