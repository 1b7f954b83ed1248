//! Circuit breaker per remote host (placeholder, replaced by the full implementation on merge).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use creatorflow_queue::Clock;

#[derive(Debug, Clone)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub open_for: Duration,
    pub max_open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self { failure_threshold: 5, open_for: Duration::from_secs(1), max_open_for: Duration::from_secs(30) }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Admit {
    pub probe: bool,
}

#[derive(Debug, Clone)]
pub struct Unavailable {
    pub host: String,
    pub retry_in: Duration,
}

#[derive(Debug, Default)]
struct Host {
    failures: u32,
    open_until: Option<i64>,
    open_for_ms: i64,
    probing: bool,
}

#[derive(Debug)]
pub struct Breakers {
    clock: Arc<dyn Clock>,
    config: BreakerConfig,
    hosts: Mutex<HashMap<String, Host>>,
}

impl Breakers {
    pub fn new(clock: Arc<dyn Clock>, config: BreakerConfig) -> Self {
        Self { clock, config, hosts: Mutex::default() }
    }

    pub fn admit(&self, host: &str) -> Result<Admit, Unavailable> {
        let now = self.clock.now_ms();
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let h = hosts.entry(host.to_owned()).or_default();
        match h.open_until {
            None => Ok(Admit { probe: false }),
            Some(until) if now < until => {
                Err(Unavailable { host: host.to_owned(), retry_in: Duration::from_millis((until - now) as u64) })
            }
            Some(_) if h.probing => Err(Unavailable { host: host.to_owned(), retry_in: Duration::from_millis(200) }),
            Some(_) => {
                h.probing = true;
                Ok(Admit { probe: true })
            }
        }
    }

    pub fn record_success(&self, host: &str) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts.insert(host.to_owned(), Host::default());
    }

    pub fn record_answer(&self, host: &str) {
        self.record_success(host)
    }

    pub fn record_failure(&self, host: &str, _detail: &str) {
        let now = self.clock.now_ms();
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let h = hosts.entry(host.to_owned()).or_default();
        h.failures += 1;
        if h.probing || h.failures >= self.config.failure_threshold {
            let base = self.config.open_for.as_millis() as i64;
            h.open_for_ms = if h.open_for_ms == 0 { base } else { (h.open_for_ms * 2).min(self.config.max_open_for.as_millis() as i64) };
            h.open_until = Some(now + h.open_for_ms);
            h.probing = false;
        }
    }

    pub fn is_open(&self, host: &str) -> bool {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts.get(host).is_some_and(|h| h.open_until.is_some())
    }
}
