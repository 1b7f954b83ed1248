//! Live metrics (placeholder, replaced by the HDR-histogram implementation on merge).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use creatorflow_queue::Clock;

#[derive(Debug)]
pub struct Metrics {
    _clock: Arc<dyn Clock>,
    counters: Mutex<HashMap<String, u64>>,
    samples: Mutex<HashMap<String, Vec<f64>>>,
}

impl Metrics {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { _clock: clock, counters: Mutex::default(), samples: Mutex::default() }
    }

    pub fn record_ms(&self, name: &str, ms: f64) {
        let mut s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        s.entry(name.to_owned()).or_default().push(ms);
    }

    pub fn incr(&self, name: &str, n: u64) {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry(name.to_owned()).or_default() += n;
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.counters.lock().unwrap_or_else(|p| p.into_inner()).get(name).copied().unwrap_or(0)
    }

    pub fn percentile(&self, name: &str, q: f64) -> Option<f64> {
        let s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let mut v = s.get(name)?.clone();
        v.sort_by(f64::total_cmp);
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v.get(i).copied()
    }
}
