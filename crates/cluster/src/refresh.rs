//! A background task that re-asserts some cluster state every period until stopped:
//! the import mode (`[cron] switch-mode`) and scheduler pauses (TTL / 3).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

/// A running refresher; [`Refresher::stop`] (or drop) ends it.
pub(crate) struct Refresher {
    stopper: Stopper,
    task: Option<JoinHandle<()>>,
}

/// Stops a refresher from elsewhere (e.g. a signal handler task).
#[derive(Clone)]
pub(crate) struct Stopper {
    stop: Arc<watch::Sender<bool>>,
    /// Held by each tick, so stopping can wait for a tick in progress.
    gate: Arc<Mutex<()>>,
}

impl Stopper {
    /// Stops the ticks; once this returns, no tick runs or will run.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        drop(self.gate.lock().await);
    }
}

impl Refresher {
    /// Runs `tick` every `period` (first after one period) on the current runtime.
    pub fn spawn<F, Fut>(period: Duration, mut tick: F) -> Refresher
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, mut rx) = watch::channel(false);
        let gate = Arc::new(Mutex::new(()));
        let period = period.max(Duration::from_millis(10));
        let g = gate.clone();
        let task = tokio::spawn(async move {
            let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    r = rx.changed() => {
                        let stopped = r.is_err() || *rx.borrow_and_update();
                        if stopped {
                            return;
                        }
                    }
                    _ = timer.tick() => {
                        let _held = g.lock().await;
                        let stopped = *rx.borrow();
                        if stopped {
                            return;
                        }
                        tick().await;
                    }
                }
            }
        });
        Refresher {
            stopper: Stopper {
                stop: Arc::new(stop),
                gate,
            },
            task: Some(task),
        }
    }

    /// A handle that stops the ticks from elsewhere.
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Stops the task and waits until it has ended (a tick in progress finishes first).
    pub async fn stop(mut self) {
        self.stopper.stop().await;
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        let _ = self.stopper.stop.send(true);
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// Runs `undo` on the current tokio runtime, if any, without waiting: the best a
/// `Drop` can do. A runtime that is shutting down may not run it; the cluster-side
/// TTLs are what makes that safe.
pub(crate) fn spawn_undo<Fut>(what: &'static str, undo: Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(h) => drop(h.spawn(undo)),
        Err(_) => tracing::warn!(
            what,
            "dropped outside a tokio runtime; relying on the cluster's TTL"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn ticks_until_stopped() {
        let n = Arc::new(AtomicU32::new(0));
        let m = n.clone();
        let r = Refresher::spawn(Duration::from_millis(20), move || {
            let m = m.clone();
            async move {
                m.fetch_add(1, Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_millis(110)).await;
        r.stop().await;
        let seen = n.load(Ordering::SeqCst);
        assert!((3..=6).contains(&seen), "{seen} ticks");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(n.load(Ordering::SeqCst), seen, "no tick after stop");
    }
}
