//! Live measurements of the pipeline: latency metrics in HDR histograms (order-to-fulfillment, stage
//! wait and run times, API latency per endpoint) and counters, with a sliding 60-second view for the
//! live dashboard and per-minute rollups for the history panels (`Store::put_rollups`).
//!
//! Recording is on the pipeline's hot path, so it is one clock read, one short critical section on the
//! metric's own mutex and one histogram increment; it allocates only on a name's first sample (and once
//! a minute when a finished minute is rolled up). Hot callers can skip the name lookup with a handle
//! ([`Metrics::latency_handle`], [`Metrics::counter_handle`]). Figures: BENCHMARKS.md.
//!
//! Memory is bounded: at most [`MAX_LATENCY_NAMES`] latency metrics of six slot histograms (u32
//! counts, 11.8 KB each) plus one since-start histogram (u64, 23.6 KB) — 94 KB a name, 18.9 MB for 200;
//! at most [`MAX_COUNTER_NAMES`] counters (under 200 bytes each); at most [`MAX_PENDING_ROLLUPS`]
//! unwritten rollup rows (the oldest are dropped first, and counted, if the database stays down).
//! Samples beyond the name caps are dropped and counted in the snapshot, never an error: a metric
//! must never take the pipeline down. Names must not carry ids (order, shop): use a fixed vocabulary.

mod process;
mod rollup;
mod series;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use creatorflow_queue::Clock;
use crate::lock;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::store::{MetricRollup, Store, StoreError};
pub use process::{ProcessSampler, ProcessUsage, process_usage};
pub use rollup::{RollupSummary, decode_histogram, rollup_percentile, rollup_summary};
use series::{CounterSeries, LatencySeries, MINUTE_MS, Stats, new_hist, window_start};

/// Latency metrics kept at most (see the module docs for the memory this bounds).
pub const MAX_LATENCY_NAMES: usize = 200;
/// Counters kept at most.
pub const MAX_COUNTER_NAMES: usize = 1000;
/// Unwritten rollup rows kept at most while the database refuses them: 20 minutes of 200 metrics.
pub const MAX_PENDING_ROLLUPS: usize = 4096;
/// The store's limit on metric names (characters).
const MAX_NAME_CHARS: usize = 128;

/// The pipeline's measurements. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clock: Arc<dyn Clock>,
    started_at_ms: i64,
    latencies: RwLock<HashMap<Box<str>, Arc<Mutex<LatencySeries>>>>,
    counters: RwLock<HashMap<Box<str>, Arc<Mutex<CounterSeries>>>>,
    pending: Mutex<Pending>,
    dropped_samples: AtomicU64,
}

#[derive(Debug, Default)]
struct Pending {
    rows: VecDeque<MetricRollup>,
    dropped: u64,
}

impl Pending {
    fn push(&mut self, row: MetricRollup) {
        if self.rows.len() >= MAX_PENDING_ROLLUPS {
            self.rows.pop_front();
            self.dropped += 1;
        }
        self.rows.push_back(row);
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().nth(MAX_NAME_CHARS).is_none()
}

/// A latency metric's handle: records without the name lookup. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LatencyHandle {
    inner: Arc<Inner>,
    series: Option<Arc<Mutex<LatencySeries>>>,
}

impl LatencyHandle {
    /// Record one sample in milliseconds (see [`Metrics::record_ms`]).
    #[inline]
    pub fn record_ms(&self, ms: f64) {
        match &self.series {
            Some(s) => self.inner.record_into(s, ms),
            None => self.inner.drop_sample(),
        }
    }
}

/// A counter's handle: increments without the name lookup. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CounterHandle {
    inner: Arc<Inner>,
    series: Option<Arc<Mutex<CounterSeries>>>,
}

impl CounterHandle {
    #[inline]
    pub fn incr(&self, n: u64) {
        match &self.series {
            Some(s) => self.inner.incr_into(s, n),
            None => self.inner.drop_sample(),
        }
    }
}

/// The live view of every metric, names sorted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    pub at_ms: i64,
    pub started_at_ms: i64,
    /// The span the window figures cover: 50–60 s (six 10-second slots, the newest one filling), less
    /// right after start.
    pub window_ms: i64,
    pub latencies: Vec<LatencyMetric>,
    pub counters: Vec<CounterMetric>,
    /// Samples refused: non-finite values, invalid names, names beyond the caps.
    pub dropped_samples: u64,
    /// Finished minutes not yet written to the database.
    pub pending_rollups: usize,
    /// Finished minutes dropped because the database refused them for too long.
    pub dropped_rollups: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyMetric {
    pub name: String,
    pub window: LatencySummary,
    pub since_start: LatencySummary,
}

/// Latency figures in milliseconds; `None` when there is no sample. Quantiles are within 1% (2
/// significant digits) and clamped to the exact min and max; count, mean and max are exact.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CounterMetric {
    pub name: String,
    pub total: u64,
    /// Increments inside the window.
    pub window: u64,
    /// `window` scaled to a minute.
    pub per_minute: f64,
}

fn summary(h: &Histogram<u64>, s: &Stats) -> LatencySummary {
    let some = s.count > 0;
    let q = |q: f64| some.then(|| rollup::quantile_ms(h, q, s));
    LatencySummary {
        count: s.count,
        mean: some.then(|| s.sum / s.count as f64),
        p50: q(0.50),
        p95: q(0.95),
        p99: q(0.99),
        max: some.then_some(s.max),
    }
}

impl Inner {
    fn drop_sample(&self) {
        self.dropped_samples.fetch_add(1, Ordering::Relaxed);
    }

    /// Push rows rolled up on the hot path (rare: once a minute per metric at most).
    fn push_rows(&self, rows: Vec<MetricRollup>) {
        if !rows.is_empty() {
            let mut p = lock(&self.pending);
            for r in rows {
                p.push(r);
            }
        }
    }

    #[inline]
    fn record_into(&self, series: &Mutex<LatencySeries>, ms: f64) {
        if !ms.is_finite() {
            self.drop_sample();
            return;
        }
        // A negative duration is clock skew between TikTok's timestamps and ours: count it as zero
        // rather than lose the order from the counts.
        let ms = ms.max(0.0);
        // Saturating float-to-int cast; the histogram clamps above its 1-hour bound.
        let us = (ms * 1000.0).round() as u64;
        let mut rolled = Vec::new();
        {
            let mut s = lock(series);
            // The clock is read under the lock so that time seen by one series only moves forward.
            s.record(self.clock.now_ms(), us, ms, &mut rolled);
        }
        self.push_rows(rolled);
    }

    #[inline]
    fn incr_into(&self, series: &Mutex<CounterSeries>, n: u64) {
        let mut rolled = Vec::new();
        {
            let mut s = lock(series);
            s.incr(self.clock.now_ms(), n, &mut rolled);
        }
        self.push_rows(rolled);
    }

    fn latency_series(&self, name: &str) -> Option<Arc<Mutex<LatencySeries>>> {
        if let Some(s) = self
            .latencies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Some(Arc::clone(s));
        }
        self.create_latency(name)
    }

    #[cold]
    fn create_latency(&self, name: &str) -> Option<Arc<Mutex<LatencySeries>>> {
        // A name is one kind: a counter and a latency of one name would overwrite each other's rows.
        if !valid_name(name)
            || self
                .counters
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(name)
        {
            return None;
        }
        let mut map = self.latencies.write().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get(name) {
            return Some(Arc::clone(s));
        }
        if map.len() >= MAX_LATENCY_NAMES {
            return None;
        }
        let s = Arc::new(Mutex::new(LatencySeries::new(name)?));
        map.insert(name.into(), Arc::clone(&s));
        Some(s)
    }

    fn counter_series(&self, name: &str) -> Option<Arc<Mutex<CounterSeries>>> {
        if let Some(s) = self
            .counters
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Some(Arc::clone(s));
        }
        self.create_counter(name)
    }

    #[cold]
    fn create_counter(&self, name: &str) -> Option<Arc<Mutex<CounterSeries>>> {
        if !valid_name(name)
            || self
                .latencies
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(name)
        {
            return None;
        }
        let mut map = self.counters.write().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get(name) {
            return Some(Arc::clone(s));
        }
        if map.len() >= MAX_COUNTER_NAMES {
            return None;
        }
        let s = Arc::new(Mutex::new(CounterSeries::new(name)));
        map.insert(name.into(), Arc::clone(&s));
        Some(s)
    }

    /// Every series, sorted by name (cloned out so no map lock is held while working on them).
    fn all_latencies(&self) -> Vec<(String, Arc<Mutex<LatencySeries>>)> {
        let map = self.latencies.read().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = map
            .iter()
            .map(|(k, s)| (k.to_string(), Arc::clone(s)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn all_counters(&self) -> Vec<(String, Arc<Mutex<CounterSeries>>)> {
        let map = self.counters.read().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = map
            .iter()
            .map(|(k, s)| (k.to_string(), Arc::clone(s)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

impl Metrics {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let started_at_ms = clock.now_ms();
        Self {
            inner: Arc::new(Inner {
                clock,
                started_at_ms,
                latencies: RwLock::new(HashMap::new()),
                counters: RwLock::new(HashMap::new()),
                pending: Mutex::new(Pending::default()),
                dropped_samples: AtomicU64::new(0),
            }),
        }
    }

    /// Record a latency sample in milliseconds under `name` (e.g. `order_to_fulfillment`,
    /// `stage.ship.run`, `api.POST /fulfillment/202309/packages/ship`). Negative values count as 0;
    /// NaN and infinities are dropped. A name is either a latency or a counter: samples of the other
    /// kind under a name already in use are dropped (and counted).
    pub fn record_ms(&self, name: &str, ms: f64) {
        {
            // Record under the map's read lock rather than cloning the Arc: a shared reference count
            // bumped by every sample would be one more contended cache line.
            let map = self
                .inner
                .latencies
                .read()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(s) = map.get(name) {
                self.inner.record_into(s, ms);
                return;
            }
        }
        match self.inner.create_latency(name) {
            Some(s) => self.inner.record_into(&s, ms),
            None => self.inner.drop_sample(),
        }
    }

    /// Add `n` to the counter `name` (e.g. `orders.shipped`, `api.errors.timeout`).
    pub fn incr(&self, name: &str, n: u64) {
        {
            let map = self
                .inner
                .counters
                .read()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(s) = map.get(name) {
                self.inner.incr_into(s, n);
                return;
            }
        }
        match self.inner.create_counter(name) {
            Some(s) => self.inner.incr_into(&s, n),
            None => self.inner.drop_sample(),
        }
    }

    /// A handle that records into `name` without looking it up each time. If the name is invalid or
    /// over the cap, the handle drops (and counts) its samples.
    pub fn latency_handle(&self, name: &str) -> LatencyHandle {
        LatencyHandle {
            inner: Arc::clone(&self.inner),
            series: self.inner.latency_series(name),
        }
    }

    pub fn counter_handle(&self, name: &str) -> CounterHandle {
        CounterHandle {
            inner: Arc::clone(&self.inner),
            series: self.inner.counter_series(name),
        }
    }

    /// A counter's total since start (0 for a name never incremented).
    pub fn counter(&self, name: &str) -> u64 {
        let map = self
            .inner
            .counters
            .read()
            .unwrap_or_else(|e| e.into_inner());
        map.get(name).map_or(0, |s| lock(s).total)
    }

    /// The `q` quantile (0.0..=1.0) of a latency metric since start, in milliseconds; `None` without
    /// samples or for `q` out of range. Tests and the CLI's summaries; the dashboard reads `snapshot`.
    pub fn percentile(&self, name: &str, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        let series = {
            let map = self
                .inner
                .latencies
                .read()
                .unwrap_or_else(|e| e.into_inner());
            Arc::clone(map.get(name)?)
        };
        let mut scratch = new_hist::<u64>()?;
        let stats = lock(&series).since_start(&mut scratch);
        (stats.count > 0).then(|| rollup::quantile_ms(&scratch, q, &stats))
    }

    /// The live view: per latency metric count, mean, p50/p95/p99 and max over the sliding window and
    /// since start; per counter the total, the window's increments and their rate per minute.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let now = self.inner.clock.now_ms();
        let started = self.inner.started_at_ms;
        let window_ms = now - window_start(now).max(started);
        let mut latencies = Vec::new();
        // One scratch histogram per call, reset per metric, instead of an allocation per metric.
        if let Some(mut scratch) = new_hist::<u64>() {
            for (name, s) in self.inner.all_latencies() {
                let s = lock(&s);
                let w = s.window(now, &mut scratch);
                let window = summary(&scratch, &w);
                let t = s.since_start(&mut scratch);
                let since_start = summary(&scratch, &t);
                latencies.push(LatencyMetric {
                    name,
                    window,
                    since_start,
                });
            }
        }
        let per_minute_scale = MINUTE_MS as f64 / window_ms.max(1000) as f64;
        let counters = self
            .inner
            .all_counters()
            .into_iter()
            .map(|(name, s)| {
                let s = lock(&s);
                let window = s.window(now);
                CounterMetric {
                    name,
                    total: s.total,
                    window,
                    per_minute: window as f64 * per_minute_scale,
                }
            })
            .collect();
        let (pending_rollups, dropped_rollups) = {
            let p = lock(&self.inner.pending);
            (p.rows.len(), p.dropped)
        };
        MetricsSnapshot {
            at_ms: now,
            started_at_ms: started,
            window_ms,
            latencies,
            counters,
            dropped_samples: self.inner.dropped_samples.load(Ordering::Relaxed),
            pending_rollups,
            dropped_rollups,
        }
    }

    /// Every finished minute not yet written (including rows a failed flush put back), as rows for
    /// `Store::put_rollups`. Counters become rollups too: `count` (and `sum`) = increments that minute.
    pub fn take_finished_minutes(&self) -> Vec<MetricRollup> {
        self.take_minutes(false)
    }

    fn take_minutes(&self, include_current: bool) -> Vec<MetricRollup> {
        let now = self.inner.clock.now_ms();
        let mut rows = Vec::new();
        for (_, s) in self.inner.all_latencies() {
            lock(&s).roll_up(now, include_current, &mut rows);
        }
        for (_, s) in self.inner.all_counters() {
            lock(&s).roll_up(now, include_current, &mut rows);
        }
        let mut p = lock(&self.inner.pending);
        for r in rows {
            p.push(r);
        }
        p.rows.drain(..).collect()
    }

    /// Put rows back after a failed write, oldest first, ahead of anything rolled up since.
    fn requeue(&self, rows: Vec<MetricRollup>) {
        let mut p = lock(&self.inner.pending);
        let newer: Vec<MetricRollup> = p.rows.drain(..).collect();
        for r in rows.into_iter().chain(newer) {
            p.push(r);
        }
    }

    /// Write the finished minutes to the store (the runner calls this every ~10 s); returns the rows
    /// written. A minute already in the table (written by an earlier run of the app in the same minute,
    /// or by another worker on a shared PostgreSQL) is merged with, not replaced. On a database error
    /// the rows are kept for the next flush (bounded by [`MAX_PENDING_ROLLUPS`]).
    pub async fn flush(&self, store: &Store) -> Result<usize, StoreError> {
        self.write(store, self.take_minutes(false)).await
    }

    /// At shutdown: write the current, unfinished minute too (a later run that records in the same
    /// minute merges with it). Samples recorded after this count in the next minute.
    pub async fn flush_final(&self, store: &Store) -> Result<usize, StoreError> {
        self.write(store, self.take_minutes(true)).await
    }

    async fn write(&self, store: &Store, rows: Vec<MetricRollup>) -> Result<usize, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let merged = match merge_with_stored(store, &rows).await {
            Ok(m) => m,
            Err(e) => {
                self.requeue(rows);
                return Err(e);
            }
        };
        match store.put_rollups(&merged).await {
            Ok(()) => Ok(rows.len()),
            Err(e) => {
                // The originals, not the merged rows: the next attempt merges again with what is stored.
                self.requeue(rows);
                Err(e)
            }
        }
    }
}

/// `rows` with each minute that already has a stored row merged into it.
async fn merge_with_stored(
    store: &Store,
    rows: &[MetricRollup],
) -> Result<Vec<MetricRollup>, StoreError> {
    // One range read per metric rather than one per row.
    let mut ranges: HashMap<&str, (i64, i64)> = HashMap::new();
    for r in rows {
        let e = ranges.entry(&r.metric).or_insert((r.minute, r.minute));
        e.0 = e.0.min(r.minute);
        e.1 = e.1.max(r.minute);
    }
    let mut stored: HashMap<(String, i64), MetricRollup> = HashMap::new();
    for (metric, (from, to)) in ranges {
        for r in store.rollups(metric, from, to + MINUTE_MS).await? {
            stored.insert((r.metric.clone(), r.minute), r);
        }
    }
    Ok(rows
        .iter()
        .map(|r| match stored.get(&(r.metric.clone(), r.minute)) {
            Some(old) => merge_rows(old, r),
            None => r.clone(),
        })
        .collect())
}

/// Two rollups of the same metric and minute as one.
fn merge_rows(a: &MetricRollup, b: &MetricRollup) -> MetricRollup {
    let pick = |x: Option<f64>, y: Option<f64>, f: fn(f64, f64) -> f64| match (x, y) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, y) => x.or(y),
    };
    let mut out = MetricRollup {
        metric: b.metric.clone(),
        minute: b.minute,
        count: a.count.saturating_add(b.count),
        sum: a.sum + b.sum,
        min: pick(a.min, b.min, f64::min),
        max: pick(a.max, b.max, f64::max),
        p50: b.p50,
        p90: b.p90,
        p99: b.p99,
        histogram: b.histogram.clone(),
    };
    let ha = a.histogram.as_deref().and_then(decode_histogram);
    let hb = b.histogram.as_deref().and_then(decode_histogram);
    if let (Some(mut h), Some(hb)) = (ha, hb) {
        h.auto(true);
        series::merge_into(&mut h, &hb);
        let stats = Stats {
            count: h.len(),
            sum: out.sum,
            min: out.min.unwrap_or(f64::INFINITY),
            max: out.max.unwrap_or(f64::NEG_INFINITY),
        };
        out.p50 = Some(rollup::quantile_ms(&h, 0.50, &stats));
        out.p90 = Some(rollup::quantile_ms(&h, 0.90, &stats));
        out.p99 = Some(rollup::quantile_ms(&h, 0.99, &stats));
        out.histogram = rollup::encode(&h);
    }
    out
}

#[cfg(test)]
mod tests;
