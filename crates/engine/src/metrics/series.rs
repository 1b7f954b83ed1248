//! One metric's in-memory state: a ring of six 10-second slots aligned to the minute, from which both
//! the sliding 60-second view and the finished-minute rollups are derived, plus the since-start totals.
//!
//! Why one ring serves both: a sample is recorded once (one histogram, one slot), which keeps the hot
//! path to a few nanoseconds. Slot `i` of a minute always covers seconds `10*i..10*i+10`, so the six
//! slots of a minute are complete as soon as the minute is over, and they stay in the ring until the
//! first sample of the next minute lands on the same slot. A finished minute is rolled up (merged,
//! serialized, added to the totals) by `take_finished_minutes` or, at the latest, just before one of its
//! slots is recycled — never lost, never twice.

use hdrhistogram::{Counter, Histogram};

use super::rollup::{encode, quantile_ms};
use crate::store::MetricRollup;

pub(super) const SLOT_MS: i64 = 10_000;
pub(super) const SLOTS: usize = 6;
pub(super) const MINUTE_MS: i64 = 60_000;

/// Histogram bounds, in microseconds. 8 µs resolution below ~2 ms (hdr rounds the lowest discernible
/// value 10 down to a power of two), 1% relative error above (2 significant digits), up to 1 hour;
/// longer samples count as 1 hour in the quantiles (the exact max, sum and mean are kept beside).
/// A slot histogram (u32 counts) is 2,944 counters = 11.8 KB; see `Metrics` for the memory budget.
pub(super) const LOWEST_US: u64 = 10;
pub(super) const HIGHEST_US: u64 = 3_600_000_000;
pub(super) const SIGFIG: u8 = 2;

pub(super) fn slot_start(t: i64) -> i64 {
    t - t.rem_euclid(SLOT_MS)
}

pub(super) fn minute_start(t: i64) -> i64 {
    t - t.rem_euclid(MINUTE_MS)
}

fn slot_index(start: i64) -> usize {
    // rem_euclid of a positive modulus is in 0..SLOTS, so the cast cannot truncate.
    start.div_euclid(SLOT_MS).rem_euclid(SLOTS as i64) as usize
}

/// Start of the oldest slot inside the sliding window that ends at `now`.
pub(super) fn window_start(now: i64) -> i64 {
    slot_start(now).saturating_sub((SLOTS as i64 - 1) * SLOT_MS)
}

/// Move a series' time to `now` (never backwards) and return the end (exclusive) of the minutes to
/// roll up: the current minute's start, or its end when the current minute is rolled up too (at
/// shutdown) — then later samples count in the next minute rather than in a minute already written.
fn advance(last_ms: &mut i64, now: i64, include_current: bool) -> i64 {
    *last_ms = (*last_ms).max(now);
    let current = minute_start(*last_ms);
    if !include_current {
        return current;
    }
    let end = current.saturating_add(MINUTE_MS);
    *last_ms = end;
    end
}

/// A slot no sample has used yet.
const EMPTY: i64 = i64::MIN;

pub(super) fn new_hist<T: Counter>() -> Option<Histogram<T>> {
    // The bounds are constants that hdrhistogram accepts; None only if that ever changed.
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG).ok()
}

/// Add every recorded value of `src` to `dst` (hdrhistogram's own `add` needs equal counter types).
pub(super) fn merge_into<A: Counter, B: Counter>(dst: &mut Histogram<A>, src: &Histogram<B>) {
    for v in src.iter_recorded() {
        if let Some(n) = A::from_u64(v.count_at_value().as_u64()) {
            dst.saturating_record_n(v.value_iterated_to(), n);
        }
    }
}

/// Exact count, sum, min and max in milliseconds, kept beside the histograms (which round).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Stats {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub const ZERO: Stats = Stats {
        count: 0,
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
    };

    fn add(&mut self, ms: f64) {
        self.count += 1;
        self.sum += ms;
        self.min = self.min.min(ms);
        self.max = self.max.max(ms);
    }

    pub fn merge(&mut self, o: &Stats) {
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }
}

#[derive(Debug)]
struct LatencySlot {
    start: i64,
    hist: Histogram<u32>,
    stats: Stats,
}

/// A latency metric (milliseconds).
#[derive(Debug)]
pub(super) struct LatencySeries {
    name: String,
    /// The latest time seen: time never runs backwards inside a series (a wall clock stepped back by
    /// NTP would otherwise record into a minute that was already rolled up).
    last_ms: i64,
    slots: Vec<LatencySlot>,
    /// Every minute starting at or before this has been rolled up.
    rolled_through: i64,
    total_hist: Histogram<u64>,
    total: Stats,
}

impl LatencySeries {
    pub fn new(name: &str) -> Option<Self> {
        let mut slots = Vec::with_capacity(SLOTS);
        for _ in 0..SLOTS {
            slots.push(LatencySlot {
                start: EMPTY,
                hist: new_hist()?,
                stats: Stats::ZERO,
            });
        }
        Some(Self {
            name: name.to_owned(),
            last_ms: i64::MIN,
            slots,
            rolled_through: i64::MIN,
            total_hist: new_hist()?,
            total: Stats::ZERO,
        })
    }

    /// Record one sample at `now`; finished minutes rolled up on the way go to `out`.
    #[inline]
    pub fn record(&mut self, now: i64, us: u64, ms: f64, out: &mut Vec<MetricRollup>) {
        let t = now.max(self.last_ms);
        self.last_ms = t;
        let start = slot_start(t);
        let i = slot_index(start);
        if self.slots[i].start != start {
            self.recycle(i, start, out);
        }
        let s = &mut self.slots[i];
        s.hist.saturating_record(us);
        s.stats.add(ms);
    }

    #[cold]
    fn recycle(&mut self, i: usize, start: i64, out: &mut Vec<MetricRollup>) {
        // The slot may hold a finished minute that nobody has taken yet: roll it up before reuse.
        self.roll_up(start, false, out);
        let s = &mut self.slots[i];
        s.hist.reset();
        s.stats = Stats::ZERO;
        s.start = start;
    }

    /// Roll up every minute that is over at `now` and not rolled up yet, oldest first.
    pub fn roll_up(&mut self, now: i64, include_current: bool, out: &mut Vec<MetricRollup>) {
        let end = advance(&mut self.last_ms, now, include_current);
        loop {
            let next = self
                .slots
                .iter()
                .filter(|s| s.start != EMPTY)
                .map(|s| minute_start(s.start))
                .filter(|&m| m > self.rolled_through && m < end)
                .min();
            let Some(m) = next else { break };
            let Some(mut hist) = new_hist::<u64>() else {
                break;
            };
            let mut stats = Stats::ZERO;
            for s in self
                .slots
                .iter()
                .filter(|s| s.start != EMPTY && minute_start(s.start) == m)
            {
                merge_into(&mut hist, &s.hist);
                stats.merge(&s.stats);
            }
            merge_into(&mut self.total_hist, &hist);
            self.total.merge(&stats);
            self.rolled_through = m;
            if stats.count > 0 {
                out.push(latency_row(&self.name, m, &stats, &hist));
            }
        }
        // Nothing before the current minute can be recorded any more (time only moves forward here).
        self.rolled_through = self.rolled_through.max(end.saturating_sub(MINUTE_MS));
    }

    /// The sliding window ending at `now` merged into `scratch` (reset first); its exact stats.
    pub fn window(&self, now: i64, scratch: &mut Histogram<u64>) -> Stats {
        let from = window_start(now.max(self.last_ms));
        scratch.reset();
        let mut stats = Stats::ZERO;
        for s in self
            .slots
            .iter()
            .filter(|s| s.start != EMPTY && s.start >= from)
        {
            merge_into(scratch, &s.hist);
            stats.merge(&s.stats);
        }
        stats
    }

    /// Everything since the series began merged into `scratch` (reset first); its exact stats.
    pub fn since_start(&self, scratch: &mut Histogram<u64>) -> Stats {
        scratch.reset();
        merge_into(scratch, &self.total_hist);
        let mut stats = self.total;
        for s in self
            .slots
            .iter()
            .filter(|s| s.start != EMPTY && minute_start(s.start) > self.rolled_through)
        {
            merge_into(scratch, &s.hist);
            stats.merge(&s.stats);
        }
        stats
    }
}

fn latency_row(name: &str, minute: i64, stats: &Stats, hist: &Histogram<u64>) -> MetricRollup {
    let q = |q: f64| Some(quantile_ms(hist, q, stats));
    MetricRollup {
        metric: name.to_owned(),
        minute,
        count: i64::try_from(stats.count).unwrap_or(i64::MAX),
        sum: stats.sum,
        min: Some(stats.min),
        max: Some(stats.max),
        p50: q(0.50),
        p90: q(0.90),
        p99: q(0.99),
        // An encoding failure costs the merged quantiles of this minute, not its row.
        histogram: encode(hist),
    }
}

/// A counter: increments per slot, total since start.
#[derive(Debug)]
pub(super) struct CounterSeries {
    name: String,
    last_ms: i64,
    slots: [(i64, u64); SLOTS],
    rolled_through: i64,
    pub total: u64,
}

impl CounterSeries {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            last_ms: i64::MIN,
            slots: [(EMPTY, 0); SLOTS],
            rolled_through: i64::MIN,
            total: 0,
        }
    }

    #[inline]
    pub fn incr(&mut self, now: i64, n: u64, out: &mut Vec<MetricRollup>) {
        let t = now.max(self.last_ms);
        self.last_ms = t;
        let start = slot_start(t);
        let i = slot_index(start);
        if self.slots[i].0 != start {
            self.roll_up(start, false, out);
            self.slots[i] = (start, 0);
        }
        self.slots[i].1 = self.slots[i].1.saturating_add(n);
        self.total = self.total.saturating_add(n);
    }

    pub fn roll_up(&mut self, now: i64, include_current: bool, out: &mut Vec<MetricRollup>) {
        let end = advance(&mut self.last_ms, now, include_current);
        loop {
            let next = self
                .slots
                .iter()
                .filter(|s| s.0 != EMPTY)
                .map(|s| minute_start(s.0))
                .filter(|&m| m > self.rolled_through && m < end)
                .min();
            let Some(m) = next else { break };
            let n: u64 = self
                .slots
                .iter()
                .filter(|s| s.0 != EMPTY && minute_start(s.0) == m)
                .fold(0u64, |a, s| a.saturating_add(s.1));
            self.rolled_through = m;
            out.push(MetricRollup {
                metric: self.name.clone(),
                minute: m,
                count: i64::try_from(n).unwrap_or(i64::MAX),
                // Precision loss above 2^53 increments a minute is not a practical concern.
                sum: n as f64,
                min: None,
                max: None,
                p50: None,
                p90: None,
                p99: None,
                histogram: None,
            });
        }
        self.rolled_through = self.rolled_through.max(end.saturating_sub(MINUTE_MS));
    }

    /// Increments inside the sliding window ending at `now`.
    pub fn window(&self, now: i64) -> u64 {
        let from = window_start(now.max(self.last_ms));
        self.slots
            .iter()
            .filter(|s| s.0 != EMPTY && s.0 >= from)
            .fold(0u64, |a, s| a.saturating_add(s.1))
    }
}
