//! Shared server state: the shop, tokens, the rate limiter, faults and counters. Every lock is a std
//! mutex held only for in-memory work, never across an await.
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use crate::clock::Clock;
use crate::config::{FaultSettings, SandboxConfig};
use crate::shop::Shop;
use crate::webhook::WebhookState;

pub(crate) struct AppState {
    pub cfg: SandboxConfig,
    pub clock: Arc<dyn Clock>,
    /// Where `doc_url`s point: the API port's base URL, or the document host's own when it has one.
    pub document_base_url: String,
    pub shop: Mutex<Shop>,
    pub tokens: Mutex<Tokens>,
    pub faults: Mutex<FaultSettings>,
    pub fault_rng: Mutex<fastrand::Rng>,
    pub limiter: Mutex<RateLimiter>,
    pub stats: Mutex<Counters>,
    pub webhooks: Mutex<WebhookState>,
    pub http: reqwest::Client,
    pub request_seq: std::sync::atomic::AtomicU64,
}

/// Locks a mutex, recovering the data if a previous holder panicked: the sandbox's state stays usable
/// (every mutation is a small, self-contained step), and a test should see the real failure, not a
/// poisoned-lock cascade.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Moves the shop to the clock's now and returns the locked shop.
    pub fn shop_now(&self) -> MutexGuard<'_, Shop> {
        let now = self.now_ms();
        let mut shop = lock(&self.shop);
        shop.advance(now);
        shop
    }

    /// The seller revokes the app: every token stops working (105001) and a type-6 webhook is queued.
    pub fn deauthorize(&self) {
        {
            let mut t = lock(&self.tokens);
            t.access.clear();
            t.refresh.clear();
        }
        self.shop_now().notify(
            6,
            serde_json::json!({"message": format!("seller {} deauthorized the app", self.cfg.seller_name)}),
        );
    }

    pub fn request_id(&self) -> String {
        let n = self
            .request_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("2026{:016X}{:08}", self.cfg.seed, n)
    }
}

/// Issued tokens and single-use authorization codes. Expiry times are Unix seconds.
pub(crate) struct Tokens {
    pub access: HashMap<String, i64>,
    pub refresh: HashMap<String, i64>,
    /// code -> expires at (Unix s).
    pub codes: HashMap<String, i64>,
    pub rng: fastrand::Rng,
}

impl Tokens {
    pub fn new(cfg: &SandboxConfig, now_secs: i64) -> Self {
        let mut access = HashMap::new();
        access.insert(
            cfg.access_token.clone(),
            now_secs + cfg.access_token_ttl_secs,
        );
        let mut refresh = HashMap::new();
        refresh.insert(
            cfg.refresh_token.clone(),
            now_secs + cfg.refresh_token_ttl_secs,
        );
        Self {
            access,
            refresh,
            codes: HashMap::new(),
            rng: fastrand::Rng::with_seed(cfg.seed ^ 0x70_6b_65_6e),
        }
    }

    pub fn fresh(&mut self, prefix: &str) -> String {
        let body: String = (0..40)
            .map(|_| {
                let n = self.rng.u8(0..62);
                match n {
                    0..=9 => char::from(b'0' + n),
                    10..=35 => char::from(b'a' + n - 10),
                    _ => char::from(b'A' + n - 36),
                }
            })
            .collect();
        format!("{prefix}{body}")
    }
}

/// Sliding one-second window per key; rejected calls do not count against the window.
pub(crate) struct RateLimiter {
    qps: u32,
    windows: HashMap<String, VecDeque<i64>>,
}

impl RateLimiter {
    pub fn new(qps: u32) -> Self {
        Self {
            qps,
            windows: HashMap::new(),
        }
    }

    /// True if the call is admitted.
    pub fn admit(&mut self, key: &str, now_ms: i64) -> bool {
        let w = self.windows.entry(key.to_owned()).or_default();
        while w.front().is_some_and(|t| *t <= now_ms - 1000) {
            w.pop_front();
        }
        if w.len() >= self.qps as usize {
            return false;
        }
        w.push_back(now_ms);
        true
    }
}

/// Counters the admin endpoint reports.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Counters {
    pub calls: BTreeMap<String, u64>,
    pub responses_by_code: BTreeMap<String, u64>,
    pub rejected_signatures: u64,
    pub rejected_timestamps: u64,
    pub rejected_tokens: u64,
    pub rate_limited: u64,
    pub http_429: u64,
    pub faults_injected: BTreeMap<String, u64>,
    pub tokens_issued: u64,
    pub token_refreshes: u64,
    pub labels_served: u64,
    /// Total latency the faults added (so a test can check the distribution without timing).
    pub latency_added_ms: u64,
}

impl Counters {
    pub fn fault(&mut self, kind: &str) {
        *self.faults_injected.entry(kind.to_owned()).or_default() += 1;
    }
}

/// What `GET /sandbox/admin/stats` returns.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Stats {
    pub now_ms: i64,
    pub calls: BTreeMap<String, u64>,
    pub responses_by_code: BTreeMap<String, u64>,
    pub rejected_signatures: u64,
    pub rejected_timestamps: u64,
    pub rejected_tokens: u64,
    pub rate_limited: u64,
    pub http_429: u64,
    pub faults_injected: BTreeMap<String, u64>,
    pub tokens_issued: u64,
    pub token_refreshes: u64,
    pub labels_served: u64,
    pub latency_added_ms: u64,
    pub ship_calls: BTreeMap<String, u64>,
    pub duplicate_ships: u64,
    pub orders_by_status: BTreeMap<String, u64>,
    pub webhooks: WebhookStats,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct WebhookStats {
    pub queued: u64,
    pub attempts: u64,
    pub acked: u64,
    pub failed_attempts: u64,
    pub dropped: u64,
    pub pending: u64,
}

impl AppState {
    pub fn stats(&self) -> Stats {
        let now_ms = self.now_ms();
        let (ship_calls, duplicate_ships, orders_by_status) = {
            let shop = self.shop_now();
            (
                shop.ship_calls.clone(),
                shop.duplicate_ships,
                shop.orders_by_status()
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        };
        let webhooks = lock(&self.webhooks).stats();
        let c = lock(&self.stats).clone();
        Stats {
            now_ms,
            calls: c.calls,
            responses_by_code: c.responses_by_code,
            rejected_signatures: c.rejected_signatures,
            rejected_timestamps: c.rejected_timestamps,
            rejected_tokens: c.rejected_tokens,
            rate_limited: c.rate_limited,
            http_429: c.http_429,
            faults_injected: c.faults_injected,
            tokens_issued: c.tokens_issued,
            token_refreshes: c.token_refreshes,
            labels_served: c.labels_served,
            latency_added_ms: c.latency_added_ms,
            ship_calls,
            duplicate_ships,
            orders_by_status,
            webhooks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_admits_qps_per_second_per_key() {
        let mut l = RateLimiter::new(50);
        for _ in 0..50 {
            assert!(l.admit("a", 10_000));
        }
        assert!(!l.admit("a", 10_999), "51st call within one second");
        assert!(l.admit("b", 10_999), "other key has its own budget");
        assert!(l.admit("a", 11_000), "window slid past the first calls");
    }
}
