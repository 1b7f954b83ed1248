//! Client-side rate limiter: one async token bucket per (app_key, shop_cipher, path template). TikTok
//! counts 50 QPS per API per (app, shop); staying under it avoids 429s instead of paying for them.
//! Callers wait for a token; they never fail here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateKey {
    pub app_key: String,
    pub shop_cipher: String,
    pub path_template: &'static str,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets with capacity = one second's worth of calls (bursts up to the QPS are allowed).
#[derive(Debug)]
pub struct RateLimiter {
    qps: f64,
    buckets: Mutex<HashMap<RateKey, Bucket>>,
}

impl RateLimiter {
    pub fn new(qps: f64) -> Self {
        // A zero or negative QPS would wait forever; treat it as "one call per second".
        let qps = if qps.is_finite() && qps > 0.0 {
            qps
        } else {
            1.0
        };
        Self {
            qps,
            buckets: Mutex::new(HashMap::new()),
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

    /// Takes a token if one is available; otherwise returns how long until one will be.
    fn try_take(&self, key: &RateKey, now: Instant) -> Option<Duration> {
        let capacity = self.qps.max(1.0);
        // A poisoned lock only means another task panicked mid-update; the map is still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.qps).min(capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - b.tokens) / self.qps))
        }
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
        // 20 more calls at 10 QPS take 2 s of (virtual) time.
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

    #[test]
    fn nonsense_qps_is_clamped() {
        assert_eq!(RateLimiter::new(0.0).qps(), 1.0);
        assert_eq!(RateLimiter::new(f64::NAN).qps(), 1.0);
    }
}
