//! `store-write-bwlimit`: a token bucket per store, shared by every write stream to it.
//!
//! Follows Lightning's storeWriteLimiter (localhelper.go): rate = the limit in bytes per
//! second, burst = limit + 20 %, and a wait larger than the burst is taken in
//! burst-sized steps. Like Go's `rate.Limiter`, a taker reserves its tokens at once
//! (the bucket may go negative) and sleeps until they would have been there.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Per-store write bandwidth limiter; a limit of 0 disables it.
pub struct StoreWriteLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<u64, Bucket>>,
}

impl StoreWriteLimiter {
    /// A limiter of `bytes_per_sec` per store (0 = unlimited).
    pub fn new(bytes_per_sec: u64) -> Self {
        let rate = bytes_per_sec as f64;
        StoreWriteLimiter {
            rate,
            burst: rate + rate / 5.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves `n` tokens on `store`; returns how long to wait for them.
    fn reserve(&self, store: u64, n: f64) -> Duration {
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Duration::ZERO;
        };
        let b = buckets.entry(store).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst) - n;
        b.last = now;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / self.rate)
        }
    }

    /// Waits until `bytes` may be sent to `store`.
    pub async fn wait(&self, store: u64, bytes: u64) {
        if self.rate <= 0.0 {
            return;
        }
        let mut left = bytes as f64;
        while left > 0.0 {
            let step = left.min(self.burst);
            left -= step;
            let d = self.reserve(store, step);
            if !d.is_zero() {
                tokio::time::sleep(d).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_store_gets_its_rate_after_the_burst_and_stores_are_independent() {
        let l = StoreWriteLimiter::new(1000);
        let t = Instant::now();
        l.wait(1, 1200).await; // the burst: free
        assert!(t.elapsed() < Duration::from_millis(1));
        l.wait(1, 2000).await;
        let e = t.elapsed();
        assert!(
            e >= Duration::from_millis(1990) && e <= Duration::from_millis(2010),
            "{e:?}"
        );
        let t2 = Instant::now();
        l.wait(2, 1200).await;
        assert!(
            t2.elapsed() < Duration::from_millis(1),
            "store 2 has its own bucket"
        );
        let u = StoreWriteLimiter::new(0);
        let t3 = Instant::now();
        u.wait(1, u64::MAX).await;
        assert!(t3.elapsed() < Duration::from_millis(1));
    }
}
