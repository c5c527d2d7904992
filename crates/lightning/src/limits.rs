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

    /// True while one more refused row would stay within `max-error`.
    pub(crate) fn has_room(&self) -> bool {
        self.count() < self.max
    }

    /// Records refused rows; an error once more than `max-error` were refused.
    pub(crate) fn refuse(&self, rows: Vec<RejectedRow>) -> Result<(), LightningError> {
        if rows.is_empty() {
            return Ok(());
        }
        crate::metrics::Metrics::inc(
            &crate::metrics::metrics().error_rows,
            "type",
            rows.len() as u64,
        );
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

    /// Resolves once stop was asked (polled every 100 ms: the flag is a plain atomic).
    pub async fn stopped(&self) {
        while !self.is_stopped() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
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

/// `region-concurrency` slots shared by the chunks of every table, handed out so that the
/// table with the fewest chunks in flight goes first: concurrent writers into one table
/// contend inside the server (on MariaDB 10.11 two of them spend about a fifth of the
/// server's CPU spinning on the same B-tree), writers into different tables do not. With one
/// table left, it gets every slot.
pub(crate) struct FairSlots {
    state: Mutex<FairState>,
    freed: tokio::sync::Notify,
}

struct FairState {
    /// `region-concurrency`.
    total: usize,
    free: usize,
    /// Per table: (chunks holding a slot, chunks waiting for one).
    tables: std::collections::HashMap<usize, (usize, usize)>,
}

impl FairState {
    /// Whether a chunk of any table waits for a slot.
    fn waiting(&self) -> bool {
        self.tables.values().any(|t| t.1 > 0)
    }
}

/// A slot of [`FairSlots`], given back on drop.
pub(crate) struct FairSlot<'a> {
    slots: &'a FairSlots,
    table: usize,
}

impl FairSlots {
    pub(crate) fn new(n: usize) -> Self {
        FairSlots {
            state: Mutex::new(FairState {
                total: n.max(1),
                free: n.max(1),
                tables: Default::default(),
            }),
            freed: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FairState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a slot for a chunk of `table` (any number naming the table), until no
    /// table with fewer chunks in flight is waiting too; `Cancelled` once `stop` is set.
    pub(crate) async fn acquire(
        &self,
        table: usize,
        stop: &StopFlag,
    ) -> Result<FairSlot<'_>, LightningError> {
        self.lock().tables.entry(table).or_default().1 += 1;
        let mut waiting = WaitGuard {
            slots: self,
            table,
            armed: true,
        };
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if stop.is_stopped() {
                return Err(LightningError::Cancelled);
            }
            {
                let mut st = self.lock();
                let mine = st.tables.get(&table).map_or(0, |t| t.0);
                let fewest = st
                    .tables
                    .values()
                    .filter(|t| t.1 > 0)
                    .map(|t| t.0)
                    .min()
                    .unwrap_or(mine);
                if st.free > 0 && mine <= fewest {
                    st.free -= 1;
                    let t = st.tables.entry(table).or_default();
                    t.0 += 1;
                    t.1 -= 1;
                    waiting.armed = false;
                    return Ok(FairSlot { slots: self, table });
                }
            }
            // Whoever holds the slots gives them back (on a stop too, as its chunk fails).
            freed.await;
        }
    }

    /// A slot for one more writer of a chunk of `table` that holds one already, only at
    /// the tail of an import: no chunk waits for a slot and fewer than half of them (two at
    /// least) are held. Above that the writers in flight keep the target busy, and more
    /// writers into the same tables only contend (measured on MariaDB: 4 % slower with 8
    /// slots when the spares went up to half, 4 % faster with 2 and 4 slots).
    pub(crate) fn try_spare(&self, table: usize) -> Option<FairSlot<'_>> {
        let mut st = self.lock();
        if st.free == 0 || st.total - st.free >= (st.total / 2).max(2) || st.waiting() {
            return None;
        }
        st.free -= 1;
        st.tables.entry(table).or_default().0 += 1;
        Some(FairSlot { slots: self, table })
    }

    /// Whether a chunk waits for a slot (a spare one should then be given back).
    pub(crate) fn contended(&self) -> bool {
        self.lock().waiting()
    }

    fn forget_if_idle(st: &mut FairState, table: usize) {
        if st.tables.get(&table).is_some_and(|t| *t == (0, 0)) {
            st.tables.remove(&table);
        }
    }
}

/// Takes a cancelled wait (the future dropped, or a stop) off its table's count.
struct WaitGuard<'a> {
    slots: &'a FairSlots,
    table: usize,
    armed: bool,
}

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut st = self.slots.lock();
            if let Some(t) = st.tables.get_mut(&self.table) {
                t.1 -= 1;
            }
            FairSlots::forget_if_idle(&mut st, self.table);
            drop(st);
            // A table that stops waiting may leave another table the fewest in flight.
            self.slots.freed.notify_waiters();
        }
    }
}

impl Drop for FairSlot<'_> {
    fn drop(&mut self) {
        let mut st = self.slots.lock();
        st.free += 1;
        if let Some(t) = st.tables.get_mut(&self.table) {
            t.0 -= 1;
        }
        FairSlots::forget_if_idle(&mut st, self.table);
        drop(st);
        self.slots.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// Polls `f` once: `Some` if it finished.
    fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        match std::pin::Pin::new(f).poll(&mut cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        }
    }

    #[test]
    fn a_freed_slot_goes_to_the_table_with_fewest_in_flight() {
        let slots = FairSlots::new(2);
        let stop = StopFlag::default();
        let mut a1 = Box::pin(slots.acquire(1, &stop));
        let mut a2 = Box::pin(slots.acquire(1, &stop));
        let held_a1 = poll_once(&mut a1).unwrap().unwrap();
        let held_a2 = poll_once(&mut a2).unwrap().unwrap();
        // Both slots are table 1's; a third chunk of it and one of table 2 wait.
        let mut a3 = Box::pin(slots.acquire(1, &stop));
        let mut b1 = Box::pin(slots.acquire(2, &stop));
        assert!(poll_once(&mut a3).is_none());
        assert!(poll_once(&mut b1).is_none());
        drop(held_a1);
        // Table 1 still has one in flight, table 2 none: table 2 goes first.
        assert!(poll_once(&mut a3).is_none());
        let held_b1 = poll_once(&mut b1).unwrap().unwrap();
        drop(held_a2);
        let held_a3 = poll_once(&mut a3).unwrap().unwrap();
        drop((held_b1, held_a3));
        assert!(slots.lock().tables.is_empty());
        assert_eq!(slots.lock().free, 2);
    }

    #[test]
    fn one_table_alone_gets_every_slot_and_a_stop_cancels_the_waiters() {
        let slots = FairSlots::new(2);
        let stop = StopFlag::default();
        let mut a1 = Box::pin(slots.acquire(7, &stop));
        let mut a2 = Box::pin(slots.acquire(7, &stop));
        let mut a3 = Box::pin(slots.acquire(7, &stop));
        let held = (
            poll_once(&mut a1).unwrap().unwrap(),
            poll_once(&mut a2).unwrap().unwrap(),
        );
        assert!(poll_once(&mut a3).is_none());
        stop.stop();
        drop(held);
        assert!(matches!(
            poll_once(&mut a3),
            Some(Err(LightningError::Cancelled))
        ));
        drop(a3);
        assert!(slots.lock().tables.is_empty());
    }

    #[test]
    fn a_spare_slot_is_only_given_while_no_chunk_waits() {
        let slots = FairSlots::new(4);
        let stop = StopFlag::default();
        let mut a1 = Box::pin(slots.acquire(1, &stop));
        let held_a1 = poll_once(&mut a1).unwrap().unwrap();
        let spare = slots
            .try_spare(1)
            .expect("three slots free, nobody waiting");
        assert!(slots.try_spare(1).is_none(), "two held: not the tail");
        assert!(!slots.contended());
        let mut b1 = Box::pin(slots.acquire(2, &stop));
        let mut b2 = Box::pin(slots.acquire(2, &stop));
        let held_b = (
            poll_once(&mut b1).unwrap().unwrap(),
            poll_once(&mut b2).unwrap().unwrap(),
        );
        // Every slot is taken: a chunk of table 3 waits, and no spare is given.
        let mut c1 = Box::pin(slots.acquire(3, &stop));
        assert!(poll_once(&mut c1).is_none());
        assert!(slots.contended());
        drop(spare);
        let held_c1 = poll_once(&mut c1).unwrap().unwrap();
        assert!(slots.try_spare(3).is_none(), "all four slots are held");
        drop(held_b);
        assert!(!slots.contended());
        assert!(slots.try_spare(3).is_none(), "two held");
        drop(held_a1);
        let spare_c = slots.try_spare(3).expect("one held, three free");
        drop(spare_c);
        drop(held_c1);
        assert!(slots.lock().tables.is_empty());
        assert_eq!(slots.lock().free, 4);
    }

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
