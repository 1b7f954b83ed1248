//! Client-side rate limiter: one sliding window per (app_key, shop_cipher, path template). TikTok counts
//! 50 QPS per API per (app, shop); staying under it avoids 429s instead of paying for them.
//! Callers wait for a slot; they never fail here.
//!
//! Why a sliding window and not a token bucket: a bucket of capacity `qps` refilled at `qps`/s lets
//! `qps` calls through at t=0 and then one more every 1/qps s, so any one-second window right after a
//! burst holds up to 2×qps calls. A server that counts a sliding one-second window (as TikTok's gateway
//! and the sandbox do) answers the surplus with 429. Counting the same window here admits exactly what
//! the server admits, minus a small margin for the request's trip to the server.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Added to the one-second window: a call admitted here reaches the server a little later, and two calls
/// admitted exactly one window apart must not land inside one server window. 20 ms costs 2% of the
/// allowed calls and covers loopback and scheduler jitter on a busy machine.
pub const WINDOW_MARGIN: Duration = Duration::from_millis(20);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateKey {
    pub app_key: String,
    pub shop_cipher: String,
    pub path_template: &'static str,
}

/// Sliding windows: at most `calls` admissions in any `window` per key.
#[derive(Debug)]
pub struct RateLimiter {
    qps: f64,
    /// Calls allowed per window: floor(qps), at least 1.
    calls: usize,
    /// `calls / qps` seconds (one second for qps >= 1) plus [`WINDOW_MARGIN`].
    window: Duration,
    windows: Mutex<HashMap<RateKey, VecDeque<Instant>>>,
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
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn qps(&self) -> f64 {
        self.qps
    }

    /// Waits until a call on `key` is allowed. Uses tokio time, so `tokio::time::pause` makes tests exact.
    pub async fn acquire(&self, key: &RateKey) {
        loop {
            let wait = self.try_take(key, Instant::now());
            match wait {
                None => return,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// Takes a slot if the window has one; otherwise returns how long until the oldest call leaves it.
    fn try_take(&self, key: &RateKey, now: Instant) -> Option<Duration> {
        // A poisoned lock only means another task panicked mid-update; the map is still usable.
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let w = windows.entry(key.clone()).or_default();
        while w
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            w.pop_front();
        }
        if w.len() < self.calls {
            w.push_back(now);
            return None;
        }
        // Non-empty here (calls >= 1); wake when the oldest admission leaves the window.
        let oldest = w.front().copied().unwrap_or(now);
        Some((oldest + self.window).saturating_duration_since(now).max(Duration::from_millis(1)))
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
            assert!(span >= Duration::from_secs(1), "calls {i}..={} span {span:?}", i + 50);
        }
        // And it is not over-cautious: 300 calls fit in 5 windows of 1 s + margin.
        assert!(at[299] - at[0] <= 5 * (Duration::from_secs(1) + WINDOW_MARGIN));
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
