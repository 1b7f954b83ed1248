//! Sandbox configuration: credentials, the shop's behaviour, and fault settings.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::SandboxError;

/// Everything a sandbox run needs. `Default` gives a quiet, fault-free shop with random-looking but
/// seed-derived credentials, so two runs with the same seed behave identically.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxConfig {
    pub app_key: String,
    pub app_secret: String,
    pub shop_cipher: String,
    pub shop_id: String,
    pub shop_code: String,
    pub shop_name: String,
    pub shop_region: String,
    pub seller_name: String,
    pub open_id: String,
    pub access_token: String,
    pub refresh_token: String,
    /// Access token lifetime; TikTok's is about 7 days.
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    /// Orders present at start.
    pub initial_orders: usize,
    /// The initial orders were created over this many seconds before the start (two days by default:
    /// a shop that was left alone; the demo uses seconds: a burst that just came in).
    #[serde(default = "default_initial_span")]
    pub initial_orders_span_secs: i64,
    /// Mean new orders per minute (0 = no generator).
    pub orders_per_minute: f64,
    /// Chance that an arrival is a burst instead of one order.
    pub burst_probability: f64,
    /// Orders in a burst.
    pub burst_size: usize,
    /// Share of new orders that start UNPAID.
    pub unpaid_share: f64,
    /// Chance an UNPAID order lapses (cancelled) instead of paying.
    pub unpaid_lapse_probability: f64,
    /// An UNPAID order resolves (pays or lapses) uniformly within this time.
    pub unpaid_resolve_secs: i64,
    /// Share of paid orders that are held first.
    pub on_hold_share: f64,
    /// How long an ON_HOLD order stays held (TikTok: about an hour).
    pub on_hold_secs: i64,
    /// Chance that a paid, unshipped order is cancelled by the buyer.
    pub cancel_probability: f64,
    /// Chance that the buyer edits the address of a paid, unshipped order (webhook type 3).
    pub address_update_probability: f64,
    /// A buyer cancellation (or address edit) lands uniformly within this time after payment.
    pub cancel_window_secs: i64,
    /// Share of orders with TIKTOK shipping (the rest are SELLER).
    pub tiktok_shipping_share: f64,
    /// Time between package status steps after ship.
    pub package_step_secs: i64,
    /// Maximum line items per order (at least 1).
    pub max_line_items: usize,
    /// Where signed webhook pushes go (loopback http only); None = no pushes.
    pub webhook_url: Option<String>,
    /// TikTok's retry schedule (2 min, 30 min, 3 h, 12 h) is divided by this factor.
    pub webhook_time_compression: f64,
    /// Requests per second per API per (app, shop).
    pub rate_limit_qps: u32,
    /// Serve label documents from a host of their own (a second loopback port), as TikTok does:
    /// `doc_url` then points there and the document host can be taken offline apart from the API
    /// (`FaultSettings::document_outages`). Off: documents come from the API port.
    #[serde(default)]
    pub separate_document_host: bool,
    /// Seed for every random choice (order contents, ids, faults).
    pub seed: u64,
    pub faults: FaultSettings,
}

fn default_initial_span() -> i64 {
    2 * 86_400
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self::with_seed(42)
    }
}

impl SandboxConfig {
    /// Defaults whose credentials derive from `seed`.
    pub fn with_seed(seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed_c0de);
        let mut word = |len: usize| -> String {
            (0..len)
                .map(|_| {
                    let n = rng.u8(0..36);
                    char::from_digit(u32::from(n), 36).unwrap_or('x')
                })
                .collect()
        };
        Self {
            app_key: format!("sbx{}", word(10)),
            app_secret: word(40),
            shop_cipher: format!("ROW_sbx{}", word(24)),
            shop_id: "7494726673780148744".to_owned(),
            shop_code: "GBSBX0001".to_owned(),
            shop_name: "CreatorFlow Demo Shop".to_owned(),
            shop_region: "GB".to_owned(),
            seller_name: "demo_creator".to_owned(),
            open_id: format!("sbx-open-{}", word(12)),
            access_token: format!("ROW_at_{}", word(32)),
            refresh_token: format!("ROW_rt_{}", word(32)),
            access_token_ttl_secs: 7 * 24 * 3600,
            refresh_token_ttl_secs: 365 * 24 * 3600,
            initial_orders: 120,
            initial_orders_span_secs: default_initial_span(),
            orders_per_minute: 0.0,
            burst_probability: 0.1,
            burst_size: 20,
            unpaid_share: 0.15,
            unpaid_lapse_probability: 0.3,
            unpaid_resolve_secs: 30 * 60,
            on_hold_share: 0.2,
            on_hold_secs: 3600,
            cancel_probability: 0.05,
            cancel_window_secs: 2 * 3600,
            address_update_probability: 0.02,
            tiktok_shipping_share: 0.7,
            package_step_secs: 6 * 3600,
            max_line_items: 4,
            webhook_url: None,
            webhook_time_compression: 60.0,
            rate_limit_qps: 50,
            separate_document_host: false,
            seed,
            faults: FaultSettings::default(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), SandboxError> {
        let probs = [
            ("burst_probability", self.burst_probability),
            ("unpaid_share", self.unpaid_share),
            ("unpaid_lapse_probability", self.unpaid_lapse_probability),
            ("on_hold_share", self.on_hold_share),
            ("cancel_probability", self.cancel_probability),
            (
                "address_update_probability",
                self.address_update_probability,
            ),
            ("tiktok_shipping_share", self.tiktok_shipping_share),
        ];
        for (field, v) in probs {
            if !(0.0..=1.0).contains(&v) {
                return Err(SandboxError::InvalidConfig {
                    field,
                    reason: format!("{v} is not a probability in [0, 1]"),
                });
            }
        }
        if !self.orders_per_minute.is_finite() || self.orders_per_minute < 0.0 {
            return Err(SandboxError::InvalidConfig {
                field: "orders_per_minute",
                reason: format!("{} is not a rate >= 0", self.orders_per_minute),
            });
        }
        if !self.webhook_time_compression.is_finite() || self.webhook_time_compression < 1.0 {
            return Err(SandboxError::InvalidConfig {
                field: "webhook_time_compression",
                reason: format!("{} is below 1", self.webhook_time_compression),
            });
        }
        if self.rate_limit_qps == 0 {
            return Err(SandboxError::InvalidConfig {
                field: "rate_limit_qps",
                reason: "0 would reject every call".to_owned(),
            });
        }
        for (field, v) in [
            ("app_key", &self.app_key),
            ("app_secret", &self.app_secret),
            ("shop_cipher", &self.shop_cipher),
            ("access_token", &self.access_token),
            ("refresh_token", &self.refresh_token),
        ] {
            if v.is_empty() {
                return Err(SandboxError::InvalidConfig {
                    field,
                    reason: "must not be empty".to_owned(),
                });
            }
        }
        if let Some(url) = &self.webhook_url {
            crate::webhook::check_loopback_url(url)?;
        }
        self.faults.validate()
    }
}

/// Live fault settings. `default` applies to every API endpoint without its own entry in `endpoints`
/// (keyed by endpoint name, e.g. `orders.search`; see `GET /sandbox/admin/stats` for the names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSettings {
    pub default: EndpointFaults,
    pub endpoints: BTreeMap<String, EndpointFaults>,
    /// Every API call in these windows gets 503 with an HTML body, like a load balancer in front of a
    /// dead service.
    pub outages: Vec<Window>,
    /// Every API call in these windows gets HTTP 429 / 36009002.
    pub throttle_storms: Vec<Window>,
    /// Every document download in these windows gets 503 with an HTML body (the document host is
    /// down; the API host is not).
    pub document_outages: Vec<Window>,
}

/// Per-endpoint fault rates (probabilities, drawn from the seeded RNG per call) and added latency.
/// Error and throttle faults are decided BEFORE the handler runs (no side effect); timeout, reset and
/// malformed JSON are applied AFTER it (the side effect happened, the client cannot tell) because that
/// is the case that tests idempotency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointFaults {
    /// HTTP 500 / 36009003.
    pub error_rate: f64,
    /// HTTP 429 / 36009002 on top of the real rate limit.
    pub throttle_rate: f64,
    /// Hold the response for `timeout_ms` (default 30 s, longer than a sane client timeout), then
    /// answer 504 / 36009007.
    pub timeout_rate: f64,
    pub timeout_ms: u64,
    /// Abort the connection mid-response.
    pub reset_rate: f64,
    /// Answer 200 with truncated JSON.
    pub malformed_rate: f64,
    /// Added latency, uniform in [min, max] ms, plus a tail of `tail_ms` with `tail_rate`.
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    pub tail_rate: f64,
    pub tail_ms: u64,
}

impl Default for EndpointFaults {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            throttle_rate: 0.0,
            timeout_rate: 0.0,
            timeout_ms: 30_000,
            reset_rate: 0.0,
            malformed_rate: 0.0,
            latency_min_ms: 0,
            latency_max_ms: 0,
            tail_rate: 0.0,
            tail_ms: 0,
        }
    }
}

/// A time window in sandbox-clock milliseconds since the epoch, `[start_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Window {
    pub fn contains(&self, now_ms: i64) -> bool {
        self.start_ms <= now_ms && now_ms < self.end_ms
    }
}

impl FaultSettings {
    pub fn for_endpoint(&self, name: &str) -> &EndpointFaults {
        self.endpoints.get(name).unwrap_or(&self.default)
    }

    pub fn validate(&self) -> Result<(), SandboxError> {
        self.default.validate("default")?;
        for (name, f) in &self.endpoints {
            f.validate(name)?;
        }
        for w in self.outages.iter().chain(&self.throttle_storms).chain(&self.document_outages) {
            if w.end_ms < w.start_ms {
                return Err(SandboxError::InvalidFault {
                    field: "window".to_owned(),
                    value: format!("{}..{}", w.start_ms, w.end_ms),
                    expected: "end_ms >= start_ms",
                });
            }
        }
        Ok(())
    }
}

impl EndpointFaults {
    fn validate(&self, scope: &str) -> Result<(), SandboxError> {
        for (field, v) in [
            ("error_rate", self.error_rate),
            ("throttle_rate", self.throttle_rate),
            ("timeout_rate", self.timeout_rate),
            ("reset_rate", self.reset_rate),
            ("malformed_rate", self.malformed_rate),
            ("tail_rate", self.tail_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(SandboxError::InvalidFault {
                    field: format!("{scope}.{field}"),
                    value: v.to_string(),
                    expected: "a probability in [0, 1]",
                });
            }
        }
        if self.latency_max_ms < self.latency_min_ms {
            return Err(SandboxError::InvalidFault {
                field: format!("{scope}.latency_max_ms"),
                value: self.latency_max_ms.to_string(),
                expected: "latency_max_ms >= latency_min_ms",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_credentials_and_defaults_validate() {
        let a = SandboxConfig::with_seed(7);
        let b = SandboxConfig::with_seed(7);
        let c = SandboxConfig::with_seed(8);
        assert_eq!(a.app_secret, b.app_secret);
        assert_ne!(a.app_secret, c.app_secret);
        assert!(a.validate().is_ok());
    }

    #[test]
    fn bad_probabilities_are_rejected_with_the_value() {
        let mut c = SandboxConfig::default();
        c.faults.default.error_rate = 1.5;
        let err = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("default.error_rate") && err.contains("1.5"),
            "{err}"
        );
        let c = SandboxConfig {
            cancel_probability: -0.1,
            ..SandboxConfig::default()
        };
        assert!(c.validate().is_err());
        let c = SandboxConfig {
            webhook_url: Some("http://example.com/hook".to_owned()),
            ..SandboxConfig::default()
        };
        assert!(c.validate().is_err());
    }
}
