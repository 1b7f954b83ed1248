//! Unit tests of the metrics: the sliding window, minute rollups (exactly once), counters, bounds,
//! merged percentiles, the histogram decoder's guards, and /proc parsing.

use std::sync::Arc;
use std::time::Duration;

use creatorflow_queue::ManualClock;

use super::series::{HIGHEST_US, LOWEST_US, SIGFIG, SLOTS};
use super::*;

/// 2026-01-01T00:00:00Z: a minute (and slot) boundary.
const T0: i64 = 1_767_225_600_000;

fn setup() -> (ManualClock, Metrics) {
    let clock = ManualClock::new(T0);
    let m = Metrics::new(Arc::new(clock.clone()));
    (clock, m)
}

fn latency<'a>(s: &'a MetricsSnapshot, name: &str) -> &'a LatencyMetric {
    s.latencies
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no latency {name} in {s:?}"))
}

fn counter<'a>(s: &'a MetricsSnapshot, name: &str) -> &'a CounterMetric {
    s.counters
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("no counter {name} in {s:?}"))
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= b * 0.011 + 0.008)
}

#[test]
fn quantiles_are_within_one_percent_and_exact_figures_are_exact() {
    let (_c, m) = setup();
    for i in 1..=1000 {
        m.record_ms("stage.ship.run", f64::from(i) / 10.0);
    }
    let s = m.snapshot();
    let l = latency(&s, "stage.ship.run");
    for sum in [l.window, l.since_start] {
        assert_eq!(sum.count, 1000);
        assert!(close(sum.p50, 50.0), "{sum:?}");
        assert!(close(sum.p95, 95.0), "{sum:?}");
        assert!(close(sum.p99, 99.0), "{sum:?}");
        assert_eq!(sum.max, Some(100.0));
        assert!(sum.mean.is_some_and(|m| (m - 50.05).abs() < 1e-9));
    }
}

#[test]
fn the_window_slides_and_since_start_keeps_everything() {
    let (c, m) = setup();
    m.record_ms("a", 5.0);
    c.advance(Duration::from_secs(30));
    m.record_ms("a", 7.0);
    // Just before the first slot leaves the window (six 10 s slots, the newest filling).
    c.advance(Duration::from_millis(29_999));
    let s = m.snapshot();
    assert_eq!(latency(&s, "a").window.count, 2);
    assert_eq!(s.window_ms, 59_999);
    c.advance(Duration::from_millis(1));
    let s = m.snapshot();
    let l = latency(&s, "a");
    assert_eq!((l.window.count, l.window.max), (1, Some(7.0)));
    assert_eq!((l.since_start.count, l.since_start.max), (2, Some(7.0)));
    assert_eq!(s.window_ms, 50_000);
    c.advance(Duration::from_secs(40));
    let s = m.snapshot();
    let l = latency(&s, "a");
    assert_eq!(
        l.window,
        LatencySummary {
            count: 0,
            mean: None,
            p50: None,
            p95: None,
            p99: None,
            max: None
        }
    );
    assert_eq!(l.since_start.count, 2);
}

#[test]
fn a_finished_minute_is_rolled_up_once_with_its_histogram() {
    let (c, m) = setup();
    for i in 0..6 {
        // One sample in each 10 s slot of the minute.
        m.record_ms("order_to_fulfillment", 1000.0 * f64::from(i + 1));
        c.advance(Duration::from_secs(10));
    }
    c.set(T0 + 59_999);
    assert!(
        m.take_finished_minutes().is_empty(),
        "the minute is not over"
    );
    c.set(T0 + 60_000);
    let rows = m.take_finished_minutes();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r.metric.as_str(), r.minute, r.count),
        ("order_to_fulfillment", T0, 6)
    );
    assert_eq!(
        (r.sum, r.min, r.max),
        (21_000.0, Some(1000.0), Some(6000.0))
    );
    assert!(
        close(r.p50, 3000.0) && close(r.p90, 6000.0) && close(r.p99, 6000.0),
        "{r:?}"
    );
    let h = r.histogram.as_deref().and_then(decode_histogram);
    assert_eq!(h.map(|h| h.len()), Some(6));
    assert!(m.take_finished_minutes().is_empty(), "rolled up twice");
    // Since-start still counts the rolled-up minute exactly once.
    assert_eq!(
        latency(&m.snapshot(), "order_to_fulfillment")
            .since_start
            .count,
        6
    );
}

#[test]
fn a_minute_nobody_took_is_rolled_up_before_its_slot_is_reused() {
    let (c, m) = setup();
    m.record_ms("x", 1.0);
    m.record_ms("x", 3.0);
    // The same slot one minute later: the recording itself rolls the old minute up.
    c.set(T0 + 60_000);
    m.record_ms("x", 2.0);
    c.set(T0 + 10 * 60_000);
    m.record_ms("x", 4.0);
    assert_eq!(m.snapshot().pending_rollups, 2);
    c.set(T0 + 11 * 60_000);
    let rows = m.take_finished_minutes();
    let got: Vec<(i64, i64)> = rows.iter().map(|r| (r.minute - T0, r.count)).collect();
    assert_eq!(got, [(0, 2), (60_000, 1), (600_000, 1)]);
    let s = m.snapshot();
    assert_eq!(latency(&s, "x").since_start.count, 4);
    assert_eq!(s.pending_rollups, 0);
}

#[test]
fn counters_total_window_rate_and_rollups() {
    let (c, m) = setup();
    m.incr("orders.shipped", 10);
    c.advance(Duration::from_secs(20));
    m.incr("orders.shipped", 20);
    let h = m.counter_handle("orders.shipped");
    h.incr(1);
    c.set(T0 + 30_000);
    let s = m.snapshot();
    let k = counter(&s, "orders.shipped");
    assert_eq!((k.total, k.window), (31, 31));
    // 31 increments over 30 s since start: 62 a minute.
    assert!((k.per_minute - 62.0).abs() < 1e-9, "{k:?}");
    c.set(T0 + 75_000);
    m.incr("orders.shipped", 5);
    let s = m.snapshot();
    let k = counter(&s, "orders.shipped");
    // The window is now 70..75 s back to 30 s: the sample at 0 s has left it.
    assert_eq!((k.total, k.window), (36, 26));
    let rows = m.take_finished_minutes();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].minute, rows[0].count, rows[0].sum), (T0, 31, 31.0));
    assert_eq!((rows[0].p50, rows[0].histogram.as_ref()), (None, None));
}

#[test]
fn time_running_backwards_does_not_reopen_a_rolled_up_minute() {
    let (c, m) = setup();
    m.record_ms("x", 1.0);
    c.set(T0 + 61_000);
    assert_eq!(m.take_finished_minutes().len(), 1);
    // NTP steps the wall clock back into the finished minute.
    c.set(T0 + 5_000);
    m.record_ms("x", 2.0);
    m.incr("n", 1);
    c.set(T0 + 125_000);
    let rows = m.take_finished_minutes();
    let got: Vec<(&str, i64, i64)> = rows
        .iter()
        .map(|r| (r.metric.as_str(), r.minute - T0, r.count))
        .collect();
    // A series born after the step has no memory of later times; its first minute is its own.
    assert_eq!(got, [("x", 60_000, 1), ("n", 0, 1)]);
}

#[test]
fn bad_values_and_names_are_dropped_and_counted_never_fatal() {
    let (_c, m) = setup();
    m.record_ms("x", f64::NAN);
    m.record_ms("x", f64::INFINITY);
    m.record_ms("", 1.0);
    m.record_ms(&"n".repeat(129), 1.0);
    m.incr("", 1);
    m.record_ms(&"n".repeat(128), 1.0);
    m.record_ms("x", -5.0);
    m.record_ms("x", 1e12);
    let s = m.snapshot();
    assert_eq!(s.dropped_samples, 5);
    let l = latency(&s, "x");
    assert_eq!(l.since_start.count, 2);
    // The exact max survives the histogram's 1-hour clamp, and quantiles stay within [min, max].
    assert_eq!(l.since_start.max, Some(1e12));
    // Zero lands in the lowest bucket (0..8 µs), whose top is reported.
    assert!(l.since_start.p50.is_some_and(|p| p < 0.01));
    assert!(l.since_start.p99.is_some_and(|p| p <= 3_600_000.0 * 1.01));
}

#[test]
fn point_reads_of_a_counter_and_a_percentile() {
    let (c, m) = setup();
    assert_eq!(
        (
            m.counter("orders.shipped"),
            m.percentile("order_to_fulfillment", 0.5)
        ),
        (0, None)
    );
    for i in 1..=100 {
        m.record_ms("order_to_fulfillment", f64::from(i));
    }
    m.incr("orders.shipped", 7);
    // Still there after the minute is rolled up.
    c.set(T0 + 120_000);
    assert_eq!(m.take_finished_minutes().len(), 2);
    m.incr("orders.shipped", 1);
    assert_eq!(m.counter("orders.shipped"), 8);
    assert!(close(m.percentile("order_to_fulfillment", 0.99), 99.0));
    assert_eq!(m.percentile("order_to_fulfillment", 1.0), Some(100.0));
    assert_eq!(m.percentile("order_to_fulfillment", -0.1), None);
    assert_eq!(m.counter("order_to_fulfillment"), 0);
}

#[test]
fn a_name_is_one_kind() {
    let (_c, m) = setup();
    m.record_ms("api.calls", 1.0);
    m.incr("api.calls", 1);
    m.incr("orders.shipped", 1);
    m.record_ms("orders.shipped", 1.0);
    let s = m.snapshot();
    assert_eq!(s.dropped_samples, 2);
    assert_eq!((s.latencies.len(), s.counters.len()), (1, 1));
}

#[test]
fn the_final_take_includes_the_current_minute_and_later_samples_move_on() {
    let (c, m) = setup();
    c.set(T0 + 10_000);
    m.record_ms("x", 1.0);
    m.incr("n", 2);
    c.set(T0 + 20_000);
    let rows = m.take_minutes(true);
    let got: Vec<(&str, i64, i64)> = rows
        .iter()
        .map(|r| (r.metric.as_str(), r.minute - T0, r.count))
        .collect();
    assert_eq!(got, [("x", 0, 1), ("n", 0, 2)]);
    // Still in the same minute: these land in the next one instead of a minute already written.
    c.set(T0 + 30_000);
    m.record_ms("x", 2.0);
    m.incr("n", 1);
    assert!(m.take_finished_minutes().is_empty());
    c.set(T0 + 120_000);
    let rows = m.take_finished_minutes();
    let got: Vec<(&str, i64, i64)> = rows
        .iter()
        .map(|r| (r.metric.as_str(), r.minute - T0, r.count))
        .collect();
    assert_eq!(got, [("x", 60_000, 1), ("n", 60_000, 1)]);
    let s = m.snapshot();
    assert_eq!(latency(&s, "x").since_start.count, 2);
    assert_eq!(counter(&s, "n").total, 3);
}

#[test]
fn name_caps_bound_memory() {
    let (_c, m) = setup();
    for i in 0..MAX_LATENCY_NAMES + 5 {
        m.record_ms(&format!("api.endpoint.{i:04}"), 1.0);
    }
    let h = m.latency_handle("one.too.many");
    h.record_ms(1.0);
    let s = m.snapshot();
    assert_eq!(s.latencies.len(), MAX_LATENCY_NAMES);
    assert_eq!(s.dropped_samples, 6);
    // Names are sorted.
    assert!(s.latencies.windows(2).all(|w| w[0].name < w[1].name));
    // Existing names still record at the cap.
    m.record_ms("api.endpoint.0000", 2.0);
    assert_eq!(
        latency(&m.snapshot(), "api.endpoint.0000")
            .since_start
            .count,
        2
    );
}

#[test]
fn memory_per_latency_name_fits_the_budget() {
    let slot = Histogram::<u32>::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG)
        .map(|h| h.distinct_values() * 4)
        .unwrap_or(usize::MAX);
    let total = Histogram::<u64>::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG)
        .map(|h| h.distinct_values() * 8)
        .unwrap_or(usize::MAX);
    let per_name = SLOTS * slot + total;
    assert!(per_name * 200 < 20_000_000, "{per_name} bytes per name");
    assert!(per_name * MAX_LATENCY_NAMES < 20_000_000);
}

#[test]
fn handles_and_concurrent_recording_lose_nothing() {
    let (_c, m) = setup();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                let h = m.latency_handle("stage.validate.run");
                for i in 0..10_000u32 {
                    if i % 2 == 0 {
                        h.record_ms(f64::from(t) + 0.5);
                    } else {
                        m.record_ms("stage.validate.run", 1.0);
                    }
                    m.incr("orders.validated", 1);
                }
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().is_ok());
    }
    let s = m.snapshot();
    assert_eq!(latency(&s, "stage.validate.run").since_start.count, 40_000);
    assert_eq!(counter(&s, "orders.validated").total, 40_000);
}

#[test]
fn the_snapshot_serializes() {
    let (_c, m) = setup();
    m.record_ms("b", 1.0);
    m.record_ms("a", 2.0);
    m.incr("c", 3);
    let v = serde_json::to_value(m.snapshot()).unwrap_or_default();
    assert_eq!(v["latencies"][0]["name"], "a");
    assert_eq!(v["latencies"][1]["window"]["count"], 1);
    assert_eq!(v["counters"][0]["total"], 3);
}

fn minute_of(m: &Metrics, c: &ManualClock, minute: i64, samples: &[f64]) -> MetricRollup {
    c.set(T0 + minute * 60_000);
    for &s in samples {
        m.record_ms("api.x", s);
    }
    c.set(T0 + (minute + 1) * 60_000);
    let mut rows = m.take_finished_minutes();
    assert_eq!(rows.len(), 1);
    rows.remove(0)
}

#[test]
fn rollup_percentile_merges_stored_minutes() {
    let (c, m) = setup();
    let fast = minute_of(&m, &c, 0, &[10.0; 90]);
    let slow = minute_of(&m, &c, 1, &[500.0; 10]);
    let both = [fast.clone(), slow.clone()];
    assert!(close(rollup_percentile(&both, 0.50), 10.0));
    assert!(close(rollup_percentile(&both, 0.90), 10.0));
    assert!(close(rollup_percentile(&both, 0.95), 500.0));
    assert_eq!(rollup_percentile(&both, 1.0), Some(500.0));
    assert_eq!(rollup_percentile(&both, 1.5), None);
    assert_eq!(rollup_percentile(&[], 0.5), None);
    // A corrupt minute is skipped, not fatal.
    let mut bad = slow.clone();
    bad.histogram = Some(vec![0x1c, 0x84, 0x93, 0x13, 0, 1]);
    assert!(close(
        rollup_percentile(&[fast.clone(), bad.clone()], 0.99),
        10.0
    ));
    let sum = rollup_summary(&[fast, bad]);
    assert_eq!((sum.count, sum.rows_without_histogram), (100, 1));
    assert_eq!((sum.min, sum.max), (Some(10.0), Some(500.0)));
    assert!(close(sum.p95, 10.0));
    let sum = rollup_summary(&both);
    assert!(close(sum.p95, 500.0) && close(sum.p50, 10.0));
    assert!(sum.mean.is_some_and(|m| (m - 59.0).abs() < 1e-9));
}

#[test]
fn the_decoder_refuses_blobs_it_would_not_have_written() {
    let (c, m) = setup();
    let good = minute_of(&m, &c, 0, &[1.0, 2.0])
        .histogram
        .unwrap_or_default();
    assert!(decode_histogram(&good).is_some());
    assert!(decode_histogram(&[]).is_none());
    assert!(decode_histogram(&good[..good.len() - 1]).is_none());
    assert!(decode_histogram(&[0, 1, 2, 255]).is_none());
    let patch = |at: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        b
    };
    // A payload length claiming 4 GB, too many digits, an absurd highest value, a deflate cookie.
    assert!(decode_histogram(&patch(4, &[0xff; 4])).is_none());
    assert!(decode_histogram(&patch(12, &5u32.to_be_bytes())).is_none());
    assert!(decode_histogram(&patch(24, &u64::MAX.to_be_bytes())).is_none());
    assert!(decode_histogram(&patch(0, &0x1c84_9314u32.to_be_bytes())).is_none());
}

#[test]
fn merging_two_rows_of_one_minute_adds_them() {
    let (c, m) = setup();
    let a = minute_of(&m, &c, 0, &[10.0; 50]);
    let (c2, m2) = setup();
    let mut b = minute_of(&m2, &c2, 0, &[100.0; 50]);
    b.minute = a.minute;
    let r = merge_rows(&a, &b);
    assert_eq!(
        (r.count, r.sum, r.min, r.max),
        (100, 5500.0, Some(10.0), Some(100.0))
    );
    assert!(close(r.p50, 10.0) && close(r.p99, 100.0), "{r:?}");
    assert_eq!(
        r.histogram
            .as_deref()
            .and_then(decode_histogram)
            .map(|h| h.len()),
        Some(100)
    );
}

#[test]
fn pending_rows_are_bounded_oldest_dropped_first() {
    let mut p = Pending::default();
    for i in 0..MAX_PENDING_ROLLUPS + 3 {
        p.push(MetricRollup {
            metric: "n".into(),
            minute: i64::try_from(i).unwrap_or(0) * 60_000,
            count: 1,
            sum: 1.0,
            min: None,
            max: None,
            p50: None,
            p90: None,
            p99: None,
            histogram: None,
        });
    }
    assert_eq!((p.rows.len(), p.dropped), (MAX_PENDING_ROLLUPS, 3));
    assert_eq!(p.rows.front().map(|r| r.minute), Some(3 * 60_000));
}

#[test]
fn proc_parsing() {
    let stat = "4242 (tokio ) (rt) R 1 4242 4242 0 -1 4194560 1500 0 0 0 250 75 0 0 20 0 9 0 12345 1000 200";
    assert_eq!(process::parse_stat_cpu_ticks(stat), Some(325));
    assert_eq!(process::parse_stat_cpu_ticks("garbage"), None);
    let status = "Name:\tcreatorflow\nVmPeak:\t  200 kB\nVmRSS:\t   51200 kB\nThreads: 9\n";
    assert_eq!(process::parse_status_rss(status), Some(51200 * 1024));
    assert_eq!(process::parse_status_rss("Name: x\n"), None);
}

#[cfg(target_os = "linux")]
#[test]
fn process_usage_reads_proc_self() {
    let mut s = ProcessSampler::new();
    let first = s.sample();
    assert_eq!(first.cpu_percent_since_last_call, None);
    assert!(first.rss_bytes.is_some_and(|b| b > 1024 * 1024));
    // Burn some CPU so the second sample has something to measure.
    let t = std::time::Instant::now();
    let mut x = 0u64;
    while t.elapsed() < Duration::from_millis(50) {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
    }
    let second = s.sample();
    assert!(
        second.cpu_percent_since_last_call.is_some_and(|p| p >= 0.0),
        "{second:?}"
    );
    assert!(process_usage().rss_bytes.is_some());
}
