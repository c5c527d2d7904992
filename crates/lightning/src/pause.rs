//! Pausing an import from the status API (`PUT /pause`, `PUT /resume`), as upstream's
//! process-wide pauser: while paused, no chunk starts, no block is read from the source,
//! no statement or KV batch is delivered and no region job is sent. Whatever is in flight
//! finishes its current step; a stop (signal, `DELETE /tasks/{id}`) ends the wait.

use crate::limits::StopFlag;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The process-wide pause switch.
pub struct Pauser {
    /// Mirrors `paused` for the lock-free check on every block and batch.
    fast: AtomicBool,
    paused: Mutex<bool>,
    changed: Condvar,
    tx: watch::Sender<bool>,
}

/// How often a paused wait looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(100);

impl Pauser {
    fn new() -> Self {
        Pauser {
            fast: AtomicBool::new(false),
            paused: Mutex::new(false),
            changed: Condvar::new(),
            tx: watch::channel(false).0,
        }
    }

    /// Is the import paused?
    pub fn is_paused(&self) -> bool {
        *self.paused.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pauses (idempotent).
    pub fn pause(&self) {
        self.set(true);
    }

    /// Resumes (idempotent).
    pub fn resume(&self) {
        self.set(false);
    }

    fn set(&self, v: bool) {
        *self.paused.lock().unwrap_or_else(|e| e.into_inner()) = v;
        self.fast.store(v, Ordering::SeqCst);
        self.changed.notify_all();
        self.tx.send_replace(v);
    }

    /// On a blocking thread: returns once not paused, or when `stop` is set.
    pub(crate) fn wait_blocking(&self, stop: &StopFlag) {
        if !self.fast.load(Ordering::Relaxed) {
            return;
        }
        let mut p = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        while *p && !stop.is_stopped() {
            p = match self.changed.wait_timeout(p, STOP_POLL) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// On the runtime: returns once not paused, or when `stop` is set; true when it
    /// waited.
    pub(crate) async fn wait(&self, stop: &StopFlag) -> bool {
        if !self.fast.load(Ordering::Relaxed) {
            return false;
        }
        let mut rx = self.tx.subscribe();
        let mut waited = false;
        while *rx.borrow_and_update() && !stop.is_stopped() {
            waited = true;
            let _ = tokio::time::timeout(STOP_POLL, rx.changed()).await;
        }
        waited
    }
}

static PAUSER: std::sync::LazyLock<Pauser> = std::sync::LazyLock::new(Pauser::new);

/// The process's pause switch.
pub fn pauser() -> &'static Pauser {
    &PAUSER
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn waits_hold_while_paused_and_end_on_resume_or_stop() {
        let p = Arc::new(Pauser::new());
        let stop = Arc::new(StopFlag::default());
        p.pause();
        let (p2, s2) = (p.clone(), stop.clone());
        let blocking = std::thread::spawn(move || p2.wait_blocking(&s2));
        let (p3, s3) = (p.clone(), stop.clone());
        let waiting = tokio::spawn(async move { p3.wait(&s3).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!blocking.is_finished() && !waiting.is_finished());
        p.resume();
        waiting.await.unwrap();
        blocking.join().unwrap();

        p.pause();
        let (p4, s4) = (p.clone(), stop.clone());
        let waiting = tokio::spawn(async move { p4.wait(&s4).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished());
        stop.stop();
        waiting.await.unwrap();
        assert!(p.is_paused());
    }
}
