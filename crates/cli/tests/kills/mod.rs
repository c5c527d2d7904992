//! Shared by the checkpoint tests of both backends (`resume.rs`, `resume_local.rs`):
//! killing an import with SIGKILL at seeded random moments, and running the ctl.
#![allow(dead_code)]

use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

const CTL: &str = env!("CARGO_BIN_EXE_tidb-lightning-ctl");

/// Runs `tidb-lightning-ctl --config <config> <args>`.
pub fn ctl(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(CTL)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("running tidb-lightning-ctl")
}

/// A run's exit status and output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The seeds to run: `default`, or `LIGHTNING_CRASH_SEEDS=n` seeds instead (the longer
/// run `scripts/crash_suite.sh` makes).
pub fn seeds(default: &[u64]) -> Vec<u64> {
    match std::env::var("LIGHTNING_CRASH_SEEDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        Some(n) => (0..n).map(|i| 1000 + i * 7).collect(),
        None => default.to_vec(),
    }
}

/// Prints one suite's figures on a line `scripts/crash_suite.sh` sums.
/// `equal` of `tables` compared tables matched their source.
pub fn report(backend: &str, suite: &str, seeds: usize, kills: usize, equal: usize, tables: usize) {
    eprintln!(
        "CRASH-FIGURES backend={backend} suite={suite} seeds={seeds} kills={kills} tables_equal={equal}/{tables}"
    );
}

/// How many entries of two fingerprints (one per table) are equal.
pub fn equal_tables<T: PartialEq>(got: &[T], want: &[T]) -> usize {
    got.iter().zip(want).filter(|(g, w)| g == w).count()
}

/// xorshift: the kill moments are reproducible from the seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// A kill that lands after a finished run removed its checkpoints (keep-after-success =
/// "remove") but before it exited leaves no checkpoint and full tables: the rerun then
/// refuses to import into them (the local backend any non-empty table, the tidb backend
/// one without a key; every test dump has one). The caller compares the tables with the
/// source, which is what matters.
pub fn finished_before_kill(out: &Output) -> bool {
    !out.status.success()
        && String::from_utf8_lossy(&out.stderr).contains("target tables are not empty")
}

/// Starts `lightning()` up to `kills` times, SIGKILLing each run after a seeded delay of
/// 0 to `max_ms` (from before the config is read on); stops early when a run exits by itself (it must have succeeded,
/// or found the import finished). Returns the kills that landed and whether a run finished.
pub fn run_with_kills(
    lightning: impl FnMut() -> Command,
    seed: u64,
    kills: usize,
    max_ms: u64,
) -> (usize, bool) {
    kill_rounds(lightning, seed, kills, |rng| {
        let delay = Duration::from_millis(rng.below(max_ms));
        let started = Instant::now();
        Box::new(move || started.elapsed() >= delay)
    })
}

/// As [`run_with_kills`], but each kill lands when the run has appended a seeded number of
/// lines (0 to `max_lines`) to its `log`, plus up to 50 ms: the moments follow the
/// import's progress, not the machine's speed; a count of 0 kills it as it starts, before
/// the first checkpoint is saved.
pub fn run_with_kills_at_lines(
    lightning: impl FnMut() -> Command,
    log: &std::path::Path,
    seed: u64,
    kills: usize,
    max_lines: u64,
) -> (usize, bool) {
    let log = log.to_path_buf();
    kill_rounds(lightning, seed, kills, move |rng| {
        let at = rng.below(max_lines);
        let extra = Duration::from_millis(rng.below(50));
        let start = std::fs::metadata(&log).map_or(0, |m| m.len());
        let log = log.clone();
        let mut reached: Option<Instant> = None;
        Box::new(move || match reached {
            Some(t) => t.elapsed() >= extra,
            None => {
                let bytes = std::fs::read(&log).unwrap_or_default();
                let new = &bytes[(start as usize).min(bytes.len())..];
                if new.iter().filter(|b| **b == b'\n').count() as u64 >= at {
                    reached = Some(Instant::now());
                }
                false
            }
        })
    })
}

/// The kill loop: per round, `trigger` (made before the run starts) says when to kill.
fn kill_rounds(
    mut lightning: impl FnMut() -> Command,
    seed: u64,
    kills: usize,
    mut trigger: impl FnMut(&mut Rng) -> Box<dyn FnMut() -> bool>,
) -> (usize, bool) {
    let mut rng = Rng(seed);
    let mut landed = 0;
    for round in 0..kills {
        let mut kill_now = trigger(&mut rng);
        let mut child = lightning()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tidb-lightning");
        let exited: Option<ExitStatus> = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            if kill_now() {
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        match exited {
            Some(st) => {
                let out = child.wait_with_output().unwrap();
                assert!(
                    st.success() || finished_before_kill(&out),
                    "seed {seed} round {round}: run failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                return (landed, true);
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                landed += 1;
            }
        }
    }
    (landed, false)
}
