//! Client-side rate limiter: one sliding window per (app_key, shop_cipher, path template). TikTok counts
//! 50 QPS per API per (app, shop); staying under it avoids 429s instead of paying for them.
//! Callers wait for a slot; they never fail here.
//!
//! Why a sliding window and not a token bucket: a bucket of capacity `qps` refilled at `qps`/s lets
//! `qps` calls through at t=0 and then one more every 1/qps s, so any one-second window right after a
//! burst holds up to 2×qps calls. A server that counts a sliding one-second window (as TikTok's gateway
//! and the sandbox do) answers the surplus with 429.
//!
//! Why the window starts when the response arrives: the server stamps a call when it arrives, which the
//! client cannot see; it only knows the arrival lies between sending and the response. Network and
//! scheduling delays differ from call to call (the first burst also opens its connections), so windows
//! counted from the send time overlap on the server. A slot is therefore held while the call is in
//! flight ([`RatePermit`]) and counted for one window from the moment the response came back: the next
//! call on that slot reaches the server at least one window after the previous one did.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Added to the one-second window for the server's millisecond clock and its own processing order.
pub const WINDOW_MARGIN: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateKey {
    pub app_key: String,
    pub shop_cipher: String,
    pub path_template: &'static str,
}

#[derive(Debug, Default)]
struct Slots {
    /// Calls sent whose response has not come back yet.
    in_flight: usize,
    /// When recent calls finished, oldest first.
    finished: VecDeque<Instant>,
}

/// Sliding windows: at most `calls` calls per key in flight or finished within the last `window`.
#[derive(Debug)]
pub struct RateLimiter {
    qps: f64,
    /// Calls allowed per window: floor(qps), at least 1.
    calls: usize,
    /// `calls / qps` seconds (one second for qps >= 1) plus [`WINDOW_MARGIN`].
    window: Duration,
    slots: Mutex<HashMap<RateKey, Slots>>,
    released: Notify,
}

/// A slot taken by one call. Dropping it (when the response has arrived, or the call was abandoned)
/// starts the slot's window.
#[derive(Debug)]
pub struct RatePermit<'a> {
    limiter: &'a RateLimiter,
    key: RateKey,
}

impl Drop for RatePermit<'_> {
    fn drop(&mut self) {
        self.limiter.release(&self.key, Instant::now());
    }
}

impl RateLimiter {
    pub fn new(qps: f64) -> Self {
        // A zero or negative QPS would wait forever; treat it as "one call per second".
        let qps = if qps.is_finite() && qps > 0.0 {
            qps
        } else {
            1.0
        };
        let calls = (qps.floor() as usize).max(1);
        let window = Duration::from_secs_f64(calls as f64 / qps) + WINDOW_MARGIN;
        Self {
            qps,
            calls,
            window,
            slots: Mutex::new(HashMap::new()),
            released: Notify::new(),
        }
    }

    pub fn qps(&self) -> f64 {
        self.qps
    }

    /// Waits until a call on `key` is allowed; hold the permit until the response has arrived. Uses
    /// tokio time, so `tokio::time::pause` makes tests exact.
    pub async fn acquire(&self, key: &RateKey) -> RatePermit<'_> {
        loop {
            // Registered before the check, so a release between the check and the wait is not missed.
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            match self.try_take(key, Instant::now()) {
                Ok(()) => {
                    return RatePermit {
                        limiter: self,
                        key: key.clone(),
                    };
                }
                // Every slot is in flight: wait for one to come back.
                Err(None) => released.await,
                // Wait for the oldest finished call to leave the window (or a release to re-check).
                Err(Some(d)) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = released => {}
                    }
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RateKey, Slots>> {
        // A poisoned lock only means another task panicked mid-update; the map is still usable.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot if one is free; otherwise how long until the oldest finished call leaves the
    /// window (`None` when every slot is in flight).
    fn try_take(&self, key: &RateKey, now: Instant) -> Result<(), Option<Duration>> {
        let mut slots = self.lock();
        let s = slots.entry(key.clone()).or_default();
        while s
            .finished
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            s.finished.pop_front();
        }
        if s.in_flight + s.finished.len() < self.calls {
            s.in_flight += 1;
            return Ok(());
        }
        Err(s.finished.front().map(|oldest| {
            (*oldest + self.window)
                .saturating_duration_since(now)
                .max(Duration::from_millis(1))
        }))
    }

    fn release(&self, key: &RateKey, now: Instant) {
        {
            let mut slots = self.lock();
            if let Some(s) = slots.get_mut(key) {
                s.in_flight = s.in_flight.saturating_sub(1);
                // Completions are stamped under the lock with a monotonic clock, so this stays sorted.
                s.finished.push_back(now);
            }
        }
        self.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(shop: &str, path: &'static str) -> RateKey {
        RateKey {
            app_key: "app".into(),
            shop_cipher: shop.into(),
            path_template: path,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bursts_to_capacity_then_paces_at_qps() {
        let rl = RateLimiter::new(10.0);
        let k = key("s1", "/a");
        let start = Instant::now();
        for _ in 0..10 {
            rl.acquire(&k).await;
        }
        // The burst is free (paused clock: no time passed).
        assert_eq!(Instant::now(), start);
        for _ in 0..20 {
            rl.acquire(&k).await;
        }
        // 20 more calls at 10 QPS take two more windows (2 s plus the margins) of virtual time.
        let took = Instant::now() - start;
        assert!(
            took >= Duration::from_millis(1990) && took <= Duration::from_millis(2100),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_independent() {
        let rl = RateLimiter::new(2.0);
        let start = Instant::now();
        for shop in ["s1", "s2"] {
            for path in ["/a", "/b"] {
                rl.acquire(&key(shop, path)).await;
                rl.acquire(&key(shop, path)).await;
            }
        }
        assert_eq!(Instant::now(), start, "each key has its own burst");
        rl.acquire(&key("s1", "/a")).await;
        assert!(Instant::now() - start >= Duration::from_millis(490));
    }

    #[tokio::test(start_paused = true)]
    async fn no_one_second_window_ever_holds_more_than_qps_calls() {
        // The server counts a sliding one-second window; a token bucket let 2x qps into one window
        // right after a burst. Every qps+1 consecutive admissions must span more than one second.
        let rl = RateLimiter::new(50.0);
        let k = key("s1", "/a");
        let mut at = Vec::new();
        for _ in 0..300 {
            rl.acquire(&k).await;
            at.push(Instant::now());
        }
        for (i, pair) in at.windows(51).enumerate() {
            let span = pair[50] - pair[0];
            assert!(
                span >= Duration::from_secs(1),
                "calls {i}..={} span {span:?}",
                i + 50
            );
        }
        // And it is not over-cautious: 300 calls fit in 5 windows of 1 s + margin.
        assert!(at[299] - at[0] <= 5 * (Duration::from_secs(1) + WINDOW_MARGIN));
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_starts_when_the_response_arrives() {
        let rl = RateLimiter::new(2.0);
        let k = key("s1", "/a");
        let start = Instant::now();
        let a = rl.acquire(&k).await;
        let b = rl.acquire(&k).await;
        // Both calls take 300 ms to answer; the third call waits a window from their completion.
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(a);
        drop(b);
        let _c = rl.acquire(&k).await;
        let waited = Instant::now() - start;
        assert_eq!(
            waited,
            Duration::from_millis(300) + Duration::from_secs(1) + WINDOW_MARGIN
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_waiting_on_in_flight_calls_wakes_on_release() {
        let rl = std::sync::Arc::new(RateLimiter::new(1.0));
        let k = key("s1", "/a");
        let first = rl.acquire(&k).await;
        let (rl2, k2) = (rl.clone(), k.clone());
        let waiter = tokio::spawn(async move {
            let _p = rl2.acquire(&k2).await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let released_at = Instant::now();
        drop(first);
        let got = waiter.await.unwrap();
        assert_eq!(got - released_at, Duration::from_secs(1) + WINDOW_MARGIN);
    }

    #[test]
    fn fractional_qps_spaces_single_calls() {
        let rl = RateLimiter::new(0.5);
        assert_eq!(rl.calls, 1);
        assert_eq!(rl.window, Duration::from_secs(2) + WINDOW_MARGIN);
    }

    #[test]
    fn nonsense_qps_is_clamped() {
        assert_eq!(RateLimiter::new(0.0).qps(), 1.0);
        assert_eq!(RateLimiter::new(f64::NAN).qps(), 1.0);
    }
}
