//! `Console::metric_history`: the last hour, day or week from the stored minute rollups, downsampled
//! to at most a few hundred buckets — throughput per minute and latency percentiles per bucket,
//! merged from the minutes' histograms (so a bucket's p95 is the p95 of its samples, not an average
//! of p95s). Columnar, the shape uPlot draws.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Console;
use crate::error::EngineError;
use crate::metrics::rollup_summary;
use crate::pipeline::metric_names as names;
use crate::store::MetricRollup;

const MINUTE_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum HistoryRange {
    Hour,
    Day,
    Week,
}

impl HistoryRange {
    /// `(bucket width, bucket count)`: 60 × 1 min, 288 × 5 min, 336 × 30 min.
    pub fn buckets(self) -> (i64, usize) {
        match self {
            HistoryRange::Hour => (MINUTE_MS, 60),
            HistoryRange::Day => (5 * MINUTE_MS, 288),
            HistoryRange::Week => (30 * MINUTE_MS, 336),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HistoryQuery {
    pub range: HistoryRange,
}

/// Events per minute, averaged over each bucket's stored minutes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
pub struct HistoryThroughput {
    pub orders_shipped: Vec<f64>,
    pub api_calls: Vec<f64>,
    pub webhooks: Vec<f64>,
}

/// Percentiles per bucket in milliseconds; `None` where the bucket has no sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
pub struct HistoryLatency {
    pub count: Vec<i64>,
    pub p50: Vec<Option<f64>>,
    pub p95: Vec<Option<f64>>,
    pub p99: Vec<Option<f64>>,
    pub max: Vec<Option<f64>>,
}

/// The history panel's series; every vector has one value per bucket of `at_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct History {
    pub range: HistoryRange,
    pub bucket_ms: i64,
    /// Start of the first bucket, end of the last (exclusive; the last finished minute's end).
    pub from_ms: i64,
    pub to_ms: i64,
    /// Each bucket's start (Unix ms).
    pub at_ms: Vec<i64>,
    pub throughput: HistoryThroughput,
    /// Order created (or paid) → shipped.
    pub order_latency: HistoryLatency,
    /// Every TikTok API endpoint's calls, merged.
    pub api_latency: HistoryLatency,
}

/// The buckets of `range` ending with the minute before `now_ms`'s: `(from, to, bucket_ms, n)`.
pub fn bucket_bounds(range: HistoryRange, now_ms: i64) -> (i64, i64, i64, usize) {
    let (bucket, n) = range.buckets();
    // Only finished minutes are stored: the current one ends the range.
    let to = now_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
    let last_start = (to - 1).div_euclid(bucket) * bucket;
    let from = last_start - (n as i64 - 1) * bucket;
    (from, to, bucket, n)
}

/// `rows` (of one or several metrics) by bucket index.
fn by_bucket(rows: Vec<MetricRollup>, from: i64, bucket: i64, n: usize) -> Vec<Vec<MetricRollup>> {
    let mut out: Vec<Vec<MetricRollup>> = vec![Vec::new(); n];
    for r in rows {
        let i = (r.minute - from).div_euclid(bucket);
        if let Some(b) = usize::try_from(i).ok().and_then(|i| out.get_mut(i)) {
            b.push(r);
        }
    }
    out
}

/// A counter per minute in each bucket: its increments over the bucket's finished minutes.
pub fn per_minute(rows: Vec<MetricRollup>, from: i64, to: i64, bucket: i64, n: usize) -> Vec<f64> {
    by_bucket(rows, from, bucket, n)
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let start = from + i as i64 * bucket;
            let minutes = ((start + bucket).min(to) - start) / MINUTE_MS;
            let total: i64 = b.iter().map(|r| r.count).sum();
            if minutes > 0 { total as f64 / minutes as f64 } else { 0.0 }
        })
        .collect()
}

/// Percentiles of each bucket, merged from the histograms of its rows.
pub fn latency(rows: Vec<MetricRollup>, from: i64, bucket: i64, n: usize) -> HistoryLatency {
    let mut out = HistoryLatency::default();
    for b in by_bucket(rows, from, bucket, n) {
        let s = rollup_summary(&b);
        out.count.push(i64::try_from(s.count).unwrap_or(i64::MAX));
        out.p50.push(s.p50);
        out.p95.push(s.p95);
        out.p99.push(s.p99);
        out.max.push(s.max);
    }
    out
}

impl Console {
    /// Throughput and latency for the last hour, day or week (see the module docs).
    pub async fn metric_history(&self, query: HistoryQuery) -> Result<History, EngineError> {
        let now = match self.service() {
            Some(s) => s.pipeline().now_ms(),
            None => self.queue.now_ms(),
        };
        let (from, to, bucket, n) = bucket_bounds(query.range, now);
        let read = |metric: String| async move { self.store.rollups(&metric, from, to).await };
        let throughput = HistoryThroughput {
            orders_shipped: per_minute(read(names::ORDERS_SHIPPED.into()).await?, from, to, bucket, n),
            api_calls: per_minute(read(names::API_CALLS.into()).await?, from, to, bucket, n),
            webhooks: per_minute(read(names::WEBHOOKS.into()).await?, from, to, bucket, n),
        };
        let order_latency = latency(read(names::ORDER_TO_FULFILLMENT.into()).await?, from, bucket, n);
        // The endpoints seen in the range; their latency rows carry histograms, the counters do not.
        let mut api_rows = Vec::new();
        let endpoints: Vec<String> =
            self.store.metric_names_since(from).await?.into_iter().filter(|m| is_endpoint_latency(m)).collect();
        for metric in endpoints {
            api_rows.extend(read(metric).await?.into_iter().filter(|r| r.histogram.is_some()));
        }
        let api_latency = latency(api_rows, from, bucket, n);
        Ok(History {
            range: query.range,
            bucket_ms: bucket,
            from_ms: from,
            to_ms: to,
            at_ms: (0..n as i64).map(|i| from + i * bucket).collect(),
            throughput,
            order_latency,
            api_latency,
        })
    }
}

/// `api.{endpoint}` (an endpoint is "METHOD /path", without dots), not `api.calls`, `api.errors.*`
/// or `api.{endpoint}.{outcome}`.
fn is_endpoint_latency(metric: &str) -> bool {
    metric.strip_prefix("api.").is_some_and(|e| e.contains(' ') && !e.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(minute: i64, count: i64) -> MetricRollup {
        MetricRollup { metric: "orders.shipped".into(), minute, count, sum: count as f64, min: None, max: None, p50: None, p90: None, p99: None, histogram: None }
    }

    #[test]
    fn buckets_end_at_the_last_finished_minute_and_stay_few() {
        let now = 1_700_000_000_000 + 12_345;
        for range in [HistoryRange::Hour, HistoryRange::Day, HistoryRange::Week] {
            let (from, to, bucket, n) = bucket_bounds(range, now);
            assert!(n <= 400);
            assert_eq!(to % MINUTE_MS, 0);
            assert!(to <= now && now - to < MINUTE_MS);
            assert_eq!(from % bucket, 0);
            assert!(from + n as i64 * bucket >= to && from + (n as i64 - 1) * bucket < to);
        }
        let (from, to, _, n) = bucket_bounds(HistoryRange::Hour, now);
        assert_eq!((to - from, n), (60 * MINUTE_MS, 60));
    }

    #[test]
    fn counters_become_per_minute_rates_over_the_minutes_a_bucket_covers() {
        let from = 0;
        let bucket = 5 * MINUTE_MS;
        // The last bucket has two finished minutes only.
        let to = 2 * bucket + 2 * MINUTE_MS;
        let rows = vec![counter(0, 10), counter(MINUTE_MS, 20), counter(bucket * 2, 6), counter(bucket * 2 + MINUTE_MS, 4), counter(99 * bucket, 1)];
        let v = per_minute(rows, from, to, bucket, 3);
        assert_eq!(v, vec![6.0, 0.0, 5.0]);
    }

    #[test]
    fn latency_buckets_merge_histograms_and_leave_gaps_empty() {
        let m = crate::metrics::Metrics::new(std::sync::Arc::new(creatorflow_queue::ManualClock::new(0)));
        for i in 1..=100 {
            m.record_ms("order_to_fulfillment", f64::from(i));
        }
        let rows = m.take_finished_minutes();
        assert!(rows.is_empty(), "the minute is still open");
        let clock = creatorflow_queue::ManualClock::new(0);
        let m = crate::metrics::Metrics::new(std::sync::Arc::new(clock.clone()));
        for i in 1..=100 {
            m.record_ms("order_to_fulfillment", f64::from(i));
        }
        clock.advance(std::time::Duration::from_secs(61));
        let rows = m.take_finished_minutes();
        let l = latency(rows, 0, MINUTE_MS, 2);
        assert_eq!(l.count, vec![100, 0]);
        let p95 = l.p95[0].unwrap();
        assert!((94.0..=96.0).contains(&p95), "{p95}");
        assert_eq!(l.max[0], Some(100.0));
        assert_eq!(l.p95[1], None);
    }

    #[test]
    fn only_endpoint_latencies_are_merged_into_api_latency() {
        assert!(is_endpoint_latency("api.GET /order/202309/orders"));
        assert!(!is_endpoint_latency("api.calls"));
        assert!(!is_endpoint_latency("api.errors.timeout"));
        assert!(!is_endpoint_latency("api.GET /order/202309/orders.ok"));
    }
}
