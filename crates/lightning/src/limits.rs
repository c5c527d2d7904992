//! Shared limits and the stop flag of a running import.

use crate::LightningError;
use lightning_backend::RejectedRow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use tokio::task::JoinSet;

/// `max-error`: rows refused (by the target, or by the encoder on the local backend) are
/// logged and counted; one more than the limit fails the import.
pub(crate) struct ErrorBudget {
    max: u64,
    state: Mutex<(u64, Option<RejectedRow>)>,
}

impl ErrorBudget {
    pub(crate) fn new(max: u64) -> Self {
        ErrorBudget {
            max,
            state: Mutex::new((0, None)),
        }
    }

    /// Rows refused so far.
    pub(crate) fn count(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Records refused rows; an error once more than `max-error` were refused.
    pub(crate) fn refuse(&self, rows: Vec<RejectedRow>) -> Result<(), LightningError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for row in rows {
            tracing::warn!(file = %row.file, end_offset = row.end_offset, code = row.code, reason = %row.message, "row refused");
            st.0 += 1;
            st.1.get_or_insert(row);
        }
        if st.0 > self.max {
            let first =
                st.1.clone()
                    .map(Box::new)
                    .ok_or_else(|| LightningError::Internal("no refused row".into()))?;
            return Err(LightningError::TooManyErrors {
                count: st.0,
                limit: self.max,
                first,
            });
        }
        Ok(())
    }
}

/// A counting semaphore for blocking threads (bounds concurrent file reads: `io-concurrency`).
pub(crate) struct BlockingSemaphore {
    free: Mutex<usize>,
    cv: Condvar,
}

impl BlockingSemaphore {
    pub(crate) fn new(n: usize) -> Self {
        BlockingSemaphore {
            free: Mutex::new(n.max(1)),
            cv: Condvar::new(),
        }
    }

    /// Runs `f` while holding one permit.
    pub(crate) fn with<T>(&self, f: impl FnOnce() -> T) -> T {
        {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            while *free == 0 {
                free = self.cv.wait(free).unwrap_or_else(|e| e.into_inner());
            }
            *free -= 1;
        }
        let out = f();
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cv.notify_one();
        out
    }
}

/// Waits for a permit of `sem` (`region-concurrency` and the like); `Cancelled` when the
/// import was asked to stop meanwhile.
pub(crate) async fn permit<'a>(
    sem: &'a tokio::sync::Semaphore,
    stop: &StopFlag,
) -> Result<tokio::sync::SemaphorePermit<'a>, LightningError> {
    let p = sem.acquire().await.map_err(|_| LightningError::Cancelled)?;
    if stop.is_stopped() {
        return Err(LightningError::Cancelled);
    }
    Ok(p)
}

/// Set once to stop every reader and writer of the import.
#[derive(Default)]
pub struct StopFlag(AtomicBool);

impl StopFlag {
    /// Asks the import to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// True once stop was asked.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Waits for every task of `set`, handing each success to `on_ok`. The first failure asks
/// the whole import to stop; the error returned is the first real one (`Cancelled` only
/// when nothing else went wrong), since the others are usually its consequence.
pub(crate) async fn join_all<T: 'static>(
    set: &mut JoinSet<Result<T, LightningError>>,
    stop: &StopFlag,
    mut on_ok: impl FnMut(T),
) -> Option<LightningError> {
    let mut first_err: Option<LightningError> = None;
    while let Some(joined) = set.join_next().await {
        match joined
            .map_err(|e| LightningError::Internal(e.to_string()))
            .and_then(|r| r)
        {
            Ok(t) => on_ok(t),
            Err(e) => {
                stop.stop();
                keep_cause(&mut first_err, e);
            }
        }
    }
    first_err
}

/// Keeps `e` as the failure to report unless one is kept already (`Cancelled` gives way:
/// it is the consequence of another failure).
pub(crate) fn keep_cause(first: &mut Option<LightningError>, e: LightningError) {
    if first
        .as_ref()
        .is_none_or(|f| matches!(f, LightningError::Cancelled))
    {
        *first = Some(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn semaphore_never_lets_more_than_n_in() {
        let sem = Arc::new(BlockingSemaphore::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (sem, inside, peak) = (sem.clone(), inside.clone(), peak.clone());
                std::thread::spawn(move || {
                    sem.with(|| {
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
