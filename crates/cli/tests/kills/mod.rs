//! Shared by the crash tests of both backends (`resume.rs`, `resume_local.rs`): killing an
//! import with SIGKILL at seeded random moments.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A run's exit status and output, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
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
/// refuses to import into non-empty tables, as upstream does. The caller compares the
/// tables with the source, which is what matters.
pub fn finished_before_kill(out: &Output) -> bool {
    !out.status.success()
        && String::from_utf8_lossy(&out.stderr).contains("target tables are not empty")
}

/// Starts `lightning()` up to `kills` times, SIGKILLing each run after a seeded delay of
/// 20 ms to `20 + max_ms`; stops early when a run exits by itself (it must have succeeded,
/// or found the import finished). Returns the kills that landed and whether a run finished.
pub fn run_with_kills(
    mut lightning: impl FnMut() -> Command,
    seed: u64,
    kills: usize,
    max_ms: u64,
) -> (usize, bool) {
    let mut rng = Rng(seed);
    let mut landed = 0;
    for round in 0..kills {
        let delay = Duration::from_millis(20 + rng.below(max_ms));
        let mut child = lightning()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tidb-lightning");
        let started = Instant::now();
        let mut exited = None;
        while started.elapsed() < delay {
            if let Some(st) = child.try_wait().unwrap() {
                exited = Some(st);
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
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
