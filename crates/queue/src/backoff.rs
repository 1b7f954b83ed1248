//! Retry policy: how many attempts a kind gets and how long to wait before the next one.

use std::collections::HashMap;
use std::time::Duration;

use crate::clock::duration_ms;

/// Exponential backoff with jitter: `base * attempt^4`, capped at `max_backoff`, plus up to
/// `jitter` (a fraction) of that on top, so a burst of failures does not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base: Duration,
    pub max_backoff: Duration,
    /// Extra random delay as a fraction of the computed backoff, in [0, 1].
    pub jitter: f64,
}

/// Default number of attempts (River's default).
pub const DEFAULT_MAX_ATTEMPTS: i32 = 20;

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base: Duration::from_secs(1),
            max_backoff: Duration::from_secs(24 * 3600),
            jitter: 0.1,
        }
    }
}

impl RetryPolicy {
    /// The unjittered delay after failed attempt number `attempt` (1-based), in milliseconds.
    pub fn base_delay_ms(&self, attempt: i32) -> i64 {
        let a = i64::from(attempt.max(1));
        let factor = a.saturating_mul(a).saturating_mul(a).saturating_mul(a);
        duration_ms(self.base)
            .saturating_mul(factor)
            .min(duration_ms(self.max_backoff))
    }

    /// The delay after failed attempt `attempt`, with jitter, in milliseconds.
    pub fn delay_ms(&self, attempt: i32) -> i64 {
        let base = self.base_delay_ms(attempt);
        let jitter = self.jitter.clamp(0.0, 1.0);
        // f64 is exact well beyond any sane backoff (2^53 ms is ~285k years).
        let extra = (base as f64 * jitter * fastrand::f64()) as i64;
        base.saturating_add(extra)
    }
}

/// Retry policies per job kind, with a default for kinds not listed.
#[derive(Debug, Clone, Default)]
pub struct RetryPolicies {
    pub default: RetryPolicy,
    pub per_kind: HashMap<String, RetryPolicy>,
}

impl RetryPolicies {
    /// The policy for `kind`.
    pub fn for_kind(&self, kind: &str) -> &RetryPolicy {
        self.per_kind.get(kind).unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_attempt_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.base_delay_ms(1), 1_000);
        assert_eq!(p.base_delay_ms(2), 16_000);
        assert_eq!(p.base_delay_ms(3), 81_000);
        assert_eq!(p.base_delay_ms(20), 24 * 3600 * 1000);
        for attempt in 1..=20 {
            let d = p.delay_ms(attempt);
            let b = p.base_delay_ms(attempt);
            assert!(
                d >= b && d <= b + b / 10,
                "attempt {attempt}: {d} not in [{b}, {}]",
                b + b / 10
            );
        }
    }
}
